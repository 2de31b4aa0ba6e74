// File: overlay/vxlan/underlay.h
//
// The underlay as the rtnetlink backends (vxlan, host-gw) see it: the interface that carries this
// node's InternalIP, its MTU and its connected subnets (which other nodes are on the same L2
// segment), plus the routing protocol number that marks every route knet's overlay installs.
//
//   ASSIGN_OR_RETURN(Underlay u, FindUnderlay(netlink, node_ip));
//   if (u.Reaches(other_ip)) ...   // same L2 segment: a plain route via other_ip works
//
// Shared by overlay_vxlan and overlay_hostgw (it lives here because src/overlay/ itself belongs to
// the lead). Thread-compatible value types; FindUnderlay is as thread-safe as the Netlink.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.h"
#include "base/status.h"
#include "kernel/netlink/netlink.h"

namespace knet::overlay {

// rtm_protocol of the routes knet's overlay backends install ("proto 75" in `ip route`; 0x4b,
// 'K'). Unused by iproute2's rt_protos and by the daemons it lists (zebra 11, bird 12, babel 42,
// openr 99, bgp 186...; Calico uses 80), so after a restart a backend recognises its own routes
// and removes the stale ones without touching anybody else's.
inline constexpr uint8_t kRouteProtocol = 75;

// Annotation keys a node publishes (flannel's are flannel.alpha.coreos.com/...).
inline constexpr std::string_view kVtepMacAnnotation = "knet.io/vtep-mac";
inline constexpr std::string_view kPublicIpAnnotation = "knet.io/public-ip";
inline constexpr std::string_view kBackendTypeAnnotation = "knet.io/backend-type";

struct Underlay {
  int link_index = 0;
  std::string link_name;
  uint32_t mtu = 0;
  base::IPAddress ip;               // this node's address on it
  std::vector<base::Cidr> subnets;  // connected subnets of the link (its addresses' prefixes)

  // True when `ip` is inside one of the connected subnets: reachable without a router, so a
  // route "via ip dev link" works (flannel's host-gw and DirectRouting precondition).
  bool Reaches(const base::IPAddress& other) const;
  // "eth0 (192.168.1.0/24)" for messages.
  std::string Describe() const;
};

// Finds the link holding `node_ip` (or, if `link_name` is not empty, that link, which must exist).
// NotFound when no link holds the address ("no interface has address 10.0.0.1").
base::StatusOr<Underlay> FindUnderlay(kernel::netlink::Netlink& netlink,
                                      const base::IPAddress& node_ip,
                                      std::string_view link_name = {});

// Re-reads the connected subnets of `underlay`'s link (addresses may come and go after Init).
base::Status RefreshSubnets(kernel::netlink::Netlink& netlink, Underlay* underlay);

// The first entry of `family` in `values` parsed as an address / a prefix; NotFound if there is
// none; InvalidArgument naming `what` when an entry does not parse.
base::StatusOr<base::IPAddress> FirstAddress(const std::vector<std::string>& values,
                                             base::IPFamily family, std::string_view what);
base::StatusOr<base::Cidr> FirstCidr(const std::vector<std::string>& values, base::IPFamily family,
                                     std::string_view what);
inline base::StatusOr<base::IPAddress> FirstV4Address(const std::vector<std::string>& values,
                                                      std::string_view what) {
  return FirstAddress(values, base::IPFamily::kV4, what);
}
inline base::StatusOr<base::Cidr> FirstV4Cidr(const std::vector<std::string>& values,
                                              std::string_view what) {
  return FirstCidr(values, base::IPFamily::kV4, what);
}

// Collects the errors of independent steps (one per node) into one status: the first error's code
// and every message, "; "-separated.
class Errors {
 public:
  void Add(const base::Status& s, std::string_view context = {});
  bool ok() const { return first_.ok(); }
  base::Status status() const;

 private:
  base::Status first_;
  std::string messages_;
};

// Deletes, ignoring NotFound (already gone): idempotent removal.
base::Status IgnoreNotFound(base::Status s);

}  // namespace knet::overlay
