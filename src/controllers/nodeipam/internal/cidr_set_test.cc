#include "controllers/nodeipam/internal/cidr_set.h"

#include <gtest/gtest.h>

namespace knet::controllers::nodeipam_internal {
namespace {

base::Cidr C(const char* s) { return *base::Cidr::Parse(s); }

TEST(CidrSetTest, AllocatesInOrderAndExhausts) {
  auto set = CidrSet::Create(C("10.244.0.0/23"), 24);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->size(), 2u);
  EXPECT_EQ(set->AllocateNext()->ToString(), "10.244.0.0/24");
  EXPECT_EQ(set->AllocateNext()->ToString(), "10.244.1.0/24");
  base::StatusOr<base::Cidr> none = set->AllocateNext();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), base::StatusCode::kResourceExhausted);
  EXPECT_NE(none.status().message().find("10.244.0.0/23"), std::string::npos);
  set->Release(C("10.244.0.0/24"));
  EXPECT_EQ(set->used(), 1u);
  EXPECT_EQ(set->AllocateNext()->ToString(), "10.244.0.0/24");
}

TEST(CidrSetTest, OccupiedRangesAreSkipped) {
  auto set = CidrSet::Create(C("10.244.0.0/16"), 24);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->Occupy(C("10.244.0.0/24")).ok());
  ASSERT_TRUE(set->Occupy(C("10.244.1.0/24")).ok());
  EXPECT_FALSE(set->Occupy(C("10.245.0.0/24")).ok());  // outside
  EXPECT_FALSE(set->Occupy(C("10.244.2.0/25")).ok());  // wrong size
  EXPECT_EQ(set->AllocateNext()->ToString(), "10.244.2.0/24");
}

TEST(CidrSetTest, Ipv6WideClusterPrefix) {
  // /48 split into /64s: indexes beyond 2^64 addresses must still work.
  auto set = CidrSet::Create(C("fd00:10:244::/48"), 64);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_TRUE(set->Occupy(C("fd00:10:244::/64")).ok());
  EXPECT_EQ(set->AllocateNext()->ToString(), "fd00:10:244:1::/64");
  ASSERT_TRUE(set->Occupy(C("fd00:10:244:ffff::/64")).ok());
  EXPECT_EQ(set->used(), 3u);
}

TEST(CidrSetTest, RejectsBadMaskSizes) {
  EXPECT_FALSE(CidrSet::Create(C("10.244.0.0/16"), 8).ok());
  EXPECT_FALSE(CidrSet::Create(C("10.244.0.0/16"), 33).ok());
  EXPECT_FALSE(CidrSet::Create(C("10.0.0.0/8"), 25).ok());  // 17 bits of ranges
  EXPECT_TRUE(CidrSet::Create(C("10.0.0.0/8"), 24).ok());
}

}  // namespace
}  // namespace knet::controllers::nodeipam_internal
