// knet-cni as a runtime runs it: the built binary (KNET_CNI_BIN) exec'd with CNI_* variables and
// the configuration on stdin, against freshly created, uniquely named network namespaces, a
// bridge of its own and a temporary address store. Every test removes its namespaces, bridge and
// store even on failure (the fixture's TearDown). Needs root; skipped otherwise.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kernel/netlink/linux_netlink.h"
#include "kernel/netns/netns.h"

namespace knet {
namespace {

using kernel::netlink::LinuxNetlink;
namespace netns = kernel::netns;

struct Response {
  int exit_code = -1;
  std::string out;
  nlohmann::json json() const { return nlohmann::json::parse(out, nullptr, false); }
};

// fork + execve of `bin` with exactly `env`, `in` on stdin; returns exit code and stdout.
Response Exec(const std::string& bin, const std::map<std::string, std::string>& env,
              const std::string& in) {
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  // Keep the sanitizer runtime quiet about our own process' environment.
  env_strings.push_back("ASAN_OPTIONS=detect_leaks=1");
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string bin_copy = bin;
  char* argv[] = {bin_copy.data(), nullptr};
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    execve(argv[0], argv, envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  size_t off = 0;
  while (off < in.size()) {
    ssize_t n = write(in_pipe[1], in.data() + off, in.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  close(in_pipe[1]);
  Response r;
  char buf[4096];
  ssize_t n;
  while ((n = read(out_pipe[0], buf, sizeof(buf))) > 0) r.out.append(buf, static_cast<size_t>(n));
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// Sends one UDP datagram from a socket inside `from` to to_ip:port, received by a socket bound
// inside `to`: the test's observer of pod-to-pod traffic (both namespaces are the test's own).
bool UdpReaches(const std::string& from_path, const std::string& to_path,
                const std::string& to_ip) {
  auto from = netns::Netns::Open(from_path);
  auto to = netns::Netns::Open(to_path);
  if (!from.ok() || !to.ok()) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(40123);
  if (inet_pton(AF_INET, to_ip.c_str(), &addr.sin_addr) != 1) return false;
  int rx = -1;
  base::Status s = netns::RunIn(*to, [&]() -> base::Status {
    rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (rx < 0 || bind(rx, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return base::ErrnoError(errno, "binding the receiver");
    }
    return base::OkStatus();
  });
  if (!s.ok()) {
    if (rx >= 0) close(rx);
    ADD_FAILURE() << s.ToString();
    return false;
  }
  timeval tv{.tv_sec = 3, .tv_usec = 0};
  setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  s = netns::RunIn(*from, [&]() -> base::Status {
    int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (tx < 0) return base::ErrnoError(errno, "socket");
    ssize_t n = sendto(tx, "knet", 4, 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    int err = errno;
    close(tx);
    return n == 4 ? base::OkStatus() : base::ErrnoError(err, "sendto " + to_ip);
  });
  char buf[16] = {};
  ssize_t n = s.ok() ? recv(rx, buf, sizeof(buf), 0) : -1;
  close(rx);
  if (!s.ok()) ADD_FAILURE() << s.ToString();
  return n == 4 && std::string(buf, 4) == "knet";
}

std::atomic<int> g_counter{0};

class CniIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: creates network namespaces and a bridge";
    const char* bin = std::getenv("KNET_CNI_BIN");
    if (bin == nullptr || *bin == '\0') {
      GTEST_SKIP() << "KNET_CNI_BIN is not set (run through ctest)";
    }
    bin_ = bin;
    char tmpl[] = "/tmp/knet-cni-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    int id = (static_cast<int>(getpid()) % 100000) * 100 + g_counter++ % 100;
    prefix_ = "kcni" + std::to_string(id);
    bridge_ = "kcb" + std::to_string(id);
    auto host = LinuxNetlink::Open();
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = std::move(host).value();
  }

  void TearDown() override {
    std::lock_guard<std::mutex> l(mu_);
    for (const std::string& name : namespaces_) (void)netns::Delete(name);
    if (host_) (void)host_->DeleteLink(bridge_);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A new namespace; its path for CNI_NETNS.
  std::string NewNetns() {
    std::string name;
    {
      std::lock_guard<std::mutex> l(mu_);
      name = prefix_ + "-" + std::to_string(namespaces_.size());
      namespaces_.push_back(name);
    }
    auto ns = netns::Create(name);
    EXPECT_TRUE(ns.ok()) << ns.status().ToString();
    return std::string(netns::kRunDir) + "/" + name;
  }

  // subnet: each test its own 10.213.N.0/24, so concurrent tests' bridges never share a route.
  std::string Conf(const std::string& subnet, const std::string& version = "1.1.0",
                   const std::string& extra = "") {
    return R"({"cniVersion":")" + version + R"(","name":"itnet","type":"knet-cni","bridge":")" +
           bridge_ + R"(","isGateway":true,"isDefaultGateway":true,"hairpinMode":true,)" + extra +
           R"("ipam":{"type":"host-local","dataDir":")" + dir_ + R"(","subnet":")" + subnet +
           R"("}})";
  }

