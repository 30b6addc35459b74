// The entity decoder's reader of JSON text: front to back, one token at a time, with no DOM.
// Compound values come out as the text the model keeps for them, the canonical minified form
// json_text() writes for what parse_json() reads, so a value reads back from a document as it
// read from the request that stored it. It accepts what parse_json() accepts (RFC 8259, valid
// UTF-8, no lone surrogates, no member name twice in one object, numbers that fit a double),
// nesting to a depth its caller sets. Used on one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tsunagu::store {

// A JSON number as parse_json() types it: an integer that fits int64 stays one, any other
// number becomes a double.
struct JsonNumber {
  bool is_int = false;
  int64_t i = 0;
  double d = 0;
};

class JsonReader {
 public:
  // `max_depth`: the most arrays and objects open at once, counting the caller's own.
  JsonReader(std::string_view text, int max_depth) : text_(text), p_(0), max_depth_(max_depth) {}

  // The next byte after whitespace, not consumed; '\0' at the end of the text.
  char peek() {
    skip_whitespace();
    return p_ < text_.size() ? text_[p_] : '\0';
  }
  // Consumes `c` when it is the next byte after whitespace.
  bool take(char c) {
    if (peek() != c) return false;
    ++p_;
    return true;
  }
  // Consumes `c`, or fails saying what was expected.
  bool expect(char c);
  // Whether nothing but whitespace is left.
  bool at_end() {
    skip_whitespace();
    return p_ >= text_.size();
  }

  // Opens an object or array whose container is at `depth`; fails past the depth limit.
  bool open(char c, int depth);

  // A string, unescaped: a view of the text when it holds no escape, else of a buffer kept until
  // the next call.
  bool string(std::string_view& out);
  bool number(JsonNumber& out);
  // true, false or null; `out` is the literal read.
  bool literal(std::string_view& out);

  // Any value, appended to `out` in canonical form. `depth`: that of the value's container.
  bool canonical(std::string& out, int depth);

  // Records the first fault (with the byte it was found at) and returns false.
  bool fail(std::string_view what);
  bool failed() const { return !error_.empty(); }
  // "at byte N: what", once failed.
  const std::string& error() const { return error_; }
  size_t offset() const { return p_; }
  // Goes back (or on) to byte `offset`, read before.
  void seek(size_t offset) { p_ = offset; }

 private:
  void skip_whitespace() {
    while (p_ < text_.size() &&
           (text_[p_] == ' ' || text_[p_] == '\n' || text_[p_] == '\r' || text_[p_] == '\t')) {
      ++p_;
    }
  }
  // The bytes between a string's quotes, and whether a backslash is among them.
  bool scan_string(std::string_view& raw, bool& escaped);
  bool unescape(std::string_view raw, std::string& out);
  bool canonical_string(std::string& out);
  // A number's text, checked against RFC 8259's grammar; `integral`: no fraction or exponent.
  bool scan_number(std::string_view& text, bool& integral);
  bool convert(std::string_view text, bool integral, JsonNumber& out);

  std::string_view text_;
  size_t p_;
  int max_depth_;
  std::string error_;
  std::string unescaped_;
  // canonical(): the member names of the objects being copied, as spans of the output.
  std::vector<std::pair<size_t, size_t>> names_;
};

}  // namespace tsunagu::store
