// `knet agent --node NAME --kubeconfig F`: the node agent (kubelet + container runtime + CNI
// caller): registers the Node, runs the pods bound to it in their own network namespaces, and
// serves `kubectl logs` / `kubectl exec` through the API server.
#include <csignal>
#include <cstdint>
#include <functional>
#include <iostream>
#include <tuple>

#include "agent/agent.h"
#include "base/duration.h"
#include "cmd/roles.h"
#include "cmd/stop_signals.h"
#include "cmd/version.h"
#include "kernel/conntrack/linux_conntrack.h"
#include "kernel/netlink/linux_netlink.h"
#include "kernel/nft/linux_nft.h"
#include "overlay/bgp/bird_backend.h"
#include "overlay/hostgw/hostgw.h"
#include "overlay/masq/masq.h"
#include "overlay/vxlan/vxlan.h"
#include "proxy/nft/nft_backend.h"

namespace knet::cmd {
namespace {

std::vector<std::string> SplitList(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + sep) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

struct AgentFlags {
  agent::AgentOptions opts;
  std::string node_ips;
  std::string cni_bin_dir;
  std::string cluster_dns;
  std::string backend = "vxlan";
  std::string iface;
  uint32_t vni = 1;
  uint16_t vxlan_port = 8472;
  bool direct_routing = false;
  std::string cluster_cidr = "10.244.0.0/16";
  bool no_masquerade = false;
  overlay::bgp::BgpSettings bgp;
  std::vector<std::string> bgp_peers;  // IP:AS[:password]
  std::string proxy_mode = "nftables";
  std::string proxy_sync_period = "1h";
  std::string proxy_min_sync_period = "20ms";
};

// The kernel interfaces and the backend the agent runs with (only src/cmd builds real ones).
struct Network {
  std::unique_ptr<kernel::netlink::LinuxNetlink> netlink;
  std::unique_ptr<kernel::nft::LinuxNftables> nft;
  std::unique_ptr<overlay::Backend> backend;
  std::unique_ptr<overlay::masq::Masq> masq;
  std::unique_ptr<kernel::nft::LinuxNftables> proxy_nft;
  std::unique_ptr<proxy::Backend> proxy;
  std::function<std::string()> proxy_metrics;
  std::unique_ptr<kernel::conntrack::LinuxConntrack> conntrack;
};

// The service proxy's backend (`--proxy-mode nftables`): its own nftables tables, NodePorts on
// the node's addresses, masquerade for traffic from outside the cluster CIDR(s).
base::Status MakeProxy(const AgentFlags& f, Network& n) {
  if (f.proxy_mode == "none") return base::OkStatus();
  proxy::nft::Config config;
  for (const std::string& c : SplitList(f.cluster_cidr, ',')) {
    auto cidr = base::Cidr::Parse(c);
    if (!cidr.ok()) {
      return base::InvalidArgumentError("--cluster-cidr " + c + ": " + cidr.status().message());
    }
    config.cluster_cidrs.push_back(*cidr);
  }
  for (const std::string& ip : f.opts.node_ips) {
    auto addr = base::IPAddress::Parse(ip);
    if (!addr.ok()) {
      return base::InvalidArgumentError("--node-ip " + ip + ": " + addr.status().message());
    }
    config.node_ips.push_back(*addr);
  }
  ASSIGN_OR_RETURN(n.proxy_nft, kernel::nft::LinuxNftables::Open());
  auto backend = std::make_unique<proxy::nft::NftBackend>(*n.proxy_nft, config);
  // Read on the proxy's sync thread, the only one that calls the backend.
  n.proxy_metrics = [b = backend.get()] {
    const proxy::nft::NftBackend::Stats& s = b->stats();
    std::string out;
    auto metric = [&out](const char* name, const char* type, const char* help, int64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
             name + " " + std::to_string(v) + "\n";
    };
    metric("knet_proxy_nft_full_syncs_total", "counter", "Full nftables transactions applied.",
           s.full_syncs);
    metric("knet_proxy_nft_partial_syncs_total", "counter",
           "Incremental nftables transactions applied.", s.partial_syncs);
    metric("knet_proxy_nft_failed_syncs_total", "counter",
           "nftables transactions the kernel refused.", s.failed_syncs);
    metric("knet_proxy_nft_last_operations", "gauge",
           "Operations in the last nftables transaction.", static_cast<int64_t>(s.last_operations));
    metric("knet_proxy_nft_elements", "gauge", "Map and set elements programmed.",
           static_cast<int64_t>(s.elements));
    metric("knet_proxy_nft_conflicts", "gauge",
           "Elements skipped because another service port owns the key.", s.conflicts);
    return out;
  };
  n.proxy = std::move(backend);
  // Stale UDP flows are flushed through ctnetlink; without it they only expire.
  auto ct = kernel::conntrack::LinuxConntrack::Open();
  if (ct.ok()) {
    n.conntrack = std::move(ct).value();
  } else {
    std::cerr << "knet agent: service proxy: stale UDP conntrack entries will not be flushed: "
              << ct.status().message() << "\n";
  }
  return base::OkStatus();
}

base::StatusOr<Network> MakeNetwork(AgentFlags& f) {
  Network n;
  if (f.backend == "none") return n;
  ASSIGN_OR_RETURN(n.netlink, kernel::netlink::LinuxNetlink::Open());
  if (f.backend == "vxlan") {
    overlay::vxlan::VxlanOptions vo;
    vo.netlink = n.netlink.get();
    vo.vni = f.vni;
    vo.port = f.vxlan_port;
    vo.underlay_interface = f.iface;
    vo.direct_routing = f.direct_routing;
    ASSIGN_OR_RETURN(n.backend, overlay::vxlan::VxlanBackend::Create(vo));
  } else if (f.backend == "host-gw") {
    overlay::hostgw::HostGwOptions ho;
    ho.netlink = n.netlink.get();
    ho.underlay_interface = f.iface;
    ASSIGN_OR_RETURN(n.backend, overlay::hostgw::HostGwBackend::Create(ho));
  } else if (f.backend == "bgp") {
    for (const std::string& peer : f.bgp_peers) {
      std::vector<std::string> parts = SplitList(peer, ':');
      if (parts.size() < 2 || parts.size() > 3) {
        return base::InvalidArgumentError("--bgp-peer \"" + peer + "\": want IP:AS[:password]");
      }
      overlay::bgp::ExternalPeer p;
      p.ip = parts[0];
      try {
        p.as_number = static_cast<uint32_t>(std::stoul(parts[1]));
      } catch (const std::exception&) {
        return base::InvalidArgumentError("--bgp-peer \"" + peer + "\": AS \"" + parts[1] +
                                          "\" is not a number");
      }
      if (parts.size() == 3) p.password = parts[2];
      f.bgp.external_peers.push_back(p);
    }
    overlay::bgp::BirdOptions bo;
    bo.state_dir = f.opts.root_dir + "/bird";
    bo.bgp = f.bgp;
    ASSIGN_OR_RETURN(n.backend, overlay::bgp::BirdBackend::Create(*n.netlink, bo));
  } else {
    return base::InvalidArgumentError("--backend must be vxlan, host-gw, bgp or none, not \"" +
                                      f.backend + "\"");
  }
  if (!f.no_masquerade && !f.cluster_cidr.empty()) {
    for (const std::string& c : SplitList(f.cluster_cidr, ',')) {
      auto cidr = base::Cidr::Parse(c);
      if (!cidr.ok()) {
        return base::InvalidArgumentError("--cluster-cidr " + c + ": " + cidr.status().message());
      }
      f.opts.cluster_cidrs.push_back(*cidr);
    }
    ASSIGN_OR_RETURN(n.nft, kernel::nft::LinuxNftables::Open());
    n.masq = std::make_unique<overlay::masq::Masq>(n.nft.get());
  }
  return n;
}

int RunAgent(AgentFlags& f) {
  f.opts.node_ips = SplitList(f.node_ips, ',');
  if (!f.cni_bin_dir.empty()) f.opts.cni_bin_dirs = SplitList(f.cni_bin_dir, ':');
  f.opts.dns.servers = SplitList(f.cluster_dns, ',');
  f.opts.version = kGitVersion;
  for (auto [flag, text, out] :
       {std::tuple{"--proxy-sync-period", &f.proxy_sync_period, &f.opts.proxy_sync_period},
        std::tuple{"--proxy-min-sync-period", &f.proxy_min_sync_period,
                   &f.opts.proxy_min_sync_period}}) {
    auto d = base::ParseDuration(*text);
    if (!d.ok() || d->count() <= 0) {
      std::cerr << "knet agent: " << flag << " " << *text
                << ": want a positive duration such as 30s or 250ms\n";
      return 1;
    }
    *out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }
  StopSignals stop;
  auto network = MakeNetwork(f);
  if (!network.ok()) {
    std::cerr << "knet agent: --backend " << f.backend << ": " << network.status().message()
              << "\n";
    return 1;
  }
  if (f.opts.node_ips.empty() && f.proxy_mode != "none") {
    // NodePorts answer on the node's addresses: the proxy needs them now.
    auto ip = agent::DefaultNodeIP(f.opts.kubeconfig, f.opts.context);
    if (!ip.ok()) {
      std::cerr << "knet agent: " << ip.status().message() << "\n";
      return 1;
    }
    f.opts.node_ips.push_back(*ip);
  }
  if (base::Status s = MakeProxy(f, *network); !s.ok()) {
    std::cerr << "knet agent: --proxy-mode " << f.proxy_mode << ": " << s.message() << "\n";
    return 1;
  }
  f.opts.proxy = network->proxy.get();
  f.opts.proxy_metrics = network->proxy_metrics;
  f.opts.conntrack = network->conntrack.get();
  f.opts.backend = network->backend.get();
  f.opts.masq = network->masq.get();
  auto a = agent::Agent::Start(f.opts);
  if (!a.ok()) {
    std::cerr << "knet agent: " << a.status().message() << "\n";
    return 1;
  }
  std::cerr << "knet agent: node " << f.opts.node_name << " running; serving logs/exec on port "
            << (*a)->port() << "\n";
  int sig = stop.Wait();
  std::cerr << "knet agent: " << (sig == SIGINT ? "interrupted" : "terminated")
            << ", shutting down (containers keep running; the next agent adopts them)\n";
  (*a)->Stop();
  return 0;
}

}  // namespace

void RegisterAgent(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "agent",
      "Run a node: register it, run its pods in network namespaces through CNI, and "
      "serve kubectl logs/exec");
  auto f = std::make_shared<AgentFlags>();
  auto& o = f->opts;
  cmd->add_option("--node", o.node_name, "This node's name")->required();
  cmd->add_option("--kubeconfig", o.kubeconfig, "The API server and credentials to use")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--context", o.context, "The kubeconfig context (default: current)");
  cmd->add_option("--root-dir", o.root_dir, "Pods, container state and logs")
      ->capture_default_str();
  cmd->add_option("--node-ip", f->node_ips,
                  "InternalIP(s), comma-separated (default: the address towards the API server)");
  cmd->add_option("--address", o.address, "Bind address of the logs/exec server")
      ->capture_default_str();
  cmd->add_option("--port", o.port, "Port of the logs/exec server (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--cni-conf-dir", o.cni.conf_dir, "Where the CNI conflist is written and read")
      ->capture_default_str();
  cmd->add_option("--cni-bin-dir", f->cni_bin_dir,
                  "CNI plugin dirs, ':'-separated (default /opt/cni/bin:/usr/lib/cni; the knet "
                  "binary's own dir is always searched too)");
  cmd->add_option("--cni-bridge", o.cni.bridge, "The node bridge pods attach to")
      ->capture_default_str();
  cmd->add_option("--cni-mtu", o.cni.mtu, "Pod interface MTU (0: the kernel's default)")
      ->capture_default_str();
  cmd->add_flag("--cni-masquerade", o.cni.ip_masq,
                "Masquerade pod traffic leaving the pod subnet (knet-cni ipMasq)");
  cmd->add_flag("--cni-portmap", o.cni.portmap,
                "Chain the portmap plugin for hostPort (needs containernetworking-plugins)");
  cmd->add_option("--cluster-dns", f->cluster_dns,
                  "DNS server IP(s) for ClusterFirst pods, comma-separated (default: none, pods "
                  "use the node's resolv.conf)");
  cmd->add_option("--cluster-domain", o.dns.domain, "The cluster's DNS domain")
      ->capture_default_str();
  cmd->add_option("--shim", o.shim_path, "The knet-shim binary (default: next to knet)");
  cmd->add_option("--backend", f->backend,
                  "How pods reach pods on other nodes: vxlan (flannel's), host-gw, bgp (Calico's, "
                  "with BIRD) or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"vxlan", "host-gw", "bgp", "none"}));
  cmd->add_option("--iface", f->iface,
                  "The underlay interface (default: the one holding the node's InternalIP)");
  cmd->add_option("--vxlan-vni", f->vni, "VXLAN network identifier")->capture_default_str();
  cmd->add_option("--vxlan-port", f->vxlan_port, "VXLAN UDP port")->capture_default_str();
  cmd->add_flag("--direct-routing", f->direct_routing,
                "vxlan: plain routes to nodes on the same L2 segment (flannel's DirectRouting)");
  cmd->add_option("--cluster-cidr", f->cluster_cidr,
                  "Pod network(s), comma-separated: pod traffic leaving them is masqueraded")
      ->capture_default_str();
  cmd->add_flag("--no-masquerade", f->no_masquerade,
                "Do not masquerade pod traffic leaving the cluster CIDR");
  cmd->add_option("--bgp-as", f->bgp.as_number, "bgp: this cluster's AS number")
      ->capture_default_str();
  cmd->add_flag("--bgp-no-mesh{false}", f->bgp.mesh,
                "bgp: no node-to-node full mesh (use route reflectors)");
  cmd->add_flag("--bgp-route-reflector", f->bgp.route_reflector,
                "bgp: this node is a route reflector for the others");
  cmd->add_option("--bgp-reflectors", f->bgp.reflectors,
                  "bgp: route reflectors (node names or IPs) to peer with instead of the mesh")
      ->delimiter(',');
  cmd->add_option("--bgp-peer", f->bgp_peers,
                  "bgp: an external peer (a top-of-rack router) as IP:AS[:password]; repeatable");
  cmd->add_option("--proxy-mode", f->proxy_mode,
                  "The service proxy: nftables (kube-proxy's semantics, in the tables "
                  "ip/ip6 knet-proxy) or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"nftables", "none"}));
  cmd->add_option("--healthz-bind-address", o.healthz_address,
                  "Where the service proxy serves /healthz, /livez and /metrics (host:port; "
                  "\"\": not at all)")
      ->capture_default_str();
  cmd->add_option(
         "--proxy-sync-period", f->proxy_sync_period,
         "How often the service proxy rebuilds its tables in full (repairs drift; also resets "
         "session affinity)")
      ->capture_default_str();
  cmd->add_option("--proxy-min-sync-period", f->proxy_min_sync_period,
                  "The shortest interval between two service proxy syncs (changes meanwhile are "
                  "batched)")
      ->capture_default_str();
  cmd->add_option("--pod-workers", o.pod_workers, "Pods synced in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->callback([f] {
    int rc = RunAgent(*f);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace knet::cmd
