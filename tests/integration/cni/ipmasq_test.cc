// knet-cni's ipMasq end to end, with real packets. Three throwaway namespaces stand in for a node
// ("host", where knet-cni runs and creates the bridge and its nft table), a pod, and an "outside"
// peer reached from the host through a veth. The outside peer has no route to the pod subnet, so a
// reply can only come back if the host masqueraded: the listener records the peer address it
// sees, which must be the host's uplink address. Everything lives in namespaces the test creates
// and removes (even on failure); the host's own namespace is never touched. Needs root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/ip.h"
#include "kernel/netns/netns.h"

namespace knet {
namespace {

namespace netns = kernel::netns;

struct Response {
  int exit_code = -1;
  std::string out;
};

// fork, setns into `ns_fd` (the stand-in node), execve `bin` with `env` and `in` on stdin.
Response ExecIn(int ns_fd, const std::string& bin, const std::map<std::string, std::string>& env,
                const std::string& in) {
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  env_strings.push_back("ASAN_OPTIONS=detect_leaks=1");
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string bin_copy = bin;
  char* argv[] = {bin_copy.data(), nullptr};
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return {};
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    close(in_pipe[0]);
    close(in_pipe[1]);
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (setns(ns_fd, CLONE_NEWNET) != 0) _exit(126);
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

std::atomic<int> g_counter{0};

class IpMasqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: creates network namespaces";
    const char* bin = std::getenv("KNET_CNI_BIN");
    if (bin == nullptr || *bin == '\0') GTEST_SKIP() << "KNET_CNI_BIN is not set (run via ctest)";
    if (access("/usr/sbin/nft", X_OK) != 0) GTEST_SKIP() << "the nft program (checks) is missing";
    bin_ = bin;
    char tmpl[] = "/tmp/knet-cni-masq-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string id = std::to_string(getpid()) + "-" + std::to_string(g_counter++);
    for (auto* name : {&host_, &pod_, &outside_}) {
      *name = "knet-masq-" + id + (name == &host_ ? "-h" : name == &pod_ ? "-p" : "-o");
      auto ns = netns::Create(*name);
      ASSERT_TRUE(ns.ok()) << ns.status().ToString();
      created_.push_back(*name);
    }
    auto h = netns::Netns::Open(host_);
    ASSERT_TRUE(h.ok());
    host_ns_ = std::move(h).value();
    // host uplink <-> outside peer; forwarding on in the stand-in node only.
    ASSERT_EQ(Run("ip -n " + host_ + " link add up0 type veth peer name eth0 netns " + outside_),
              0);
    ASSERT_EQ(Run("ip -n " + host_ + " addr add 198.51.100.1/24 dev up0"), 0);
    ASSERT_EQ(Run("ip -n " + host_ + " link set up0 up"), 0);
    ASSERT_EQ(Run("ip -n " + outside_ + " addr add 198.51.100.2/24 dev eth0"), 0);
    ASSERT_EQ(Run("ip -n " + outside_ + " link set eth0 up"), 0);
    ASSERT_EQ(Run("ip -n " + outside_ + " link set lo up"), 0);
    ASSERT_EQ(Run("ip -n " + host_ + " addr add fd00:51::1/64 dev up0 nodad"), 0);
    ASSERT_EQ(Run("ip -n " + outside_ + " addr add fd00:51::2/64 dev eth0 nodad"), 0);
    ASSERT_EQ(Run("ip netns exec " + host_ + " sysctl -q -w net.ipv4.ip_forward=1"), 0);
    ASSERT_EQ(Run("ip netns exec " + host_ + " sysctl -q -w net.ipv6.conf.all.forwarding=1"), 0);
  }
  void TearDown() override {
    host_ns_ = netns::Netns();
    for (const std::string& n : created_) EXPECT_TRUE(netns::Delete(n).ok()) << n;
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  static int Run(const std::string& cmd) {
    int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string Conf(bool masq) {
    return std::string(R"({"cniVersion":"1.1.0","name":"masqnet","type":"knet-cni",)") +
           R"("bridge":"kmb0","isDefaultGateway":true,"ipMasq":)" + (masq ? "true" : "false") +
           R"(,"ipam":{"type":"host-local","dataDir":")" + dir_ +
           R"(","ranges":[[{"subnet":"10.99.0.0/24"}],[{"subnet":"fd00:99::/64"}]]}})";
  }
  Response Cni(const std::string& command, bool masq = true, std::string conf = "") {
    return ExecIn(host_ns_.fd(), bin_,
                  {{"CNI_COMMAND", command},
                   {"CNI_CONTAINERID", "masq-c1"},
                   {"CNI_NETNS", "/run/netns/" + pod_},
                   {"CNI_IFNAME", "eth0"},
                   {"CNI_PATH", "/nonexistent"}},
                  conf.empty() ? Conf(masq) : conf);
  }
  std::string NftTable(const char* family = "ip") {
    return Shell("ip netns exec " + host_ + " nft list table " + family + " knet-cni 2>&1");
  }
  // A UDP datagram from the pod to the outside peer at `to` (198.51.100.2 or fd00:51::2); returns
  // the source address the peer saw ("" when nothing arrived).
  std::string SourceSeenOutside(const std::string& to = "198.51.100.2") {
    auto pod = netns::Netns::Open(pod_);
    auto out = netns::Netns::Open(outside_);
    if (!pod.ok() || !out.ok()) return "";
    base::StatusOr<base::IPAddress> dst = base::IPAddress::Parse(to);
    if (!dst.ok()) return "";
    const int family = dst->is_v4() ? AF_INET : AF_INET6;
    sockaddr_storage addr{};
    socklen_t addr_len = dst->ToSockaddr(0, &addr);
    int rx = -1;
    base::Status s = netns::RunIn(*out, [&]() -> base::Status {
      rx = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (rx < 0 || bind(rx, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
        return base::ErrnoError(errno, "binding the outside listener");
      }
      return base::OkStatus();
    });
    if (!s.ok()) {
      if (rx >= 0) close(rx);
      ADD_FAILURE() << s.ToString();
      return "";
    }
    getsockname(rx, reinterpret_cast<sockaddr*>(&addr), &addr_len);  // the port it chose
    timeval tv{.tv_sec = 3, .tv_usec = 0};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    s = netns::RunIn(*pod, [&]() -> base::Status {
      int tx = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (tx < 0) return base::ErrnoError(errno, "socket");
      ssize_t n = sendto(tx, "knet", 4, 0, reinterpret_cast<sockaddr*>(&addr), addr_len);
      int err = errno;
      close(tx);
      return n == 4 ? base::OkStatus() : base::ErrnoError(err, "sendto " + to);
    });
    std::string seen;
    if (s.ok()) {
      char buf[16];
      sockaddr_storage peer{};
      socklen_t plen = sizeof(peer);
      ssize_t n = recvfrom(rx, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&peer), &plen);
      if (n == 4) {
        auto ip = base::IPAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&peer), plen);
        if (ip.ok()) seen = ip->ToString();
      }
    } else {
      ADD_FAILURE() << s.ToString();
    }
    close(rx);
    return seen;
  }

  std::string bin_, dir_, host_, pod_, outside_;
  std::vector<std::string> created_;
  netns::Netns host_ns_;
};

