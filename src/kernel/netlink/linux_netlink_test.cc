// Root tests: LinuxNetlink against the real kernel, inside two fresh, uniquely named network
// namespaces that are deleted (with everything in them) even when a test fails. Nothing touches
// the host's namespace.
#include "kernel/netlink/linux_netlink.h"

#include <linux/neighbour.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "kernel/netns/netns.h"

namespace knet::kernel::netlink {
namespace {

using base::StatusCode;

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

// A named namespace for one test, deleted in the destructor.
class ScopedNetns {
 public:
  explicit ScopedNetns(std::string name) : name_(std::move(name)) {
    auto ns = netns::Create(name_);
    status_ = ns.status();
    if (ns.ok()) ns_ = std::move(ns).value();
  }
  ~ScopedNetns() {
    if (ns_.valid()) (void)netns::Delete(name_);
  }
  const base::Status& status() const { return status_; }
  const netns::Netns& ns() const { return ns_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  netns::Netns ns_;
  base::Status status_;
};

std::string UniqueName(std::string_view side) {
  static std::atomic<int> counter{0};
  return "knet-nl-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
         std::string(side);
}

// Output of a command (only used to cross-check with iproute2 in tests).
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 512> buf;
  while (fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
  pclose(p);
  return out;
}

// Sends one UDP datagram from namespace `from` to `to_ip` (an address in namespace `to`) and checks
// that it arrives. Both sockets are created inside the test's own namespaces.
void ExpectDatagramArrives(const netns::Netns& to, const netns::Netns& from,
                           const base::IPAddress& to_ip) {
  int receiver = -1;
  uint16_t port = 0;
  auto bound = netns::RunIn(to, [&]() -> base::Status {
    receiver = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_storage addr{};
    socklen_t len = to_ip.ToSockaddr(0, &addr);
    if (receiver < 0 || bind(receiver, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      return base::ErrnoError(errno, "binding the receiver");
    }
    len = sizeof(addr);
    getsockname(receiver, reinterpret_cast<sockaddr*>(&addr), &len);
    (void)base::IPAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&addr), len, &port);
    return base::OkStatus();
  });
  ASSERT_TRUE(bound.ok()) << bound.ToString();
  auto sent = netns::RunIn(from, [&]() -> base::Status {
    int sender = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_storage addr{};
    socklen_t len = to_ip.ToSockaddr(port, &addr);
    ssize_t n = sendto(sender, "knet", 4, 0, reinterpret_cast<sockaddr*>(&addr), len);
    int err = errno;
    close(sender);
    if (n != 4) return base::ErrnoError(err, "sending the datagram");
    return base::OkStatus();
  });
  EXPECT_TRUE(sent.ok()) << sent.ToString();
  pollfd pfd{receiver, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1) << "no datagram within 5 s";
  char buf[8] = {};
  EXPECT_EQ(recv(receiver, buf, sizeof(buf), 0), 4);
  EXPECT_EQ(std::string(buf, 4), "knet");
  close(receiver);
}

class LinuxNetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
    a_ = std::make_unique<ScopedNetns>(UniqueName("a"));
    b_ = std::make_unique<ScopedNetns>(UniqueName("b"));
    ASSERT_TRUE(a_->status().ok()) << a_->status().ToString();
    ASSERT_TRUE(b_->status().ok()) << b_->status().ToString();
    auto na = LinuxNetlink::Open(a_->ns());
    auto nb = LinuxNetlink::Open(b_->ns());
    ASSERT_TRUE(na.ok()) << na.status().ToString();
    ASSERT_TRUE(nb.ok()) << nb.status().ToString();
    nl_a_ = std::move(na).value();
    nl_b_ = std::move(nb).value();
  }
  void TearDown() override {
    // Sockets first: they would keep the namespaces alive after their names are gone.
    nl_a_.reset();
    nl_b_.reset();
    a_.reset();
    b_.reset();
  }

  std::unique_ptr<ScopedNetns> a_, b_;
  std::unique_ptr<LinuxNetlink> nl_a_, nl_b_;
};

