// ADD/DEL/CHECK/STATUS/GC and the whole Run() against FakeNetlink and a temporary address store.
#include "cni/bridge.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <filesystem>
#include <map>

#include "cni/plugin.h"
#include "cni/result.h"
#include "kernel/netlink/fake_netlink.h"

namespace knet::cni {
namespace {

using kernel::netlink::FakeNetlink;

constexpr int kPodFd = 1000;  // the fake pod namespace's "descriptor"
constexpr const char* kPodPath = "/run/netns/pod";
constexpr int kPod2Fd = 1001;  // a second pod
constexpr const char* kPod2Path = "/run/netns/pod2";

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet-cni-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    host_.AddNamespace(kPodFd, &pod_);
    host_.AddNamespace(kPod2Fd, &pod2_);
    kernel_.host = &host_;
    kernel_.open_netns = [this](const std::string& path) -> base::StatusOr<PodNetns> {
      if (path == kPod2Path) return PodNetns{kPod2Fd, &pod2_, nullptr};
      if (path != kPodPath || pod_gone_) return base::NotFoundError(path + ": no such file");
      return PodNetns{kPodFd, &pod_, nullptr};
    };
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string ConfJson(const std::string& version = "1.1.0", const std::string& extra = "") {
    return R"({"cniVersion":")" + version +
           R"(","name":"testnet","type":"knet-cni","bridge":"kb0","isDefaultGateway":true,)" +
           R"("hairpinMode":true,"mtu":1400,)" + extra +
           R"("ipam":{"type":"host-local","dataDir":")" + dir_ + R"(","ranges":[[{"subnet":")" +
           subnet_ + R"("}],[{"subnet":"fd00:1::/64"}]]}})";
  }
  NetConf Conf(Command c = Command::kAdd, const std::string& extra = "") {
    Outcome<NetConf> conf = ParseNetConf(ConfJson("1.1.0", extra), c);
    EXPECT_TRUE(conf.ok()) << conf.error().msg;
    return conf.value();
  }
  Environment Env(const std::string& id = "c1", Command c = Command::kAdd) {
    return {c, id, kPodPath, "eth0", "", ""};
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

  std::string dir_;
  std::string subnet_ = "10.1.0.0/24";
  FakeNetlink host_, pod_, pod2_;
  bool pod_gone_ = false;
  Kernel kernel_;
};

TEST_F(BridgeTest, AddWiresThePodAndReportsIt) {
  Outcome<nlohmann::json> r = Add(Conf(), Env(), kernel_);
  ASSERT_TRUE(r.ok()) << r.error().msg << " " << r.error().details;
  const std::string host_name = HostVethName("c1", "eth0");
  EXPECT_EQ(host_name.size(), 15u);

  auto bridge = host_.GetLink("kb0");
  ASSERT_TRUE(bridge.ok());
  EXPECT_EQ(bridge->kind, "bridge");
  EXPECT_TRUE(bridge->up());
  EXPECT_EQ(bridge->mtu, 1400u);
  auto gw = host_.ListLinkAddresses(bridge->index, AF_UNSPEC);
  ASSERT_TRUE(gw.ok());
  ASSERT_EQ(gw->size(), 2u);  // 10.1.0.1/24 and fd00:1::1/64
  EXPECT_EQ((*gw)[0].ToString(), "10.1.0.1/24");

  auto veth = host_.GetLink(host_name);
  ASSERT_TRUE(veth.ok());
  EXPECT_EQ(veth->master_index, bridge->index);
  EXPECT_TRUE(veth->hairpin);
  EXPECT_TRUE(veth->up());

  auto eth0 = pod_.GetLink("eth0");
  ASSERT_TRUE(eth0.ok());
  EXPECT_TRUE(eth0->up());
  EXPECT_EQ(eth0->mtu, 1400u);
  auto addrs = pod_.ListLinkAddresses(eth0->index, AF_UNSPEC);
  ASSERT_TRUE(addrs.ok());
  ASSERT_EQ(addrs->size(), 2u);
  EXPECT_EQ((*addrs)[0].ToString(), "10.1.0.2/24");
  EXPECT_EQ((*addrs)[1].ToString(), "fd00:1::2/64");
  EXPECT_TRUE((*addrs)[1].nodad);
  auto routes4 = pod_.ListRoutes(AF_INET);
  ASSERT_TRUE(routes4.ok());
  ASSERT_EQ(routes4->size(), 1u);
  EXPECT_EQ((*routes4)[0].dst.prefix_len(), 0);
  EXPECT_EQ((*routes4)[0].gateway->ToString(), "10.1.0.1");

  const nlohmann::json& res = r.value();
  ASSERT_EQ(res["interfaces"].size(), 3u);
  EXPECT_EQ(res["interfaces"][0]["name"], "kb0");
  EXPECT_EQ(res["interfaces"][1]["name"], host_name);
  EXPECT_EQ(res["interfaces"][2]["name"], "eth0");
  EXPECT_EQ(res["interfaces"][2]["sandbox"], kPodPath);
  EXPECT_EQ(res["interfaces"][2]["mac"], eth0->mac.ToString());
  ASSERT_EQ(res["ips"].size(), 2u);
  EXPECT_EQ(res["ips"][0]["address"], "10.1.0.2/24");
  EXPECT_EQ(res["ips"][0]["gateway"], "10.1.0.1");
  EXPECT_EQ(res["ips"][0]["interface"], 2);
  EXPECT_EQ(res["routes"][0]["dst"], "0.0.0.0/0");
  EXPECT_EQ(res["routes"][1]["dst"], "::/0");
  EXPECT_EQ(Reservations(), 2u);
}

