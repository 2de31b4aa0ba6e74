#include "overlay/vxlan/vxlan.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>

#include "gtest/gtest.h"
#include "kernel/netlink/fake_netlink.h"

namespace knet::overlay::vxlan {
namespace {

namespace nl = kernel::netlink;
using base::StatusCode;

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }
base::MacAddress Mac(const char* s) { return *base::MacAddress::Parse(s); }

NodeInfo Node(std::string name, std::string ip, std::string cidr, std::string mac = "") {
  NodeInfo n;
  n.name = std::move(name);
  n.internal_ips = {std::move(ip)};
  n.pod_cidrs = {std::move(cidr)};
  if (!mac.empty()) n.annotations[std::string(kVtepMacAnnotation)] = mac;
  return n;
}

class VxlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nl_.CreateBridge({.name = "eth0", .mtu = 1500}).ok());
    eth0_ = *nl_.GetLink("eth0");
    ASSERT_TRUE(
        nl_.AddAddress({.link_index = eth0_.index, .ip = Ip("192.168.1.1"), .prefix_len = 24})
            .ok());
  }

  std::unique_ptr<VxlanBackend> Make(bool direct = false) {
    auto b = VxlanBackend::Create({.netlink = &nl_, .direct_routing = direct});
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(*b) : nullptr;
  }

  std::map<std::string, std::string> InitSelf(VxlanBackend& b) {
    auto a = b.Init(Node("n1", "192.168.1.1", "10.244.1.0/24"));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    device_ = *nl_.GetLink("knet.1");
    return a.ok() ? *a : std::map<std::string, std::string>{};
  }

  std::vector<nl::Route> RoutesOn(int link) {
    std::vector<nl::Route> out;
    std::vector<nl::Route> all = *nl_.ListRoutes(AF_INET);
    for (const nl::Route& r : all) {
      if (r.link_index == link) out.push_back(r);
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.dst < b.dst; });
    return out;
  }
  std::vector<nl::Neighbor> Neigh(nl::NeighborKind kind) {
    auto v = *nl_.ListNeighbors(kind);
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return *a.ip < *b.ip; });
    return v;
  }

  nl::FakeNetlink nl_;
  nl::Link eth0_;
  nl::Link device_;
};

TEST_F(VxlanTest, InitCreatesDeviceAndPublishesMac) {
  auto b = Make();
  auto annotations = InitSelf(*b);
  ASSERT_TRUE(device_.vxlan.has_value());
  EXPECT_EQ(device_.kind, "vxlan");
  EXPECT_EQ(device_.vxlan->vni, 1u);
  EXPECT_EQ(device_.vxlan->port, 8472);
  EXPECT_FALSE(device_.vxlan->learning);
  EXPECT_EQ(device_.vxlan->local, Ip("192.168.1.1"));
  EXPECT_EQ(device_.vxlan->link_index, eth0_.index);
  EXPECT_EQ(device_.mtu, 1450u);
  EXPECT_TRUE(device_.up());
  EXPECT_EQ(b->PodMtu(), 1450u);
  EXPECT_EQ(annotations,
            (std::map<std::string, std::string>{{"knet.io/vtep-mac", device_.mac.ToString()},
                                                {"knet.io/public-ip", "192.168.1.1"},
                                                {"knet.io/backend-type", "vxlan"}}));
  auto addrs = *nl_.ListLinkAddresses(device_.index, AF_INET);
  ASSERT_EQ(addrs.size(), 1u);
  EXPECT_EQ(addrs[0].ToString(), "10.244.1.0/32");
}

TEST_F(VxlanTest, InitAdoptsExistingDeviceKeepingItsMac) {
  auto b = Make();
  InitSelf(*b);
  const nl::Link first = device_;
  // A restarted agent: a new backend on the same kernel state.
  auto b2 = Make();
  auto annotations = InitSelf(*b2);
  EXPECT_EQ(device_.index, first.index);  // not recreated
  EXPECT_EQ(annotations["knet.io/vtep-mac"], first.mac.ToString());
  // A device with other settings (another VNI) is recreated, still with a stable MAC.
  auto b3 = VxlanBackend::Create({.netlink = &nl_, .vni = 7});
  ASSERT_TRUE(b3.ok());
  auto a3 = (*b3)->Init(Node("n1", "192.168.1.1", "10.244.1.0/24"));
  ASSERT_TRUE(a3.ok()) << a3.status().ToString();
  auto recreated = *nl_.GetLink("knet.1");
  EXPECT_NE(recreated.index, first.index);
  EXPECT_EQ(recreated.vxlan->vni, 7u);
  EXPECT_EQ(recreated.mac, first.mac);
}

