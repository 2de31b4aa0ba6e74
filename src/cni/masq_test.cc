// ipMasq through the nftables seam: ADD/DEL/CHECK/GC of bridge mode against FakeNetlink,
// FakeNftables and a temporary address store. What a user sees is the ruleset (FakeNftables::Dump,
// in nft's listing style) and the CNI outcomes.
#include "cni/masq.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>

#include "cni/bridge.h"
#include "cni/result.h"
#include "kernel/netlink/fake_netlink.h"
#include "kernel/nft/fake_nft.h"

namespace knet::cni {
namespace {

using kernel::netlink::FakeNetlink;
using kernel::nft::FakeNftables;
namespace nft = kernel::nft;

constexpr int kPodFd = 1000;
constexpr const char* kPodPath = "/run/netns/pod";
constexpr int kPod2Fd = 1001;
constexpr const char* kPod2Path = "/run/netns/pod2";

class MasqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet-cni-masq-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    host_.AddNamespace(kPodFd, &pod_);
    host_.AddNamespace(kPod2Fd, &pod2_);
    kernel_.host = &host_;
    kernel_.nft = &nft_;
    kernel_.open_netns = [this](const std::string& path) -> base::StatusOr<PodNetns> {
      if (path == kPod2Path) return PodNetns{kPod2Fd, &pod2_, nullptr};
      if (path != kPodPath) return base::NotFoundError(path + ": no such file");
      return PodNetns{kPodFd, &pod_, nullptr};
    };
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string ConfJson(const std::string& extra = "", bool masq = true) {
    return std::string(R"({"cniVersion":"1.1.0","name":"testnet","type":"knet-cni",)") +
           R"("bridge":"kb0","isGateway":true,"ipMasq":)" + (masq ? "true," : "false,") + extra +
           R"("ipam":{"type":"host-local","dataDir":")" + dir_ +
           R"(","ranges":[[{"subnet":"10.1.0.0/24"}],[{"subnet":"fd00:1::/64"}]]}})";
  }
  NetConf Conf(Command c = Command::kAdd, const std::string& extra = "", bool masq = true) {
    Outcome<NetConf> conf = ParseNetConf(ConfJson(extra, masq), c);
    EXPECT_TRUE(conf.ok()) << conf.error().msg;
    return conf.value();
  }
  Environment Env(const std::string& id, const char* path = kPodPath, Command c = Command::kAdd) {
    return {c, id, path, "eth0", "", ""};
  }
  size_t Reservations() {
    size_t n = 0;
    std::filesystem::path p = std::filesystem::path(dir_) / "testnet";
    if (!std::filesystem::exists(p)) return 0;
    for (const auto& e : std::filesystem::directory_iterator(p)) {
      std::string name = e.path().filename();
      if (name != "lock" && name.rfind("last_reserved_ip", 0) != 0) ++n;
    }
    return n;
  }
  size_t Rules(const std::string& id, nft::Family f = nft::Family::kIp) {
    auto n = CountMasqRules(nft_, {"testnet", id, "eth0"}, f);
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : 0;
  }

  std::string dir_;
  FakeNetlink host_, pod_, pod2_;
  FakeNftables nft_;
  Kernel kernel_;
};

TEST(MasqCommentTest, NamesTheAttachmentAndStaysWithinNftsLimit) {
  EXPECT_EQ(MasqComment({"net", "c1", "eth0"}), "net c1 eth0");
  EXPECT_TRUE(IsMasqCommentOf("net c1 eth0", "net"));
  EXPECT_FALSE(IsMasqCommentOf("net c1 eth0", "ne"));
  EXPECT_FALSE(IsMasqCommentOf("net c1 eth0", "other"));
  EXPECT_FALSE(IsMasqCommentOf("net x c1 eth0", "net"));  // network "net x"'s, not "net"'s
  EXPECT_FALSE(IsMasqCommentOf("net c1", "net"));
  MasqOwner long_owner{std::string(100, 'n'), std::string(64, 'c'), "eth0"};
  std::string c = MasqComment(long_owner);
  EXPECT_LE(c.size(), nft::kMaxCommentLen);
  EXPECT_TRUE(IsMasqCommentOf(c, long_owner.network));
  EXPECT_FALSE(IsMasqCommentOf(c, "net"));
  long_owner.ifname = "eth1";
  EXPECT_NE(MasqComment(long_owner), c);
}

