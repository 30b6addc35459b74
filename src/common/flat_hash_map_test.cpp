#include "common/flat_hash_map.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "common/test_random.hpp"

namespace tsunagu {
namespace {

// Every element, sorted, read by iterating the table.
template <class Map>
std::vector<std::pair<typename Map::key_type, typename Map::mapped_type>> contents(const Map& m) {
  std::vector<std::pair<typename Map::key_type, typename Map::mapped_type>> out;
  for (const auto& kv : m)
    out.emplace_back(kv.first, kv.second);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FlatHashMap, EmptyMapFindsNothing) {
  FlatHashMap<uint64_t, int> m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.find(uint64_t{7}), m.end());
  EXPECT_EQ(m.count(uint64_t{7}), 0u);
  EXPECT_EQ(m.erase(uint64_t{7}), 0u);
  EXPECT_EQ(m.begin(), m.end());
}

TEST(FlatHashMap, TryEmplaceKeepsTheFirstValue) {
  FlatHashMap<uint64_t, std::string> m;
  auto [it, inserted] = m.try_emplace(5, "five");
  EXPECT_TRUE(inserted);
  EXPECT_EQ(it->first, 5u);
  EXPECT_EQ(it->second, "five");
  auto [again, inserted_again] = m.try_emplace(5, "other");
  EXPECT_FALSE(inserted_again);
  EXPECT_EQ(again->second, "five");
  m[6] = "six";
  m[5] += "!";
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.find(uint64_t{5})->second, "five!");
  EXPECT_EQ(m.find(uint64_t{6})->second, "six");
}

// Keys that all share their home position's low bits (multiples of a large power of two, the
// identity hash of std::hash<uint64_t>) must still spread: the table mixes every hash.
TEST(FlatHashMap, IdentityHashedKeysWithEqualLowBitsAllWork) {
  FlatHashMap<uint64_t, uint64_t> m;
  for (uint64_t i = 0; i < 5000; ++i)
    m.try_emplace(i << 32, i);
  ASSERT_EQ(m.size(), 5000u);
  for (uint64_t i = 0; i < 5000; ++i) {
    auto it = m.find(i << 32);
    ASSERT_NE(it, m.end()) << i;
    EXPECT_EQ(it->second, i);
  }
  EXPECT_LE(m.size(), m.capacity() - m.capacity() / 8);
}

// Lookups by string_view in a map keyed by std::string (transparent hash and equality), and a
// map whose string_view keys view strings owned elsewhere.
struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

TEST(FlatHashMap, TransparentLookupWithStringViews) {
  FlatHashMap<std::string, int, TransparentHash> m;
  m.try_emplace("urn:a", 1);
  m.try_emplace("urn:b", 2);
  EXPECT_EQ(m.find(std::string_view("urn:a"))->second, 1);
  EXPECT_EQ(m.count(std::string_view("urn:c")), 0u);
  EXPECT_EQ(m.erase(std::string_view("urn:b")), 1u);
  EXPECT_EQ(m.size(), 1u);

  std::vector<std::string> owned;
  for (int i = 0; i < 300; ++i)
    owned.push_back("urn:ngsi-ld:Thing:" + std::to_string(i));
  FlatHashMap<std::string_view, uint32_t, TransparentHash> views;
  for (uint32_t i = 0; i < owned.size(); ++i)
    views.try_emplace(owned[i], i);
  for (uint32_t i = 0; i < owned.size(); ++i) {
    std::string copy = owned[i];  // another buffer with the same text
    ASSERT_EQ(views.find(std::string_view(copy))->second, i);
  }
}

// Values that own memory move with their elements through growth and erase.
TEST(FlatHashMap, MoveOnlyLikeValuesSurviveGrowthAndErase) {
  FlatHashMap<uint64_t, std::vector<uint64_t>> m;
  for (uint64_t k = 0; k < 2000; ++k)
    m[k % 97].push_back(k);
  for (uint64_t k = 0; k < 97; k += 2)
    m.erase(k);
  for (uint64_t k = 0; k < 97; ++k) {
    auto it = m.find(k);
    if (k % 2 == 0) {
      EXPECT_EQ(it, m.end());
      continue;
    }
    ASSERT_NE(it, m.end());
    std::vector<uint64_t> want;
    for (uint64_t v = k; v < 2000; v += 97)
      want.push_back(v);
    EXPECT_EQ(it->second, want);
  }
}

