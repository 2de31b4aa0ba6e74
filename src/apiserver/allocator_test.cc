#include "apiserver/allocator.h"

#include <gtest/gtest.h>

#include <set>

namespace knet::apiserver {
namespace {

base::Cidr C(const char* s) { return *base::Cidr::Parse(s); }
base::IPAddress A(const char* s) { return *base::IPAddress::Parse(s); }

TEST(ServiceIpAllocator, HandsOutEveryUsableAddressOnceThenRunsOut) {
  auto alloc = ServiceIpAllocator::Create({C("10.96.0.0/29")});
  ASSERT_TRUE(alloc.ok());
  std::set<std::string> got;
  for (int i = 0; i < 6; ++i) {
    auto ip = alloc->AllocateNext(base::IPFamily::kV4);
    ASSERT_TRUE(ip.ok()) << ip.status().message();
    got.insert(ip->ToString());
  }
  EXPECT_EQ(got, (std::set<std::string>{"10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.4",
                                        "10.96.0.5", "10.96.0.6"}));
  auto full = alloc->AllocateNext(base::IPFamily::kV4);
  EXPECT_EQ(full.status().code(), base::StatusCode::kResourceExhausted);
  alloc->Release(A("10.96.0.4"));
  EXPECT_EQ(alloc->AllocateNext(base::IPFamily::kV4)->ToString(), "10.96.0.4");
}

TEST(ServiceIpAllocator, SpecificAddressesFollowUpstreamMessages) {
  auto alloc = ServiceIpAllocator::Create({C("10.96.0.0/12")});
  ASSERT_TRUE(alloc.ok());
  EXPECT_TRUE(alloc->Allocate(A("10.96.0.10")).ok());
  base::Status again = alloc->Allocate(A("10.96.0.10"));
  EXPECT_EQ(again.code(), base::StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find("provided IP is already allocated"), std::string::npos);
  base::Status outside = alloc->Allocate(A("192.168.0.1"));
  EXPECT_EQ(outside.code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(outside.message().find("The range of valid IPs is 10.96.0.0/12"), std::string::npos);
  // The network and broadcast addresses are never valid.
  EXPECT_FALSE(alloc->Allocate(A("10.96.0.0")).ok());
  EXPECT_FALSE(alloc->Allocate(A("10.111.255.255")).ok());
  // The cursor moves on: a released address is not the very next one handed out.
  auto a = *alloc->AllocateNext(base::IPFamily::kV4);
  alloc->Release(a);
  EXPECT_NE(*alloc->AllocateNext(base::IPFamily::kV4), a);
}

TEST(ServiceIpAllocator, DualStackAndLimits) {
  auto alloc = ServiceIpAllocator::Create({C("10.96.0.0/16"), C("fd00:10:96::/112")});
  ASSERT_TRUE(alloc.ok());
  EXPECT_TRUE(alloc->AllocateNext(base::IPFamily::kV6)->is_v6());
  EXPECT_FALSE(ServiceIpAllocator::Create({C("10.96.0.0/16"), C("10.97.0.0/16")}).ok());
  EXPECT_FALSE(ServiceIpAllocator::Create({C("fd00::/64")}).ok());  // too large for a bitmap
  auto v4only = ServiceIpAllocator::Create({C("10.96.0.0/24")});
  EXPECT_EQ(v4only->AllocateNext(base::IPFamily::kV6).status().code(),
            base::StatusCode::kFailedPrecondition);
}

TEST(PortAllocator, RangeAllocateAndRelease) {
  auto ports = PortAllocator::Parse("30000-30002");
  ASSERT_TRUE(ports.ok());
  EXPECT_TRUE(ports->Allocate(30001).ok());
  EXPECT_EQ(ports->Allocate(30001).code(), base::StatusCode::kAlreadyExists);
  base::Status out = ports->Allocate(80);
  EXPECT_NE(out.message().find("The range of valid ports is 30000-30002"), std::string::npos);
  std::set<int> got{30001};
  got.insert(*ports->AllocateNext());
  got.insert(*ports->AllocateNext());
  EXPECT_EQ(got, (std::set<int>{30000, 30001, 30002}));
  EXPECT_FALSE(ports->AllocateNext().ok());
  ports->Release(30000);
  EXPECT_EQ(*ports->AllocateNext(), 30000);
  EXPECT_FALSE(PortAllocator::Parse("32767-30000").ok());
  EXPECT_FALSE(PortAllocator::Parse("30000").ok());
  EXPECT_FALSE(PortAllocator::Parse("a-b").ok());
}

}  // namespace
}  // namespace knet::apiserver
