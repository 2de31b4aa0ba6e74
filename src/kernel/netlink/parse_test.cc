#include "kernel/netlink/parse.h"

#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace knet::kernel::netlink {
namespace {

using base::StatusCode;

// Writes messages the way the kernel does, independently of message.cc.
class Writer {
 public:
  // Starts a message with a fixed header of `header_size` bytes (zeroed) and returns its offset.
  size_t Begin(uint16_t type, size_t header_size, uint16_t flags = NLM_F_MULTI) {
    start_ = buf_.size();
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    Raw(&h, sizeof(h));
    size_t fixed = buf_.size();
    buf_.resize(buf_.size() + NLMSG_ALIGN(header_size), 0);
    return fixed;
  }
  template <typename T>
  void Fixed(size_t offset, const T& value) {
    std::memcpy(buf_.data() + offset, &value, sizeof(T));
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    nlattr a{static_cast<uint16_t>(sizeof(nlattr) + len), type};
    Raw(&a, sizeof(a));
    Raw(data, len);
    buf_.resize(NLA_ALIGN(buf_.size()), 0);
  }
  template <typename T>
  void Attr(uint16_t type, T value) {
    Attr(type, &value, sizeof(value));
  }
  void Str(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }
  size_t Nest(uint16_t type) {
    size_t at = buf_.size();
    nlattr a{0, static_cast<uint16_t>(type | NLA_F_NESTED)};
    Raw(&a, sizeof(a));
    return at;
  }
  void EndNest(size_t at) {
    uint16_t len = static_cast<uint16_t>(buf_.size() - at);
    std::memcpy(buf_.data() + at, &len, sizeof(len));
  }
  void End() {
    uint32_t len = static_cast<uint32_t>(buf_.size() - start_);
    std::memcpy(buf_.data() + start_, &len, sizeof(len));
  }
  std::vector<uint8_t>& bytes() { return buf_; }

 private:
  void Raw(const void* p, size_t n) {
    auto b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  std::vector<uint8_t> buf_;
  size_t start_ = 0;
};

void AddDone(Writer& w) {
  size_t off = w.Begin(NLMSG_DONE, sizeof(int));
  w.Fixed(off, 0);
  w.End();
}

// A dump of two links: a veth port of bridge #3 with hairpin on, and lo.
std::vector<uint8_t> LinkDump() {
  Writer w;
  size_t off = w.Begin(RTM_NEWLINK, sizeof(ifinfomsg));
  ifinfomsg ifi{};
  ifi.ifi_index = 7;
  ifi.ifi_flags = IFF_UP | IFF_BROADCAST;
  w.Fixed(off, ifi);
  w.Str(IFLA_IFNAME, "veth7");
  w.Attr<uint32_t>(IFLA_MTU, 1450);
  const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 7};
  w.Attr(IFLA_ADDRESS, mac, sizeof(mac));
  w.Attr<uint32_t>(IFLA_MASTER, 3);
  w.Attr<uint32_t>(IFLA_LINK, 2);
  size_t info = w.Nest(IFLA_LINKINFO);
  w.Str(IFLA_INFO_KIND, "veth");
  w.Str(IFLA_INFO_SLAVE_KIND, "bridge");
  size_t slave = w.Nest(IFLA_INFO_SLAVE_DATA);
  w.Attr<uint8_t>(IFLA_BRPORT_MODE, 1);
  w.EndNest(slave);
  w.EndNest(info);
  w.End();

