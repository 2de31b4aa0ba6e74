// Batch bytes without a kernel: framing (BEGIN, one message per operation, NLM_F_ACK on the last,
// END), sequence numbers, flags, and rules parsed back by libnftnl with their expressions and
// comment.
#include "kernel/nft/message.h"

#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include <cstring>
#include <vector>

namespace knet::kernel::nft {
namespace {

base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

struct Msg {
  uint16_t type;
  uint16_t flags;
  uint32_t seq;
  uint8_t family;
  std::vector<uint8_t> bytes;
};

std::vector<Msg> Split(const std::vector<uint8_t>& bytes) {
  std::vector<Msg> out;
  std::vector<uint8_t> copy = bytes;
  int len = static_cast<int>(copy.size());
  for (auto* nlh = reinterpret_cast<nlmsghdr*>(copy.data()); mnl_nlmsg_ok(nlh, len);
       nlh = mnl_nlmsg_next(nlh, &len)) {
    const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
    const auto* p = reinterpret_cast<const uint8_t*>(nlh);
    out.push_back({nlh->nlmsg_type, nlh->nlmsg_flags, nlh->nlmsg_seq, nfg->nfgen_family,
                   std::vector<uint8_t>(p, p + nlh->nlmsg_len)});
  }
  EXPECT_EQ(len, 0) << "trailing bytes";
  return out;
}

uint16_t NftType(uint16_t msg) { return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg); }

TEST(MessageTest, OneBatchFramesEveryOperationWithAnAck) {
  Transaction tx;
  tx.AddTable(Family::kIp, "knet-cni")
      .AddChain(Family::kIp, "knet-cni", "postrouting",
                BaseChain{ChainType::kNat, Hook::kPostrouting, kPrioritySrcnat})
      .AddRule(Family::kIp, "knet-cni", "postrouting",
               {.exprs = {MatchAddr{Dir::kSource, Net("10.1.0.2/32")},
                          MatchAddr{Dir::kDestination, Net("10.1.0.0/24"), Op::kNeq}, Counter{},
                          Masquerade{}},
                .comment = "knet-cni testnet c1 eth0"})
      .DeleteRule(Family::kIp, "knet-cni", "postrouting", 7)
      .AddTable(Family::kIp6, "x", /*exclusive=*/true);
  base::StatusOr<Batch> b = BuildBatch(tx, 100);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->first_op_seq, 101u);
  std::vector<Msg> m = Split(b->bytes);
  ASSERT_EQ(m.size(), 7u);
  EXPECT_EQ(m[0].type, NFNL_MSG_BATCH_BEGIN);
  EXPECT_EQ(m[0].seq, 100u);
  EXPECT_EQ(m[6].type, NFNL_MSG_BATCH_END);
  EXPECT_EQ(m[6].seq, 106u);
  const uint16_t types[] = {NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_DELRULE,
                            NFT_MSG_NEWTABLE};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(m[i + 1].type, NftType(types[i])) << i;
    EXPECT_EQ(m[i + 1].seq, 101u + i);
    EXPECT_EQ((m[i + 1].flags & NLM_F_ACK) != 0, i == 4) << "ACK on the last only: " << i;
    EXPECT_TRUE(m[i + 1].flags & NLM_F_REQUEST) << i;
  }
  EXPECT_EQ(m[1].family, NFPROTO_IPV4);
  EXPECT_EQ(m[5].family, NFPROTO_IPV6);
  EXPECT_FALSE(m[1].flags & NLM_F_EXCL);  // "add": idempotent
  EXPECT_TRUE(m[5].flags & NLM_F_EXCL);   // "create"
  EXPECT_TRUE(m[3].flags & NLM_F_APPEND);

  base::StatusOr<ParsedRule> r = ParseRuleMessage(m[3].bytes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->chain, "postrouting");
  EXPECT_EQ(r->rule.comment, "knet-cni testnet c1 eth0");
  // saddr: payload + cmp; daddr != prefix: payload + bitwise + cmp; counter; masq.
  EXPECT_EQ(r->expr_names, (std::vector<std::string>{"payload", "cmp", "payload", "bitwise", "cmp",
                                                     "counter", "masq"}));
}