TEST_F(VxlanTest, InitErrors) {
  auto b = Make();
  auto no_ip = b->Init(Node("n1", "192.168.9.9", "10.244.1.0/24"));
  EXPECT_EQ(no_ip.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_ip.status().message().find("no interface has address 192.168.9.9"),
            std::string::npos)
      << no_ip.status().message();
  NodeInfo no_cidr = Node("n1", "192.168.1.1", "");
  no_cidr.pod_cidrs.clear();
  EXPECT_EQ(b->Init(no_cidr).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(b->Sync({}).code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(VxlanBackend::Create({.netlink = &nl_, .vni = 0}).ok());
  EXPECT_FALSE(VxlanBackend::Create({.netlink = nullptr}).ok());
}

TEST_F(VxlanTest, SyncProgramsRouteNeighbourAndFdb) {
  auto b = Make();
  InitSelf(*b);
  ASSERT_TRUE(b->Sync({Node("n2", "192.168.1.2", "10.244.2.0/24", "aa:00:00:00:00:02"),
                       Node("n3", "192.168.1.3", "10.244.3.0/24", "aa:00:00:00:00:03"),
                       // Not ready yet: no MAC published; skipped without an error.
                       Node("n4", "192.168.1.4", "10.244.4.0/24")})
                  .ok());
  auto routes = RoutesOn(device_.index);
  ASSERT_EQ(routes.size(), 2u);
  // Exactly: ip route replace 10.244.2.0/24 via 10.244.2.0 dev knet.1 onlink proto 75.
  nl::Route want;
  want.dst = Net("10.244.2.0/24");
  want.gateway = Ip("10.244.2.0");
  want.link_index = device_.index;
  want.onlink = true;
  want.scope = RT_SCOPE_UNIVERSE;
  want.protocol = kRouteProtocol;
  EXPECT_EQ(routes[0], want);
  want.dst = Net("10.244.3.0/24");
  want.gateway = Ip("10.244.3.0");
  EXPECT_EQ(routes[1], want);
  // And the pure computation agrees with what was programmed.
  auto entries = VxlanBackend::EntriesFor(
      Node("n2", "192.168.1.2", "10.244.2.0/24", "aa:00:00:00:00:02"), device_.index,
      {.link_index = eth0_.index,
       .link_name = "eth0",
       .mtu = 1500,
       .ip = Ip("192.168.1.1"),
       .subnets = {Net("192.168.1.0/24")}},
      false);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->route, routes[0]);
  ASSERT_TRUE(entries->neighbor && entries->fdb);
  EXPECT_EQ(entries->fdb->kind, nl::NeighborKind::kFdb);
  EXPECT_EQ(entries->fdb->ip, Ip("192.168.1.2"));
  auto neigh = Neigh(nl::NeighborKind::kIp);
  ASSERT_EQ(neigh.size(), 2u);
  EXPECT_EQ(neigh[0].ip, Ip("10.244.2.0"));
  EXPECT_EQ(neigh[0].mac, Mac("aa:00:00:00:00:02"));
  EXPECT_EQ(neigh[0].state, NUD_PERMANENT);
  EXPECT_EQ(neigh[0].link_index, device_.index);
  auto fdb = Neigh(nl::NeighborKind::kFdb);
  ASSERT_EQ(fdb.size(), 2u);
  EXPECT_EQ(fdb[0].ip, Ip("192.168.1.2"));
  EXPECT_EQ(fdb[0].mac, Mac("aa:00:00:00:00:02"));
  EXPECT_EQ(fdb[1].ip, Ip("192.168.1.3"));
  EXPECT_EQ(fdb[1].link_index, device_.index);
}

TEST_F(VxlanTest, IncrementalJoinLeaveAndChange) {
  auto b = Make();
  InitSelf(*b);
  auto n2 = Node("n2", "192.168.1.2", "10.244.2.0/24", "aa:00:00:00:00:02");
  auto n3 = Node("n3", "192.168.1.3", "10.244.3.0/24", "aa:00:00:00:00:03");
  ASSERT_TRUE(b->Sync({n2}).ok());
  size_t before = nl_.requests().size();
  // Same list again: nothing sent.
  ASSERT_TRUE(b->Sync({n2}).ok());
  EXPECT_EQ(nl_.requests().size(), before);
  // Join: only n3's three entries.
  ASSERT_TRUE(b->Sync({n2, n3}).ok());
  EXPECT_EQ(nl_.requests().size(), before + 3);
  // n3 changes its MAC (its agent recreated the device) and its InternalIP.
  n3.annotations["knet.io/vtep-mac"] = "aa:00:00:00:00:33";
  n3.internal_ips = {"192.168.1.33"};
  ASSERT_TRUE(b->Sync({n2, n3}).ok());
  auto fdb = Neigh(nl::NeighborKind::kFdb);
  ASSERT_EQ(fdb.size(), 2u);
  EXPECT_EQ(fdb[1].ip, Ip("192.168.1.33"));
  EXPECT_EQ(fdb[1].mac, Mac("aa:00:00:00:00:33"));
  auto neigh = Neigh(nl::NeighborKind::kIp);
  ASSERT_EQ(neigh.size(), 2u);
  EXPECT_EQ(neigh[1].mac, Mac("aa:00:00:00:00:33"));
  // n3's podCIDR changes: the old route goes.
  n3.pod_cidrs = {"10.244.7.0/24"};
  ASSERT_TRUE(b->Sync({n2, n3}).ok());
  auto routes = RoutesOn(device_.index);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[1].dst, Net("10.244.7.0/24"));
  neigh = Neigh(nl::NeighborKind::kIp);
  ASSERT_EQ(neigh.size(), 2u);
  EXPECT_EQ(neigh[1].ip, Ip("10.244.7.0"));
  // Leave: n2's route, neighbour and FDB entry are removed.
  ASSERT_TRUE(b->Sync({n3}).ok());
  EXPECT_EQ(RoutesOn(device_.index).size(), 1u);
  EXPECT_EQ(Neigh(nl::NeighborKind::kIp).size(), 1u);
  fdb = Neigh(nl::NeighborKind::kFdb);
  ASSERT_EQ(fdb.size(), 1u);
  EXPECT_EQ(fdb[0].mac, Mac("aa:00:00:00:00:33"));
  ASSERT_TRUE(b->Sync({}).ok());
  EXPECT_TRUE(RoutesOn(device_.index).empty());
  EXPECT_TRUE(Neigh(nl::NeighborKind::kIp).empty());
  EXPECT_TRUE(Neigh(nl::NeighborKind::kFdb).empty());
}

