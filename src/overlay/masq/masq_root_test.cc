// Root test: the masquerade tables in the real kernel, inside a fresh, uniquely named network
// namespace (deleted even when the test fails), checked with `nft list table` run in that
// namespace only.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "kernel/netns/netns.h"
#include "kernel/nft/linux_nft.h"
#include "overlay/masq/masq.h"

namespace knet::overlay::masq {
namespace {

base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

class PodMasqRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
    if (access("/usr/sbin/nft", X_OK) != 0) GTEST_SKIP() << "the nft program (checks) is missing";
    name_ = "knet-masq-" + std::to_string(getpid());
    auto ns = kernel::netns::Create(name_);
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    ns_ = std::move(ns).value();
    auto nft = kernel::nft::LinuxNftables::Open(ns_);
    ASSERT_TRUE(nft.ok()) << nft.status().ToString();
    nft_ = std::move(nft).value();
  }
  void TearDown() override {
    nft_.reset();
    if (ns_.valid()) {
      ns_ = kernel::netns::Netns();
      EXPECT_TRUE(kernel::netns::Delete(name_).ok());
    }
  }
  std::string List(const std::string& family) {
    return Shell("ip netns exec " + name_ + " nft list table " + family + " knet-masq 2>&1");
  }

  std::string name_;
  kernel::netns::Netns ns_;
  std::unique_ptr<kernel::nft::LinuxNftables> nft_;
};

TEST_F(PodMasqRootTest, TablesInTheKernel) {
  Masq masq(nft_.get());
  ASSERT_TRUE(masq.Apply({Net("10.244.0.0/16"), Net("fd00:10:244::/56")}).ok());
  // Again: the table is replaced in one transaction, not duplicated.
  ASSERT_TRUE(masq.Apply({Net("10.244.0.0/16"), Net("fd00:10:244::/56")}).ok());
  std::string v4 = List("ip");
  EXPECT_NE(v4.find("type nat hook postrouting priority srcnat; policy accept;"), std::string::npos)
      << v4;
  EXPECT_NE(v4.find("ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 ip daddr != 224.0.0.0/4 "
                    "counter packets 0 bytes 0 masquerade"),
            std::string::npos)
      << v4;
  EXPECT_EQ(v4.find("counter", v4.find("counter") + 1), std::string::npos) << v4;  // one rule
  std::string v6 = List("ip6");
  EXPECT_NE(v6.find("ip6 saddr fd00:10:244::/56 ip6 daddr != fd00:10:244::/56"), std::string::npos)
      << v6;
  // Only IPv4 now: the ip6 table goes.
  ASSERT_TRUE(masq.Apply({Net("10.244.0.0/16")}).ok());
  EXPECT_NE(List("ip6").find("No such file or directory"), std::string::npos) << List("ip6");
  ASSERT_TRUE(masq.Teardown().ok());
  EXPECT_NE(List("ip").find("No such file or directory"), std::string::npos) << List("ip");
  ASSERT_TRUE(masq.Teardown().ok());
}

}  // namespace
}  // namespace knet::overlay::masq
