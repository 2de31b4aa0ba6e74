#include "kernel/netlink/netlink.h"

namespace knet::kernel::netlink {

using base::Status;
using base::StatusOr;

namespace {
Status ExecuteOne(Netlink& nl, StatusOr<Request> request) {
  if (!request.ok()) return request.status();
  return nl.Execute({std::move(request).value()});
}
}  // namespace

Status Netlink::CreateBridge(const BridgeSpec& spec) {
  return ExecuteOne(*this, NewBridgeRequest(spec));
}
Status Netlink::CreateVeth(const VethSpec& spec) { return ExecuteOne(*this, NewVethRequest(spec)); }
Status Netlink::CreateVxlan(const VxlanSpec& spec) {
  return ExecuteOne(*this, NewVxlanRequest(spec));
}
Status Netlink::SetLinkUp(const Link& link, bool up) {
  return Execute({SetLinkUpRequest(link.index, up, link.name)});
}
Status Netlink::SetMaster(const Link& port, const Link& bridge) {
  return Execute({SetMasterRequest(port.index, bridge.index, port.name, bridge.name)});
}
Status Netlink::SetNoMaster(const Link& port) {
  return Execute({SetMasterRequest(port.index, 0, port.name)});
}
Status Netlink::SetMtu(const Link& link, uint32_t mtu) {
  return Execute({SetMtuRequest(link.index, mtu, link.name)});
}
Status Netlink::SetMac(const Link& link, const base::MacAddress& mac) {
  return Execute({SetMacRequest(link.index, mac, link.name)});
}
Status Netlink::SetHairpin(const Link& port, bool on) {
  return Execute({SetHairpinRequest(port.index, on, port.name)});
}
Status Netlink::DeleteLink(std::string_view name) {
  return ExecuteOne(*this, DeleteLinkRequest(name));
}
Status Netlink::AddAddress(const Address& address, std::string_view dev) {
  return Execute({AddAddressRequest(address, dev)});
}
Status Netlink::DeleteAddress(const Address& address, std::string_view dev) {
  return Execute({DeleteAddressRequest(address, dev)});
}
Status Netlink::AddRoute(const Route& route, std::string_view dev) {
  return Execute({AddRouteRequest(route, dev)});
}
Status Netlink::ReplaceRoute(const Route& route, std::string_view dev) {
  return Execute({ReplaceRouteRequest(route, dev)});
}
Status Netlink::DeleteRoute(const Route& route, std::string_view dev) {
  return Execute({DeleteRouteRequest(route, dev)});
}
Status Netlink::AddNeighbor(const Neighbor& neighbor, std::string_view dev) {
  return Execute({AddNeighborRequest(neighbor, dev)});
}
Status Netlink::ReplaceNeighbor(const Neighbor& neighbor, std::string_view dev) {
  return Execute({ReplaceNeighborRequest(neighbor, dev)});
}
Status Netlink::DeleteNeighbor(const Neighbor& neighbor, std::string_view dev) {
  return Execute({DeleteNeighborRequest(neighbor, dev)});
}

StatusOr<std::vector<Address>> Netlink::ListLinkAddresses(int link_index, uint8_t family) {
  ASSIGN_OR_RETURN(std::vector<Address> all, ListAddresses(family));
  std::vector<Address> out;
  for (auto& a : all) {
    if (a.link_index == link_index) out.push_back(a);
  }
  return out;
}

}  // namespace knet::kernel::netlink
