#include "kernel/netlink/fake_netlink.h"

#include <linux/if_link.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace knet::kernel::netlink {
namespace {

using base::Status;
using base::StatusOr;

static_assert(!std::is_abstract_v<FakeNetlink>, "FakeNetlink implements Netlink");

uint8_t FamilyOf(const base::IPAddress& ip) {
  return static_cast<uint8_t>(ip.is_v4() ? AF_INET : AF_INET6);
}

bool SameRouteKey(const Route& a, const Route& b) {
  return a.dst == b.dst && a.table == b.table && a.metric == b.metric;
}

bool SameNeighborKey(const Neighbor& a, const Neighbor& b) {
  if (a.kind != b.kind || a.link_index != b.link_index || a.ip != b.ip) return false;
  return a.kind == NeighborKind::kIp || a.mac == b.mac;
}

// The scope the kernel would store (see Route::scope).
uint8_t EffectiveScope(const Route& r) {
  if (r.scope) return *r.scope;
  return (!r.gateway && r.link_index != 0) ? static_cast<uint8_t>(RT_SCOPE_LINK)
                                           : static_cast<uint8_t>(RT_SCOPE_UNIVERSE);
}

}  // namespace

std::mutex& FakeNetlink::Mu() {
  static std::mutex mu;
  return mu;
}

FakeNetlink::FakeNetlink() {
  Link lo;
  lo.index = 1;
  lo.name = "lo";
  lo.mtu = 65536;
  lo.flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  state_.links[1] = lo;
}

void FakeNetlink::AddNamespace(int netns_fd, FakeNetlink* other) {
  std::lock_guard<std::mutex> lock(Mu());
  namespaces_[netns_fd] = other;
}

void FakeNetlink::FailNext(std::string substring, int err) {
  std::lock_guard<std::mutex> lock(Mu());
  failures_.emplace_back(std::move(substring), err);
}

std::vector<Request> FakeNetlink::requests() const {
  std::lock_guard<std::mutex> lock(Mu());
  return log_;
}

Status FakeNetlink::Execute(std::span<const Request> requests) {
  std::lock_guard<std::mutex> lock(Mu());
  Status first;
  for (const Request& r : requests) {
    log_.push_back(r);
    int err = 0;
    auto armed = std::find_if(failures_.begin(), failures_.end(), [&](const auto& f) {
      return r.what().find(f.first) != std::string::npos;
    });
    if (armed != failures_.end()) {
      err = armed->second;
      failures_.erase(armed);
    } else {
      err = r.valid() ? Apply(r) : EINVAL;
    }
    if (err != 0 && first.ok()) first = NetlinkError(err, r.what());
  }
  return first;
}

int FakeNetlink::Apply(const Request& r) {
  switch (r.type()) {
    case RTM_NEWLINK:
    case RTM_SETLINK:
    case RTM_DELLINK:
      return ApplyLink(r);
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return ApplyAddress(r);
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return ApplyRoute(r);
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH:
      return ApplyNeighbor(r);
    default:
      return EOPNOTSUPP;
  }
}

Link* FakeNetlink::FindLink(std::string_view name) {
  for (auto& [index, link] : state_.links) {
    if (link.name == name) return &link;
  }
  return nullptr;
}

Link* FakeNetlink::FindLink(int index) {
  auto it = state_.links.find(index);
  return it == state_.links.end() ? nullptr : &it->second;
}

FakeNetlink* FakeNetlink::NamespaceFor(int netns_fd) {
  if (netns_fd < 0) return this;
  auto it = namespaces_.find(netns_fd);
  return it == namespaces_.end() ? nullptr : it->second;
}

int FakeNetlink::AddLink(Link link) {
  link.index = state_.next_index++;
  if (link.mtu == 0) link.mtu = 1500;
  if (link.mac.IsZero()) {
    link.mac = base::MacAddress::DeriveLocal(link.name + "/" + std::to_string(link.index));
  }
  link.flags &= ~static_cast<uint32_t>(IFF_UP);  // new links start down
  int index = link.index;
  state_.links[index] = std::move(link);
  return index;
}

int FakeNetlink::ApplyLink(const Request& r) {
  auto parsed = ParseLinkMessages(r.bytes());
  if (!parsed.ok() || parsed->size() != 1) return EINVAL;
  const LinkMessage& m = parsed->front();
  if (m.type == RTM_DELLINK) {
    Link* link = m.link.index != 0 ? FindLink(m.link.index) : FindLink(m.link.name);
    if (link == nullptr) return ENODEV;
    RemoveLink(link->index);
    return 0;
  }
  if (m.type == RTM_NEWLINK && (m.flags & NLM_F_CREATE) != 0 && !m.link.kind.empty()) {
    return CreateLink(m);
  }
  return ChangeLink(m);
}

