#include "common/json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/json_writer.hpp"

namespace tsunagu {
namespace {

#ifdef __SSE2__
// Set bits of a 16-bit mask. Plain x86-64 has no POPCNT instruction, and the compiler's fallback
// is a library call.
inline int bits(unsigned m) {
  m = m - ((m >> 1) & 0x5555u);
  m = (m & 0x3333u) + ((m >> 2) & 0x3333u);
  m = (m + (m >> 4)) & 0x0F0Fu;
  return static_cast<int>((m + (m >> 8)) & 0x1Fu);
}
#endif

// Nesting depth of the text, skipping string contents. Run before the DOM parser so that a
// megabyte of '[' is refused in linear time with no deep structure ever built. Also finds the
// first raw NUL byte (RapidJSON would take it for the end of the text) and tells whether every
// byte is ASCII.
class DepthScan {
 public:
  DepthScan(std::string_view s, int limit) : s_(s), limit_(limit) {}

  bool run(size_t& where) {
#ifdef __SSE2__
    // 16 bytes at a time while a block holds no backslash, NUL or non-ASCII byte: string
    // contents are found from the parity of the quotes before each byte. A block that could
    // pass the limit, or needs the rarer cases, goes byte by byte.
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    // '[' and '{', like ']' and '}', differ only in bit 5: one compare finds both.
    const __m128i bit5 = _mm_set1_epi8(0x20);
    const __m128i open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');
    while (i_ + 16 <= s_.size()) {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_.data() + i_));
      auto mask = [](__m128i m) { return static_cast<unsigned>(_mm_movemask_epi8(m)); };
      const unsigned rare = mask(_mm_or_si128(
          b, _mm_or_si128(_mm_cmpeq_epi8(b, _mm_setzero_si128()), _mm_cmpeq_epi8(b, backslash))));
      const __m128i folded = _mm_or_si128(b, bit5);
      const unsigned opens_any = mask(_mm_cmpeq_epi8(folded, open));
      const unsigned closes_any = mask(_mm_cmpeq_epi8(folded, close));
      unsigned inside = mask(_mm_cmpeq_epi8(b, quote));
      if ((rare | opens_any | closes_any) == 0) {  // most blocks: only the quotes' parity counts
        in_string_ ^= __builtin_parity(inside) != 0;
        i_ += 16;
        continue;
      }
      // bit k: an odd number of quotes at or before byte k (so bit 15: the block's parity)
      inside ^= inside << 1;
      inside ^= inside << 2;
      inside ^= inside << 4;
      inside ^= inside << 8;
      const bool flips = (inside & 0x8000u) != 0;
      if (in_string_) inside = ~inside;
      const unsigned outside = ~inside & 0xFFFFu;
      const int opens = bits(opens_any & outside);
      if (rare != 0 || depth_ + opens > limit_) {
        const size_t end = i_ + 16;
        while (i_ < end) {
          if (!step()) return fail(where);
        }
        continue;
      }
      depth_ += opens - bits(closes_any & outside);
      in_string_ ^= flips;
      i_ += 16;
    }
#endif
    while (i_ < s_.size()) {
      if (!step()) return fail(where);
    }
    return true;
  }

  bool ascii() const {
    return (seen_ & 0x80) == 0;
  }
  // Whether a backslash occurs (so, whether any string may hold a \u escape).
  bool escapes() const {
    return escapes_;
  }
  // Offset of the first NUL byte, or npos.
  size_t nul() const {
    return nul_;
  }

 private:
  // One byte (two for an escape); false when it opens a level past the limit.
  bool step() {
    char c = s_[i_];
    note(c);
    if (in_string_) {
      if (c == '\\') {
        escapes_ = true;
        if (++i_ < s_.size()) note(s_[i_]);
      } else if (c == '"') {
        in_string_ = false;
      }
    } else if (c == '"') {
      in_string_ = true;
    } else if (c == '[' || c == '{') {
      if (++depth_ > limit_) return false;
    } else if (c == ']' || c == '}') {
      --depth_;
    }
    ++i_;
    return true;
  }
  void note(char c) {
    seen_ |= static_cast<unsigned char>(c);
    if (c == 0 && nul_ == std::string_view::npos) nul_ = i_;
  }
  bool fail(size_t& where) const {
    where = i_;
    return false;
  }

