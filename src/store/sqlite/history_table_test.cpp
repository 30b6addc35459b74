// Tests of the SQLite store's history table (store/sqlite/history_table.hpp): how appends cut,
// fill, merge and split chunks, seen in the table itself, and reads at the chunks' edges. What a
// read returns in general is the Store contract's (store_contract_test.cpp).
#include "store/sqlite/history_table.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/test_random.hpp"
#include "store/sqlite/test_shell.hpp"
#include "store/store.hpp"
#include "store/test_history.hpp"

namespace tsunagu::store {
namespace {

namespace fs = std::filesystem;
namespace th = ::tsunagu::testing;
using history::Instance;

int64_t minute(int64_t m) {
  return th::kHistoryStart + m * th::kMinute;
}

struct ChunkRow {
  int64_t rowid, first, last, count;
  std::string data;
};

class HistoryTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-history-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = open_sqlite({dir_ + "/tsunagu.db", SyncMode::kNormal});
    ASSERT_TRUE(s.ok()) << s.status().detail();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void append(uint64_t series, const std::vector<Instance>& v) {
    WriteBatch b;
    b.append_history(series, th::chunk_of(v));
    model_.apply(b.ops[0]);
    Status st = store_->apply(std::move(b));
    ASSERT_TRUE(st.ok()) << st.detail();
  }

  std::vector<ChunkRow> chunks(uint64_t series) {
    std::vector<ChunkRow> out;
    for (auto& r : th::Shell(dir_ + "/tsunagu.db")
                       .rows("SELECT rowid, first_time, last_time, count, data FROM "
                             "history_chunks WHERE series = " +
                             std::to_string(series) + " ORDER BY first_time")) {
      out.push_back({std::stoll(r[0]), std::stoll(r[1]), std::stoll(r[2]), std::stoll(r[3]),
                     std::move(r[4])});
    }
    return out;
  }

  std::vector<int64_t> counts(uint64_t series) {
    std::vector<int64_t> out;
    for (const auto& c : chunks(series))
      out.push_back(c.count);
    return out;
  }

  // The table's rules for `series`: each row describes its chunk; a chunk holds at most
  // kChunkInstances and kChunkBytes unless all its instances share one time; chunks cover
  // disjoint times in first_time order; together they hold the series. Then reads at the edges
  // of every chunk, as the model says.
  void expect_well_formed(uint64_t series) {
    const auto rows = chunks(series);
    int64_t total = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      SCOPED_TRACE("chunk " + std::to_string(i) + " of " + std::to_string(rows.size()));
      const ChunkRow& c = rows[i];
      auto info = history::read_chunk_info(c.data);
      ASSERT_TRUE(info.ok()) << info.status().detail();
      EXPECT_EQ(static_cast<int64_t>(info->count), c.count);
      EXPECT_EQ(info->first_time, c.first);
      EXPECT_EQ(info->last_time, c.last);
      if (c.first != c.last) {
        EXPECT_LE(c.count, static_cast<int64_t>(kChunkInstances));
        EXPECT_LE(c.data.size(), kChunkBytes);
      }
      if (i > 0) {
        EXPECT_LT(rows[i - 1].last, c.first) << "chunks overlap";
      }
      total += c.count;
    }
    EXPECT_EQ(static_cast<size_t>(total), model_.read(series, {}, 0).size());
    expect_read(series, {}, 0);
    for (size_t i = 0; i < rows.size(); ++i) {
      const ChunkRow& c = rows[i];
      const int64_t next = i + 1 < rows.size() ? rows[i + 1].first : INT64_MAX;
      for (history::TimeRange r : {history::TimeRange{c.first, c.last + 1},
                                   {c.first, c.first + 1},
                                   {c.last, c.last + 1},
                                   {c.first - 1, c.last},
                                   {c.last, next},
                                   {c.last + 1, next},
                                   {c.first + 1, next == INT64_MAX ? next : next + 1}}) {
        for (size_t last_n : {0, 1, 1500})
          expect_read(series, r, last_n);
      }
    }
  }

