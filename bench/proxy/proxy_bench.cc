// proxy_bench: the service proxy's programming time and memory (issue 8, benchmarks 1 and 5),
// side by side with the text path kube-proxy's nftables mode uses (`nft -f`), in one run.
//
//   sudo proxy_bench [--services 1000,10000] [--endpoints 10] [--changes 21] [--nft /usr/sbin/nft]
//                     [--paths knet,reference]
//   sudo proxy_bench --install <netns> --services N --target <ip:port> [--cluster-cidr C]
//     (programs N services into an existing namespace and exits: clusterip_bench.py uses it)
//
// For each service count N, IPv4 only, N ClusterIP services (10.96.0.0 + i + 1, port 80/tcp) with
// E ready endpoints each (10.128.0.0 + 16 i + j + 1, port 8080; none local):
//   knet: a fresh network namespace (deleted again, also on failure); NftBackend (release build)
//     with LinuxNftables: FullSync (the first sync: the whole table in one transaction), a second
//     FullSync over the live table (the periodic resync), then --changes times one endpoint change
//     (endpoint 0 of one service moves between port 8080 and 8081; Sync with that one
//     ServicePortName changed). VmRSS of this process is read before the maps are built, after
//     they are built and after the first FullSync (what the backend keeps).
//   reference: another fresh namespace; the same services as kube-proxy's nftables mode writes
//     them (see WriteKubeProxyRuleset below) applied by `ip netns exec <ns> nft -f <file>`, then
//     --changes times the text of kube-proxy's partial sync for the same one-endpoint change.
//     The cost of starting `ip netns exec … nft -f` on an empty file is measured too.
// Prints one JSON object per line. No packets are sent.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/ip.h"
#include "base/status.h"
#include "kernel/netns/netns.h"
#include "kernel/nft/linux_nft.h"
#include "proxy/nft/nft_backend.h"
#include "proxy/types.h"

namespace knet::bench {
namespace {

using Clock = std::chrono::steady_clock;
using proxy::EndpointInfo;
using proxy::EndpointsMap;
using proxy::ServicePortInfo;
using proxy::ServicePortMap;
using proxy::ServicePortName;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string V4(uint32_t v) { return base::IPAddress::FromV4(v).ToString(); }
uint32_t ServiceIp(uint32_t i) { return 0x0a600000u + i + 1; }
uint32_t EndpointIp(uint32_t i, uint32_t j) { return 0x0a800000u + 16 * i + j + 1; }
ServicePortName Spn(uint32_t i) {
  return ServicePortName{"default", "svc-" + std::to_string(i), "http", 6};
}

long VmRssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A namespace that is deleted when this goes away, whatever happened.
class ScopedNetns {
 public:
  static base::StatusOr<std::unique_ptr<ScopedNetns>> Create(std::string name) {
    ASSIGN_OR_RETURN(kernel::netns::Netns ns, kernel::netns::Create(name));
    return std::unique_ptr<ScopedNetns>(new ScopedNetns(std::move(name), std::move(ns)));
  }
  ~ScopedNetns() {
    ns_ = kernel::netns::Netns();
    base::Status s = kernel::netns::Delete(name_);
    if (!s.ok()) std::cerr << "deleting netns " << name_ << ": " << s.ToString() << "\n";
  }
  const kernel::netns::Netns& ns() const { return ns_; }
  const std::string& name() const { return name_; }

