#include "common/utf8.hpp"

#include <gtest/gtest.h>

namespace tsunagu {
namespace {

TEST(Utf8Test, WellFormedSequences) {
  for (const char* s : {"", "abc", "caf\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x98\x80",
                        "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"}) {
    EXPECT_TRUE(valid_utf8(s)) << s;
    EXPECT_EQ(to_valid_utf8(s), s);
  }
}

TEST(Utf8Test, IllFormedSequences) {
  for (const char* s :
       {"\xFF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x80\x80\x80",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC3", "\xE6\x97", "\x80", "a\xC3(b"}) {
    EXPECT_FALSE(valid_utf8(s)) << s;
    EXPECT_TRUE(valid_utf8(to_valid_utf8(s))) << s;
  }
  EXPECT_EQ(to_valid_utf8("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(to_valid_utf8("\xC3(\xC3\xA9"), "\xEF\xBF\xBD(\xC3\xA9");
}

// Every 1- and 2-byte string: the checker agrees with a decoder written from the definition.
TEST(Utf8Test, AgreesWithTheDefinitionOnEveryShortString) {
  auto reference = [](const std::string& s) {
    size_t i = 0;
    while (i < s.size()) {
      unsigned c = static_cast<unsigned char>(s[i]);
      int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      if (n == 0 || i + n > s.size()) return false;
      unsigned cp = n == 1 ? c : c & (0x7F >> n);
      for (int k = 1; k < n; ++k) {
        unsigned d = static_cast<unsigned char>(s[i + k]);
        if ((d >> 6) != 2) return false;
        cp = (cp << 6) | (d & 0x3F);
      }
      const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      i += n;
    }
    return true;
  };
  for (int a = 0; a < 256; ++a) {
    std::string one(1, static_cast<char>(a));
    ASSERT_EQ(valid_utf8(one), reference(one)) << a;
    for (int b = 0; b < 256; ++b) {
      std::string two = one + static_cast<char>(b);
      ASSERT_EQ(valid_utf8(two), reference(two)) << a << " " << b;
    }
  }
  // Three-byte sequences around the edges of the ranges with special second bytes.
  for (int a : {0xE0, 0xE1, 0xED, 0xEE, 0xEF, 0xF0, 0xF4}) {
    for (int b = 0x70; b < 0xD0; ++b) {
      std::string s{static_cast<char>(a), static_cast<char>(b), '\x80', '\x80'};
      std::string three = s.substr(0, 3);
      ASSERT_EQ(valid_utf8(three), reference(three)) << a << " " << b;
      ASSERT_EQ(valid_utf8(s), reference(s)) << a << " " << b;
    }
  }
}

}  // namespace
}  // namespace tsunagu
