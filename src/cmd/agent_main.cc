// `knet agent --node NAME --kubeconfig F`: the node agent (kubelet + container runtime + CNI
// caller): registers the Node, runs the pods bound to it in their own network namespaces, and
// serves `kubectl logs` / `kubectl exec` through the API server.
#include <csignal>
#include <iostream>

#include "agent/agent.h"
#include "cmd/roles.h"
#include "cmd/version.h"

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
};

int RunAgent(AgentFlags& f) {
  f.opts.node_ips = SplitList(f.node_ips, ',');
  if (!f.cni_bin_dir.empty()) f.opts.cni_bin_dirs = SplitList(f.cni_bin_dir, ':');
  f.opts.dns.servers = SplitList(f.cluster_dns, ',');
  f.opts.version = kGitVersion;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  auto a = agent::Agent::Start(f.opts);
  if (!a.ok()) {
    std::cerr << "knet agent: " << a.status().message() << "\n";
    return 1;
  }
  std::cerr << "knet agent: node " << f.opts.node_name << " running; serving logs/exec on port "
            << (*a)->port() << "\n";
  int sig = 0;
  sigwait(&stop, &sig);
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
  cmd->add_option("--pod-workers", o.pod_workers, "Pods synced in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->callback([f] {
    int rc = RunAgent(*f);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace knet::cmd
