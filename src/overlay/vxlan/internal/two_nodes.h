// File: overlay/vxlan/internal/two_nodes.h
//
// Root-test environment for the rtnetlink backends (tests only): two "node" network namespaces
// on an underlay L2 segment (a bridge in a third namespace), each with eth0 192.168.77.<i>/24 and
// a "pod" address 10.244.<i>.1/24 on a port-less bridge cni0 (podCIDR 10.244.<i>.0/24), plus a
// LinuxNetlink opened in each. Probe() sends an ICMP echo, TcpPair() connects, between the pod
// addresses. Every namespace name holds the pid; everything is removed by the destructor, also
// after a failed assertion.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/ip.h"
#include "base/status.h"
#include "kernel/netlink/linux_netlink.h"
#include "kernel/netns/netns.h"
#include "overlay/overlay.h"

namespace knet::overlay::testing {

class TwoNodes {
 public:
  static constexpr int kNodes = 2;

  TwoNodes() {
    static std::atomic<int> counter{0};
    prefix_ = "knet-ov" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  }
  ~TwoNodes() {
    for (auto& n : nl_) n.reset();
    underlay_nl_.reset();
    for (size_t i = 0; i < names_.size(); ++i) {
      (void)kernel::netns::Delete(names_[i]);
    }
  }

  // Builds the namespaces, links and addresses.
  base::Status SetUp() {
    namespace nl = kernel::netlink;
    ASSIGN_OR_RETURN(kernel::netns::Netns u, Create(prefix_ + "-u"));
    underlay_ns_ = std::move(u);
    ASSIGN_OR_RETURN(underlay_nl_, nl::LinuxNetlink::Open(underlay_ns_));
    RETURN_IF_ERROR(underlay_nl_->CreateBridge({.name = "br0", .mtu = 1500}));
    ASSIGN_OR_RETURN(nl::Link br, underlay_nl_->GetLink("br0"));
    RETURN_IF_ERROR(underlay_nl_->SetLinkUp(br));
    for (int i = 0; i < kNodes; ++i) {
      ASSIGN_OR_RETURN(kernel::netns::Netns ns, Create(prefix_ + "-" + std::to_string(i + 1)));
      ns_[i] = std::move(ns);
      ASSIGN_OR_RETURN(nl_[i], nl::LinuxNetlink::Open(ns_[i]));
      nl::Netlink& n = *nl_[i];
      const std::string port = "p" + std::to_string(i + 1);
      RETURN_IF_ERROR(underlay_nl_->CreateVeth(
          {.name = port, .peer_name = "eth0", .peer_netns_fd = ns_[i].fd(), .mtu = 1500}));
      ASSIGN_OR_RETURN(nl::Link p, underlay_nl_->GetLink(port));
      RETURN_IF_ERROR(underlay_nl_->SetMaster(p, br));
      RETURN_IF_ERROR(underlay_nl_->SetLinkUp(p));
      ASSIGN_OR_RETURN(nl::Link lo, n.GetLink("lo"));
      RETURN_IF_ERROR(n.SetLinkUp(lo));
      ASSIGN_OR_RETURN(nl::Link eth0, n.GetLink("eth0"));
      RETURN_IF_ERROR(n.SetLinkUp(eth0));
      RETURN_IF_ERROR(n.AddAddress({.link_index = eth0.index, .ip = NodeIp(i), .prefix_len = 24}));
      RETURN_IF_ERROR(n.CreateBridge({.name = "cni0"}));
      ASSIGN_OR_RETURN(nl::Link cni0, n.GetLink("cni0"));
      RETURN_IF_ERROR(n.SetLinkUp(cni0));
      RETURN_IF_ERROR(n.AddAddress({.link_index = cni0.index, .ip = PodIp(i), .prefix_len = 24}));
    }
    return base::OkStatus();
  }

