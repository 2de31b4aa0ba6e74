#include "kernel/netlink/message.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <sys/socket.h>

#include <cctype>
#include <string>
#include <utility>

namespace knet::kernel::netlink {
namespace {

using base::Status;
using base::StatusOr;

// Every request knet builds is far below this (names are bounded by IFNAMSIZ).
constexpr size_t kMaxRequest = 1024;

// Builds one message in place with libmnl, then hands the bytes to a Request.
class Builder {
 public:
  Builder(uint16_t type, uint16_t flags) : buf_(kMaxRequest, 0) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  }

  template <typename T>
  T* Extra() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T)));
  }
  nlmsghdr* nlh() { return nlh_; }

  void PutIp(uint16_t type, const base::IPAddress& ip) {
    auto b = ip.bytes();
    mnl_attr_put(nlh_, type, b.size(), b.data());
  }
  void PutMac(uint16_t type, const base::MacAddress& mac) {
    mnl_attr_put(nlh_, type, mac.bytes().size(), mac.bytes().data());
  }

  Request Finish(std::string what) && {
    buf_.resize(nlh_->nlmsg_len);
    return Request(std::move(buf_), std::move(what));
  }

 private:
  std::vector<uint8_t> buf_;
  nlmsghdr* nlh_;
};

std::string Dev(int index, std::string_view dev) {
  if (!dev.empty()) return std::string(dev);
  return "link #" + std::to_string(index);
}

uint8_t FamilyOf(const base::IPAddress& ip) {
  return static_cast<uint8_t>(ip.is_v4() ? AF_INET : AF_INET6);
}

ifinfomsg* LinkHeader(Builder& b, int index, uint8_t family = AF_UNSPEC) {
  auto* ifi = b.Extra<ifinfomsg>();
  ifi->ifi_family = family;
  ifi->ifi_index = index;
  return ifi;
}

void PutCommonLinkAttrs(Builder& b, const std::string& name, uint32_t mtu,
                        const std::optional<base::MacAddress>& mac) {
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, name.c_str());
  if (mtu != 0) mnl_attr_put_u32(b.nlh(), IFLA_MTU, mtu);
  if (mac) b.PutMac(IFLA_ADDRESS, *mac);
}

constexpr uint16_t kCreate = NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;

// ---- routes ----

uint8_t DefaultScope(const Route& r) {
  if (r.scope) return *r.scope;
  return (!r.gateway && r.link_index != 0) ? static_cast<uint8_t>(RT_SCOPE_LINK)
                                           : static_cast<uint8_t>(RT_SCOPE_UNIVERSE);
}

std::string RouteWhat(std::string_view verb, const Route& r, std::string_view dev) {
  std::string what = std::string(verb) + " route " + r.dst.ToString();
  if (r.gateway) what += " via " + r.gateway->ToString();
  if (r.link_index != 0 || !dev.empty()) {
    what += (r.gateway ? " dev " : " via ") + Dev(r.link_index, dev);
  }
  if (r.table != kMainTable) what += " table " + std::to_string(r.table);
  return what;
}

Request RouteRequest(uint16_t type, uint16_t flags, std::string_view verb, const Route& r,
                     std::string_view dev) {
  Builder b(type, flags);
  auto* rtm = b.Extra<rtmsg>();
  rtm->rtm_family = FamilyOf(r.dst.network());
  rtm->rtm_dst_len = static_cast<uint8_t>(r.dst.prefix_len());
  if (type == RTM_DELROUTE) {
    // As `ip route del`: any scope, protocol and type match.
    rtm->rtm_scope = RT_SCOPE_NOWHERE;
  } else {
    rtm->rtm_scope = DefaultScope(r);
    rtm->rtm_protocol = r.protocol;
    rtm->rtm_type = r.type;
  }
  if (r.onlink) rtm->rtm_flags |= RTNH_F_ONLINK;
  if (r.table < 256) {
    rtm->rtm_table = static_cast<uint8_t>(r.table);
  } else {
    rtm->rtm_table = RT_TABLE_UNSPEC;
    mnl_attr_put_u32(b.nlh(), RTA_TABLE, r.table);
  }
  if (r.dst.prefix_len() > 0) b.PutIp(RTA_DST, r.dst.network());
  if (r.gateway) b.PutIp(RTA_GATEWAY, *r.gateway);
  if (r.link_index != 0) mnl_attr_put_u32(b.nlh(), RTA_OIF, static_cast<uint32_t>(r.link_index));
  if (r.src) b.PutIp(RTA_PREFSRC, *r.src);
  if (r.metric != 0) mnl_attr_put_u32(b.nlh(), RTA_PRIORITY, r.metric);
  return std::move(b).Finish(RouteWhat(verb, r, dev));
}