TEST_F(LinuxNetlinkTest, FreshNamespaceHasOnlyLoopback) {
  auto links = nl_a_->ListLinks();
  ASSERT_TRUE(links.ok()) << links.status().ToString();
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].name, "lo");
  auto lo = nl_a_->GetLink(1);
  ASSERT_TRUE(lo.ok()) << lo.status().ToString();
  EXPECT_EQ(lo->name, "lo");
}

TEST_F(LinuxNetlinkTest, BridgeVethAddressesRoutesNeighbours) {
  Netlink& a = *nl_a_;
  Netlink& b = *nl_b_;
  auto bridge_mac = *base::MacAddress::Parse("02:00:00:00:00:01");
  ASSERT_TRUE(a.CreateBridge({.name = "br0", .mtu = 1400, .mac = bridge_mac}).ok());
  auto br = a.GetLink("br0");
  ASSERT_TRUE(br.ok()) << br.status().ToString();
  EXPECT_EQ(br->kind, "bridge");
  EXPECT_EQ(br->mtu, 1400u);
  EXPECT_EQ(br->mac, bridge_mac);

  // One end in each namespace from the start.
  auto veth_status = a.CreateVeth({.name = "veth-a",
                                   .netns_fd = a_->ns().fd(),
                                   .peer_name = "eth0",
                                   .peer_netns_fd = b_->ns().fd(),
                                   .mtu = 1400});
  ASSERT_TRUE(veth_status.ok()) << veth_status.ToString();
  auto host_end = a.GetLink("veth-a");
  auto pod_end = b.GetLink("eth0");
  ASSERT_TRUE(host_end.ok()) << host_end.status().ToString();
  ASSERT_TRUE(pod_end.ok()) << pod_end.status().ToString();
  EXPECT_EQ(host_end->kind, "veth");
  EXPECT_EQ(pod_end->mtu, 1400u);
  EXPECT_EQ(host_end->peer_index, pod_end->index);
  EXPECT_EQ(a.GetLink("eth0").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(b.GetLink("veth-a").status().code(), StatusCode::kNotFound);

  // One batch: attach, hairpin, up.
  auto batch = a.Execute({SetMasterRequest(host_end->index, br->index, "veth-a", "br0"),
                          SetHairpinRequest(host_end->index, true, "veth-a"),
                          SetLinkUpRequest(host_end->index, true, "veth-a"),
                          SetLinkUpRequest(br->index, true, "br0")});
  ASSERT_TRUE(batch.ok()) << batch.ToString();
  host_end = a.GetLink("veth-a");
  ASSERT_TRUE(host_end.ok());
  EXPECT_EQ(host_end->master_index, br->index);
  EXPECT_TRUE(host_end->hairpin);
  EXPECT_TRUE(host_end->up());
  std::string ip_out = RunCommand("ip -n " + a_->name() + " -d link show veth-a");
  EXPECT_NE(ip_out.find("hairpin on"), std::string::npos) << ip_out;
  EXPECT_NE(ip_out.find("master br0"), std::string::npos) << ip_out;

  // Addresses, IPv4 and IPv6 (nodad).
  Address gw{.link_index = br->index, .ip = Ip("10.99.0.1"), .prefix_len = 24};
  Address gw6{.link_index = br->index, .ip = Ip("fd99::1"), .prefix_len = 64, .nodad = true};
  ASSERT_TRUE(a.Execute({AddAddressRequest(gw, "br0"), AddAddressRequest(gw6, "br0")}).ok());
  auto dup = a.AddAddress(gw, "br0");
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists) << dup.ToString();
  auto addrs = a.ListLinkAddresses(br->index, AF_UNSPEC);
  ASSERT_TRUE(addrs.ok()) << addrs.status().ToString();
  EXPECT_NE(std::find(addrs->begin(), addrs->end(), gw), addrs->end());
  EXPECT_NE(std::find(addrs->begin(), addrs->end(), gw6), addrs->end());

  // The pod side: up, address, a default route and an onlink route.
  Address pod_ip{.link_index = pod_end->index, .ip = Ip("10.99.0.2"), .prefix_len = 24};
  ASSERT_TRUE(
      b.Execute({SetLinkUpRequest(1, true, "lo"), SetLinkUpRequest(pod_end->index, true, "eth0"),
                 AddAddressRequest(pod_ip, "eth0")})
          .ok());
  Route def{.dst = Net("0.0.0.0/0"), .gateway = Ip("10.99.0.1"), .link_index = pod_end->index};
  Route onlink{.dst = Net("10.98.0.0/24"),
               .gateway = Ip("10.98.0.1"),
               .link_index = pod_end->index,
               .onlink = true};
  auto routes_added = b.Execute({AddRouteRequest(def, "eth0"), AddRouteRequest(onlink, "eth0")});
  ASSERT_TRUE(routes_added.ok()) << routes_added.ToString();
  auto again = b.AddRoute(def, "eth0");
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message().rfind("adding route 0.0.0.0/0 via 10.99.0.1 dev eth0: File exists", 0),
            0u)
      << again.message();
  Route moved = def;
  moved.gateway = Ip("10.99.0.3");
  ASSERT_TRUE(b.ReplaceRoute(moved, "eth0").ok());
  auto routes = b.ListRoutes(AF_INET);
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  int defaults = 0;
  bool saw_onlink = false;
  for (const Route& r : *routes) {
    if (r.table != kMainTable) continue;
    if (r.dst == Net("0.0.0.0/0")) {
      ++defaults;
      EXPECT_EQ(r.gateway, Ip("10.99.0.3"));
      EXPECT_EQ(r.link_index, pod_end->index);
    }
    if (r.dst == Net("10.98.0.0/24")) saw_onlink = r.onlink && r.gateway == Ip("10.98.0.1");
  }
  EXPECT_EQ(defaults, 1);
  EXPECT_TRUE(saw_onlink);

  // A permanent neighbour in the pod.
  Neighbor n{.link_index = pod_end->index, .ip = Ip("10.99.0.1"), .mac = bridge_mac};
  ASSERT_TRUE(b.AddNeighbor(n, "eth0").ok());
  EXPECT_EQ(b.AddNeighbor(n, "eth0").code(), StatusCode::kAlreadyExists);
  auto neighbors = b.ListNeighbors(NeighborKind::kIp);
  ASSERT_TRUE(neighbors.ok()) << neighbors.status().ToString();
  auto found = std::find_if(neighbors->begin(), neighbors->end(),
                            [&](const Neighbor& x) { return x.ip == n.ip; });
  ASSERT_NE(found, neighbors->end());
  EXPECT_EQ(found->mac, bridge_mac);
  EXPECT_EQ(found->state, NUD_PERMANENT);

  // Traffic crosses the pair: a datagram from the pod namespace reaches the bridge's address.
  ExpectDatagramArrives(a_->ns(), b_->ns(), Ip("10.99.0.1"));

  // Deletes, then the same deletes again are NotFound.
  ASSERT_TRUE(b.DeleteNeighbor(n, "eth0").ok());
  EXPECT_EQ(b.DeleteNeighbor(n, "eth0").code(), StatusCode::kNotFound);
  ASSERT_TRUE(b.DeleteRoute(moved, "eth0").ok());
  EXPECT_EQ(b.DeleteRoute(moved, "eth0").code(), StatusCode::kNotFound);
  ASSERT_TRUE(a.DeleteAddress(gw, "br0").ok());
  EXPECT_EQ(a.DeleteAddress(gw, "br0").code(), StatusCode::kNotFound);

  // Deleting one end of the pair removes the other, in the other namespace.
  ASSERT_TRUE(a.DeleteLink("veth-a").ok());
  EXPECT_EQ(b.GetLink("eth0").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(a.DeleteLink("veth-a").code(), StatusCode::kNotFound);
}