  // Container IDs are unique per test process and test: the host veth's name derives from the
  // container ID, and tests run in parallel on one host.
  std::string Id(const std::string& short_id) const {
    return short_id.empty() ? "" : prefix_ + "-" + short_id;
  }

  Response Cni(const std::string& command, const std::string& id, const std::string& ns,
               const std::string& conf, const std::string& ifname = "eth0") {
    std::map<std::string, std::string> env = {{"CNI_COMMAND", command},
                                              {"CNI_CONTAINERID", Id(id)},
                                              {"CNI_IFNAME", ifname},
                                              {"CNI_PATH", "/opt/cni/bin"}};
    if (!ns.empty()) env["CNI_NETNS"] = ns;
    return Exec(bin_, env, conf);
  }

  size_t Reservations() {
    size_t n = 0;
    std::filesystem::path p = std::filesystem::path(dir_) / "itnet";
    if (!std::filesystem::exists(p)) return 0;
    for (const auto& e : std::filesystem::directory_iterator(p)) {
      std::string name = e.path().filename();
      if (name != "lock" && name.rfind("last_reserved_ip", 0) != 0) ++n;
    }
    return n;
  }

  // Veths on our bridge in the host namespace.
  std::vector<std::string> BridgePorts() {
    std::vector<std::string> out;
    auto bridge = host_->GetLink(bridge_);
    if (!bridge.ok()) return out;
    auto links = host_->ListLinks();
    EXPECT_TRUE(links.ok());
    for (const auto& l : *links) {
      if (l.master_index == bridge->index) out.push_back(l.name);
    }
    return out;
  }

  std::unique_ptr<LinuxNetlink> PodNetlink(const std::string& path) {
    auto ns = netns::Netns::Open(path);
    EXPECT_TRUE(ns.ok()) << ns.status().ToString();
    auto nl = LinuxNetlink::Open(*ns);
    EXPECT_TRUE(nl.ok()) << nl.status().ToString();
    return std::move(nl).value();
  }

