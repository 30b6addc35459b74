#include "common/atom.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace tsunagu {
namespace {

TEST(AtomTest, EmptyAtom) {
  Atom a;
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.id(), 0u);
  EXPECT_EQ(a.str(), "");
  EXPECT_EQ(Atom::intern(""), a);
  EXPECT_EQ(Atom::find(""), a);
}

TEST(AtomTest, InterningIsIdentity) {
  Atom a = Atom::intern("atom_test:identity");
  Atom b = Atom::intern(std::string("atom_test:") + "identity");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(a.str(), "atom_test:identity");
  // The text is held by the table, not by the caller's buffer.
  std::string temp = "atom_test:temporary";
  Atom t = Atom::intern(temp);
  temp.assign("overwritten");
  EXPECT_EQ(t.str(), "atom_test:temporary");
}

TEST(AtomTest, DifferentTextsDifferentAtoms) {
  Atom a = Atom::intern("atom_test:a");
  Atom b = Atom::intern("atom_test:b");
  Atom upper = Atom::intern("atom_test:A");
  EXPECT_NE(a, b);
  EXPECT_NE(a, upper);
  EXPECT_TRUE(a < b || b < a);
  EXPECT_NE(std::hash<Atom>()(a), std::hash<Atom>()(b));
}

// Texts of one length whose first and last eight bytes agree share a slot of the per-thread
// table of recent atoms: each must still get its own atom, again and again, and short texts
// that differ in one byte as well.
TEST(AtomTest, TextsSharingARecentSlotStayDistinct) {
  std::vector<std::string> texts;
  for (int i = 0; i < 2000; ++i)
    texts.push_back("https://example.org/" + std::to_string(100000 + i) + "/same-end");
  for (int i = 0; i < 200; ++i)
    texts.push_back(std::string("u") + static_cast<char>('0' + i % 10) +
                    static_cast<char>('a' + i / 10));
  std::vector<Atom> first;
  for (const auto& t : texts)
    first.push_back(Atom::intern(t));
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < texts.size(); ++i) {
      const size_t k = round % 2 ? texts.size() - 1 - i : i;
      Atom a = Atom::intern(texts[k]);
      ASSERT_EQ(a, first[k]) << texts[k];
      ASSERT_EQ(a.str(), texts[k]);
    }
  }
  std::set<uint32_t> ids;
  for (Atom a : first)
    ids.insert(a.id());
  EXPECT_EQ(ids.size(), texts.size());
}

TEST(AtomTest, TextsWithEmbeddedNulAreDistinct) {
  Atom a = Atom::intern(std::string_view("atom_test:n\0a", 13));
  Atom b = Atom::intern(std::string_view("atom_test:n\0b", 13));
  Atom prefix = Atom::intern("atom_test:n");
  EXPECT_NE(a, b);
  EXPECT_NE(a, prefix);
  EXPECT_EQ(a.str(), std::string_view("atom_test:n\0a", 13));
}

TEST(AtomTest, FindNeverCreates) {
  EXPECT_TRUE(Atom::find("atom_test:never-interned").empty());
  EXPECT_TRUE(Atom::find("atom_test:never-interned").empty());
  Atom a = Atom::intern("atom_test:found");
  EXPECT_EQ(Atom::find("atom_test:found"), a);
  EXPECT_TRUE(Atom::find("atom_test:foun").empty());
}

TEST(AtomTest, CountGrowsOnlyWhenAnAtomIsCreated) {
  uint32_t before = Atom::count();
  EXPECT_TRUE(Atom::find("atom_test:counted").empty());
  EXPECT_EQ(Atom::count(), before);
  Atom a = Atom::intern("atom_test:counted");
  EXPECT_EQ(Atom::count(), before + 1);
  EXPECT_GE(a.id(), before);
  EXPECT_EQ(Atom::intern("atom_test:counted"), a);
  EXPECT_EQ(Atom::find("atom_test:counted"), a);
  EXPECT_EQ(Atom::count(), before + 1);
}

TEST(AtomTest, ManyAtomsAcrossChunks) {
  // More than one 16384-entry chunk, so ids past the first chunk are exercised.
  std::vector<Atom> atoms;
  for (int i = 0; i < 40000; ++i)
    atoms.push_back(Atom::intern("atom_test:many:" + std::to_string(i)));
  for (int i = 0; i < 40000; ++i) {
    ASSERT_EQ(atoms[i].str(), "atom_test:many:" + std::to_string(i));
    ASSERT_EQ(Atom::find("atom_test:many:" + std::to_string(i)), atoms[i]);
  }
  std::set<uint32_t> ids;
  for (Atom a : atoms)
    ids.insert(a.id());
  EXPECT_EQ(ids.size(), atoms.size());
}

TEST(AtomTest, ThreadsAgreeOnSharedAndDistinctTexts) {
  constexpr int kThreads = 8;
  constexpr int kShared = 2000;
  constexpr int kOwn = 2000;
  std::vector<std::vector<Atom>> shared(kThreads), own(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &shared, &own] {
      shared[t].resize(kShared);
      for (int i = 0; i < kShared; ++i) {
        // Each thread walks the shared texts in a different order (7 is coprime to 2000).
        int k = (i * 7 + t * 131) % kShared;
        shared[t][k] = Atom::intern("atom_test:shared:" + std::to_string(k));
        own[t].push_back(
            Atom::intern("atom_test:own:" + std::to_string(t) + ":" + std::to_string(i % kOwn)));
        // Reading other threads' atoms is lock-free and must see their text.
        Atom seen = Atom::find("atom_test:shared:" + std::to_string((i + 1) % kShared));
        if (!seen.empty()) {
          EXPECT_EQ(seen.str(), "atom_test:shared:" + std::to_string((i + 1) % kShared));
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  for (int t = 1; t < kThreads; ++t)
    EXPECT_EQ(shared[t], shared[0]);
  std::set<uint32_t> ids;
  for (int i = 0; i < kShared; ++i) {
    EXPECT_EQ(shared[0][i].str(), "atom_test:shared:" + std::to_string(i));
    ids.insert(shared[0][i].id());
  }
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kOwn; ++i) {
      EXPECT_EQ(own[t][i].str(), "atom_test:own:" + std::to_string(t) + ":" + std::to_string(i));
      ids.insert(own[t][i].id());
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kShared + kThreads * kOwn));
}

}  // namespace
}  // namespace tsunagu
