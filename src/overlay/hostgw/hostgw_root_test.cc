// Root tests: HostGwBackend on the real kernel, two node namespaces on a test underlay bridge
// (overlay/vxlan/internal/two_nodes.h), traffic between pod addresses routed via the nodes.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "overlay/hostgw/hostgw.h"
#include "overlay/vxlan/internal/two_nodes.h"

namespace knet::overlay::hostgw {
namespace {

namespace nl = kernel::netlink;

class HostGwRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
    base::Status s = env_.SetUp();
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < 2; ++i) {
      auto b = HostGwBackend::Create({.netlink = &env_.nl(i)});
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      backends_[i] = std::move(*b);
      auto a = backends_[i]->Init(testing::TwoNodes::Info(i));
      ASSERT_TRUE(a.ok()) << a.status().ToString();
    }
  }
  // Our routes on node i.
  std::vector<nl::Route> Ours(int i) {
    auto all = env_.nl(i).ListRoutes(AF_INET);
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    std::vector<nl::Route> out;
    if (!all.ok()) return out;
    for (const nl::Route& r : *all) {
      if (r.protocol == kRouteProtocol) out.push_back(r);
    }
    return out;
  }

  testing::TwoNodes env_;
  std::unique_ptr<HostGwBackend> backends_[2];
};

TEST_F(HostGwRootTest, PodsReachEachOtherViaTheNodes) {
  EXPECT_EQ(backends_[0]->PodMtu(), 1500u);
  EXPECT_FALSE(env_.Probe(0, 1, 200).ok());
  ASSERT_TRUE(backends_[0]->Sync({testing::TwoNodes::Info(1)}).ok());
  ASSERT_TRUE(backends_[1]->Sync({testing::TwoNodes::Info(0)}).ok());
  auto routes = Ours(0);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].dst.ToString(), "10.244.2.0/24");
  EXPECT_EQ(routes[0].gateway, testing::TwoNodes::NodeIp(1));
  EXPECT_EQ(routes[0].link_index, env_.nl(0).GetLink("eth0")->index);
  base::Status ping = env_.Probe(0, 1);
  EXPECT_TRUE(ping.ok()) << ping.ToString();
  base::Status udp = env_.Udp(1, 0, "udp via host-gw");
  EXPECT_TRUE(udp.ok()) << udp.ToString();
  auto tcp = env_.TcpPair(0, 1);
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  EXPECT_TRUE(testing::TwoNodes::Echo(tcp->first, tcp->second, "hello via host-gw").ok());

  // A restart: the first Sync replaces in place; the connection survives.
  auto restarted = HostGwBackend::Create({.netlink = &env_.nl(0)});
  ASSERT_TRUE(restarted.ok());
  ASSERT_TRUE((*restarted)->Init(testing::TwoNodes::Info(0)).ok());
  ASSERT_TRUE((*restarted)->Sync({testing::TwoNodes::Info(1)}).ok());
  EXPECT_TRUE(testing::TwoNodes::Echo(tcp->second, tcp->first, "after the restart").ok());
  close(tcp->first);
  close(tcp->second);

  // Node 1 leaves.
  ASSERT_TRUE((*restarted)->Sync({}).ok());
  EXPECT_TRUE(Ours(0).empty());
  EXPECT_FALSE(env_.Probe(0, 1, 200).ok());
}

TEST_F(HostGwRootTest, RealPodsBehindTheBridge) {
  base::Status s = env_.AddPods(backends_[0]->PodMtu());
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(backends_[0]->Sync({testing::TwoNodes::Info(1)}).ok());
  ASSERT_TRUE(backends_[1]->Sync({testing::TwoNodes::Info(0)}).ok());
  base::Status ping = env_.Probe(2, 3);
  EXPECT_TRUE(ping.ok()) << ping.ToString();
  base::Status udp = env_.Udp(3, 2, "pod to pod");
  EXPECT_TRUE(udp.ok()) << udp.ToString();
  auto tcp = env_.TcpPair(2, 3);
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  EXPECT_TRUE(testing::TwoNodes::Echo(tcp->first, tcp->second, std::string(64 * 1024, 'h')).ok());
  close(tcp->first);
  close(tcp->second);
}

