// Tests of the embedded store's history: the tail (store/log/history_tail.hpp) on its own, and
// through open_embedded the history ops' way from the change log into the SQLite checkpoint,
// replayed at start, folded once whatever a crash interrupts. The Store contract's history tests
// (store_contract_test.cpp) run against the embedded store too.
#include "store/log/history_tail.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "store/test_history.hpp"

namespace tsunagu::store {
namespace {

namespace fs = std::filesystem;
namespace th = ::tsunagu::testing;
using history::Instance;

constexpr uint64_t kNoFold = 1ull << 40;  // a checkpoint threshold never reached

using th::readings;
using OpKind = WriteBatch::OpKind;

// A load that keeps nothing: these tests read history only.
struct NoVisit : LoadVisitor {
  Status tenant(std::string_view) override { return Status::Ok(); }
  Status entity(uint64_t, std::string_view, std::string_view, std::string_view) override {
    return Status::Ok();
  }
};

std::vector<uint64_t> seqs(const std::vector<Instance>& v) {
  std::vector<uint64_t> out;
  for (const Instance& in : v)
    out.push_back(in.seq);
  return out;
}

TEST(HistoryTailTest, ASnapshotHoldsTheOpsSinceTheLastDropThatAreNotFolded) {
  HistoryTail tail;
  tail.start_segment(1);
  tail.add(1, 7, OpKind::kAppendHistory, "a");
  tail.add(1, 8, OpKind::kAppendHistory, "other series");
  tail.add(2, 7, OpKind::kAppendHistory, "b");
  tail.start_segment(3);
  auto s = tail.snapshot(7);
  EXPECT_FALSE(s.dropped);
  ASSERT_EQ(s.chunks.size(), 2u);
  EXPECT_EQ(*s.chunks[0], "a");
  EXPECT_EQ(*s.chunks[1], "b");
  EXPECT_EQ(s.segment, 3u);
  tail.forget_upto(1);  // segment 1 is folded
  s = tail.snapshot(7);
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(*s.chunks[0], "b");
  EXPECT_TRUE(tail.snapshot(8).chunks.empty());
  tail.add(3, 7, OpKind::kDropHistory, "");
  tail.add(3, 7, OpKind::kAppendHistory, "c");
  s = tail.snapshot(7);
  EXPECT_TRUE(s.dropped);  // "b" is gone with the drop
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(*s.chunks[0], "c");
  tail.forget_upto(3);
  s = tail.snapshot(7);
  EXPECT_FALSE(s.dropped);  // the checkpoint holds the drop now
  EXPECT_TRUE(s.chunks.empty());
}

// A rewrite is a drop and an append in one batch: a read between the two would find the series
// empty (seen once in CI, through the Store contract's threaded read test).
TEST(HistoryTailTest, ASnapshotHoldsAllOfABatchOrNoneOfIt) {
  HistoryTail tail;
  tail.start_segment(1);
  tail.add(1, 7, OpKind::kAppendHistory, "first");
  std::atomic<bool> done{false};
  std::atomic<int> half_seen{0};
  std::thread reader([&] {
    while (!done.load()) {
      const auto s = tail.snapshot(7);
      if (s.chunks.empty()) ++half_seen;
    }
  });
  for (int i = 0; i < 20000; ++i) {
    std::vector<WriteBatch::Op> ops;
    ops.push_back({OpKind::kDropHistory, 7, "", "", ""});
    ops.push_back({OpKind::kPutEntity, 1, "", "urn:ngsi-ld:E:1", "{}"});
    ops.push_back({OpKind::kAppendHistory, 7, "", "", "chunk " + std::to_string(i)});
    tail.add_batch(1, ops);
    EXPECT_EQ(ops[1].doc, "{}");  // other ops keep their docs
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(half_seen.load(), 0);
  const auto s = tail.snapshot(7);
  EXPECT_TRUE(s.dropped);
  ASSERT_EQ(s.chunks.size(), 1u);
  EXPECT_EQ(*s.chunks[0], "chunk 19999");
}

// The fold may write part of the tail between the snapshot and the checkpoint's read: what the
// checkpoint holds already is not added again, whatever range or last_n the read has.
TEST(HistoryTailTest, AnOverlayAddsOnlyWhatTheCheckpointDoesNotHold) {
  const std::vector<Instance> v = readings(0, 10);
  HistoryTail::Snapshot snap;
  // Logged: 2-5, then 8-9, then a late 1.
  snap.chunks.push_back(
      std::make_shared<const std::string>(th::chunk_of(std::span(v).subspan(2, 4))));
  snap.chunks.push_back(
      std::make_shared<const std::string>(th::chunk_of(std::span(v).subspan(8, 2))));
  snap.chunks.push_back(
      std::make_shared<const std::string>(th::chunk_of(std::span(v).subspan(1, 1))));
  auto overlay = [&](std::vector<Instance> base, history::TimeRange range, size_t last_n) {
    std::vector<Instance> out{v[0]};  // appended to, not replaced
    Status st = HistoryTail::overlay(snap, range, last_n, std::move(base), out);
    EXPECT_TRUE(st.ok()) << st.detail();
    out.erase(out.begin());
    return seqs(out);
  };
  using Seqs = std::vector<uint64_t>;
  // The checkpoint without any of the tail, with its first two chunks, with all of it.
  EXPECT_EQ(overlay({v[0]}, {}, 0), (Seqs{0, 1, 2, 3, 4, 5, 8, 9}));
  EXPECT_EQ(overlay({v[0], v[2], v[3], v[4], v[5], v[8], v[9]}, {}, 0),
            (Seqs{0, 1, 2, 3, 4, 5, 8, 9}));
  EXPECT_EQ(overlay({v[0], v[1], v[2], v[3], v[4], v[5], v[8], v[9]}, {}, 0),
            (Seqs{0, 1, 2, 3, 4, 5, 8, 9}));
  // A range, and the last three of it: the checkpoint answered the same read.
  const history::TimeRange range{v[1].time(), v[9].time()};
  EXPECT_EQ(overlay({}, range, 0), (Seqs{1, 2, 3, 4, 5, 8}));
  EXPECT_EQ(overlay({v[4], v[5]}, range, 3), (Seqs{4, 5, 8}));
  EXPECT_EQ(overlay({v[3], v[4], v[5]}, range, 3), (Seqs{4, 5, 8}));
  EXPECT_EQ(overlay({v[2], v[3], v[4], v[5], v[8]}, {}, 2), (Seqs{8, 9}));
  // A damaged chunk is reported.
  std::string bad = *snap.chunks[0];
  bad[3] ^= 1;
  snap.chunks.push_back(std::make_shared<const std::string>(bad));
  std::vector<Instance> out;
  EXPECT_FALSE(HistoryTail::overlay(snap, {}, 0, {}, out).ok());
}

class LogHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-loghistory-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    for (const auto& d : more_dirs_)
      fs::remove_all(d, ec);
  }

