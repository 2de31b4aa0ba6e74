// `knet cluster up | down | status | exec`: a whole multi-node cluster on this machine (nodes are
// network namespaces on an underlay bridge, each with its own `knet agent`).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <iostream>

#include "cluster/cluster.h"
#include "cmd/roles.h"
#include "kernel/netlink/linux_netlink.h"

namespace knet::cmd {
namespace {

struct ClusterFlags {
  cluster::UpOptions up;
  std::string name = "knet";  // down / status
  std::string state_dir;
  std::string node;
  std::vector<std::string> command;
  int timeout_seconds = 180;
};

// Set by SIGINT/SIGTERM during `up`, which then removes what it made (a detached child is in its
// own session, so a Ctrl-C reaches only `up` itself).
std::atomic<bool> interrupted{false};

void OnStopSignal(int) { interrupted.store(true); }

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "knet";
}

// Runs `fn` with the real kernel seams; prints an error and returns the exit code.
int WithEnv(const std::function<base::Status(const cluster::Env&)>& fn) {
  if (geteuid() != 0) {
    std::cerr << "knet cluster: must run as root (it makes network namespaces and links)\n";
    return 1;
  }
  auto host = kernel::netlink::LinuxNetlink::Open();
  if (!host.ok()) {
    std::cerr << "knet cluster: " << host.status().message() << "\n";
    return 1;
  }
  cluster::Env env;
  env.host = host->get();
  env.open_netlink = [](const kernel::netns::Netns& ns)
      -> base::StatusOr<std::unique_ptr<kernel::netlink::Netlink>> {
    auto nl = kernel::netlink::LinuxNetlink::Open(ns);
    if (!nl.ok()) return nl.status();
    return std::unique_ptr<kernel::netlink::Netlink>(std::move(*nl));
  };
  env.knet_binary = SelfExe();
  env.out = &std::cout;
  env.cancelled = [] { return interrupted.load(); };
  base::Status s = fn(env);
  if (!s.ok()) {
    std::cerr << "knet cluster: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterCluster(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "cluster",
      "A multi-node cluster on this machine: nodes are network namespaces on an underlay bridge");
  cmd->require_subcommand(1);
  auto f = std::make_shared<ClusterFlags>();

  auto* up = cmd->add_subcommand("up", "Create a cluster and wait until every node is Ready");
  up->add_option("--nodes", f->up.nodes, "How many nodes")->capture_default_str();
  up->add_option("--backend", f->up.backend,
                 "Cross-node pod network: vxlan, host-gw, bgp or none (same-node pods only)")
      ->capture_default_str()
      ->check(CLI::IsMember({"vxlan", "host-gw", "bgp", "none"}));
  up->add_option("--store", f->up.store, "sqlite (one file) or etcd (3 local members)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sqlite", "etcd"}));
  up->add_option("--name", f->up.name, "The cluster's name (several can run side by side)")
      ->capture_default_str();
  up->add_option("--kubeconfig-out", f->up.kubeconfig_out,
                 "Where to write the kubeconfig (default STATE-DIR/kubeconfig)");
  up->add_option("--state-dir", f->up.state_dir,
                 "Where the cluster's state lives (default /var/lib/knet/clusters/NAME)");
  up->add_option("--underlay-cidr", f->up.underlay_cidr,
                 "The nodes' subnet (default 10.250.K.0/24, K from the name, avoiding subnets "
                 "in use)");
  up->add_option("--pod-cidr", f->up.pod_cidr, "Pod address range")->capture_default_str();
  up->add_option("--service-cidr", f->up.service_cidr, "ClusterIP range")->capture_default_str();
  up->add_option("--timeout", f->timeout_seconds,
                 "Seconds to wait for the server and for the nodes to be Ready")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  up->add_option("--agent-arg", f->up.agent_args,
                 "An extra flag for every knet agent (repeatable), e.g. --agent-arg=--cni-mtu=1400")
      ->allow_extra_args(false);
  up->callback([f] {
    f->up.timeout = std::chrono::seconds(f->timeout_seconds);
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    int rc = WithEnv([&](const cluster::Env& env) { return cluster::Up(f->up, env); });
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto* down = cmd->add_subcommand("down", "Remove a cluster and everything it made");
  down->add_option("name", f->name, "The cluster's name")->capture_default_str();
  down->add_option("--state-dir", f->state_dir, "Its state dir, if not the default");
  down->callback([f] {
    int rc =
        WithEnv([&](const cluster::Env& env) { return cluster::Down(f->name, f->state_dir, env); });
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto* status = cmd->add_subcommand("status", "Show a cluster's nodes and processes");
  status->add_option("name", f->name, "The cluster's name")->capture_default_str();
  status->add_option("--state-dir", f->state_dir, "Its state dir, if not the default");
  status->callback([f] {
    int rc = WithEnv(
        [&](const cluster::Env& env) { return cluster::PrintStatus(f->name, f->state_dir, env); });
    if (rc != 0) throw CLI::RuntimeError(rc);
  });

  auto* exec = cmd->add_subcommand("exec", "Run a command in a node's network namespace");
  exec->add_option("name", f->name, "The cluster's name")->required();
  exec->add_option("node", f->node, "The node (node-1, ...)")->required();
  exec->add_option("command", f->command, "The command and its arguments (after --)")->required();
  exec->add_option("--state-dir", f->state_dir, "Its state dir, if not the default");
  exec->callback([f] {
    auto rc = cluster::Exec(f->name, f->state_dir, f->node, f->command);
    if (!rc.ok()) {
      std::cerr << "knet cluster exec: " << rc.status().message() << "\n";
      throw CLI::RuntimeError(rc.status().code() == base::StatusCode::kNotFound ? 127 : 1);
    }
    std::cout.flush();
    if (*rc != 0) throw CLI::RuntimeError(*rc);
  });
}

}  // namespace knet::cmd
