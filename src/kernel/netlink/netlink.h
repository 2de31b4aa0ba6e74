// File: kernel/netlink/netlink.h
//
// Netlink: the seam through which knet reads and changes links, addresses, routes and neighbours
// of one network namespace. LinuxNetlink (linux_netlink.h) talks rtnetlink; FakeNetlink
// (fake_netlink.h) keeps the same objects in memory for other modules' unit tests. Only src/cmd
// (and tests) construct a LinuxNetlink; everything else receives a Netlink&.
//
//   RETURN_IF_ERROR(nl.CreateBridge({.name = "cni0", .mtu = 1450}));
//   ASSIGN_OR_RETURN(Link bridge, nl.GetLink("cni0"));
//   RETURN_IF_ERROR(nl.Execute({SetLinkUpRequest(bridge.index, true, bridge.name),
//                               AddAddressRequest({.link_index = bridge.index, ...})}));
//
// Errors carry what was being done and the kernel's reason, with the errno kept:
// "adding route 10.1.0.0/24 via vxlan0: File exists" (AlreadyExists). Missing links are NotFound
// (ENODEV/ENOENT), so deletes can be idempotent. See NetlinkError in parse.h for the full mapping.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kernel/netlink/message.h"
#include "kernel/netlink/types.h"

namespace knet::kernel::netlink {

// Implementations are thread-safe: calls from several threads are serialised.
class Netlink {
 public:
  virtual ~Netlink() = default;

  // Sends every request, then reads every ACK (one round trip for the batch). The requests are
  // applied in order and independently, as the kernel does: a failure neither undoes the earlier
  // ones nor stops the later ones. Returns OK, or the first failure in request order.
  virtual base::Status Execute(std::span<const Request> requests) = 0;
  // Derived classes re-export this with `using Netlink::Execute;`.
  base::Status Execute(std::initializer_list<Request> requests) {
    return Execute(std::span<const Request>(requests.begin(), requests.size()));
  }

  virtual base::StatusOr<std::vector<Link>> ListLinks() = 0;
  // NotFound if there is no such link.
  virtual base::StatusOr<Link> GetLink(std::string_view name) = 0;
  virtual base::StatusOr<Link> GetLink(int index) = 0;
  // family: AF_UNSPEC (both), AF_INET or AF_INET6.
  virtual base::StatusOr<std::vector<Address>> ListAddresses(uint8_t family) = 0;
  // Every table's routes of `family` (AF_INET or AF_INET6); filter on Route::table.
  virtual base::StatusOr<std::vector<Route>> ListRoutes(uint8_t family) = 0;
  virtual base::StatusOr<std::vector<Neighbor>> ListNeighbors(NeighborKind kind) = 0;

  // One-request conveniences: build the request (message.h) and Execute it.
  base::Status CreateBridge(const BridgeSpec& spec);
  base::Status CreateVeth(const VethSpec& spec);
  base::Status CreateVxlan(const VxlanSpec& spec);
  base::Status SetLinkUp(const Link& link, bool up = true);
  base::Status SetMaster(const Link& port, const Link& bridge);
  base::Status SetNoMaster(const Link& port);
  base::Status SetMtu(const Link& link, uint32_t mtu);
  base::Status SetMac(const Link& link, const base::MacAddress& mac);
  base::Status SetHairpin(const Link& port, bool on);
  base::Status DeleteLink(std::string_view name);
  base::Status AddAddress(const Address& address, std::string_view dev = {});
  base::Status DeleteAddress(const Address& address, std::string_view dev = {});
  base::Status AddRoute(const Route& route, std::string_view dev = {});
  base::Status ReplaceRoute(const Route& route, std::string_view dev = {});
  base::Status DeleteRoute(const Route& route, std::string_view dev = {});
  base::Status AddNeighbor(const Neighbor& neighbor, std::string_view dev = {});
  base::Status ReplaceNeighbor(const Neighbor& neighbor, std::string_view dev = {});
  base::Status DeleteNeighbor(const Neighbor& neighbor, std::string_view dev = {});

  // The addresses of one link.
  base::StatusOr<std::vector<Address>> ListLinkAddresses(int link_index, uint8_t family);
};

}  // namespace knet::kernel::netlink
