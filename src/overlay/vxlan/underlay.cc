#include "overlay/vxlan/underlay.h"

#include <sys/socket.h>

namespace knet::overlay {

namespace nl = kernel::netlink;

bool Underlay::Reaches(const base::IPAddress& other) const {
  for (const base::Cidr& c : subnets) {
    // A /32 (or /128) holds only our own address: nothing else is on-link through it.
    if (c.HostBits() > 0 && c.Contains(other)) return true;
  }
  return false;
}

std::string Underlay::Describe() const {
  std::string out = link_name + " (";
  for (size_t i = 0; i < subnets.size(); ++i) {
    if (i > 0) out += ", ";
    out += subnets[i].ToString();
  }
  return out + ")";
}

base::StatusOr<Underlay> FindUnderlay(nl::Netlink& netlink, const base::IPAddress& node_ip,
                                      std::string_view link_name) {
  ASSIGN_OR_RETURN(std::vector<nl::Address> addresses, netlink.ListAddresses(AF_UNSPEC));
  int index = 0;
  if (!link_name.empty()) {
    base::StatusOr<nl::Link> link = netlink.GetLink(link_name);
    if (!link.ok()) {
      return link.status().WithContext("finding the underlay interface " + std::string(link_name));
    }
    index = link->index;
  } else {
    for (const nl::Address& a : addresses) {
      if (a.ip == node_ip) index = a.link_index;
    }
    if (index == 0) {
      return base::NotFoundError("finding the underlay interface: no interface has address " +
                                 node_ip.ToString() + " (the node's InternalIP)");
    }
  }
  base::StatusOr<nl::Link> link = netlink.GetLink(index);
  if (!link.ok()) return link.status().WithContext("finding the underlay interface");
  Underlay u;
  u.link_index = link->index;
  u.link_name = link->name;
  u.mtu = link->mtu;
  u.ip = node_ip;
  for (const nl::Address& a : addresses) {
    if (a.link_index != index) continue;
    base::StatusOr<base::Cidr> c = base::Cidr::MakeMasked(a.ip, a.prefix_len);
    if (c.ok()) u.subnets.push_back(*c);
  }
  return u;
}

base::Status RefreshSubnets(nl::Netlink& netlink, Underlay* underlay) {
  ASSIGN_OR_RETURN(std::vector<nl::Address> addresses,
                   netlink.ListLinkAddresses(underlay->link_index, AF_UNSPEC));
  underlay->subnets.clear();
  for (const nl::Address& a : addresses) {
    base::StatusOr<base::Cidr> c = base::Cidr::MakeMasked(a.ip, a.prefix_len);
    if (c.ok()) underlay->subnets.push_back(*c);
  }
  return base::OkStatus();
}

base::StatusOr<base::IPAddress> FirstAddress(const std::vector<std::string>& values,
                                             base::IPFamily family, std::string_view what) {
  for (const std::string& v : values) {
    base::StatusOr<base::IPAddress> ip = base::IPAddress::Parse(v);
    if (!ip.ok()) return ip.status().WithContext(std::string(what));
    if (ip->family() == family) return *ip;
  }
  return base::NotFoundError("no " + std::string(base::IPFamilyName(family)) + " " +
                             std::string(what));
}

base::StatusOr<base::Cidr> FirstCidr(const std::vector<std::string>& values, base::IPFamily family,
                                     std::string_view what) {
  for (const std::string& v : values) {
    base::StatusOr<base::Cidr> c = base::Cidr::ParseLoose(v);
    if (!c.ok()) return c.status().WithContext(std::string(what));
    if (c->family() == family) return *c;
  }
  return base::NotFoundError("no " + std::string(base::IPFamilyName(family)) + " " +
                             std::string(what));
}

void Errors::Add(const base::Status& s, std::string_view context) {
  if (s.ok()) return;
  base::Status with = context.empty() ? s : s.WithContext(context);
  if (first_.ok()) first_ = with;
  if (!messages_.empty()) messages_ += "; ";
  messages_ += with.message();
}

base::Status Errors::status() const {
  if (first_.ok()) return first_;
  return base::Status(first_.code(), messages_).set_sys_errno(first_.sys_errno());
}

base::Status IgnoreNotFound(base::Status s) {
  return s.code() == base::StatusCode::kNotFound ? base::OkStatus() : s;
}

}  // namespace knet::overlay