int FakeNetlink::CreateLink(const LinkMessage& m) {
  FakeNetlink* home = NamespaceFor(m.netns_fd);
  if (home == nullptr) return EBADF;
  if (home->FindLink(m.link.name) != nullptr) return EEXIST;
  if (m.link.kind == "veth") {
    if (m.veth_peer.empty()) return EINVAL;
    const LinkMessage& p = m.veth_peer.front();
    FakeNetlink* peer_home = NamespaceFor(p.netns_fd);
    if (peer_home == nullptr) return EBADF;
    if (peer_home->FindLink(p.link.name) != nullptr) return EEXIST;
    if (peer_home == home && p.link.name == m.link.name) return EEXIST;
    Link a = m.link, b = p.link;
    a.kind = b.kind = "veth";
    if (b.mtu == 0) b.mtu = a.mtu;
    int ia = home->AddLink(a);
    int ib = peer_home->AddLink(b);
    home->state_.links[ia].peer_index = ib;
    home->state_.peer_namespace[ia] = peer_home;
    peer_home->state_.links[ib].peer_index = ia;
    peer_home->state_.peer_namespace[ib] = home;
    return 0;
  }
  if (m.link.vxlan && m.link.vxlan->link_index != 0 &&
      home->FindLink(m.link.vxlan->link_index) == nullptr) {
    return ENODEV;
  }
  home->AddLink(m.link);
  return 0;
}

int FakeNetlink::ChangeLink(const LinkMessage& m) {
  Link* link = m.link.index != 0 ? FindLink(m.link.index) : FindLink(m.link.name);
  if (link == nullptr) return ENODEV;
  if (m.family == AF_BRIDGE) {
    if (!m.hairpin) return 0;
    Link* bridge = FindLink(link->master_index);
    if (bridge == nullptr || bridge->kind != "bridge") return EOPNOTSUPP;
    link->hairpin = *m.hairpin;
    return 0;
  }
  if (m.master) {
    if (*m.master != 0) {
      Link* bridge = FindLink(*m.master);
      if (bridge == nullptr) return ENODEV;
      if (bridge->kind != "bridge" || bridge->index == link->index) return EOPNOTSUPP;
    }
    link->master_index = *m.master;
    if (*m.master == 0) link->hairpin = false;
  }
  if (m.link.flags != 0 || m.change != 0) {
    // As rtnl_dev_combine_flags: a zero ifi_change means every flag.
    uint32_t change = m.change != 0 ? m.change : ~0u;
    link->flags = (link->flags & ~change) | (m.link.flags & change);
  }
  if (m.link.mtu != 0) link->mtu = m.link.mtu;
  if (m.mac) link->mac = *m.mac;
  return 0;
}

void FakeNetlink::RemoveLink(int index) {
  auto it = state_.links.find(index);
  if (it == state_.links.end()) return;
  Link link = it->second;
  state_.links.erase(it);
  std::erase_if(state_.addresses, [&](const Address& a) { return a.link_index == index; });
  std::erase_if(state_.routes, [&](const Route& r) { return r.link_index == index; });
  std::erase_if(state_.neighbors, [&](const Neighbor& n) { return n.link_index == index; });
  for (auto& [i, port] : state_.links) {
    if (port.master_index == index) {
      port.master_index = 0;
      port.hairpin = false;
    }
  }
  auto peer = state_.peer_namespace.find(index);
  if (peer != state_.peer_namespace.end()) {
    FakeNetlink* other = peer->second;
    state_.peer_namespace.erase(peer);
    other->state_.peer_namespace.erase(link.peer_index);
    other->RemoveLink(link.peer_index);
  }
}

int FakeNetlink::ApplyAddress(const Request& r) {
  auto parsed = ParseAddressMessages(r.bytes());
  if (!parsed.ok() || parsed->size() != 1) return EINVAL;
  const Address& a = parsed->front().value;
  auto same = [&](const Address& b) {
    return b.link_index == a.link_index && b.ip == a.ip && b.prefix_len == a.prefix_len;
  };
  auto it = std::find_if(state_.addresses.begin(), state_.addresses.end(), same);
  if (r.type() == RTM_DELADDR) {
    if (it == state_.addresses.end()) return EADDRNOTAVAIL;
    state_.addresses.erase(it);
    return 0;
  }
  if (FindLink(a.link_index) == nullptr) return ENODEV;
  if (it != state_.addresses.end()) {
    if ((r.flags() & NLM_F_EXCL) != 0) return EEXIST;
    *it = a;
    return 0;
  }
  state_.addresses.push_back(a);
  return 0;
}