  std::string bin_, dir_, prefix_, bridge_;
  std::unique_ptr<LinuxNetlink> host_;
  std::mutex mu_;
  std::vector<std::string> namespaces_;
};

std::string AddressOnly(const nlohmann::json& ip) {
  std::string a = ip["address"].get<std::string>();
  return a.substr(0, a.find('/'));
}

TEST_F(CniIntegrationTest, AddGivesThePodEth0WithAddressAndDefaultRoute) {
  std::string ns = NewNetns();
  Response r = Cni("ADD", "ctr-a", ns, Conf("10.213.1.0/24"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json res = r.json();
  EXPECT_EQ(res["cniVersion"], "1.1.0");
  ASSERT_EQ(res["ips"].size(), 1u);
  EXPECT_EQ(res["ips"][0]["address"], "10.213.1.2/24");
  EXPECT_EQ(res["ips"][0]["gateway"], "10.213.1.1");

  auto pod = PodNetlink(ns);
  auto eth0 = pod->GetLink("eth0");
  ASSERT_TRUE(eth0.ok());
  EXPECT_TRUE(eth0->up());
  EXPECT_EQ(res["interfaces"][2]["mac"], eth0->mac.ToString());
  auto addrs = pod->ListLinkAddresses(eth0->index, AF_INET);
  ASSERT_TRUE(addrs.ok());
  ASSERT_EQ(addrs->size(), 1u);
  EXPECT_EQ((*addrs)[0].ToString(), "10.213.1.2/24");
  auto routes = pod->ListRoutes(AF_INET);
  ASSERT_TRUE(routes.ok());
  bool default_route = false;
  for (const auto& rt : *routes) {
    if (rt.table == kernel::netlink::kMainTable && rt.dst.prefix_len() == 0 && rt.gateway &&
        rt.gateway->ToString() == "10.213.1.1" && rt.link_index == eth0->index) {
      default_route = true;
    }
  }
  EXPECT_TRUE(default_route);
  std::vector<std::string> ports = BridgePorts();
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0], res["interfaces"][1]["name"]);
  auto veth = host_->GetLink(ports[0]);
  ASSERT_TRUE(veth.ok());
  EXPECT_TRUE(veth->up());
  EXPECT_TRUE(veth->hairpin);
  EXPECT_EQ(Reservations(), 1u);
}

TEST_F(CniIntegrationTest, TwoPodsOnOneBridgePingEachOther) {
  std::string a = NewNetns(), b = NewNetns();
  Response ra = Cni("ADD", "ctr-a", a, Conf("10.213.2.0/24"));
  Response rb = Cni("ADD", "ctr-b", b, Conf("10.213.2.0/24"));
  ASSERT_EQ(ra.exit_code, 0) << ra.out;
  ASSERT_EQ(rb.exit_code, 0) << rb.out;
  std::string ip_a = AddressOnly(ra.json()["ips"][0]);
  std::string ip_b = AddressOnly(rb.json()["ips"][0]);
  EXPECT_NE(ip_a, ip_b);
  EXPECT_TRUE(UdpReaches(a, b, ip_b)) << ip_a << " -> " << ip_b;
  EXPECT_TRUE(UdpReaches(b, a, ip_a)) << ip_b << " -> " << ip_a;
}

TEST_F(CniIntegrationTest, DelRemovesEverythingAndASecondDelSucceeds) {
  std::string ns = NewNetns();
  const std::string conf = Conf("10.213.3.0/24");
  ASSERT_EQ(Cni("ADD", "ctr-a", ns, conf).exit_code, 0);
  ASSERT_EQ(BridgePorts().size(), 1u);
  Response d = Cni("DEL", "ctr-a", ns, conf);
  EXPECT_EQ(d.exit_code, 0) << d.out;
  EXPECT_EQ(d.out, "");
  EXPECT_TRUE(BridgePorts().empty());
  EXPECT_FALSE(PodNetlink(ns)->GetLink("eth0").ok());
  EXPECT_EQ(Reservations(), 0u);
  Response again = Cni("DEL", "ctr-a", ns, conf);
  EXPECT_EQ(again.exit_code, 0) << again.out;
  Response gone = Cni("DEL", "ctr-a", "/run/netns/" + prefix_ + "-missing", conf);
  EXPECT_EQ(gone.exit_code, 0) << gone.out;
  Response no_ns = Cni("DEL", "ctr-a", "", conf);
  EXPECT_EQ(no_ns.exit_code, 0) << no_ns.out;
}

TEST_F(CniIntegrationTest, CheckPassesAfterAddAndFailsOnceThePodInterfaceIsDeleted) {
  std::string ns = NewNetns();
  const std::string conf = Conf("10.213.4.0/24");
  Response r = Cni("ADD", "ctr-a", ns, conf);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json with_prev = nlohmann::json::parse(conf);
  with_prev["prevResult"] = r.json();
  Response c = Cni("CHECK", "ctr-a", ns, with_prev.dump());
  EXPECT_EQ(c.exit_code, 0) << c.out;
  ASSERT_TRUE(PodNetlink(ns)->DeleteLink("eth0").ok());
  c = Cni("CHECK", "ctr-a", ns, with_prev.dump());
  EXPECT_NE(c.exit_code, 0);
  EXPECT_EQ(c.json()["code"], 102) << c.out;
}

TEST_F(CniIntegrationTest, BadInputsGiveTheSpecCodeAndLeaveNothing) {
  std::string ns = NewNetns();
  const std::string conf = Conf("10.213.5.0/24");
  struct Case {
    std::map<std::string, std::string> env;
    std::string in;
    int code;
  };
  std::map<std::string, std::string> add = {{"CNI_COMMAND", "ADD"},
                                            {"CNI_CONTAINERID", Id("ctr-a")},
                                            {"CNI_NETNS", ns},
                                            {"CNI_IFNAME", "eth0"},
                                            {"CNI_PATH", "/opt/cni/bin"}};
  auto no_id = add;
  no_id.erase("CNI_CONTAINERID");
  auto no_netns = add;
  no_netns.erase("CNI_NETNS");
  auto missing_netns = add;
  missing_netns["CNI_NETNS"] = "/run/netns/" + prefix_ + "-missing";
  std::vector<Case> cases = {
      {add, "{\"cniVersion\": ", 6},
      {add, R"({"cniVersion":"1.1.0","name":"itnet","ipam":{"subnet":"300.1.0.0/24"}})", 7},
      {add, Conf("10.213.5.0/24", "0.1.0"), 1},
      {add, Conf("10.213.5.0/24", "1.1.0", R"("ipMasq":"yes",)"), 7},
      {no_id, conf, 4},
      {no_netns, conf, 4},
      {missing_netns, conf, 3},
  };
  for (const Case& c : cases) {
    Response r = Exec(bin_, c.env, c.in);
    EXPECT_NE(r.exit_code, 0) << c.in;
    nlohmann::json j = r.json();
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j["code"], c.code) << r.out;
    EXPECT_FALSE(j["msg"].get<std::string>().empty());
    EXPECT_TRUE(BridgePorts().empty()) << r.out;
    EXPECT_EQ(Reservations(), 0u) << r.out;
    EXPECT_FALSE(PodNetlink(ns)->GetLink("eth0").ok()) << r.out;
  }
}

