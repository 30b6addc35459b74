#include "common/json_writer.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace tsunagu {
namespace {

// The escape of one byte, as RFC 8259 requires it (or the byte itself).
std::string escaped(unsigned char c) {
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    default:
      break;
  }
  if (c >= 0x20) return std::string(1, static_cast<char>(c));
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("\\u00") + kHex[c >> 4] + kHex[c & 15];
}

// Every byte value at every position of strings long enough to cross the 16-byte blocks the
// writer skips at once, so a byte is never missed at a block edge.
TEST(JsonWriterTest, EscapesEveryByteAtEveryPosition) {
  for (size_t len : {1u, 15u, 16u, 17u, 31u, 32u, 33u, 47u}) {
    for (size_t at = 0; at < len; ++at) {
      for (int c = 0; c < 256; ++c) {
        std::string s(len, 'a');
        s[at] = static_cast<char>(c);
        std::string want = "\"" + std::string(at, 'a') + escaped(static_cast<unsigned char>(c)) +
                           std::string(len - at - 1, 'a') + "\"";
        std::string got;
        JsonWriter::escape_into(s, got);
        ASSERT_EQ(got, want) << "length " << len << ", byte " << c << " at " << at;
      }
    }
  }
}

// The last bytes of a string are read 16 at a time when that stays within a page, past the
// string's end: bytes that would need escaping right after the end must not count, and strings
// ending at every offset of a page, up to its last byte, must come out whole.
TEST(JsonWriterTest, BytesAfterTheEndNeverCount) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  char* mem = static_cast<char*>(std::aligned_alloc(page, 2 * page));
  ASSERT_NE(mem, nullptr);
  for (size_t i = 0; i < 2 * page; ++i)
    mem[i] = "\"\\\n\x01"[i % 4];  // everything a string may not hold raw
  for (size_t len = 0; len <= 20; ++len) {
    for (size_t end = page - 40; end <= page; ++end) {  // the string ends `page - end` bytes before
                                                        // the page does
      char* str = mem + end - len;
      for (size_t at = 0; at <= len; ++at) {  // at == len: no byte to escape
        std::fill(str, str + len, 'k');
        if (at < len) str[at] = '\t';
        std::string want = "\"";
        for (size_t i = 0; i < len; ++i)
          want += escaped(static_cast<unsigned char>(str[i]));
        want += "\"";
        std::string got;
        JsonWriter::escape_into(std::string_view(str, len), got);
        ASSERT_EQ(got, want) << "length " << len << " ending " << page - end
                             << " bytes before a page end, tab at " << at;
      }
    }
  }
  std::free(mem);
}

TEST(JsonWriterTest, EscapesSeveralBytesAndKeepsUtf8) {
  std::string got;
  JsonWriter::escape_into("\xe4\xb8\x8a\xe5\xb7\x9d \"quoted\" \\ line\nnext \x7f\x80\xff end",
                          got);
  EXPECT_EQ(got, "\"\xe4\xb8\x8a\xe5\xb7\x9d \\\"quoted\\\" \\\\ line\\nnext \x7f\x80\xff end\"");
  got.clear();
  JsonWriter::escape_into("", got);
  EXPECT_EQ(got, "\"\"");
}

}  // namespace
}  // namespace tsunagu