// ---- neighbours ----

std::string NeighborWhat(std::string_view verb, const Neighbor& n, std::string_view dev) {
  std::string what(verb);
  if (n.kind == NeighborKind::kFdb) {
    what += " FDB entry " + n.mac.ToString();
    if (n.ip) what += " dst " + n.ip->ToString();
  } else {
    what += " neighbour " + (n.ip ? n.ip->ToString() : std::string("(no address)"));
    what += " lladdr " + n.mac.ToString();
  }
  return what + " on " + Dev(n.link_index, dev);
}

Request NeighborRequest(uint16_t type, uint16_t flags, std::string_view verb, const Neighbor& n,
                        std::string_view dev) {
  Builder b(type, flags);
  auto* ndm = b.Extra<ndmsg>();
  if (n.kind == NeighborKind::kFdb) {
    ndm->ndm_family = AF_BRIDGE;
    ndm->ndm_flags = static_cast<uint8_t>(n.flags | NTF_SELF);
  } else {
    ndm->ndm_family = n.ip ? FamilyOf(*n.ip) : static_cast<uint8_t>(AF_INET);
    ndm->ndm_flags = n.flags;
  }
  ndm->ndm_ifindex = n.link_index;
  ndm->ndm_state = n.state;
  if (n.ip) b.PutIp(NDA_DST, *n.ip);
  if (type != RTM_DELNEIGH || n.kind == NeighborKind::kFdb) b.PutMac(NDA_LLADDR, n.mac);
  return std::move(b).Finish(NeighborWhat(verb, n, dev));
}

// ---- addresses ----

Request AddressRequest(uint16_t type, uint16_t flags, const Address& a, std::string_view what) {
  Builder b(type, flags);
  auto* ifa = b.Extra<ifaddrmsg>();
  ifa->ifa_family = FamilyOf(a.ip);
  ifa->ifa_prefixlen = static_cast<uint8_t>(a.prefix_len);
  ifa->ifa_flags = a.nodad ? static_cast<uint8_t>(IFA_F_NODAD) : 0;
  ifa->ifa_scope = a.scope;
  ifa->ifa_index = static_cast<uint32_t>(a.link_index);
  b.PutIp(IFA_LOCAL, a.ip);
  b.PutIp(IFA_ADDRESS, a.ip);
  if (type == RTM_NEWADDR && a.ip.is_v4() && a.prefix_len < 31) {
    // The subnet's broadcast address, as the reference CNI plugins set it.
    auto net = base::Cidr::MakeMasked(a.ip, a.prefix_len);
    if (net.ok()) b.PutIp(IFA_BROADCAST, net->last());
  }
  return std::move(b).Finish(std::string(what));
}

}  // namespace

Status ValidateLinkName(std::string_view name) {
  bool ok = !name.empty() && name.size() < IFNAMSIZ && name != "." && name != "..";
  for (char c : name) {
    if (c == '/' || c == ':' || c == '\0' || std::isspace(static_cast<unsigned char>(c)))
      ok = false;
  }
  if (!ok) {
    return base::InvalidArgumentError("invalid interface name \"" + std::string(name) +
                                      "\": must be 1-15 bytes without '/', ':' or whitespace");
  }
  return base::OkStatus();
}

