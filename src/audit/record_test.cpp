// Audit records: the line they are written as reads back to the same record, whatever the
// request target held; lines cut short or of another shape are refused; the filter's members.
#include "audit/record.hpp"

#include <gtest/gtest.h>

#include "common/time.hpp"

namespace tsunagu::audit {
namespace {

Record sample() {
  Record r;
  r.time = *parse_datetime("2026-12-07T10:11:12.345678Z");
  r.tenant = "city-a";
  r.subject = "urn:tsunagu:ApiKey:0123";
  r.operation = "createEntity";
  r.method = "POST";
  r.path = "/ngsi-ld/v1/entities?options=keyValues";
  r.status = 201;
  r.remote = "127.0.0.1:40000";
  return r;
}

void expect_same(const Record& a, const Record& b) {
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.operation, b.operation);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.remote, b.remote);
  EXPECT_EQ(a.role, b.role);
}

TEST(AuditRecord, IsOneLineOfJsonWithTheTimeInMicroseconds) {
  std::string line;
  append_line(sample(), line);
  EXPECT_EQ(line,
            "{\"time\":\"2026-12-07T10:11:12.345678Z\",\"tenant\":\"city-a\",\"subject\":"
            "\"urn:tsunagu:ApiKey:0123\",\"operation\":\"createEntity\",\"method\":\"POST\","
            "\"path\":\"/ngsi-ld/v1/entities?options=keyValues\",\"status\":201,\"remote\":"
            "\"127.0.0.1:40000\"}\n");
  auto back = parse_line(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back.ok()) << back.status().detail();
  expect_same(*back, sample());
}

TEST(AuditRecord, ARoleIsWrittenOnlyWhenTheCallerHeldOne) {
  Record r = sample();
  r.role = "bus-operator";
  std::string line;
  append_line(r, line);
  EXPECT_NE(line.find(",\"role\":\"bus-operator\"}"), std::string::npos) << line;
  auto back = parse_line(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back.ok()) << back.status().detail();
  expect_same(*back, r);
}

TEST(AuditRecord, TimesHaveSixDigitsOfFractionSoThatTheyCompareAsText) {
  for (const char* text : {"2026-12-07T10:11:12.000000Z", "2026-12-07T10:11:12.100000Z",
                           "2026-12-07T10:11:12.000001Z", "2026-12-07T23:59:59.999999Z"}) {
    Record r = sample();
    r.time = *parse_datetime(text);
    std::string line;
    append_line(r, line);
    EXPECT_NE(line.find(std::string("\"time\":\"") + text + "\""), std::string::npos) << line;
    EXPECT_EQ(parse_line(std::string_view(line).substr(0, line.size() - 1))->time, r.time);
  }
}

TEST(AuditRecord, ATargetWithQuotesNewlinesOrBadUtf8StaysOneReadableLine) {
  Record r = sample();
  r.path = "/ngsi-ld/v1/entities/a\"b\n{\"x\":1}\\";
  r.subject = "";
  std::string line;
  append_line(r, line);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto back = parse_line(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back.ok());
  expect_same(*back, r);

  r.path = std::string("/ngsi-ld/v1/entities/\xff\xfe", 23);
  line.clear();
  append_line(r, line);
  back = parse_line(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->path, "/ngsi-ld/v1/entities/\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(AuditRecord, ALineCutShortOrOfAnotherShapeIsNotARecord) {
  std::string line;
  append_line(sample(), line);
  line.pop_back();
  for (size_t cut : {size_t{0}, size_t{1}, line.size() / 2, line.size() - 1})
    EXPECT_FALSE(parse_line(std::string_view(line).substr(0, cut)).ok()) << cut;
  EXPECT_FALSE(parse_line("[1,2]").ok());
  EXPECT_FALSE(parse_line("{\"time\":\"2026-12-07T10:11:12Z\"}").ok());
  std::string no_status = line;
  no_status.replace(no_status.find("201"), 3, "\"201\"");
  EXPECT_FALSE(parse_line(no_status).ok());
  std::string bad_time = line;
  bad_time.replace(bad_time.find("2026-12-07T"), 11, "yesterday, ");
  EXPECT_FALSE(parse_line(bad_time).ok());
}

TEST(AuditRecord, TheDayIsTheUtcCalendarDay) {
  EXPECT_EQ(day_of(*parse_datetime("2026-12-07T00:00:00Z")), "2026-12-07");
  EXPECT_EQ(day_of(*parse_datetime("2026-12-07T23:59:59.999999Z")), "2026-12-07");
  EXPECT_EQ(day_of(*parse_datetime("2026-12-08T08:30:00+09:00")), "2026-12-07");
  EXPECT_EQ(day_of(*parse_datetime("2028-02-29T12:00:00Z")), "2028-02-29");
}

TEST(AuditFilter, EveryMemberThatIsSetMustMatch) {
  const Record r = sample();
  Filter f;
  EXPECT_TRUE(f.matches(r));
  f.tenant = "city-a";
  f.subject = "urn:tsunagu:ApiKey:0123";
  f.operation = "createEntity";
  f.status = 201;
  EXPECT_TRUE(f.matches(r));
  for (int member = 0; member < 4; ++member) {
    Filter g = f;
    if (member == 0) g.tenant = "";  // the default tenant is a tenant like the others
    if (member == 1) g.subject = "";
    if (member == 2) g.operation = "mergeEntity";
    if (member == 3) g.status = 204;
    EXPECT_FALSE(g.matches(r)) << member;
  }
  f.status = 2;
  f.status_class = true;
  EXPECT_TRUE(f.matches(r));
  f.status = 4;
  EXPECT_FALSE(f.matches(r));
}

TEST(AuditFilter, SinceIsInclusiveAndUntilExclusive) {
  const Record r = sample();
  Filter f;
  f.since = r.time;
  EXPECT_TRUE(f.matches(r));
  f.since = r.time + 1;
  EXPECT_FALSE(f.matches(r));
  f.since = INT64_MIN;
  f.until = r.time + 1;
  EXPECT_TRUE(f.matches(r));
  f.until = r.time;
  EXPECT_FALSE(f.matches(r));
}

}  // namespace
}  // namespace tsunagu::audit
