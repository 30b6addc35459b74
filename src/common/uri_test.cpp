#include "common/uri.hpp"

#include <cctype>
#include <cstdio>

#include <gtest/gtest.h>

namespace tsunagu {
namespace {

TEST(IsAbsoluteUriTest, AcceptsCommonSchemes) {
  EXPECT_TRUE(is_absolute_uri("urn:ngsi-ld:Vehicle:A4567"));
  EXPECT_TRUE(is_absolute_uri("http://example.org/a/b?c=d#e"));
  EXPECT_TRUE(is_absolute_uri("https://uri.etsi.org/ngsi-ld/location"));
  EXPECT_TRUE(is_absolute_uri("mailto:someone@example.org"));
  EXPECT_TRUE(is_absolute_uri("x:y"));
  EXPECT_TRUE(is_absolute_uri("HTTP://EXAMPLE.ORG"));
}

TEST(IsAbsoluteUriTest, SchemeMayHoldPlusMinusDotAndDigits) {
  EXPECT_TRUE(is_absolute_uri("svn+ssh://host/repo"));
  EXPECT_TRUE(is_absolute_uri("a-b.c+d1:rest"));
  EXPECT_TRUE(is_absolute_uri("h2:x"));
}

TEST(IsAbsoluteUriTest, SchemeMustStartWithALetterAndHoldNoOtherCharacters) {
  EXPECT_FALSE(is_absolute_uri("1http://x"));
  EXPECT_FALSE(is_absolute_uri("+a:b"));
  EXPECT_FALSE(is_absolute_uri(":rest"));
  EXPECT_FALSE(is_absolute_uri("a_b:rest"));
  EXPECT_FALSE(is_absolute_uri("a b:rest"));
  EXPECT_FALSE(is_absolute_uri("foo/bar:baz"));  // a relative reference
  EXPECT_FALSE(is_absolute_uri("\xc3\xa9:x"));   // non-ASCII scheme
}

TEST(IsAbsoluteUriTest, NeedsSchemeColonAndANonEmptyRest) {
  EXPECT_FALSE(is_absolute_uri(""));
  EXPECT_FALSE(is_absolute_uri("urn"));
  EXPECT_FALSE(is_absolute_uri("urn:"));
  EXPECT_FALSE(is_absolute_uri("Vehicle"));
  EXPECT_FALSE(is_absolute_uri("/relative/path"));
}

TEST(IsAbsoluteUriTest, AcceptsIrisWithUtf8) {
  EXPECT_TRUE(is_absolute_uri("urn:ngsi-ld:Park:\xe4\xb8\x8a\xe9\x87\x8e"));  // 上野
  EXPECT_TRUE(is_absolute_uri("http://example.org/caf\xc3\xa9"));
}

TEST(IsAbsoluteUriTest, RefusesWhitespaceAndControlCharacters) {
  EXPECT_FALSE(is_absolute_uri("urn:a b"));
  EXPECT_FALSE(is_absolute_uri("urn:a\tb"));
  EXPECT_FALSE(is_absolute_uri("urn:a\nb"));
  EXPECT_FALSE(is_absolute_uri("urn:ab "));
  EXPECT_FALSE(is_absolute_uri("urn: "));
  EXPECT_FALSE(is_absolute_uri(std::string_view("urn:a\0b", 7)));
  EXPECT_FALSE(is_absolute_uri("urn:a\x7f"));
  EXPECT_FALSE(is_absolute_uri("urn:a\x01"));
}

TEST(IsAbsoluteUriTest, RefusesCharactersNeverAllowedUnescaped) {
  for (char c : std::string_view("<>\"{}|\\^`")) {
    std::string s = "urn:a";
    s.push_back(c);
    s += "b";
    EXPECT_FALSE(is_absolute_uri(s)) << s;
  }
}

// Every byte value, at the start, middle and end of the part after the colon: refused exactly
// when it is a control character, space, DEL or one of the excluded characters.
TEST(IsAbsoluteUriTest, JudgesEveryByteValueAlike) {
  const std::string_view excluded("<>\"{}|\\^`");
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool ok = b > 0x20 && b != 0x7f && excluded.find(c) == std::string_view::npos;
    for (std::string s : {std::string("urn:") + c + "ab", std::string("urn:a") + c + "b",
                          std::string("urn:ab") + c}) {
      if (c == '%') continue;  // an escape: PercentEscapesNeedTwoHexDigits
      EXPECT_EQ(is_absolute_uri(s), ok) << b << " in " << s;
    }
  }
}

TEST(IsAbsoluteUriTest, PercentEscapesNeedTwoHexDigits) {
  EXPECT_TRUE(is_absolute_uri("urn:a%20b"));
  EXPECT_TRUE(is_absolute_uri("urn:a%2f%2F"));
  EXPECT_TRUE(is_absolute_uri("urn:%41"));
  EXPECT_FALSE(is_absolute_uri("urn:a%"));
  EXPECT_FALSE(is_absolute_uri("urn:a%2"));
  EXPECT_FALSE(is_absolute_uri("urn:a%zz"));
  EXPECT_FALSE(is_absolute_uri("urn:a%g0"));
  EXPECT_FALSE(is_absolute_uri("urn:%"));
  EXPECT_FALSE(is_absolute_uri("urn:a%%20"));
}

TEST(PercentDecodeTest, DecodesEscapes) {
  std::string out;
  ASSERT_TRUE(percent_decode("urn%3Angsi-ld%3aVehicle%3AA1", out));
  EXPECT_EQ(out, "urn:ngsi-ld:Vehicle:A1");
  ASSERT_TRUE(percent_decode("%E4%B8%8A%e9%87%8e", out));
  EXPECT_EQ(out, "\xe4\xb8\x8a\xe9\x87\x8e");
  ASSERT_TRUE(percent_decode("%00", out));
  EXPECT_EQ(out, std::string(1, '\0'));
  ASSERT_TRUE(percent_decode("", out));
  EXPECT_EQ(out, "");
}

TEST(PercentDecodeTest, DecodesLongEscapedValues) {
  // As a geo-query's coordinates are: escapes throughout.
  std::string encoded, plain, out;
  for (int i = 0; i < 200; ++i) {
    encoded += "%5B139.9%2C36.4%5D+";
    plain += "[139.9,36.4] ";
  }
  ASSERT_TRUE(percent_decode(encoded, out, true));
  EXPECT_EQ(out, plain);
  // A malformed escape at the end leaves nothing half decoded behind.
  EXPECT_FALSE(percent_decode(encoded + "%5", out));
  EXPECT_EQ(out, "");
}

TEST(PercentDecodeTest, DecodesOnlyOnce) {
  std::string out;
  ASSERT_TRUE(percent_decode("%2541", out));
  EXPECT_EQ(out, "%41");
}

TEST(PercentDecodeTest, PlusIsKeptUnlessAskedFor) {
  std::string out;
  ASSERT_TRUE(percent_decode("a+b%2Bc", out));
  EXPECT_EQ(out, "a+b+c");
  ASSERT_TRUE(percent_decode("a+b%2Bc", out, true));
  EXPECT_EQ(out, "a b+c");
}

TEST(PercentDecodeTest, RefusesMalformedEscapes) {
  std::string out;
  for (const char* s : {"%", "%4", "a%4", "%zz", "%4g", "%g4", "abc%", "%%41"}) {
    EXPECT_FALSE(percent_decode(s, out)) << s;
  }
}

TEST(PercentDecodeTest, ReplacesPreviousOutput) {
  std::string out = "old";
  ASSERT_TRUE(percent_decode("new", out));
  EXPECT_EQ(out, "new");
}

TEST(PercentEncodeSegmentTest, KeepsPcharsAndEncodesTheRest) {
  EXPECT_EQ(percent_encode_segment("urn:ngsi-ld:Vehicle:A1"), "urn:ngsi-ld:Vehicle:A1");
  EXPECT_EQ(percent_encode_segment("aZ09-._~!$&'()*+,;=:@"), "aZ09-._~!$&'()*+,;=:@");
  EXPECT_EQ(percent_encode_segment("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
  EXPECT_EQ(percent_encode_segment("\xe4\xb8\x8a"), "%E4%B8%8A");
  EXPECT_EQ(percent_encode_segment(std::string_view("\0\x7f\"<>", 5)), "%00%7F%22%3C%3E");
  EXPECT_EQ(percent_encode_segment(""), "");
}

// Every byte value alone and between kept bytes, against RFC 3986's pchar (without '%').
TEST(PercentEncodeSegmentTest, EveryByteIsKeptExactlyWhenItIsAPchar) {
  const std::string_view pchar_extra = "-._~!$&'()*+,;=:@";
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool keep = std::isalnum(c) != 0 || pchar_extra.find(ch) != std::string_view::npos;
    char hex[4];
    std::snprintf(hex, sizeof hex, "%%%02X", c);
    const std::string alone = keep ? std::string(1, ch) : std::string(hex);
    EXPECT_EQ(percent_encode_segment(std::string_view(&ch, 1)), alone) << c;
    EXPECT_EQ(percent_encode_segment("ab" + std::string(1, ch) + "c"), "ab" + alone + "c") << c;
  }
}

TEST(PercentEncodeSegmentTest, DecodesBackToTheOriginal) {
  std::string all;
  for (int c = 0; c < 256; ++c)
    all.push_back(static_cast<char>(c));
  std::string encoded = percent_encode_segment(all);
  EXPECT_EQ(encoded.find('/'), std::string::npos);
  EXPECT_EQ(encoded.find('?'), std::string::npos);
  EXPECT_EQ(encoded.find('#'), std::string::npos);
  std::string decoded;
  ASSERT_TRUE(percent_decode(encoded, decoded));
  EXPECT_EQ(decoded, all);
}

TEST(PercentEncodeTest, AQueryValueKeepsWhatAQueryMayHold) {
  EXPECT_EQ(percent_encode_query_value("urn:ngsi-ld:Vehicle:A1"), "urn:ngsi-ld:Vehicle:A1");
  EXPECT_EQ(percent_encode_query_value("near;maxDistance==2000"), "near;maxDistance==2000");
  EXPECT_EQ(percent_encode_query_value("name==\"a b\"&x+1#"), "name==%22a%20b%22%26x%2B1%23");
  EXPECT_EQ(percent_encode_query_value("[1,2]/?"), "%5B1,2%5D/?");
  EXPECT_EQ(percent_encode_query_value("\xe6\x9d\xb1"), "%E6%9D%B1");
  EXPECT_EQ(percent_encode_segment("a/b?c"), "a%2Fb%3Fc");
}

}  // namespace
}  // namespace tsunagu
