// The pure parts of the seam: nft-syntax rendering, Describe, Validate.
#include "kernel/nft/nft.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

namespace knet::kernel::nft {
namespace {

base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

TEST(NftTest, RendersRulesInNftSyntax) {
  Rule r{.exprs = {MatchAddr{Dir::kSource, Net("10.1.0.2/32")},
                   MatchAddr{Dir::kDestination, Net("10.1.0.0/24"), Op::kNeq},
                   MatchPort{IPPROTO_UDP, Dir::kDestination, 53},
                   MatchIfname{.output = true, .name = "eth0"}, Counter{}, Masquerade{}},
         .comment = "c"};
  EXPECT_EQ(ToString(r, Family::kIp),
            "ip saddr 10.1.0.2 ip daddr != 10.1.0.0/24 udp dport 53 oifname \"eth0\" counter "
            "masquerade comment \"c\"");
  EXPECT_EQ(ToString(Expr{MatchAddr{Dir::kDestination, Net("ff00::/8")}}, Family::kIp6),
            "ip6 daddr ff00::/8");
  EXPECT_EQ(ToString(Expr{Verdict{Verdict::kJump, "svc"}}, Family::kInet), "jump svc");
}

TEST(NftTest, RendersSetsMapsAndTheProxyExpressions) {
  base::IPAddress ep = *base::IPAddress::Parse("10.1.0.5");
  EXPECT_EQ(ToString(Expr{Vmap{{Field::kIpDaddr, Field::kL4proto, Field::kThDport}, "services"}},
                     Family::kIp),
            "ip daddr . meta l4proto . th dport vmap @services");
  EXPECT_EQ(
      ToString(Expr{Vmap{{NumgenRandom{2}},
                         "",
                         {{.key = {Value::Integer(0)}, .verdict = Verdict{Verdict::kGoto, "a"}},
                          {.key = {Value::Integer(1)}, .verdict = Verdict{Verdict::kGoto, "b"}}}}},
               Family::kIp),
      "numgen random mod 2 vmap { 0 : goto a, 1 : goto b }");
  EXPECT_EQ(
      ToString(Expr{Nat{.key = {Field::kIpDaddr, NumgenRandom{3}}, .map = "eps"}}, Family::kIp),
      "dnat ip to ip daddr . numgen random mod 3 map @eps");
  EXPECT_EQ(ToString(Expr{Nat{.addr = ep, .port = 8080}}, Family::kIp), "dnat ip to 10.1.0.5:8080");
  EXPECT_EQ(ToString(Expr{Nat{.kind = Nat::kSnat,
                              .family = Family::kIp6,
                              .addr = *base::IPAddress::Parse("fd00::1"),
                              .port = 53}},
                     Family::kIp6),
            "snat ip6 to [fd00::1]:53");
  EXPECT_EQ(ToString(Expr{MatchNumgen{.mod = 10, .value = 3, .less = true}}, Family::kIp),
            "numgen random mod 10 < 3");
  EXPECT_EQ(ToString(Expr{MatchCtState{kCtEstablished | kCtRelated}}, Family::kIp),
            "ct state established,related");
  EXPECT_EQ(ToString(Expr{MatchSet{{Field::kIpSaddr}, "deny", Op::kNeq}}, Family::kIp),
            "ip saddr != @deny");
  EXPECT_EQ(ToString(Expr{Reject{.tcp_reset = true}}, Family::kIp), "reject with tcp reset");
  EXPECT_EQ(ToString(Expr{SetMark{16384}}, Family::kIp), "meta mark set 16384");
  Transaction tx;
  tx.AddSet(Family::kIp, "t", "s", {.key = {DataType::kIpv4Addr}})
      .AddElements(Family::kIp, "t", "s", {{.key = {Value::Addr(ep)}}})
      .DeleteElements(Family::kIp, "t", "s", {{.key = {Value::Addr(ep)}}})
      .DeleteSet(Family::kIp, "t", "s");
  EXPECT_EQ(Describe(tx.ops()[0]), "adding set ip t s");
  EXPECT_EQ(Describe(tx.ops()[1]), "adding 1 elements to set ip t s");
  EXPECT_EQ(Describe(tx.ops()[2]), "deleting 1 elements of set ip t s");
  EXPECT_EQ(Describe(tx.ops()[3]), "deleting set ip t s");
  EXPECT_TRUE(Validate(tx).ok());
}

TEST(NftTest, DescribeNamesTheOperationAndItsObject) {
  Transaction tx;
  tx.AddRule(Family::kIp6, "t", "c", {}).DeleteTable(Family::kInet, "x");
  EXPECT_EQ(Describe(tx.ops()[0]), "adding rule to ip6 t c");
  EXPECT_EQ(Describe(tx.ops()[1]), "deleting table inet x");
}

TEST(NftTest, ValidateRefusesWhatTheKernelWould) {
  EXPECT_TRUE(Validate(Transaction().AddTable(Family::kIp, "t")).ok());
  EXPECT_FALSE(Validate(Transaction().AddTable(Family::kIp, "")).ok());
  EXPECT_FALSE(Validate(Transaction().AddChain(Family::kIp, "t", std::string(256, 'c'))).ok());
  // An IPv6 match in an ip table.
  base::Status s = Validate(Transaction().AddRule(
      Family::kIp, "t", "c", {.exprs = {MatchAddr{Dir::kSource, Net("fd00::/64")}}}));
  EXPECT_EQ(s.code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("adding rule to ip t c"), std::string::npos) << s.message();
  EXPECT_FALSE(Validate(Transaction().AddRule(Family::kIp, "t", "c",
                                              {.comment = std::string(kMaxCommentLen + 1, 'x')}))
                   .ok());
  EXPECT_FALSE(
      Validate(Transaction().AddRule(Family::kIp, "t", "c", {.exprs = {Verdict{Verdict::kJump}}}))
          .ok());
  EXPECT_FALSE(Validate(Transaction().AddRule(Family::kIp, "t", "c",
                                              {.exprs = {MatchPort{.proto = IPPROTO_ICMP}}}))
                   .ok());
  // inet tables take both families.
  EXPECT_TRUE(
      Validate(Transaction().AddRule(Family::kInet, "t", "c",
                                     {.exprs = {MatchAddr{Dir::kSource, Net("fd00::/64")},
                                                MatchAddr{Dir::kSource, Net("10.0.0.0/8")}}}))
          .ok());
}

}  // namespace
}  // namespace knet::kernel::nft