TEST_F(BridgeTest, AddAppendsToPrevResult) {
  NetConf conf = Conf(Command::kAdd, R"("prevResult":{"cniVersion":"0.4.0",
      "interfaces":[{"name":"lo"}],
      "ips":[{"version":"4","address":"127.0.0.1/8","interface":0}]},)");
  Outcome<nlohmann::json> r = Add(conf, Env(), kernel_);
  ASSERT_TRUE(r.ok()) << r.error().msg;
  ASSERT_EQ(r.value()["interfaces"].size(), 4u);
  EXPECT_EQ(r.value()["interfaces"][0]["name"], "lo");
  EXPECT_EQ(r.value()["ips"][0]["address"], "127.0.0.1/8");
  EXPECT_EQ(r.value()["ips"][1]["interface"], 3);
}

TEST_F(BridgeTest, FailureAfterCreatingRollsEverythingBack) {
  for (const char* step : {"route ::/0", "route 0.0.0.0/0", "setting eth0 up", "attaching"}) {
    (step[0] == 'a' ? host_ : pod_).FailNext(step, EPERM);
    Outcome<nlohmann::json> r = Add(Conf(), Env(), kernel_);
    ASSERT_FALSE(r.ok()) << step;
    EXPECT_EQ(r.error().code, ErrorCode::kKernelFailure);
    EXPECT_FALSE(host_.GetLink(HostVethName("c1", "eth0")).ok()) << step;
    EXPECT_FALSE(pod_.GetLink("eth0").ok()) << step;
    EXPECT_EQ(Reservations(), 0u) << step;
  }
  // And a clean ADD afterwards works.
  EXPECT_TRUE(Add(Conf(), Env(), kernel_).ok());
}

TEST_F(BridgeTest, AddIntoMissingNetnsIsUnknownContainerAndLeavesNothing) {
  pod_gone_ = true;
  Outcome<nlohmann::json> r = Add(Conf(), Env(), kernel_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnknownContainer);
  EXPECT_EQ(Reservations(), 0u);
}

TEST_F(BridgeTest, ExhaustedRangeIsIpamFailureAndStatus50) {
  subnet_ = "10.1.0.0/30";  // one address: .2 (.1 is the gateway)
  NetConf status_conf = Conf(Command::kStatus);
  EXPECT_TRUE(Status(status_conf, kernel_).ok());
  ASSERT_TRUE(Add(Conf(), Env("c1"), kernel_).ok());
  Outcome<bool> st = Status(status_conf, kernel_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kPluginNotAvailable);
  Environment env2 = Env("c2");
  env2.netns = kPod2Path;
  Outcome<nlohmann::json> r = Add(Conf(), env2, kernel_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kIpamFailure);
  EXPECT_FALSE(pod2_.GetLink("eth0").ok());
}