  std::string_view s_;
  int limit_;
  size_t i_ = 0;
  int depth_ = 0;
  bool in_string_ = false;
  unsigned char seen_ = 0;
  bool escapes_ = false;
  size_t nul_ = std::string_view::npos;
};

// Whether `s` holds a UTF-16 surrogate encoded as UTF-8 (ED A0..BF ..), which is not Unicode
// text. RapidJSON refuses one in raw bytes and a lone \ud800-\udbff escape, but encodes a lone
// \udc00-\udfff escape as one: a string written from it is no longer valid JSON text, so the
// store's document of an entity holding it could not be read back.
bool has_surrogate(const char* s, size_t n) {
  const char* end = s + n;
  for (const char* p = s; (p = static_cast<const char*>(std::memchr(p, '\xed', end - p)));) {
    if (++p < end && static_cast<unsigned char>(*p) >= 0xa0) return true;
  }
  return false;
}

void write_value(const JsonValue& v, JsonWriter& w) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      w.null();
      break;
    case rapidjson::kFalseType:
      w.boolean(false);
      break;
    case rapidjson::kTrueType:
      w.boolean(true);
      break;
    case rapidjson::kStringType:
      w.string({v.GetString(), v.GetStringLength()});
      break;
    case rapidjson::kNumberType:
      if (v.IsInt64())
        w.number(static_cast<int64_t>(v.GetInt64()));
      else if (v.IsUint64())
        w.number(static_cast<double>(v.GetUint64()));
      else
        w.number(v.GetDouble());
      break;
    case rapidjson::kArrayType:
      w.begin_array();
      for (const auto& e : v.GetArray())
        write_value(e, w);
      w.end_array();
      break;
    case rapidjson::kObjectType:
      w.begin_object();
      for (const auto& m : v.GetObject()) {
        w.key({m.name.GetString(), m.name.GetStringLength()});
        write_value(m.value, w);
      }
      w.end_object();
      break;
  }
}

// Builds the document as RapidJSON's own handler does, but converts each number from its text
// itself. RapidJSON 1.1.0's full-precision conversion reads out of bounds on long fractions (a
// crash) and returns other numbers for some inputs (0e+100, long zeros); its default one is off
// by a few units in the last place. std::from_chars rounds correctly, and strtod decides what
// from_chars cannot represent: overflow is an error, underflow a zero or subnormal.
class NumberHandler {
 public:
  // `escapes`: the text has backslashes, so strings may hold escaped surrogates to refuse.
  NumberHandler(JsonDoc& d, bool escapes) : d_(d), escapes_(escapes) {}

  bool Null() { return d_.Null(); }
  bool Bool(bool b) { return d_.Bool(b); }
  bool Int(int i) { return d_.Int(i); }
  bool Uint(unsigned u) { return d_.Uint(u); }
  bool Int64(int64_t i) { return d_.Int64(i); }
  bool Uint64(uint64_t u) { return d_.Uint64(u); }
  bool Double(double v) { return d_.Double(v); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return unicode(s, n) && d_.String(s, n, copy);
  }
  bool StartObject() { return d_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return unicode(s, n) && d_.Key(s, n, copy);
  }
  bool EndObject(rapidjson::SizeType n) { return d_.EndObject(n); }
  bool StartArray() { return d_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return d_.EndArray(n); }

  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    const char* end = s + n;
    bool integral = std::memchr(s, '.', n) == nullptr && std::memchr(s, 'e', n) == nullptr &&
                    std::memchr(s, 'E', n) == nullptr;
    if (integral) {
      // As RapidJSON types them: a negative integer is signed, any other unsigned.
      if (*s == '-') {
        int64_t i;
        if (auto r = std::from_chars(s, end, i); r.ec == std::errc() && r.ptr == end)
          return d_.Int64(i);
      } else {
        uint64_t u;
        if (auto r = std::from_chars(s, end, u); r.ec == std::errc() && r.ptr == end)
          return d_.Uint64(u);
      }
    }
    double v;
    auto r = std::from_chars(s, end, v);
    if (r.ec == std::errc() && r.ptr == end) return d_.Double(v);
    // Out of range: strtod tells overflow (HUGE_VAL) from underflow (zero or subnormal).
    std::string text(s, n);
    errno = 0;
    v = std::strtod(text.c_str(), nullptr);
    if (std::isinf(v)) {
      too_big_ = std::move(text);
      return false;
    }
    return d_.Double(v);
  }

  // The number that stopped the parse, when one did.
  const std::string& too_big() const { return too_big_; }
  // Whether a string with a lone surrogate escape stopped the parse.
  bool surrogate() const { return surrogate_; }

 private:
  bool unicode(const char* s, rapidjson::SizeType n) {
    if (escapes_ && has_surrogate(s, n)) surrogate_ = true;
    return !surrogate_;
  }

  JsonDoc& d_;
  bool escapes_;
  std::string too_big_;
  bool surrogate_ = false;
};