 private:
  ScopedNetns(std::string name, kernel::netns::Netns ns)
      : name_(std::move(name)), ns_(std::move(ns)) {}
  std::string name_;
  kernel::netns::Netns ns_;
};

struct Stats {
  double median = 0, p90 = 0, min = 0, max = 0;
};
Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v[v.size() / 2];
  s.p90 = v[std::min(v.size() - 1, v.size() * 9 / 10)];
  s.min = v.front();
  s.max = v.back();
  return s;
}
std::string Json(const Stats& s) {
  std::ostringstream o;
  o << "{\"median\":" << s.median << ",\"p90\":" << s.p90 << ",\"min\":" << s.min
    << ",\"max\":" << s.max << "}";
  return o.str();
}

// kube-proxy's names: "service-<hash>-<ns>/<name>/<proto>/<port>" and
// "endpoint-<hash>-<ns>/<name>/<proto>/<port>__<ip>/<port>" (the hash is 8 base32 chars of a
// sha256 there; any unique 8 characters cost the kernel the same).
std::string Hash(uint32_t i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08X", i);
  return buf;
}
std::string SvcChain(uint32_t i) {
  return "service-" + Hash(i) + "-default/svc-" + std::to_string(i) + "/tcp/http";
}
std::string EpChain(uint32_t i, uint32_t j, uint16_t port) {
  return "endpoint-" + Hash(i * 64 + j) + "-default/svc-" + std::to_string(i) + "/tcp/http__" +
         V4(EndpointIp(i, j)) + "/" + std::to_string(port);
}

// The per-service part of kube-proxy's nftables ruleset (pkg/proxy/nftables/proxier.go): a
// service chain that marks off-cluster sources for masquerade and picks an endpoint chain through
// an anonymous numgen vmap, and one chain per endpoint (hairpin mark, DNAT).
void WriteService(std::ostream& o, uint32_t i, uint32_t endpoints,
                  const std::vector<uint16_t>& ports) {
  const std::string svc = SvcChain(i);
  for (uint32_t j = 0; j < endpoints; ++j) {
    const std::string ep = EpChain(i, j, ports[j]);
    o << "add chain ip kube-proxy " << ep << "\n"
      << "flush chain ip kube-proxy " << ep << "\n"
      << "add rule ip kube-proxy " << ep << " ip saddr " << V4(EndpointIp(i, j))
      << " jump mark-for-masquerade\n"
      << "add rule ip kube-proxy " << ep << " meta l4proto tcp dnat to " << V4(EndpointIp(i, j))
      << ":" << ports[j] << "\n";
  }
  o << "add chain ip kube-proxy " << svc << "\n"
    << "flush chain ip kube-proxy " << svc << "\n"
    << "add rule ip kube-proxy " << svc << " ip daddr " << V4(ServiceIp(i))
    << " tcp dport 80 ip saddr != 10.128.0.0/9 jump mark-for-masquerade\n"
    << "add rule ip kube-proxy " << svc << " numgen random mod " << endpoints << " vmap { ";
  for (uint32_t j = 0; j < endpoints; ++j) {
    o << (j ? ", " : "") << j << " : goto " << EpChain(i, j, ports[j]);
  }
  o << " }\n";
}

// The whole table, as kube-proxy's first sync writes it (IPv4, ClusterIP services only): base
// chains, the masquerade mark, @service-ips (daddr . proto . port : goto service chain).
void WriteKubeProxyRuleset(std::ostream& o, uint32_t services, uint32_t endpoints) {
  o << "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }\n"
       "add chain ip kube-proxy mark-for-masquerade\n"
       "add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000\n"
       "add chain ip kube-proxy masquerading\n"
       "add rule ip kube-proxy masquerading mark and 0x4000 == 0 return\n"
       "add rule ip kube-proxy masquerading mark set mark xor 0x4000\n"
       "add rule ip kube-proxy masquerading masquerade fully-random\n"
       "add chain ip kube-proxy services\n"
       "add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }\n"
       "add rule ip kube-proxy nat-prerouting jump services\n"
       "add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }\n"
       "add rule ip kube-proxy nat-output jump services\n"
       "add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }\n"
       "add rule ip kube-proxy nat-postrouting jump masquerading\n"
       "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict "
       "; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }\n"
       "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips\n";
  std::vector<uint16_t> ports(endpoints, 8080);
  for (uint32_t i = 0; i < services; ++i) {
    WriteService(o, i, endpoints, ports);
    o << "add element ip kube-proxy service-ips { " << V4(ServiceIp(i)) << " . tcp . 80 : goto "
      << SvcChain(i) << " }\n";
  }
}

// kube-proxy's partial sync after endpoint 0 of service i moved from old_port to new_port: the
// new endpoint chain, the service chain rewritten, the old endpoint chain deleted.
void WriteEndpointChange(std::ostream& o, uint32_t i, uint32_t endpoints, uint16_t old_port,
                         uint16_t new_port) {
  std::vector<uint16_t> ports(endpoints, 8080);
  ports[0] = new_port;
  WriteService(o, i, endpoints, ports);
  o << "delete chain ip kube-proxy " << EpChain(i, 0, old_port) << "\n";
}

// Runs `ip netns exec <ns> <nft> -f <file>`; its wall time in ms.
base::StatusOr<double> NftFile(const std::string& nft, const std::string& ns,
                               const std::string& file) {
  std::string cmd = "ip netns exec " + ns + " " + nft + " -f " + file;
  auto t0 = Clock::now();
  int rc = std::system(cmd.c_str());
  double ms = Ms(Clock::now() - t0);
  if (rc != 0) return base::InternalError("running " + cmd + ": exit status " + std::to_string(rc));
  return ms;
}

base::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return base::InternalError("writing " + path);
  return base::OkStatus();
}