TEST_F(BridgeTest, DelIsIdempotent) {
  ASSERT_TRUE(Add(Conf(), Env(), kernel_).ok());
  NetConf del = Conf(Command::kDel);
  ASSERT_TRUE(Del(del, Env("c1", Command::kDel), kernel_).ok());
  EXPECT_FALSE(host_.GetLink(HostVethName("c1", "eth0")).ok());
  EXPECT_FALSE(pod_.GetLink("eth0").ok());
  EXPECT_EQ(Reservations(), 0u);
  EXPECT_TRUE(Del(del, Env("c1", Command::kDel), kernel_).ok());
  pod_gone_ = true;
  EXPECT_TRUE(Del(del, Env("c1", Command::kDel), kernel_).ok());
  Environment no_netns = Env("c1", Command::kDel);
  no_netns.netns.clear();
  EXPECT_TRUE(Del(del, no_netns, kernel_).ok());
}

TEST_F(BridgeTest, CheckPassesAfterAddAndFailsWhenThePodInterfaceIsGone) {
  Outcome<nlohmann::json> r = Add(Conf(), Env(), kernel_);
  ASSERT_TRUE(r.ok());
  nlohmann::json raw = nlohmann::json::parse(ConfJson());
  raw["prevResult"] = RenderResult(r.value(), "1.1.0");
  Outcome<NetConf> check = ParseNetConf(raw.dump(), Command::kCheck);
  ASSERT_TRUE(check.ok());
  Outcome<bool> c = Check(check.value(), Env("c1", Command::kCheck), kernel_);
  EXPECT_TRUE(c.ok()) << c.error().msg;

  Outcome<bool> no_prev = Check(Conf(Command::kCheck), Env("c1", Command::kCheck), kernel_);
  ASSERT_FALSE(no_prev.ok());
  EXPECT_EQ(no_prev.error().code, ErrorCode::kInvalidNetworkConfig);

  ASSERT_TRUE(pod_.DeleteLink("eth0").ok());
  c = Check(check.value(), Env("c1", Command::kCheck), kernel_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kCheckFailed);
  EXPECT_NE(c.error().msg.find("eth0"), std::string::npos);
}

TEST_F(BridgeTest, GcReleasesStaleReservationsAndVeths) {
  Environment a = Env("keep");
  Environment b = Env("stale");
  b.netns = kPod2Path;
  ASSERT_TRUE(Add(Conf(), a, kernel_).ok());
  ASSERT_TRUE(Add(Conf(), b, kernel_).ok());
  EXPECT_EQ(Reservations(), 4u);
  NetConf gc = Conf(Command::kGc, R"("cni.dev/valid-attachments":[
      {"containerID":"keep","ifname":"eth0"}],)");
  ASSERT_TRUE(Gc(gc, kernel_).ok());
  EXPECT_EQ(Reservations(), 2u);
  EXPECT_TRUE(host_.GetLink(HostVethName("keep", "eth0")).ok());
  EXPECT_FALSE(host_.GetLink(HostVethName("stale", "eth0")).ok());
  EXPECT_TRUE(pod_.GetLink("eth0").ok());
  EXPECT_FALSE(pod2_.GetLink("eth0").ok());
}

TEST_F(BridgeTest, BridgeNameTakenByANonBridgeFailsAddAndStatus) {
  ASSERT_TRUE(host_.CreateVeth({.name = "kb0", .peer_name = "kb0peer"}).ok());
  Outcome<nlohmann::json> r = Add(Conf(), Env(), kernel_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kKernelFailure);
  EXPECT_NE(r.error().msg.find("not a bridge"), std::string::npos);
  EXPECT_EQ(Reservations(), 0u);
  EXPECT_FALSE(pod_.GetLink("eth0").ok());
  Outcome<bool> st = Status(Conf(Command::kStatus), kernel_);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kPluginNotAvailable);
}