  std::unique_ptr<Store> open(uint64_t checkpoint_bytes = kNoFold, std::string dir = {},
                              SyncMode sync = SyncMode::kFull) {
    EmbeddedOptions o;
    o.dir = dir.empty() ? dir_ : dir;
    o.checkpoint_bytes = checkpoint_bytes;
    o.sync = sync;
    auto s = open_embedded(o);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    if (!s.ok()) return nullptr;
    NoVisit nothing;
    Status st = (*s)->load(nothing);
    EXPECT_TRUE(st.ok()) << st.detail();
    return st.ok() ? std::move(*s) : nullptr;
  }

  void apply(Store& s, WriteBatch b) {
    for (const auto& op : b.ops)
      model_.apply(op);
    Status st = s.apply(std::move(b));
    EXPECT_TRUE(st.ok()) << st.detail();
  }

  static std::vector<Instance> read(Store& s, uint64_t series) {
    std::vector<Instance> out;
    Status st = s.read_history(series, {}, 0, out);
    EXPECT_TRUE(st.ok()) << st.detail();
    return out;
  }

  // Opens the store and compares every series with the model.
  void expect_history(uint64_t checkpoint_bytes = kNoFold) {
    auto s = open(checkpoint_bytes);
    ASSERT_NE(s, nullptr);
    for (const auto& [series, _] : model_.series)
      EXPECT_EQ(th::lines(read(*s, series)), th::lines(model_.read(series, {}, 0)))
          << "series " << series;
  }