// The first member name given twice in one object of `v`, if any. RFC 8259 §4 leaves duplicate
// names to the implementation; read by RapidJSON the later one would be found by some lookups
// and the earlier one by others, so a request that repeats a name is refused.
const JsonValue* duplicate_name(const JsonValue& v) {
  if (v.IsArray()) {
    for (const auto& e : v.GetArray()) {
      if (const JsonValue* d = duplicate_name(e)) return d;
    }
    return nullptr;
  }
  if (!v.IsObject()) return nullptr;
  const auto n = v.MemberCount();
  auto name = [](const JsonValue& s) {
    return std::string_view(s.GetString(), s.GetStringLength());
  };
  if (n <= 16) {
    for (auto a = v.MemberBegin(); a != v.MemberEnd(); ++a) {
      for (auto b = a + 1; b != v.MemberEnd(); ++b) {
        if (name(a->name) == name(b->name)) return &b->name;
      }
    }
  } else {
    // Large objects (an entity with thousands of attributes) sorted, not compared pairwise.
    std::vector<const JsonValue*> names;
    names.reserve(n);
    for (const auto& m : v.GetObject())
      names.push_back(&m.name);
    std::sort(names.begin(), names.end(),
              [&](const JsonValue* a, const JsonValue* b) { return name(*a) < name(*b); });
    for (size_t i = 1; i < names.size(); ++i) {
      if (name(*names[i]) == name(*names[i - 1])) return names[i];
    }
  }
  for (const auto& m : v.GetObject()) {
    if (const JsonValue* d = duplicate_name(m.value)) return d;
  }
  return nullptr;
}

// Runs RapidJSON's recursive reader over `is` into `doc` through NumberHandler.
template <unsigned kFlags, class Stream>
Status read_into(Stream& is, JsonDoc& doc, bool escapes) {
  constexpr unsigned kAll = kFlags | rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::ParseResult result;
  std::string too_big;
  bool surrogate = false;
  auto generate = [&](JsonDoc& d) {
    NumberHandler h(d, escapes);
    // Each thread keeps its reader, and so the reader's stack: no allocation per parse.
    thread_local rapidjson::Reader reader;
    result = reader.Parse<kAll>(is, h);
    too_big = h.too_big();
    surrogate = h.surrogate();
    return !result.IsError();
  };
  doc.Populate(generate);
  if (!result.IsError()) {
    if (const JsonValue* d = duplicate_name(doc)) {
      std::string name(d->GetString(), std::min<size_t>(d->GetStringLength(), 100));
      doc.SetNull();
      return Status::InvalidRequest("malformed JSON: the member \"" + name +
                                    "\" is given twice in one object");
    }
    return Status::Ok();
  }
  // The document is left empty (null), as after a failed Parse.
  doc.SetNull();
  if (surrogate) {
    return Status::InvalidRequest("malformed JSON before offset " +
                                  std::to_string(result.Offset()) +
                                  ": a string holds a \\u escape of a lone UTF-16 surrogate");
  }
  if (!too_big.empty()) {
    return Status::InvalidRequest("malformed JSON at offset " + std::to_string(result.Offset()) +
                                  ": number " + too_big.substr(0, 40) +
                                  " is too big to be stored in a double");
  }
  return Status::InvalidRequest(std::string("malformed JSON at offset ") +
                                std::to_string(result.Offset()) + ": " +
                                rapidjson::GetParseError_En(result.Code()));
}