TEST_F(LinuxNetlinkTest, VxlanAndFdb) {
  Netlink& a = *nl_a_;
  ASSERT_TRUE(a.CreateBridge({.name = "under0"}).ok());
  auto under = a.GetLink("under0");
  ASSERT_TRUE(under.ok());
  ASSERT_TRUE(
      a.AddAddress({.link_index = under->index, .ip = Ip("10.97.0.1"), .prefix_len = 24}).ok());
  auto created = a.CreateVxlan({.name = "vxlan0",
                                .vni = 42,
                                .local = Ip("10.97.0.1"),
                                .link_index = under->index,
                                .mtu = 1350});
  ASSERT_TRUE(created.ok()) << created.ToString();
  auto vx = a.GetLink("vxlan0");
  ASSERT_TRUE(vx.ok()) << vx.status().ToString();
  EXPECT_EQ(vx->kind, "vxlan");
  EXPECT_EQ(vx->mtu, 1350u);
  ASSERT_TRUE(vx->vxlan.has_value());
  EXPECT_EQ(*vx->vxlan, (VxlanInfo{.vni = 42,
                                   .local = Ip("10.97.0.1"),
                                   .port = 8472,
                                   .learning = false,
                                   .link_index = under->index}));
  std::string ip_out = RunCommand("ip -n " + a_->name() + " -d link show vxlan0");
  EXPECT_NE(ip_out.find("vxlan id 42"), std::string::npos) << ip_out;
  EXPECT_NE(ip_out.find("nolearning"), std::string::npos) << ip_out;
  EXPECT_NE(ip_out.find("dstport 8472"), std::string::npos) << ip_out;

  // flannel's entries: a permanent neighbour for the remote VTEP and an FDB entry pointing at it.
  auto remote_mac = *base::MacAddress::Parse("0a:00:00:00:00:02");
  Neighbor fdb{.kind = NeighborKind::kFdb,
               .link_index = vx->index,
               .ip = Ip("10.97.0.2"),
               .mac = remote_mac};
  Neighbor arp{.link_index = vx->index, .ip = Ip("10.244.1.0"), .mac = remote_mac};
  auto added = a.Execute({AddNeighborRequest(fdb, "vxlan0"), ReplaceNeighborRequest(arp)});
  ASSERT_TRUE(added.ok()) << added.ToString();
  auto fdbs = a.ListNeighbors(NeighborKind::kFdb);
  ASSERT_TRUE(fdbs.ok()) << fdbs.status().ToString();
  auto entry = std::find_if(fdbs->begin(), fdbs->end(), [&](const Neighbor& x) {
    return x.link_index == vx->index && x.mac == remote_mac;
  });
  ASSERT_NE(entry, fdbs->end());
  EXPECT_EQ(entry->ip, Ip("10.97.0.2"));
  EXPECT_EQ(entry->state & NUD_PERMANENT, NUD_PERMANENT);
  EXPECT_EQ(a.AddNeighbor(fdb, "vxlan0").code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(a.DeleteNeighbor(fdb, "vxlan0").ok());
  fdbs = a.ListNeighbors(NeighborKind::kFdb);
  ASSERT_TRUE(fdbs.ok());
  EXPECT_EQ(std::count_if(fdbs->begin(), fdbs->end(),
                          [&](const Neighbor& x) { return x.mac == remote_mac; }),
            0);

  // MTU and MAC changes.
  auto new_mac = *base::MacAddress::Parse("02:00:00:00:00:42");
  ASSERT_TRUE(a.Execute({SetMtuRequest(vx->index, 1300), SetMacRequest(vx->index, new_mac)}).ok());
  vx = a.GetLink(vx->index);
  ASSERT_TRUE(vx.ok());
  EXPECT_EQ(vx->mtu, 1300u);
  EXPECT_EQ(vx->mac, new_mac);
}

TEST_F(LinuxNetlinkTest, ErrorsNameWhatFailed) {
  Netlink& a = *nl_a_;
  auto missing = a.GetLink("nope0");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message().rfind("getting link nope0: No such device", 0), 0u)
      << missing.status().message();
  EXPECT_EQ(a.GetLink(4242).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(a.CreateBridge({.name = "br1"}).ok());
  auto dup = a.CreateBridge({.name = "br1"});
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.sys_errno(), EEXIST);
  EXPECT_EQ(dup.message().rfind("creating bridge br1: File exists", 0), 0u) << dup.message();

  auto no_dev =
      a.AddAddress({.link_index = 4242, .ip = Ip("10.1.1.1"), .prefix_len = 24}, "ghost0");
  EXPECT_EQ(no_dev.code(), StatusCode::kNotFound) << no_dev.ToString();
  EXPECT_EQ(no_dev.message().rfind("adding address 10.1.1.1/24 to ghost0: ", 0), 0u);
  EXPECT_EQ(a.DeleteLink("ghost0").code(), StatusCode::kNotFound);

  EXPECT_EQ(a.Execute({Request({1, 2, 3}, "junk")}).code(), StatusCode::kInvalidArgument);

  // A batch reports the first failure and still applies the rest.
  auto br = a.GetLink("br1");
  ASSERT_TRUE(br.ok());
  auto batch =
      a.Execute({*NewBridgeRequest({.name = "br1"}), SetMtuRequest(br->index, 1280, "br1")});
  EXPECT_EQ(batch.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(a.GetLink("br1")->mtu, 1280u);

  // A veth whose peer name is taken in the peer's namespace.
  auto veth = a.CreateVeth({.name = "v0", .peer_name = "lo", .peer_netns_fd = b_->ns().fd()});
  EXPECT_EQ(veth.code(), StatusCode::kAlreadyExists) << veth.ToString();
  EXPECT_EQ(a.GetLink("v0").status().code(), StatusCode::kNotFound);
}

TEST_F(LinuxNetlinkTest, RouteAttributesAndIPv6) {
  Netlink& b = *nl_b_;
  ASSERT_TRUE(b.CreateVeth({.name = "r0", .peer_name = "r1"}).ok());
  auto r0 = b.GetLink("r0");
  auto r1 = b.GetLink("r1");
  ASSERT_TRUE(r0.ok());
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r0->peer_index, r1->index);
  Address v4{.link_index = r0->index, .ip = Ip("10.95.0.2"), .prefix_len = 24};
  Address v6{.link_index = r0->index, .ip = Ip("fd95::2"), .prefix_len = 64, .nodad = true};
  auto setup =
      b.Execute({SetLinkUpRequest(r0->index, true, "r0"), SetLinkUpRequest(r1->index, true, "r1"),
                 AddAddressRequest(v4, "r0"), AddAddressRequest(v6, "r0")});
  ASSERT_TRUE(setup.ok()) << setup.ToString();

  Route linked{.dst = Net("10.94.0.0/24"), .link_index = r0->index, .src = Ip("10.95.0.2")};
  Route table100{.dst = Net("10.93.0.0/16"), .gateway = Ip("10.95.0.1"), .table = 100};
  Route table1000{.dst = Net("10.92.0.0/16"),
                  .gateway = Ip("10.95.0.1"),
                  .link_index = r0->index,
                  .table = 1000,
                  .metric = 50};
  Route def6{.dst = Net("::/0"), .gateway = Ip("fd95::1"), .link_index = r0->index};
  auto added = b.Execute({AddRouteRequest(linked, "r0"), AddRouteRequest(table100),
                          AddRouteRequest(table1000, "r0"), AddRouteRequest(def6, "r0")});
  ASSERT_TRUE(added.ok()) << added.ToString();

  auto v4routes = b.ListRoutes(AF_INET);
  ASSERT_TRUE(v4routes.ok()) << v4routes.status().ToString();
  auto find = [](const std::vector<Route>& routes, const base::Cidr& dst, uint32_t table) {
    auto it = std::find_if(routes.begin(), routes.end(),
                           [&](const Route& r) { return r.dst == dst && r.table == table; });
    return it == routes.end() ? std::optional<Route>() : std::optional<Route>(*it);
  };
  auto got_linked = find(*v4routes, linked.dst, kMainTable);
  ASSERT_TRUE(got_linked.has_value());
  EXPECT_EQ(got_linked->scope, RT_SCOPE_LINK);
  EXPECT_EQ(got_linked->src, Ip("10.95.0.2"));
  EXPECT_FALSE(got_linked->gateway.has_value());
  auto got100 = find(*v4routes, table100.dst, 100);
  ASSERT_TRUE(got100.has_value());
  EXPECT_EQ(got100->gateway, Ip("10.95.0.1"));
  EXPECT_EQ(got100->link_index, r0->index);  // the kernel resolved the device
  auto got1000 = find(*v4routes, table1000.dst, 1000);
  ASSERT_TRUE(got1000.has_value());
  EXPECT_EQ(got1000->metric, 50u);
  EXPECT_FALSE(find(*v4routes, table100.dst, kMainTable).has_value());

  auto v6routes = b.ListRoutes(AF_INET6);
  ASSERT_TRUE(v6routes.ok()) << v6routes.status().ToString();
  auto got6 = find(*v6routes, def6.dst, kMainTable);
  ASSERT_TRUE(got6.has_value());
  EXPECT_EQ(got6->gateway, Ip("fd95::1"));
  auto v6addrs = b.ListLinkAddresses(r0->index, AF_INET6);
  ASSERT_TRUE(v6addrs.ok());
  EXPECT_NE(std::find(v6addrs->begin(), v6addrs->end(), v6), v6addrs->end());

  // A gateway that is not on any connected subnet needs onlink.
  Route far{.dst = Net("10.91.0.0/24"), .gateway = Ip("10.90.0.1"), .link_index = r0->index};
  auto unreachable = b.AddRoute(far, "r0");
  EXPECT_EQ(unreachable.code(), StatusCode::kFailedPrecondition) << unreachable.ToString();
  EXPECT_EQ(unreachable.sys_errno(), ENETUNREACH);
  far.onlink = true;
  EXPECT_TRUE(b.AddRoute(far, "r0").ok());

  ASSERT_TRUE(b.Execute({DeleteRouteRequest(table100), DeleteRouteRequest(table1000, "r0"),
                         DeleteRouteRequest(def6, "r0")})
                  .ok());
  EXPECT_EQ(b.DeleteRoute(table100).code(), StatusCode::kNotFound);
  // Deleting the link takes its addresses and routes with it.
  ASSERT_TRUE(b.DeleteLink("r0").ok());
  EXPECT_EQ(b.GetLink("r1").status().code(), StatusCode::kNotFound);
  auto after = b.ListRoutes(AF_INET);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(find(*after, linked.dst, kMainTable).has_value());
}