  // What the SQLite checkpoint alone holds of `series`.
  std::vector<Instance> checkpoint(uint64_t series, std::string dir = {}) {
    auto s = open_sqlite({(dir.empty() ? dir_ : dir) + "/tsunagu.db"});
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? read(**s, series) : std::vector<Instance>();
  }

  // Folds every logged change: a threshold of one byte makes load() rotate, and the destructor
  // waits for the fold.
  void fold_now() { open(1).reset(); }

  std::vector<std::string> segments() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().rfind("changes-", 0) == 0) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
  std::vector<std::string> more_dirs_;
  th::HistoryModel model_;
};

TEST_F(LogHistoryTest, LoggedHistoryIsReadAtStartAndFoldedIntoTheCheckpoint) {
  const std::vector<Instance> v = readings(0, 50);
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch a;
    a.append_history(1, th::chunk_of(std::span(v).first(30)));
    a.append_history(2, th::chunk_of(std::span(v).first(10)));
    apply(*s, std::move(a));
    WriteBatch b;
    b.drop_history(2);
    b.append_history(2, th::chunk_of(std::span(v).subspan(5, 3)));
    b.append_history(1, th::chunk_of(std::span(v).subspan(30)));
    apply(*s, std::move(b));
  }
  EXPECT_TRUE(checkpoint(1).empty()) << "nothing is folded yet";
  expect_history();  // from the log alone
  fold_now();
  EXPECT_EQ(th::lines(checkpoint(1)), th::lines(model_.read(1, {}, 0)));
  EXPECT_EQ(th::lines(checkpoint(2)), th::lines(model_.read(2, {}, 0)));
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch c;
    c.drop_history(1);  // logged, over what the checkpoint holds
    c.append_history(2, th::chunk_of(std::span(v).subspan(40, 2)));
    apply(*s, std::move(c));
  }
  expect_history();
  fold_now();
  EXPECT_TRUE(checkpoint(1).empty());
  expect_history();
}

// A fold is one SQLite transaction with its note of the segments it holds, and history ops are
// not idempotent: a segment left behind by a crash after the fold's commit must not be appended
// again at the next start.
TEST_F(LogHistoryTest, ASegmentFoldedButNotDeletedIsNotAppendedAgain) {
  const std::vector<Instance> v = readings(0, 20);
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch a;
    a.append_history(1, th::chunk_of(std::span(v).first(10)));
    apply(*s, std::move(a));
  }
  ASSERT_EQ(segments().size(), 1u);
  const std::string path = segments()[0];
  std::ifstream in(path, std::ios::binary);
  const std::string folded((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fold_now();
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    WriteBatch b;
    b.append_history(1, th::chunk_of(std::span(v).subspan(10)));
    apply(*s, std::move(b));
  }
  std::ofstream(path, std::ios::binary) << folded;  // the unlink that the crash prevented
  expect_history();
  fold_now();
  EXPECT_EQ(th::lines(checkpoint(1)), th::lines(model_.read(1, {}, 0)));
  expect_history();
}

