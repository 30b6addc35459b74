#include "engine/seq_list.hpp"

#include <algorithm>

namespace tsunagu::engine {

size_t SeqList::find(uint64_t seq) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const Entry& e, uint64_t s) { return e.seq < s; });
  if (it == entries_.end() || it->seq != seq || it->slot == kDead) return entries_.size();
  return static_cast<size_t>(it - entries_.begin());
}

void SeqList::insert(uint64_t seq, uint32_t slot) {
  if (entries_.empty() || entries_.back().seq < seq) {
    if (entries_.size() % kBlock == 0) block_live_.push_back(0);
    entries_.push_back({seq, slot});
    ++block_live_.back();
    ++live_;
    return;
  }
  // An old entity joining this list (e.g. it gained a type): rare, so a plain insertion.
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const Entry& e, uint64_t s) { return e.seq < s; });
  if (it != entries_.end() && it->seq == seq) {
    if (it->slot == kDead) ++live_;
    it->slot = slot;
  } else {
    entries_.insert(it, {seq, slot});
    ++live_;
  }
  rebuild_counts();
}

bool SeqList::erase(uint64_t seq) {
  size_t pos = find(seq);
  if (pos == entries_.size()) return false;
  entries_[pos].slot = kDead;
  --block_live_[pos / kBlock];
  --live_;
  if (entries_.size() > 1024 && live_ < entries_.size() / 2) compact();
  return true;
}

size_t SeqList::select(size_t k) const {
  if (k >= live_) return entries_.size();
  size_t block = 0;
  while (k >= block_live_[block]) {
    k -= block_live_[block];
    ++block;
  }
  size_t i = block * kBlock;
  for (;; ++i) {
    if (entries_[i].slot == kDead) continue;
    if (k == 0) return i;
    --k;
  }
}

void SeqList::rebuild_counts() {
  block_live_.assign((entries_.size() + kBlock - 1) / kBlock, 0);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].slot != kDead) ++block_live_[i / kBlock];
  }
}

void SeqList::compact() {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [](const Entry& e) { return e.slot == kDead; }),
                 entries_.end());
  rebuild_counts();
}

}  // namespace tsunagu::engine
