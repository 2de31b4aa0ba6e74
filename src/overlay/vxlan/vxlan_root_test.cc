// Root tests: VxlanBackend on the real kernel, two node namespaces on a test underlay bridge
// (internal/two_nodes.h), traffic between pod addresses over the VXLAN.
#include <linux/neighbour.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "overlay/vxlan/internal/two_nodes.h"
#include "overlay/vxlan/vxlan.h"

namespace knet::overlay::vxlan {
namespace {

namespace nl = kernel::netlink;

class VxlanRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
    base::Status s = env_.SetUp();
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < 2; ++i) {
      auto b = VxlanBackend::Create({.netlink = &env_.nl(i)});
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      backends_[i] = std::move(*b);
      auto a = backends_[i]->Init(testing::TwoNodes::Info(i));
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      annotations_[i] = *a;
    }
  }
  std::vector<nl::Route> Routes(int i) {
    auto r = env_.nl(i).ListRoutes(AF_INET);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<nl::Route>{};
  }
  std::vector<nl::Neighbor> Neighbors(int i, nl::NeighborKind kind) {
    auto r = env_.nl(i).ListNeighbors(kind);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<nl::Neighbor>{};
  }
  // Node i as the other sees it.
  NodeInfo Peer(int i) { return testing::TwoNodes::Info(i, annotations_[i]); }

  // Entries on node i's knet.1 for the other node's podCIDR.
  struct Counts {
    size_t routes = 0, neighbors = 0, fdb = 0;
  };
  Counts On(int i) {
    Counts c;
    int dev = env_.nl(i).GetLink("knet.1")->index;
    for (const nl::Route& r : Routes(i)) {
      if (r.link_index == dev && r.table == nl::kMainTable) ++c.routes;
    }
    for (const nl::Neighbor& n : Neighbors(i, nl::NeighborKind::kIp)) {
      if (n.link_index == dev && n.ip && n.ip->is_v4()) ++c.neighbors;
    }
    for (const nl::Neighbor& n : Neighbors(i, nl::NeighborKind::kFdb)) {
      if (n.link_index == dev && n.ip) ++c.fdb;
    }
    return c;
  }

  testing::TwoNodes env_;
  std::unique_ptr<VxlanBackend> backends_[2];
  std::map<std::string, std::string> annotations_[2];
};

TEST_F(VxlanRootTest, PodsReachEachOtherOverVxlan) {
  auto dev = env_.nl(0).GetLink("knet.1");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->mtu, 1450u);
  EXPECT_EQ(dev->vxlan->port, 8472);
  EXPECT_FALSE(dev->vxlan->learning);
  EXPECT_EQ(annotations_[0]["knet.io/vtep-mac"], dev->mac.ToString());
  // Before Sync: no way across.
  EXPECT_FALSE(env_.Probe(0, 1, 200).ok());
  ASSERT_TRUE(backends_[0]->Sync({Peer(1)}).ok());
  ASSERT_TRUE(backends_[1]->Sync({Peer(0)}).ok());
  Counts c = On(0);
  EXPECT_EQ(c.routes, 1u);
  EXPECT_EQ(c.neighbors, 1u);
  EXPECT_EQ(c.fdb, 1u);
  base::Status ping = env_.Probe(0, 1);
  EXPECT_TRUE(ping.ok()) << ping.ToString();
  base::Status udp = env_.Udp(1, 0, "udp over vxlan");
  EXPECT_TRUE(udp.ok()) << udp.ToString();
  auto tcp = env_.TcpPair(0, 1);
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  auto [client, server] = *tcp;
  EXPECT_TRUE(testing::TwoNodes::Echo(client, server, "hello over vxlan").ok());
  EXPECT_TRUE(testing::TwoNodes::Echo(server, client, "and back").ok());

  // An agent restart on node 0: the device is adopted (same index and MAC), the first Sync
  // reconciles in place, the established connection keeps working.
  auto restarted = VxlanBackend::Create({.netlink = &env_.nl(0)});
  ASSERT_TRUE(restarted.ok());
  auto a = (*restarted)->Init(testing::TwoNodes::Info(0));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)["knet.io/vtep-mac"], annotations_[0]["knet.io/vtep-mac"]);
  EXPECT_EQ(env_.nl(0).GetLink("knet.1")->index, dev->index);
  ASSERT_TRUE((*restarted)->Sync({Peer(1)}).ok());
  EXPECT_TRUE(testing::TwoNodes::Echo(client, server, "after the restart").ok());

  // Node 1 leaves: its route, neighbour and FDB entry go from node 0.
  ASSERT_TRUE((*restarted)->Sync({}).ok());
  c = On(0);
  EXPECT_EQ(c.routes, 0u);
  EXPECT_EQ(c.neighbors, 0u);
  EXPECT_EQ(c.fdb, 0u);
  EXPECT_FALSE(env_.Probe(0, 1, 200).ok());
  close(client);
  close(server);

  ASSERT_TRUE((*restarted)->Teardown().ok());
  EXPECT_EQ(env_.nl(0).GetLink("knet.1").status().code(), base::StatusCode::kNotFound);
}

