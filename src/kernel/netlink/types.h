// File: kernel/netlink/types.h
//
// The rtnetlink objects knet reads and writes, as plain values: links (with the bridge, veth and
// vxlan specifics knet uses), addresses, routes and neighbours (IP neighbours and bridge FDB
// entries), plus the specs for creating bridge, veth and vxlan links. Shared by the message
// builders (message.h), the dump parsers (parse.h) and the Netlink interface (netlink.h).
//
// Thread-compatible value types.
#pragma once

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/ip.h"
#include "base/mac.h"

namespace knet::kernel::netlink {

inline constexpr uint32_t kMainTable = RT_TABLE_MAIN;

// The vxlan settings of a link (IFLA_VXLAN_*).
struct VxlanInfo {
  uint32_t vni = 0;
  std::optional<base::IPAddress> local;
  uint16_t port = 0;  // host byte order
  bool learning = true;
  int link_index = 0;  // the underlying device, 0 if none
  friend bool operator==(const VxlanInfo&, const VxlanInfo&) = default;
};

// A network interface (RTM_NEWLINK).
struct Link {
  int index = 0;
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "bridge", "veth", "vxlan", ...; empty for e.g. lo
  uint32_t mtu = 0;
  uint32_t flags = 0;  // IFF_* (ifi_flags)
  base::MacAddress mac;
  int master_index = 0;  // IFLA_MASTER: the bridge this link is a port of, or 0
  int peer_index = 0;    // IFLA_LINK: a veth's peer (possibly in another namespace), or 0
  bool hairpin = false;  // a bridge port's IFLA_BRPORT_MODE (from IFLA_INFO_SLAVE_DATA)
  std::optional<VxlanInfo> vxlan;

  bool up() const { return (flags & IFF_UP) != 0; }
  friend bool operator==(const Link&, const Link&) = default;
};

// An interface address (RTM_NEWADDR): 10.244.0.1/24 on link 3.
struct Address {
  int link_index = 0;
  base::IPAddress ip;
  int prefix_len = 0;
  bool nodad = false;  // IFA_F_NODAD: IPv6 addresses usable at once, without DAD
  uint8_t scope = RT_SCOPE_UNIVERSE;

  // "10.244.0.1/24".
  std::string ToString() const { return ip.ToString() + "/" + std::to_string(prefix_len); }
  friend bool operator==(const Address&, const Address&) = default;
};

// A route (RTM_NEWROUTE). A default route has dst 0.0.0.0/0 or ::/0.
struct Route {
  base::Cidr dst;
  std::optional<base::IPAddress> gateway;  // RTA_GATEWAY
  int link_index = 0;                      // RTA_OIF, 0 for none
  bool onlink = false;                     // RTNH_F_ONLINK: gateway reachable without a subnet
  // RT_SCOPE_*. Unset: link scope for a route with a device and no gateway (as `ip route`
  // does), universe otherwise. Dumps always set it.
  std::optional<uint8_t> scope;
  uint32_t table = kMainTable;
  std::optional<base::IPAddress> src;  // RTA_PREFSRC
  uint32_t metric = 0;                 // RTA_PRIORITY, 0 for none
  uint8_t protocol = RTPROT_BOOT;
  uint8_t type = RTN_UNICAST;

  friend bool operator==(const Route&, const Route&) = default;
};

// Which neighbour table: IP neighbours (ARP / NDP, keyed by link and IP) or the bridge forwarding
// database (AF_BRIDGE with NTF_SELF, keyed by link, MAC and remote; on a vxlan device the remote
// VTEP is the `ip`, as in `bridge fdb append 00:00:00:00:00:00 dev vxlan0 dst 10.0.0.2`).
enum class NeighborKind : uint8_t { kIp, kFdb };

// A neighbour or FDB entry (RTM_NEWNEIGH).
struct Neighbor {
  NeighborKind kind = NeighborKind::kIp;
  int link_index = 0;
  std::optional<base::IPAddress> ip;  // NDA_DST; required for kIp
  base::MacAddress mac;               // NDA_LLADDR
  uint16_t state = NUD_PERMANENT;     // NUD_*
  uint8_t flags = 0;                  // NTF_* as dumped (builders add NTF_SELF for kFdb)

  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

// Specs for creating links. An mtu of 0 keeps the kernel's default; an unset mac lets the kernel
// pick a random one.
struct BridgeSpec {
  std::string name;
  uint32_t mtu = 0;
  std::optional<base::MacAddress> mac;
};

// A veth pair whose ends are created directly in their namespaces (IFLA_NET_NS_FD on the request
// and on the peer), so neither is moved afterwards. A netns_fd of -1 means the namespace of the
// socket the request is sent on.
struct VethSpec {
  std::string name;
  int netns_fd = -1;
  std::optional<base::MacAddress> mac;
  std::string peer_name;
  int peer_netns_fd = -1;
  std::optional<base::MacAddress> peer_mac;
  uint32_t mtu = 0;  // both ends
};

struct VxlanSpec {
  std::string name;
  uint32_t vni = 1;                      // 24 bits
  std::optional<base::IPAddress> local;  // source address of the tunnel
  uint16_t port = 8472;                  // UDP destination port, host byte order
  bool learning = false;
  int link_index = 0;  // underlying device, 0 for none
  uint32_t mtu = 0;
  std::optional<base::MacAddress> mac;
};

}  // namespace knet::kernel::netlink
