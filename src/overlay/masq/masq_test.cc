#include "overlay/masq/masq.h"

#include <cerrno>

#include "gtest/gtest.h"
#include "kernel/nft/fake_nft.h"

namespace knet::overlay::masq {
namespace {

namespace nft = kernel::nft;

base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

TEST(PodMasqTest, RendersOneRulePerClusterCidr) {
  nft::FakeNftables fake;
  Masq masq(&fake);
  ASSERT_TRUE(masq.Apply({Net("10.244.0.0/16")}).ok());
  std::string dump = fake.Dump();
  EXPECT_NE(dump.find("table ip knet-masq"), std::string::npos) << dump;
  EXPECT_NE(dump.find("ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 ip daddr != 224.0.0.0/4 "
                      "counter masquerade"),
            std::string::npos)
      << dump;
  EXPECT_EQ(dump.find("ip6"), std::string::npos) << dump;  // no IPv6 cluster CIDR, no table
  auto rules = fake.ListRules({nft::Family::kIp, kTable, kChain});
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].comment, "knet: masquerade pod traffic leaving 10.244.0.0/16");
}

TEST(PodMasqTest, ApplyIsIdempotentAndReplacesTheTable) {
  nft::FakeNftables fake;
  Masq masq(&fake);
  ASSERT_TRUE(masq.Apply({Net("10.244.0.0/16")}).ok());
  const std::string once = fake.Dump();
  ASSERT_TRUE(masq.Apply({Net("10.244.0.0/16")}).ok());
  // Handles are not reused after a table is recreated, so compare without them.
  auto strip = [](std::string s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      size_t h = s.find(" # handle", i);
      if (h == std::string::npos) {
        out += s.substr(i);
        break;
      }
      out += s.substr(i, h - i);
      i = s.find('\n', h);
      if (i == std::string::npos) break;
    }
    return out;
  };
  EXPECT_EQ(strip(fake.Dump()), strip(once));
  auto rules = fake.ListRules({nft::Family::kIp, kTable, kChain});
  ASSERT_EQ(rules->size(), 1u);
  // Dual stack, then a changed CIDR.
  ASSERT_TRUE(masq.Apply({Net("10.245.0.0/16"), Net("fd00:10:244::/56")}).ok());
  std::string dump = fake.Dump();
  EXPECT_EQ(dump.find("10.244.0.0/16"), std::string::npos) << dump;
  EXPECT_NE(dump.find("ip6 saddr fd00:10:244::/56 ip6 daddr != fd00:10:244::/56 ip6 daddr != "
                      "ff00::/8 counter masquerade"),
            std::string::npos)
      << dump;
  ASSERT_TRUE(masq.Teardown().ok());
  EXPECT_EQ(fake.Dump(), "");
  ASSERT_TRUE(masq.Teardown().ok());
}

TEST(PodMasqTest, AFailedApplyChangesNothing) {
  nft::FakeNftables fake;
  Masq masq(&fake);
  ASSERT_TRUE(masq.Apply({Net("10.244.0.0/16")}).ok());
  const std::string before = fake.Dump();
  fake.FailNext("adding rule", ENOMEM);
  auto s = masq.Apply({Net("10.99.0.0/16")});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("applying the pod masquerade table"), std::string::npos);
  EXPECT_EQ(fake.Dump(), before);
}

}  // namespace
}  // namespace knet::overlay::masq
