#include "overlay/hostgw/hostgw.h"

#include <sys/socket.h>

#include <algorithm>

#include "gtest/gtest.h"
#include "kernel/netlink/fake_netlink.h"

namespace knet::overlay::hostgw {
namespace {

namespace nl = kernel::netlink;
using base::StatusCode;

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

NodeInfo Node(std::string name, std::string ip, std::string cidr) {
  NodeInfo n;
  n.name = std::move(name);
  n.internal_ips = {std::move(ip)};
  n.pod_cidrs = {std::move(cidr)};
  return n;
}

class HostGwTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nl_.CreateBridge({.name = "eth0", .mtu = 9000}).ok());
    eth0_ = *nl_.GetLink("eth0");
    ASSERT_TRUE(
        nl_.AddAddress({.link_index = eth0_.index, .ip = Ip("192.168.1.1"), .prefix_len = 24})
            .ok());
  }
  std::unique_ptr<HostGwBackend> Make() {
    auto b = HostGwBackend::Create({.netlink = &nl_});
    EXPECT_TRUE(b.ok());
    auto a = (*b)->Init(Node("n1", "192.168.1.1", "10.244.1.0/24"));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return std::move(*b);
  }
  std::vector<nl::Route> Routes() {
    std::vector<nl::Route> all = *nl_.ListRoutes(AF_INET);
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.dst < b.dst; });
    return all;
  }

  nl::FakeNetlink nl_;
  nl::Link eth0_;
};

TEST_F(HostGwTest, InitPublishesAndUsesTheUnderlayMtu) {
  auto b = HostGwBackend::Create({.netlink = &nl_});
  ASSERT_TRUE(b.ok());
  auto a = (*b)->Init(Node("n1", "192.168.1.1", "10.244.1.0/24"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::map<std::string, std::string>{{"knet.io/public-ip", "192.168.1.1"},
                                                    {"knet.io/backend-type", "host-gw"}}));
  EXPECT_EQ((*b)->PodMtu(), 9000u);
  EXPECT_EQ((*b)->Name(), "host-gw");
  EXPECT_TRUE(Routes().empty());
}

TEST_F(HostGwTest, RoutesViaEachNodeAndIncrementalChanges) {
  auto b = Make();
  auto n2 = Node("n2", "192.168.1.2", "10.244.2.0/24");
  auto n3 = Node("n3", "192.168.1.3", "10.244.3.0/24");
  NodeInfo pending;  // no podCIDR yet: skipped quietly
  pending.name = "n4";
  pending.internal_ips = {"192.168.1.4"};
  ASSERT_TRUE(b->Sync({n2, n3, pending}).ok());
  auto routes = Routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].dst, Net("10.244.2.0/24"));
  EXPECT_EQ(routes[0].gateway, Ip("192.168.1.2"));
  EXPECT_EQ(routes[0].link_index, eth0_.index);
  EXPECT_EQ(routes[0].protocol, kRouteProtocol);
  EXPECT_FALSE(routes[0].onlink);
  EXPECT_EQ(routes[1].gateway, Ip("192.168.1.3"));
  size_t sent = nl_.requests().size();
  ASSERT_TRUE(b->Sync({n2, n3}).ok());
  EXPECT_EQ(nl_.requests().size(), sent);  // nothing changed, nothing sent
  // n3 changes address, n2 its podCIDR.
  n3.internal_ips = {"192.168.1.33"};
  n2.pod_cidrs = {"10.244.9.0/24"};
  ASSERT_TRUE(b->Sync({n2, n3}).ok());
  routes = Routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].dst, Net("10.244.3.0/24"));
  EXPECT_EQ(routes[0].gateway, Ip("192.168.1.33"));
  EXPECT_EQ(routes[1].dst, Net("10.244.9.0/24"));
  // n2 leaves.
  ASSERT_TRUE(b->Sync({n3}).ok());
  ASSERT_EQ(Routes().size(), 1u);
  ASSERT_TRUE(b->Teardown().ok());
  EXPECT_TRUE(Routes().empty());
}