TEST_F(VxlanRootTest, RealPodsBehindTheBridgeWithThePodMtu) {
  base::Status s = env_.AddPods(backends_[0]->PodMtu());
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(backends_[0]->Sync({Peer(1)}).ok());
  ASSERT_TRUE(backends_[1]->Sync({Peer(0)}).ok());
  // Pod 10.244.1.5 (behind node 1's bridge) to pod 10.244.2.5: forwarded by both nodes.
  base::Status ping = env_.Probe(2, 3);
  EXPECT_TRUE(ping.ok()) << ping.ToString();
  base::Status udp = env_.Udp(3, 2, "pod to pod");
  EXPECT_TRUE(udp.ok()) << udp.ToString();
  auto tcp = env_.TcpPair(2, 3);
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  // Full-sized segments (pod MTU 1450 + 50 bytes of VXLAN = the underlay's 1500) get through.
  std::string big(64 * 1024, 'x');
  for (size_t k = 0; k < big.size(); ++k) big[k] = static_cast<char>('a' + k % 26);
  base::Status echo = testing::TwoNodes::Echo(tcp->first, tcp->second, big);
  EXPECT_TRUE(echo.ok()) << echo.ToString();
  close(tcp->first);
  close(tcp->second);
}

TEST_F(VxlanRootTest, FirstSyncRemovesStaleEntriesLeftByAnEarlierRun) {
  ASSERT_TRUE(backends_[0]->Sync({Peer(1)}).ok());
  // A node that left while the agent was down: entries on knet.1 the new run does not know.
  NodeInfo gone = testing::TwoNodes::Info(1, {{"knet.io/vtep-mac", "aa:00:00:00:00:09"}});
  gone.name = "gone";
  gone.internal_ips = {"192.168.77.9"};
  gone.pod_cidrs = {"10.244.9.0/24"};
  ASSERT_TRUE(backends_[0]->Sync({Peer(1), gone}).ok());
  EXPECT_EQ(On(0).routes, 2u);
  auto restarted = VxlanBackend::Create({.netlink = &env_.nl(0)});
  ASSERT_TRUE(restarted.ok());
  ASSERT_TRUE((*restarted)->Init(testing::TwoNodes::Info(0)).ok());
  ASSERT_TRUE((*restarted)->Sync({Peer(1)}).ok());
  Counts c = On(0);
  EXPECT_EQ(c.routes, 1u);
  EXPECT_EQ(c.neighbors, 1u);
  EXPECT_EQ(c.fdb, 1u);
  ASSERT_TRUE(backends_[1]->Sync({Peer(0)}).ok());
  EXPECT_TRUE(env_.Probe(0, 1).ok());
}

TEST_F(VxlanRootTest, DirectRoutingUsesPlainRoutesOnTheSegment) {
  for (int i = 0; i < 2; ++i) {
    auto b = VxlanBackend::Create({.netlink = &env_.nl(i), .direct_routing = true});
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE((*b)->Init(testing::TwoNodes::Info(i)).ok());
    backends_[i] = std::move(*b);
  }
  ASSERT_TRUE(backends_[0]->Sync({Peer(1)}).ok());
  ASSERT_TRUE(backends_[1]->Sync({Peer(0)}).ok());
  EXPECT_EQ(On(0).routes, 0u);  // nothing through knet.1
  int eth0 = env_.nl(0).GetLink("eth0")->index;
  int direct = 0;
  for (const nl::Route& r : Routes(0)) {
    if (r.protocol == kRouteProtocol && r.link_index == eth0) ++direct;
  }
  EXPECT_EQ(direct, 1);
  EXPECT_TRUE(env_.Probe(0, 1).ok());
  auto tcp = env_.TcpPair(1, 0);
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  EXPECT_TRUE(testing::TwoNodes::Echo(tcp->first, tcp->second, "direct").ok());
  close(tcp->first);
  close(tcp->second);
  ASSERT_TRUE(backends_[0]->Teardown().ok());
  direct = 0;
  for (const nl::Route& r : Routes(0)) {
    if (r.protocol == kRouteProtocol) ++direct;
  }
  EXPECT_EQ(direct, 0);
}

}  // namespace
}  // namespace knet::overlay::vxlan
