// Every rule here mirrors what parse_json() (common/json.cpp, RapidJSON under it) accepts and
// what json_text() writes, and json_reader_test.cpp holds the two against each other: a value
// the loader copies out of a document is the value a request's parse would have given.
#include "store/codec/json_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/json_writer.hpp"
#include "common/utf8.hpp"

namespace tsunagu::store {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The four hex digits at s[i], or -1.
long hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return -1;
  long v = 0;
  for (size_t k = i; k < i + 4; ++k) {
    const int h = hex_value(s[k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

void append_utf8(unsigned long cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Whether two of the member names of one object, spans of `out`, are the same. Canonical names
// are equal exactly when the names they escape are.
bool repeats(const std::string& out, std::vector<std::pair<size_t, size_t>>::iterator first,
             std::vector<std::pair<size_t, size_t>>::iterator last) {
  auto view = [&](const std::pair<size_t, size_t>& s) {
    return std::string_view(out).substr(s.first, s.second);
  };
  if (last - first <= 16) {
    for (auto a = first; a != last; ++a) {
      for (auto b = a + 1; b != last; ++b) {
        if (view(*a) == view(*b)) return true;
      }
    }
    return false;
  }
  std::sort(first, last, [&](const auto& a, const auto& b) { return view(a) < view(b); });
  return std::adjacent_find(
             first, last, [&](const auto& a, const auto& b) { return view(a) == view(b); }) != last;
}

// RapidJSON's grammar check refuses an exponent above 308 less the fraction's digits before
// parse_json() converts the number: with a non-zero mantissa that is a number too big for a
// double anyway, but "0e400" is refused too (docs/decisions.md), so it is here.
bool zero_past_exponent_limit(std::string_view t) {
  const size_t e = t.find_first_of("eE");
  if (e == std::string_view::npos || t.find_first_of("123456789") < e) return false;
  size_t i = e + 1;
  if (t[i] == '-') return false;
  if (t[i] == '+') ++i;
  const size_t dot = t.find('.');
  const long fraction = dot < e ? static_cast<long>(e - dot - 1) : 0;
  long exponent = 0;
  for (; i < t.size() && exponent <= 100000; ++i)
    exponent = exponent * 10 + (t[i] - '0');
  return exponent > 308 + fraction;
}

}  // namespace

bool JsonReader::fail(std::string_view what) {
  if (error_.empty()) error_ = "at byte " + std::to_string(p_) + ": " + std::string(what);
  return false;
}

bool JsonReader::expect(char c) {
  if (take(c)) return true;
  if (p_ >= text_.size()) return fail(std::string("the text ends where '") + c + "' belongs");
  return fail(std::string("'") + c + "' expected");
}

bool JsonReader::open(char c, int depth) {
  if (depth + 1 > max_depth_) {
    return fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
  }
  return expect(c);
}

bool JsonReader::scan_string(std::string_view& raw, bool& escaped) {
  if (peek() != '"') return fail("a string expected");
  const size_t start = ++p_;
  const char* const text = text_.data();
  const size_t size = text_.size();
  escaped = false;
  bool ascii = true;
  for (;;) {
#if defined(__SSE2__)
    // Names and values are mostly plain runs: 16 bytes at a time up to the first that ends the
    // string, escapes or is a control character, noting whether any is not ASCII.
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i high3 = _mm_set1_epi8(static_cast<char>(0xE0)), zero = _mm_setzero_si128();
    while (p_ + 16 <= size) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + p_));
      const __m128i hit =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                       _mm_cmpeq_epi8(_mm_and_si128(v, high3), zero));  // c < 0x20
      const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(hit));
      const unsigned before = m == 0 ? 0xFFFFu : (1u << __builtin_ctz(m)) - 1;
      if ((static_cast<unsigned>(_mm_movemask_epi8(v)) & before) != 0) ascii = false;
      if (m != 0) {
        p_ += static_cast<size_t>(__builtin_ctz(m));
        break;
      }
      p_ += 16;
    }
#endif
    if (p_ >= size) return fail("the text ends inside a string");
    const unsigned char c = static_cast<unsigned char>(text[p_]);
    if (c == '"') break;
    if (c == '\\') {
      if (p_ + 1 >= size) return fail("the text ends inside a string");
      escaped = true;
      p_ += 2;  // the escaped byte cannot end the string
      continue;
    }
    if (c < 0x20) return fail("a control character in a string");
    if (c >= 0x80) ascii = false;
    ++p_;
  }
  raw = text_.substr(start, p_ - start);
  ++p_;
  // Escapes are ASCII, so the raw bytes are valid exactly when the string's are.
  if (!ascii && !valid_utf8(raw)) return fail("a string is not valid UTF-8");
  return true;
}

bool JsonReader::unescape(std::string_view raw, std::string& out) {
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out.push_back(raw[i]);
      continue;
    }
    const char e = raw[++i];  // scan_string saw a byte after every backslash
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out.push_back(e);
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        long cp = hex4(raw, i + 1);
        if (cp < 0) return fail("a \\u escape without four hex digits");
        i += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("a \\u escape of a lone UTF-16 surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          // A high surrogate is only half a character: the low half must follow.
          const long low =
              i + 2 < raw.size() && raw[i + 1] == '\\' && raw[i + 2] == 'u' ? hex4(raw, i + 3) : -1;
          if (low < 0xDC00 || low > 0xDFFF) {
            return fail("a \\u escape of a lone UTF-16 surrogate");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        }
        append_utf8(static_cast<unsigned long>(cp), out);
        break;
      }
      default:
        return fail("an invalid escape in a string");
    }
  }
  return true;
}

