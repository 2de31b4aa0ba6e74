// File: cluster/cluster.h
//
// `knet cluster`: a whole multi-node Kubernetes cluster on one Linux machine. Nodes are network
// namespaces on an underlay bridge, each running its own `knet agent`; the control plane
// (`knet server`, plus a 3-member etcd with --store etcd) runs in the host netns on the bridge's
// address. Everything made is recorded first in <state-dir>/manifest.json, so Down() removes
// exactly that, also after a crash or a failed Up().
//
//   cluster::Env env{.host = host_netlink.get(), .open_netlink = ..., .knet_binary = exe,
//                    .out = &std::cout};
//   RETURN_IF_ERROR(cluster::Up({.name = "demo", .nodes = 3, .backend = "vxlan"}, env));
//   ...
//   RETURN_IF_ERROR(cluster::Down("demo", "", env));
//
// Names (internal/naming.h): state dir /var/lib/knet/clusters/<name>; bridge kn-<id>; node
// namespaces kc-<name>-node-<i>; Node names node-1 ... node-N; node addresses .2 ... on the
// underlay (default 10.250.<k>.0/24, k from the name's hash, skipping subnets the host uses);
// API server https://<underlay .1>:6443.
//
// Thread-compatible: one operation at a time per cluster name (Up claims the name by creating the
// state dir).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernel/netlink/netlink.h"
#include "kernel/netns/netns.h"

namespace knet::cluster {

// Opens a Netlink bound to a namespace (src/cmd passes LinuxNetlink::Open).
using NetlinkOpener = std::function<base::StatusOr<std::unique_ptr<kernel::netlink::Netlink>>(
    const kernel::netns::Netns&)>;

// What the operations run with: the kernel seams and where progress goes.
struct Env {
  kernel::netlink::Netlink* host = nullptr;  // the host netns
  NetlinkOpener open_netlink;
  std::string knet_binary;  // the knet executable the server and agents run
  std::ostream* out = nullptr;
  // Polled by Up() between steps and while waiting; true makes it stop, remove what it made and
  // return Cancelled (src/cmd sets it on SIGINT/SIGTERM). Empty: never.
  std::function<bool()> cancelled;
};

struct UpOptions {
  std::string name = "knet";
  int nodes = 3;
  std::string backend = "vxlan";  // vxlan | host-gw | bgp | none (knet agent --backend)
  std::string store = "sqlite";   // sqlite | etcd
  std::string state_dir;          // default /var/lib/knet/clusters/<name>
  std::string kubeconfig_out;     // default <state-dir>/kubeconfig
  std::string underlay_cidr;      // default: see above
  std::string pod_cidr = "10.244.0.0/16";
  std::string service_cidr = "10.96.0.0/12";
  std::vector<std::string> agent_args;  // extra flags for every agent
  std::chrono::seconds timeout{180};    // for the server and the nodes to become ready
};

// The state dir of cluster `name`: `flag` if set, else /var/lib/knet/clusters/<name>.
std::string StateDir(const std::string& name, const std::string& flag);

// Builds the cluster and waits until every node is Ready, printing progress and a summary to
// env.out. FailedPrecondition if the name is taken; InvalidArgument for bad options (nothing is
// made then). On any later failure (or env.cancelled) everything made so far is removed and the
// error returned.
base::Status Up(const UpOptions& options, const Env& env);

// Removes everything cluster `name` made: agents (SIGTERM, SIGKILL after a grace), every pod
// process and pod netns the agents left, node namespaces, veths, the bridge, the server and etcd,
// the kubeconfig copy and the state dir. Idempotent (OK when nothing is there). An error lists
// whatever could not be removed.
base::Status Down(const std::string& name, const std::string& state_dir, const Env& env);

// Prints the cluster's processes (running or not) and its nodes (addresses, podCIDRs, Ready, from
// the API). NotFound if there is no such cluster; Unavailable, after printing, naming what is
// unhealthy (a process not running, a node not Ready, the API server unreachable).
base::Status PrintStatus(const std::string& name, const std::string& state_dir, const Env& env);

// Runs argv inside node `node`'s network namespace (stdin/stdout/stderr inherited, our
// environment) and returns its exit code (128+N when killed by signal N). NotFound for an unknown
// cluster or node.
base::StatusOr<int> Exec(const std::string& name, const std::string& state_dir,
                         const std::string& node, const std::vector<std::string>& argv);

}  // namespace knet::cluster
