// A small, fast JSON text writer appending to a std::string. It tracks commas itself so callers
// write members in order without bookkeeping. Used by every renderer and by ProblemDetails.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tsunagu {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object() {
    sep();
    out_.push_back('{');
    first_ = true;
  }
  void end_object() {
    out_.push_back('}');
    first_ = false;
  }
  void begin_array() {
    sep();
    out_.push_back('[');
    first_ = true;
  }
  void end_array() {
    out_.push_back(']');
    first_ = false;
  }

  // An object member name; the value written next belongs to it.
  void key(std::string_view k) {
    sep();
    append_string(k);
    out_.push_back(':');
    first_ = true;
  }

  // A member name already written as a JSON string, quotes and escapes included.
  void quoted_key(std::string_view quoted) {
    sep();
    out_.append(quoted);
    out_.push_back(':');
    first_ = true;
  }

  // A member name or string the code itself spells ("type", "Property"), which needs no escape:
  // written without looking for one.
  // Both go to the buffer in one append where they fit a short piece (a stored document writes
  // some forty names, and four appends each were 4 % of a batch upsert's instructions).
  void plain_key(std::string_view k) {
    assert(needs_no_escape(k));  // debug builds; the renderer's names are checked by its tests
    quoted_piece(k, ':');
    first_ = true;
  }
  void plain_string(std::string_view s) {
    assert(needs_no_escape(s));
    quoted_piece(s, '\0');
  }

  void string(std::string_view s) {
    sep();
    append_string(s);
  }
  void number(int64_t v);
  void number(double v);
  void boolean(bool v) {
    sep();
    out_.append(v ? "true" : "false");
  }
  void null() {
    sep();
    out_.append("null");
  }
  // Inserts already-serialized JSON text (a compound value kept as text).
  void raw(std::string_view json) {
    sep();
    out_.append(json);
  }

  std::string& buffer() { return out_; }
  // Emits the separator a value needs and returns the buffer for appending one JSON value.
  std::string& buffer_for_raw() {
    sep();
    return out_;
  }

  // Appends s as a quoted JSON string with the escapes RFC 8259 requires.
  static void escape_into(std::string_view s, std::string& out);
  static bool needs_no_escape(std::string_view s) {
    for (unsigned char c : s) {
      if (c < 0x20 || c == '"' || c == '\\') return false;
    }
    return true;
  }

 private:
  void sep() {
    if (!first_) out_.push_back(',');
    first_ = false;
  }
  void append_string(std::string_view s) { escape_into(s, out_); }
  // The separator, then s in quotes, then `after` unless it is NUL.
  void quoted_piece(std::string_view s, char after) {
    if (!append_quoted(out_, !first_, s, after)) {
      sep();
      out_.push_back('"');
      out_.append(s);
      out_.push_back('"');
      if (after != '\0') out_.push_back(after);
    }
    first_ = false;
  }

  // Appends [','] '"' s '"' [after] (`after` unless NUL) in one piece and returns true when it
  // fits a short stack buffer, else appends nothing and returns false. `s` needs no escape.
  static bool append_quoted(std::string& out, bool comma, std::string_view s, char after) {
    char piece[128];
    if (s.size() + 4 > sizeof piece) return false;
    char* o = piece;
    if (comma) *o++ = ',';
    *o++ = '"';
    if (!s.empty()) std::memcpy(o, s.data(), s.size());  // an empty view's data may be null
    o += s.size();
    *o++ = '"';
    if (after != '\0') *o++ = after;
    out.append(piece, static_cast<size_t>(o - piece));
    return true;
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace tsunagu