// `terminated` is text.data() when a NUL is known to follow the text, else null; `in_place`
// is that text, writable, to be parsed in situ.
Status parse_text(std::string_view text, const char* terminated, JsonDoc& doc,
                  char* in_place = nullptr) {
  size_t where = 0;
  DepthScan scan(text, kMaxJsonDepth);
  if (!scan.run(where)) {
    return Status::InvalidRequest("malformed JSON: nesting deeper than " +
                                  std::to_string(kMaxJsonDepth) + " levels at offset " +
                                  std::to_string(where));
  }
  // JSON has no place for a raw NUL (in a string it must be written \u0000).
  if (scan.nul() != std::string_view::npos) {
    return Status::InvalidRequest("malformed JSON at offset " + std::to_string(scan.nul()) +
                                  ": a NUL byte");
  }
  // RapidJSON's recursive parser (about a tenth quicker than its iterative one on an entity):
  // the depth check above has bounded its recursion to kMaxJsonDepth levels.
  const bool esc = scan.escapes();
  constexpr unsigned kValidate = rapidjson::kParseValidateEncodingFlag;
  constexpr unsigned kInsitu = rapidjson::kParseInsituFlag;
  if (in_place != nullptr) {
    rapidjson::InsituStringStream is(in_place);
    return scan.ascii() ? read_into<kInsitu>(is, doc, esc)
                        : read_into<kInsitu | kValidate>(is, doc, esc);
  }
  if (scan.ascii()) {
    // ASCII text needs no UTF-8 check (a third of the parse of a typical entity), and read as a
    // NUL-terminated string RapidJSON copies string runs 16 bytes at a time: together the parse
    // takes half the time.
    if (terminated != nullptr) {
      rapidjson::StringStream is(terminated);
      return read_into<0>(is, doc, esc);
    }
    thread_local std::string copy;
    copy.assign(text);
    rapidjson::StringStream is(copy.c_str());
    Status st = read_into<0>(is, doc, esc);
    if (copy.capacity() > (1u << 20)) std::string().swap(copy);
    return st;
  }
  // Read as it is, like the other doors: through an EncodedInputStream RapidJSON would drop a
  // byte order mark, and also the first byte or two of one (so "\xef[0]" read as [0]).
  rapidjson::MemoryStream is(text.data(), text.size());
  return read_into<kValidate>(is, doc, esc);
}

}  // namespace

Status parse_json(std::string_view text, JsonDoc& doc) {
  return parse_text(text, nullptr, doc);
}

Status parse_json(const std::string& text, JsonDoc& doc) {
  return parse_text(text, text.c_str(), doc);
}

Status parse_json(const char* text, JsonDoc& doc) {
  return parse_text(text, text, doc);
}

Status parse_json_in_place(std::string&& text, std::shared_ptr<JsonDoc>& doc) {
  struct Owned {
    std::string text;
    JsonDoc doc;
  };
  auto owned = std::make_shared<Owned>();
  owned->text = std::move(text);
  const size_t size = owned->text.size();
  // RapidJSON's UTF-8 check takes the continuation bytes a lead byte announces without looking
  // for the text's end, up to three past the last lead byte, and in place writes each back:
  // NULs after the text keep those reads and writes inside the string (and fail the check).
  owned->text.append(3, '\0');
  Status st = parse_text(std::string_view(owned->text.data(), size), owned->text.c_str(),
                         owned->doc, owned->text.data());
  doc = std::shared_ptr<JsonDoc>(owned, &owned->doc);
  return st;
}

void append_json_text(const JsonValue& v, std::string& out) {
  JsonWriter w(out);
  write_value(v, w);
}

std::string json_text(const JsonValue& v) {
  std::string s;
  append_json_text(v, s);
  return s;
}

const char* json_type_name(const JsonValue& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return "number";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kObjectType:
      return "object";
  }
  return "value";
}

}  // namespace tsunagu
