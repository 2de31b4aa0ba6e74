#include "base/duration.h"

#include <gtest/gtest.h>

namespace knet::base {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesGoSyntax) {
  EXPECT_EQ(*ParseDuration("40s"), 40s);
  EXPECT_EQ(*ParseDuration("1m30s"), 90s);
  EXPECT_EQ(*ParseDuration("500ms"), 500ms);
  EXPECT_EQ(*ParseDuration("1.5h"), 90min);
  EXPECT_EQ(*ParseDuration("0"), 0s);
  EXPECT_EQ(*ParseDuration("0s"), 0s);
  EXPECT_EQ(*ParseDuration("250us"), 250us);
  EXPECT_EQ(*ParseDuration("-2s"), -2s);
}

TEST(DurationTest, RefusesBadInputNamingIt) {
  for (const char* bad : {"", "40", "s", "4x", "1.2.3s", "--1s"}) {
    StatusOr<std::chrono::nanoseconds> d = ParseDuration(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(d.status().message().find(std::string("\"") + bad + "\""), std::string::npos)
        << d.status().message();
  }
}

TEST(DurationTest, FormatsShortestForm) {
  EXPECT_EQ(FormatDuration(40s), "40s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(500ms), "500ms");
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(3600s), "1h0m0s");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
}

}  // namespace
}  // namespace knet::base
