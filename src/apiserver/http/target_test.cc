#include "apiserver/http/target.h"

#include <gtest/gtest.h>

#include "apiserver/http/internal/request_reader.h"
#include "apiserver/http/internal/wire.h"

namespace knet::apiserver::http {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(ParseTargetTest, PathAndQuery) {
  auto t = ParseTarget(
      "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb%2Ctier+in+(a)&watch"
      "&resourceVersion=10&&x=a=b");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->path, "/api/v1/namespaces/default/pods");
  EXPECT_EQ(t->query, (Query{{"labelSelector", "app=web,tier in (a)"},
                             {"watch", ""},
                             {"resourceVersion", "10"},
                             {"x", "a=b"}}));
}

TEST(ParseTargetTest, PathIsPercentDecodedButPlusIsLiteral) {
  auto t = ParseTarget("/a%20b+c/%2Fd");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/a b+c//d");
  EXPECT_TRUE(t->query.empty());
}

TEST(ParseTargetTest, AbsoluteFormAndStar) {
  auto t = ParseTarget("https://example:6443/api?x=1#frag");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/api");
  EXPECT_EQ(t->query, (Query{{"x", "1"}}));
  auto bare = ParseTarget("http://example?y=2");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->path, "/");
  EXPECT_EQ(bare->query, (Query{{"y", "2"}}));
  auto star = ParseTarget("*");
  ASSERT_TRUE(star.ok());
  EXPECT_EQ(star->path, "*");
}

TEST(ParseTargetTest, Errors) {
  EXPECT_FALSE(ParseTarget("").ok());
  EXPECT_FALSE(ParseTarget("api/v1").ok());
  EXPECT_FALSE(ParseTarget("/a%2").ok());
  EXPECT_FALSE(ParseTarget("/a%zz").ok());
  EXPECT_FALSE(ParseTarget("/a%00b").ok());
  auto q = ParseTarget("/a?x=%G1");
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("query parameter \"x\""), std::string::npos);
}

TEST(RequestReaderTest, PipelinedRequestsAndPartialInput) {
  internal::RequestReader reader(8192, 1024);
  std::string in =
      "POST /a?b=c HTTP/1.1\r\nHost: x\r\nX-Mixed-Case: V\r\nContent-Length: 3\r\n\r\nabc"
      "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  // Feed the first request a byte at a time.
  size_t pos = 0;
  internal::RequestReader::State st = internal::RequestReader::State::kNeedMore;
  std::string pending;
  while (st == internal::RequestReader::State::kNeedMore) {
    pending += in[pos++];
    size_t used = 0;
    st = reader.Feed(pending, &used);
    pending.erase(0, used);
  }
  ASSERT_EQ(st, internal::RequestReader::State::kDone);
  Request r = reader.TakeRequest();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/a?b=c");
  EXPECT_EQ(r.path, "/a");
  EXPECT_EQ(r.QueryParam("b"), "c");
  EXPECT_EQ(r.QueryParam("nope"), std::nullopt);
  EXPECT_EQ(r.Header("x-mixed-case"), "V");
  EXPECT_EQ(r.Header("absent"), "");
  EXPECT_EQ(r.body, "abc");
  EXPECT_TRUE(reader.keep_alive());
  reader.Reset();
  EXPECT_TRUE(reader.AtRequestStart());
  size_t used = 0;
  std::string rest = pending + in.substr(pos);
  ASSERT_EQ(reader.Feed(rest, &used), internal::RequestReader::State::kDone);
  EXPECT_EQ(used, rest.size());
  Request r2 = reader.TakeRequest();
  EXPECT_EQ(r2.path, "/second");
  EXPECT_FALSE(reader.keep_alive());
}

TEST(RequestReaderTest, Limits) {
  {
    internal::RequestReader reader(8192, 10);
    size_t used = 0;
    EXPECT_EQ(reader.Feed("PUT / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", &used),
              internal::RequestReader::State::kError);
    EXPECT_EQ(reader.error_status(), 413);
  }
  {
    internal::RequestReader reader(64, 10);
    size_t used = 0;
    EXPECT_EQ(reader.Feed("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", &used),
              internal::RequestReader::State::kError);
    EXPECT_EQ(reader.error_status(), 431);
  }
  {
    internal::RequestReader reader(8192, 10);
    size_t used = 0;
    EXPECT_EQ(reader.Feed("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", &used),
              internal::RequestReader::State::kError);
    EXPECT_EQ(reader.error_status(), 400);
  }
}

// Found by http_request_fuzzer: Boost 1.74 asserted when the last chunk arrived a byte at a time.
TEST(RequestReaderTest, ChunkedBodyByteByByte) {
  internal::RequestReader reader(8192, 1024);
  std::string in = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  std::string pending;
  internal::RequestReader::State st = internal::RequestReader::State::kNeedMore;
  for (char c : in) {
    ASSERT_EQ(st, internal::RequestReader::State::kNeedMore);
    pending += c;
    size_t used = 0;
    st = reader.Feed(pending, &used);
    pending.erase(0, used);
  }
  ASSERT_EQ(st, internal::RequestReader::State::kDone);
  EXPECT_EQ(reader.TakeRequest().body, "hello");
}

TEST(RequestReaderTest, ExpectContinueOnce) {
  internal::RequestReader reader(8192, 1024);
  size_t used = 0;
  std::string head = "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_FALSE(reader.TakeExpectContinue());
  EXPECT_EQ(reader.Feed(head, &used), internal::RequestReader::State::kNeedMore);
  EXPECT_TRUE(reader.TakeExpectContinue());
  EXPECT_FALSE(reader.TakeExpectContinue());
  EXPECT_EQ(reader.Feed("hi", &used), internal::RequestReader::State::kDone);
  EXPECT_EQ(reader.TakeRequest().body, "hi");
}

TEST(WireTest, HeadSerialization) {
  std::string h = internal::SerializeHead(
      200, {{"Content-Type", "a/b"}, {"Content-Length", "999"}, {"X-Evil", "a\r\nSet-Cookie: x"}},
      internal::Framing::kContentLength, 5, true, 11);
  EXPECT_EQ(h,
            "HTTP/1.1 200 OK\r\nContent-Type: a/b\r\nX-Evil: aSet-Cookie: x\r\n"
            "Content-Length: 5\r\n\r\n");
  EXPECT_EQ(internal::SerializeHead(204, {}, internal::Framing::kContentLength, 0, false, 11),
            "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(internal::SerializeHead(200, {}, internal::Framing::kChunked, 0, true, 10),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(internal::ChunkHeader(255), "ff\r\n");
  EXPECT_EQ(internal::StatusJson(413, "RequestEntityTooLarge", "too \"big\""),
            R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
            R"("message":"too \"big\"","reason":"RequestEntityTooLarge","code":413})");
}

}  // namespace
}  // namespace knet::apiserver::http