TEST_F(VxlanTest, FirstSyncAfterRestartRemovesStaleEntriesOnly) {
  auto b = Make();
  InitSelf(*b);
  auto n2 = Node("n2", "192.168.1.2", "10.244.2.0/24", "aa:00:00:00:00:02");
  auto n3 = Node("n3", "192.168.1.3", "10.244.3.0/24", "aa:00:00:00:00:03");
  ASSERT_TRUE(b->Sync({n2, n3}).ok());
  // Somebody else's route on the underlay must survive.
  ASSERT_TRUE(nl_.AddRoute({.dst = Net("172.16.0.0/16"),
                            .gateway = Ip("192.168.1.254"),
                            .link_index = eth0_.index})
                  .ok());
  // Restart; n3 left while the agent was down.
  auto b2 = Make();
  InitSelf(*b2);
  ASSERT_TRUE(b2->Sync({n2}).ok());
  auto routes = RoutesOn(device_.index);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].dst, Net("10.244.2.0/24"));
  EXPECT_EQ(Neigh(nl::NeighborKind::kIp).size(), 1u);
  ASSERT_EQ(Neigh(nl::NeighborKind::kFdb).size(), 1u);
  EXPECT_EQ(RoutesOn(eth0_.index).size(), 1u);
  // n2's entries were replaced in place, never deleted.
  for (const nl::Request& r : nl_.requests()) {
    EXPECT_EQ(r.what().find("deleting route 10.244.2.0/24"), std::string::npos) << r.what();
  }
}

