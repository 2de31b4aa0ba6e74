#include "cluster/internal/underlay.h"

#include <sys/socket.h>

#include "cluster/internal/naming.h"

namespace knet::cluster::internal {

namespace nl = kernel::netlink;
namespace netns = kernel::netns;

base::StatusOr<std::vector<base::Cidr>> Underlay::HostPrefixes() {
  std::vector<base::Cidr> out;
  ASSIGN_OR_RETURN(std::vector<nl::Address> addrs, host_.ListAddresses(AF_INET));
  for (const nl::Address& a : addrs) {
    auto c = base::Cidr::MakeMasked(a.ip, a.prefix_len);
    if (c.ok()) out.push_back(*c);
  }
  ASSIGN_OR_RETURN(std::vector<nl::Route> routes, host_.ListRoutes(AF_INET));
  for (const nl::Route& r : routes) {
    if (r.table == nl::kMainTable || r.table == RT_TABLE_LOCAL) out.push_back(r.dst);
  }
  return out;
}

base::Status Underlay::CreateBridge(const std::string& name, const base::IPAddress& gateway,
                                    int prefix_len) {
  auto ctx = [&](const base::Status& s) { return s.WithContext("creating bridge " + name); };
  if (base::Status s = host_.CreateBridge({.name = name}); !s.ok()) return ctx(s);
  ASSIGN_OR_RETURN(nl::Link br, host_.GetLink(name));
  if (base::Status s =
          host_.AddAddress({.link_index = br.index, .ip = gateway, .prefix_len = prefix_len}, name);
      !s.ok()) {
    return ctx(s);
  }
  if (base::Status s = host_.SetLinkUp(br); !s.ok()) return ctx(s);
  return base::OkStatus();
}

base::Status Underlay::CreateNode(const std::string& ns_name, const std::string& host_veth,
                                  const std::string& bridge, const base::IPAddress& ip,
                                  int prefix_len, const base::IPAddress& gateway,
                                  const std::vector<base::Cidr>& contained) {
  auto ctx = [&](const base::Status& s) {
    return s.WithContext("creating node namespace " + ns_name);
  };
  auto ns = netns::Create(ns_name);
  if (!ns.ok()) return ctx(ns.status());
  if (base::Status s = host_.CreateVeth(
          {.name = host_veth, .peer_name = std::string(kNodeInterface), .peer_netns_fd = ns->fd()});
      !s.ok()) {
    // Nothing of the node exists but its namespace: remove that, so a failure here (AlreadyExists
    // for a veth name in use, above all) leaves nothing for the caller to undo.
    (void)netns::Delete(ns_name);
    return ctx(s);
  }
  auto port = host_.GetLink(host_veth);
  if (!port.ok()) return ctx(port.status());
  auto br = host_.GetLink(bridge);
  if (!br.ok()) return ctx(br.status());
  if (base::Status s = host_.SetMaster(*port, *br); !s.ok()) return ctx(s);
  if (base::Status s = host_.SetLinkUp(*port); !s.ok()) return ctx(s);

  auto node = open_(*ns);
  if (!node.ok()) return ctx(node.status());
  nl::Netlink& n = **node;
  auto lo = n.GetLink("lo");
  if (!lo.ok()) return ctx(lo.status());
  if (base::Status s = n.SetLinkUp(*lo); !s.ok()) return ctx(s);
  auto eth = n.GetLink(kNodeInterface);
  if (!eth.ok()) return ctx(eth.status());
  if (base::Status s = n.AddAddress({.link_index = eth->index, .ip = ip, .prefix_len = prefix_len},
                                    kNodeInterface);
      !s.ok()) {
    return ctx(s);
  }
  if (base::Status s = n.SetLinkUp(*eth); !s.ok()) return ctx(s);
  ASSIGN_OR_RETURN(base::Cidr any, base::Cidr::Parse("0.0.0.0/0"));
  if (base::Status s =
          n.AddRoute({.dst = any, .gateway = gateway, .link_index = eth->index}, kNodeInterface);
      !s.ok()) {
    return ctx(s);
  }
  for (const base::Cidr& c : contained) {
    nl::Route r{.dst = c};
    r.type = RTN_UNREACHABLE;
    if (base::Status s = n.AddRoute(r); !s.ok()) return ctx(s);
  }
  return base::OkStatus();
}

base::Status Underlay::DeleteNode(const std::string& ns_name, const std::string& host_veth) {
  // Deleting the namespace's name does not destroy it while a process still lives there, and the
  // veth goes only with the namespace: delete the host end explicitly (its peer goes with it).
  RETURN_IF_ERROR(DeleteLink(host_veth));
  base::Status s = netns::Delete(ns_name);
  if (!s.ok() && s.code() != base::StatusCode::kNotFound) {
    return s.WithContext("deleting node namespace " + ns_name);
  }
  return base::OkStatus();
}

base::Status Underlay::DeleteLink(const std::string& name) {
  if (name.empty()) return base::OkStatus();
  base::Status s = host_.DeleteLink(name);
  if (!s.ok() && s.code() != base::StatusCode::kNotFound) {
    return s.WithContext("deleting link " + name);
  }
  return base::OkStatus();
}

}  // namespace knet::cluster::internal
