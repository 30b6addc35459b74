// The audit log's folder (docs/security.md, "Audit log"): one file of JSON lines per UTC day,
// "2026-12-07.jsonl", only ever appended to. Listing the days, deleting those past retention,
// and reading records back, newest or oldest first, by scanning the files of the days a query
// concerns. Called by the log's writer thread (retention) and by query threads (reads).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/record.hpp"
#include "common/status.hpp"

namespace tsunagu::audit {

inline constexpr std::string_view kDayFileSuffix = ".jsonl";

// `dir`/`day`.jsonl
std::string day_path(const std::string& dir, std::string_view day);

// The days that have a file in `dir`, oldest first. Files with other names are not the log's
// and are left alone. An absent folder has none.
std::vector<std::string> list_days(const std::string& dir);

// Deletes the files of the days before `oldest_kept` ("2026-12-07"); returns the days deleted.
std::vector<std::string> remove_days_before(const std::string& dir, std::string_view oldest_kept);

// Calls `line` with each complete line of the file (without its '\n'), first to last or last to
// first, until it returns false. A last line without '\n' (cut by a crash in mid-write, or being
// appended right now) is not complete and is skipped. A file that does not exist has no lines;
// InternalError when one cannot be read.
using LineVisitor = std::function<bool(std::string_view)>;
Status each_line(const std::string& path, const LineVisitor& line);
Status each_line_backward(const std::string& path, const LineVisitor& line);

enum class Order : unsigned char { kNewestFirst, kOldestFirst };

struct Page {
  std::vector<Record> records;
  size_t total = 0;    // records that match; all of them only when counting was asked
  size_t skipped = 0;  // lines that are not records (damaged), passed over
};

// The records of `dir` that match `filter`, in `order` (the order they were written in, or its
// reverse), without the first `offset` matches, at most `limit`. Reads only the days between
// filter.since and filter.until; with `count` it reads them all to count every match, otherwise
// it stops once the page is full.
Result<Page> read_records(const std::string& dir, const Filter& filter, Order order, size_t offset,
                          size_t limit, bool count);

}  // namespace tsunagu::audit
