#include "common/time.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "common/test_random.hpp"

namespace tsunagu {
namespace {

constexpr int64_t kSec = 1000000;
constexpr int64_t kApril1 = 1775023200LL * kSec;  // 2026-04-01T06:00:00Z

TEST(ParseDatetimeTest, UtcWithZ) {
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00Z"), kApril1);
  EXPECT_EQ(parse_datetime("2026-04-01t06:00:00z"), kApril1);
  EXPECT_EQ(parse_datetime("1970-01-01T00:00:00Z"), 0);
}

// "...Z" texts of exactly 20 characters take a quicker reader: whatever the fields, valid or
// not, the answer must be that of the same instant written with "+00:00", which the general
// reader reads.
TEST(ParseDatetimeTest, PlainUtcReadsLikeAnOffset) {
  testing::Xorshift random(0x853c49e6748fea9bull);
  auto next = [&random](int bound) { return static_cast<int>(random.below(bound)); };
  int valid = 0;
  for (int i = 0; i < 200000; ++i) {
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02dZ", next(10000), next(14),
                  next(33), next(26), next(62), next(63));
    std::string plain = text;
    std::string offset = plain.substr(0, 19) + "+00:00";
    auto a = parse_datetime(plain);
    ASSERT_EQ(a, parse_datetime(offset)) << plain;
    valid += a.has_value();
  }
  EXPECT_GT(valid, 50000);
  EXPECT_LT(valid, 200000);
  // Not the plain form: read by the general reader.
  const std::pair<const char*, bool> others[] = {
      {"2026-04-01T06:00:00z", true},  {"2026-04-01t06:00:00Z", true},
      {"2026-04-01T06:00Z", true},     {"2026-04-01T06:00:0xZ", false},
      {"2026-04-01 06:00:00Z", false}, {"+026-04-01T06:00:00Z", false},
      {"2026-4-01T06:00:00ZZ", false}, {"2026-04-01T06:00:00.Z", false},
  };
  for (const auto& [text, ok] : others)
    EXPECT_EQ(parse_datetime(text).has_value(), ok) << text;
}

TEST(ParseDatetimeTest, NoOffsetMeansUtc) {
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00"), kApril1);
}

TEST(ParseDatetimeTest, SecondsMayBeOmitted) {
  EXPECT_EQ(parse_datetime("2026-04-01T06:00Z"), kApril1);
}

TEST(ParseDatetimeTest, Offsets) {
  EXPECT_EQ(parse_datetime("2026-04-01T15:00:00+09:00"), kApril1);
  EXPECT_EQ(parse_datetime("2026-04-01T15:00:00+0900"), kApril1);
  EXPECT_EQ(parse_datetime("2026-04-01T15:00:00+09"), kApril1);
  EXPECT_EQ(parse_datetime("2026-04-01T00:30:00-0530"), kApril1);
  EXPECT_EQ(parse_datetime("2026-04-01T00:30:00-05:30"), kApril1);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00+00:00"), kApril1);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00-00:00"), kApril1);
}

TEST(ParseDatetimeTest, OffsetCrossesDayAndYear) {
  // 2026-01-01T01:00+09:00 is 2025-12-31T16:00Z.
  EXPECT_EQ(parse_datetime("2026-01-01T01:00:00+09:00"), parse_datetime("2025-12-31T16:00:00Z"));
}

TEST(ParseDatetimeTest, FractionsOfOneToNineDigits) {
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.5Z"), kApril1 + 500000);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.25Z"), kApril1 + 250000);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.123Z"), kApril1 + 123000);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.1234Z"), kApril1 + 123400);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.12345Z"), kApril1 + 123450);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.123456Z"), kApril1 + 123456);
  // Digits below a microsecond are accepted (the values are chosen so that rounding and
  // truncation agree).
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.1234564Z"), kApril1 + 123456);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.12345641Z"), kApril1 + 123456);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.123456449Z"), kApril1 + 123456);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.000001Z"), kApril1 + 1);
  EXPECT_EQ(parse_datetime("2026-04-01T15:00:00.5+09:00"), kApril1 + 500000);
  // ISO 8601 also allows a comma as the decimal sign.
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00,5Z"), kApril1 + 500000);
}

TEST(ParseDatetimeTest, RefusesTenFractionDigitsAndEmptyFraction) {
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.1234567890Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00.Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00."), std::nullopt);
}

