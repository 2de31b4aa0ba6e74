// FakeNftables keeps the kernel's rules that callers rely on.
#include "kernel/nft/fake_nft.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace knet::kernel::nft {
namespace {

using base::StatusCode;

base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }
const ChainRef kPost{Family::kIp, "t", "post"};

Transaction Base() {
  Transaction tx;
  tx.AddTable(Family::kIp, "t")
      .AddChain(Family::kIp, "t", "post", BaseChain{ChainType::kNat, Hook::kPostrouting, 100});
  return tx;
}

Rule Masq(const char* src, std::string comment) {
  return {.exprs = {MatchAddr{Dir::kSource, Net(src)}, Masquerade{}},
          .comment = std::move(comment)};
}

TEST(FakeNftTest, AddsListsAndDeletesByHandle) {
  FakeNftables nft;
  Transaction tx = Base();
  tx.AddRule(Family::kIp, "t", "post", Masq("10.0.0.1/32", "a"));
  tx.AddRule(Family::kIp, "t", "post", Masq("10.0.0.2/32", "b"));
  ASSERT_TRUE(nft.Apply(tx).ok());
  EXPECT_EQ(nft.Dump(),
            "table ip t {\n  chain post {\n    type nat hook postrouting priority 100; policy "
            "accept;\n    ip saddr 10.0.0.1 masquerade comment \"a\" # handle 1\n    ip saddr "
            "10.0.0.2 masquerade comment \"b\" # handle 2\n  }\n}\n");
  auto rules = nft.ListRules(kPost);
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[1], (ListedRule{2, "b"}));
  // Re-adding table and chain is a no-op ("add"); handles are never reused.
  Transaction again = Base();
  again.DeleteRule(Family::kIp, "t", "post", 1)
      .AddRule(Family::kIp, "t", "post", Masq("10.0.0.3/32", "c"));
  ASSERT_TRUE(nft.Apply(again).ok());
  rules = nft.ListRules(kPost);
  ASSERT_TRUE(rules.ok());
  EXPECT_EQ(*rules, (std::vector<ListedRule>{{2, "b"}, {3, "c"}}));
}

TEST(FakeNftTest, KernelErrorsAndAtomicity) {
  FakeNftables nft;
  ASSERT_TRUE(nft.Apply(Base()).ok());
  const std::string before = nft.Dump();
  // The first op would succeed, the second fails: nothing changes.
  Transaction tx;
  tx.AddRule(Family::kIp, "t", "post", Masq("10.0.0.1/32", "a"))
      .DeleteRule(Family::kIp, "t", "post", 99);
  base::Status s = nft.Apply(tx);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.sys_errno(), ENOENT);
  EXPECT_NE(s.message().find("deleting rule handle 99 of ip t post"), std::string::npos);
  EXPECT_EQ(nft.Dump(), before);

  EXPECT_EQ(nft.Apply(Transaction().AddTable(Family::kIp, "t", true)).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(nft.Apply(Transaction().AddChain(Family::kIp, "nope", "c")).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(nft.Apply(Transaction().AddRule(Family::kIp, "t", "post",
                                            {.exprs = {Verdict{Verdict::kJump, "missing"}}}))
                .code(),
            StatusCode::kNotFound);
  // Base chains keep their hook; masquerade only in nat postrouting.
  EXPECT_EQ(nft.Apply(Transaction().AddChain(Family::kIp, "t", "post",
                                             BaseChain{ChainType::kNat, Hook::kPrerouting, -100}))
                .sys_errno(),
            EOPNOTSUPP);
  ASSERT_TRUE(nft.Apply(Transaction().AddChain(Family::kIp, "t", "in",
                                               BaseChain{ChainType::kFilter, Hook::kInput, 0}))
                  .ok());
  EXPECT_EQ(
      nft.Apply(Transaction().AddRule(Family::kIp, "t", "in", Masq("10.0.0.1/32", ""))).sys_errno(),
      EOPNOTSUPP);
  // Chains with rules or jumps to them are busy.
  ASSERT_TRUE(
      nft.Apply(Transaction()
                    .AddChain(Family::kIp, "t", "svc")
                    .AddRule(Family::kIp, "t", "in", {.exprs = {Verdict{Verdict::kJump, "svc"}}}))
          .ok());
  EXPECT_EQ(nft.Apply(Transaction().DeleteChain(Family::kIp, "t", "svc")).sys_errno(), EBUSY);
  EXPECT_EQ(nft.Apply(Transaction().DeleteChain(Family::kIp, "t", "in")).sys_errno(), EBUSY);
  ASSERT_TRUE(nft.Apply(Transaction()
                            .FlushChain(Family::kIp, "t", "in")
                            .DeleteChain(Family::kIp, "t", "svc")
                            .DeleteChain(Family::kIp, "t", "in"))
                  .ok());
  EXPECT_EQ(nft.ListRules({Family::kIp, "t", "in"}).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(nft.Apply(Transaction().DeleteTable(Family::kIp, "t")).ok());
  EXPECT_EQ(nft.Dump(), "");
  EXPECT_EQ(nft.Apply(Transaction().DeleteTable(Family::kIp, "t")).code(), StatusCode::kNotFound);
}

TEST(FakeNftTest, FailNextInjectsOneFailure) {
  FakeNftables nft;
  nft.FailNext("adding chain", ENOMEM);
  EXPECT_EQ(nft.Apply(Base()).sys_errno(), ENOMEM);
  EXPECT_EQ(nft.Dump(), "");
  EXPECT_TRUE(nft.Apply(Base()).ok());
  EXPECT_EQ(nft.applied(), 1);
}

}  // namespace
}  // namespace knet::kernel::nft
