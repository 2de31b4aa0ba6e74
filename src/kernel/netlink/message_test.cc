#include "kernel/netlink/message.h"

#include <linux/if_link.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kernel/netlink/parse.h"

namespace knet::kernel::netlink {
namespace {

using base::StatusCode;
using ::testing::ElementsAreArray;

std::vector<uint8_t> Bytes(const Request& r) { return {r.bytes().begin(), r.bytes().end()}; }

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

TEST(MessageTest, SetLinkUpBytes) {
  Request r = SetLinkUpRequest(5, true, "eth0");
  const std::vector<uint8_t> want = {
      0x20, 0x00, 0x00, 0x00,              // nlmsg_len 32
      0x10, 0x00,                          // RTM_NEWLINK
      0x05, 0x00,                          // NLM_F_REQUEST | NLM_F_ACK
      0,    0,    0,    0,    0, 0, 0, 0,  // seq, pid: the socket fills them
      0x00, 0x00, 0x00, 0x00,              // ifi_family AF_UNSPEC, pad, ifi_type
      0x05, 0x00, 0x00, 0x00,              // ifi_index 5
      0x01, 0x00, 0x00, 0x00,              // ifi_flags IFF_UP
      0x01, 0x00, 0x00, 0x00,              // ifi_change IFF_UP
  };
  EXPECT_THAT(Bytes(r), ElementsAreArray(want));
  EXPECT_EQ(r.what(), "setting eth0 up");
  EXPECT_EQ(SetLinkUpRequest(5, false).what(), "setting link #5 down");
  EXPECT_EQ(SetLinkUpRequest(5, false).bytes()[24], 0x00);  // ifi_flags cleared
}

TEST(MessageTest, NewBridgeBytes) {
  auto r = NewBridgeRequest({.name = "br0", .mtu = 1450});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<uint8_t> want = {
      0x40, 0x00, 0x00, 0x00,                       // 64 bytes
      0x10, 0x00,                                   // RTM_NEWLINK
      0x05, 0x06,                                   // REQUEST | ACK | EXCL | CREATE
      0,    0,    0,    0,    0,    0,    0,    0,  //
      0,    0,    0,    0,    0,    0,    0,    0,    0,   0,   0,    0,
      0,    0,    0,    0,                             // ifinfomsg: all zero
      0x08, 0x00, 0x03, 0x00, 'b',  'r',  '0',  0x00,  // IFLA_IFNAME "br0"
      0x08, 0x00, 0x04, 0x00, 0xaa, 0x05, 0x00, 0x00,  // IFLA_MTU 1450
      0x10, 0x00, 0x12, 0x80,                          // IFLA_LINKINFO | NLA_F_NESTED
      0x0b, 0x00, 0x01, 0x00, 'b',  'r',  'i',  'd',  'g', 'e', 0x00, 0x00,  // IFLA_INFO_KIND
  };
  EXPECT_THAT(Bytes(*r), ElementsAreArray(want));
  EXPECT_EQ(r->what(), "creating bridge br0");
}

TEST(MessageTest, BridgeWithMacRoundTrips) {
  auto mac = *base::MacAddress::Parse("02:00:00:00:00:01");
  auto r = NewBridgeRequest({.name = "cni0", .mac = mac});
  ASSERT_TRUE(r.ok());
  auto parsed = ParseLinkMessages(r->bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].link.name, "cni0");
  EXPECT_EQ((*parsed)[0].link.kind, "bridge");
  EXPECT_EQ((*parsed)[0].link.mtu, 0u);  // unset: kernel default
  EXPECT_EQ((*parsed)[0].mac, mac);
}

TEST(MessageTest, HairpinBytes) {
  Request r = SetHairpinRequest(7, true, "veth1");
  const std::vector<uint8_t> want = {
      0x2c, 0x00, 0x00, 0x00,                          // 44 bytes
      0x13, 0x00,                                      // RTM_SETLINK
      0x05, 0x00,                                      // REQUEST | ACK
      0,    0,    0,    0,    0,    0,    0,    0,     //
      0x07, 0x00, 0x00, 0x00,                          // AF_BRIDGE
      0x07, 0x00, 0x00, 0x00,                          // index 7
      0,    0,    0,    0,    0,    0,    0,    0,     // flags, change
      0x0c, 0x00, 0x0c, 0x80,                          // IFLA_PROTINFO | NLA_F_NESTED
      0x05, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00,  // IFLA_BRPORT_MODE 1
  };
  EXPECT_THAT(Bytes(r), ElementsAreArray(want));
  EXPECT_EQ(r.what(), "turning hairpin mode on for bridge port veth1");
}

TEST(MessageTest, AddRouteBytesAndDescription) {
  Route route{.dst = Net("10.1.0.0/24"), .link_index = 4};
  Request r = AddRouteRequest(route, "vxlan0");
  const std::vector<uint8_t> want = {
      0x2c, 0x00, 0x00, 0x00,                       // 44 bytes
      0x18, 0x00,                                   // RTM_NEWROUTE
      0x05, 0x06,                                   // REQUEST | ACK | EXCL | CREATE
      0,    0,    0,    0,    0,    0,    0,    0,  //
      0x02, 24,   0,    0,                          // AF_INET, dst_len 24, src_len, tos
      254,  3,    253,  1,  // main table, RTPROT_BOOT, RT_SCOPE_LINK (no gateway), RTN_UNICAST
      0,    0,    0,    0,  // rtm_flags
      0x08, 0x00, 0x01, 0x00, 10,   1,    0,    0,     // RTA_DST
      0x08, 0x00, 0x04, 0x00, 0x04, 0x00, 0x00, 0x00,  // RTA_OIF 4
  };
  EXPECT_THAT(Bytes(r), ElementsAreArray(want));
  EXPECT_EQ(r.what(), "adding route 10.1.0.0/24 via vxlan0");
}

TEST(MessageTest, RouteVariantsRoundTrip) {
  Route route{.dst = Net("10.244.1.0/24"),
              .gateway = Ip("10.244.1.0"),
              .link_index = 9,
              .onlink = true,
              .table = 1000,
              .src = Ip("10.244.0.0"),
              .metric = 100};
  Request r = ReplaceRouteRequest(route, "flannel.1");
  EXPECT_EQ(r.what(), "replacing route 10.244.1.0/24 via 10.244.1.0 dev flannel.1 table 1000");
  EXPECT_EQ(r.flags(), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
  auto parsed = ParseRoutes(r.bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  Route got = (*parsed)[0];
  EXPECT_EQ(got.scope, RT_SCOPE_UNIVERSE);  // a gateway makes it universe
  got.scope.reset();
  EXPECT_EQ(got, route);

  // A default IPv6 route carries no RTA_DST; deletes match any scope and protocol.
  Route def{.dst = Net("::/0"), .gateway = Ip("fd00::1")};
  Request del = DeleteRouteRequest(def);
  EXPECT_EQ(del.type(), RTM_DELROUTE);
  EXPECT_EQ(del.what(), "deleting route ::/0 via fd00::1");
  auto back = ParseRoutes(del.bytes());
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].dst, Net("::/0"));
  EXPECT_EQ((*back)[0].scope, RT_SCOPE_NOWHERE);
  EXPECT_EQ((*back)[0].gateway, Ip("fd00::1"));
}

TEST(MessageTest, VethPeerInItsNamespace) {
  auto r = NewVethRequest(
      {.name = "veth1234", .netns_fd = 11, .peer_name = "eth0", .peer_netns_fd = 12, .mtu = 1450});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->what(), "creating veth pair veth1234/eth0");
  auto parsed = ParseLinkMessages(r->bytes());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  const LinkMessage& m = (*parsed)[0];
  EXPECT_EQ(m.link.name, "veth1234");
  EXPECT_EQ(m.link.kind, "veth");
  EXPECT_EQ(m.link.mtu, 1450u);
  EXPECT_EQ(m.netns_fd, 11);
  ASSERT_EQ(m.veth_peer.size(), 1u);
  EXPECT_EQ(m.veth_peer[0].link.name, "eth0");
  EXPECT_EQ(m.veth_peer[0].link.mtu, 1450u);
  EXPECT_EQ(m.veth_peer[0].netns_fd, 12);