// Removes the temporary files on scope exit.
struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles() {
    for (const std::string& p : paths) std::remove(p.c_str());
  }
};

// N ClusterIP services with E ready endpoints each (the layout in the header comment).
void BuildMaps(uint32_t services, uint32_t endpoints, ServicePortMap& svcs, EndpointsMap& eps) {
  for (uint32_t i = 0; i < services; ++i) {
    ServicePortInfo info;
    info.cluster_ips = {base::IPAddress::FromV4(ServiceIp(i))};
    info.port = 80;
    info.protocol = 6;
    svcs[Spn(i)] = info;
    std::vector<EndpointInfo>& list = eps[Spn(i)];
    for (uint32_t j = 0; j < endpoints; ++j) {
      list.push_back(EndpointInfo{.ip = base::IPAddress::FromV4(EndpointIp(i, j)),
                                  .port = 8080,
                                  .ready = true,
                                  .serving = true,
                                  .terminating = false,
                                  .is_local = false,
                                  .node_name = "node-" + std::to_string(j % 3),
                                  .zone = ""});
    }
  }
}

// --install: programs the services into an existing namespace and leaves them there (for
// clusterip_bench.py); service 0 (10.96.0.1:80/tcp) gets one endpoint, `target`, instead.
base::Status Install(const std::string& netns, uint32_t services, uint32_t endpoints,
                     const std::string& target, const std::string& cidr) {
  ASSIGN_OR_RETURN(kernel::netns::Netns ns, kernel::netns::Netns::Open(netns));
  ASSIGN_OR_RETURN(std::unique_ptr<kernel::nft::LinuxNftables> nft,
                   kernel::nft::LinuxNftables::Open(ns));
  size_t colon = target.rfind(':');
  if (colon == std::string::npos) return base::InvalidArgumentError("--target: want ip:port");
  ASSIGN_OR_RETURN(base::IPAddress ip, base::IPAddress::Parse(target.substr(0, colon)));
  ASSIGN_OR_RETURN(base::Cidr cluster, base::Cidr::Parse(cidr));
  ServicePortMap svcs;
  EndpointsMap eps;
  BuildMaps(services, endpoints, svcs, eps);
  eps[Spn(0)] = {EndpointInfo{.ip = ip,
                              .port = static_cast<uint16_t>(std::stoul(target.substr(colon + 1))),
                              .ready = true,
                              .serving = true,
                              .terminating = false,
                              .is_local = false,
                              .node_name = "node-0",
                              .zone = ""}};
  proxy::nft::NftBackend backend(
      *nft, {.families = {base::IPFamily::kV4}, .cluster_cidrs = {cluster}, .node_ips = {}});
  RETURN_IF_ERROR(backend.FullSync(svcs, eps));
  std::cout << "{\"installed\":" << services << ",\"elements\":" << backend.stats().elements << "}"
            << std::endl;
  return base::OkStatus();
}