  off = w.Begin(RTM_NEWLINK, sizeof(ifinfomsg));
  ifinfomsg lo{};
  lo.ifi_index = 1;
  lo.ifi_flags = IFF_UP | IFF_LOOPBACK;
  w.Fixed(off, lo);
  w.Str(IFLA_IFNAME, "lo");
  w.Attr<uint32_t>(IFLA_MTU, 65536);
  w.End();
  AddDone(w);
  return w.bytes();
}

TEST(ParseTest, LinkDump) {
  auto links = ParseLinks(LinkDump());
  ASSERT_TRUE(links.ok()) << links.status().ToString();
  ASSERT_EQ(links->size(), 2u);
  const Link& veth = (*links)[0];
  EXPECT_EQ(veth.index, 7);
  EXPECT_EQ(veth.name, "veth7");
  EXPECT_EQ(veth.kind, "veth");
  EXPECT_EQ(veth.mtu, 1450u);
  EXPECT_TRUE(veth.up());
  EXPECT_EQ(veth.mac.ToString(), "02:00:00:00:00:07");
  EXPECT_EQ(veth.master_index, 3);
  EXPECT_EQ(veth.peer_index, 2);
  EXPECT_TRUE(veth.hairpin);
  const Link& lo = (*links)[1];
  EXPECT_EQ(lo.name, "lo");
  EXPECT_EQ(lo.kind, "");
  EXPECT_EQ(lo.master_index, 0);
  EXPECT_FALSE(lo.hairpin);
}

TEST(ParseTest, UnalignedInputParses) {
  std::vector<uint8_t> dump = LinkDump();
  std::vector<uint8_t> shifted(dump.size() + 1);
  std::memcpy(shifted.data() + 1, dump.data(), dump.size());
  auto links = ParseLinks(std::span<const uint8_t>(shifted).subspan(1));
  ASSERT_TRUE(links.ok()) << links.status().ToString();
  EXPECT_EQ(links->size(), 2u);
}

TEST(ParseTest, MalformedInputIsAnError) {
  std::vector<uint8_t> dump = LinkDump();
  // Truncated anywhere inside the first message.
  for (size_t cut : {size_t{4}, size_t{15}, size_t{20}, size_t{40}, size_t{70}}) {
    auto r = ParseLinks(std::span<const uint8_t>(dump).first(cut));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "cut at " << cut;
  }
  // nlmsg_len shorter than a header.
  std::vector<uint8_t> bad = dump;
  bad[0] = 8;
  EXPECT_EQ(ParseLinks(bad).status().code(), StatusCode::kInvalidArgument);
  // The name attribute claims to run past the end of the message.
  bad = dump;
  bad[32] = 0xff;  // IFLA_IFNAME's nla_len (first attribute after ifinfomsg)
  auto r = ParseLinks(bad);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("out of bounds"), std::string::npos) << r.status().message();

  // An MTU of two bytes.
  Writer w;
  size_t off = w.Begin(RTM_NEWLINK, sizeof(ifinfomsg));
  w.Fixed(off, ifinfomsg{});
  w.Attr<uint16_t>(IFLA_MTU, 1500);
  w.End();
  auto mtu = ParseLinks(w.bytes());
  EXPECT_EQ(mtu.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mtu.status().message().find("IFLA_MTU has 2 bytes"), std::string::npos);
}

TEST(ParseTest, AddressesPreferLocal) {
  Writer w;
  size_t off = w.Begin(RTM_NEWADDR, sizeof(ifaddrmsg));
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET;
  ifa.ifa_prefixlen = 32;
  ifa.ifa_index = 4;
  w.Fixed(off, ifa);
  const uint8_t peer[4] = {10, 0, 0, 2}, local[4] = {10, 0, 0, 1};
  w.Attr(IFA_ADDRESS, peer, 4);
  w.Attr(IFA_LOCAL, local, 4);
  w.Attr<uint32_t>(IFA_FLAGS, IFA_F_NODAD | IFA_F_PERMANENT);
  w.End();
  // A bad prefix length.
  off = w.Begin(RTM_NEWADDR, sizeof(ifaddrmsg));
  ifa.ifa_prefixlen = 33;
  w.Fixed(off, ifa);
  w.End();
  auto bad = ParseAddresses(w.bytes());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  w.bytes().resize(w.bytes().size() - NLMSG_LENGTH(sizeof(ifaddrmsg)));
  auto addrs = ParseAddresses(w.bytes());
  ASSERT_TRUE(addrs.ok()) << addrs.status().ToString();
  ASSERT_EQ(addrs->size(), 1u);
  EXPECT_EQ((*addrs)[0].ToString(), "10.0.0.1/32");
  EXPECT_EQ((*addrs)[0].link_index, 4);
  EXPECT_TRUE((*addrs)[0].nodad);
}