  static base::IPAddress NodeIp(int i) {
    return base::IPAddress::FromV4(0xc0a84d00u + static_cast<uint32_t>(i + 1));  // 192.168.77.x
  }
  // Endpoint i: 0, 1 the nodes' cni0 addresses 10.244.<i+1>.1; 2, 3 the pods' 10.244.<i-1>.5.
  static base::IPAddress PodIp(int i) {
    const uint32_t node = static_cast<uint32_t>(i % kNodes + 1);
    return base::IPAddress::FromV4(0x0af40000u + (node << 8) + (i < kNodes ? 1u : 5u));
  }
  static std::string PodCidr(int i) { return "10.244." + std::to_string(i + 1) + ".0/24"; }
  static NodeInfo Info(int i, std::map<std::string, std::string> annotations = {}) {
    return {.name = "node" + std::to_string(i + 1),
            .internal_ips = {NodeIp(i).ToString()},
            .pod_cidrs = {PodCidr(i)},
            .annotations = std::move(annotations)};
  }

  kernel::netlink::Netlink& nl(int i) { return *nl_[i]; }

  // Real pods: in each node a network namespace behind a veth on cni0 (eth0 10.244.<i>.5/24,
  // default route via 10.244.<i>.1, MTU `mtu`), and IPv4 forwarding on in the nodes. Afterwards
  // endpoints 2 and 3 (for Probe, TcpPair, Udp) are these pods; 0 and 1 stay the nodes' cni0
  // addresses.
  base::Status AddPods(uint32_t mtu) {
    namespace nl = kernel::netlink;
    for (int i = 0; i < kNodes; ++i) {
      ASSIGN_OR_RETURN(kernel::netns::Netns pod, Create(prefix_ + "-pod" + std::to_string(i + 1)));
      pod_ns_[i] = std::move(pod);
      nl::Netlink& n = *nl_[i];
      RETURN_IF_ERROR(n.CreateVeth(
          {.name = "veth0", .peer_name = "eth0", .peer_netns_fd = pod_ns_[i].fd(), .mtu = mtu}));
      ASSIGN_OR_RETURN(nl::Link veth, n.GetLink("veth0"));
      ASSIGN_OR_RETURN(nl::Link cni0, n.GetLink("cni0"));
      RETURN_IF_ERROR(n.SetMaster(veth, cni0));
      RETURN_IF_ERROR(n.SetLinkUp(veth));
      ASSIGN_OR_RETURN(std::unique_ptr<nl::LinuxNetlink> p, nl::LinuxNetlink::Open(pod_ns_[i]));
      ASSIGN_OR_RETURN(nl::Link lo, p->GetLink("lo"));
      RETURN_IF_ERROR(p->SetLinkUp(lo));
      ASSIGN_OR_RETURN(nl::Link eth0, p->GetLink("eth0"));
      RETURN_IF_ERROR(p->SetLinkUp(eth0));
      RETURN_IF_ERROR(
          p->AddAddress({.link_index = eth0.index, .ip = PodIp(i + kNodes), .prefix_len = 24}));
      nl::Route def;
      def.dst = *base::Cidr::Parse("0.0.0.0/0");
      def.gateway = PodIp(i);
      def.link_index = eth0.index;
      RETURN_IF_ERROR(p->AddRoute(def));
      // /proc/sys/net is the opener's namespace: written from a thread inside the node.
      RETURN_IF_ERROR(kernel::netns::RunIn(ns_[i], []() -> base::Status {
        FILE* f = std::fopen("/proc/sys/net/ipv4/ip_forward", "w");
        if (f == nullptr) return base::ErrnoError(errno, "opening ip_forward");
        bool ok = std::fputs("1", f) >= 0;
        ok = std::fclose(f) == 0 && ok;
        return ok ? base::OkStatus() : base::ErrnoError(errno, "enabling ip_forward");
      }));
    }
    return base::OkStatus();
  }
  const kernel::netns::Netns& ns(int i) const { return ns_[i]; }

