// CniExec against the real knet-cni binary of this tree (and small script plugins) in a temporary
// bin dir, with real network namespaces and a bridge of the test's own. Needs root.
#include "agent/cniexec/cniexec.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/process/process.h"
#include "kernel/netlink/linux_netlink.h"
#include "kernel/netns/netns.h"

namespace knet::agent::cniexec {
namespace {

using kernel::netlink::LinuxNetlink;
namespace netns = kernel::netns;

std::atomic<int> g_counter{0};

// Appends "<type> <CNI_COMMAND>" to $REC_DIR/log and saves stdin and the environment to
// $REC_DIR/<type>-<CNI_COMMAND>.json; for ADD prints the prevResult back (a pass-through plugin).
constexpr const char* kRecorder = R"(#!/usr/bin/python3
import json, os, sys
conf = json.load(sys.stdin)
t = os.path.basename(sys.argv[0])
cmd = os.environ.get("CNI_COMMAND", "")
d = os.path.dirname(os.path.abspath(sys.argv[0])) + "/../rec"
with open(d + "/log", "a") as f:
    f.write(t + " " + cmd + "\n")
env = {k: v for k, v in os.environ.items() if k.startswith("CNI_")}
with open(d + "/" + t + "-" + cmd + ".json", "w") as f:
    json.dump({"stdin": conf, "env": env}, f)
if cmd == "ADD":
    print(json.dumps(conf["prevResult"]))
)";

// Fails ADD with a CNI error (code 11); every other command succeeds. Logs commands too.
constexpr const char* kFailer = R"(#!/bin/sh
cat >/dev/null
echo "failer $CNI_COMMAND" >> "$(dirname "$0")/../rec/log"
if [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion":"1.1.0","code":11,"msg":"try again later","details":"the node is busy"}'
  exit 1
fi
exit 0
)";

class CniExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, bridges)";
    char tmpl[] = "/tmp/knet_cniexec_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* d : {"bin", "conf", "cache", "ipam", "rec"}) {
      std::filesystem::create_directories(dir_ + "/" + d);
    }
    std::filesystem::create_symlink(KNET_CNI_PATH, dir_ + "/bin/knet-cni");
    WriteExecutable("recorder", kRecorder);
    std::filesystem::create_symlink(dir_ + "/bin/recorder", dir_ + "/bin/recorder-nocap");
    WriteExecutable("failer", kFailer);
    id_ = (static_cast<int>(getpid()) % 10000) * 10 + g_counter++ % 10;
    bridge_ = "kce" + std::to_string(id_);
    // 10.<200..249>.<0..249>.0/24: unique per test process and test.
    subnet_ = "10." + std::to_string(200 + id_ / 250 % 50) + "." + std::to_string(id_ % 250);
    auto host = LinuxNetlink::Open();
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = std::move(host).value();
    CniExecOptions o;
    o.bin_dirs = {dir_ + "/bin", "/usr/lib/cni"};
    o.cache_dir = dir_ + "/cache";
    o.exec_timeout = std::chrono::seconds(20);
    cni_ = std::make_unique<CniExec>(o);
  }
  void TearDown() override {
    for (const std::string& n : namespaces_) (void)netns::Delete(n);
    if (host_) (void)host_->DeleteLink(bridge_);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void WriteExecutable(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/bin/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), 0755);
  }
  std::string NewNetns() {
    std::string name = "kce-" + std::to_string(id_) + "-" + std::to_string(namespaces_.size());
    auto ns = netns::Create(name);
    EXPECT_TRUE(ns.ok()) << ns.status().ToString();
    namespaces_.push_back(name);
    return std::string(netns::kRunDir) + "/" + name;
  }
  // The knet-cni plugin entry for this test's bridge and subnet (dual-stack).
  nlohmann::json KnetCni() {
    return {{"type", "knet-cni"},
            {"bridge", bridge_},
            {"isGateway", true},
            {"isDefaultGateway", true},
            {"ipam",
             {{"type", "host-local"},
              {"dataDir", dir_ + "/ipam"},
              {"ranges", {{{{"subnet", subnet_ + ".0/24"}}}, {{{"subnet", V6Subnet()}}}}}}}};
  }
  std::string V6Subnet() const {
    char buf[64];
    snprintf(buf, sizeof buf, "fd00:ce:%x:%x::/64", id_ >> 16, id_ & 0xffff);
    return buf;
  }
  NetworkConfigList List(std::vector<nlohmann::json> plugins, std::string version = "1.1.0") {
    nlohmann::json doc = {
        {"cniVersion", version}, {"name", "net" + std::to_string(id_)}, {"plugins", plugins}};
    auto l = ParseNetworkConfigList(doc.dump());
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? *l : NetworkConfigList{};
  }
  // Container IDs unique per test process: the host end of the veth is named from a hash of
  // (container ID, ifname), and tests run in parallel processes share the host namespace.
  std::string Cid(const std::string& base) const { return base + "-" + std::to_string(id_); }
  RuntimeConf Rt(const std::string& netns_path, const std::string& cid) {
    RuntimeConf rt;
    rt.container_id = cid;
    rt.netns_path = netns_path;
    rt.args = KubernetesArgs("default", "web-" + cid, cid, "uid-" + cid);
    return rt;
  }
  bool HasEth0(const std::string& netns_path) {
    auto ns = netns::Netns::Open(netns_path);
    if (!ns.ok()) return false;
    auto nl = LinuxNetlink::Open(*ns);
    return nl.ok() && (*nl)->GetLink("eth0").ok();
  }
  // Reserved addresses in the host-local store of `network` (files named by an address).
  int Reservations(const std::string& network) {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/ipam/" + network, ec)) {
      if (base::IPAddress::Parse(e.path().filename().string()).ok()) ++n;
    }
    return n;
  }
  std::string Read(const std::string& rel) {
    std::ifstream in(dir_ + "/" + rel);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string dir_, bridge_, subnet_;
  int id_ = 0;
  std::vector<std::string> namespaces_;
  std::unique_ptr<LinuxNetlink> host_;
  std::unique_ptr<CniExec> cni_;
};

