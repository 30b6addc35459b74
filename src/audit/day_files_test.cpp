// The day files: which files are days of the log, lines read forwards and backwards across block
// boundaries (the last one skipped while unterminated), retention by day, and the pages of
// read_records() in either order.
#include "audit/day_files.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/test_random.hpp"
#include "common/time.hpp"

namespace tsunagu::audit {
namespace {

namespace fs = std::filesystem;

class DayFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-audit-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void put(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << text;
  }
  // Records at 10:00 plus `i` seconds of `day`, numbered by their status (200 + i).
  void put_day(const std::string& day, int n, int first = 0) {
    std::string text;
    for (int i = first; i < first + n; ++i) {
      Record r;
      r.time = *parse_datetime(day + "T10:00:00Z") + int64_t{i} * 1'000'000;
      r.operation = i % 2 == 0 ? "createEntity" : "mergeEntity";
      r.method = "POST";
      r.path = "/ngsi-ld/v1/entities";
      r.status = 200 + i;
      append_line(r, text);
    }
    std::ofstream(day_path(dir_, day), std::ios::binary | std::ios::app) << text;
  }
  std::vector<int> statuses(const Page& page) {
    std::vector<int> out;
    for (const auto& r : page.records)
      out.push_back(r.status - 200);
    return out;
  }

  std::string dir_;
};

TEST_F(DayFiles, OnlyFilesNamedAfterADayAreTheLogs) {
  for (const char* name : {"2026-12-07.jsonl", "2026-01-31.jsonl", "2025-12-31.jsonl",
                           "2026-13-01.jsonl", "2026-02-30.jsonl", "2026-1-01.jsonl", "notes.txt",
                           "2026-12-07.jsonl.tmp", ".jsonl", "2026-12-07"})
    put(name, "");
  EXPECT_EQ(list_days(dir_), (std::vector<std::string>{"2025-12-31", "2026-01-31", "2026-12-07"}));
  EXPECT_TRUE(list_days(dir_ + "/absent").empty());
}

TEST_F(DayFiles, RetentionDeletesTheDaysBeforeTheOldestKeptAndNothingElse) {
  for (const char* name : {"2026-12-05.jsonl", "2026-12-06.jsonl", "2026-12-07.jsonl", "x.txt"})
    put(name, "");
  EXPECT_EQ(remove_days_before(dir_, "2026-12-06"), (std::vector<std::string>{"2026-12-05"}));
  EXPECT_EQ(list_days(dir_), (std::vector<std::string>{"2026-12-06", "2026-12-07"}));
  EXPECT_TRUE(fs::exists(dir_ + "/x.txt"));
}

TEST_F(DayFiles, LinesReadForwardsAndBackwardsAcrossBlocksAgree) {
  // Lines of random lengths, some longer than the 1 MiB block, over several blocks.
  testing::Xorshift rnd(7);
  std::vector<std::string> lines;
  std::string text;
  size_t total = 0;
  while (total < 5u << 20) {
    const size_t len = rnd.below(20) == 0 ? 1'500'000 + rnd.below(100) : rnd.below(300);
    std::string line(len, static_cast<char>('a' + lines.size() % 26));
    total += len + 1;
    text += line + '\n';
    lines.push_back(std::move(line));
  }
  put("f", text + "an unterminated line");
  std::vector<std::string> forwards, backwards;
  ASSERT_TRUE(each_line(dir_ + "/f", [&](std::string_view l) {
                forwards.emplace_back(l);
                return true;
              }).ok());
  ASSERT_TRUE(each_line_backward(dir_ + "/f", [&](std::string_view l) {
                backwards.emplace_back(l);
                return true;
              }).ok());
  EXPECT_EQ(forwards, lines);
  std::reverse(backwards.begin(), backwards.end());
  EXPECT_EQ(backwards, lines);
}

TEST_F(DayFiles, SmallFilesAndStoppingEarly) {
  auto collect = [&](bool backward, size_t stop_after) {
    std::vector<std::string> out;
    auto visit = [&](std::string_view l) {
      out.emplace_back(l);
      return out.size() < stop_after;
    };
    Status st = backward ? each_line_backward(dir_ + "/f", visit) : each_line(dir_ + "/f", visit);
    EXPECT_TRUE(st.ok());
    return out;
  };
  using V = std::vector<std::string>;
  put("f", "");
  EXPECT_EQ(collect(true, 9), V{});
  put("f", "cut");
  EXPECT_EQ(collect(false, 9), V{});
  EXPECT_EQ(collect(true, 9), V{});
  put("f", "one\n");
  EXPECT_EQ(collect(false, 9), V{"one"});
  EXPECT_EQ(collect(true, 9), V{"one"});
  put("f", "one\ntwo\nthree\nfou");
  EXPECT_EQ(collect(false, 9), (V{"one", "two", "three"}));
  EXPECT_EQ(collect(true, 9), (V{"three", "two", "one"}));
  EXPECT_EQ(collect(true, 2), (V{"three", "two"}));
  EXPECT_EQ(collect(false, 1), V{"one"});
  EXPECT_TRUE(each_line(dir_ + "/absent", [](std::string_view) { return true; }).ok());
}

TEST_F(DayFiles, PagesNewestOrOldestFirstWithOffsetLimitAndCount) {
  put_day("2026-12-05", 3, 0);  // 0 1 2
  put_day("2026-12-06", 3, 3);  // 3 4 5
  put_day("2026-12-07", 3, 6);  // 6 7 8
  Filter all;
  auto page = read_records(dir_, all, Order::kNewestFirst, 0, 4, false);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(statuses(*page), (std::vector<int>{8, 7, 6, 5}));
  page = read_records(dir_, all, Order::kOldestFirst, 2, 3, true);
  EXPECT_EQ(statuses(*page), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(page->total, 9u);
  page = read_records(dir_, all, Order::kNewestFirst, 8, 3, true);
  EXPECT_EQ(statuses(*page), (std::vector<int>{0}));
  page = read_records(dir_, all, Order::kNewestFirst, 0, 0, true);
  EXPECT_TRUE(page->records.empty());
  EXPECT_EQ(page->total, 9u);

  Filter f;
  f.operation = "mergeEntity";
  f.since = *parse_datetime("2026-12-05T10:00:02Z");
  f.until = *parse_datetime("2026-12-07T10:00:01Z");  // excludes 7 (10:00:01 of the 7th)
  page = read_records(dir_, f, Order::kOldestFirst, 0, 100, true);
  EXPECT_EQ(statuses(*page), (std::vector<int>{3, 5}));
  EXPECT_EQ(page->total, 2u);
}

TEST_F(DayFiles, DaysOutsideTheTimeRangeAreNotRead) {
  put_day("2026-12-06", 2);
  // A damaged line in a day the range excludes is never read; in one it includes, it is skipped.
  put("2026-12-01.jsonl", "{damaged\n");
  Filter f;
  f.since = *parse_datetime("2026-12-06T00:00:00Z");
  auto page = read_records(dir_, f, Order::kNewestFirst, 0, 100, true);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 2u);
  EXPECT_EQ(page->skipped, 0u);
  f.since = INT64_MIN;
  page = read_records(dir_, f, Order::kNewestFirst, 0, 100, true);
  EXPECT_EQ(page->total, 2u);
  EXPECT_EQ(page->skipped, 1u);
}

}  // namespace
}  // namespace tsunagu::audit
