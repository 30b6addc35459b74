#include "store/codec/json_reader.hpp"

#include <gtest/gtest.h>

#include <array>
#include <iterator>
#include <optional>
#include <string>

#include "common/json.hpp"
#include "common/test_random.hpp"

namespace tsunagu::store {
namespace {

// The canonical text of `text` read whole by JsonReader (depth limit as parse_json's), or
// nullopt when it refuses the text.
std::optional<std::string> read(std::string_view text, std::string* error = nullptr) {
  JsonReader r(text, kMaxJsonDepth);
  std::string out;
  if (!r.canonical(out, 0) || !r.at_end()) {
    r.fail("text after the value");  // kept only when nothing failed before
    if (error != nullptr) *error = r.error();
    return std::nullopt;
  }
  return out;
}

// What parse_json and json_text make of `text`: the reference.
std::optional<std::string> reference(std::string_view text) {
  JsonDoc d;
  if (!parse_json(text, d).ok()) return std::nullopt;
  return json_text(d);
}

TEST(JsonReaderTest, CopiesValuesInCanonicalForm) {
  EXPECT_EQ(read(R"( { "a" : [ 1 , 2.50 , -0 , -0.0 , 1E2 , true , null ] , "b" : {} } )"),
            R"({"a":[1,2.5,0,-0.0,100,true,null],"b":{}})");
  EXPECT_EQ(read(R"(["\u00e9\/\u0041", "\ud83d\ude00", "\u001F\u000a"])"),
            "[\"\xc3\xa9/A\",\"\xf0\x9f\x98\x80\",\"\\u001f\\n\"]");
  EXPECT_EQ(read("18446744073709551615"), "18446744073709551616");  // past int64: a double
  EXPECT_EQ(read("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(read("1e-400"), "0");
}

TEST(JsonReaderTest, RefusesWhatParseJsonRefuses) {
  for (const char* bad : {"",
                          "{",
                          "[1,]",
                          "{\"a\":1,}",
                          "{\"a\" 1}",
                          "01",
                          "1.",
                          ".5",
                          "-",
                          "1e",
                          "+1",
                          "tru",
                          "nul",
                          "[1 2]",
                          "\"\\x\"",
                          "\"\\u12\"",
                          "\"\\ud800\"",
                          "\"\\udc00\"",
                          "\"\\ud800\\u0041\"",
                          "\"a\x01\"",
                          "\"\xff\"",
                          "\"\xed\xa0\x80\"",
                          "\"\xc0\x80\"",
                          "1e309",
                          "0e400",
                          "{\"a\":1,\"a\":2}",
                          "{\"a\":1,\"\\u0061\":2}",
                          "[1] x",
                          "\"abc",
                          "\"abc\\"}) {
    std::string error;
    EXPECT_FALSE(read(bad, &error).has_value()) << bad;
    EXPECT_FALSE(reference(bad).has_value()) << bad;
    EXPECT_NE(error.find("at byte "), std::string::npos) << bad << ": " << error;
  }
  std::string deep(kMaxJsonDepth, '[');
  deep += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(read(deep).has_value());
  EXPECT_FALSE(read("[" + deep + "]").has_value());
}

// Random texts, many of them broken: the reader accepts exactly what parse_json accepts, and
// copies out exactly what json_text writes of it.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rnd_(seed) {}

  std::string text() {
    std::string t;
    value(t, 0);
    if (rnd_.below(10) == 0 && !t.empty()) t.resize(rnd_.below(t.size()));  // truncated
    if (rnd_.below(20) == 0 && !t.empty()) t[rnd_.below(t.size())] = piece("{}[],:\"\\ 0x");
    return t;
  }

 private:
  char piece(std::string_view from) { return from[rnd_.below(from.size())]; }

  void space(std::string& t) {
    if (rnd_.below(4) == 0) t += std::string_view(" \n\r\t").substr(rnd_.below(4), 1);
  }

  void value(std::string& t, int depth) {
    space(t);
    const uint64_t k = depth > 70 ? 3 + rnd_.below(4) : rnd_.below(depth < 3 ? 3 : 8);
    switch (k) {
      case 0:
      case 1: {
        const bool object = k == 0;
        t += object ? '{' : '[';
        const uint64_t n = rnd_.below(depth > 40 ? 2 : 5);
        for (uint64_t i = 0; i < n; ++i) {
          if (i > 0) t += ',';
          if (object) {
            string(t, true);
            space(t);
            t += ':';
          }
          value(t, depth + 1);
        }
        space(t);
        t += object ? '}' : ']';
        break;
      }
      case 2: {  // nested arrays in one piece, so that some texts pass the depth limit
        const size_t n = 1 + rnd_.below(30);
        t += std::string(n, '[');
        value(t, depth + static_cast<int>(n));
        t += std::string(n, ']');
        break;
      }
      case 3:
        string(t, false);
        break;
      case 4:
        t += std::array<const char*, 3>{"true", "false", "null"}[rnd_.below(3)];
        break;
      default:
        number(t);
        break;
    }
    space(t);
  }

  // Names come from a few, so that some are given twice, some spelt differently.
  void string(std::string& t, bool name) {
    t += '"';
    if (name) {
      static const char* kNames[] = {"a", "b", "\\u0061", "type", "", "\\\"", "\xc3\xa9"};
      t += kNames[rnd_.below(7)];
      t += '"';
      return;
    }
    static const char* kGood[] = {"a",
                                  "Z",
                                  " ",
                                  "/",
                                  "\\/",
                                  "\\\"",
                                  "\\\\",
                                  "\\n",
                                  "\\t",
                                  "\\b",
                                  "\\f",
                                  "\\r",
                                  "\\u0001",
                                  "\\u001F",
                                  "\\u00e9",
                                  "\\u00E9",
                                  "\\u65e5",
                                  "\\u0000",
                                  "\\ud83d\\ude00",
                                  "\xc3\xa9",
                                  "\xe6\x97\xa5",
                                  "\xf0\x9f\x98\x80",
                                  "\x7f"};
    // Each one a reason to refuse the text.
    static const char* kBad[] = {"\\ud800", "\\udc00", "\\x",          "\xff",
                                 "\x01",    "\\u12",   "\xed\xa0\x80", "\\ud800\\u0041"};
    const uint64_t n = rnd_.below(6);
    for (uint64_t i = 0; i < n; ++i) {
      t += rnd_.below(60) == 0 ? kBad[rnd_.below(std::size(kBad))]
                               : kGood[rnd_.below(std::size(kGood))];
    }
    t += '"';
  }

  void number(std::string& t) {
    if (rnd_.below(2)) t += '-';
    const uint64_t digits = rnd_.below(5) == 0 ? rnd_.below(25) : 1 + rnd_.below(6);
    if (digits == 0 || rnd_.below(6) == 0) {
      t += '0';
    } else {
      t += static_cast<char>('1' + rnd_.below(9));
      for (uint64_t i = 1; i < digits; ++i)
        t += static_cast<char>('0' + rnd_.below(10));
    }
    if (rnd_.below(3) == 0) {
      t += '.';
      for (uint64_t i = 0, n = 1 + rnd_.below(8); i < n; ++i)
        t += static_cast<char>('0' + (rnd_.below(3) == 0 ? 0 : rnd_.below(10)));
    }
    if (rnd_.below(4) == 0) {
      t += rnd_.below(2) ? 'e' : 'E';
      if (rnd_.below(3) == 0) t += rnd_.below(2) ? '-' : '+';
      t += std::to_string(rnd_.below(3) == 0 ? 300 + rnd_.below(120) : rnd_.below(30));
    }
  }

  testing::Xorshift rnd_;
};

TEST(JsonReaderTest, AgreesWithParseJsonOnRandomTexts) {
  Generator g(0x636f646563ull);
  int accepted = 0, refused = 0;
  for (int n = 0; n < 200000; ++n) {
    const std::string t = g.text();
    const auto want = reference(t);
    const auto got = read(t);
    ASSERT_EQ(got.has_value(), want.has_value()) << n << ": " << t;
    if (want) {
      ASSERT_EQ(*got, *want) << n << ": " << t;
      ++accepted;
    } else {
      ++refused;
    }
  }
  EXPECT_GT(accepted, 20000);
  EXPECT_GT(refused, 20000);
}

TEST(JsonReaderTest, ReadsTokens) {
  JsonReader r(R"( ["a\"b", -12, 2.5, 99999999999999999999, false] )", 4);
  ASSERT_TRUE(r.open('[', 0));
  std::string_view s;
  ASSERT_TRUE(r.string(s));
  EXPECT_EQ(s, "a\"b");
  ASSERT_TRUE(r.take(','));
  JsonNumber n;
  ASSERT_TRUE(r.number(n));
  EXPECT_TRUE(n.is_int);
  EXPECT_EQ(n.i, -12);
  ASSERT_TRUE(r.take(','));
  ASSERT_TRUE(r.number(n));
  EXPECT_FALSE(n.is_int);
  EXPECT_EQ(n.d, 2.5);
  ASSERT_TRUE(r.take(','));
  ASSERT_TRUE(r.number(n));
  EXPECT_FALSE(n.is_int);
  EXPECT_EQ(n.d, 1e20);
  ASSERT_TRUE(r.take(','));
  ASSERT_TRUE(r.literal(s));
  EXPECT_EQ(s, "false");
  EXPECT_TRUE(r.expect(']'));
  EXPECT_TRUE(r.at_end());
  EXPECT_FALSE(r.failed());
}

}  // namespace
}  // namespace tsunagu::store