  // One ICMP echo from pod i to pod j, answered within `timeout_ms`.
  base::Status Probe(int i, int j, int timeout_ms = 1000) {
    return kernel::netns::RunIn(*At(i).ns, [&]() -> base::Status {
      int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
      if (fd < 0) return base::ErrnoError(errno, "socket(SOCK_RAW)");
      Fd guard{fd};
      sockaddr_storage src{}, dst{};
      socklen_t len = At(i).ip.ToSockaddr(0, &src);
      if (bind(fd, reinterpret_cast<sockaddr*>(&src), len) != 0) {
        return base::ErrnoError(errno, "bind");
      }
      timeval tv{.tv_sec = 0, .tv_usec = 100 * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      len = At(j).ip.ToSockaddr(0, &dst);
      const uint16_t id = static_cast<uint16_t>(getpid() & 0xffff);
      for (int waited = 0; waited < timeout_ms; waited += 100) {
        icmphdr req{};
        req.type = ICMP_ECHO;
        req.un.echo.id = htons(id);
        req.un.echo.sequence = htons(static_cast<uint16_t>(waited));
        req.checksum = Checksum(&req, sizeof(req));
        if (sendto(fd, &req, sizeof(req), 0, reinterpret_cast<sockaddr*>(&dst), len) < 0) {
          return base::ErrnoError(errno, "sendto " + At(j).ip.ToString());
        }
        std::array<uint8_t, 1500> buf;
        ssize_t n;
        while ((n = recv(fd, buf.data(), buf.size(), 0)) > 0) {
          if (static_cast<size_t>(n) < sizeof(iphdr)) continue;
          size_t hl = static_cast<size_t>(buf[0] & 0x0f) * 4;
          if (static_cast<size_t>(n) < hl + sizeof(icmphdr)) continue;
          icmphdr rep;
          std::memcpy(&rep, buf.data() + hl, sizeof(rep));
          if (rep.type == ICMP_ECHOREPLY && ntohs(rep.un.echo.id) == id) return base::OkStatus();
        }
      }
      return base::DeadlineExceededError("no echo reply from " + At(j).ip.ToString());
    });
  }

  // A TCP connection from pod i to pod j: the two connected descriptors (client, server).
  base::StatusOr<std::pair<int, int>> TcpPair(int i, int j) {
    int listener = -1, client = -1;
    RETURN_IF_ERROR(kernel::netns::RunIn(*At(j).ns, [&]() -> base::Status {
      listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (listener < 0) return base::ErrnoError(errno, "socket");
      sockaddr_storage a{};
      socklen_t len = At(j).ip.ToSockaddr(0, &a);
      if (bind(listener, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(listener, 1) != 0) {
        return base::ErrnoError(errno, "bind/listen");
      }
      return base::OkStatus();
    }));
    Fd lguard{listener};
    sockaddr_in bound{};
    socklen_t blen = sizeof(bound);
    getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &blen);
    RETURN_IF_ERROR(kernel::netns::RunIn(*At(i).ns, [&]() -> base::Status {
                      client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                      if (client < 0) return base::ErrnoError(errno, "socket");
                      timeval tv{.tv_sec = 3, .tv_usec = 0};
                      setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
                      setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                      sockaddr_storage src{}, dst{};
                      socklen_t len = At(i).ip.ToSockaddr(0, &src);
                      if (bind(client, reinterpret_cast<sockaddr*>(&src), len) != 0) {
                        return base::ErrnoError(errno, "bind");
                      }
                      len = At(j).ip.ToSockaddr(ntohs(bound.sin_port), &dst);
                      if (connect(client, reinterpret_cast<sockaddr*>(&dst), len) != 0) {
                        return base::ErrnoError(errno, "connecting to " + At(j).ip.ToString());
                      }
                      return base::OkStatus();
                    }).WithContext("tcp"));
    int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (server < 0) {
      close(client);
      return base::ErrnoError(errno, "accept");
    }
    timeval tv{.tv_sec = 3, .tv_usec = 0};
    setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return std::make_pair(client, server);
  }

  // One UDP datagram from pod i to pod j, received within a second.
  base::Status Udp(int i, int j, const std::string& msg) {
    int rx = -1, tx = -1;
    RETURN_IF_ERROR(kernel::netns::RunIn(*At(j).ns, [&]() -> base::Status {
      rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (rx < 0) return base::ErrnoError(errno, "socket");
      sockaddr_storage a{};
      socklen_t len = At(j).ip.ToSockaddr(0, &a);
      if (bind(rx, reinterpret_cast<sockaddr*>(&a), len) != 0)
        return base::ErrnoError(errno, "bind");
      return base::OkStatus();
    }));
    Fd rguard{rx};
    sockaddr_in bound{};
    socklen_t blen = sizeof(bound);
    getsockname(rx, reinterpret_cast<sockaddr*>(&bound), &blen);
    RETURN_IF_ERROR(kernel::netns::RunIn(*At(i).ns, [&]() -> base::Status {
      tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      return tx < 0 ? base::ErrnoError(errno, "socket") : base::OkStatus();
    }));
    Fd tguard{tx};
    sockaddr_storage src{}, dst{};
    socklen_t len = At(i).ip.ToSockaddr(0, &src);
    if (bind(tx, reinterpret_cast<sockaddr*>(&src), len) != 0)
      return base::ErrnoError(errno, "bind");
    len = At(j).ip.ToSockaddr(ntohs(bound.sin_port), &dst);
    timeval tv{.tv_sec = 0, .tv_usec = 100 * 1000};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (int attempt = 0; attempt < 10; ++attempt) {
      if (sendto(tx, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&dst), len) < 0) {
        return base::ErrnoError(errno, "sendto " + At(j).ip.ToString());
      }
      char buf[1500];
      sockaddr_in from{};
      socklen_t flen = sizeof(from);
      ssize_t n = recvfrom(rx, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 0) continue;
      if (std::string(buf, static_cast<size_t>(n)) != msg)
        return base::DataLossError("udp payload");
      // No NAT between pods: the sender's own pod address arrives.
      if (base::IPAddress::FromInAddr(from.sin_addr) != At(i).ip) {
        return base::DataLossError("udp source " +
                                   base::IPAddress::FromInAddr(from.sin_addr).ToString());
      }
      return base::OkStatus();
    }
    return base::DeadlineExceededError("no UDP datagram reached " + At(j).ip.ToString());
  }

