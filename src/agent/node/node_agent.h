// File: agent/node/node_agent.h
//
// NodeAgent: the kubelet's node-facing duties for `knet agent --node NAME`.
//   - Registers the Node (or adopts an existing one: only the labels we own and the status are
//     written; spec.podCIDR(s), taints and unschedulable set by others are never touched).
//   - Keeps node status fresh as the kubelet does: conditions MemoryPressure/DiskPressure/
//     PIDPressure=False and Ready (reason KubeletReady), addresses, capacity/allocatable,
//     daemonEndpoints and nodeInfo, written through nodes/NAME/status whenever something changes
//     and otherwise every status_report_frequency (5 min). NetworkUnavailable is left to node IPAM.
//   - Renews the Lease kube-node-lease/NAME every renew_interval (10 s; duration 40 s), owned by
//     the Node as the kubelet's lease is.
//   - Watches its own Node (fieldSelector metadata.name=NAME) and calls on_pod_cidrs with
//     spec.podCIDRs (or the single spec.podCIDR) whenever they appear or change.
//
//   node::NodeAgentOptions o;
//   o.node_name = "n1"; o.client = rest.get(); o.internal_ips = {"192.0.2.10"};
//   o.host = *node::CollectHostInfo({.version = kVersion});
//   o.on_pod_cidrs = [&](const std::vector<std::string>& cidrs) { node::WriteCniConfig(cni, cidrs);
//   }; ASSIGN_OR_RETURN(auto agent, node::NodeAgent::Start(std::move(o)));  // registered on return
//   ...
//   agent->Stop();   // also in the destructor
//
// Conflicts (409) on Node or Lease writes are handled by re-reading and retrying. Failures of the
// background loops are logged to stderr and retried on the next tick. Thread-safe; on_pod_cidrs
// runs on the agent's watch thread, never concurrently with itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/node/host_info.h"
#include "api/lease.h"
#include "api/node.h"
#include "base/status.h"
#include "client/rest_client.h"

namespace knet::client {
template <class T>
class Informer;
}

namespace knet::agent::node {

inline constexpr const char* kLeaseNamespace = "kube-node-lease";

struct NodeAgentOptions {
  std::string node_name;
  client::RestClient* client = nullptr;       // must outlive the agent
  std::vector<std::string> internal_ips;      // IPv4 and/or IPv6: InternalIP addresses
  std::string hostname;                       // Hostname address; "": the node name
  int32_t agent_port = 10250;                 // daemonEndpoints.kubeletEndpoint.Port
  HostInfo host;                              // capacity (allocatable = capacity) and nodeInfo
  std::map<std::string, std::string> labels;  // extra labels we own (besides the well-known ones)
  int32_t lease_duration_seconds = 40;
  std::chrono::milliseconds renew_interval{10'000};
  // How often status is compared with what was last posted (posted at once when it differs).
  std::chrono::milliseconds status_update_frequency{10'000};
  // Post status at least this often even when nothing changed (kubelet's
  // nodeStatusReportFrequency).
  std::chrono::milliseconds status_report_frequency{5 * 60'000};
  std::function<void(const std::vector<std::string>& pod_cidrs)> on_pod_cidrs;
  // The Ready condition posted at registration (later changed with SetReady), e.g. not ready
  // until the CNI config exists, so the Node never shows a brief Ready=True without a network.
  bool initially_ready = true;
  std::string initial_ready_reason = "KubeletReady";
  std::string initial_ready_message = "knet agent is posting ready status";
};

class NodeAgent {
 public:
  // Registers the Node and posts its status, creates/renews the Lease once, starts the loops.
  // Fails when the Node cannot be registered or options are missing (a Lease failure is only
  // logged and retried by the loop, as the kubelet's lease controller does).
  static base::StatusOr<std::unique_ptr<NodeAgent>> Start(NodeAgentOptions opts);
  ~NodeAgent();
  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  // Stops the loops (idempotent). The Node and Lease stay (the lease then expires, as when a
  // kubelet stops).
  void Stop();

  // Sets the Ready condition (e.g. false with reason "KubeletNotReady" and a message when the
  // runtime cannot serve pods); posted at once if it changes.
  void SetReady(bool ready, std::string reason, std::string message);

  // The status this agent would post now (for tests and diagnostics).
  api::NodeStatus DesiredStatus() const;

  // Label keys the agent sets: kubernetes.io/hostname, kubernetes.io/os, kubernetes.io/arch,
  // beta.kubernetes.io/os, beta.kubernetes.io/arch, plus options.labels.
  std::map<std::string, std::string> OwnedLabels() const;

 private:
  explicit NodeAgent(NodeAgentOptions opts);
  base::Status Register();
  base::Status PostStatus(bool force);
  base::Status RenewLease();
  void Loop();
  void OnNode(const api::Node& node);

  const NodeAgentOptions opts_;
  std::mutex stop_mu_;  // serialises Stop()
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool status_dirty_ = false;
  std::string node_uid_;
  // Ready condition as set by SetReady (initially from the options).
  bool ready_ = true;
  std::string ready_reason_;
  std::string ready_message_;
  // What was last posted (conditions without heartbeat times) and when.
  api::NodeStatus last_posted_;
  std::chrono::steady_clock::time_point last_post_time_{};
  std::vector<std::string> last_pod_cidrs_;  // watch thread only
  std::unique_ptr<client::Informer<api::Node>> informer_;
  std::thread loop_;
};

}  // namespace knet::agent::node
