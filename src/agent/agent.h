// File: agent/agent.h
//
// Agent: `knet agent --node NAME`, the node side of knet (what the kubelet and a container runtime
// do together). It wires the parts under src/agent:
//   node/     registers the Node, renews its Lease, writes the CNI conflist for the podCIDR;
//   runtime/  runs containers under knet-shim (they outlive an agent restart);
//   cniexec/  execs the CNI plugins of the conflist, as containerd does;
//   pod/      the pod lifecycle (sandboxes, containers, probes, status, deletion);
//   server/   the HTTPS endpoint the API server proxies `kubectl logs/exec` to.
//   overlay/  (with a backend) the routes to the other nodes' pods, fed from the Node objects.
//   proxy/    (with a proxy backend) the service proxy: Services and EndpointSlices programmed
//             into the kernel (nftables), with kube-proxy's /healthz and /metrics.
// The Node stays NotReady ("cni plugin not initialized") until its podCIDR has arrived, the
// backend is initialised and the conflist (with the backend's pod MTU) is written, so the
// scheduler sends no pods before the agent can network them.
//
//   agent::AgentOptions o;
//   o.node_name = "n1";
//   o.kubeconfig = "/var/lib/knet/admin.kubeconfig";
//   ASSIGN_OR_RETURN(auto a, agent::Agent::Start(o));
//   ...
//   a->Stop();   // containers keep running; the next Start adopts them
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/node/cni_config.h"
#include "agent/pod/pod_files.h"
#include "base/ip.h"
#include "base/status.h"
#include "kernel/conntrack/conntrack.h"
#include "overlay/masq/masq.h"
#include "overlay/overlay.h"
#include "proxy/backend.h"

namespace knet::agent {

struct AgentOptions {
  std::string node_name;
  std::string kubeconfig;
  std::string context;
  std::string root_dir = "/var/lib/knet/agent";
  // InternalIP(s); empty: the local address this host uses to reach the API server.
  std::vector<std::string> node_ips;
  std::string address = "0.0.0.0";  // the agent server's bind address
  int port = 10250;                 // 0: any free port (tests, several agents on one host)
  node::CniConfigOptions cni;       // conf dir, bridge, MTU, masquerade, portmap
  // Where CNI plugins are looked up. The directory of the running knet binary is appended, so
  // knet-cni built next to it is found.
  std::vector<std::string> cni_bin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  pod::ClusterDns dns;
  std::string shim_path;  // "": knet-shim next to the running binary
  // How pods reach pods on other nodes (vxlan, host-gw, bgp); nullptr: only pods on this node.
  // Built by the caller (src/cmd) with the real kernel interfaces; must outlive the agent.
  overlay::Backend* backend = nullptr;
  // Pod traffic leaving `cluster_cidrs` is masqueraded through `masq` (nullptr: not at all).
  overlay::masq::Masq* masq = nullptr;
  std::vector<base::Cidr> cluster_cidrs;
  // The service proxy's backend (nftables); nullptr: no service proxy. Built by the caller with
  // the node's addresses; must outlive the agent.
  knet::proxy::Backend* proxy = nullptr;
  // The backend's own counters as Prometheus text for /metrics (called on the proxy's sync
  // thread after each sync); may be empty.
  std::function<std::string()> proxy_metrics;
  // Where the service proxy flushes stale UDP conntrack entries (nullptr: it does not); must
  // outlive the agent.
  kernel::conntrack::Conntrack* conntrack = nullptr;
  // Where the service proxy serves /healthz, /livez and /metrics ("": nowhere).
  std::string healthz_address = "0.0.0.0:10256";
  // The service proxy's full resync period and the minimum interval between syncs (kube-proxy's
  // --sync-period and --min-sync-period).
  std::chrono::milliseconds proxy_sync_period{3'600'000};
  std::chrono::milliseconds proxy_min_sync_period{20};
  std::string version;  // knet's version, for nodeInfo
  int pod_workers = 8;
};

// The local address this host uses to reach the API server named by `kubeconfig` (the default
// InternalIP when no --node-ip is given).
base::StatusOr<std::string> DefaultNodeIP(const std::string& kubeconfig,
                                          const std::string& context);

class Agent {
 public:
  // Starts everything and returns once the Node is registered and the pods of this node are
  // being synced. Errors name the part that failed.
  static base::StatusOr<std::unique_ptr<Agent>> Start(AgentOptions options);
  ~Agent();
  void Stop();  // idempotent

  uint16_t port() const;  // the agent server's port

  struct Parts;  // internal

 private:
  explicit Agent(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace knet::agent
