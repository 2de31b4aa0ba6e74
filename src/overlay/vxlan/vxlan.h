// File: overlay/vxlan/vxlan.h
//
// VxlanBackend: flannel's VXLAN design over rtnetlink. One VXLAN device per node ("knet.1": VNI 1,
// UDP 8472, learning off, local = the node's InternalIP, dev = the underlay, MTU = underlay − 50)
// holding <podCIDR network>/32; for every other node that published its VTEP MAC:
//   ip route replace <its podCIDR> via <its podCIDR network> dev knet.1 onlink proto 75
//   ip neigh replace <its podCIDR network> lladdr <its MAC> dev knet.1 nud permanent
//   bridge fdb replace <its MAC> dev knet.1 dst <its InternalIP> self permanent
// With DirectRouting, a node whose InternalIP is in a connected subnet of the underlay gets a plain
// route instead: <its podCIDR> via <its InternalIP> dev <underlay> proto 75.
//
//   ASSIGN_OR_RETURN(auto backend, VxlanBackend::Create({.netlink = &nl}));
//   ASSIGN_OR_RETURN(auto annotations, backend->Init(self));  // knet.io/vtep-mac, ...
//   RETURN_IF_ERROR(backend->Sync(others));
//
// Restarts: Init adopts an existing device with the same settings (its MAC, and so every other
// node's FDB entry, stays valid), and the first Sync removes what is on knet.1 (and proto-75
// routes on the underlay) for nodes that are gone, replacing the rest in place, so traffic is not
// interrupted. IPv4 only (IPv6 podCIDRs are ignored; flannel uses a second device for them).
//
// Not thread-safe (the overlay Manager calls it from one thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/ip.h"
#include "base/mac.h"
#include "kernel/netlink/netlink.h"
#include "overlay/overlay.h"
#include "overlay/vxlan/underlay.h"

namespace knet::overlay::vxlan {

struct VxlanOptions {
  kernel::netlink::Netlink* netlink = nullptr;  // required; must outlive the backend
  std::string device = "knet.1";
  uint32_t vni = 1;
  uint16_t port = 8472;
  // The underlay interface; empty: the one holding the node's InternalIP.
  std::string underlay_interface;
  // Plain routes (no encapsulation) to nodes on the same L2 segment.
  bool direct_routing = false;
};

// What Sync programs for one other node: the pure part, testable without a kernel.
struct NodeEntries {
  kernel::netlink::Route route;
  std::optional<kernel::netlink::Neighbor> neighbor;  // absent for a direct route
  std::optional<kernel::netlink::Neighbor> fdb;
  friend bool operator==(const NodeEntries&, const NodeEntries&) = default;
};

class VxlanBackend final : public Backend {
 public:
  // The VXLAN encapsulation overhead: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14).
  static constexpr uint32_t kOverhead = 50;

  // InvalidArgument without a netlink or with a bad device name / VNI (24 bits, not 0).
  static base::StatusOr<std::unique_ptr<VxlanBackend>> Create(VxlanOptions options);

  std::string Name() const override { return "vxlan"; }
  base::StatusOr<std::map<std::string, std::string>> Init(const NodeInfo& self) override;
  base::Status Sync(const std::vector<NodeInfo>& others) override;
  uint32_t PodMtu() const override { return underlay_.mtu - kOverhead; }
  // Deletes the device (its routes, neighbours and FDB entries go with it) and the proto-75
  // direct routes on the underlay (on any link when Init has not run in this process).
  base::Status Teardown() override;

  // The entries for one other node, given this node's device and underlay. NotFound when the node
  // has nothing to program yet (no IPv4 podCIDR / InternalIP, or no VTEP MAC and no direct route);
  // InvalidArgument for a malformed annotation or address.
  static base::StatusOr<NodeEntries> EntriesFor(const NodeInfo& node, int device_index,
                                                const Underlay& underlay, bool direct_routing);

 private:
  explicit VxlanBackend(VxlanOptions options) : options_(std::move(options)) {}
  base::StatusOr<kernel::netlink::Link> EnsureDevice(const base::IPAddress& local,
                                                     const std::string& node_name);
  base::Status EnsureAddress(const kernel::netlink::Link& device, const base::Cidr& pod_cidr);
  // Removes what the kernel holds on the device (and proto-75 routes on the underlay) that
  // `desired` does not.
  base::Status RemoveStale(const std::map<std::string, NodeEntries>& desired);
  base::Status Remove(const NodeEntries& e);
  base::Status Apply(const NodeEntries* old_entries, const NodeEntries& e);

  VxlanOptions options_;
  bool initialized_ = false;
  bool synced_ = false;  // the first Sync after Init has run (stale cleanup done)
  Underlay underlay_;
  int device_index_ = 0;
  // What is programmed, by node name.
  std::map<std::string, NodeEntries> applied_;
};

}  // namespace knet::overlay::vxlan