  // Without namespaces, no IFLA_NET_NS_FD at all.
  auto local = NewVethRequest({.name = "a", .peer_name = "b"});
  ASSERT_TRUE(local.ok());
  auto lp = ParseLinkMessages(local->bytes());
  ASSERT_TRUE(lp.ok());
  EXPECT_EQ((*lp)[0].netns_fd, -1);
  EXPECT_EQ((*lp)[0].veth_peer[0].netns_fd, -1);
}

TEST(MessageTest, VxlanRoundTrip) {
  auto r = NewVxlanRequest(
      {.name = "vxlan0", .vni = 42, .local = Ip("192.168.1.2"), .link_index = 3, .mtu = 1450});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->what(), "creating vxlan vxlan0 (VNI 42)");
  auto links = ParseLinks(r->bytes());
  ASSERT_TRUE(links.ok()) << links.status().ToString();
  ASSERT_EQ(links->size(), 1u);
  ASSERT_TRUE((*links)[0].vxlan.has_value());
  EXPECT_EQ(*(*links)[0].vxlan, (VxlanInfo{.vni = 42,
                                           .local = Ip("192.168.1.2"),
                                           .port = 8472,
                                           .learning = false,
                                           .link_index = 3}));
  // The port goes out in network byte order: 8472 = 0x2118.
  std::vector<uint8_t> bytes = Bytes(*r);
  const std::vector<uint8_t> port_attr = {0x06, 0x00, IFLA_VXLAN_PORT, 0x00, 0x21, 0x18};
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), port_attr.begin(), port_attr.end()),
            bytes.end());

  auto v6 = NewVxlanRequest({.name = "vx6", .local = Ip("fd00::2")});
  ASSERT_TRUE(v6.ok());
  auto l6 = ParseLinks(v6->bytes());
  ASSERT_TRUE(l6.ok());
  EXPECT_EQ((*l6)[0].vxlan->local, Ip("fd00::2"));
}