TEST(ParseTest, RoutesSkipClonesAndCheckSizes) {
  Writer w;
  size_t off = w.Begin(RTM_NEWROUTE, sizeof(rtmsg));
  rtmsg rtm{};
  rtm.rtm_family = AF_INET;
  rtm.rtm_dst_len = 16;
  rtm.rtm_table = RT_TABLE_UNSPEC;
  rtm.rtm_scope = RT_SCOPE_LINK;
  rtm.rtm_type = RTN_UNICAST;
  rtm.rtm_protocol = RTPROT_KERNEL;
  w.Fixed(off, rtm);
  const uint8_t dst[4] = {10, 1, 2, 3};  // host bits set: masked to 10.1.0.0/16
  w.Attr(RTA_DST, dst, 4);
  w.Attr<uint32_t>(RTA_TABLE, 1234);
  w.Attr<uint32_t>(RTA_OIF, 5);
  w.End();
  off = w.Begin(RTM_NEWROUTE, sizeof(rtmsg));
  rtmsg clone = rtm;
  clone.rtm_flags = RTM_F_CLONED;
  w.Fixed(off, clone);
  w.End();
  auto routes = ParseRoutes(w.bytes());
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  ASSERT_EQ(routes->size(), 1u);
  EXPECT_EQ((*routes)[0].dst.ToString(), "10.1.0.0/16");
  EXPECT_EQ((*routes)[0].table, 1234u);
  EXPECT_EQ((*routes)[0].link_index, 5);
  EXPECT_EQ((*routes)[0].scope, RT_SCOPE_LINK);
  EXPECT_EQ((*routes)[0].protocol, RTPROT_KERNEL);

  Writer bad;
  off = bad.Begin(RTM_NEWROUTE, sizeof(rtmsg));
  bad.Fixed(off, rtm);
  bad.Attr(RTA_GATEWAY, dst, 3);
  bad.End();
  EXPECT_EQ(ParseRoutes(bad.bytes()).status().code(), StatusCode::kInvalidArgument);
}