TEST_F(IpMasqTest, PodTrafficLeavesWithTheNodesAddressAndDelRemovesTheRule) {
  Response add = Cni("ADD");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto result = nlohmann::json::parse(add.out, nullptr, false);
  ASSERT_TRUE(result.is_object()) << add.out;
  std::string pod_cidr = result["ips"][0]["address"];
  std::string pod_ip = pod_cidr.substr(0, pod_cidr.find('/'));

  std::string table = NftTable();
  EXPECT_NE(table.find("type nat hook postrouting priority srcnat; policy accept;"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("ip saddr " + pod_ip +
                       " ip daddr != 10.99.0.0/24 ip daddr != 224.0.0.0/4 counter packets"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("masquerade comment \"masqnet masq-c1 eth0\""), std::string::npos) << table;
  nlohmann::json check_conf = nlohmann::json::parse(Conf(true));
  check_conf["prevResult"] = result;
  Response check = Cni("CHECK", true, check_conf.dump());
  EXPECT_EQ(check.exit_code, 0) << check.out;

  EXPECT_EQ(SourceSeenOutside(), "198.51.100.1");

  // IPv6: the ip6 table, and the node's IPv6 address seen outside.
  std::string pod_cidr6 = result["ips"][1]["address"];
  std::string table6 = NftTable("ip6");
  EXPECT_NE(table6.find("ip6 saddr " + pod_cidr6.substr(0, pod_cidr6.find('/')) +
                        " ip6 daddr != fd00:99::/64 ip6 daddr != ff00::/8 counter packets"),
            std::string::npos)
      << table6;
  EXPECT_EQ(SourceSeenOutside("fd00:51::2"), "fd00:51::1");

  Response del = Cni("DEL");
  ASSERT_EQ(del.exit_code, 0) << del.out;
  table = NftTable();
  EXPECT_EQ(table.find("masquerade"), std::string::npos) << table;
  EXPECT_EQ(NftTable("ip6").find("masquerade"), std::string::npos) << NftTable("ip6");
  EXPECT_EQ(Cni("DEL").exit_code, 0) << "DEL is idempotent";

  // CHECK notices a rule removed behind knet-cni's back.
  add = Cni("ADD");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  check_conf["prevResult"] = nlohmann::json::parse(add.out);
  ASSERT_EQ(Run("ip netns exec " + host_ + " nft flush chain ip knet-cni postrouting"), 0);
  check = Cni("CHECK", true, check_conf.dump());
  EXPECT_NE(check.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(check.out, nullptr, false).value("code", 0), 102) << check.out;
  EXPECT_EQ(Cni("DEL").exit_code, 0);
}

TEST_F(IpMasqTest, GcRemovesTheRulesOfAttachmentsTheRuntimeNoLongerHas) {
  ASSERT_EQ(Cni("ADD").exit_code, 0);
  auto gc_conf = [&](const std::string& valid) {
    nlohmann::json c = nlohmann::json::parse(Conf(true));
    c["cni.dev/valid-attachments"] = nlohmann::json::parse(valid);
    return c.dump();
  };
  Response gc = Cni("GC", true, gc_conf(R"([{"containerID":"masq-c1","ifname":"eth0"}])"));
  ASSERT_EQ(gc.exit_code, 0) << gc.out;
  EXPECT_NE(NftTable().find("masquerade comment \"masqnet masq-c1 eth0\""), std::string::npos);
  gc = Cni("GC", true, gc_conf("[]"));
  ASSERT_EQ(gc.exit_code, 0) << gc.out;
  EXPECT_EQ(NftTable().find("masquerade"), std::string::npos) << NftTable();
  EXPECT_EQ(NftTable("ip6").find("masquerade"), std::string::npos) << NftTable("ip6");
  EXPECT_EQ(Cni("DEL").exit_code, 0);
}

TEST_F(IpMasqTest, WithoutIpMasqThePodsAddressLeavesUnchanged) {
  Response add = Cni("ADD", /*masq=*/false);
  ASSERT_EQ(add.exit_code, 0) << add.out;
  auto result = nlohmann::json::parse(add.out, nullptr, false);
  std::string pod_cidr = result["ips"][0]["address"];
  // No table at all, and the datagram arrives from the pod's own address (the reply could not
  // come back, which is the problem ipMasq solves).
  EXPECT_NE(NftTable().find("No such file or directory"), std::string::npos) << NftTable();
  EXPECT_EQ(SourceSeenOutside(), pod_cidr.substr(0, pod_cidr.find('/')));
  EXPECT_EQ(Cni("DEL", false).exit_code, 0);
}

}  // namespace
}  // namespace knet