TEST_F(HostGwTest, NodeOffTheSegmentIsAnErrorAndGetsNoRoute) {
  auto b = Make();
  auto s = b->Sync(
      {Node("far", "10.9.9.9", "10.244.5.0/24"), Node("n2", "192.168.1.2", "10.244.2.0/24")});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("node far"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("host-gw needs all nodes on one L2 segment"), std::string::npos)
      << s.message();
  auto routes = Routes();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].dst, Net("10.244.2.0/24"));
  // The underlay gets an address on that segment after Init: the node becomes reachable.
  ASSERT_TRUE(
      nl_.AddAddress({.link_index = eth0_.index, .ip = Ip("10.9.9.1"), .prefix_len = 24}).ok());
  ASSERT_TRUE(b->Sync({Node("far", "10.9.9.9", "10.244.5.0/24"),
                       Node("n2", "192.168.1.2", "10.244.2.0/24")})
                  .ok());
  EXPECT_EQ(Routes().size(), 2u);
}

TEST_F(HostGwTest, FirstSyncAfterRestartRemovesStaleRoutesOnly) {
  auto b = Make();
  ASSERT_TRUE(b->Sync({Node("n2", "192.168.1.2", "10.244.2.0/24"),
                       Node("n3", "192.168.1.3", "10.244.3.0/24")})
                  .ok());
  ASSERT_TRUE(nl_.AddRoute({.dst = Net("172.16.0.0/16"),
                            .gateway = Ip("192.168.1.254"),
                            .link_index = eth0_.index})
                  .ok());
  auto b2 = Make();
  ASSERT_TRUE(b2->Sync({Node("n2", "192.168.1.2", "10.244.2.0/24")}).ok());
  auto routes = Routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].dst, Net("10.244.2.0/24"));
  EXPECT_EQ(routes[1].dst, Net("172.16.0.0/16"));  // not ours: kept
  ASSERT_TRUE(b2->Teardown().ok());
  ASSERT_EQ(Routes().size(), 1u);
}

TEST_F(HostGwTest, DualStack) {
  ASSERT_TRUE(
      nl_.AddAddress({.link_index = eth0_.index, .ip = Ip("fd00:77::1"), .prefix_len = 64}).ok());
  auto b = Make();
  NodeInfo n2 = Node("n2", "192.168.1.2", "10.244.2.0/24");
  n2.internal_ips.push_back("fd00:77::2");
  n2.pod_cidrs.push_back("fd00:10:244:2::/64");
  NodeInfo far6 = Node("far6", "192.168.1.3", "10.244.3.0/24");
  far6.internal_ips.push_back("fd00:99::3");  // IPv6 on another segment
  far6.pod_cidrs.push_back("fd00:10:244:3::/64");
  auto s = b->Sync({n2, far6});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("node far6 (InternalIP fd00:99::3"), std::string::npos) << s.message();
  std::vector<nl::Route> v6 = *nl_.ListRoutes(AF_INET6);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0].dst, Net("fd00:10:244:2::/64"));
  EXPECT_EQ(v6[0].gateway, Ip("fd00:77::2"));
  EXPECT_EQ(v6[0].protocol, kRouteProtocol);
  EXPECT_EQ(nl_.ListRoutes(AF_INET)->size(), 2u);  // far6's IPv4 side is fine
  // n2 drops IPv6: only that route goes.
  n2.internal_ips.pop_back();
  n2.pod_cidrs.pop_back();
  EXPECT_EQ(b->Sync({n2, far6}).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(nl_.ListRoutes(AF_INET6)->empty());
  EXPECT_EQ(nl_.ListRoutes(AF_INET)->size(), 2u);
  ASSERT_TRUE(b->Teardown().ok());
  EXPECT_TRUE(nl_.ListRoutes(AF_UNSPEC)->empty());
}

TEST_F(HostGwTest, Errors) {
  auto b = HostGwBackend::Create({.netlink = &nl_});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->Sync({}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*b)->Init(Node("n1", "192.168.5.5", "10.244.1.0/24")).status().code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(HostGwBackend::Create({}).ok());
}

}  // namespace
}  // namespace knet::overlay::hostgw
