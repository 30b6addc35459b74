#include "common/json_writer.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/test_random.hpp"

namespace tsunagu {
namespace {

constexpr double kTenTo[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

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

// Strings with nothing to escape, on both sides of the length written in one piece, appended
// after what the buffer already holds.
TEST(JsonWriterTest, AppendsPlainStringsOfEveryLength) {
  for (size_t len = 0; len < 300; ++len) {
    std::string s;
    for (size_t i = 0; i < len; ++i)
      s.push_back(static_cast<char>('a' + i % 26));
    std::string got = "[1,";
    JsonWriter::escape_into(s, got);
    ASSERT_EQ(got, "[1,\"" + s + "\"") << len;
  }
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

// Numbers with few decimals take a quicker way than std::to_chars: the text must be to_chars'
// own, byte for byte, for values of every kind (few decimals, any bits, integers, powers of ten,
// the edges of the quick way's range). Negative zero alone keeps a fraction ("-0.0"), so that it
// reads back as a double (json_test.cpp).
TEST(JsonWriterTest, WritesDoublesAsToCharsDoes) {
  auto reference = [](double d) {
    if (d == 0 && std::signbit(d)) return std::string("-0.0");
    char buf[32];
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
  };
  auto written = [](double d) {
    std::string out;
    JsonWriter w(out);
    w.number(d);
    return out;
  };
  testing::Xorshift next(0x2545f4914f6cdd1dull);
  std::vector<double> values = {
      0.0,    -0.0,   1,      -1,     0.1,    0.5,  1e-5,   9.99e-6,
      1e-4,   0.001,  0.0015, 1e5,    123456, 1e14, 1e15,   999999999999999,
      0x1p50, 0x1p49, 1e21,   1e22,   1e-7,   100,  1200,   22.1,
      10.43,  -6.24,  676.5,  1.5e10, 0.3,    1e9,  1.25e-5};
  for (int i = 0; i < 400000; ++i) {
    const uint64_t r = next();
    double d;
    switch (i % 4) {
      case 0: {  // a few decimals: what sensors send
        const double scale = kTenTo[r % 10];
        d = std::round(static_cast<double>(static_cast<int64_t>(next() % 2000001) - 1000000) /
                       kTenTo[next() % 7] * scale) /
            scale;
        break;
      }
      case 1:  // any bits
        std::memcpy(&d, &r, sizeof d);
        if (!std::isfinite(d)) d = 1;
        break;
      case 2:  // an integer, possibly large
        d = static_cast<double>(static_cast<int64_t>(r >> (r % 64)) * (r % 3 == 0 ? -1 : 1));
        break;
      default:  // uniform in a range of magnitudes
        d = static_cast<double>(r >> 11) / 9007199254740992.0 * kTenTo[r % 10] /
            kTenTo[next() % 10];
        break;
    }
    values.push_back(d);
  }
  int failures = 0;
  for (double d : values) {
    std::string want = reference(d);
    std::string got = written(d);
    if (got != want && ++failures <= 10) ADD_FAILURE() << want << " written as " << got;
  }
  EXPECT_EQ(failures, 0);
}

// Names and strings that need no escape are written in one piece when short: the text must be
// what the escaping calls write, commas included, for every length on both sides of the piece.
TEST(JsonWriterTest, PlainNamesAndStringsReadAsEscapedOnes) {
  for (size_t n = 0; n < 300; ++n) {
    const std::string name(n, 'k'), value(300 - n, 'v');
    std::string plain, escaped_text;
    JsonWriter p(plain), e(escaped_text);
    for (JsonWriter* w : {&p, &e})
      w->begin_object();
    for (int i = 0; i < 3; ++i) {
      p.plain_key(name);
      p.plain_string(value);
      e.key(name);
      e.string(value);
    }
    p.plain_key(name);
    p.begin_array();
    p.plain_string(value);
    p.plain_string(name);
    p.end_array();
    e.key(name);
    e.begin_array();
    e.string(value);
    e.string(name);
    e.end_array();
    for (JsonWriter* w : {&p, &e})
      w->end_object();
    ASSERT_EQ(plain, escaped_text) << n;
  }
}

}  // namespace
}  // namespace tsunagu
