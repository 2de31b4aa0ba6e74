#include "overlay/hostgw/hostgw.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <set>

namespace knet::overlay::hostgw {

namespace nl = kernel::netlink;
using base::Status;
using base::StatusOr;

StatusOr<std::unique_ptr<HostGwBackend>> HostGwBackend::Create(HostGwOptions options) {
  if (options.netlink == nullptr) return base::InvalidArgumentError("host-gw backend: no netlink");
  return std::unique_ptr<HostGwBackend>(new HostGwBackend(std::move(options)));
}

StatusOr<std::map<std::string, std::string>> HostGwBackend::Init(const NodeInfo& self) {
  const std::string context = "setting up host-gw on node " + self.name;
  // The first InternalIP (IPv4 first) names the underlay; its IPv6 subnets come with it.
  StatusOr<base::IPAddress> ip = FirstV4Address(self.internal_ips, "InternalIP");
  if (!ip.ok()) ip = FirstAddress(self.internal_ips, base::IPFamily::kV6, "InternalIP");
  if (!ip.ok()) return ip.status().WithContext(context);
  StatusOr<Underlay> underlay = FindUnderlay(*options_.netlink, *ip, options_.underlay_interface);
  if (!underlay.ok()) return underlay.status().WithContext(context);
  underlay_ = *underlay;
  initialized_ = true;
  synced_ = false;
  applied_.clear();
  return std::map<std::string, std::string>{
      {std::string(kPublicIpAnnotation), ip->ToString()},
      {std::string(kBackendTypeAnnotation), "host-gw"},
  };
}

StatusOr<nl::Route> HostGwBackend::RouteFor(const NodeInfo& node, const Underlay& underlay,
                                            base::IPFamily family) {
  const std::string context = "node " + node.name;
  StatusOr<base::IPAddress> ip = FirstAddress(node.internal_ips, family, "InternalIP");
  if (!ip.ok()) return ip.status().WithContext(context);
  StatusOr<base::Cidr> cidr = FirstCidr(node.pod_cidrs, family, "podCIDR");
  if (!cidr.ok()) return cidr.status().WithContext(context);
  if (!underlay.Reaches(*ip)) {
    return base::FailedPreconditionError(
        context + " (InternalIP " + ip->ToString() + ", podCIDR " + cidr->ToString() +
        ") is not on this node's L2 segment " + underlay.Describe() +
        ": host-gw needs all nodes on one L2 segment (use the vxlan backend, or vxlan with "
        "DirectRouting); no route installed");
  }
  nl::Route r;
  r.dst = *cidr;
  r.gateway = *ip;
  r.link_index = underlay.link_index;
  r.scope = RT_SCOPE_UNIVERSE;  // as dumps report it, so a desired route equals the kernel's
  r.table = nl::kMainTable;
  r.protocol = kRouteProtocol;
  return r;
}

Status HostGwBackend::Sync(const std::vector<NodeInfo>& others) {
  if (!initialized_) return base::FailedPreconditionError("host-gw backend: Sync before Init");
  nl::Netlink& netlink = *options_.netlink;
  Errors errors;
  // Which nodes are on the segment depends on the underlay's current addresses.
  RETURN_IF_ERROR(RefreshSubnets(netlink, &underlay_).WithContext("host-gw: reading the underlay"));
  std::map<std::string, nl::Route> desired;
  for (const NodeInfo& node : others) {
    for (base::IPFamily family : {base::IPFamily::kV4, base::IPFamily::kV6}) {
      StatusOr<nl::Route> r = RouteFor(node, underlay_, family);
      if (r.ok()) {
        desired[node.name + "/" + std::string(base::IPFamilyName(family))] = *r;
      } else if (r.status().code() != base::StatusCode::kNotFound) {
        errors.Add(r.status());
      }
    }
  }
  if (!synced_) {
    Status s = RemoveStale(desired);
    errors.Add(s, "removing stale host-gw routes");
    synced_ = s.ok();
    applied_.clear();
  }
  for (auto it = applied_.begin(); it != applied_.end();) {
    auto d = desired.find(it->first);
    // Gone, or moved to another podCIDR (a replace of the new one would leave the old).
    if (d != desired.end() && d->second.dst == it->second.dst) {
      ++it;
      continue;
    }
    Status s = IgnoreNotFound(netlink.DeleteRoute(it->second, underlay_.link_name));
    errors.Add(s,
               "removing the host-gw route of node " + it->first.substr(0, it->first.rfind('/')));
    it = s.ok() ? applied_.erase(it) : std::next(it);
  }
  for (const auto& [name, route] : desired) {
    auto old = applied_.find(name);
    if (old != applied_.end() && old->second == route) continue;
    Status s = netlink.ReplaceRoute(route, underlay_.link_name);
    errors.Add(s, "programming node " + name.substr(0, name.rfind('/')));
    if (s.ok()) applied_[name] = route;
  }
  return errors.status();
}

Status HostGwBackend::RemoveStale(const std::map<std::string, nl::Route>& desired) {
  nl::Netlink& netlink = *options_.netlink;
  std::set<base::Cidr> keep;
  for (const auto& [name, r] : desired) keep.insert(r.dst);
  Errors errors;
  for (int family : {AF_INET, AF_INET6}) {
    ASSIGN_OR_RETURN(std::vector<nl::Route> routes,
                     netlink.ListRoutes(static_cast<uint8_t>(family)));
    for (const nl::Route& r : routes) {
      if (r.table != nl::kMainTable || r.protocol != kRouteProtocol) continue;
      // Ours on any link (the underlay may have changed); a desired dst is replaced in place.
      if (keep.count(r.dst) != 0) continue;
      errors.Add(IgnoreNotFound(netlink.Execute({nl::DeleteRouteRequest(r)})));
    }
  }
  return errors.status();
}

Status HostGwBackend::Teardown() {
  Status s = RemoveStale({});
  initialized_ = false;
  synced_ = false;
  applied_.clear();
  return s.WithContext("tearing down host-gw");
}

}  // namespace knet::overlay::hostgw