// The whole contract against std::unordered_map: random inserts, lookups, erases (by key and
// by iterator) and clears, over key ranges small enough that runs collide and erases shift
// elements back across the end of the array, and with a check of every element by iteration.
TEST(FlatHashMap, RandomOperationsAgreeWithUnorderedMap) {
  testing::Xorshift rng(20261127);
  for (uint64_t range : {uint64_t{16}, uint64_t{300}, uint64_t{5000}}) {
    SCOPED_TRACE("key range " + std::to_string(range));
    FlatHashMap<uint64_t, uint64_t> m;
    std::unordered_map<uint64_t, uint64_t> want;
    for (int step = 0; step < 60000; ++step) {
      const uint64_t key = rng.below(range) * 0x100000001ull;  // equal low and high halves
      const uint64_t dice = rng.below(100);
      if (dice < 45) {
        auto [it, inserted] = m.try_emplace(key, step);
        auto [wit, winserted] = want.try_emplace(key, step);
        ASSERT_EQ(inserted, winserted);
        ASSERT_EQ(it->second, wit->second);
      } else if (dice < 70) {
        ASSERT_EQ(m.erase(key), want.erase(key));
      } else if (dice < 80) {
        auto it = m.find(key);
        if (it != m.end()) {
          m.erase(it);
          want.erase(key);
        }
      } else if (dice < 99) {
        auto it = m.find(key);
        auto wit = want.find(key);
        ASSERT_EQ(it == m.end(), wit == want.end());
        if (wit != want.end()) {
          ASSERT_EQ(it->second, wit->second);
        }
      } else if (rng.below(20) == 0) {
        m.clear();
        want.clear();
      }
      ASSERT_EQ(m.size(), want.size());
      if (step % 997 == 0) {
        std::vector<std::pair<uint64_t, uint64_t>> w(want.begin(), want.end());
        std::sort(w.begin(), w.end());
        ASSERT_EQ(contents(m), w) << "at step " << step;
      }
    }
    // Every key still present is found, every other is not.
    for (uint64_t k = 0; k < range; ++k) {
      const uint64_t key = k * 0x100000001ull;
      ASSERT_EQ(m.count(key), want.count(key)) << key;
    }
  }
}

TEST(FlatHashMap, CopiesAndMovesAreIndependent) {
  FlatHashMap<uint64_t, int> a;
  for (int i = 0; i < 100; ++i)
    a[static_cast<uint64_t>(i)] = i;
  FlatHashMap<uint64_t, int> b = a;
  b.erase(uint64_t{3});
  b[200] = 200;
  EXPECT_EQ(a.size(), 100u);
  EXPECT_EQ(a.count(uint64_t{3}), 1u);
  EXPECT_EQ(a.count(uint64_t{200}), 0u);
  FlatHashMap<uint64_t, int> c = std::move(b);
  EXPECT_EQ(c.size(), 100u);
  EXPECT_EQ(c.find(uint64_t{200})->second, 200);
  a = c;
  EXPECT_EQ(contents(a), contents(c));
}

TEST(FlatHashMap, ReserveAvoidsGrowth) {
  FlatHashMap<uint64_t, int> m;
  m.reserve(1000);
  const size_t capacity = m.capacity();
  EXPECT_GE(capacity - capacity / 8, 1000u);
  for (uint64_t i = 0; i < 1000; ++i)
    m[i] = 1;
  EXPECT_EQ(m.capacity(), capacity);
}

TEST(FlatHashSet, InsertFindEraseAndIterate) {
  FlatHashSet<uint32_t> s;
  EXPECT_TRUE(s.insert(4).second);
  EXPECT_FALSE(s.insert(4).second);
  for (uint32_t i = 0; i < 1000; i += 3)
    s.insert(i);
  EXPECT_EQ(s.count(4u), 1u);
  EXPECT_EQ(s.count(5u), 0u);
  EXPECT_EQ(s.erase(4u), 1u);
  s.erase(s.find(3u));
  std::vector<uint32_t> seen(s.begin(), s.end());
  std::sort(seen.begin(), seen.end());
  std::vector<uint32_t> want;
  for (uint32_t i = 0; i < 1000; i += 3) {
    if (i != 3) want.push_back(i);
  }
  EXPECT_EQ(seen, want);
}

}  // namespace
}  // namespace tsunagu
