// File: overlay/overlay.h
//
// The cross-node pod network of `knet agent --backend vxlan|host-gw|bgp`: how a pod on one node
// reaches a pod on another by its own IP, without NAT. A Backend programs this node's side (the
// kernel's routes, neighbours and FDB over rtnetlink, or BIRD for BGP) from the list of the other
// nodes; the overlay Manager (manager.h) feeds it from the Node objects and publishes what this
// node must tell the others (annotations such as the VTEP MAC).
//
//   ASSIGN_OR_RETURN(auto backend, vxlan::VxlanBackend::Create(netlink, {...}));
//   ASSIGN_OR_RETURN(auto annotations, backend->Init(self));
//   RETURN_IF_ERROR(backend->Sync(others));   // every change of the other nodes, full list
//
// Backends are not thread-safe; the Manager calls them from one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace knet::overlay {

// One node as the backends see it (from its Node object).
struct NodeInfo {
  std::string name;
  std::vector<std::string> internal_ips;  // status.addresses InternalIP, IPv4 first
  std::vector<std::string> pod_cidrs;     // spec.podCIDRs
  std::map<std::string, std::string> annotations;
  bool operator==(const NodeInfo&) const = default;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "vxlan", "host-gw", "bgp".
  virtual std::string Name() const = 0;
  // Sets up this node's side (devices, daemons) for `self` and returns the annotations this node
  // must publish on its Node for the others (e.g. the VTEP MAC); idempotent, so an agent restart
  // reuses what exists without interrupting traffic.
  virtual base::StatusOr<std::map<std::string, std::string>> Init(const NodeInfo& self) = 0;
  // The complete list of the other nodes (self excluded). Applies only the difference from the
  // previous call (and, on the first call after Init, from what the kernel holds: stale entries of
  // nodes that are gone are removed). A node that cannot be reached this way (e.g. host-gw to a
  // node on another L2 segment) is skipped with an error naming it, the others still applied.
  virtual base::Status Sync(const std::vector<NodeInfo>& others) = 0;
  // The MTU pods should use (the underlay's, minus the encapsulation overhead).
  virtual uint32_t PodMtu() const = 0;
  // Removes everything this backend made on this node (the node is leaving the cluster).
  virtual base::Status Teardown() = 0;
};

}  // namespace knet::overlay