TEST_F(LinuxNetlinkTest, ConcurrentCallersShareOneSocket) {
  constexpr int kThreads = 4, kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string name = "cb" + std::to_string(t) + "-" + std::to_string(i);
        if (!nl_a_->CreateBridge({.name = name}).ok()) ++failures;
        if (!nl_a_->GetLink(name).ok()) ++failures;
        if (!nl_a_->ListLinks().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto links = nl_a_->ListLinks();
  ASSERT_TRUE(links.ok());
  EXPECT_EQ(links->size(), 1u + kThreads * kEach);
}

TEST_F(LinuxNetlinkTest, ManyRequestsInOneBatch) {
  Netlink& a = *nl_a_;
  ASSERT_TRUE(a.CreateBridge({.name = "br2"}).ok());
  auto br = a.GetLink("br2");
  ASSERT_TRUE(br.ok());
  ASSERT_TRUE(a.SetLinkUp(*br).ok());
  std::vector<Request> batch;
  for (int i = 0; i < 600; ++i) {
    Address addr{.link_index = br->index,
                 .ip = *base::IPAddress::FromV4(0x0a600000u + static_cast<uint32_t>(i) * 4).Add(1),
                 .prefix_len = 30};
    batch.push_back(AddAddressRequest(addr, "br2"));
  }
  auto s = a.Execute(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto addrs = a.ListLinkAddresses(br->index, AF_INET);
  ASSERT_TRUE(addrs.ok()) << addrs.status().ToString();
  EXPECT_EQ(addrs->size(), 600u);
}

}  // namespace
}  // namespace knet::kernel::netlink
