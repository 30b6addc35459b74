// A Store that keeps everything in memory, for tests of what sits above the store (the engine,
// the change feed's listeners) and as the smallest statement of the Store contract: the contract
// suite (store/store_contract_test.cpp) runs against it as against the real backends. Durable
// only as long as its Data: "reopening" is a new MemoryStore on the same Data.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "store/store.hpp"

namespace tsunagu::store {

class MemoryStore final : public Store {
 public:
  // What the store holds; shared by every MemoryStore opened on it (one at a time).
  struct Data {
    struct Row {
      std::string tenant, id, doc;
    };
    std::mutex mu;
    std::map<std::string, bool> tenants;
    std::map<uint64_t, Row> rows;
    std::map<std::string, std::string> notes;
    // (record kind, tenant, key) -> document; std::tuple orders as LoadVisitor promises.
    std::map<std::tuple<std::string, std::string, std::string>, std::string> records;
    // series -> its instances in time order (then seq); read_history() takes only this lock.
    std::mutex history_mu;
    std::map<uint64_t, std::vector<history::Instance>> history;
  };

  explicit MemoryStore(std::shared_ptr<Data> data = std::make_shared<Data>())
      : data_(std::move(data)) {}

  Status apply(WriteBatch batch) override;
  Status load(LoadVisitor& visitor) override;
  Result<std::optional<std::string>> note(std::string_view key) override;
  Status read_history(uint64_t series, const history::TimeRange& range, size_t last_n,
                      std::vector<history::Instance>& out) override;
  std::string describe() const override { return "memory"; }

 private:
  std::shared_ptr<Data> data_;
};

}  // namespace tsunagu::store
