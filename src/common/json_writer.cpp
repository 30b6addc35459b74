#include "common/json_writer.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

// AddressSanitizer builds: GCC defines __SANITIZE_ADDRESS__, clang answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define TSUNAGU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TSUNAGU_ASAN 1
#endif
#endif
#ifndef TSUNAGU_ASAN
#define TSUNAGU_ASAN 0
#endif

namespace tsunagu {

void JsonWriter::number(int64_t v) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
}

namespace {

constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};  // all exact

int digit_count(uint64_t m) {
  int n = 1;
  while (m >= 10) {
    m /= 10;
    ++n;
  }
  return n;
}

// The text std::to_chars gives `v` (the shortest that reads back exactly, fixed notation unless
// scientific is shorter), found the quick way for a value with few decimals, as most measured
// values are: the smallest k for which an integer m makes m / 10^k == v (a division rounds
// correctly, so reading "m with k decimals" back gives v). Below 2^50 that m is the only one
// within half a unit of v * 10^k, and the smallest k has the fewest digits, so this is the text
// to_chars chooses. Null when scientific notation would be shorter or no k up to 9 fits; to_chars
// decides those (and zero, which has a sign to keep).
char* few_decimals(double v, char* out) {
  const double a = std::fabs(v);
  if (!(a >= 1e-5 && a < 1e15)) return nullptr;
  for (int k = 0; k < 10; ++k) {
    const double p = a * kPow10[k];
    if (p >= 0x1p50) return nullptr;
#if defined(__SSE2__)
    uint64_t m = static_cast<uint64_t>(_mm_cvtsd_si64(_mm_set_sd(p)));  // nearest, ties even
#else
    uint64_t m = static_cast<uint64_t>(std::llrint(p));
#endif
    if (static_cast<double>(m) / kPow10[k] != a) continue;
    const int digits = digit_count(m);
    int significant = digits;  // for k == 0, trailing zeros do not count
    for (uint64_t t = m; k == 0 && t % 10 == 0; t /= 10)
      --significant;
    const int exponent = digits - 1 - k;
    const int fixed = k == 0 ? digits : (digits > k ? digits + 1 : k + 2);
    const int scientific =
        significant + (significant > 1 ? 1 : 0) + 2 + (exponent <= -100 || exponent >= 100 ? 3 : 2);
    if (scientific < fixed) return nullptr;
    char* o = out;
    if (v < 0) *o++ = '-';
    char* end = o + fixed;
    char* w = end;
    for (int i = 0; i < k; ++i, m /= 10)
      *--w = static_cast<char>('0' + m % 10);
    if (k > 0) *--w = '.';
    do {
      *--w = static_cast<char>('0' + m % 10);
      m /= 10;
    } while (w > o);
    return end;
  }
  return nullptr;
}

}  // namespace

void JsonWriter::number(double v) {
  sep();
  if (!std::isfinite(v)) {  // JSON has no NaN/Infinity; the parser never produces them.
    out_.append("null");
    return;
  }
  // "-0" would read back as the integer 0 (integers have no negative zero), and be written "0"
  // from then on, e.g. after a restart reads the store: a fraction keeps it the double it is.
  if (v == 0 && std::signbit(v)) {
    out_.append("-0.0");
    return;
  }
  char buf[32];
  char* end = few_decimals(v, buf);
  if (end == nullptr) end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out_.append(buf, end);
}

namespace {

// 1 for the bytes JSON strings must escape: control characters, '"' and '\\'.
constexpr auto kNeedsEscape = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 0x20; ++c)
    t[c] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  return t;
}();

}  // namespace

void JsonWriter::escape_into(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char* run = s.data();  // start of the pending run of characters that need no escaping
  const char* end = s.data() + s.size();
  const char* p = run;
#if defined(__SSE2__)
  // Most strings need no escape at all: skip 16 bytes at a time while none of them is a control
  // character, '"' or '\\'.
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  const __m128i high3 = _mm_set1_epi8(static_cast<char>(0xE0)), zero = _mm_setzero_si128();
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                               _mm_cmpeq_epi8(_mm_and_si128(v, high3), zero));  // c < 0x20
    if (_mm_movemask_epi8(hit) != 0) break;
    p += 16;
  }
#if !TSUNAGU_ASAN
  // The last 1-15 bytes (all of a short string such as a member name) in one load as well, when
  // the 16 bytes from p lie within one page: reading past the string's end there cannot fault,
  // and the bytes beyond it are masked off. (ASan would report that read, so its builds take
  // the byte loop.)
  if (p != end && end - p < 16 && (reinterpret_cast<uintptr_t>(p) & 4095) <= 4096 - 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                               _mm_cmpeq_epi8(_mm_and_si128(v, high3), zero));
    const unsigned live = (1u << (end - p)) - 1;
    if ((static_cast<unsigned>(_mm_movemask_epi8(hit)) & live) == 0) p = end;
  }
#endif
#endif
  // p is where the first byte that may need an escape is. A short string with none (nearly
  // every one) goes to the buffer quotes and all in one append.
  if (p == end && append_quoted(out, false, s, '\0')) return;
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  for (; p != end; ++p) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (!kNeedsEscape[c]) continue;
    out.append(run, p);
    run = p + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(run, end);
  out.push_back('"');
}

}  // namespace tsunagu