base::Status Knet(uint32_t services, uint32_t endpoints, int changes) {
  std::string name = "knet-proxybench-" + std::to_string(getpid()) + "-" + std::to_string(services);
  ASSIGN_OR_RETURN(std::unique_ptr<ScopedNetns> ns, ScopedNetns::Create(name));
  ASSIGN_OR_RETURN(std::unique_ptr<kernel::nft::LinuxNftables> nft,
                   kernel::nft::LinuxNftables::Open(ns->ns()));
  long rss0 = VmRssKiB();
  ServicePortMap svcs;
  EndpointsMap eps;
  BuildMaps(services, endpoints, svcs, eps);
  long rss_maps = VmRssKiB();
  ASSIGN_OR_RETURN(base::Cidr cluster, base::Cidr::Parse("10.128.0.0/9"));
  proxy::nft::NftBackend backend(*nft, {.families = {base::IPFamily::kV4},
                                        .cluster_cidrs = {cluster},
                                        .node_ips = {*base::IPAddress::Parse("192.168.0.1")}});
  auto t0 = Clock::now();
  RETURN_IF_ERROR(backend.FullSync(svcs, eps));
  double full_ms = Ms(Clock::now() - t0);
  long rss_synced = VmRssKiB();
  size_t full_ops = backend.stats().last_operations;
  size_t elements = backend.stats().elements;
  t0 = Clock::now();
  RETURN_IF_ERROR(backend.FullSync(svcs, eps));
  double resync_ms = Ms(Clock::now() - t0);
  std::vector<double> change_ms;
  size_t change_ops = 0;
  for (int c = 0; c < changes; ++c) {
    uint32_t i = static_cast<uint32_t>((static_cast<uint64_t>(c) * 7919) % services);
    EndpointInfo& ep = eps[Spn(i)][0];
    ep.port = ep.port == 8080 ? 8081 : 8080;
    auto t1 = Clock::now();
    RETURN_IF_ERROR(backend.Sync(svcs, eps, {Spn(i)}));
    change_ms.push_back(Ms(Clock::now() - t1));
    change_ops = backend.stats().last_operations;
  }
  std::cout << "{\"path\":\"knet NftBackend\",\"services\":" << services
            << ",\"endpoints\":" << endpoints << ",\"full_sync_ms\":" << full_ms
            << ",\"full_ops\":" << full_ops << ",\"elements\":" << elements
            << ",\"resync_ms\":" << resync_ms << ",\"one_change_ms\":" << Json(Summarize(change_ms))
            << ",\"change_ops\":" << change_ops << ",\"changes\":" << changes
            << ",\"rss_kib\":{\"baseline\":" << rss0 << ",\"maps\":" << rss_maps
            << ",\"after_full_sync\":" << rss_synced
            << ",\"maps_minus_baseline\":" << rss_maps - rss0
            << ",\"backend_minus_maps\":" << rss_synced - rss_maps << "}}" << std::endl;
  return base::OkStatus();
}

