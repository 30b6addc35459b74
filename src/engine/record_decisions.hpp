// Definitions kept as store records of one kind, per tenant, and written through the writer
// (subscriptions, registration subscriptions): the request that stores one, and what the
// committing thread decided for each (tenant, id), published or not, so that two requests of
// one group are judged one after the other (two creates of one id: the second is AlreadyExists).
// docs/subscriptions.md, "Keeping them".
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "engine/writer.hpp"

namespace tsunagu::engine {

// Owned by the service that keeps the definitions. load() before the writer starts; the rest
// of its state is the committing thread's (request()'s work runs there).
template <class Def>
class RecordDecisions {
 public:
  using Ptr = std::shared_ptr<const Def>;
  // What to store, given the definition decided last (null: none); a null result deletes. Its
  // error is the request's.
  using Make = std::function<Result<std::shared_ptr<Def>>(const Def* current)>;
  // The stored document of a definition.
  using Encode = std::function<std::string(const Def&)>;
  // Once the group is durable, on the committing thread: `next` (null: deleted) replaced
  // `previous` (null: there was none). Must not block.
  using Publish = std::function<void(Ptr next, Ptr previous)>;
  using Done = std::function<void(const Status&)>;

  explicit RecordDecisions(std::string kind) : kind_(std::move(kind)) {}

  // A stored definition, at start.
  void load(std::string_view tenant, std::string_view id, Ptr def) {
    decided_[key_of(tenant, id)] = std::move(def);
  }

  // A write request that decides with `make` against what was decided last for (tenant, id),
  // stores the result as a record of this kind, and publishes it once durable; `done` gets the
  // request's status. A group the store refuses leaves the decisions as they were.
  std::unique_ptr<WriteRequest> request(std::string tenant, std::string id, Make make,
                                        Encode encode, Publish publish, bool create_tenant,
                                        Done done) {
    auto req = std::make_unique<WriteRequest>();
    req->tenant = tenant;
    req->create_tenant = create_tenant;
    struct Decision {
      Ptr next, previous;
    };
    auto decision = std::make_shared<Decision>();
    std::string key = key_of(tenant, id);
    RecordWork w;
    w.decide = [this, tenant, id, key, make = std::move(make), encode = std::move(encode),
                decision](store::WriteBatch& batch) -> Status {
      auto it = decided_.find(key);
      const Def* current = it != decided_.end() ? it->second.get() : nullptr;
      auto next = make(current);
      if (!next.ok()) return next.status();
      if (current != nullptr) decision->previous = it->second;
      decision->next = *next;
      if (decision->next) {
        batch.put_record(kind_, tenant, id, encode(*decision->next));
        decided_[key] = decision->next;
      } else {
        batch.delete_record(kind_, tenant, id);
        decided_.erase(key);
      }
      return Status::Ok();
    };
    w.finished = [this, key, publish = std::move(publish), decision](const Status& stored) {
      if (stored.ok()) return publish(decision->next, decision->previous);
      if (decision->previous)  // forget what was decided
        decided_[key] = decision->previous;
      else
        decided_.erase(key);
    };
    req->records = std::move(w);
    req->done = [done = std::move(done)](WriteRequest& r) { done(r.records->status); };
    return req;
  }

  // The decisions of create, update and delete; `what` names the definition in errors
  // ("subscription").
  static Make creating(std::shared_ptr<Def> def, std::string what) {
    return [def = std::move(def),
            what = std::move(what)](const Def* current) -> Result<std::shared_ptr<Def>> {
      if (current != nullptr)
        return Status::AlreadyExists(what + " '" + def->id + "' already exists");
      return def;
    };
  }
  // Applies `change` to a copy of the current definition (NotFound when there is none).
  static Make changing(std::string id, std::function<Status(Def&)> change, std::string what) {
    return [id = std::move(id), change = std::move(change),
            what = std::move(what)](const Def* current) -> Result<std::shared_ptr<Def>> {
      if (current == nullptr) return Status::NotFound(what + " '" + id + "' does not exist");
      auto next = std::make_shared<Def>(*current);
      TSUNAGU_RETURN_IF_ERROR(change(*next));
      return next;
    };
  }
  static Make removing(std::string id, std::string what) {
    return [id = std::move(id),
            what = std::move(what)](const Def* current) -> Result<std::shared_ptr<Def>> {
      if (current == nullptr) return Status::NotFound(what + " '" + id + "' does not exist");
      return std::shared_ptr<Def>();
    };
  }

  static std::string key_of(std::string_view tenant, std::string_view id) {
    std::string k(tenant);
    k += '\n';
    k += id;
    return k;
  }

 private:
  std::string kind_;
  // (tenant '\n' id) -> the definition last decided.
  std::unordered_map<std::string, Ptr> decided_;
};

// The views of `found` in the order of their keys (a listing in creation order).
template <class Key, class View>
std::vector<View> in_key_order(std::vector<std::pair<Key, View>> found) {
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<View> out;
  out.reserve(found.size());
  for (auto& [key, v] : found)
    out.push_back(std::move(v));
  return out;
}

}  // namespace tsunagu::engine
