// A prepared SQLite statement that finalizes itself, shared by the SQLite store's files
// (sqlite_store.cpp, history_table.cpp). Used by one thread at a time, as its connection is.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace tsunagu::store {

class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }
  Status prepare(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      return Status::Internal(std::string("sqlite: cannot prepare statement: ") +
                              sqlite3_errmsg(db));
    }
    return Status::Ok();
  }
  sqlite3_stmt* get() const { return stmt_; }
  // The bound text or blob must live until the statement is reset.
  void bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void bind_blob(int i, std::string_view s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  // A text or blob column; valid until the next step or reset.
  std::string_view bytes(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    return p == nullptr ? std::string_view()
                        : std::string_view(static_cast<const char*>(p),
                                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace tsunagu::store
