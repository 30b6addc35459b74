// One change of a record that a service keeps in memory and in the store (a subscription, a
// registration): decided on the committing thread against what that thread last decided for the
// record (so that two requests for one record in one group see each other), stored in the
// group's transaction, and published by the service once durable. Both services keep their
// definitions this way; what they hold besides (indexes, statistics) stays theirs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.hpp"
#include "engine/writer.hpp"

namespace tsunagu::engine {

// The record's key among all tenants' records of a kind.
inline std::string record_key(std::string_view tenant, std::string_view id) {
  std::string k(tenant);
  k += '\n';
  k += id;
  return k;
}

// The values of `found` (creation order, value), in creation order: how lists of records answer.
// The order is any sortable key (a sequence number; createdAt then one).
template <typename K, typename V>
std::vector<V> in_creation_order(std::vector<std::pair<K, V>> found) {
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<V> out;
  out.reserve(found.size());
  for (auto& [order, v] : found)
    out.push_back(std::move(v));
  return out;
}

template <typename T>
struct RecordChange {
  using Ptr = std::shared_ptr<const T>;
  std::string kind;  // the store's record kind
  std::string tenant;
  std::string id;
  bool create_tenant = false;
  // The new definition from the current one (null when absent); null deletes. Its error is the
  // request's, and nothing is stored.
  std::function<Result<std::shared_ptr<T>>(const T* current)> make;
  // The stored form of a definition `make` returned.
  std::function<std::string(const T&)> encode;
  // Once durable, on the committing thread: what the record was and is now (null: none).
  std::function<void(const Ptr& previous, const Ptr& next)> publish;
  std::function<void(const Status&)> done;
};

// The usual `make`s: a creation (AlreadyExists when the record is there), a change applied to a
// copy of the record, and a deletion (both ResourceNotFound when it is not). `what` names the
// record in errors ("subscription 'urn:...' already exists").
template <typename T>
auto creating(std::shared_ptr<T> def, std::string what) {
  return [def = std::move(def),
          what = std::move(what)](const T* current) -> Result<std::shared_ptr<T>> {
    if (current != nullptr)
      return Status::AlreadyExists(what + " '" + def->id + "' already exists");
    return def;
  };
}
template <typename T>
auto changing(std::string id, std::function<Status(T&)> change, std::string what) {
  return [id = std::move(id), change = std::move(change),
          what = std::move(what)](const T* current) -> Result<std::shared_ptr<T>> {
    if (current == nullptr) return Status::NotFound(what + " '" + id + "' does not exist");
    auto next = std::make_shared<T>(*current);
    TSUNAGU_RETURN_IF_ERROR(change(*next));
    return next;
  };
}
template <typename T>
auto removing(std::string id, std::string what) {
  return
      [id = std::move(id), what = std::move(what)](const T* current) -> Result<std::shared_ptr<T>> {
        if (current == nullptr) return Status::NotFound(what + " '" + id + "' does not exist");
        return std::shared_ptr<T>();
      };
}

// Submits `c` to `writer`. `decided` (record_key -> definition) is the committing thread's
// memory of what it decided, published or not: only that thread reads or changes it.
template <typename T>
void submit_record_change(Writer& writer,
                          std::unordered_map<std::string, std::shared_ptr<const T>>& decided,
                          RecordChange<T> c) {
  using Ptr = std::shared_ptr<const T>;
  struct Decision {
    Ptr next, previous;
  };
  auto decision = std::make_shared<Decision>();
  auto change = std::make_shared<RecordChange<T>>(std::move(c));
  const std::string key = record_key(change->tenant, change->id);
  auto req = std::make_unique<WriteRequest>();
  req->tenant = change->tenant;
  req->create_tenant = change->create_tenant;
  RecordWork w;
  w.decide = [&decided, change, key, decision](store::WriteBatch& batch) -> Status {
    auto it = decided.find(key);
    auto next = change->make(it != decided.end() ? it->second.get() : nullptr);
    if (!next.ok()) return next.status();
    if (it != decided.end()) decision->previous = it->second;
    decision->next = std::move(*next);
    if (decision->next) {
      batch.put_record(change->kind, change->tenant, change->id, change->encode(*decision->next));
      decided[key] = decision->next;
    } else {
      batch.delete_record(change->kind, change->tenant, change->id);
      decided.erase(key);
    }
    return Status::Ok();
  };
  w.finished = [&decided, change, key, decision](const Status& stored) {
    if (!stored.ok()) {  // forget what was decided
      if (decision->previous)
        decided[key] = decision->previous;
      else
        decided.erase(key);
      return;
    }
    change->publish(decision->previous, decision->next);
  };
  req->records = std::move(w);
  req->done = [change](WriteRequest& r) { change->done(r.records->status); };
  writer.submit(std::move(req));
}

}  // namespace tsunagu::engine
