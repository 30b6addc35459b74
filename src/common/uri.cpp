#include "common/uri.hpp"

#include <array>
#include <random>

namespace tsunagu {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

// What a byte after the scheme's colon may be: 1 as it is, 2 the '%' of an escape, 0 never
// (space, controls, DEL and the characters RFC 3987 leaves out of IRIs). A table: the rest of a
// URI is read once for every datasetId and object of every write.
constexpr auto kUriRest = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0x21; c < 0x100; ++c)
    t[c] = c == 0x7f ? 0 : 1;
  for (char c : std::string_view("<>\"{}|\\^`"))
    t[static_cast<unsigned char>(c)] = 0;
  t['%'] = 2;
  return t;
}();

bool is_absolute_uri(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  if (!is_alpha(s[0])) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  for (size_t i = colon + 1; i < s.size(); ++i) {
    const unsigned char kind = kUriRest[static_cast<unsigned char>(s[i])];
    if (kind == 1) continue;
    if (kind == 0 || i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) return false;
  }
  return true;
}

bool percent_decode(std::string_view s, std::string& out, bool plus_is_space) {
  // Decoding never lengthens: written through a pointer, then cut to size (a geo-query's
  // coordinates are mostly escapes, and a push_back per byte was 3 % of its instructions).
  out.resize(s.size());
  char* o = out.data();
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      int hi = i + 1 < s.size() ? hex(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        out.clear();
        return false;
      }
      *o++ = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      *o++ = c == '+' && plus_is_space ? ' ' : c;
    }
  }
  out.resize(static_cast<size_t>(o - out.data()));
  return true;
}

namespace {

// The bytes a path segment keeps as they are (RFC 3986 pchar without '%': unreserved,
// sub-delims, ':' and '@'). A table: every create encodes its id for the Location header.
constexpr auto kSegmentKeeps = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = is_alpha(static_cast<char>(c)) || is_digit(static_cast<char>(c));
  for (char c : std::string_view("-._~!$&'()*+,;=:@"))
    t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// The bytes a query parameter's value keeps as they are: pchar, '/' and '?' (RFC 3986 query),
// but not the separators '&' and '+' (a space in forms).
constexpr auto kQueryValueKeeps = [] {
  std::array<bool, 256> t = kSegmentKeeps;
  t['&'] = t['+'] = false;
  t['/'] = t['?'] = true;
  return t;
}();

std::string percent_encode(std::string_view s, const std::array<bool, 256>& keeps) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t kept = i;
    while (kept < s.size() && keeps[static_cast<unsigned char>(s[kept])])
      ++kept;
    out.append(s, i, kept - i);
    if (kept == s.size()) break;
    const auto c = static_cast<unsigned char>(s[kept]);
    const char escape[3] = {'%', kHex[c >> 4], kHex[c & 15]};
    out.append(escape, 3);
    i = kept + 1;
  }
  return out;
}

}  // namespace

std::string percent_encode_segment(std::string_view s) {
  return percent_encode(s, kSegmentKeeps);
}

std::string percent_encode_query_value(std::string_view s) {
  return percent_encode(s, kQueryValueKeeps);
}

std::string random_urn(std::string_view prefix) {
  // A thread's own generator, seeded once from the OS.
  thread_local std::mt19937_64 gen{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  for (int half = 0; half < 2; ++half) {
    uint64_t r = gen();
    for (int i = 0; i < 16; ++i, r >>= 4)
      id.push_back(kHex[r & 15]);
  }
  return id;
}

}  // namespace tsunagu