  void expect_read(uint64_t series, history::TimeRange range, size_t last_n) {
    std::vector<Instance> got;
    Status st = store_->read_history(series, range, last_n, got);
    ASSERT_TRUE(st.ok()) << st.detail();
    EXPECT_EQ(th::lines(got), th::lines(model_.read(series, range, last_n)))
        << "[" << range.from << ", " << range.until << ") last " << last_n;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  th::HistoryModel model_;
};

// A fold's usual append: two instances after the series' last chunk. They go into that chunk
// until it is full (by count here), and no other row is written.
TEST_F(HistoryTableTest, AppendsAtTheEndFillTheLastChunkAndTouchNoOther) {
  for (int64_t m = 0; m < 2400; m += 2)
    append(1, {th::reading(m, minute(m), 20), th::reading(m + 1, minute(m + 1), 20.5)});
  EXPECT_EQ(counts(1), (std::vector<int64_t>{1000, 1000, 400}));
  const auto before = chunks(1);
  append(1, {th::reading(2400, minute(2400), 21), th::reading(2401, minute(2401), 21)});
  const auto after = chunks(1);
  ASSERT_EQ(after.size(), 3u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(after[i].rowid, before[i].rowid);
    EXPECT_EQ(after[i].data, before[i].data);
  }
  EXPECT_EQ(after[2].rowid, before[2].rowid);
  EXPECT_EQ(after[2].count, 402);
  expect_well_formed(1);
}

// Values that do not compress fill a chunk by its bytes first: each closes once two more
// instances would take it past kChunkBytes.
TEST_F(HistoryTableTest, ChunksOfIncompressibleValuesEndAtTheirByteLimit) {
  th::Xorshift rng(3);
  for (int64_t m = 0; m < 2000; m += 2) {
    append(1, {th::reading(m, minute(m), rng.unit() * 100),
               th::reading(m + 1, minute(m + 1), rng.unit() * 100)});
  }
  const auto rows = chunks(1);
  ASSERT_GT(rows.size(), 3u);
  for (size_t i = 0; i + 1 < rows.size(); ++i) {
    EXPECT_LT(rows[i].count, 1000);
    EXPECT_GT(rows[i].data.size(), kChunkBytes - 60) << "chunk " << i << " closed early";
  }
  expect_well_formed(1);
}

// Late instances are merged into the chunk whose time they fall in; a full one splits into
// halves, and the chunks around it are not written.
TEST_F(HistoryTableTest, LateInstancesMergeIntoTheirChunkAndSplitIt) {
  append(1, th::readings(0, 3000));
  EXPECT_EQ(counts(1), (std::vector<int64_t>{1000, 1000, 1000}));
  const auto before = chunks(1);
  append(1, {th::reading(5000, minute(10) + 1, 1)});  // in the first chunk
  EXPECT_EQ(counts(1), (std::vector<int64_t>{500, 501, 1000, 1000}));
  const auto after = chunks(1);
  EXPECT_EQ(after[2].rowid, before[1].rowid);
  EXPECT_EQ(after[3].data, before[2].data);
  append(1, {th::reading(5001, minute(20) + 1, 1)});  // the half has room
  EXPECT_EQ(counts(1), (std::vector<int64_t>{501, 501, 1000, 1000}));
  expect_well_formed(1);
  // A late upload across the whole series: every chunk it meets is merged and split evenly.
  std::vector<Instance> late;
  for (int64_t m = -30; m < 3100; m += 7)
    late.push_back(th::reading(6000 + static_cast<uint64_t>(m + 30), minute(m) + 30'000'000, 2));
  append(1, late);
  expect_well_formed(1);
  for (int64_t count : counts(1))
    EXPECT_GE(count, 300);
}

// An instance between two chunks joins the one before it while that has room, or starts one of
// its own; one before the whole series starts the first chunk.
TEST_F(HistoryTableTest, InstancesBetweenChunksJoinTheChunkBefore) {
  std::vector<Instance> v;
  for (int64_t m = 0; m < 1000; ++m)
    v.push_back(th::reading(static_cast<uint64_t>(m), minute(2 * m), 20));
  append(1, v);
  append(1, {th::reading(1000, minute(5000), 20)});
  EXPECT_EQ(counts(1), (std::vector<int64_t>{1000, 1}));
  append(1, {th::reading(1001, minute(3000), 20)});  // after the full first chunk
  EXPECT_EQ(counts(1), (std::vector<int64_t>{1000, 1, 1}));
  append(1, {th::reading(1002, minute(3001), 20)});  // after the second: it has room
  EXPECT_EQ(counts(1), (std::vector<int64_t>{1000, 2, 1}));
  append(1, {th::reading(1003, minute(-10), 20), th::reading(1004, minute(-9), 20)});
  EXPECT_EQ(counts(1), (std::vector<int64_t>{2, 1000, 2, 1}));
  expect_well_formed(1);
}

// Instances at one time are never split between chunks, so that the last chunk starting at or
// before a time is the only one holding it: one chunk holds them all, whatever their number.
TEST_F(HistoryTableTest, InstancesAtOneTimeStayInOneChunk) {
  std::vector<Instance> v;
  for (uint64_t seq = 0; seq < 1500; ++seq)
    v.push_back(th::reading(seq, minute(100), static_cast<double>(seq)));
  for (int64_t m = 0; m < 1200; ++m)
    v.push_back(th::reading(2000 + static_cast<uint64_t>(m), minute(m), 1));
  append(1, v);
  expect_well_formed(1);
  bool whole = false;
  for (const auto& c : chunks(1))
    whole = whole || (c.first <= minute(100) && c.last >= minute(100) && c.count >= 1501);
  EXPECT_TRUE(whole) << "the 1,501 instances at minute 100 are in one chunk";
  append(1, {th::reading(9999, minute(100), -1)});  // one more at that time
  expect_well_formed(1);
}

// The appends of one batch to one series are written together: the series' chunk is decoded
// and encoded once, not once per append (a fold holds many of them).
TEST_F(HistoryTableTest, AppendsOfOneBatchToASeriesAreWrittenTogether) {
  WriteBatch b;
  for (int64_t m = 0; m < 100; m += 2) {
    b.append_history(1, th::chunk_of(std::vector{th::reading(m, minute(m), 1),
                                                 th::reading(m + 1, minute(m + 1), 2)}));
  }
  for (const auto& op : b.ops)
    model_.apply(op);
  ASSERT_TRUE(store_->apply(std::move(b)).ok());
  EXPECT_EQ(counts(1), std::vector<int64_t>{100});
  expect_well_formed(1);
}

// A chunk damaged on disk is reported by the reads and appends that meet it; the others work.
TEST_F(HistoryTableTest, AChunkDamagedOnDiskIsReported) {
  append(1, th::readings(0, 2000));
  th::Shell(dir_ + "/tsunagu.db")
      .exec("UPDATE history_chunks SET data = substr(data, 1, 40) WHERE first_time = " +
            std::to_string(minute(0)));
  std::vector<Instance> out;
  Status st = store_->read_history(1, {}, 0, out);
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("damaged"), std::string::npos) << st.detail();
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(store_->read_history(1, {minute(1000), minute(2000)}, 0, out).ok());
  EXPECT_EQ(out.size(), 1000u);
  WriteBatch b;
  b.insert_entity(1, "", "urn:ngsi-ld:E:1", "{}");
  b.append_history(1, th::chunk_of(std::vector{th::reading(5000, minute(5) + 1, 1)}));
  st = store_->apply(std::move(b));
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_EQ(th::Shell(dir_ + "/tsunagu.db").text("SELECT count(*) FROM entities"), "0");
}

}  // namespace
}  // namespace tsunagu::store
