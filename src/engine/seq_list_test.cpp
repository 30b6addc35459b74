// SeqList, the creation-order list behind a tenant's whole-tenant and per-type indexes: live
// entries in sequence order, select() of the k-th one across blocks and tombstones, and the
// compaction that drops tombstones.
#include "engine/seq_list.hpp"

#include <gtest/gtest.h>

#include <map>

#include "common/test_random.hpp"

namespace tsunagu::engine {
namespace {

// The live (seq, slot) pairs in entries() order.
std::vector<std::pair<uint64_t, uint32_t>> live(const SeqList& l) {
  std::vector<std::pair<uint64_t, uint32_t>> out;
  for (const auto& e : l.entries()) {
    if (e.slot != SeqList::kDead) out.emplace_back(e.seq, e.slot);
  }
  return out;
}

// The seq of the k-th live entry, as select() finds it; 0 when there is none.
uint64_t kth(const SeqList& l, size_t k) {
  size_t i = l.select(k);
  if (i == l.entries().size()) return 0;
  EXPECT_NE(l.entries()[i].slot, SeqList::kDead);
  return l.entries()[i].seq;
}

TEST(SeqListTest, KeepsSequenceOrderAndSkipsErasedEntries) {
  SeqList l;
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.select(0), 0u);
  for (uint64_t s : {10, 20, 30, 40})
    l.insert(s, static_cast<uint32_t>(s / 10));
  EXPECT_EQ(l.size(), 4u);
  EXPECT_TRUE(l.erase(20));
  EXPECT_FALSE(l.erase(20));  // already gone
  EXPECT_FALSE(l.erase(25));  // never there
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(kth(l, 0), 10u);
  EXPECT_EQ(kth(l, 1), 30u);
  EXPECT_EQ(kth(l, 2), 40u);
  EXPECT_EQ(kth(l, 3), 0u);
  EXPECT_EQ(l.select(3), l.entries().size());
}

TEST(SeqListTest, AnOlderSequenceJoinsInItsPlace) {
  SeqList l;
  for (uint64_t s : {10, 20, 30})
    l.insert(s, static_cast<uint32_t>(s));
  l.insert(15, 15);  // an old entity gaining this list's type
  EXPECT_EQ(live(l),
            (std::vector<std::pair<uint64_t, uint32_t>>{{10, 10}, {15, 15}, {20, 20}, {30, 30}}));
  EXPECT_EQ(kth(l, 1), 15u);
  // An erased one coming back takes its old place, with its new slot.
  ASSERT_TRUE(l.erase(20));
  l.insert(20, 7);
  EXPECT_EQ(live(l),
            (std::vector<std::pair<uint64_t, uint32_t>>{{10, 10}, {15, 15}, {20, 7}, {30, 30}}));
  EXPECT_EQ(l.size(), 4u);
}

TEST(SeqListTest, SelectCountsAcrossBlocksAndCompaction) {
  SeqList l;
  constexpr uint64_t kN = 3000;  // about six blocks of 512
  for (uint64_t s = 1; s <= kN; ++s)
    l.insert(s, static_cast<uint32_t>(s));
  // Erase all but multiples of 7: tombstones first, then a compaction once most are dead.
  for (uint64_t s = 1; s <= kN; ++s) {
    if (s % 7 != 0) {
      ASSERT_TRUE(l.erase(s)) << s;
    }
    if (s == 1000) {
      // Before any compaction: 142 live among 1000 erased and dead.
      EXPECT_EQ(kth(l, 0), 7u);
      EXPECT_EQ(kth(l, 141), 994u);
      EXPECT_EQ(kth(l, 142), 1001u);
    }
  }
  EXPECT_EQ(l.size(), kN / 7);
  EXPECT_LT(l.entries().size(), kN);  // compacted
  for (size_t k = 0; k < l.size(); ++k)
    ASSERT_EQ(kth(l, k), 7 * (k + 1)) << k;
  EXPECT_EQ(kth(l, l.size()), 0u);
  // Appending after a compaction: counts per block stay right.
  for (uint64_t s = kN + 1; s <= kN + 1200; ++s)
    l.insert(s, 1);
  EXPECT_EQ(l.size(), kN / 7 + 1200);
  EXPECT_EQ(kth(l, kN / 7), kN + 1);
  EXPECT_EQ(kth(l, kN / 7 + 1199), kN + 1200);
}

// Random inserts (mostly new, some old sequences coming back), erasures and selects against a
// std::map holding what the list must hold.
TEST(SeqListTest, AgreesWithAnOrderedMap) {
  testing::Xorshift rng(0x5e9115);
  SeqList l;
  std::map<uint64_t, uint32_t> model;
  uint64_t next = 1;
  for (int step = 0; step < 20000; ++step) {
    // Growing for the first half, shrinking (and compacting) in the second.
    const uint64_t insert_share = step < 10000 ? 7 : 3;
    if (rng.below(10) < insert_share || model.empty()) {
      const uint64_t seq = rng.below(8) == 0 && next > 1 ? 1 + rng.below(next - 1) : next++;
      if (model.count(seq) != 0) continue;
      const auto slot = static_cast<uint32_t>(rng.below(1000));
      l.insert(seq, slot);
      model[seq] = slot;
    } else {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng.below(model.size())));
      ASSERT_TRUE(l.erase(it->first)) << "step " << step;
      model.erase(it);
    }
    ASSERT_EQ(l.size(), model.size()) << "step " << step;
    if (step % 97 == 0) {
      ASSERT_EQ(live(l), (std::vector<std::pair<uint64_t, uint32_t>>(model.begin(), model.end())))
          << "step " << step;
      size_t k = 0;
      for (const auto& [seq, slot] : model)
        ASSERT_EQ(kth(l, k++), seq) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace tsunagu::engine
