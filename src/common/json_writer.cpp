#include "common/json_writer.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <charconv>
#include <cmath>

namespace tsunagu {

void JsonWriter::number(int64_t v) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, r.ptr);
}

void JsonWriter::number(double v) {
  sep();
  if (!std::isfinite(v)) {  // JSON has no NaN/Infinity; the parser never produces them.
    out_.append("null");
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back exactly
  out_.append(buf, r.ptr);
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
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
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
#if !defined(__SANITIZE_ADDRESS__)
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
