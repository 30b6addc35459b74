// Timestamps: microseconds since the Unix epoch (UTC) everywhere inside Tsunagu, and the ISO 8601
// text forms NGSI-LD uses at the edges (DateTime, Date, Time; ETSI GS CIM 009 §4.6.3, annex C.6).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tsunagu {

// Marks an absent timestamp.
inline constexpr int64_t kNoTime = INT64_MIN;

// Wall-clock time now, in microseconds since the epoch.
int64_t now_us();

// Monotonic time now, in microseconds from an arbitrary start: for timeouts, back-off and
// durations, which must not jump with the wall clock.
int64_t steady_us();

// Parses an ISO 8601 date-time ("2026-04-01T06:00:00Z", with optional fraction of up to 9 digits
// and an optional "Z" or "+hh:mm"/"-hh:mm"/"+hhmm" offset; no offset means UTC). Returns
// microseconds since the epoch, or nullopt when the text is not a valid date-time.
std::optional<int64_t> parse_datetime(std::string_view text);

// Parses an ISO 8601 calendar date ("2026-04-01") as midnight UTC, in microseconds.
std::optional<int64_t> parse_date(std::string_view text);

// Parses a time of day ("06:00:00", "06:00:00.5Z") as microseconds after midnight.
std::optional<int64_t> parse_time(std::string_view text);

// `us` moved by `months` calendar months (negative: back), the day of the month kept where the
// target month has it and the month's last day otherwise (January 31 + 1 month: February 28 or
// 29); the time of day is kept. UTC, so every day has 24 hours.
int64_t add_months(int64_t us, int64_t months);

// Appends the UTC form of `us`: "2026-04-01T06:00:00Z", with ".mmm" or ".uuuuuu" only when the
// value has a fractional second.
void append_datetime(int64_t us, std::string& out);
// The same written to `buf` (no terminating NUL); returns the length. Every character is one a
// JSON string holds unescaped.
inline constexpr size_t kDatetimeChars = 48;
size_t write_datetime(int64_t us, char (&buf)[kDatetimeChars]);
std::string format_datetime(int64_t us);

}  // namespace tsunagu