TEST(MessageTest, InetAddressAndPortMatchesCarryTheirDependencies) {
  Transaction tx;
  tx.AddRule(
      Family::kInet, "t", "c",
      {.exprs = {MatchAddr{Dir::kDestination, Net("fd00::1/128")},
                 MatchPort{IPPROTO_TCP, Dir::kDestination, 80}, Verdict{Verdict::kJump, "svc"}}});
  base::StatusOr<Batch> b = BuildBatch(tx, 1);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  std::vector<Msg> m = Split(b->bytes);
  ASSERT_EQ(m.size(), 3u);
  base::StatusOr<ParsedRule> r = ParseRuleMessage(m[1].bytes);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rule.comment, "");
  EXPECT_EQ(r->expr_names, (std::vector<std::string>{"meta", "cmp", "payload", "cmp", "meta", "cmp",
                                                     "payload", "cmp", "immediate"}));
}

TEST(MessageTest, InvalidTransactionsAreRefusedBeforeBuilding) {
  Transaction tx;
  tx.AddTable(Family::kIp, "");
  EXPECT_EQ(BuildBatch(tx, 1).status().code(), base::StatusCode::kInvalidArgument);
}

TEST(MessageTest, ListRequestsNameTheChain) {
  ChainRef c{Family::kIp6, "t", "c"};
  std::vector<Msg> get = Split(GetChainRequest(c, 5));
  ASSERT_EQ(get.size(), 1u);
  EXPECT_EQ(get[0].type, NftType(NFT_MSG_GETCHAIN));
  EXPECT_FALSE(get[0].flags & NLM_F_DUMP);
  std::vector<Msg> dump = Split(DumpRulesRequest(c, 6));
  ASSERT_EQ(dump.size(), 1u);
  EXPECT_EQ(dump[0].type, NftType(NFT_MSG_GETRULE));
  EXPECT_EQ((dump[0].flags & NLM_F_DUMP), NLM_F_DUMP);
  EXPECT_EQ(dump[0].family, NFPROTO_IPV6);
}

TEST(MessageTest, ParseRejectsGarbage) {
  std::vector<uint8_t> junk = {1, 2, 3};
  EXPECT_FALSE(ParseRuleMessage(junk).ok());
  std::vector<uint8_t> lying(16, 0);
  lying[0] = 200;  // nlmsg_len beyond the buffer
  EXPECT_FALSE(ParseRuleMessage(lying).ok());
  std::vector<uint8_t> headless(16, 0);
  headless[0] = 16;  // a header and no nfgenmsg
  EXPECT_FALSE(ParseRuleMessage(headless).ok());
  // Every truncation of a real rule message is parsed or refused, never read past its end.
  Transaction tx;
  tx.AddRule(Family::kIp, "t", "c",
             {.exprs = {MatchAddr{Dir::kSource, Net("10.0.0.0/8")}, Counter{}}, .comment = "x"});
  base::StatusOr<Batch> b = BuildBatch(tx, 1);
  ASSERT_TRUE(b.ok());
  std::vector<uint8_t> rule = Split(b->bytes)[1].bytes;
  for (size_t n = 0; n < rule.size(); ++n) {
    std::vector<uint8_t> cut(rule.begin(), rule.begin() + static_cast<std::ptrdiff_t>(n));
    if (cut.size() >= 4) {
      auto len = static_cast<uint32_t>(cut.size());
      std::memcpy(cut.data(), &len, sizeof(len));  // a consistent, shorter nlmsg_len
    }
    (void)ParseRuleMessage(cut);
  }
}

}  // namespace
}  // namespace knet::kernel::nft