// IPv6 side of a dual-stack cluster: fd00:77::<i>/64 on eth0, "pod" fd00:10:244:<i>::1 on lo
// (always up, so usable at once), a TCP connection between the pod addresses.
TEST_F(HostGwRootTest, DualStackIpv6Routes) {
  auto v6 = [](const std::string& s) { return *base::IPAddress::Parse(s); };
  std::vector<NodeInfo> infos;
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i + 1);
    nl::Netlink& netlink = env_.nl(i);
    int eth0 = netlink.GetLink("eth0")->index;
    int lo = netlink.GetLink("lo")->index;
    ASSERT_TRUE(
        netlink
            .AddAddress(
                {.link_index = eth0, .ip = v6("fd00:77::" + n), .prefix_len = 64, .nodad = true})
            .ok());
    ASSERT_TRUE(netlink
                    .AddAddress({.link_index = lo,
                                 .ip = v6("fd00:10:244:" + n + "::1"),
                                 .prefix_len = 128,
                                 .nodad = true})
                    .ok());
    NodeInfo info = testing::TwoNodes::Info(i);
    info.internal_ips.push_back("fd00:77::" + n);
    info.pod_cidrs.push_back("fd00:10:244:" + n + "::/64");
    infos.push_back(info);
  }
  ASSERT_TRUE(backends_[0]->Sync({infos[1]}).ok());
  ASSERT_TRUE(backends_[1]->Sync({infos[0]}).ok());
  auto routes = env_.nl(0).ListRoutes(AF_INET6);
  ASSERT_TRUE(routes.ok());
  int ours = 0;
  for (const nl::Route& r : *routes) {
    if (r.protocol != kRouteProtocol) continue;
    ++ours;
    EXPECT_EQ(r.dst.ToString(), "fd00:10:244:2::/64");
    EXPECT_EQ(r.gateway, v6("fd00:77::2"));
  }
  EXPECT_EQ(ours, 1);
  // TCP from fd00:10:244:1::1 (node 1) to fd00:10:244:2::1 (node 2).
  int listener = -1, client = -1;
  ASSERT_TRUE(kernel::netns::RunIn(env_.ns(1), [&]() -> base::Status {
                listener = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
                sockaddr_storage a{};
                socklen_t len = v6("fd00:10:244:2::1").ToSockaddr(0, &a);
                if (bind(listener, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
                    listen(listener, 1) != 0) {
                  return base::ErrnoError(errno, "bind/listen");
                }
                return base::OkStatus();
              }).ok());
  sockaddr_in6 bound{};
  socklen_t blen = sizeof(bound);
  getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &blen);
  base::Status connected = kernel::netns::RunIn(env_.ns(0), [&]() -> base::Status {
    client = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{.tv_sec = 3, .tv_usec = 0};
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_storage src{}, dst{};
    socklen_t len = v6("fd00:10:244:1::1").ToSockaddr(0, &src);
    if (bind(client, reinterpret_cast<sockaddr*>(&src), len) != 0) {
      return base::ErrnoError(errno, "bind");
    }
    len = v6("fd00:10:244:2::1").ToSockaddr(ntohs(bound.sin6_port), &dst);
    if (connect(client, reinterpret_cast<sockaddr*>(&dst), len) != 0) {
      return base::ErrnoError(errno, "connect");
    }
    return base::OkStatus();
  });
  EXPECT_TRUE(connected.ok()) << connected.ToString();
  if (connected.ok()) {
    int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(server, 0);
    timeval tv{.tv_sec = 3, .tv_usec = 0};
    setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    EXPECT_TRUE(testing::TwoNodes::Echo(client, server, "over ipv6").ok());
    close(server);
  }
  if (client >= 0) close(client);
  close(listener);
  ASSERT_TRUE(backends_[0]->Teardown().ok());
  routes = env_.nl(0).ListRoutes(AF_INET6);
  ASSERT_TRUE(routes.ok());
  for (const nl::Route& r : *routes) EXPECT_NE(r.protocol, kRouteProtocol);
}

TEST_F(HostGwRootTest, NodeOffTheSegmentGetsNoRoute) {
  NodeInfo far = testing::TwoNodes::Info(1);
  far.name = "far";
  far.internal_ips = {"10.99.0.5"};
  far.pod_cidrs = {"10.244.50.0/24"};
  base::Status s = backends_[0]->Sync({far, testing::TwoNodes::Info(1)});
  EXPECT_EQ(s.code(), base::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("node far"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("one L2 segment"), std::string::npos) << s.message();
  auto routes = Ours(0);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].dst.ToString(), "10.244.2.0/24");
  ASSERT_TRUE(backends_[0]->Teardown().ok());
  EXPECT_TRUE(Ours(0).empty());
}

}  // namespace
}  // namespace knet::overlay::hostgw
