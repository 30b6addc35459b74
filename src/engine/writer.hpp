// The commit thread: the one place where entities change. Requests from every event loop queue
// here; the thread takes all that are waiting, computes each new entity state, writes the whole
// group to the Store in one transaction (group commit), and only then publishes the new states
// to memory and completes the requests. So a write is acknowledged only once it is durable, and
// readers never see a change that could still be lost.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.hpp"
#include "engine/tenant.hpp"
#include "store/store.hpp"

namespace tsunagu::engine {

// One entity's change within a request. `apply` receives the current state (null when absent)
// and the commit time, and returns the new state (null to delete) or an error for this change
// only.
struct Change {
  std::string id;
  std::function<Result<std::shared_ptr<ngsild::Entity>>(const ngsild::Entity* current, int64_t now)>
      apply;
  // Filled by the commit thread:
  Status status;
  EntityPtr before, after;
};

struct WriteRequest {
  std::string tenant;
  bool create_tenant = false;  // a missing tenant is created (else NonexistentTenant)
  std::vector<Change> changes;
  // Runs on the commit thread once the group is durable (or failed); must not block.
  std::function<void(WriteRequest&)> done;
};

class Writer {
 public:
  struct Options {
    size_t max_group_changes = 8192;  // changes per transaction
  };

  Writer(store::Store& store, TenantRegistry& tenants, Options options);
  ~Writer();

  // The first row number to give a new entity (one past the highest row loaded at start).
  void set_next_row(uint64_t row) { next_row_ = row; }
  void start();
  // Completes everything already queued, then ends the thread. Later submits fail.
  void stop();
  // Queues a request. Any thread.
  void submit(std::unique_ptr<WriteRequest> request);

 private:
  void run();
  void commit(std::vector<std::unique_ptr<WriteRequest>>& group);

  store::Store& store_;
  TenantRegistry& tenants_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<WriteRequest>> queue_;
  bool stopping_ = false;
  uint64_t next_row_ = 1;  // commit thread only
  std::thread thread_;
};

}  // namespace tsunagu::engine
