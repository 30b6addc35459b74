// Entities of one index (all of a tenant, or all of one type) in creation order, for queries
// that page through them. Entries are (creation sequence, slot); deleting leaves a tombstone
// until the list compacts. Counts per block let `select` find the k-th live entry without
// walking the ones before it, so deep offsets stay cheap with millions of entities.
// Not thread-safe; the Tenant's lock guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tsunagu::engine {

class SeqList {
 public:
  static constexpr uint32_t kDead = UINT32_MAX;
  struct Entry {
    uint64_t seq;
    uint32_t slot;  // kDead for a removed entry
  };

  // Adds (seq, slot); seq must not be present. O(1) when seq is the largest so far.
  void insert(uint64_t seq, uint32_t slot);
  // Removes seq; returns whether it was present.
  bool erase(uint64_t seq);
  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }

  // Index (into entries()) of the k-th live entry, or entries().size() when there are <= k.
  size_t select(size_t k) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  static constexpr size_t kBlock = 512;
  size_t find(uint64_t seq) const;  // position of seq, or entries_.size()
  void rebuild_counts();
  void compact();

  std::vector<Entry> entries_;
  std::vector<uint32_t> block_live_;
  size_t live_ = 0;
};

}  // namespace tsunagu::engine
