// For the SQLite store's tests: a second connection to a database file, as an operator's sqlite3
// shell would be, to look at what the store wrote or change it behind its back.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

namespace tsunagu::testing {

class Shell {
 public:
  explicit Shell(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~Shell() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    EXPECT_EQ(rc, SQLITE_OK) << (msg ? msg : "") << " in " << sql;
    sqlite3_free(msg);
  }
  // The first column of the first row, or "" when there is none.
  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }
  // Every row, each column's bytes (a number as its text).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::vector<std::vector<std::string>> out;
    while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
      auto& row = out.emplace_back();
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(st, i));
        row.emplace_back(p == nullptr ? "" : std::string(p, sqlite3_column_bytes(st, i)));
      }
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace tsunagu::testing
