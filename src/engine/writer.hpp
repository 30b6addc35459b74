// The writer: the one place where entities change. Requests from every event loop queue here; a
// committer takes all that are waiting, computes each new entity state, writes the whole group
// to the Store in one transaction (group commit), and only then publishes the new states to
// memory and completes the requests. So a write is acknowledged only once it is durable, and
// readers never see a change that could still be lost. One group is committed at a time.
//
// Who commits (Options::committer):
// - kOwnThread: a commit thread of its own. An event loop never waits for the store, which
//   matters when a commit waits for fdatasync (--sync full).
// - kEventLoops: the event loops themselves, each when it runs out of ready work
//   (commit_pending), and any other thread that submits (a blocking-pool thread commits its own
//   request at once). Without an fsync a commit is short, and committing where the requests
//   were read saves waking a second thread and handing every response back to the loop
//   (docs/storage.md, "Write path").
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.hpp"
#include "engine/change_feed.hpp"
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
  // Filled by the committing thread:
  Status status;
  EntityPtr before, after;
};

// Records other than entities (subscriptions, later registrations and catalog records) that a
// request changes, in the same transaction as its entity changes. `decide` runs on the
// committing thread, after the request's entity changes and in request order, and adds its ops
// to the batch; an error is `status` and adds nothing. `finished` follows once the group is
// durable (OK) or refused (the store's error, also set as `status`), before `done`: the owner of
// the records publishes them or forgets what it decided.
struct RecordWork {
  std::function<Status(store::WriteBatch& batch)> decide;
  std::function<void(const Status& stored)> finished;
  Status status;
};

struct WriteRequest {
  std::string tenant;
  bool create_tenant = false;  // a missing tenant is created (else NonexistentTenant)
  std::vector<Change> changes;
  std::optional<RecordWork> records;
  // Runs on the committing thread once the group is durable (or failed); must not block.
  std::function<void(WriteRequest&)> done;
};

class Writer {
 public:
  enum class Committer : unsigned char { kOwnThread, kEventLoops };
  struct Options {
    size_t max_group_changes = 8192;  // changes per transaction
    // Attribute instances one entity may hold: a write that would leave more is refused
    // (BadRequestData), so that no entity makes every later read or write of it costly.
    size_t max_entity_attributes = 10000;
    // The entities a tenant may hold (0: no quota), asked when a change would create one: a
    // creation past it is refused (Forbidden), counting what the group creates and deletes.
    std::function<uint64_t(std::string_view tenant)> max_entities;
    Committer committer = Committer::kOwnThread;
    // kEventLoops: asks the calling loop to call commit_pending() soon even if it never runs
    // out of ready work (a steady load), as http::Server::call_idle_within does. Called when a
    // loop queues a request into an empty queue, and when its commit leaves requests queued.
    std::function<void()> wake_loop;
    // The change feed's listeners, told of each group in this order. They must outlive the
    // Writer.
    std::vector<ChangeListener*> listeners;
  };

  Writer(store::Store& store, TenantRegistry& tenants, Options options);
  ~Writer();

  // The first row number to give a new entity (one past the highest row loaded at start).
  void set_next_row(uint64_t row) { next_row_ = row; }
  void start();
  // Completes everything already queued (waiting for a commit in progress), then ends the
  // commit thread if there is one. Later submits fail.
  void stop();
  // Queues a request. Any thread. With kEventLoops, a thread that has ever called
  // commit_pending() leaves the commit to its next call; any other thread commits at once.
  void submit(std::unique_ptr<WriteRequest> request);
  // kEventLoops: called by an event loop that has no ready work, before it waits. Commits one
  // group when requests are queued and no other thread is committing; true when it did (the
  // loop then serves what became ready meanwhile and calls again).
  bool commit_pending();

 private:
  using Group = std::vector<std::unique_ptr<WriteRequest>>;
  void run();
  // Moves queued requests (up to max_group_changes) into `group`. Needs mu_.
  void take_group(Group& group);
  // Takes a group and commits it unless the queue is empty or another thread is committing.
  bool commit_one_group();
  // A group's commit, in stages: decide each change's new state and encode it for the store,
  // let the listeners add to the batch, persist it, publish the new states, notify the
  // listeners, complete the requests.
  struct Decided;
  void commit(Group& group);
  void decide(Group& group, Decided& d);
  Status persist(Decided& d);
  void publish(Decided& d);

  store::Store& store_;
  TenantRegistry& tenants_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<WriteRequest>> queue_;
  std::atomic<size_t> queued_{0};  // queue_.size(), read without mu_ by idle loops
  bool committing_ = false;        // a thread is in commit() (kEventLoops)
  bool stopping_ = false;
  uint64_t next_row_ = 1;  // used by the committing thread only
  std::thread thread_;
};

}  // namespace tsunagu::engine
