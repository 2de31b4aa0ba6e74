#include "api/values.h"

#include <gtest/gtest.h>

namespace knet::api {
namespace {

TEST(Time, ParsesRfc3339WithOffsetsAndFractions) {
  auto t = Time::Parse("2026-11-24T10:00:00Z");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->unix_seconds(), 1795514400);
  EXPECT_EQ(t->ToRfc3339(), "2026-11-24T10:00:00Z");

  auto off = Time::Parse("2026-11-24T12:30:00+02:30");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->ToRfc3339(), "2026-11-24T10:00:00Z");

  auto frac = Time::Parse("2026-11-24T10:00:05.123456789Z");
  ASSERT_TRUE(frac.ok());
  EXPECT_EQ(frac->ToRfc3339Micro(), "2026-11-24T10:00:05.123456Z");
  EXPECT_EQ(frac->ToRfc3339(), "2026-11-24T10:00:05Z");
  EXPECT_EQ(frac->unix_nanos() % 1'000'000'000, 123456789);
}

TEST(Time, BeforeTheEpochFormatsCorrectly) {
  auto t = Time::Parse("1969-12-31T23:59:59.5Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->unix_seconds(), -1);
  EXPECT_EQ(t->ToRfc3339Micro(), "1969-12-31T23:59:59.500000Z");
}

TEST(Time, RejectsMalformed) {
  for (const char* bad :
       {"", "2026-11-24", "2026-11-24T10:00:00", "2026-02-30T10:00:00Z", "2026-11-24T25:00:00Z",
        "2026-11-24T10:00:00.Z", "2026-11-24 10:00:00Z", "2026-11-24T10:00:00Zjunk",
        "2026-11-24T10:00:00+0200", "9999-01-01T00:00:00Z"}) {
    auto t = Time::Parse(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_NE(t.status().message().find(bad), std::string::npos) << bad;
    }
  }
}

TEST(Quantity, AcceptsKubernetesForms) {
  struct Case {
    const char* text;
    int64_t milli;
  };
  for (const Case& c :
       {Case{"100m", 100}, Case{"1", 1000}, Case{"2.5", 2500}, Case{"1Ki", 1024000},
        Case{"512Mi", 512LL * 1024 * 1024 * 1000}, Case{"1k", 1000000}, Case{"1e3", 1000000},
        Case{"+.5", 500}, Case{"-1", -1000}, Case{"250u", 1}, Case{"1E", INT64_MAX}}) {
    auto q = Quantity::Parse(c.text);
    ASSERT_TRUE(q.ok()) << c.text << ": " << q.status().ToString();
    EXPECT_EQ(q->ToString(), c.text);
    EXPECT_EQ(q->MilliValue(), c.milli) << c.text;
  }
}

TEST(Quantity, RejectsGarbage) {
  for (const char* bad : {"", "m", "1.2.3", "1KB", "1kk", "abc", "1e", "1e99", "10 Mi"}) {
    auto q = Quantity::Parse(bad);
    EXPECT_FALSE(q.ok()) << bad;
  }
}

TEST(IntOrString, ScalesPercentages) {
  EXPECT_EQ(*IntOrString::FromString("25%").ScaledValue(10, true), 3);
  EXPECT_EQ(*IntOrString::FromString("25%").ScaledValue(10, false), 2);
  EXPECT_EQ(*IntOrString::FromInt(4).ScaledValue(10, true), 4);
  EXPECT_FALSE(IntOrString::FromString("abc").ScaledValue(10, true).ok());
  EXPECT_FALSE(IntOrString::FromString("%").ScaledValue(10, true).ok());
}

TEST(IntOrString, KeepsItsKind) {
  EXPECT_NE(IntOrString::FromInt(80), IntOrString::FromString("80"));
  EXPECT_EQ(IntOrString::FromString("http").ToString(), "http");
  EXPECT_EQ(IntOrString::FromInt(80).ToString(), "80");
  EXPECT_TRUE(IntOrString().IsZero());
}

}  // namespace
}  // namespace knet::api