TEST_F(BridgeTest, ForeignBridgeAddressNeedsForceAddress) {
  ASSERT_TRUE(host_.CreateBridge({.name = "kb0"}).ok());
  auto bridge = host_.GetLink("kb0");
  ASSERT_TRUE(bridge.ok());
  kernel::netlink::Address foreign{
      .link_index = bridge->index, .ip = *base::IPAddress::Parse("10.1.0.99"), .prefix_len = 24};
  ASSERT_TRUE(host_.AddAddress(foreign).ok());
  Outcome<nlohmann::json> r = Add(Conf(), Env(), kernel_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().msg.find("10.1.0.99/24"), std::string::npos) << r.error().msg;
  EXPECT_EQ(Reservations(), 0u);
  EXPECT_FALSE(pod_.GetLink("eth0").ok());

  r = Add(Conf(Command::kAdd, R"("forceAddress":true,)"), Env(), kernel_);
  ASSERT_TRUE(r.ok()) << r.error().msg;
  auto v4 = host_.ListLinkAddresses(bridge->index, AF_INET);
  ASSERT_TRUE(v4.ok());
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].ToString(), "10.1.0.1/24");
}

TEST_F(BridgeTest, HostVethNamesAreStableAndDistinct) {
  EXPECT_EQ(HostVethName("a", "eth0"), HostVethName("a", "eth0"));
  EXPECT_NE(HostVethName("a", "eth0"), HostVethName("a", "eth1"));
  EXPECT_NE(HostVethName("ab", "c"), HostVethName("a", "bc"));
  EXPECT_EQ(HostVethName("x", "y").rfind("knet", 0), 0u);
}

// The whole invocation as knet-cni's main runs it.
class RunTest : public BridgeTest {
 protected:
  Response Call(std::map<std::string, std::string> env, const std::string& in) {
    EnvLookup lookup = [&env](std::string_view k) -> std::optional<std::string> {
      auto it = env.find(std::string(k));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    return cni::Run(lookup, in, [this]() -> base::StatusOr<KernelHandle> {
      return KernelHandle{kernel_, nullptr};
    });
  }
  std::map<std::string, std::string> AddEnv(const char* command = "ADD") {
    return {{"CNI_COMMAND", command},
            {"CNI_CONTAINERID", "c1"},
            {"CNI_NETNS", kPodPath},
            {"CNI_IFNAME", "eth0"}};
  }
};

TEST_F(RunTest, AddPrintsTheResultInTheRequestedVersion) {
  Response r = Call(AddEnv(), ConfJson("0.4.0"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["cniVersion"], "0.4.0");
  EXPECT_EQ(j["ips"][0]["version"], "4");
  EXPECT_EQ(j["ips"][1]["version"], "6");
  r = Call(AddEnv("DEL"), ConfJson("0.4.0"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

TEST_F(RunTest, ErrorsAreSpecJsonWithNonZeroExitAndLeaveNothing) {
  struct Case {
    std::map<std::string, std::string> env;
    std::string in;
    int code;
  };
  auto no_ifname = AddEnv();
  no_ifname.erase("CNI_IFNAME");
  std::vector<Case> cases = {
      {no_ifname, ConfJson(), 4},
      {AddEnv(), "{broken", 6},
      {AddEnv(), ConfJson("2.0.0"), 1},
      {AddEnv(), ConfJson("1.1.0", R"("ipMasq":1,)"), 7},
      {AddEnv(), R"({"cniVersion":"1.1.0","name":"n","ipam":{"ranges":[]}})", 7},
  };
  auto missing_ns = AddEnv();
  missing_ns["CNI_NETNS"] = "/run/netns/does-not-exist";
  cases.push_back({missing_ns, ConfJson(), 3});
  for (const Case& c : cases) {
    Response r = Call(c.env, c.in);
    EXPECT_NE(r.exit_code, 0) << c.in;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["code"], c.code) << r.out;
    EXPECT_TRUE(j["msg"].is_string());
    EXPECT_TRUE(j.contains("cniVersion"));
    EXPECT_EQ(Reservations(), 0u) << r.out;
    EXPECT_FALSE(pod_.GetLink("eth0").ok()) << r.out;
  }
}

TEST_F(RunTest, VersionNeedsNoKernel) {
  Response r = cni::Run(
      [](std::string_view k) -> std::optional<std::string> {
        if (k == "CNI_COMMAND") return "VERSION";
        return std::nullopt;
      },
      R"({"cniVersion":"1.0.0"})",
      []() -> base::StatusOr<KernelHandle> { return base::InternalError("must not be called"); });
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(r.out)["cniVersion"], "1.0.0");
}

}  // namespace
}  // namespace knet::cni
