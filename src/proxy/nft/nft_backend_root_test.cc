// Root test: NftBackend on the real kernel (LinuxNftables) inside a fresh, uniquely named network
// namespace (deleted even when a test fails). It proves the kernel accepts a realistic ruleset
// (ClusterIP, NodePort, LoadBalancer with source ranges and externalTrafficPolicy Local,
// internalTrafficPolicy Local, no endpoints, TCP+UDP+SCTP, IPv6, sessionAffinity ClientIP), an
// incremental sync and a full resync over it, and that real connections inside the namespace are
// DNATed to the endpoint or refused at once, and that a client with affinity keeps its endpoint.
// `ip` and `nft` are run inside that namespace for setup and checks only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernel/netns/netns.h"
#include "kernel/nft/linux_nft.h"
#include "proxy/nft/nft_backend.h"

namespace knet::proxy::nft {
namespace {

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// A TCP listener on addr:port (inside the caller's namespace), non-blocking.
int Listen(const char* addr, uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  if (bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(s, 16) != 0) {
    close(s);
    return -1;
  }
  return s;
}

// Connects to addr:port; 0 on success, else the errno (ETIMEDOUT after 2 s).
int Connect(const char* addr, uint16_t port) {
  Fd s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr, &sa.sin_addr);
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd p{s.fd, POLLOUT, 0};
  if (poll(&p, 1, 2000) != 1) return ETIMEDOUT;
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

// Whether a connection is waiting on the listener (accepts and closes it).
bool Accepted(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, 1000) != 1) return false;
  int c = accept(listener, nullptr, nullptr);
  if (c < 0) return false;
  close(c);
  return true;
}

// Which of `listeners` got a connection (accepts and closes it); -1 when none within 1 s.
int WhichAccepted(const std::vector<int>& listeners) {
  std::vector<pollfd> ps;
  for (int l : listeners) ps.push_back({l, POLLIN, 0});
  if (poll(ps.data(), ps.size(), 1000) < 1) return -1;
  for (size_t i = 0; i < ps.size(); ++i) {
    if ((ps[i].revents & POLLIN) != 0) {
      int c = accept(listeners[i], nullptr, nullptr);
      if (c >= 0) close(c);
      return static_cast<int>(i);
    }
  }
  return -1;
}

ServicePortName Spn(const char* name, uint8_t proto = IPPROTO_TCP) {
  return {"default", name, "", proto};
}

EndpointInfo Ep(const char* ip, uint16_t port, bool local = true) {
  return {.ip = Ip(ip), .port = port, .ready = true, .serving = true, .is_local = local};
}

class NftBackendRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
    static std::atomic<int> counter{0};
    name_ = "knet-proxy-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    auto ns = kernel::netns::Create(name_);
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    ns_ = std::move(ns).value();
    std::string out =
        Shell("ip -n " + name_ + " link set lo up && ip -n " + name_ +
              " link add knet-a type veth peer name knet-b && ip -n " + name_ +
              " link set knet-b up && ip -n " + name_ + " link set knet-a up && ip -n " + name_ +
              " addr add 10.200.0.1/24 dev knet-a && ip -n " + name_ +
              " route add 10.96.0.0/12 dev knet-a && echo done");
    ASSERT_NE(out.find("done"), std::string::npos) << out;
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

  void in_ns_(const std::function<void()>& fn) {
    ASSERT_TRUE(kernel::netns::RunIn(ns_, [&]() -> base::Status {
                  fn();
                  return base::OkStatus();
                }).ok());
  }

  std::string Nft(const std::string& args) {
    return Shell("ip netns exec " + name_ + " nft " + args);
  }

  std::string name_;
  kernel::netns::Netns ns_;
  std::unique_ptr<kernel::nft::LinuxNftables> nft_;
};

