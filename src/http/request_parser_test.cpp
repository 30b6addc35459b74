// Reading requests from bytes (request_parser.hpp) as a session reads them: the outcomes the
// listener's black-box tests (server_test.cpp) see through a socket, here without one.
#include "http/request_parser.hpp"

#include <gtest/gtest.h>

namespace tsunagu::http {
namespace {

ReadOutcome read(std::string_view bytes, ServerOptions options = {}) {
  return read_request(bytes, options);
}

TEST(RequestParserTest, ReadsARequestWithItsBody) {
  auto in = read(
      "POST /ngsi-ld/v1/entities?type=T HTTP/1.1\r\nHost: t\r\nNGSILD-Tenant: A\r\n"
      "Content-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(in.request);
  EXPECT_FALSE(in.answer);
  EXPECT_EQ(in.request->method, Method::kPost);
  EXPECT_EQ(in.request->path, "/ngsi-ld/v1/entities");
  EXPECT_EQ(in.request->query, "type=T");
  EXPECT_EQ(in.request->header("ngsild-tenant"), "A");
  EXPECT_EQ(in.request->body, "{}");
  EXPECT_TRUE(in.request->body_framed);
}

TEST(RequestParserTest, ReadsAChunkedBody) {
  auto in = read(
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n");
  ASSERT_TRUE(in.request);
  EXPECT_EQ(in.request->body, "{\"a\":1}");
}

TEST(RequestParserTest, ConsumesOneRequestOfAPipeline) {
  const std::string first = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
  auto in = read(first + "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(in.request);
  EXPECT_EQ(in.request->path, "/a");
  EXPECT_EQ(in.consumed, first.size());
}

TEST(RequestParserTest, IncompleteInputIsNeitherARequestNorAnAnswer) {
  for (std::string_view bytes : {"", "GET / HTTP/1.1\r\nHost: t\r\n",
                                 "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n{}"}) {
    auto in = read(bytes);
    EXPECT_FALSE(in.request) << bytes;
    EXPECT_FALSE(in.answer) << bytes;
  }
}

TEST(RequestParserTest, Http11NeedsExactlyOneHost) {
  auto none = read("GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(none.answer);
  EXPECT_EQ(none.answer->kind(), ErrorKind::kInvalidRequest);
  auto two = read("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  ASSERT_TRUE(two.answer);
  EXPECT_NE(two.answer->detail().find("one Host"), std::string::npos);
  EXPECT_TRUE(read("GET / HTTP/1.0\r\n\r\n").request);
}

TEST(RequestParserTest, TransferCodingsOtherThanChunkedAreNotImplemented) {
  auto in = read("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(in.answer);
  EXPECT_EQ(in.answer->kind(), ErrorKind::kNotImplemented);
  EXPECT_NE(in.answer->detail().find("gzip"), std::string::npos);
}

TEST(RequestParserTest, LimitsAnswerWithTheirOwnKinds) {
  ServerOptions small;
  small.max_header_bytes = 64;
  small.max_body_bytes = 4;
  auto target = read("GET /" + std::string(100, 'a'), small);
  ASSERT_TRUE(target.answer);
  EXPECT_EQ(target.answer->kind(), ErrorKind::kUriTooLong);
  auto header =
      read("GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(100, 'a') + "\r\n\r\n", small);
  ASSERT_TRUE(header.answer);
  EXPECT_EQ(header.answer->kind(), ErrorKind::kHeaderTooLarge);
  auto body = read("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n12345", small);
  ASSERT_TRUE(body.answer);
  EXPECT_EQ(body.answer->kind(), ErrorKind::kPayloadTooLarge);
}

// The request line's end arrived with it, beyond the limit: the line still did not fit (414),
// not the header fields (431), as when the rest was yet to come.
TEST(RequestParserTest, ALongTargetIs414AlsoWhenTheWholeHeaderArrived) {
  ServerOptions small;
  small.max_header_bytes = 64;
  const std::string line = "GET /" + std::string(100, 'a') + " HTTP/1.1";
  for (const std::string& bytes : {line, line + "\r\nHost: t\r\n\r\n"}) {
    auto in = read(bytes, small);
    ASSERT_TRUE(in.answer) << bytes;
    EXPECT_EQ(in.answer->kind(), ErrorKind::kUriTooLong) << bytes;
  }
}

TEST(RequestParserTest, MalformedInputIsInvalidRequest) {
  for (std::string_view bytes :
       {"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{} ",
        "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", "GET\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"}) {
    auto in = read(bytes);
    ASSERT_TRUE(in.answer) << bytes;
    EXPECT_EQ(in.answer->kind(), ErrorKind::kInvalidRequest) << bytes;
  }
}

}  // namespace
}  // namespace tsunagu::http
