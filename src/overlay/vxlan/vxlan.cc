#include "overlay/vxlan/vxlan.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <set>
#include <utility>

namespace knet::overlay::vxlan {

namespace nl = kernel::netlink;
using base::Status;
using base::StatusOr;

namespace {

nl::Route OverlayRoute(const base::Cidr& dst, const base::IPAddress& via, int link, bool onlink) {
  nl::Route r;
  r.dst = dst;
  r.gateway = via;
  r.link_index = link;
  r.onlink = onlink;
  r.scope = RT_SCOPE_UNIVERSE;  // as dumps report it, so a desired route equals the kernel's
  r.table = nl::kMainTable;
  r.protocol = kRouteProtocol;
  return r;
}

// Runs each request on its own, so a delete of something already gone (NotFound) does not hide
// the result of the others.
Status Delete(nl::Netlink& netlink, const nl::Request& request) {
  return IgnoreNotFound(netlink.Execute({request}));
}

}  // namespace

StatusOr<std::unique_ptr<VxlanBackend>> VxlanBackend::Create(VxlanOptions options) {
  if (options.netlink == nullptr) return base::InvalidArgumentError("vxlan backend: no netlink");
  RETURN_IF_ERROR(nl::ValidateLinkName(options.device).WithContext("vxlan backend: device name"));
  if (options.vni == 0 || options.vni > 0xffffff) {
    return base::InvalidArgumentError("vxlan backend: VNI " + std::to_string(options.vni) +
                                      " is outside 1-16777215");
  }
  if (options.port == 0) return base::InvalidArgumentError("vxlan backend: UDP port 0");
  return std::unique_ptr<VxlanBackend>(new VxlanBackend(std::move(options)));
}

StatusOr<std::map<std::string, std::string>> VxlanBackend::Init(const NodeInfo& self) {
  const std::string context = "setting up vxlan on node " + self.name;
  StatusOr<base::IPAddress> ip = FirstV4Address(self.internal_ips, "InternalIP");
  if (!ip.ok()) return ip.status().WithContext(context);
  StatusOr<base::Cidr> pod_cidr = FirstV4Cidr(self.pod_cidrs, "podCIDR");
  if (!pod_cidr.ok()) return pod_cidr.status().WithContext(context);
  StatusOr<Underlay> underlay = FindUnderlay(*options_.netlink, *ip, options_.underlay_interface);
  if (!underlay.ok()) return underlay.status().WithContext(context);
  if (underlay->mtu <= kOverhead + 68) {
    return base::FailedPreconditionError(context + ": underlay " + underlay->link_name + " MTU " +
                                         std::to_string(underlay->mtu) +
                                         " leaves no room for VXLAN");
  }
  underlay_ = *underlay;
  StatusOr<nl::Link> device = EnsureDevice(*ip, self.name);
  if (!device.ok()) return device.status().WithContext(context);
  RETURN_IF_ERROR(EnsureAddress(*device, *pod_cidr).WithContext(context));
  if (!device->up()) RETURN_IF_ERROR(options_.netlink->SetLinkUp(*device).WithContext(context));
  device_index_ = device->index;
  initialized_ = true;
  // The next Sync reconciles against the kernel (the device may be new, or adopted with entries).
  synced_ = false;
  applied_.clear();
  return std::map<std::string, std::string>{
      {std::string(kVtepMacAnnotation), device->mac.ToString()},
      {std::string(kPublicIpAnnotation), ip->ToString()},
      {std::string(kBackendTypeAnnotation), "vxlan"},
  };
}

StatusOr<nl::Link> VxlanBackend::EnsureDevice(const base::IPAddress& local,
                                              const std::string& node_name) {
  nl::Netlink& netlink = *options_.netlink;
  const uint32_t mtu = underlay_.mtu - kOverhead;
  StatusOr<nl::Link> existing = netlink.GetLink(options_.device);
  if (existing.ok()) {
    const std::optional<nl::VxlanInfo>& v = existing->vxlan;
    bool same = existing->kind == "vxlan" && v && v->vni == options_.vni && v->local == local &&
                v->port == options_.port && !v->learning && v->link_index == underlay_.link_index;
    if (same) {
      // Adopted as it is: its MAC is what the other nodes' FDB entries point at.
      if (existing->mtu != mtu) RETURN_IF_ERROR(netlink.SetMtu(*existing, mtu));
      existing->mtu = mtu;
      return existing;
    }
    // Settings changed (flannel does the same: delete and recreate with the new ones).
    RETURN_IF_ERROR(IgnoreNotFound(netlink.DeleteLink(options_.device)));
  } else if (existing.status().code() != base::StatusCode::kNotFound) {
    return existing.status();
  }
  nl::VxlanSpec spec;
  spec.name = options_.device;
  spec.vni = options_.vni;
  spec.local = local;
  spec.port = options_.port;
  spec.learning = false;
  spec.link_index = underlay_.link_index;
  spec.mtu = mtu;
  // Derived from the node and device names: a recreated device keeps its MAC, so the other nodes'
  // neighbour and FDB entries stay right.
  spec.mac = base::MacAddress::DeriveLocal("knet-vxlan/" + node_name + "/" + options_.device);
  RETURN_IF_ERROR(netlink.CreateVxlan(spec));
  return netlink.GetLink(options_.device);
}

Status VxlanBackend::EnsureAddress(const nl::Link& device, const base::Cidr& pod_cidr) {
  nl::Netlink& netlink = *options_.netlink;
  nl::Address want;
  want.link_index = device.index;
  want.ip = pod_cidr.network();
  want.prefix_len = 32;
  ASSIGN_OR_RETURN(std::vector<nl::Address> have, netlink.ListLinkAddresses(device.index, AF_INET));
  bool present = false;
  for (const nl::Address& a : have) {
    if (a.ip == want.ip && a.prefix_len == want.prefix_len) {
      present = true;
    } else {
      // A podCIDR this node no longer has.
      RETURN_IF_ERROR(IgnoreNotFound(netlink.DeleteAddress(a, device.name)));
    }
  }
  if (present) return base::OkStatus();
  Status s = netlink.AddAddress(want, device.name);
  return s.code() == base::StatusCode::kAlreadyExists ? base::OkStatus() : s;
}

StatusOr<NodeEntries> VxlanBackend::EntriesFor(const NodeInfo& node, int device_index,
                                               const Underlay& underlay, bool direct_routing) {
  const std::string context = "node " + node.name;
  StatusOr<base::IPAddress> ip = FirstV4Address(node.internal_ips, "InternalIP");
  if (!ip.ok()) return ip.status().WithContext(context);
  StatusOr<base::Cidr> cidr = FirstV4Cidr(node.pod_cidrs, "podCIDR");
  if (!cidr.ok()) return cidr.status().WithContext(context);
  NodeEntries e;
  if (direct_routing && underlay.Reaches(*ip)) {
    e.route = OverlayRoute(*cidr, *ip, underlay.link_index, false);
    return e;
  }
  auto it = node.annotations.find(std::string(kVtepMacAnnotation));
  if (it == node.annotations.end()) {
    return base::NotFoundError(context + " has not published " + std::string(kVtepMacAnnotation) +
                               " yet");
  }
  StatusOr<base::MacAddress> mac = base::MacAddress::Parse(it->second);
  if (!mac.ok()) return mac.status().WithContext(context + ": " + std::string(kVtepMacAnnotation));
  const base::IPAddress vtep = cidr->network();
  e.route = OverlayRoute(*cidr, vtep, device_index, true);
  nl::Neighbor neighbor;
  neighbor.kind = nl::NeighborKind::kIp;
  neighbor.link_index = device_index;
  neighbor.ip = vtep;
  neighbor.mac = *mac;
  neighbor.state = NUD_PERMANENT;
  e.neighbor = neighbor;
  nl::Neighbor fdb = neighbor;
  fdb.kind = nl::NeighborKind::kFdb;
  fdb.ip = *ip;
  e.fdb = fdb;
  return e;
}

Status VxlanBackend::Sync(const std::vector<NodeInfo>& others) {
  if (!initialized_) return base::FailedPreconditionError("vxlan backend: Sync before Init");
  Errors errors;
  if (options_.direct_routing) {
    // Which nodes are on the segment depends on the underlay's current addresses.
    RETURN_IF_ERROR(
        RefreshSubnets(*options_.netlink, &underlay_).WithContext("vxlan: reading the underlay"));
  }
  std::map<std::string, NodeEntries> desired;
  for (const NodeInfo& node : others) {
    StatusOr<NodeEntries> e = EntriesFor(node, device_index_, underlay_, options_.direct_routing);
    if (e.ok()) {
      desired[node.name] = *e;
    } else if (e.status().code() != base::StatusCode::kNotFound) {
      // Not yet ready (NotFound) is normal for a joining node; anything else is worth saying.
      errors.Add(e.status());
    }
  }
  if (!synced_) {
    Status s = RemoveStale(desired);
    errors.Add(s, "removing stale vxlan entries");
    synced_ = s.ok();
    applied_.clear();  // everything desired is (re)applied below, in place
  }
  for (auto it = applied_.begin(); it != applied_.end();) {
    if (desired.count(it->first) != 0) {
      ++it;
      continue;
    }
    Status s = Remove(it->second);
    errors.Add(s, "removing the vxlan entries of node " + it->first);
    it = s.ok() ? applied_.erase(it) : std::next(it);
  }
  for (const auto& [name, e] : desired) {
    auto old = applied_.find(name);
    if (old != applied_.end() && old->second == e) continue;
    Status s = Apply(old == applied_.end() ? nullptr : &old->second, e);
    errors.Add(s, "programming node " + name);
    if (s.ok()) applied_[name] = e;
  }
  return errors.status();
}

Status VxlanBackend::Apply(const NodeEntries* old, const NodeEntries& e) {
  nl::Netlink& netlink = *options_.netlink;
  // The new state first (neighbour and FDB before the route that needs them, as flannel does),
  // replacing in place, then whatever of the old state the new one did not overwrite.
  std::vector<nl::Request> adds;
  if (e.neighbor) adds.push_back(nl::ReplaceNeighborRequest(*e.neighbor, options_.device));
  if (e.fdb) adds.push_back(nl::ReplaceNeighborRequest(*e.fdb, options_.device));
  adds.push_back(nl::ReplaceRouteRequest(
      e.route, e.route.link_index == device_index_ ? options_.device : underlay_.link_name));
  RETURN_IF_ERROR(netlink.Execute(adds));
  if (old == nullptr) return base::OkStatus();
  Errors errors;
  if (old->route.dst != e.route.dst) {
    errors.Add(Delete(netlink, nl::DeleteRouteRequest(old->route)));
  }
  if (old->neighbor && (!e.neighbor || old->neighbor->ip != e.neighbor->ip)) {
    errors.Add(Delete(netlink, nl::DeleteNeighborRequest(*old->neighbor, options_.device)));
  }
  if (old->fdb && (!e.fdb || old->fdb->mac != e.fdb->mac || old->fdb->ip != e.fdb->ip)) {
    errors.Add(Delete(netlink, nl::DeleteNeighborRequest(*old->fdb, options_.device)));
  }
  return errors.status();
}

Status VxlanBackend::Remove(const NodeEntries& e) {
  nl::Netlink& netlink = *options_.netlink;
  Errors errors;
  errors.Add(Delete(netlink, nl::DeleteRouteRequest(e.route)));
  if (e.neighbor) {
    errors.Add(Delete(netlink, nl::DeleteNeighborRequest(*e.neighbor, options_.device)));
  }
  if (e.fdb) errors.Add(Delete(netlink, nl::DeleteNeighborRequest(*e.fdb, options_.device)));
  return errors.status();
}

Status VxlanBackend::RemoveStale(const std::map<std::string, NodeEntries>& desired) {
  nl::Netlink& netlink = *options_.netlink;
  std::set<base::Cidr> routes;
  std::set<base::IPAddress> neighbors;
  std::set<std::pair<base::MacAddress, base::IPAddress>> fdbs;
  for (const auto& [name, e] : desired) {
    routes.insert(e.route.dst);
    if (e.neighbor) neighbors.insert(*e.neighbor->ip);
    if (e.fdb) fdbs.emplace(e.fdb->mac, *e.fdb->ip);
  }
  Errors errors;
  ASSIGN_OR_RETURN(std::vector<nl::Route> have_routes, netlink.ListRoutes(AF_INET));
  for (const nl::Route& r : have_routes) {
    if (r.table != nl::kMainTable || r.type != RTN_UNICAST) continue;
    bool ours = (r.link_index == device_index_ && r.protocol != RTPROT_KERNEL) ||
                (r.link_index == underlay_.link_index && r.protocol == kRouteProtocol);
    // A route to a desired podCIDR is replaced in place by Apply: no gap in traffic.
    if (ours && routes.count(r.dst) == 0) {
      errors.Add(Delete(netlink, nl::DeleteRouteRequest(r)));
    }
  }
  ASSIGN_OR_RETURN(std::vector<nl::Neighbor> have_neighbors,
                   netlink.ListNeighbors(nl::NeighborKind::kIp));
  for (const nl::Neighbor& n : have_neighbors) {
    if (n.link_index != device_index_ || !n.ip || !n.ip->is_v4()) continue;
    if ((n.state & NUD_PERMANENT) == 0 || neighbors.count(*n.ip) != 0) continue;
    errors.Add(Delete(netlink, nl::DeleteNeighborRequest(n, options_.device)));
  }
  ASSIGN_OR_RETURN(std::vector<nl::Neighbor> have_fdb,
                   netlink.ListNeighbors(nl::NeighborKind::kFdb));
  for (const nl::Neighbor& n : have_fdb) {
    // Entries without a remote are the device's own (multicast) addresses, not ours.
    if (n.link_index != device_index_ || !n.ip) continue;
    if (fdbs.count({n.mac, *n.ip}) != 0) continue;
    errors.Add(Delete(netlink, nl::DeleteNeighborRequest(n, options_.device)));
  }
  return errors.status();
}

Status VxlanBackend::Teardown() {
  nl::Netlink& netlink = *options_.netlink;
  Errors errors;
  // The device takes its routes, neighbours and FDB entries with it; direct routes go via the
  // underlay and are removed one by one (found by their protocol, so also after a restart).
  errors.Add(IgnoreNotFound(netlink.DeleteLink(options_.device)), "deleting " + options_.device);
  // Without Init (e.g. a cleanup run) the underlay is unknown: every proto-75 route is ours.
  StatusOr<std::vector<nl::Route>> routes = netlink.ListRoutes(AF_INET);
  errors.Add(routes.status());
  if (routes.ok()) {
    for (const nl::Route& r : *routes) {
      if (r.table == nl::kMainTable && r.protocol == kRouteProtocol &&
          (underlay_.link_index == 0 || r.link_index == underlay_.link_index)) {
        errors.Add(Delete(netlink, nl::DeleteRouteRequest(r)));
      }
    }
  }
  initialized_ = false;
  synced_ = false;
  applied_.clear();
  return errors.status();
}

}  // namespace knet::overlay::vxlan