TEST_F(NftBackendRootTest, KernelAcceptsRulesetAndPacketsFollowIt) {
  Config config{.families = {base::IPFamily::kV4, base::IPFamily::kV6},
                .cluster_cidrs = {Net("10.244.0.0/16"), Net("fd00:244::/48")},
                .node_ips = {Ip("10.200.0.1"), Ip("fd00:200::1")}};
  NftBackend backend(*nft_, config);
  ServicePortMap services;
  EndpointsMap endpoints;

  ServicePortInfo web;
  web.cluster_ips = {Ip("10.96.0.10")};
  web.port = 80;
  web.node_port = 30080;
  services[Spn("web")] = web;
  endpoints[Spn("web")] = {Ep("10.200.0.1", 8080)};

  ServicePortInfo empty;
  empty.cluster_ips = {Ip("10.96.0.12")};
  empty.port = 80;
  empty.node_port = 30081;
  services[Spn("empty")] = empty;

  ServicePortInfo lb;
  lb.cluster_ips = {Ip("10.96.0.16"), Ip("fd00:96::16")};
  lb.port = 443;
  lb.node_port = 30443;
  lb.load_balancer_ips = {Ip("192.0.2.100"), Ip("fd00:aa::100")};
  lb.external_ips = {Ip("192.0.2.7")};
  lb.load_balancer_source_ranges = {Net("198.51.100.0/24"), Net("fd00:bb::/64")};
  lb.external_policy_local = true;
  services[Spn("lb")] = lb;
  endpoints[Spn("lb")] = {Ep("10.244.1.20", 8443), Ep("10.244.2.20", 8443, false),
                          Ep("fd00:244:0:1::20", 8443)};

  ServicePortInfo itp;
  itp.cluster_ips = {Ip("10.96.0.17")};
  itp.port = 80;
  itp.internal_policy_local = true;
  services[Spn("itp")] = itp;
  endpoints[Spn("itp")] = {Ep("10.244.2.30", 8080, false)};

  ServicePortInfo dns;
  dns.cluster_ips = {Ip("10.96.0.53"), Ip("fd00:96::53")};
  dns.port = 53;
  dns.protocol = IPPROTO_UDP;
  services[Spn("dns", IPPROTO_UDP)] = dns;
  endpoints[Spn("dns", IPPROTO_UDP)] = {Ep("10.244.1.2", 53), Ep("10.244.2.2", 53, false),
                                        Ep("10.244.3.2", 53, false), Ep("fd00:244:0:1::2", 53)};

  ServicePortInfo sctp;
  sctp.cluster_ips = {Ip("10.96.0.132")};
  sctp.port = 3868;
  sctp.protocol = IPPROTO_SCTP;
  services[Spn("diameter", IPPROTO_SCTP)] = sctp;
  endpoints[Spn("diameter", IPPROTO_SCTP)] = {Ep("10.244.1.132", 3868)};

  base::Status st = backend.FullSync(services, endpoints);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::string listing = Nft("list table ip knet-proxy");
  EXPECT_NE(listing.find("10.96.0.10 . tcp . 80 : goto pick-1"), std::string::npos) << listing;
  EXPECT_NE(listing.find("10.96.0.53 . udp . 53 . 0x00000002 : 10.244.3.2 . 53"), std::string::npos)
      << listing;
  EXPECT_NE(listing.find("10.96.0.132 . sctp . 3868 : goto pick-1"), std::string::npos) << listing;
  EXPECT_NE(Nft("list table ip6 knet-proxy").find("fd00:96::16 . tcp . 443"), std::string::npos);

  auto in_ns = [&](const std::function<void()>& fn) {
    ASSERT_TRUE(kernel::netns::RunIn(ns_, [&]() -> base::Status {
                  fn();
                  return base::OkStatus();
                }).ok());
  };
  in_ns([&] {
    Fd l8080(Listen("10.200.0.1", 8080));
    Fd l8081(Listen("10.200.0.1", 8081));
    ASSERT_GE(l8080.fd, 0);
    ASSERT_GE(l8081.fd, 0);
    // ClusterIP and NodePort are DNATed to the endpoint.
    EXPECT_EQ(Connect("10.96.0.10", 80), 0);
    EXPECT_TRUE(Accepted(l8080.fd));
    EXPECT_EQ(Connect("10.200.0.1", 30080), 0);
    EXPECT_TRUE(Accepted(l8080.fd));
    // No endpoints: refused at once (TCP reset), not a timeout.
    EXPECT_EQ(Connect("10.96.0.12", 80), ECONNREFUSED);
    EXPECT_EQ(Connect("10.200.0.1", 30081), ECONNREFUSED);
  });

  // Incremental: the endpoint moves to port 8081; only elements change.
  endpoints[Spn("web")] = {Ep("10.200.0.1", 8081)};
  st = backend.Sync(services, endpoints, {Spn("web")});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(backend.stats().partial_syncs, 1);
  // The empty service gets an endpoint; the lb service loses its policy (its chain goes away).
  endpoints[Spn("empty")] = {Ep("10.200.0.1", 8080)};
  services[Spn("lb")].external_policy_local = false;
  services[Spn("lb")].load_balancer_source_ranges.clear();
  st = backend.Sync(services, endpoints, {Spn("empty"), Spn("lb")});
  ASSERT_TRUE(st.ok()) << st.ToString();
  in_ns([&] {
    Fd l8080(Listen("10.200.0.1", 8080));
    Fd l8081(Listen("10.200.0.1", 8081));
    EXPECT_EQ(Connect("10.96.0.10", 80), 0);
    EXPECT_TRUE(Accepted(l8081.fd));
    EXPECT_EQ(Connect("10.96.0.12", 80), 0);
    EXPECT_TRUE(Accepted(l8080.fd));
  });

  // A full resync over the live table (delete + rebuild in one transaction) is accepted and
  // leaves the same ruleset.
  std::string before = Nft("list table ip knet-proxy");
  st = backend.FullSync(services, endpoints);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Nft("list table ip knet-proxy"), before);
  // Nothing else was created in the namespace.
  std::string tables = Nft("list tables");
  EXPECT_EQ(tables, "table ip knet-proxy\ntable ip6 knet-proxy\n");
}

