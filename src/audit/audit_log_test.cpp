// The audit log's writer: every record queued by many threads is in its day's file exactly once
// after flush(); records of two days go to two files; retention deletes old days at start;
// stop() writes what is queued; what cannot be written is counted as dropped, never lost
// silently.
#include "audit/audit_log.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/time.hpp"

namespace tsunagu::audit {
namespace {

namespace fs = std::filesystem;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-audit-log-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl + "/audit";
  }
  void TearDown() override { fs::remove_all(fs::path(dir_).parent_path()); }

  AuditLog::Options options() {
    AuditLog::Options o;
    o.dir = dir_;
    return o;
  }
  static Record at(const std::string& datetime, std::string path) {
    Record r;
    r.time = *parse_datetime(datetime);
    r.operation = "createEntity";
    r.method = "POST";
    r.path = std::move(path);
    r.status = 201;
    return r;
  }
  std::vector<std::string> lines(const std::string& day) {
    std::vector<std::string> out;
    EXPECT_TRUE(each_line(day_path(dir_, day), [&](std::string_view l) {
                  out.emplace_back(l);
                  return true;
                }).ok());
    return out;
  }

  std::string dir_;
};

TEST_F(AuditLogTest, EveryRecordOfManyThreadsIsWrittenOnce) {
  AuditLog log(options());
  ASSERT_TRUE(log.start().ok());
  constexpr int kThreads = 8, kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kEach; ++i)
        log.record(at("2026-12-07T12:00:00Z", "/" + std::to_string(t) + "/" + std::to_string(i)));
    });
  }
  for (auto& t : threads)
    t.join();
  log.flush();
  std::set<std::string> paths;
  for (const auto& line : lines("2026-12-07")) {
    auto r = parse_line(line);
    ASSERT_TRUE(r.ok()) << line;
    EXPECT_TRUE(paths.insert(r->path).second) << "twice: " << r->path;
  }
  EXPECT_EQ(paths.size(), size_t{kThreads * kEach});
  EXPECT_EQ(log.written(), uint64_t{kThreads * kEach});
  EXPECT_EQ(log.dropped(), 0u);
}

TEST_F(AuditLogTest, RecordsGoToTheFileOfTheirOwnDay) {
  AuditLog log(options());
  ASSERT_TRUE(log.start().ok());
  log.record(at("2026-12-06T23:59:59.999Z", "/a"));
  log.record(at("2026-12-07T00:00:00Z", "/b"));
  log.flush();
  // Answered before midnight, handed over after the next day's first record: still its own day.
  log.record(at("2026-12-06T23:59:59.9995Z", "/c"));
  log.record(at("2026-12-07T00:00:01Z", "/d"));
  log.flush();
  ASSERT_EQ(lines("2026-12-06").size(), 2u);
  ASSERT_EQ(lines("2026-12-07").size(), 2u);
  EXPECT_EQ(parse_line(lines("2026-12-06")[1])->path, "/c");
  EXPECT_EQ(parse_line(lines("2026-12-07")[1])->path, "/d");
  auto page = log.query(Filter{}, Order::kNewestFirst, 0, 10, true);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 4u);
  EXPECT_EQ(page->records[0].path, "/d");
  EXPECT_EQ(page->records[3].path, "/a");
}

TEST_F(AuditLogTest, AppendsToTheFilesOfEarlierRunsAndNeverRewritesThem) {
  {
    AuditLog log(options());
    ASSERT_TRUE(log.start().ok());
    log.record(at("2026-12-07T08:00:00Z", "/first"));
  }  // stop() writes what is queued
  const auto first = lines("2026-12-07");
  ASSERT_EQ(first.size(), 1u);
  AuditLog log(options());
  ASSERT_TRUE(log.start().ok());
  log.record(at("2026-12-07T09:00:00Z", "/second"));
  log.flush();
  const auto both = lines("2026-12-07");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0], first[0]);
}

TEST_F(AuditLogTest, RetentionDeletesTheDaysPastThePeriodAtStart) {
  fs::create_directories(dir_);
  for (const char* day : {"2026-11-30", "2026-12-01", "2026-12-02", "2026-12-07"})
    std::ofstream(day_path(dir_, day)) << "";
  AuditLog::Options o = options();
  o.clock = [] { return *parse_datetime("2026-12-07T12:00:00Z"); };
  o.retention_days = 5;  // keeps 2026-12-02 and later
  AuditLog log(o);
  ASSERT_TRUE(log.start().ok());
  EXPECT_EQ(list_days(dir_), (std::vector<std::string>{"2026-12-02", "2026-12-07"}));
  o.retention_days = 0;  // keeps everything
  o.clock = [] { return *parse_datetime("2036-12-07T12:00:00Z"); };
  AuditLog forever(o);
  EXPECT_EQ(forever.apply_retention(), 0u);
  EXPECT_EQ(list_days(dir_).size(), 2u);
}

TEST_F(AuditLogTest, RecordsThatCannotBeWrittenAreCountedAsDropped) {
  AuditLog log(options());
  ASSERT_TRUE(log.start().ok());
  fs::create_directories(day_path(dir_, "2026-12-07"));  // a folder where the file would be
  log.record(at("2026-12-07T08:00:00Z", "/lost"));
  log.record(at("2026-12-08T08:00:00Z", "/kept"));
  log.flush();
  EXPECT_EQ(log.dropped(), 1u);
  EXPECT_EQ(log.written(), 1u);
  EXPECT_EQ(lines("2026-12-08").size(), 1u);
  log.stop();
  log.record(at("2026-12-08T09:00:00Z", "/after-stop"));
  EXPECT_EQ(log.dropped(), 2u);
  EXPECT_EQ(lines("2026-12-08").size(), 1u);
}

TEST_F(AuditLogTest, AFolderThatCannotBeMadeStopsTheStart) {
  fs::create_directories(fs::path(dir_).parent_path());
  std::ofstream(dir_) << "a file where the folder would be";
  AuditLog log(options());
  EXPECT_FALSE(log.start().ok());
}

}  // namespace
}  // namespace tsunagu::audit