TEST_F(CniIntegrationTest, FiftyParallelAddsInFiftyNamespacesGetFiftyDistinctAddresses) {
  constexpr int kPods = 50;
  const std::string conf = Conf("10.213.6.0/24");
  std::vector<std::string> paths;
  for (int i = 0; i < kPods; ++i) paths.push_back(NewNetns());
  std::vector<Response> results(kPods);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = Cni("ADD", "ctr-" + std::to_string(i), paths[i], conf); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> addresses;
  for (int i = 0; i < kPods; ++i) {
    ASSERT_EQ(results[i].exit_code, 0) << i << ": " << results[i].out;
    addresses.insert(results[i].json()["ips"][0]["address"].get<std::string>());
  }
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kPods));
  EXPECT_EQ(BridgePorts().size(), static_cast<size_t>(kPods));
  EXPECT_EQ(Reservations(), static_cast<size_t>(kPods));
}

TEST_F(CniIntegrationTest, GcReleasesAStaleReservationAndItsVeth) {
  std::string a = NewNetns(), b = NewNetns();
  const std::string conf = Conf("10.213.7.0/24");
  ASSERT_EQ(Cni("ADD", "keep", a, conf).exit_code, 0);
  ASSERT_EQ(Cni("ADD", "stale", b, conf).exit_code, 0);
  ASSERT_EQ(Reservations(), 2u);
  nlohmann::json gc = nlohmann::json::parse(conf);
  gc["cni.dev/valid-attachments"] = {{{"containerID", Id("keep")}, {"ifname", "eth0"}}};
  Response r = Cni("GC", "", "", gc.dump());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Reservations(), 1u);
  EXPECT_EQ(BridgePorts().size(), 1u);
  EXPECT_TRUE(PodNetlink(a)->GetLink("eth0").ok());
  EXPECT_FALSE(PodNetlink(b)->GetLink("eth0").ok());
}

TEST_F(CniIntegrationTest, StatusIs50WhenNoAddressIsLeft) {
  const std::string conf = Conf("10.213.8.0/30");  // one address: .2
  EXPECT_EQ(Cni("STATUS", "", "", conf).exit_code, 0);
  std::string ns = NewNetns();
  ASSERT_EQ(Cni("ADD", "ctr-a", ns, conf).exit_code, 0);
  Response r = Cni("STATUS", "", "", conf);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.json()["code"], 50) << r.out;
}

