// FakeNftables' sets and maps keep the kernel's rules the proxy relies on (checked against the
// kernel in linux_nft_test.cc): element identity and data, references, EBUSY, all or nothing.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cerrno>

#include "kernel/nft/fake_nft.h"

namespace knet::kernel::nft {
namespace {

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
constexpr Family kF = Family::kIp;

Element Svc(const char* ip, uint16_t port, const char* chain) {
  return {.key = {Value::Addr(Ip(ip)), Value::Proto(IPPROTO_TCP), Value::Port(port)},
          .verdict = Verdict{Verdict::kGoto, chain}};
}

Element Key(const char* ip, uint16_t port) {
  return {.key = {Value::Addr(Ip(ip)), Value::Proto(IPPROTO_TCP), Value::Port(port)}};
}

Transaction Base() {
  Transaction tx;
  tx.AddTable(kF, "t")
      .AddChain(kF, "t", "pre", BaseChain{ChainType::kNat, Hook::kPrerouting, kPriorityDstnat})
      .AddChain(kF, "t", "svc1")
      .AddChain(kF, "t", "svc2")
      .AddSet(kF, "t", "services",
              {.key = {DataType::kIpv4Addr, DataType::kInetProto, DataType::kInetService},
               .verdict_map = true})
      .AddElements(kF, "t", "services", {Svc("10.96.0.1", 443, "svc1")})
      .AddRule(kF, "t", "pre",
               {.exprs = {Vmap{{Field::kIpDaddr, Field::kL4proto, Field::kThDport}, "services"}}});
  return tx;
}

int Errno(FakeNftables& nft, const Transaction& tx) { return nft.Apply(tx).sys_errno(); }

TEST(FakeSetsTest, ElementsAreIdentifiedByKeyAndKeepTheirData) {
  FakeNftables nft;
  ASSERT_TRUE(nft.Apply(Base()).ok());
  std::string dump = nft.Dump();
  EXPECT_NE(dump.find("map services {\n    elements = { 10.96.0.1 . tcp . 443 : goto svc1 }"),
            std::string::npos)
      << dump;
  EXPECT_NE(dump.find("ip daddr . meta l4proto . th dport vmap @services"), std::string::npos)
      << dump;
  // Same element again: a no-op; other data for the key: EEXIST.
  EXPECT_TRUE(
      nft.Apply(Transaction().AddElements(kF, "t", "services", {Svc("10.96.0.1", 443, "svc1")}))
          .ok());
  EXPECT_EQ(
      Errno(nft, Transaction().AddElements(kF, "t", "services", {Svc("10.96.0.1", 443, "svc2")})),
      EEXIST);
  // Delete + add in one transaction changes it.
  ASSERT_TRUE(nft.Apply(Transaction()
                            .DeleteElements(kF, "t", "services", {Key("10.96.0.1", 443)})
                            .AddElements(kF, "t", "services", {Svc("10.96.0.1", 443, "svc2")}))
                  .ok());
  EXPECT_NE(nft.Dump().find("10.96.0.1 . tcp . 443 : goto svc2"), std::string::npos);
  EXPECT_EQ(Errno(nft, Transaction().DeleteElements(kF, "t", "services", {Key("10.96.0.9", 443)})),
            ENOENT);
}

TEST(FakeSetsTest, TypesAndReferencesAreChecked) {
  FakeNftables nft;
  ASSERT_TRUE(nft.Apply(Base()).ok());
  // Wrong key types, a verdict-less element in a verdict map: EINVAL.
  EXPECT_EQ(Errno(nft, Transaction().AddElements(
                           kF, "t", "services",
                           {{.key = {Value::Port(1)}, .verdict = Verdict{Verdict::kAccept}}})),
            EINVAL);
  EXPECT_EQ(
      Errno(nft, Transaction().AddElements(
                     kF, "t", "services",
                     {{.key = {Value::Addr(Ip("10.96.0.2")), Value::Proto(6), Value::Port(80)}}})),
      EINVAL);
  // Missing set, missing jump target (in an element or an anonymous vmap): ENOENT.
  EXPECT_EQ(Errno(nft, Transaction().AddElements(kF, "t", "nope", {Svc("10.96.0.2", 80, "svc1")})),
            ENOENT);
  EXPECT_EQ(
      Errno(nft, Transaction().AddElements(kF, "t", "services", {Svc("10.96.0.2", 80, "missing")})),
      ENOENT);
  EXPECT_EQ(Errno(nft, Transaction().AddRule(kF, "t", "pre",
                                             {.exprs = {MatchSet{{Field::kIpSaddr}, "nope"}}})),
            ENOENT);
  EXPECT_EQ(Errno(nft, Transaction().AddRule(
                           kF, "t", "svc1",
                           {.exprs = {Vmap{{NumgenRandom{1}},
                                           "",
                                           {{.key = {Value::Integer(0)},
                                             .verdict = Verdict{Verdict::kGoto, "missing"}}}}}})),
            ENOENT);
  // A vmap lookup on a set whose key is not as wide: EINVAL.
  EXPECT_EQ(Errno(nft, Transaction().AddRule(kF, "t", "pre",
                                             {.exprs = {Vmap{{Field::kIpDaddr}, "services"}}})),
            EINVAL);
  // In use: EBUSY for the set (a rule) and for the chain (an element / an anonymous vmap).
  EXPECT_EQ(Errno(nft, Transaction().DeleteSet(kF, "t", "services")), EBUSY);
  EXPECT_EQ(Errno(nft, Transaction().DeleteChain(kF, "t", "svc1")), EBUSY);
  ASSERT_TRUE(nft.Apply(Transaction().AddRule(
                            kF, "t", "svc1",
                            {.exprs = {Vmap{{NumgenRandom{1}},
                                            "",
                                            {{.key = {Value::Integer(0)},
                                              .verdict = Verdict{Verdict::kGoto, "svc2"}}}}}}))
                  .ok());
  EXPECT_EQ(Errno(nft, Transaction().DeleteChain(kF, "t", "svc2")), EBUSY);
  // Exclusive add of an existing set, or re-adding it with another type: EEXIST.
  EXPECT_EQ(
      Errno(nft, Transaction().AddSet(kF, "t", "services", {.key = {DataType::kIpv4Addr}}, true)),
      EEXIST);
  EXPECT_EQ(Errno(nft, Transaction().AddSet(kF, "t", "services", {.key = {DataType::kIpv4Addr}})),
            EEXIST);
  // Once nothing uses them, set and chains go.
  ASSERT_TRUE(nft.Apply(Transaction()
                            .FlushChain(kF, "t", "pre")
                            .FlushChain(kF, "t", "svc1")
                            .DeleteSet(kF, "t", "services")
                            .DeleteChain(kF, "t", "svc1")
                            .DeleteChain(kF, "t", "svc2"))
                  .ok());
  EXPECT_EQ(nft.Dump().find("services"), std::string::npos);
}

TEST(FakeSetsTest, NatAndRejectNeedTheirHooksAndFailuresChangeNothing) {
  FakeNftables nft;
  Transaction tx = Base();
  tx.AddChain(kF, "t", "fwd", BaseChain{ChainType::kFilter, Hook::kForward, 0})
      .AddSet(kF, "t", "endpoints",
              {.key = {DataType::kMark, DataType::kMark},
               .data = {DataType::kIpv4Addr, DataType::kInetService}})
      .AddElements(kF, "t", "endpoints",
                   {{.key = {Value::Integer(1), Value::Integer(0)},
                     .data = {Value::Addr(Ip("10.1.0.5")), Value::Port(8080)}}})
      .AddRule(kF, "t", "svc2",
               {.exprs = {Nat{.key = {Value::Integer(1), NumgenRandom{1}}, .map = "endpoints"}}});
  ASSERT_TRUE(nft.Apply(tx).ok());
  EXPECT_NE(nft.Dump().find("dnat ip to 1 . numgen random mod 1 map @endpoints"), std::string::npos)
      << nft.Dump();
  EXPECT_EQ(
      Errno(nft, Transaction().AddRule(kF, "t", "fwd", {.exprs = {Nat{.addr = Ip("10.1.0.1")}}})),
      EOPNOTSUPP);
  EXPECT_EQ(Errno(nft, Transaction().AddRule(kF, "t", "pre", {.exprs = {Reject{}}})), EOPNOTSUPP);
  ASSERT_TRUE(nft.Apply(Transaction().AddRule(kF, "t", "fwd", {.exprs = {Reject{}}})).ok());
  // Data of the wrong type: EINVAL, and the good element before it is not added either.
  std::string before = nft.Dump();
  EXPECT_EQ(
      Errno(nft,
            Transaction().AddElements(
                kF, "t", "endpoints",
                {{.key = {Value::Integer(2), Value::Integer(0)},
                  .data = {Value::Addr(Ip("10.1.0.6")), Value::Port(8080)}},
                 {.key = {Value::Integer(2), Value::Integer(1)}, .data = {Value::Port(8080)}}})),
      EINVAL);
  EXPECT_EQ(nft.Dump(), before);
}

TEST(FakeSetsTest, DynamicSetsTakeUpdatesFromRules) {
  FakeNftables nft;
  ASSERT_TRUE(
      nft.Apply(
             Base()
                 .AddSet(kF, "t", "affinity",
                         {.key = {DataType::kIpv4Addr}, .dynamic = true, .timeout_s = 60})
                 .AddSet(kF, "t", "static", {.key = {DataType::kIpv4Addr}})
                 .AddRule(kF, "t", "svc1", {.exprs = {UpdateSet{{Field::kIpSaddr}, "affinity"}}}))
          .ok());
  std::string dump = nft.Dump();
  EXPECT_NE(dump.find("set affinity {\n    flags dynamic,timeout\n    timeout 60s\n"),
            std::string::npos)
      << dump;
  EXPECT_NE(dump.find("update @affinity { ip saddr }"), std::string::npos) << dump;
  // A set that is not dynamic, a key of the wrong width, a missing set.
  EXPECT_EQ(Errno(nft, Transaction().AddRule(kF, "t", "svc1",
                                             {.exprs = {UpdateSet{{Field::kIpSaddr}, "static"}}})),
            EOPNOTSUPP);
  EXPECT_EQ(Errno(nft, Transaction().AddRule(
                           kF, "t", "svc1",
                           {.exprs = {UpdateSet{{Field::kIpSaddr, Field::kIpDaddr}, "affinity"}}})),
            EINVAL);
  EXPECT_EQ(Errno(nft, Transaction().AddRule(kF, "t", "svc1",
                                             {.exprs = {UpdateSet{{Field::kIpSaddr}, "nope"}}})),
            ENOENT);
  // The set is referenced: deleting it is EBUSY until the rule goes.
  EXPECT_EQ(Errno(nft, Transaction().DeleteSet(kF, "t", "affinity")), EBUSY);
  EXPECT_TRUE(
      nft.Apply(Transaction().FlushChain(kF, "t", "svc1").DeleteSet(kF, "t", "affinity")).ok());
}

}  // namespace
}  // namespace knet::kernel::nft