bool JsonReader::string(std::string_view& out) {
  std::string_view raw;
  bool escaped;
  if (!scan_string(raw, escaped)) return false;
  if (!escaped) {
    out = raw;
    return true;
  }
  unescaped_.clear();
  if (!unescape(raw, unescaped_)) return false;
  out = unescaped_;
  return true;
}

bool JsonReader::canonical_string(std::string& out) {
  std::string_view raw;
  bool escaped;
  if (!scan_string(raw, escaped)) return false;
  if (!escaped) {
    // Nothing in it needs an escape: a control character, quote or backslash would have had one.
    out.push_back('"');
    out.append(raw);
    out.push_back('"');
    return true;
  }
  unescaped_.clear();
  if (!unescape(raw, unescaped_)) return false;
  JsonWriter::escape_into(unescaped_, out);
  return true;
}

bool JsonReader::scan_number(std::string_view& text, bool& integral) {
  skip_whitespace();
  const size_t start = p_;
  auto at = [&](size_t i) { return i < text_.size() ? text_[i] : '\0'; };
  if (at(p_) == '-') ++p_;
  if (at(p_) == '0') {
    ++p_;
  } else if (is_digit(at(p_))) {
    while (is_digit(at(p_)))
      ++p_;
  } else {
    return fail("a value expected");
  }
  integral = true;
  if (at(p_) == '.') {
    integral = false;
    ++p_;
    if (!is_digit(at(p_))) return fail("a number without digits after its '.'");
    while (is_digit(at(p_)))
      ++p_;
  }
  if (at(p_) == 'e' || at(p_) == 'E') {
    integral = false;
    ++p_;
    if (at(p_) == '+' || at(p_) == '-') ++p_;
    if (!is_digit(at(p_))) return fail("a number without digits in its exponent");
    while (is_digit(at(p_)))
      ++p_;
  }
  text = text_.substr(start, p_ - start);
  return true;
}

// As parse_json() converts (common/json.cpp, NumberHandler) and the model then keeps it
// (Value::from_dom): std::from_chars, with strtod telling an overflow from an underflow.
bool JsonReader::convert(std::string_view text, bool integral, JsonNumber& out) {
  const char* s = text.data();
  const char* end = s + text.size();
  if (integral) {
    if (*s == '-') {
      int64_t i;
      if (auto r = std::from_chars(s, end, i); r.ec == std::errc() && r.ptr == end) {
        out = {true, i, 0};
        return true;
      }
    } else {
      uint64_t u;
      if (auto r = std::from_chars(s, end, u); r.ec == std::errc() && r.ptr == end) {
        if (u <= static_cast<uint64_t>(INT64_MAX)) {
          out = {true, static_cast<int64_t>(u), 0};
        } else {
          out = {false, 0, static_cast<double>(u)};
        }
        return true;
      }
    }
  }
  if (zero_past_exponent_limit(text))
    return fail("number " + std::string(text.substr(0, 40)) + " has an exponent past 308");
  double d;
  if (auto r = std::from_chars(s, end, d); r.ec == std::errc() && r.ptr == end) {
    out = {false, 0, d};
    return true;
  }
  const std::string copy(text);
  d = std::strtod(copy.c_str(), nullptr);
  if (std::isinf(d)) return fail("number " + copy.substr(0, 40) + " is too big for a double");
  out = {false, 0, d};
  return true;
}

bool JsonReader::number(JsonNumber& out) {
  std::string_view text;
  bool integral;
  return scan_number(text, integral) && convert(text, integral, out);
}

bool JsonReader::literal(std::string_view& out) {
  skip_whitespace();
  for (std::string_view word : {"true", "false", "null"}) {
    if (text_.substr(p_, word.size()) == word) {
      p_ += word.size();
      out = word;
      return true;
    }
  }
  return fail("a value expected");
}

bool JsonReader::canonical(std::string& out, int depth) {
  switch (peek()) {
    case '{': {
      if (!open('{', depth)) return false;
      out.push_back('{');
      const size_t first_name = names_.size();
      if (!take('}')) {
        for (;;) {
          const size_t name_at = out.size();
          if (!canonical_string(out)) return false;
          names_.emplace_back(name_at, out.size() - name_at);
          if (!expect(':')) return false;
          out.push_back(':');
          if (!canonical(out, depth + 1)) return false;
          if (!take(',')) break;
          out.push_back(',');
        }
        if (!expect('}')) return false;
      }
      const bool twice = repeats(out, names_.begin() + first_name, names_.end());
      names_.resize(first_name);
      if (twice) return fail("a member name is given twice in one object");
      out.push_back('}');
      return true;
    }
    case '[': {
      if (!open('[', depth)) return false;
      out.push_back('[');
      if (!take(']')) {
        for (;;) {
          if (!canonical(out, depth + 1)) return false;
          if (!take(',')) break;
          out.push_back(',');
        }
        if (!expect(']')) return false;
      }
      out.push_back(']');
      return true;
    }
    case '"':
      return canonical_string(out);
    case 't':
    case 'f':
    case 'n': {
      std::string_view word;
      if (!literal(word)) return false;
      out.append(word);
      return true;
    }
    default: {
      std::string_view text;
      bool integral;
      if (!scan_number(text, integral)) return false;
      // An integer that fits int64 is written as it reads, but for "-0" (which is 0).
      if (integral && text.size() < 19 && text != "-0") {
        out.append(text);
        return true;
      }
      JsonNumber n;
      if (!convert(text, integral, n)) return false;
      JsonWriter w(out);
      if (n.is_int) {
        w.number(n.i);
      } else {
        w.number(n.d);
      }
      return true;
    }
  }
}

}  // namespace tsunagu::store
