// File: overlay/hostgw/hostgw.h
//
// HostGwBackend: flannel's host-gw. No encapsulation: for every other node,
//   ip route replace <its podCIDR> via <its InternalIP> dev <underlay> proto 75
// which only works when every node is on one L2 segment (the gateway must be directly reachable).
// A node whose InternalIP is outside the underlay's connected subnets is skipped, and Sync returns
// an error naming it (no broken route is installed). Routes carry protocol 75 (kRouteProtocol,
// underlay.h), so after a restart the first Sync finds and removes those of nodes that are gone.
//
//   ASSIGN_OR_RETURN(auto backend, HostGwBackend::Create({.netlink = &nl}));
//   ASSIGN_OR_RETURN(auto annotations, backend->Init(self));
//   RETURN_IF_ERROR(backend->Sync(others));
//
// Dual-stack: an IPv6 podCIDR gets a route via the node's IPv6 InternalIP, under the same rule.
// Not thread-safe (the overlay Manager calls it from one thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernel/netlink/netlink.h"
#include "overlay/overlay.h"
#include "overlay/vxlan/underlay.h"

namespace knet::overlay::hostgw {

struct HostGwOptions {
  kernel::netlink::Netlink* netlink = nullptr;  // required; must outlive the backend
  // The underlay interface; empty: the one holding the node's InternalIP.
  std::string underlay_interface;
};

class HostGwBackend final : public Backend {
 public:
  // InvalidArgument without a netlink.
  static base::StatusOr<std::unique_ptr<HostGwBackend>> Create(HostGwOptions options);

  std::string Name() const override { return "host-gw"; }
  // Finds the underlay; publishes knet.io/public-ip and knet.io/backend-type. Changes nothing.
  base::StatusOr<std::map<std::string, std::string>> Init(const NodeInfo& self) override;
  base::Status Sync(const std::vector<NodeInfo>& others) override;
  uint32_t PodMtu() const override { return underlay_.mtu; }
  // Removes every proto-75 route (IPv4 and IPv6).
  base::Status Teardown() override;

  // The route of `family` to one other node. NotFound when it has no podCIDR / InternalIP of
  // that family; FailedPrecondition when its InternalIP is not on the underlay's segment;
  // InvalidArgument for a malformed address.
  static base::StatusOr<kernel::netlink::Route> RouteFor(
      const NodeInfo& node, const Underlay& underlay, base::IPFamily family = base::IPFamily::kV4);

 private:
  explicit HostGwBackend(HostGwOptions options) : options_(std::move(options)) {}
  base::Status RemoveStale(const std::map<std::string, kernel::netlink::Route>& desired);

  HostGwOptions options_;
  bool initialized_ = false;
  bool synced_ = false;
  Underlay underlay_;
  std::map<std::string, kernel::netlink::Route> applied_;  // by "<node name>/<IPv4|IPv6>"
};

}  // namespace knet::overlay::hostgw
