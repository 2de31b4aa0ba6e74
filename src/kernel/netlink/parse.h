// File: kernel/netlink/parse.h
//
// Parsers for rtnetlink messages: a dump reply (many messages, as the kernel sends them) or a
// request built by message.h (the fake reads requests with the same code). The input is untrusted
// bytes: every length is checked, nothing is assumed aligned, and malformed input is an
// InvalidArgument error, never a crash (fuzzed by parse_fuzzer.cc).
//
//   ASSIGN_OR_RETURN(std::vector<Link> links, ParseLinks(reply_bytes));
//
// Messages of other types (NLMSG_DONE, other object kinds) are skipped, as are objects of families
// knet does not model (multicast routes, neighbours of other families) and cached clones of routes.
// Thread-compatible free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "kernel/netlink/types.h"

namespace knet::kernel::netlink {

// A link message with what only requests carry: namespaces, the veth peer, which fields a change
// sets.
struct LinkMessage {
  uint16_t type = 0;    // RTM_NEWLINK, RTM_DELLINK, RTM_SETLINK, RTM_GETLINK
  uint16_t flags = 0;   // nlmsg_flags
  uint8_t family = 0;   // ifi_family (AF_BRIDGE for bridge port settings)
  uint32_t change = 0;  // ifi_change
  Link link;
  int netns_fd = -1;                    // IFLA_NET_NS_FD
  std::optional<int> master;            // IFLA_MASTER present
  std::optional<base::MacAddress> mac;  // IFLA_ADDRESS present (6 bytes)
  std::optional<bool> hairpin;          // IFLA_PROTINFO / IFLA_BRPORT_MODE present
  std::vector<LinkMessage> veth_peer;   // VETH_INFO_PEER: zero or one entry
};

// Messages of a kind together with their header's type and flags.
template <typename T>
struct Parsed {
  uint16_t type = 0;
  uint16_t flags = 0;
  T value;
};

base::StatusOr<std::vector<LinkMessage>> ParseLinkMessages(std::span<const uint8_t> bytes);
base::StatusOr<std::vector<Parsed<Address>>> ParseAddressMessages(std::span<const uint8_t> bytes);
base::StatusOr<std::vector<Parsed<Route>>> ParseRouteMessages(std::span<const uint8_t> bytes);
base::StatusOr<std::vector<Parsed<Neighbor>>> ParseNeighborMessages(std::span<const uint8_t> bytes);

// The objects alone.
base::StatusOr<std::vector<Link>> ParseLinks(std::span<const uint8_t> bytes);
base::StatusOr<std::vector<Address>> ParseAddresses(std::span<const uint8_t> bytes);
base::StatusOr<std::vector<Route>> ParseRoutes(std::span<const uint8_t> bytes);
base::StatusOr<std::vector<Neighbor>> ParseNeighbors(std::span<const uint8_t> bytes);

}  // namespace knet::kernel::netlink

namespace knet::kernel::netlink {

// The whole messages in `bytes` (each starting at its nlmsghdr, nlmsg_len long). InvalidArgument
// on a truncated header or a length past the end.
base::StatusOr<std::vector<std::span<const uint8_t>>> SplitMessages(std::span<const uint8_t> bytes);

// An NLMSG_ERROR message: an ACK (error 0) or a failure (a negative errno), with the kernel's
// extended ACK message (NLMSGERR_ATTR_MSG) when it sent one.
struct Ack {
  uint32_t seq = 0;  // of the request it answers
  int error = 0;
  std::string message;
};
// `message` is one whole NLMSG_ERROR message, header included.
base::StatusOr<Ack> ParseAck(std::span<const uint8_t> message);

// Maps a netlink errno to a Status: "<what>: <strerror>[ (kernel: <extack>)]", with the errno
// kept. EEXIST → AlreadyExists; ENOENT, ENODEV, ESRCH, EADDRNOTAVAIL → NotFound (so deletes can be
// idempotent); EINVAL, ERANGE, EAFNOSUPPORT → InvalidArgument; EOPNOTSUPP → Unimplemented;
// EPERM, EACCES → PermissionDenied; EBUSY, ENETUNREACH, ENETDOWN → FailedPrecondition; ENOBUFS,
// ENOMEM, ENOSPC → ResourceExhausted; EAGAIN, EINTR → Unavailable; anything else → Internal.
base::Status NetlinkError(int err, std::string_view what, std::string_view kernel_message = {});

}  // namespace knet::kernel::netlink
