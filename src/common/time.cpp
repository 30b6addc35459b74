// ISO 8601 parsing and formatting without locale or time-zone database: civil-date arithmetic
// (days from civil, after H. Hinnant's well-known algorithm) on plain integers.
#include "common/time.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace tsunagu {
namespace {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[pos]; advances pos.
bool digits(std::string_view s, size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool parse_date_part(std::string_view s, size_t& pos, int64_t& days) {
  int y, mo, d;
  if (!digits(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-') return false;
  if (!digits(s, pos, 2, mo) || pos >= s.size() || s[pos++] != '-') return false;
  if (!digits(s, pos, 2, d)) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > static_cast<int>(days_in_month(y, mo))) return false;
  days = days_from_civil(y, mo, d);
  return true;
}

// hh:mm[:ss[.fff...]]; seconds are optional as ISO 8601 allows reduced precision.
bool parse_time_part(std::string_view s, size_t& pos, int64_t& us) {
  int h, mi, sec = 0;
  if (!digits(s, pos, 2, h) || pos >= s.size() || s[pos++] != ':') return false;
  if (!digits(s, pos, 2, mi)) return false;
  int64_t frac_us = 0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!digits(s, pos, 2, sec)) return false;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      size_t start = pos;
      int64_t scale = 100000;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (pos - start >= 9) return false;
        frac_us += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return false;
    }
  }
  if (h > 23 || mi > 59 || sec > 60) return false;  // 60: leap second, folded into the next
  us = ((h * 60LL + mi) * 60LL + sec) * 1000000LL + frac_us;
  return true;
}

// Z, +hh:mm, -hh:mm, +hhmm, +hh, or nothing (UTC). Returns the offset in microseconds.
bool parse_offset(std::string_view s, size_t& pos, int64_t& offset_us) {
  offset_us = 0;
  if (pos == s.size()) return true;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
    return true;
  }
  if (s[pos] != '+' && s[pos] != '-') return false;
  int sign = s[pos++] == '-' ? -1 : 1;
  int h, m = 0;
  if (!digits(s, pos, 2, h)) return false;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!digits(s, pos, 2, m)) return false;
  }
  if (h > 23 || m > 59) return false;
  offset_us = sign * (h * 60LL + m) * 60LL * 1000000LL;
  return true;
}

}  // namespace

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t steady_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

namespace {

// "YYYY-MM-DDThh:mm:ssZ", the form nearly every observedAt takes (and the one Tsunagu writes
// for whole seconds), read in one pass: every stored attribute carries one or more. Null when
// the text has another form or is invalid; the general reader then decides.
std::optional<int64_t> parse_plain_utc(std::string_view s) {
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return std::nullopt;
  }
  auto two = [&s](size_t at, int& out) {
    const unsigned hi = static_cast<unsigned char>(s[at]) - '0';
    const unsigned lo = static_cast<unsigned char>(s[at + 1]) - '0';
    out = static_cast<int>(hi * 10 + lo);
    return hi < 10 && lo < 10;
  };
  int century, year, mo, d, h, mi, sec;
  if (!two(0, century) || !two(2, year) || !two(5, mo) || !two(8, d) || !two(11, h) ||
      !two(14, mi) || !two(17, sec)) {
    return std::nullopt;
  }
  const int y = century * 100 + year;
  if (mo < 1 || mo > 12 || d < 1 || d > static_cast<int>(days_in_month(y, mo)) || h > 23 ||
      mi > 59 || sec > 60) {
    return std::nullopt;
  }
  return days_from_civil(y, mo, d) * 86400LL * 1000000LL +
         ((h * 60LL + mi) * 60LL + sec) * 1000000LL;
}

}  // namespace

int64_t add_months(int64_t us, int64_t months) {
  constexpr int64_t kDayUs = 86400LL * 1000000LL;
  int64_t days = us / kDayUs;
  int64_t time_of_day = us % kDayUs;
  if (time_of_day < 0) {
    time_of_day += kDayUs;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  int64_t index = y * 12 + (m - 1) + months;  // months since year 0
  int64_t ny = index >= 0 ? index / 12 : (index - 11) / 12;
  auto nm = static_cast<unsigned>(index - ny * 12 + 1);
  unsigned nd = std::min(d, days_in_month(ny, nm));
  return days_from_civil(ny, nm, nd) * kDayUs + time_of_day;
}

std::optional<int64_t> parse_datetime(std::string_view s) {
  if (auto plain = parse_plain_utc(s)) return plain;
  size_t pos = 0;
  int64_t days, tod, offset;
  if (!parse_date_part(s, pos, days)) return std::nullopt;
  if (pos >= s.size() || (s[pos] != 'T' && s[pos] != 't')) return std::nullopt;
  ++pos;
  if (!parse_time_part(s, pos, tod) || !parse_offset(s, pos, offset)) return std::nullopt;
  if (pos != s.size()) return std::nullopt;
  return days * 86400LL * 1000000LL + tod - offset;
}

std::optional<int64_t> parse_date(std::string_view s) {
  size_t pos = 0;
  int64_t days;
  if (!parse_date_part(s, pos, days) || pos != s.size()) return std::nullopt;
  return days * 86400LL * 1000000LL;
}

std::optional<int64_t> parse_time(std::string_view s) {
  size_t pos = 0;
  int64_t tod, offset;
  if (!parse_time_part(s, pos, tod) || !parse_offset(s, pos, offset) || pos != s.size()) {
    return std::nullopt;
  }
  int64_t day = 86400LL * 1000000LL;
  return ((tod - offset) % day + day) % day;
}

size_t write_datetime(int64_t us, char (&buf)[kDatetimeChars]) {
  // Hot path (every stored attribute carries timestamps): digits written by hand, no printf.
  constexpr int64_t kDay = 86400LL * 1000000LL;
  int64_t days = us >= 0 ? us / kDay : -((-us + kDay - 1) / kDay);
  int64_t rest = us - days * kDay;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  int64_t secs = rest / 1000000;
  int64_t frac = rest % 1000000;
  char* p = buf;
  auto put = [&p](int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  if (y < 0 || y > 9999) {  // outside ISO 8601's four digits: rare, keep it simple
    p += snprintf(p, 24, "%lld", static_cast<long long>(y));
  } else {
    put(y, 4);
  }
  *p++ = '-';
  put(m, 2);
  *p++ = '-';
  put(d, 2);
  *p++ = 'T';
  put(secs / 3600, 2);
  *p++ = ':';
  put(secs / 60 % 60, 2);
  *p++ = ':';
  put(secs % 60, 2);
  if (frac != 0) {
    *p++ = '.';
    if (frac % 1000 == 0)
      put(frac / 1000, 3);
    else
      put(frac, 6);
  }
  *p++ = 'Z';
  return static_cast<size_t>(p - buf);
}

void append_datetime(int64_t us, std::string& out) {
  char buf[kDatetimeChars];
  out.append(buf, write_datetime(us, buf));
}

std::string format_datetime(int64_t us) {
  std::string s;
  append_datetime(us, s);
  return s;
}

}  // namespace tsunagu