TEST(MessageTest, InvalidInputs) {
  EXPECT_EQ(NewBridgeRequest({.name = ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewBridgeRequest({.name = "sixteen-chars-xx"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(NewBridgeRequest({.name = "fifteen-chars-x"}).ok());
  EXPECT_EQ(NewBridgeRequest({.name = "a/b"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewBridgeRequest({.name = "a b"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewVethRequest({.name = "ok", .peer_name = ""}).status().code(),
            StatusCode::kInvalidArgument);
  auto big = NewVxlanRequest({.name = "vx", .vni = 1u << 24});
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(big.status().message().find("VNI"), std::string::npos);
  EXPECT_EQ(GetLinkRequest("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DeleteLinkRequest(std::string_view("..")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(MessageTest, AddressesRoundTrip) {
  Address v4{.link_index = 2, .ip = Ip("10.244.0.1"), .prefix_len = 24};
  Request r = AddAddressRequest(v4, "cni0");
  EXPECT_EQ(r.what(), "adding address 10.244.0.1/24 to cni0");
  EXPECT_EQ(r.flags(), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  auto back = ParseAddresses(r.bytes());
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0], v4);
  // IFA_BROADCAST 10.244.0.255 for an IPv4 subnet.
  std::vector<uint8_t> bytes = Bytes(r);
  const std::vector<uint8_t> brd = {0x08, 0x00, IFA_BROADCAST, 0x00, 10, 244, 0, 255};
  EXPECT_NE(std::search(bytes.begin(), bytes.end(), brd.begin(), brd.end()), bytes.end());

  Address v6{.link_index = 2, .ip = Ip("fd00::1"), .prefix_len = 64, .nodad = true};
  Request r6 = AddAddressRequest(v6);
  EXPECT_EQ(r6.what(), "adding address fd00::1/64 to link #2");
  EXPECT_EQ(r6.bytes()[16], AF_INET6);
  EXPECT_EQ(r6.bytes()[18], IFA_F_NODAD);  // ifa_flags
  auto back6 = ParseAddresses(r6.bytes());
  ASSERT_TRUE(back6.ok());
  EXPECT_EQ((*back6)[0], v6);
  EXPECT_EQ(DeleteAddressRequest(v6, "eth0").what(), "deleting address fd00::1/64 from eth0");
}

TEST(MessageTest, NeighborsAndFdb) {
  auto mac = *base::MacAddress::Parse("0a:0b:0c:0d:0e:0f");
  Neighbor fdb{.kind = NeighborKind::kFdb, .link_index = 6, .ip = Ip("192.168.1.3"), .mac = mac};
  Request r = AddNeighborRequest(fdb, "vxlan0");
  const std::vector<uint8_t> want = {
      0x30, 0x00, 0x00, 0x00,                       // 48 bytes
      0x1c, 0x00,                                   // RTM_NEWNEIGH
      0x05, 0x06,                                   // REQUEST | ACK | EXCL | CREATE
      0,    0,    0,    0,    0,    0,    0,    0,  //
      0x07, 0x00, 0x00, 0x00,                       // AF_BRIDGE, pads
      0x06, 0x00, 0x00, 0x00,                       // ifindex 6
      0x80, 0x00,                                   // NUD_PERMANENT
      0x02, 0x00,                                   // NTF_SELF, type
      0x08, 0x00, 0x01, 0x00, 192,  168,  1,    3,  // NDA_DST
      0x0a, 0x00, 0x02, 0x00, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0, 0,  // NDA_LLADDR
  };
  EXPECT_THAT(Bytes(r), ElementsAreArray(want));
  EXPECT_EQ(r.what(), "adding FDB entry 0a:0b:0c:0d:0e:0f dst 192.168.1.3 on vxlan0");

  Neighbor arp{.link_index = 6, .ip = Ip("10.244.1.0"), .mac = mac};
  Request ra = ReplaceNeighborRequest(arp);
  EXPECT_EQ(ra.what(), "replacing neighbour 10.244.1.0 lladdr 0a:0b:0c:0d:0e:0f on link #6");
  EXPECT_EQ(ra.flags(), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
  auto back = ParseNeighbors(ra.bytes());
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0], arp);
  auto fdb_back = ParseNeighbors(r.bytes());
  ASSERT_TRUE(fdb_back.ok());
  Neighbor want_fdb = fdb;
  want_fdb.flags = NTF_SELF;
  EXPECT_EQ((*fdb_back)[0], want_fdb);
  // Deleting an IP neighbour needs no lladdr; deleting an FDB entry does.
  EXPECT_TRUE(ParseNeighbors(DeleteNeighborRequest(arp).bytes())->front().mac.IsZero());
  EXPECT_EQ(ParseNeighbors(DeleteNeighborRequest(fdb).bytes())->front().mac, mac);
}

TEST(MessageTest, RequestValidity) {
  EXPECT_TRUE(SetMtuRequest(2, 1500).valid());
  Request short_bytes({1, 2, 3}, "junk");
  EXPECT_FALSE(short_bytes.valid());
  EXPECT_EQ(short_bytes.type(), 0);
  std::vector<uint8_t> wrong_len = Bytes(SetMtuRequest(2, 1500));
  wrong_len[0] = 200;
  EXPECT_FALSE(Request(wrong_len, "x").valid());
}

TEST(MessageTest, Queries) {
  Request dump = DumpLinksRequest();
  EXPECT_EQ(dump.type(), RTM_GETLINK);
  EXPECT_EQ(dump.flags(), NLM_F_REQUEST | NLM_F_DUMP);
  auto get = GetLinkRequest("eth0");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->what(), "getting link eth0");
  EXPECT_EQ(ParseLinks(get->bytes())->front().name, "eth0");
  EXPECT_EQ(DumpRoutesRequest(AF_INET6).bytes()[16], AF_INET6);
  EXPECT_EQ(DumpNeighborsRequest(NeighborKind::kFdb).bytes()[16], AF_BRIDGE);
  EXPECT_EQ(DumpAddressesRequest(AF_INET).bytes()[16], AF_INET);
}

}  // namespace
}  // namespace knet::kernel::netlink