StatusOr<Request> NewBridgeRequest(const BridgeSpec& spec) {
  RETURN_IF_ERROR(ValidateLinkName(spec.name).WithContext("creating bridge"));
  Builder b(RTM_NEWLINK, kCreate);
  LinkHeader(b, 0);
  PutCommonLinkAttrs(b, spec.name, spec.mtu, spec.mac);
  nlattr* info = mnl_attr_nest_start(b.nlh(), IFLA_LINKINFO);
  mnl_attr_put_strz(b.nlh(), IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(b.nlh(), info);
  return std::move(b).Finish("creating bridge " + spec.name);
}

StatusOr<Request> NewVethRequest(const VethSpec& spec) {
  const std::string what = "creating veth pair " + spec.name + "/" + spec.peer_name;
  RETURN_IF_ERROR(ValidateLinkName(spec.name).WithContext(what));
  RETURN_IF_ERROR(ValidateLinkName(spec.peer_name).WithContext(what));
  Builder b(RTM_NEWLINK, kCreate);
  LinkHeader(b, 0);
  PutCommonLinkAttrs(b, spec.name, spec.mtu, spec.mac);
  if (spec.netns_fd >= 0) {
    mnl_attr_put_u32(b.nlh(), IFLA_NET_NS_FD, static_cast<uint32_t>(spec.netns_fd));
  }
  nlattr* info = mnl_attr_nest_start(b.nlh(), IFLA_LINKINFO);
  mnl_attr_put_strz(b.nlh(), IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(b.nlh(), IFLA_INFO_DATA);
  // VETH_INFO_PEER holds a whole ifinfomsg followed by the peer's attributes.
  nlattr* peer = mnl_attr_nest_start(b.nlh(), VETH_INFO_PEER);
  LinkHeader(b, 0);
  PutCommonLinkAttrs(b, spec.peer_name, spec.mtu, spec.peer_mac);
  if (spec.peer_netns_fd >= 0) {
    mnl_attr_put_u32(b.nlh(), IFLA_NET_NS_FD, static_cast<uint32_t>(spec.peer_netns_fd));
  }
  mnl_attr_nest_end(b.nlh(), peer);
  mnl_attr_nest_end(b.nlh(), data);
  mnl_attr_nest_end(b.nlh(), info);
  return std::move(b).Finish(what);
}

StatusOr<Request> NewVxlanRequest(const VxlanSpec& spec) {
  const std::string what =
      "creating vxlan " + spec.name + " (VNI " + std::to_string(spec.vni) + ")";
  RETURN_IF_ERROR(ValidateLinkName(spec.name).WithContext(what));
  if (spec.vni >= (1u << 24)) {
    return base::InvalidArgumentError(what + ": VNI must be below 2^24");
  }
  Builder b(RTM_NEWLINK, kCreate);
  LinkHeader(b, 0);
  PutCommonLinkAttrs(b, spec.name, spec.mtu, spec.mac);
  nlattr* info = mnl_attr_nest_start(b.nlh(), IFLA_LINKINFO);
  mnl_attr_put_strz(b.nlh(), IFLA_INFO_KIND, "vxlan");
  nlattr* data = mnl_attr_nest_start(b.nlh(), IFLA_INFO_DATA);
  mnl_attr_put_u32(b.nlh(), IFLA_VXLAN_ID, spec.vni);
  if (spec.local) b.PutIp(spec.local->is_v4() ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, *spec.local);
  if (spec.link_index != 0) {
    mnl_attr_put_u32(b.nlh(), IFLA_VXLAN_LINK, static_cast<uint32_t>(spec.link_index));
  }
  mnl_attr_put_u16(b.nlh(), IFLA_VXLAN_PORT, htons(spec.port));  // network byte order
  mnl_attr_put_u8(b.nlh(), IFLA_VXLAN_LEARNING, spec.learning ? 1 : 0);
  mnl_attr_nest_end(b.nlh(), data);
  mnl_attr_nest_end(b.nlh(), info);
  return std::move(b).Finish(what);
}

Request SetLinkUpRequest(int index, bool up, std::string_view dev) {
  Builder b(RTM_NEWLINK, NLM_F_ACK);
  auto* ifi = LinkHeader(b, index);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = up ? IFF_UP : 0;
  return std::move(b).Finish("setting " + Dev(index, dev) + (up ? " up" : " down"));
}

Request SetMasterRequest(int index, int master_index, std::string_view dev,
                         std::string_view master) {
  Builder b(RTM_NEWLINK, NLM_F_ACK);
  LinkHeader(b, index);
  mnl_attr_put_u32(b.nlh(), IFLA_MASTER, static_cast<uint32_t>(master_index));
  std::string what = master_index == 0
                         ? "detaching " + Dev(index, dev) + " from its bridge"
                         : "attaching " + Dev(index, dev) + " to " + Dev(master_index, master);
  return std::move(b).Finish(std::move(what));
}

Request SetMtuRequest(int index, uint32_t mtu, std::string_view dev) {
  Builder b(RTM_NEWLINK, NLM_F_ACK);
  LinkHeader(b, index);
  mnl_attr_put_u32(b.nlh(), IFLA_MTU, mtu);
  return std::move(b).Finish("setting MTU " + std::to_string(mtu) + " on " + Dev(index, dev));
}

Request SetMacRequest(int index, const base::MacAddress& mac, std::string_view dev) {
  Builder b(RTM_NEWLINK, NLM_F_ACK);
  LinkHeader(b, index);
  b.PutMac(IFLA_ADDRESS, mac);
  return std::move(b).Finish("setting MAC " + mac.ToString() + " on " + Dev(index, dev));
}

Request SetHairpinRequest(int index, bool on, std::string_view dev) {
  Builder b(RTM_SETLINK, NLM_F_ACK);
  LinkHeader(b, index, AF_BRIDGE);
  nlattr* protinfo = mnl_attr_nest_start(b.nlh(), IFLA_PROTINFO);
  mnl_attr_put_u8(b.nlh(), IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(b.nlh(), protinfo);
  return std::move(b).Finish(std::string("turning hairpin mode ") + (on ? "on" : "off") +
                             " for bridge port " + Dev(index, dev));
}

Request DeleteLinkRequest(int index, std::string_view dev) {
  Builder b(RTM_DELLINK, NLM_F_ACK);
  LinkHeader(b, index);
  return std::move(b).Finish("deleting link " + Dev(index, dev));
}

StatusOr<Request> DeleteLinkRequest(std::string_view name) {
  RETURN_IF_ERROR(ValidateLinkName(name).WithContext("deleting link"));
  Builder b(RTM_DELLINK, NLM_F_ACK);
  LinkHeader(b, 0);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, std::string(name).c_str());
  return std::move(b).Finish("deleting link " + std::string(name));
}

Request AddAddressRequest(const Address& address, std::string_view dev) {
  return AddressRequest(
      RTM_NEWADDR, kCreate, address,
      "adding address " + address.ToString() + " to " + Dev(address.link_index, dev));
}

Request DeleteAddressRequest(const Address& address, std::string_view dev) {
  return AddressRequest(
      RTM_DELADDR, NLM_F_ACK, address,
      "deleting address " + address.ToString() + " from " + Dev(address.link_index, dev));
}

Request AddRouteRequest(const Route& route, std::string_view dev) {
  return RouteRequest(RTM_NEWROUTE, kCreate, "adding", route, dev);
}

Request ReplaceRouteRequest(const Route& route, std::string_view dev) {
  return RouteRequest(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, "replacing", route,
                      dev);
}

Request DeleteRouteRequest(const Route& route, std::string_view dev) {
  return RouteRequest(RTM_DELROUTE, NLM_F_ACK, "deleting", route, dev);
}

Request AddNeighborRequest(const Neighbor& neighbor, std::string_view dev) {
  return NeighborRequest(RTM_NEWNEIGH, kCreate, "adding", neighbor, dev);
}

Request ReplaceNeighborRequest(const Neighbor& neighbor, std::string_view dev) {
  return NeighborRequest(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, "replacing",
                         neighbor, dev);
}

Request DeleteNeighborRequest(const Neighbor& neighbor, std::string_view dev) {
  return NeighborRequest(RTM_DELNEIGH, NLM_F_ACK, "deleting", neighbor, dev);
}

Request DumpLinksRequest() {
  Builder b(RTM_GETLINK, NLM_F_DUMP);
  LinkHeader(b, 0);
  return std::move(b).Finish("listing links");
}

StatusOr<Request> GetLinkRequest(std::string_view name) {
  RETURN_IF_ERROR(ValidateLinkName(name).WithContext("getting link"));
  Builder b(RTM_GETLINK, 0);
  LinkHeader(b, 0);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, std::string(name).c_str());
  return std::move(b).Finish("getting link " + std::string(name));
}

Request GetLinkRequest(int index) {
  Builder b(RTM_GETLINK, 0);
  LinkHeader(b, index);
  return std::move(b).Finish("getting link #" + std::to_string(index));
}

Request DumpAddressesRequest(uint8_t family) {
  Builder b(RTM_GETADDR, NLM_F_DUMP);
  b.Extra<ifaddrmsg>()->ifa_family = family;
  return std::move(b).Finish("listing addresses");
}

Request DumpRoutesRequest(uint8_t family) {
  Builder b(RTM_GETROUTE, NLM_F_DUMP);
  b.Extra<rtmsg>()->rtm_family = family;
  return std::move(b).Finish("listing routes");
}

Request DumpNeighborsRequest(NeighborKind kind) {
  Builder b(RTM_GETNEIGH, NLM_F_DUMP);
  b.Extra<ndmsg>()->ndm_family = kind == NeighborKind::kFdb ? AF_BRIDGE : AF_UNSPEC;
  return std::move(b).Finish(kind == NeighborKind::kFdb ? "listing FDB entries"
                                                        : "listing neighbours");
}

}  // namespace knet::kernel::netlink
