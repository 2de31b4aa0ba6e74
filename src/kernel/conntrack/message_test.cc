#include "kernel/conntrack/message.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstring>

#include "gtest/gtest.h"
#include "kernel/conntrack/fake_conntrack.h"

namespace knet::kernel::conntrack {
namespace {

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }

Entry UdpEntry(const char* client, const char* vip, uint16_t vport, const char* ep,
               uint16_t eport) {
  Entry e;
  e.orig = {Ip(client), Ip(vip), 17, 40000, vport};
  e.reply = {Ip(ep), Ip(client), 17, eport, 40000};
  return e;
}

nlmsghdr Header(const std::vector<uint8_t>& m) {
  nlmsghdr h;
  std::memcpy(&h, m.data(), sizeof(h));
  return h;
}

TEST(ConntrackMessage, DumpRequest) {
  std::vector<uint8_t> m = BuildDumpRequest(AF_INET6, 7);
  ASSERT_EQ(m.size(), NLMSG_HDRLEN + sizeof(nfgenmsg));
  nlmsghdr h = Header(m);
  EXPECT_EQ(h.nlmsg_len, m.size());
  EXPECT_EQ(h.nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
  EXPECT_EQ(h.nlmsg_seq, 7u);
  nfgenmsg g;
  std::memcpy(&g, m.data() + NLMSG_HDRLEN, sizeof(g));
  EXPECT_EQ(g.nfgen_family, AF_INET6);
  EXPECT_EQ(g.version, NFNETLINK_V0);
}

TEST(ConntrackMessage, CreateRequestRoundTripsThroughParse) {
  for (Entry e : {UdpEntry("10.0.0.5", "10.96.0.10", 53, "10.244.1.7", 5353),
                  UdpEntry("fd00::5", "fd00:96::10", 53, "fd00:244::7", 5353)}) {
    e.zone = 3;
    std::vector<uint8_t> m = BuildCreateRequest(e, 30, 1);
    nlmsghdr h = Header(m);
    EXPECT_EQ(h.nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW);
    EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    auto parsed = ParseEntry(m);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, e);
  }
}

TEST(ConntrackMessage, DeleteRequestCarriesOnlyTheOriginalTuple) {
  Entry e = UdpEntry("10.0.0.5", "10.96.0.10", 53, "10.244.1.7", 5353);
  std::vector<uint8_t> m = BuildDeleteRequest(e, 9);
  nlmsghdr h = Header(m);
  EXPECT_EQ(h.nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  // Without a reply tuple the message is not a full entry.
  auto parsed = ParseEntry(m);
  EXPECT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("missing tuple"), std::string::npos);
  // The original tuple is there: the same bytes as in a create request's start.
  std::vector<uint8_t> create = BuildCreateRequest(e, 30, 9);
  ASSERT_GT(create.size(), m.size());
  EXPECT_TRUE(std::equal(m.begin() + NLMSG_HDRLEN, m.end(), create.begin() + NLMSG_HDRLEN));
}

TEST(ConntrackMessage, ParseRejectsGarbage) {
  EXPECT_FALSE(ParseEntry(std::vector<uint8_t>(4, 0)).ok());
  std::vector<uint8_t> m = BuildDumpRequest(AF_INET, 1);
  m[0] = 0xff;  // length beyond the bytes
  EXPECT_FALSE(ParseEntry(m).ok());
  std::vector<uint8_t> route = BuildDumpRequest(AF_INET, 1);
  route[4] = 16;  // RTM_NEWLINK: not ctnetlink
  route[5] = 0;
  EXPECT_FALSE(ParseEntry(route).ok());
  // Truncating a valid entry inside its tuples is an error, not a crash (the last 8 bytes are the
  // optional CTA_TIMEOUT).
  Entry e = UdpEntry("10.0.0.5", "10.96.0.10", 53, "10.244.1.7", 5353);
  std::vector<uint8_t> c = BuildCreateRequest(e, 30, 1);
  for (size_t cut = NLMSG_HDRLEN + sizeof(nfgenmsg) + 4; cut < c.size() - 8; cut += 4) {
    std::vector<uint8_t> t(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(cut));
    uint32_t len = static_cast<uint32_t>(cut);
    std::memcpy(t.data(), &len, 4);
    EXPECT_FALSE(ParseEntry(t).ok()) << cut;
  }
}

TEST(ConntrackFilter, MatchesAsKubeProxyFilters) {
  Entry e = UdpEntry("10.0.0.5", "10.96.0.10", 53, "10.244.1.7", 5353);
  EXPECT_TRUE((Filter{.orig_dst = Ip("10.96.0.10"), .orig_dst_port = 53}).Matches(e));
  EXPECT_TRUE((Filter{.orig_dst = Ip("10.96.0.10")}).Matches(e));
  EXPECT_FALSE((Filter{.orig_dst = Ip("10.96.0.10"), .orig_dst_port = 54}).Matches(e));
  EXPECT_FALSE((Filter{.orig_dst = Ip("10.96.0.11")}).Matches(e));
  EXPECT_FALSE((Filter{.protocol = 6, .orig_dst = Ip("10.96.0.10")}).Matches(e));
  EXPECT_TRUE((Filter{.reply_src = Ip("10.244.1.7")}).Matches(e));
  EXPECT_FALSE((Filter{.reply_src = Ip("10.244.1.8")}).Matches(e));
  EXPECT_FALSE(Filter{}.Validate().ok());
  // NodePort: the port alone, with a family.
  Filter port_only{.orig_dst_port = 53, .family = AF_INET};
  EXPECT_TRUE(port_only.Validate().ok());
  EXPECT_TRUE(port_only.Matches(e));
  EXPECT_EQ(port_only.String(), "udp ipv4 port 53");
  EXPECT_FALSE((Filter{.orig_dst_port = 53}).Validate().ok());
  EXPECT_FALSE((Filter{.orig_dst = Ip("10.96.0.10"), .reply_src = Ip("fd00::1")}).Validate().ok());
  EXPECT_EQ((Filter{.orig_dst = Ip("10.96.0.10"), .orig_dst_port = 53}).String(),
            "udp orig-dst 10.96.0.10 port 53");
}

TEST(FakeConntrack, DeletesMatchesAndRecordsFilters) {
  FakeConntrack ct;
  ct.Add(UdpEntry("10.0.0.5", "10.96.0.10", 53, "10.244.1.7", 5353));
  ct.Add(UdpEntry("10.0.0.6", "10.96.0.10", 53, "10.244.1.8", 5353));
  auto n = ct.Delete({.reply_src = Ip("10.244.1.7")});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  ASSERT_EQ(ct.entries().size(), 1u);
  EXPECT_EQ(ct.entries()[0].reply.src, Ip("10.244.1.8"));
  EXPECT_EQ(ct.filters().size(), 1u);
  ct.SetError(base::InternalError("boom"));
  EXPECT_FALSE(ct.Delete({.reply_src = Ip("10.244.1.8")}).ok());
  EXPECT_EQ(ct.entries().size(), 1u);
}

}  // namespace
}  // namespace knet::kernel::conntrack