TEST(ParseTest, AckWithExtendedMessage) {
  Writer w;
  size_t off = w.Begin(NLMSG_ERROR, sizeof(nlmsgerr), NLM_F_CAPPED | NLM_F_ACK_TLVS);
  nlmsgerr err{};
  err.error = -EEXIST;
  err.msg.nlmsg_seq = 42;
  err.msg.nlmsg_len = 64;
  w.Fixed(off, err);
  w.Str(NLMSGERR_ATTR_MSG, "Route already exists");
  w.End();
  auto ack = ParseAck(w.bytes());
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->seq, 42u);
  EXPECT_EQ(ack->error, -EEXIST);
  EXPECT_EQ(ack->message, "Route already exists");

  base::Status s = NetlinkError(-ack->error, "adding route 10.1.0.0/24 via vxlan0", ack->message);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.sys_errno(), EEXIST);
  EXPECT_EQ(s.message(),
            "adding route 10.1.0.0/24 via vxlan0: File exists (kernel: Route already exists)");
  EXPECT_EQ(NetlinkError(ENODEV, "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(NetlinkError(ESRCH, "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(NetlinkError(EPERM, "x").code(), StatusCode::kPermissionDenied);

  EXPECT_EQ(ParseAck(std::span<const uint8_t>(w.bytes()).first(20)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ParseTest, SplitMessages) {
  std::vector<uint8_t> dump = LinkDump();
  auto parts = SplitMessages(dump);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 3u);
  nlmsghdr last{};
  std::memcpy(&last, (*parts)[2].data(), sizeof(last));
  EXPECT_EQ(last.nlmsg_type, NLMSG_DONE);
  EXPECT_EQ(SplitMessages(std::span<const uint8_t>(dump).first(dump.size() - 1)).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace knet::kernel::netlink

namespace knet::kernel::netlink {
namespace {

// Real kernel replies (the fuzzer's seeds), recorded in a scratch namespace holding a bridge br0
// with veth0 as a hairpin port, vxlan0 (VNI 7, nolearning), addresses, routes, a permanent
// neighbour and a vxlan FDB entry; see tests/testdata/fuzz/netlink_parse/README.md.
std::vector<uint8_t> Seed(const std::string& name) {
  std::string path = "tests/testdata/fuzz/netlink_parse/" + name;
  FILE* f = fopen(path.c_str(), "rb");
  std::vector<uint8_t> out;
  if (f == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return out;
  }
  int c;
  while ((c = fgetc(f)) != EOF) out.push_back(static_cast<uint8_t>(c));
  fclose(f);
  return out;
}

TEST(ParseKernelRepliesTest, Links) {
  auto links = ParseLinks(Seed("links"));
  ASSERT_TRUE(links.ok()) << links.status().ToString();
  auto find = [&](const std::string& name) {
    auto it =
        std::find_if(links->begin(), links->end(), [&](const Link& l) { return l.name == name; });
    EXPECT_NE(it, links->end()) << name;
    return it == links->end() ? Link{} : *it;
  };
  Link br = find("br0"), veth0 = find("veth0"), veth1 = find("veth1"), vx = find("vxlan0");
  EXPECT_EQ(br.kind, "bridge");
  EXPECT_EQ(veth0.kind, "veth");
  EXPECT_EQ(veth0.master_index, br.index);
  EXPECT_TRUE(veth0.hairpin);
  EXPECT_FALSE(veth1.hairpin);
  EXPECT_EQ(veth0.peer_index, veth1.index);
  ASSERT_TRUE(vx.vxlan.has_value());
  EXPECT_EQ(vx.vxlan->vni, 7u);
  EXPECT_EQ(vx.vxlan->port, 8472);
  EXPECT_FALSE(vx.vxlan->learning);
  EXPECT_EQ(vx.vxlan->local, *base::IPAddress::Parse("10.5.0.1"));
}

TEST(ParseKernelRepliesTest, AddressesRoutesNeighbours) {
  auto addrs = ParseAddresses(Seed("addresses"));
  ASSERT_TRUE(addrs.ok()) << addrs.status().ToString();
  bool v4 = false, v6 = false;
  for (const Address& a : *addrs) {
    if (a.ToString() == "10.5.0.1/24") v4 = true;
    if (a.ToString() == "fd05::1/64") v6 = a.nodad;
  }
  EXPECT_TRUE(v4);
  EXPECT_TRUE(v6);

  auto routes = ParseRoutes(Seed("routes_v4"));
  ASSERT_TRUE(routes.ok()) << routes.status().ToString();
  bool via = false, onlink = false;
  for (const Route& r : *routes) {
    if (r.dst.ToString() == "10.6.0.0/24")
      via = r.gateway == base::IPAddress::Parse("10.5.0.2").value();
    if (r.dst.ToString() == "10.7.0.0/24") onlink = r.onlink;
  }
  EXPECT_TRUE(via);
  EXPECT_TRUE(onlink);
  auto routes6 = ParseRoutes(Seed("routes_v6"));
  ASSERT_TRUE(routes6.ok()) << routes6.status().ToString();
  EXPECT_FALSE(routes6->empty());

  auto neighbors = ParseNeighbors(Seed("neighbours"));
  ASSERT_TRUE(neighbors.ok()) << neighbors.status().ToString();
  EXPECT_NE(std::find_if(neighbors->begin(), neighbors->end(),
                         [](const Neighbor& n) {
                           return n.kind == NeighborKind::kIp && n.state == NUD_PERMANENT &&
                                  n.mac.ToString() == "02:00:00:00:00:09";
                         }),
            neighbors->end());
  auto fdb = ParseNeighbors(Seed("fdb"));
  ASSERT_TRUE(fdb.ok()) << fdb.status().ToString();
  EXPECT_NE(std::find_if(fdb->begin(), fdb->end(),
                         [](const Neighbor& n) {
                           return n.kind == NeighborKind::kFdb && n.mac.IsZero() &&
                                  n.ip == base::IPAddress::Parse("10.5.0.2").value();
                         }),
            fdb->end());
}

TEST(ParseKernelRepliesTest, ExtendedAck) {
  auto ack = ParseAck(Seed("error_extack"));
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_EQ(ack->seq, 99u);
  EXPECT_LT(ack->error, 0);
  EXPECT_FALSE(ack->message.empty());
  EXPECT_EQ(NetlinkError(-ack->error, "creating x0", ack->message).message(),
            "creating x0: Operation not supported (kernel: Unknown device type)");
}

}  // namespace
}  // namespace knet::kernel::netlink