int FakeNetlink::ApplyRoute(const Request& r) {
  auto parsed = ParseRouteMessages(r.bytes());
  if (!parsed.ok() || parsed->size() != 1) return EINVAL;
  Route route = parsed->front().value;
  if (r.type() == RTM_DELROUTE) {
    auto it = std::find_if(state_.routes.begin(), state_.routes.end(), [&](const Route& x) {
      return x.dst == route.dst && x.table == route.table &&
             (!route.gateway || x.gateway == route.gateway) &&
             (route.link_index == 0 || x.link_index == route.link_index) &&
             (route.metric == 0 || x.metric == route.metric);
    });
    if (it == state_.routes.end()) return ESRCH;
    state_.routes.erase(it);
    return 0;
  }
  if (route.link_index != 0 && FindLink(route.link_index) == nullptr) return ENODEV;
  if (!route.gateway && route.link_index == 0 && route.type == RTN_UNICAST) return EINVAL;
  if (route.gateway && route.gateway->family() != route.dst.family()) return EINVAL;
  route.scope = EffectiveScope(route);
  auto it = std::find_if(state_.routes.begin(), state_.routes.end(),
                         [&](const Route& x) { return SameRouteKey(x, route); });
  if (it != state_.routes.end()) {
    if ((r.flags() & NLM_F_EXCL) != 0 || (r.flags() & NLM_F_REPLACE) == 0) return EEXIST;
    *it = route;
    return 0;
  }
  if ((r.flags() & NLM_F_CREATE) == 0) return ENOENT;
  state_.routes.push_back(route);
  return 0;
}

int FakeNetlink::ApplyNeighbor(const Request& r) {
  auto parsed = ParseNeighborMessages(r.bytes());
  if (!parsed.ok() || parsed->size() != 1) return EINVAL;
  const Neighbor& n = parsed->front().value;
  if (n.kind == NeighborKind::kIp && !n.ip) return EINVAL;
  auto it = std::find_if(state_.neighbors.begin(), state_.neighbors.end(),
                         [&](const Neighbor& x) { return SameNeighborKey(x, n); });
  if (r.type() == RTM_DELNEIGH) {
    if (it == state_.neighbors.end()) return ENOENT;
    state_.neighbors.erase(it);
    return 0;
  }
  if (FindLink(n.link_index) == nullptr) return ENODEV;
  if (it != state_.neighbors.end()) {
    if ((r.flags() & NLM_F_EXCL) != 0 || (r.flags() & NLM_F_REPLACE) == 0) return EEXIST;
    *it = n;
    return 0;
  }
  if ((r.flags() & NLM_F_CREATE) == 0) return ENOENT;
  state_.neighbors.push_back(n);
  return 0;
}

StatusOr<std::vector<Link>> FakeNetlink::ListLinks() {
  std::lock_guard<std::mutex> lock(Mu());
  std::vector<Link> out;
  for (const auto& [index, link] : state_.links) out.push_back(link);
  return out;
}

StatusOr<Link> FakeNetlink::GetLink(std::string_view name) {
  std::lock_guard<std::mutex> lock(Mu());
  Link* link = FindLink(name);
  if (link == nullptr) return NetlinkError(ENODEV, "getting link " + std::string(name));
  return *link;
}

StatusOr<Link> FakeNetlink::GetLink(int index) {
  std::lock_guard<std::mutex> lock(Mu());
  Link* link = FindLink(index);
  if (link == nullptr) return NetlinkError(ENODEV, "getting link #" + std::to_string(index));
  return *link;
}

StatusOr<std::vector<Address>> FakeNetlink::ListAddresses(uint8_t family) {
  std::lock_guard<std::mutex> lock(Mu());
  std::vector<Address> out;
  for (const Address& a : state_.addresses) {
    if (family == AF_UNSPEC || FamilyOf(a.ip) == family) out.push_back(a);
  }
  return out;
}

StatusOr<std::vector<Route>> FakeNetlink::ListRoutes(uint8_t family) {
  std::lock_guard<std::mutex> lock(Mu());
  std::vector<Route> out;
  for (const Route& r : state_.routes) {
    if (family == AF_UNSPEC || FamilyOf(r.dst.network()) == family) out.push_back(r);
  }
  return out;
}

StatusOr<std::vector<Neighbor>> FakeNetlink::ListNeighbors(NeighborKind kind) {
  std::lock_guard<std::mutex> lock(Mu());
  std::vector<Neighbor> out;
  for (const Neighbor& n : state_.neighbors) {
    if (n.kind == kind) out.push_back(n);
  }
  return out;
}

}  // namespace knet::kernel::netlink