// The same with a real crash: a child process writes history under folds of many series until
// it is killed (kill -9), often within a fold's transaction; each start must read every
// acknowledged instance exactly once, and fold what the crash left exactly once.
TEST_F(LogHistoryTest, AFoldKilledMidwayAndRunAgainAppendsEveryInstanceOnce) {
  constexpr uint64_t kSeries = 300;
  constexpr int kRounds = 4;
  std::map<uint64_t, std::set<uint64_t>> acknowledged;  // series -> seqs
  int hot_journals = 0;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t base = static_cast<uint64_t>(round) * 1'000'000;  // seqs of this round
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      EmbeddedOptions o;
      o.dir = dir_;
      o.sync = SyncMode::kNormal;
      o.checkpoint_bytes = 64 << 10;
      auto s = open_embedded(o);
      NoVisit nothing;
      if (!s.ok() || !(*s)->load(nothing).ok()) _exit(1);
      for (uint32_t b = 0;; ++b) {
        WriteBatch batch;
        for (uint64_t series = 0; series < kSeries; ++series) {
          const uint64_t seq = base + 2 * b;
          auto v = readings(seq, seq + 2);
          if (series % 3 == 0 && b % 5 == 4) {
            // Late: among the round's earlier instances.
            for (auto& in : v)
              in.observed_at -= 3 * th::kMinute;
          }
          batch.append_history(series, th::chunk_of(v));
        }
        if (!(*s)->apply(std::move(batch)).ok()) _exit(2);
        if (write(fds[1], &b, sizeof b) != sizeof b) _exit(3);
      }
    }
    close(fds[1]);
    // Kill after a number of acknowledged batches that varies from round to round.
    uint32_t acked = 0, b;
    const uint32_t kill_after = 40 + static_cast<uint32_t>(round) * 17;
    while (acked + 1 < kill_after && ::read(fds[0], &b, sizeof b) == sizeof b)
      acked = b + 1;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    while (::read(fds[0], &b, sizeof b) == sizeof b)
      acked = b + 1;
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself: " << WEXITSTATUS(status);
    ASSERT_GT(acked, 0u);
    std::error_code ec;
    if (fs::file_size(dir_ + "/tsunagu.db-journal", ec) > 0 && !ec) ++hot_journals;
    for (uint64_t series = 0; series < kSeries; ++series)
      for (uint64_t seq = base; seq < base + 2 * acked; ++seq)
        acknowledged[series].insert(seq);
    // Started again, and again after the fold that the start begins (two segments or more).
    for (int start = 0; start < 2; ++start) {
      auto s = open(64 << 10);
      ASSERT_NE(s, nullptr);
      for (uint64_t series = 0; series < kSeries; series += 7) {
        const std::vector<Instance> got_v = read(*s, series);
        ASSERT_EQ(th::order_problem(got_v), "") << "round " << round << " series " << series;
        const std::vector<uint64_t> got_seqs = seqs(got_v);
        const std::set<uint64_t> have(got_seqs.begin(), got_seqs.end());
        for (uint64_t seq : acknowledged[series])
          ASSERT_EQ(have.count(seq), 1u) << "round " << round << ": acknowledged seq " << seq
                                         << " of series " << series << " is missing";
      }
    }
  }
  std::cout << "kills within a fold's transaction: " << hot_journals << " of " << kRounds << "\n";
}

// History documents count towards --checkpoint-mb like entity documents: a log of history
// alone is folded, and the tail of memory it takes is bounded with the log.
TEST_F(LogHistoryTest, HistoryCountsTowardsTheFold) {
  {
    auto s = open(16 << 10);
    ASSERT_NE(s, nullptr);
    for (uint64_t b = 0; b < 200; ++b) {
      WriteBatch batch;
      for (uint64_t series = 0; series < 10; ++series)
        batch.append_history(series, th::chunk_of(readings(2 * b, 2 * b + 2)));
      apply(*s, std::move(batch));
    }
  }
  EXPECT_LE(segments().size(), 2u);
  EXPECT_GT(checkpoint(3).size(), 200u) << "most of the history is folded";
  expect_history();
}

// A damaged chunk is refused before it reaches the log: logged, it would be acknowledged and
// then fail every fold.
TEST_F(LogHistoryTest, ADamagedChunkIsRefusedBeforeItIsLogged) {
  auto s = open();
  ASSERT_NE(s, nullptr);
  WriteBatch a;
  a.append_history(1, th::chunk_of(readings(0, 3)));
  apply(*s, std::move(a));
  const auto size = fs::file_size(segments()[0]);
  std::string bad = th::chunk_of(readings(3, 5));
  bad.back() ^= 1;  // the CRC
  WriteBatch b;
  b.insert_entity(1, "", "urn:ngsi-ld:E:1", "{}");
  b.append_history(1, bad);
  Status st = s->apply(std::move(b));
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("series 1"), std::string::npos) << st.detail();
  EXPECT_EQ(fs::file_size(segments()[0]), size);
  EXPECT_EQ(th::lines(read(*s, 1)), th::lines(model_.read(1, {}, 0)));
}

}  // namespace
}  // namespace tsunagu::store
