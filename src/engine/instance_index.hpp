// An entity's attribute instances by (name, datasetId), for a write that touches many at once.
// Entity::find() and put() walk the attributes, so k changes to an entity of n attributes cost
// k x n: appending 5,000 attributes to an entity of 5,000 took 50 ms, four times 2,500 to 2,500.
// With many changes the index answers each lookup from a hash table and leaves the entity's
// vector alone until finish(), which lays out the result in one pass, exactly as the same
// sequence of Entity::put() and erase() calls would have (a unit test compares the two on random
// sequences). With few changes it calls those directly: building a table would cost more.
#pragma once

#include <cstdint>
#include <vector>

#include "common/flat_hash_map.hpp"
#include "ngsild/model/entity.hpp"

namespace tsunagu::engine {

class InstanceIndex {
 public:
  // `changes`: about how many calls will follow. `force` (tests): index whatever the sizes.
  InstanceIndex(ngsild::Entity& e, size_t changes, bool force = false);
  ~InstanceIndex();  // finishes, if finish() was not called
  InstanceIndex(const InstanceIndex&) = delete;
  InstanceIndex& operator=(const InstanceIndex&) = delete;

  // As Entity::find, put and erase. A pointer from find() is valid until the next put/erase.
  ngsild::Attribute* find(Atom name, Atom dataset);
  void put(ngsild::Attribute a);
  bool erase(Atom name, Atom dataset);
  // Writes the result into the entity; no call may follow.
  void finish();

 private:
  static uint64_t key(Atom name, Atom dataset) {
    return (uint64_t{name.id()} << 32) | dataset.id();
  }
  // A new instance waiting for finish(), with the group it will be laid out in.
  struct Pending {
    ngsild::Attribute attr;
    bool live = true;
  };
  // Where the new instances of one name go: after the entity's run of that name (when the name
  // had instances when the first of them was put), or after every existing attribute, groups in
  // the order of their first instance.
  struct Group {
    bool anchored = false;
    std::vector<size_t> members;  // indexes into pending_
    size_t live = 0;
  };

  ngsild::Entity& e_;
  const bool indexed_;
  bool finished_ = false;
  FlatHashMap<uint64_t, int64_t> where_;  // >= 0: index in e_.attrs; < 0: -1 - index in pending_
  std::vector<bool> erased_;              // by index in e_.attrs
  FlatHashMap<uint32_t, size_t> live_existing_;  // name id -> live instances among e_.attrs
  std::vector<Pending> pending_;
  FlatHashMap<uint32_t, size_t> group_of_;  // name id -> index in groups_
  std::vector<Group> groups_;
};

}  // namespace tsunagu::engine
