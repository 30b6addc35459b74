// The change feed's view of a committed group (docs/storage.md, "The change feed"): what the
// writer tells its listeners, in a header of its own so that a listener's users (the API, which
// reaches subscriptions) need nothing of the writer or the tenants.
#pragma once

#include <cstdint>
#include <vector>

#include "store/store.hpp"

namespace tsunagu::engine {

class Tenant;
struct Change;

// One change of a committed group, as the change feed shows it: `change->before` is the state
// it replaced (null: the entity was created), `change->after` the new one (null: deleted). Two
// changes to one entity in a group are two records, the second's `before` the first's `after`.
struct CommittedChange {
  Tenant* tenant;
  const Change* change;
};

// The change feed: what listens to the writer (docs/storage.md, "The change feed"). Both moments
// run on the committing thread, one group at a time, in commit order, and see every change that
// was decided exactly once; neither may block or fail.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // The group's changes are decided and about to be persisted: ops added to `batch` are made
  // durable in the same transaction as them, or not at all (the group may still fail).
  virtual void persist(const std::vector<CommittedChange>& changes, int64_t time,
                       store::WriteBatch& batch) {}
  // The group is durable and its states are published, before its requests complete. Not
  // called for a group the store refused.
  virtual void published(const std::vector<CommittedChange>& changes, int64_t time) {}
};

}  // namespace tsunagu::engine