  // Sends `msg` over `from` and reads it on `to`.
  static base::Status Echo(int from, int to, const std::string& msg) {
    if (send(from, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
      return base::ErrnoError(errno, "send");
    }
    std::string got;
    while (got.size() < msg.size()) {
      char buf[256];
      ssize_t n = recv(to, buf, sizeof(buf), 0);
      if (n <= 0) return base::ErrnoError(n == 0 ? ECONNRESET : errno, "recv");
      got.append(buf, static_cast<size_t>(n));
    }
    return got == msg ? base::OkStatus() : base::DataLossError("got " + got);
  }

 private:
  struct Fd {
    int fd;
    ~Fd() {
      if (fd >= 0) close(fd);
    }
  };
  static uint16_t Checksum(const void* data, size_t len) {
    const auto* p = static_cast<const uint8_t*>(data);
    uint32_t sum = 0;
    for (size_t k = 0; k + 1 < len; k += 2) sum += static_cast<uint32_t>(p[k] << 8 | p[k + 1]);
    if (len % 2) sum += static_cast<uint32_t>(p[len - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return htons(static_cast<uint16_t>(~sum));
  }
  struct Where {
    const kernel::netns::Netns* ns;
    base::IPAddress ip;
  };
  Where At(int e) const { return {e < kNodes ? &ns_[e] : &pod_ns_[e - kNodes], PodIp(e)}; }
  base::StatusOr<kernel::netns::Netns> Create(const std::string& name) {
    auto ns = kernel::netns::Create(name);
    if (ns.ok()) names_.push_back(name);
    return ns;
  }

  std::string prefix_;
  std::vector<std::string> names_;
  kernel::netns::Netns underlay_ns_;
  std::unique_ptr<kernel::netlink::LinuxNetlink> underlay_nl_;
  std::array<kernel::netns::Netns, kNodes> ns_;
  std::array<kernel::netns::Netns, kNodes> pod_ns_;
  std::array<std::unique_ptr<kernel::netlink::LinuxNetlink>, kNodes> nl_;
};

}  // namespace knet::overlay::testing