TEST_F(CniIntegrationTest, DualStackAddIn040FormatWithUsableIpv6) {
  std::string a = NewNetns(), b = NewNetns();
  const std::string conf =
      R"({"cniVersion":"0.4.0","name":"itnet","bridge":")" + bridge_ +
      R"(","isDefaultGateway":true,"ipam":{"type":"host-local","dataDir":")" + dir_ +
      R"(","ranges":[[{"subnet":"10.213.10.0/24"}],[{"subnet":"fd00:213:10::/64"}]]}})";
  Response ra = Cni("ADD", "ctr-a", a, conf);
  Response rb = Cni("ADD", "ctr-b", b, conf);
  ASSERT_EQ(ra.exit_code, 0) << ra.out;
  ASSERT_EQ(rb.exit_code, 0) << rb.out;
  nlohmann::json res = ra.json();
  EXPECT_EQ(res["cniVersion"], "0.4.0");
  ASSERT_EQ(res["ips"].size(), 2u);
  EXPECT_EQ(res["ips"][0]["version"], "4");
  EXPECT_EQ(res["ips"][1]["version"], "6");
  EXPECT_EQ(res["ips"][1]["address"], "fd00:213:10::2/64");
  auto pod = PodNetlink(a);
  auto eth0 = pod->GetLink("eth0");
  ASSERT_TRUE(eth0.ok());
  auto v6 = pod->ListLinkAddresses(eth0->index, AF_INET6);
  ASSERT_TRUE(v6.ok());
  bool global = false;
  for (const auto& addr : *v6) {
    if (addr.ToString() == "fd00:213:10::2/64") global = true;
  }
  EXPECT_TRUE(global);
  auto routes = pod->ListRoutes(AF_INET6);
  ASSERT_TRUE(routes.ok());
  bool default_v6 = false;
  for (const auto& rt : *routes) {
    if (rt.dst.prefix_len() == 0 && rt.gateway && rt.gateway->ToString() == "fd00:213:10::1") {
      default_v6 = true;
    }
  }
  EXPECT_TRUE(default_v6);
  // 0.4.0 DEL of both leaves nothing.
  EXPECT_EQ(Cni("DEL", "ctr-a", a, conf).exit_code, 0);
  EXPECT_EQ(Cni("DEL", "ctr-b", b, conf).exit_code, 0);
  EXPECT_TRUE(BridgePorts().empty());
  EXPECT_EQ(Reservations(), 0u);
}

TEST_F(CniIntegrationTest, KernelFailureAfterCreatingRollsBackVethAndReservation) {
  std::string ns = NewNetns();
  // The gateway of this route is on no connected subnet: the kernel refuses the route
  // (ENETUNREACH) after the veth, addresses and reservation exist.
  const std::string conf = R"({"cniVersion":"1.1.0","name":"itnet","bridge":")" + bridge_ +
                           R"(","isGateway":true,"ipam":{"type":"host-local","dataDir":")" + dir_ +
                           R"(","subnet":"10.213.11.0/24",)" +
                           R"("routes":[{"dst":"192.0.2.0/24","gw":"198.51.100.1"}]}})";
  Response r = Cni("ADD", "ctr-a", ns, conf);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.json()["code"], 100) << r.out;
  EXPECT_NE(r.out.find("192.0.2.0/24"), std::string::npos) << r.out;
  EXPECT_TRUE(BridgePorts().empty());
  EXPECT_FALSE(PodNetlink(ns)->GetLink("eth0").ok());
  EXPECT_EQ(Reservations(), 0u);
}

TEST_F(CniIntegrationTest, CniArgsAsContainerdPassesThemRequestAnAddress) {
  std::string ns = NewNetns();
  std::map<std::string, std::string> env = {
      {"CNI_COMMAND", "ADD"},
      {"CNI_CONTAINERID", Id("ctr-a")},
      {"CNI_NETNS", ns},
      {"CNI_IFNAME", "eth0"},
      {"CNI_PATH", "/opt/cni/bin"},
      {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;IP=10.213.12.50"}};
  Response r = Exec(bin_, env, Conf("10.213.12.0/24"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.json()["ips"][0]["address"], "10.213.12.50/24");
}

}  // namespace
}  // namespace knet