TEST_F(MasqTest, AddMakesOneMasqueradeRulePerPodAddressInKnetsOwnTables) {
  Outcome<nlohmann::json> r = Add(Conf(), Env("c1"), kernel_);
  ASSERT_TRUE(r.ok()) << r.error().msg << " " << r.error().details;
  EXPECT_EQ(nft_.Dump(),
            "table ip knet-cni {\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority 100; policy accept;\n"
            "    ip saddr 10.1.0.2 ip daddr != 10.1.0.0/24 ip daddr != 224.0.0.0/4 counter "
            "masquerade comment \"testnet c1 eth0\" # handle 1\n"
            "  }\n"
            "}\n"
            "table ip6 knet-cni {\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority 100; policy accept;\n"
            "    ip6 saddr fd00:1::2 ip6 daddr != fd00:1::/64 ip6 daddr != ff00::/8 counter "
            "masquerade comment \"testnet c1 eth0\" # handle 1\n"
            "  }\n"
            "}\n");
  // A second pod shares the tables; one transaction per ADD.
  ASSERT_TRUE(Add(Conf(), Env("c2", kPod2Path), kernel_).ok());
  EXPECT_EQ(Rules("c2"), 1u);
  EXPECT_EQ(Rules("c2", nft::Family::kIp6), 1u);
  EXPECT_EQ(nft_.applied(), 2);
}

TEST_F(MasqTest, WithoutIpMasqNothingIsProgrammed) {
  ASSERT_TRUE(Add(Conf(Command::kAdd, "", false), Env("c1"), kernel_).ok());
  EXPECT_EQ(nft_.Dump(), "");
  EXPECT_EQ(nft_.applied(), 0);
}

TEST_F(MasqTest, AFailedRuleTransactionRollsBackTheWholeAdd) {
  nft_.FailNext("adding rule to ip6 knet-cni", ENOMEM);
  Outcome<nlohmann::json> r = Add(Conf(), Env("c1"), kernel_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kKernelFailure);
  EXPECT_NE(r.error().msg.find("ipMasq"), std::string::npos) << r.error().msg;
  EXPECT_EQ(nft_.Dump(), "");  // not even the ip table: the transaction is atomic
  EXPECT_EQ(Reservations(), 0u);
  EXPECT_FALSE(host_.GetLink(HostVethName("c1", "eth0")).ok());
  EXPECT_FALSE(pod_.GetLink("eth0").ok());
  // Nothing stale blocks the retry.
  ASSERT_TRUE(Add(Conf(), Env("c1"), kernel_).ok());
  EXPECT_EQ(Rules("c1"), 1u);
}

TEST_F(MasqTest, AddWithoutNftablesFailsAndLeavesNothing) {
  kernel_.nft = nullptr;
  Outcome<nlohmann::json> r = Add(Conf(), Env("c1"), kernel_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().msg.find("nftables"), std::string::npos);
  EXPECT_EQ(Reservations(), 0u);
  EXPECT_FALSE(pod_.GetLink("eth0").ok());
}

TEST_F(MasqTest, ARepeatedAddReplacesStaleRulesOfTheSameAttachment) {
  // Rules left by an ADD that crashed after programming them (its reservation is gone).
  nft::Transaction tx;
  ASSERT_TRUE(
      AddMasqRules(nft_, {"testnet", "c1", "eth0"},
                   {{*base::IPAddress::Parse("10.1.0.99"), *base::Cidr::Parse("10.1.0.0/24")}}, &tx)
          .ok());
  ASSERT_TRUE(nft_.Apply(tx).ok());
  ASSERT_TRUE(Add(Conf(), Env("c1"), kernel_).ok());
  EXPECT_EQ(Rules("c1"), 1u);
  EXPECT_EQ(nft_.Dump().find("10.1.0.99"), std::string::npos) << nft_.Dump();
}