TEST(ParseDatetimeTest, LeapYears) {
  EXPECT_EQ(parse_datetime("2024-02-29T12:00:00Z"), 1709208000LL * kSec);
  EXPECT_EQ(parse_datetime("2000-02-29T00:00:00Z"), 951782400LL * kSec);  // divisible by 400
  EXPECT_EQ(parse_datetime("2026-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("1900-02-29T00:00:00Z"), std::nullopt);  // divisible by 100
  EXPECT_EQ(parse_datetime("2100-02-29T00:00:00Z"), std::nullopt);
}

TEST(ParseDatetimeTest, RefusesInvalidCalendarDates) {
  EXPECT_EQ(parse_datetime("2026-02-30T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-31T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-13-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-00-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-01-00T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-01-32T00:00:00Z"), std::nullopt);
  EXPECT_NE(parse_datetime("2026-12-31T00:00:00Z"), std::nullopt);
}

TEST(ParseDatetimeTest, RefusesInvalidTimesAndOffsets) {
  EXPECT_EQ(parse_datetime("2026-04-01T24:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T23:60:00Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T23:59:61Z"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00+24:00"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00+09:60"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00+9"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00+09:"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00+09:0"), std::nullopt);
  EXPECT_EQ(parse_datetime("2026-04-01T06:00:00+"), std::nullopt);
}

TEST(ParseDatetimeTest, LeapSecondFoldsIntoTheNextSecond) {
  EXPECT_EQ(parse_datetime("2016-12-31T23:59:60Z"), parse_datetime("2017-01-01T00:00:00Z"));
}

TEST(ParseDatetimeTest, RefusesGarbageAndTrailingCharacters) {
  for (const char* s : {"",
                        "garbage",
                        "2026",
                        "2026-04-01",
                        "2026-04-01T",
                        "2026-04-01T06",
                        "2026-04-01T06:",
                        "2026-04-01 06:00:00Z",
                        "2026-4-01T06:00:00Z",
                        "26-04-01T06:00:00Z",
                        "2026/04/01T06:00:00Z",
                        "2026-04-01T6:00:00Z",
                        "2026-04-01T06:00:00ZZ",
                        "2026-04-01T06:00:00Z ",
                        " 2026-04-01T06:00:00Z",
                        "2026-04-01T06:00:00+09:00x",
                        "2026-04-01T06:00:00+09:00:00",
                        "2026-04-01T06:00:00.5.5Z",
                        "2026-04-01T06:00:0aZ",
                        "+2026-04-01T06:00Z"}) {
    EXPECT_EQ(parse_datetime(s), std::nullopt) << '"' << s << '"';
  }
}

TEST(ParseDatetimeTest, DatesBeforeTheEpoch) {
  EXPECT_EQ(parse_datetime("1969-12-31T23:59:59Z"), -kSec);
  EXPECT_EQ(parse_datetime("1900-01-01T00:00:00Z"), -2208988800LL * kSec);
  EXPECT_EQ(parse_datetime("1969-12-31T23:59:59.5Z"), -kSec / 2);
}

TEST(ParseDateTest, MidnightUtc) {
  EXPECT_EQ(parse_date("2026-04-01"), kApril1 - 6 * 3600 * kSec);
  EXPECT_EQ(parse_date("1970-01-01"), 0);
  EXPECT_EQ(parse_date("2024-02-29"), parse_datetime("2024-02-29T00:00:00Z"));
  EXPECT_EQ(parse_date("1969-12-31"), -86400 * kSec);
}

TEST(ParseDateTest, RefusesInvalid) {
  for (const char* s : {"", "2026-02-30", "2026-13-01", "2026-04-01T00:00:00Z", "2026-04-01Z",
                        "2026-04-1", "2026-04-01 ", "20260401", "2023-02-29"}) {
    EXPECT_EQ(parse_date(s), std::nullopt) << '"' << s << '"';
  }
}

TEST(ParseTimeTest, TimeOfDay) {
  EXPECT_EQ(parse_time("06:00:00"), 6 * 3600 * kSec);
  EXPECT_EQ(parse_time("06:00:00.5Z"), 6 * 3600 * kSec + 500000);
  EXPECT_EQ(parse_time("00:00:00"), 0);
  EXPECT_EQ(parse_time("23:59:59.999999"), 86400 * kSec - 1);
  EXPECT_EQ(parse_time("06:30"), (6 * 3600 + 30 * 60) * kSec);
}

TEST(ParseTimeTest, OffsetWrapsAroundMidnight) {
  EXPECT_EQ(parse_time("06:00:00+09:00"), 21 * 3600 * kSec);
  EXPECT_EQ(parse_time("22:00:00-05:00"), 3 * 3600 * kSec);
  EXPECT_EQ(parse_time("15:00:00+09:00"), 6 * 3600 * kSec);
}

TEST(ParseTimeTest, RefusesInvalid) {
  for (const char* s : {"", "24:00:00", "12:60:00", "12:00:61", "6:00:00", "06:00:00 ",
                        "06:00:00Zx", "T06:00:00", "06", "06:00:00.", "2026-04-01T06:00:00Z"}) {
    EXPECT_EQ(parse_time(s), std::nullopt) << '"' << s << '"';
  }
}

TEST(FormatDatetimeTest, WholeSecondsHaveNoFraction) {
  EXPECT_EQ(format_datetime(kApril1), "2026-04-01T06:00:00Z");
  EXPECT_EQ(format_datetime(0), "1970-01-01T00:00:00Z");
}

TEST(FormatDatetimeTest, MillisecondsAndMicroseconds) {
  EXPECT_EQ(format_datetime(kApril1 + 500000), "2026-04-01T06:00:00.500Z");
  EXPECT_EQ(format_datetime(kApril1 + 123000), "2026-04-01T06:00:00.123Z");
  EXPECT_EQ(format_datetime(kApril1 + 1000), "2026-04-01T06:00:00.001Z");
  EXPECT_EQ(format_datetime(kApril1 + 123456), "2026-04-01T06:00:00.123456Z");
  EXPECT_EQ(format_datetime(kApril1 + 1), "2026-04-01T06:00:00.000001Z");
  EXPECT_EQ(format_datetime(kApril1 + 100), "2026-04-01T06:00:00.000100Z");
}

TEST(FormatDatetimeTest, BeforeTheEpoch) {
  EXPECT_EQ(format_datetime(-kSec), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_datetime(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_datetime(-kSec / 2), "1969-12-31T23:59:59.500Z");
  EXPECT_EQ(format_datetime(-86400 * kSec), "1969-12-31T00:00:00Z");
  EXPECT_EQ(format_datetime(-2208988800LL * kSec), "1900-01-01T00:00:00Z");
}

TEST(FormatDatetimeTest, LeapDay) {
  EXPECT_EQ(format_datetime(1709208000LL * kSec), "2024-02-29T12:00:00Z");
}

TEST(FormatDatetimeTest, AppendsToExistingText) {
  std::string s = "at ";
  append_datetime(kApril1, s);
  EXPECT_EQ(s, "at 2026-04-01T06:00:00Z");
}

TEST(FormatDatetimeTest, RoundTripsThroughParse) {
  for (int64_t us : std::initializer_list<int64_t>{
           0, kApril1, kApril1 + 1, kApril1 + 999999, int64_t{-1}, -2208988800LL * kSec + 42,
           253402300799LL * kSec /* 9999-12-31T23:59:59 */, 951782400LL * kSec + 123000}) {
    std::string s = format_datetime(us);
    EXPECT_EQ(parse_datetime(s), us) << s;
  }
}

TEST(NowTest, IsAfterThisTestWasWritten) {
  EXPECT_GT(now_us(), *parse_datetime("2025-01-01T00:00:00Z"));
}

TEST(AddMonthsTest, KeepsTheDayAndTimeOrClampsToTheMonthsEnd) {
  auto at = [](const char* s) { return *parse_datetime(s); };
  EXPECT_EQ(add_months(at("2026-01-15T06:30:00.25Z"), 1), at("2026-02-15T06:30:00.25Z"));
  EXPECT_EQ(add_months(at("2026-01-31T23:00:00Z"), 1), at("2026-02-28T23:00:00Z"));
  EXPECT_EQ(add_months(at("2028-01-31T00:00:00Z"), 1), at("2028-02-29T00:00:00Z"));
  EXPECT_EQ(add_months(at("2026-01-31T00:00:00Z"), 2), at("2026-03-31T00:00:00Z"));
  EXPECT_EQ(add_months(at("2026-11-30T12:00:00Z"), 3), at("2027-02-28T12:00:00Z"));
  EXPECT_EQ(add_months(at("2026-03-31T00:00:00Z"), -1), at("2026-02-28T00:00:00Z"));
  EXPECT_EQ(add_months(at("2026-01-10T00:00:00Z"), -13), at("2024-12-10T00:00:00Z"));
  EXPECT_EQ(add_months(at("2026-05-05T05:05:05Z"), 0), at("2026-05-05T05:05:05Z"));
  EXPECT_EQ(add_months(at("1969-12-31T23:59:59Z"), 1), at("1970-01-31T23:59:59Z"));
  EXPECT_EQ(add_months(at("2026-02-28T00:00:00Z"), 12 * 4), at("2030-02-28T00:00:00Z"));
}

}  // namespace
}  // namespace tsunagu