base::Status Reference(const std::string& nft, uint32_t services, uint32_t endpoints, int changes) {
  std::string name =
      "knet-proxybench-ref-" + std::to_string(getpid()) + "-" + std::to_string(services);
  ASSIGN_OR_RETURN(std::unique_ptr<ScopedNetns> ns, ScopedNetns::Create(name));
  TempFiles tmp;
  std::string base = "/tmp/knet-proxybench-" + std::to_string(getpid());
  std::string empty = base + "-empty.nft", full = base + "-full.nft";
  tmp.paths = {empty, full};
  RETURN_IF_ERROR(WriteFile(empty, ""));
  std::vector<double> exec_ms;
  for (int k = 0; k < 5; ++k) {
    ASSIGN_OR_RETURN(double ms, NftFile(nft, ns->name(), empty));
    exec_ms.push_back(ms);
  }
  std::ostringstream text;
  auto t0 = Clock::now();
  WriteKubeProxyRuleset(text, services, endpoints);
  double render_ms = Ms(Clock::now() - t0);
  RETURN_IF_ERROR(WriteFile(full, text.str()));
  ASSIGN_OR_RETURN(double full_ms, NftFile(nft, ns->name(), full));
  std::vector<uint16_t> port0(services, 8080);
  std::vector<double> change_ms;
  size_t change_lines = 0;
  for (int c = 0; c < changes; ++c) {
    uint32_t i = static_cast<uint32_t>((static_cast<uint64_t>(c) * 7919) % services);
    uint16_t old_port = port0[i], new_port = old_port == 8080 ? 8081 : 8080;
    std::ostringstream o;
    WriteEndpointChange(o, i, endpoints, old_port, new_port);
    std::string path = base + "-change.nft";
    if (c == 0) tmp.paths.push_back(path);
    RETURN_IF_ERROR(WriteFile(path, o.str()));
    ASSIGN_OR_RETURN(double ms, NftFile(nft, ns->name(), path));
    change_ms.push_back(ms);
    port0[i] = new_port;
    const std::string change_text = o.str();
    change_lines = static_cast<size_t>(std::count(change_text.begin(), change_text.end(), '\n'));
  }
  // Where a small change's time goes: `nft list table` (reading the whole table back, as nft
  // does to build its cache before evaluating a file that refers to existing chains).
  std::vector<double> list_ms;
  for (int k = 0; k < 3; ++k) {
    std::string cmd =
        "ip netns exec " + ns->name() + " " + nft + " list table ip kube-proxy >/dev/null";
    auto t1 = Clock::now();
    if (std::system(cmd.c_str()) != 0) return base::InternalError("running " + cmd);
    list_ms.push_back(Ms(Clock::now() - t1));
  }
  std::string t = text.str();
  std::cout << "{\"path\":\"kube-proxy text, nft -f\",\"services\":" << services
            << ",\"endpoints\":" << endpoints << ",\"full_sync_ms\":" << full_ms
            << ",\"render_text_ms\":" << render_ms << ",\"text_bytes\":" << t.size()
            << ",\"text_lines\":" << std::count(t.begin(), t.end(), '\n')
            << ",\"one_change_ms\":" << Json(Summarize(change_ms))
            << ",\"change_lines\":" << change_lines << ",\"changes\":" << changes
            << ",\"nft_exec_empty_ms\":" << Json(Summarize(exec_ms))
            << ",\"nft_list_table_ms\":" << Json(Summarize(list_ms)) << "}" << std::endl;
  return base::OkStatus();
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

int Main(int argc, char** argv) {
  std::vector<uint32_t> counts = {1000, 10000};
  uint32_t endpoints = 10;
  int changes = 21;
  std::string nft = "/usr/sbin/nft";
  std::string install, target, cidr = "10.128.0.0/9";
  bool run_knet = true, run_reference = true;
  for (int a = 1; a < argc; ++a) {
    std::string flag = argv[a];
    if (a + 1 >= argc) {
      std::cerr << "flag " << flag << " needs a value\n";
      return 2;
    }
    std::string value = argv[++a];
    if (flag == "--services") {
      counts.clear();
      for (const std::string& c : SplitComma(value)) {
        counts.push_back(static_cast<uint32_t>(std::stoul(c)));
      }
    } else if (flag == "--endpoints") {
      endpoints = static_cast<uint32_t>(std::stoul(value));
    } else if (flag == "--changes") {
      changes = std::stoi(value);
    } else if (flag == "--paths") {
      run_knet = value.find("knet") != std::string::npos;
      run_reference = value.find("reference") != std::string::npos;
    } else if (flag == "--install") {
      install = value;
    } else if (flag == "--target") {
      target = value;
    } else if (flag == "--cluster-cidr") {
      cidr = value;
    } else if (flag == "--nft") {
      nft = value;
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (geteuid() != 0) {
    std::cerr << "proxy_bench needs root (it creates network namespaces)\n";
    return 2;
  }
  if (endpoints == 0 || endpoints > 16) {
    std::cerr << "--endpoints must be 1..16\n";
    return 2;
  }
  if (!install.empty()) {
    base::Status s = Install(install, counts.at(0), endpoints, target, cidr);
    if (!s.ok()) std::cerr << "installing into " << install << ": " << s.ToString() << "\n";
    return s.ok() ? 0 : 1;
  }
  int failures = 0;
  for (uint32_t n : counts) {
    for (int which = 0; which < 2; ++which) {
      if ((which == 0 && !run_knet) || (which == 1 && !run_reference)) continue;
      base::Status s =
          which == 0 ? Knet(n, endpoints, changes) : Reference(nft, n, endpoints, changes);
      if (!s.ok()) {
        std::cout << "{\"path\":\"" << (which == 0 ? "knet" : "reference")
                  << "\",\"services\":" << n << ",\"error\":\"" << s.ToString() << "\"}"
                  << std::endl;
        ++failures;
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace knet::bench

int main(int argc, char** argv) { return knet::bench::Main(argc, argv); }