TEST_F(VxlanTest, DirectRoutingOnSameSegment) {
  auto b = Make(/*direct=*/true);
  InitSelf(*b);
  ASSERT_TRUE(b->Sync({Node("n2", "192.168.1.2", "10.244.2.0/24", "aa:00:00:00:00:02"),
                       // Another segment: encapsulated.
                       Node("n3", "192.168.7.3", "10.244.3.0/24", "aa:00:00:00:00:03")})
                  .ok());
  auto direct = RoutesOn(eth0_.index);
  ASSERT_EQ(direct.size(), 1u);
  EXPECT_EQ(direct[0].dst, Net("10.244.2.0/24"));
  EXPECT_EQ(direct[0].gateway, Ip("192.168.1.2"));
  EXPECT_FALSE(direct[0].onlink);
  EXPECT_EQ(direct[0].protocol, kRouteProtocol);
  auto over = RoutesOn(device_.index);
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0].dst, Net("10.244.3.0/24"));
  ASSERT_EQ(Neigh(nl::NeighborKind::kFdb).size(), 1u);
  EXPECT_EQ(Neigh(nl::NeighborKind::kFdb)[0].ip, Ip("192.168.7.3"));
  // Teardown removes the device and the direct route.
  ASSERT_TRUE(b->Teardown().ok());
  EXPECT_FALSE(nl_.GetLink("knet.1").ok());
  EXPECT_TRUE(RoutesOn(eth0_.index).empty());
  EXPECT_TRUE(Neigh(nl::NeighborKind::kFdb).empty());
  ASSERT_TRUE(b->Teardown().ok());  // idempotent
  // A fresh process that never ran Init (a cleanup) still finds the direct routes by protocol.
  auto b2 = Make(/*direct=*/true);
  InitSelf(*b2);
  ASSERT_TRUE(b2->Sync({Node("n2", "192.168.1.2", "10.244.2.0/24")}).ok());
  ASSERT_EQ(RoutesOn(eth0_.index).size(), 1u);
  auto cleaner = Make();
  ASSERT_TRUE(cleaner->Teardown().ok());
  EXPECT_TRUE(RoutesOn(eth0_.index).empty());
  EXPECT_FALSE(nl_.GetLink("knet.1").ok());
}

TEST_F(VxlanTest, BadAnnotationNamesTheNodeAndOthersStillApply) {
  auto b = Make();
  InitSelf(*b);
  auto s = b->Sync({Node("n2", "192.168.1.2", "10.244.2.0/24", "not-a-mac"),
                    Node("n3", "192.168.1.3", "10.244.3.0/24", "aa:00:00:00:00:03")});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("node n2"), std::string::npos) << s.message();
  EXPECT_EQ(RoutesOn(device_.index).size(), 1u);
}

TEST_F(VxlanTest, KernelFailureIsRetriedOnTheNextSync) {
  auto b = Make();
  InitSelf(*b);
  auto n2 = Node("n2", "192.168.1.2", "10.244.2.0/24", "aa:00:00:00:00:02");
  auto n3 = Node("n3", "192.168.1.3", "10.244.3.0/24", "aa:00:00:00:00:03");
  ASSERT_TRUE(b->Sync({}).ok());
  nl_.FailNext("route 10.244.2.0/24", ENOBUFS);
  auto s = b->Sync({n2, n3});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("programming node n2"), std::string::npos) << s.message();
  EXPECT_EQ(RoutesOn(device_.index).size(), 1u);  // n3 applied regardless
  ASSERT_TRUE(b->Sync({n2, n3}).ok());
  EXPECT_EQ(RoutesOn(device_.index).size(), 2u);
}

}  // namespace
}  // namespace knet::overlay::vxlan