TEST_F(NftBackendRootTest, SessionAffinityPinsAClientToOneEndpoint) {
  Config config{.families = {base::IPFamily::kV4},
                .cluster_cidrs = {Net("10.244.0.0/16")},
                .node_ips = {Ip("10.200.0.1")}};
  NftBackend backend(*nft_, config);
  ServicePortMap services;
  EndpointsMap endpoints;
  ServicePortInfo sticky;
  sticky.cluster_ips = {Ip("10.96.0.20")};
  sticky.port = 80;
  sticky.session_affinity_seconds = 10800;
  services[Spn("sticky")] = sticky;
  endpoints[Spn("sticky")] = {Ep("10.200.0.1", 8090), Ep("10.200.0.1", 8091),
                              Ep("10.200.0.1", 8092), Ep("10.200.0.1", 8093)};
  base::Status st = backend.FullSync(services, endpoints);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::string listing = Nft("list table ip knet-proxy");
  EXPECT_NE(listing.find("flags dynamic,timeout"), std::string::npos) << listing;
  EXPECT_NE(listing.find("timeout 3h"), std::string::npos) << listing;
  EXPECT_NE(listing.find("update @affinity-default/sticky/tcp-10.200.0.1:8090 { ip saddr }"),
            std::string::npos)
      << listing;

  int pinned = -1;
  in_ns_([&] {
    std::vector<std::unique_ptr<Fd>> ls;
    std::vector<int> fds;
    for (uint16_t port = 8090; port < 8094; ++port) {
      ls.push_back(std::make_unique<Fd>(Listen("10.200.0.1", port)));
      ASSERT_GE(ls.back()->fd, 0);
      fds.push_back(ls.back()->fd);
    }
    // Ten connections from this client: one endpoint answers them all.
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(Connect("10.96.0.20", 80), 0);
      int got = WhichAccepted(fds);
      ASSERT_GE(got, 0);
      if (pinned < 0) pinned = got;
      EXPECT_EQ(got, pinned) << "connection " << i;
    }
  });
  ASSERT_GE(pinned, 0);
  const std::string set = "affinity-default/sticky/tcp-10.200.0.1:" + std::to_string(8090 + pinned);
  // The client is in the endpoint's set (the listing prints names nft's parser cannot read).
  listing = Nft("list table ip knet-proxy");
  size_t at = listing.find("set " + set + " {");
  ASSERT_NE(at, std::string::npos) << listing;
  EXPECT_EQ(listing.find("elements = { 10.200.0.1 expires", at), listing.find("elements = {", at))
      << listing;
  EXPECT_NE(listing.find("elements = { 10.200.0.1 expires", at), std::string::npos) << listing;

  // The pinned endpoint goes away: its chain and set are deleted, the client moves on.
  std::vector<EndpointInfo> rest;
  for (uint16_t port = 8090; port < 8094; ++port) {
    if (port != 8090 + pinned) rest.push_back(Ep("10.200.0.1", port));
  }
  endpoints[Spn("sticky")] = rest;
  st = backend.Sync(services, endpoints, {Spn("sticky")});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(backend.stats().partial_syncs, 1);
  EXPECT_EQ(Nft("list table ip knet-proxy").find(set), std::string::npos);
  in_ns_([&] {
    std::vector<std::unique_ptr<Fd>> ls;
    std::vector<int> fds;
    for (uint16_t port = 8090; port < 8094; ++port) {
      ls.push_back(std::make_unique<Fd>(Listen("10.200.0.1", port)));
      fds.push_back(ls.back()->fd);
    }
    int again = -1;
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(Connect("10.96.0.20", 80), 0);
      int got = WhichAccepted(fds);
      EXPECT_NE(got, pinned);
      if (again < 0) again = got;
      EXPECT_EQ(got, again) << "pinned to its new endpoint, connection " << i;
    }
  });
  // The service goes away: nothing of it is left.
  services.clear();
  st = backend.Sync(services, endpoints, {Spn("sticky")});
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Nft("list table ip knet-proxy").find("sticky"), std::string::npos)
      << Nft("list table ip knet-proxy");
}

}  // namespace
}  // namespace knet::proxy::nft