TEST_F(CniExecTest, AddGivesAddressesAndDelRemovesThem) {
  NetworkConfigList net = List({KnetCni()});
  std::string ns = NewNetns();
  RuntimeConf rt = Rt(ns, Cid("c1"));
  auto r = cni_->AddNetworkList(net, rt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_EQ(r->ips[0].ToString(), subnet_ + ".2");
  EXPECT_EQ(Reservations(net.name), 2);
  EXPECT_FALSE(r->ips[1].is_v4());
  EXPECT_EQ(r->result["cniVersion"], "1.1.0");
  EXPECT_TRUE(HasEth0(ns));
  const std::string cache = cni_->CachePath(net.name, Cid("c1"), "eth0");
  ASSERT_TRUE(std::filesystem::exists(cache));
  nlohmann::json doc = nlohmann::json::parse(std::ifstream(cache));
  EXPECT_EQ(doc["kind"], "cniCacheV1");
  EXPECT_EQ(doc["containerId"], Cid("c1"));
  EXPECT_EQ(doc["result"], r->result);
  auto cached = cni_->GetCachedResult(net, rt);
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  EXPECT_EQ(cached->ips, r->ips);

  EXPECT_TRUE(cni_->CheckNetworkList(net, rt).ok());
  EXPECT_TRUE(cni_->GetStatusNetworkList(net).ok());

  base::Status del = cni_->DelNetworkList(net, rt);
  ASSERT_TRUE(del.ok()) << del.ToString();
  EXPECT_FALSE(HasEth0(ns));
  EXPECT_FALSE(std::filesystem::exists(cache));
  // DEL is idempotent; CHECK without a cached result fails.
  EXPECT_TRUE(cni_->DelNetworkList(net, rt).ok());
  EXPECT_FALSE(cni_->CheckNetworkList(net, rt).ok());
  EXPECT_EQ(Reservations(net.name), 0);
}

TEST_F(CniExecTest, OlderResultVersionsGiveTheSameAddresses) {
  NetworkConfigList net = List({KnetCni()}, "0.4.0");
  std::string ns = NewNetns();
  auto r = cni_->AddNetworkList(net, Rt(ns, Cid("c1")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->result["cniVersion"], "0.4.0");
  EXPECT_EQ(r->result["ips"][0]["version"], "4");  // 0.4.0 form
  ASSERT_EQ(r->ips.size(), 2u);
  EXPECT_TRUE(r->ips[0].is_v4());
  EXPECT_TRUE(cni_->CheckNetworkList(net, Rt(ns, Cid("c1"))).ok());
  // GC and STATUS do not exist before 1.1.0: no-ops, as in libcni.
  EXPECT_TRUE(cni_->GetStatusNetworkList(net).ok());
  EXPECT_TRUE(cni_->DelNetworkList(net, Rt(ns, Cid("c1"))).ok());
  EXPECT_EQ(Reservations(net.name), 0);
}

TEST_F(CniExecTest, FailingSecondPluginIsReportedAndTheFirstIsUndone) {
  NetworkConfigList net = List({KnetCni(), {{"type", "failer"}}});
  std::string ns = NewNetns();
  auto r = cni_->AddNetworkList(net, Rt(ns, Cid("c1")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find(
                "CNI plugin failer ADD failed (code 11): try again later: the node is busy"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(Read("rec/log"), "failer ADD\nfailer DEL\n");
  EXPECT_FALSE(HasEth0(ns));
  EXPECT_FALSE(std::filesystem::exists(cni_->CachePath(net.name, Cid("c1"), "eth0")));
  // knet-cni's reservations were released by the DEL.
  EXPECT_EQ(Reservations(net.name), 0);
}

TEST_F(CniExecTest, ConfigInjectionCapabilitiesAndPrevResultChaining) {
  nlohmann::json with_cap = {{"type", "recorder"}, {"capabilities", {{"portMappings", true}}}};
  nlohmann::json without_cap = {{"type", "recorder-nocap"},
                                {"capabilities", {{"bandwidth", true}}}};
  NetworkConfigList net = List({KnetCni(), with_cap, without_cap}, "1.0.0");
  std::string ns = NewNetns();
  RuntimeConf rt = Rt(ns, Cid("c1"));
  rt.capability_args["portMappings"] = PortMappingsJson({{8080, 80, "tcp", ""}});
  auto r = cni_->AddNetworkList(net, rt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  nlohmann::json add = nlohmann::json::parse(Read("rec/recorder-ADD.json"));
  EXPECT_EQ(add["stdin"]["name"], net.name);
  EXPECT_EQ(add["stdin"]["cniVersion"], "1.0.0");
  EXPECT_EQ(add["stdin"]["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
  EXPECT_EQ(add["stdin"]["prevResult"], r->result);  // pass-through: knet-cni's result
  EXPECT_EQ(add["env"]["CNI_IFNAME"], "eth0");
  EXPECT_EQ(add["env"]["CNI_NETNS"], ns);
  EXPECT_EQ(add["env"]["CNI_CONTAINERID"], Cid("c1"));
  EXPECT_EQ(add["env"]["CNI_PATH"], dir_ + "/bin:/usr/lib/cni");
  const std::string c1 = Cid("c1");
  EXPECT_EQ(add["env"]["CNI_ARGS"], "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-" +
                                        c1 + ";K8S_POD_INFRA_CONTAINER_ID=" + c1 +
                                        ";K8S_POD_UID=uid-" + c1);
  nlohmann::json nocap = nlohmann::json::parse(Read("rec/recorder-nocap-ADD.json"));
  EXPECT_FALSE(nocap["stdin"].contains("runtimeConfig"));

  ASSERT_TRUE(cni_->CheckNetworkList(net, rt).ok());
  ASSERT_TRUE(cni_->DelNetworkList(net, rt).ok());
  EXPECT_EQ(Read("rec/log"),
            "recorder ADD\nrecorder-nocap ADD\nrecorder CHECK\nrecorder-nocap CHECK\n"
            "recorder-nocap DEL\nrecorder DEL\n");
  nlohmann::json del = nlohmann::json::parse(Read("rec/recorder-DEL.json"));
  EXPECT_EQ(del["stdin"]["prevResult"], r->result);  // from the cache
  EXPECT_FALSE(HasEth0(ns));
}

TEST_F(CniExecTest, GcRemovesAttachmentsNotInTheValidList) {
  NetworkConfigList net = List({KnetCni()});
  std::string ns1 = NewNetns(), ns2 = NewNetns();
  ASSERT_TRUE(cni_->AddNetworkList(net, Rt(ns1, "keep")).ok());
  ASSERT_TRUE(cni_->AddNetworkList(net, Rt(ns2, "stale")).ok());
  base::Status gc = cni_->GcNetworkList(net, {{"keep", "eth0"}});
  ASSERT_TRUE(gc.ok()) << gc.ToString();
  EXPECT_TRUE(HasEth0(ns1));
  EXPECT_FALSE(HasEth0(ns2));
  EXPECT_TRUE(std::filesystem::exists(cni_->CachePath(net.name, "keep", "eth0")));
  EXPECT_FALSE(std::filesystem::exists(cni_->CachePath(net.name, "stale", "eth0")));
  EXPECT_TRUE(cni_->DelNetworkList(net, Rt(ns1, "keep")).ok());
}

TEST_F(CniExecTest, MissingPluginIsNotFound) {
  NetworkConfigList net = List({{{"type", "no-such-plugin"}}});
  auto r = cni_->AddNetworkList(net, Rt(NewNetns(), Cid("c1")));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("failed to find plugin \"no-such-plugin\""),
            std::string::npos)
      << r.status().message();
}

// The reference portmap plugin (Debian's containernetworking-plugins) chained after knet-cni,
// receiving portMappings as a capability. Everything runs inside a throwaway "node" namespace
// (plugins inherit the calling thread's namespace), so the host's iptables stay untouched.
TEST_F(CniExecTest, ReferencePortmapChained) {
  if (!std::filesystem::exists("/usr/lib/cni/portmap")) {
    GTEST_SKIP() << "/usr/lib/cni/portmap not installed";
  }
  const std::string node_path = NewNetns();
  auto node = netns::Netns::Open(node_path);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  nlohmann::json portmap = {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}};
  NetworkConfigList net = List({KnetCni(), portmap}, "1.0.0");
  std::string ns = NewNetns();
  RuntimeConf rt = Rt(ns, Cid("c1"));
  const int port = 40000 + id_ % 20000;
  rt.capability_args["portMappings"] = PortMappingsJson({{port, 80, "tcp", ""}});
  auto nat_rules = [&]() -> std::string {
    process::SpawnOptions o;
    o.argv = {"iptables-save", "-t", "nat"};
    o.netns_path = node_path;
    auto r = process::Run(o, "", std::chrono::seconds(10));
    return r.ok() ? r->out : "";
  };
  base::StatusOr<AddResult> r = base::InternalError("not run");
  ASSERT_TRUE(netns::RunIn(*node, [&]() -> base::Status {
                r = cni_->AddNetworkList(net, rt);
                return base::OkStatus();
              }).ok());
  if (!r.ok() && r.status().message().find("iptables") != std::string::npos) {
    GTEST_SKIP() << "portmap cannot program iptables here: " << r.status().message();
  }
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(HasEth0(ns));
  EXPECT_NE(nat_rules().find("--dport " + std::to_string(port)), std::string::npos);
  base::Status del;
  ASSERT_TRUE(netns::RunIn(*node, [&]() -> base::Status {
                del = cni_->DelNetworkList(net, rt);
                return base::OkStatus();
              }).ok());
  ASSERT_TRUE(del.ok()) << del.ToString();
  EXPECT_FALSE(HasEth0(ns));
  EXPECT_EQ(nat_rules().find("--dport " + std::to_string(port)), std::string::npos);
}

}  // namespace
}  // namespace knet::agent::cniexec
