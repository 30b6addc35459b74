// One audit record (docs/security.md, "Audit log"): who asked what, when, from where, and what
// the answer was; its stored form, one JSON object per line, and the filter a query applies.
// Plain data: no HTTP types, so that the audit module depends on common/ only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/json_writer.hpp"
#include "common/status.hpp"

namespace tsunagu::audit {

struct Record {
  int64_t time = 0;       // µs since the epoch (UTC): when the answer was given
  std::string tenant;     // "" = the default tenant (and the admin API, which has none)
  std::string subject;    // API key id, token `sub`, "administrator"; "" = anonymous
  std::string operation;  // the route's OpenAPI operationId: "createEntity"
  std::string method;     // "POST"
  std::string path;       // the request target as received: path and query, no headers
  int status = 0;
  std::string remote;  // the peer's address and port
  std::string role;    // the tenant role the caller held (docs/security.md, "Roles"); "": none
};

// Writes `r` as one JSON object (members in the order of Record).
void write_record(const Record& r, JsonWriter& w);
// Appends `r` as one line of a day file: the JSON object and '\n'.
void append_line(const Record& r, std::string& out);
// Reads one line back (without its '\n'). InvalidRequest when it is not a record: a line cut by
// a crash, or text that is not this format.
Result<Record> parse_line(std::string_view line);

// The UTC calendar day of `us`: "2026-12-07", the name of its day file without ".jsonl".
std::string day_of(int64_t us);

// Which records a query wants. Every member that is set must match; times are µs, `since`
// inclusive and `until` exclusive.
struct Filter {
  std::optional<std::string> tenant;
  std::optional<std::string> subject;
  std::optional<std::string> operation;
  int64_t since = INT64_MIN;
  int64_t until = INT64_MAX;
  // A status (404), or a class when status_class is set (4 for 4xx); 0: any.
  int status = 0;
  bool status_class = false;

  bool matches(const Record& r) const;
};

}  // namespace tsunagu::audit
