#include "store/internal/list_util.h"

#include <gtest/gtest.h>

namespace knet::store::internal {
namespace {

TEST(ListUtilTest, PrefixEnd) {
  EXPECT_EQ(PrefixEnd("a/"), "a0");
  EXPECT_EQ(PrefixEnd(""), "");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("\xff\xff"), "");
}

TEST(ListUtilTest, ContinueTokenRoundTrips) {
  std::string key("pods/\0\xff/x", 9);
  std::string token = EncodeContinueToken(42, key);
  auto start = ResolveListStart("pods/", {.continue_token = token}, 50, 10);
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  EXPECT_EQ(start->revision, 42);
  EXPECT_EQ(start->start_key, key + std::string(1, '\0'));
  EXPECT_EQ(start->remaining, -1);
  auto counted =
      ResolveListStart("pods/", {.continue_token = EncodeContinueToken(42, key, 7)}, 50, 0);
  ASSERT_TRUE(counted.ok()) << counted.status().ToString();
  EXPECT_EQ(counted->remaining, 7);
  EXPECT_EQ(counted->start_key, key + std::string(1, '\0'));
}

TEST(ListUtilTest, RevisionChecks) {
  EXPECT_EQ(ResolveListStart("p", {.revision = 51}, 50, 10).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsCompacted(ResolveListStart("p", {.revision = 9}, 50, 10).status()));
  EXPECT_TRUE(ResolveListStart("p", {.revision = 10}, 50, 10).ok());
  EXPECT_EQ(ResolveListStart("p", {}, 50, 10)->revision, 50);
  for (const char* bad :
       {"x", "1:", "1:zz", "1:a", "-1:61", "a:61", "1x:61", "1:61:", "1:61:x", "1:61:-2"}) {
    EXPECT_EQ(ResolveListStart("", {.continue_token = bad}, 50, 0).status().code(),
              base::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(
      ResolveListStart("", {.continue_token = EncodeContinueToken(4, "a"), .revision = 3}, 50, 0)
          .status()
          .code(),
      base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace knet::store::internal
