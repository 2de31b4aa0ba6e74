// File: kernel/netlink/message.h
//
// rtnetlink request builders: value types, independent of any socket, so tests compare their bytes
// without a kernel. Each builder returns a Request: one netlink message (sequence number 0; the
// socket stamps its own) plus a description used in error messages ("adding route 10.1.0.0/24 via
// vxlan0"). Requests that change state ask for an ACK (NLM_F_ACK).
//
//   ASSIGN_OR_RETURN(Request r, NewBridgeRequest({.name = "cni0", .mtu = 1450}));
//   RETURN_IF_ERROR(netlink.Execute({r}));
//
// `dev` arguments are names used only in descriptions; when empty the description says "link #N".
// Thread-compatible.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.h"
#include "base/mac.h"
#include "base/status.h"
#include "kernel/netlink/types.h"

namespace knet::kernel::netlink {

// One netlink message and what it does.
class Request {
 public:
  Request(std::vector<uint8_t> bytes, std::string what)
      : bytes_(std::move(bytes)), what_(std::move(what)) {}

  // The whole message, nlmsghdr first; its length is nlmsg_len.
  std::span<const uint8_t> bytes() const { return bytes_; }
  // "creating bridge cni0", for error messages.
  const std::string& what() const { return what_; }
  // A copy of the header; all zero if the bytes are shorter than one.
  nlmsghdr header() const {
    nlmsghdr h{};
    if (bytes_.size() >= sizeof(h)) std::memcpy(&h, bytes_.data(), sizeof(h));
    return h;
  }
  uint16_t type() const { return header().nlmsg_type; }
  uint16_t flags() const { return header().nlmsg_flags; }
  // True when the bytes hold exactly one message (a header whose nlmsg_len is the size).
  bool valid() const {
    return bytes_.size() >= sizeof(nlmsghdr) && header().nlmsg_len == bytes_.size();
  }

 private:
  std::vector<uint8_t> bytes_;
  std::string what_;
};

// InvalidArgument unless `name` is a valid interface name: 1-15 bytes, not "." or "..", without
// '/', ':', whitespace or NUL.
base::Status ValidateLinkName(std::string_view name);

// Links. Create requests use NLM_F_CREATE | NLM_F_EXCL (EEXIST on a taken name).
base::StatusOr<Request> NewBridgeRequest(const BridgeSpec& spec);
base::StatusOr<Request> NewVethRequest(const VethSpec& spec);
base::StatusOr<Request> NewVxlanRequest(const VxlanSpec& spec);
Request SetLinkUpRequest(int index, bool up, std::string_view dev = {});
// master_index 0 detaches the link from its bridge.
Request SetMasterRequest(int index, int master_index, std::string_view dev = {},
                         std::string_view master = {});
Request SetMtuRequest(int index, uint32_t mtu, std::string_view dev = {});
Request SetMacRequest(int index, const base::MacAddress& mac, std::string_view dev = {});
// A bridge port's hairpin mode: RTM_SETLINK, AF_BRIDGE, IFLA_PROTINFO { IFLA_BRPORT_MODE }.
Request SetHairpinRequest(int index, bool on, std::string_view dev = {});
Request DeleteLinkRequest(int index, std::string_view dev = {});
base::StatusOr<Request> DeleteLinkRequest(std::string_view name);

// Addresses (IFA_LOCAL and IFA_ADDRESS both set to the address, as `ip addr add` does).
Request AddAddressRequest(const Address& address, std::string_view dev = {});
Request DeleteAddressRequest(const Address& address, std::string_view dev = {});

// Routes. Add uses NLM_F_EXCL (EEXIST if present), replace NLM_F_REPLACE.
Request AddRouteRequest(const Route& route, std::string_view dev = {});
Request ReplaceRouteRequest(const Route& route, std::string_view dev = {});
Request DeleteRouteRequest(const Route& route, std::string_view dev = {});

// Neighbours and FDB entries. Add uses NLM_F_EXCL, replace NLM_F_REPLACE. kIp requires an ip.
Request AddNeighborRequest(const Neighbor& neighbor, std::string_view dev = {});
Request ReplaceNeighborRequest(const Neighbor& neighbor, std::string_view dev = {});
Request DeleteNeighborRequest(const Neighbor& neighbor, std::string_view dev = {});

// Queries. Dumps carry NLM_F_DUMP; GetLink asks for one link and fails with ENODEV.
Request DumpLinksRequest();
base::StatusOr<Request> GetLinkRequest(std::string_view name);
Request GetLinkRequest(int index);
// family: AF_UNSPEC (both), AF_INET or AF_INET6.
Request DumpAddressesRequest(uint8_t family);
Request DumpRoutesRequest(uint8_t family);
Request DumpNeighborsRequest(NeighborKind kind);

}  // namespace knet::kernel::netlink