TEST_F(MasqTest, DelRemovesExactlyTheAttachmentsRulesAndIsIdempotent) {
  EXPECT_TRUE(Del(Conf(Command::kDel), Env("c1", kPodPath, Command::kDel), kernel_).ok())
      << "nothing there is success";
  ASSERT_TRUE(Add(Conf(), Env("c1"), kernel_).ok());
  ASSERT_TRUE(Add(Conf(), Env("c2", kPod2Path), kernel_).ok());
  ASSERT_TRUE(Del(Conf(Command::kDel), Env("c1", kPodPath, Command::kDel), kernel_).ok());
  EXPECT_EQ(Rules("c1"), 0u);
  EXPECT_EQ(Rules("c1", nft::Family::kIp6), 0u);
  EXPECT_EQ(Rules("c2"), 1u);
  EXPECT_EQ(Rules("c2", nft::Family::kIp6), 1u);
  ASSERT_TRUE(Del(Conf(Command::kDel), Env("c1", kPodPath, Command::kDel), kernel_).ok());
  ASSERT_TRUE(Del(Conf(Command::kDel), Env("c2", kPod2Path, Command::kDel), kernel_).ok());
  // The tables and chains are shared and stay; no rule is left.
  EXPECT_EQ(nft_.Dump().find("masquerade"), std::string::npos) << nft_.Dump();
  EXPECT_NE(nft_.Dump().find("table ip knet-cni"), std::string::npos);
}

TEST_F(MasqTest, GcRemovesRulesOfAttachmentsNotInTheValidListOnly) {
  ASSERT_TRUE(Add(Conf(), Env("keep"), kernel_).ok());
  ASSERT_TRUE(Add(Conf(), Env("stale", kPod2Path), kernel_).ok());
  // Another network's rule in the same table, and a rule that is no attachment's.
  nft::Transaction tx;
  ASSERT_TRUE(
      AddMasqRules(nft_, {"othernet", "x", "eth0"},
                   {{*base::IPAddress::Parse("10.2.0.2"), *base::Cidr::Parse("10.2.0.0/24")}}, &tx)
          .ok());
  tx.AddRule(nft::Family::kIp, kMasqTable, kMasqChain, {.exprs = {nft::Counter{}}, .comment = ""});
  ASSERT_TRUE(nft_.Apply(tx).ok());
  NetConf gc = Conf(Command::kGc, R"("cni.dev/valid-attachments":[
      {"containerID":"keep","ifname":"eth0"}],)");
  ASSERT_TRUE(Gc(gc, kernel_).ok());
  EXPECT_EQ(Rules("keep"), 1u);
  EXPECT_EQ(Rules("keep", nft::Family::kIp6), 1u);
  EXPECT_EQ(Rules("stale"), 0u);
  EXPECT_EQ(Rules("stale", nft::Family::kIp6), 0u);
  auto other = CountMasqRules(nft_, {"othernet", "x", "eth0"}, nft::Family::kIp);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, 1u);
  EXPECT_NE(nft_.Dump().find("    counter # handle"), std::string::npos) << nft_.Dump();
}

TEST_F(MasqTest, CheckFailsWhenARuleIsMissing) {
  Outcome<nlohmann::json> r = Add(Conf(), Env("c1"), kernel_);
  ASSERT_TRUE(r.ok());
  nlohmann::json raw = nlohmann::json::parse(ConfJson());
  raw["prevResult"] = RenderResult(r.value(), "1.1.0");
  Outcome<NetConf> check = ParseNetConf(raw.dump(), Command::kCheck);
  ASSERT_TRUE(check.ok());
  Outcome<bool> c = Check(check.value(), Env("c1", kPodPath, Command::kCheck), kernel_);
  EXPECT_TRUE(c.ok()) << c.error().msg;

  auto rules = nft_.ListRules({nft::Family::kIp6, kMasqTable, kMasqChain});
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 1u);
  ASSERT_TRUE(nft_.Apply(nft::Transaction().DeleteRule(nft::Family::kIp6, kMasqTable, kMasqChain,
                                                       (*rules)[0].handle))
                  .ok());
  c = Check(check.value(), Env("c1", kPodPath, Command::kCheck), kernel_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kCheckFailed);
  EXPECT_NE(c.error().msg.find("ip6 knet-cni"), std::string::npos) << c.error().msg;
}

}  // namespace
}  // namespace knet::cni
