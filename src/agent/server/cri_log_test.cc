#include "agent/server/cri_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace knet::agent::server {
namespace {

class CriLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_cri_log_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/0.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Append(const std::string& text) {
    std::ofstream out(path_, std::ios::app);
    out << text;
  }
  std::string Read(const LogOptions& o) {
    std::string out;
    auto st = ReadLog(
        path_, o,
        [&](std::string_view b) {
          out.append(b);
          return true;
        },
        [] { return false; });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  std::string dir_, path_;
};

TEST(CriLineTest, ParsesTheFormat) {
  auto l = ParseCriLine("2026-11-25T01:02:03.123456789Z stdout F hello world");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->stream, "stdout");
  EXPECT_FALSE(l->partial);
  EXPECT_EQ(l->content, "hello world");
  EXPECT_EQ(FormatTimestamp(l->time_ns), "2026-11-25T01:02:03.123456789Z");
  auto p = ParseCriLine("2026-11-25T01:02:03Z stderr P ");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->partial);
  EXPECT_EQ(p->content, "");
  EXPECT_EQ(FormatTimestamp(p->time_ns), "2026-11-25T01:02:03.000000000Z");
  // An offset is honoured; trailing zeros may be trimmed (Go's RFC3339Nano).
  auto o = ParseCriLine("2026-11-25T02:02:03.5+01:00 stdout F x");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(FormatTimestamp(o->time_ns), "2026-11-25T01:02:03.500000000Z");
  for (const char* bad : {"", "garbage", "2026-11-25T01:02:03Z stdin F x",
                          "2026-11-25T01:02:03Z stdout X x", "2026-13-25T01:02:03Z stdout F x",
                          "2026-11-25 01:02:03Z stdout F x", "2026-11-25T01:02:03Z"}) {
    EXPECT_FALSE(ParseCriLine(bad).ok()) << bad;
  }
}

TEST_F(CriLogTest, ContentTimestampsAndPartialLines) {
  Append(
      "2026-11-25T01:00:00.1Z stdout F one\n"
      "2026-11-25T01:00:01Z stderr P tw\n"
      "2026-11-25T01:00:02Z stderr F o\n"
      "not a cri line\n"
      "2026-11-25T01:00:03Z stdout F three\n");
  EXPECT_EQ(Read({}), "one\ntwo\nthree\n");
  LogOptions ts;
  ts.timestamps = true;
  EXPECT_EQ(Read(ts),
            "2026-11-25T01:00:00.100000000Z one\n"
            "2026-11-25T01:00:01.000000000Z two\n"
            "2026-11-25T01:00:03.000000000Z three\n");
}

TEST_F(CriLogTest, TailCountsJoinedLines) {
  Append(
      "2026-11-25T01:00:00Z stdout F a\n"
      "2026-11-25T01:00:01Z stdout P b1\n"
      "2026-11-25T01:00:01Z stdout F b2\n"
      "2026-11-25T01:00:02Z stdout F c\n");
  LogOptions o;
  o.tail_lines = 2;
  EXPECT_EQ(Read(o), "b1b2\nc\n");
  o.tail_lines = 1;
  EXPECT_EQ(Read(o), "c\n");
  o.tail_lines = 0;
  EXPECT_EQ(Read(o), "");
  o.tail_lines = 100;
  EXPECT_EQ(Read(o), "a\nb1b2\nc\n");
}

TEST_F(CriLogTest, SinceAndLimitBytes) {
  Append(
      "2026-11-25T01:00:00Z stdout F old\n"
      "2026-11-25T01:00:10Z stdout F new\n"
      "2026-11-25T01:00:20Z stdout F newer\n");
  LogOptions since;
  since.since_ns = *ParseRfc3339Nano("2026-11-25T01:00:05Z");
  EXPECT_EQ(Read(since), "new\nnewer\n");
  LogOptions limit;
  limit.limit_bytes = 6;
  EXPECT_EQ(Read(limit), "old\nne");
}

TEST_F(CriLogTest, MissingFileIsNotFound) {
  auto st = ReadLog(
      dir_ + "/nope.log", {}, [](std::string_view) { return true; }, [] { return false; });
  EXPECT_EQ(st.code(), base::StatusCode::kNotFound);
}

TEST_F(CriLogTest, FollowSeesNewLinesAndEndsWhenTheContainerStops) {
  Append("2026-11-25T01:00:00Z stdout F first\n");
  std::atomic<bool> running{true};
  std::mutex mu;
  std::string out;
  LogOptions o;
  o.follow = true;
  std::thread reader([&] {
    auto st = ReadLog(
        path_, o,
        [&](std::string_view b) {
          std::lock_guard<std::mutex> lock(mu);
          out.append(b);
          return true;
        },
        [&] { return running.load(); });
    EXPECT_TRUE(st.ok()) << st.ToString();
  });
  auto wait_for = [&](const std::string& want) {
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (out == want) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard<std::mutex> lock(mu);
    ADD_FAILURE() << "got \"" << out << "\", want \"" << want << "\"";
    return false;
  };
  wait_for("first\n");
  // A line written in two pieces (no newline yet) is printed once complete.
  Append("2026-11-25T01:00:01Z stdout F sec");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  Append("ond\n");
  wait_for("first\nsecond\n");
  // The container stops right after writing a last line: it is still printed, then ReadLog ends.
  Append("2026-11-25T01:00:02Z stdout F last\n");
  running = false;
  reader.join();
  EXPECT_EQ(out, "first\nsecond\nlast\n");
}

TEST_F(CriLogTest, FollowEndsWhenTheWriterRefuses) {
  Append("2026-11-25T01:00:00Z stdout F first\n");
  LogOptions o;
  o.follow = true;
  int calls = 0;
  auto st = ReadLog(
      path_, o,
      [&](std::string_view) {
        ++calls;
        return false;
      },
      [] { return true; });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace knet::agent::server
