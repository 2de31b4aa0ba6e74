#include "kernel/netlink/fake_netlink.h"

#include <sys/socket.h>

#include <cerrno>

#include "gtest/gtest.h"

namespace knet::kernel::netlink {
namespace {

using base::StatusCode;

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

TEST(FakeNetlinkTest, StartsWithLoopback) {
  FakeNetlink nl;
  auto lo = nl.GetLink("lo");
  ASSERT_TRUE(lo.ok());
  EXPECT_EQ(lo->index, 1);
  EXPECT_TRUE(lo->up());
  auto missing = nl.GetLink("eth0");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "getting link eth0: No such device");
}

TEST(FakeNetlinkTest, BridgeAndVethAcrossNamespaces) {
  FakeNetlink host, pod;
  host.AddNamespace(42, &pod);
  ASSERT_TRUE(host.CreateBridge({.name = "cni0", .mtu = 1450}).ok());
  auto dup = host.CreateBridge({.name = "cni0"});
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "creating bridge cni0: File exists");

  ASSERT_TRUE(
      host.CreateVeth({.name = "veth1", .peer_name = "eth0", .peer_netns_fd = 42, .mtu = 1450})
          .ok());
  auto veth = host.GetLink("veth1");
  auto eth0 = pod.GetLink("eth0");
  ASSERT_TRUE(veth.ok());
  ASSERT_TRUE(eth0.ok());
  EXPECT_FALSE(host.GetLink("eth0").ok());
  EXPECT_EQ(veth->peer_index, eth0->index);
  EXPECT_EQ(eth0->peer_index, veth->index);
  EXPECT_EQ(eth0->mtu, 1450u);
  EXPECT_FALSE(eth0->up());
  // The pod's eth0 name is taken in the pod only.
  EXPECT_EQ(host.CreateVeth({.name = "veth2", .peer_name = "eth0", .peer_netns_fd = 42}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_TRUE(host.CreateVeth({.name = "veth3", .peer_name = "eth0"}).ok());
  // An unknown namespace descriptor.
  EXPECT_EQ(host.CreateVeth({.name = "veth4", .peer_name = "x", .peer_netns_fd = 99}).sys_errno(),
            EBADF);

  auto bridge = host.GetLink("cni0");
  ASSERT_TRUE(bridge.ok());
  EXPECT_EQ(host.SetHairpin(*veth, true).code(), StatusCode::kUnimplemented);  // not a port yet
  ASSERT_TRUE(
      host.Execute({SetMasterRequest(veth->index, bridge->index),
                    SetHairpinRequest(veth->index, true), SetLinkUpRequest(veth->index, true)})
          .ok());
  veth = host.GetLink("veth1");
  EXPECT_EQ(veth->master_index, bridge->index);
  EXPECT_TRUE(veth->hairpin);
  EXPECT_TRUE(veth->up());
  // Only a bridge can be a master.
  EXPECT_EQ(host.SetMaster(*bridge, *veth).code(), StatusCode::kUnimplemented);

  // Deleting one end removes the other, in the other namespace.
  ASSERT_TRUE(host.DeleteLink("veth1").ok());
  EXPECT_EQ(pod.GetLink("eth0").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(host.DeleteLink("veth1").code(), StatusCode::kNotFound);
}

TEST(FakeNetlinkTest, AddressesRoutesNeighbors) {
  FakeNetlink nl;
  ASSERT_TRUE(nl.CreateVxlan({.name = "vxlan0", .vni = 1}).ok());
  auto vx = nl.GetLink("vxlan0");
  ASSERT_TRUE(vx.ok());
  ASSERT_TRUE(vx->vxlan.has_value());
  EXPECT_EQ(vx->vxlan->port, 8472);
  EXPECT_FALSE(vx->vxlan->learning);

  Address a{.link_index = vx->index, .ip = Ip("10.244.0.0"), .prefix_len = 32};
  ASSERT_TRUE(nl.AddAddress(a, "vxlan0").ok());
  EXPECT_EQ(nl.AddAddress(a, "vxlan0").code(), StatusCode::kAlreadyExists);
  Address v6{.link_index = vx->index, .ip = Ip("fd00::1"), .prefix_len = 64, .nodad = true};
  ASSERT_TRUE(nl.AddAddress(v6).ok());
  EXPECT_EQ(nl.ListAddresses(AF_INET6)->size(), 1u);
  EXPECT_EQ(nl.ListLinkAddresses(vx->index, AF_UNSPEC)->size(), 2u);
  EXPECT_EQ(nl.AddAddress({.link_index = 99, .ip = Ip("10.0.0.1"), .prefix_len = 8}).code(),
            StatusCode::kNotFound);

  Route r{.dst = Net("10.244.1.0/24"),
          .gateway = Ip("10.244.1.0"),
          .link_index = vx->index,
          .onlink = true};
  ASSERT_TRUE(nl.AddRoute(r, "vxlan0").ok());
  auto again = nl.AddRoute(r, "vxlan0");
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "adding route 10.244.1.0/24 via 10.244.1.0 dev vxlan0: File exists");
  Route moved = r;
  moved.gateway = Ip("10.244.1.1");
  ASSERT_TRUE(nl.ReplaceRoute(moved).ok());
  auto routes = nl.ListRoutes(AF_INET);
  ASSERT_TRUE(routes.ok());
  ASSERT_EQ(routes->size(), 1u);
  EXPECT_EQ((*routes)[0].gateway, Ip("10.244.1.1"));
  EXPECT_TRUE((*routes)[0].onlink);
  EXPECT_EQ((*routes)[0].scope, RT_SCOPE_UNIVERSE);
  EXPECT_EQ(nl.AddRoute({.dst = Net("10.9.0.0/16"), .link_index = 77}).code(),
            StatusCode::kNotFound);

  auto mac = *base::MacAddress::Parse("0a:00:00:00:00:01");
  Neighbor arp{.link_index = vx->index, .ip = Ip("10.244.1.0"), .mac = mac};
  Neighbor fdb{
      .kind = NeighborKind::kFdb, .link_index = vx->index, .ip = Ip("192.168.0.2"), .mac = mac};
  ASSERT_TRUE(nl.Execute({AddNeighborRequest(arp), AddNeighborRequest(fdb)}).ok());
  EXPECT_EQ(nl.AddNeighbor(arp).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(nl.ReplaceNeighbor(arp).ok());
  EXPECT_EQ(nl.ListNeighbors(NeighborKind::kIp)->size(), 1u);
  auto fdbs = nl.ListNeighbors(NeighborKind::kFdb);
  ASSERT_EQ(fdbs->size(), 1u);
  EXPECT_EQ((*fdbs)[0].ip, Ip("192.168.0.2"));
  EXPECT_EQ((*fdbs)[0].flags & NTF_SELF, NTF_SELF);

  // Deleting a link takes its addresses, routes and neighbours with it.
  ASSERT_TRUE(nl.DeleteLink("vxlan0").ok());
  EXPECT_TRUE(nl.ListAddresses(AF_UNSPEC)->empty());
  EXPECT_TRUE(nl.ListRoutes(AF_INET)->empty());
  EXPECT_TRUE(nl.ListNeighbors(NeighborKind::kFdb)->empty());
  EXPECT_EQ(nl.DeleteRoute(r).code(), StatusCode::kNotFound);
  EXPECT_EQ(nl.DeleteAddress(a).code(), StatusCode::kNotFound);
  EXPECT_EQ(nl.DeleteNeighbor(arp).code(), StatusCode::kNotFound);
}

TEST(FakeNetlinkTest, BatchContinuesAfterAFailureAndReportsTheFirst) {
  FakeNetlink nl;
  ASSERT_TRUE(nl.CreateBridge({.name = "br0"}).ok());
  auto br = nl.GetLink("br0");
  auto s = nl.Execute({*NewBridgeRequest({.name = "br0"}), SetLinkUpRequest(55, true),
                       SetMtuRequest(br->index, 9000, "br0")});
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(nl.GetLink("br0")->mtu, 9000u);  // the third request still ran
  EXPECT_EQ(nl.requests().size(), 4u);
}

TEST(FakeNetlinkTest, MalformedRequestIsInvalidArgument) {
  FakeNetlink nl;
  EXPECT_EQ(nl.Execute({Request({1, 2, 3}, "junk")}).code(), StatusCode::kInvalidArgument);
}

TEST(FakeNetlinkTest, InjectedFailure) {
  FakeNetlink nl;
  nl.FailNext("creating bridge", ENOMEM);
  auto s = nl.CreateBridge({.name = "br0"});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.sys_errno(), ENOMEM);
  EXPECT_FALSE(nl.GetLink("br0").ok());
  EXPECT_TRUE(nl.CreateBridge({.name = "br0"}).ok());  // armed once only
  auto br = nl.GetLink("br0");
  ASSERT_TRUE(nl.SetMac(*br, *base::MacAddress::Parse("02:00:00:00:00:aa")).ok());
  EXPECT_EQ(nl.GetLink("br0")->mac.ToString(), "02:00:00:00:00:aa");
}

}  // namespace
}  // namespace knet::kernel::netlink
