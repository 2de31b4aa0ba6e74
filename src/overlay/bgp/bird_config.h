// File: overlay/bgp/bird_config.h
//
// The BIRD 2 configuration of one node for the bgp backend (Calico's design): pure functions from
// the BGP settings, this node and the other nodes to the text of bird.conf. Nothing here touches
// the system; BirdBackend (bird_backend.h) writes the text, checks it with `bird -p` and applies
// it.
//
//   BgpSettings s;                       // AS 64512, iBGP full mesh
//   ASSIGN_OR_RETURN(BirdConfigText c, GenerateBirdConfig(s, self, others));
//   WriteFile("bird.conf", c.text);      // c.skipped names nodes that could not be peered
//
// What the configuration does:
//  - protocol static `knet_pods`: a blackhole route per IPv4 podCIDR of this node. It lives only in
//    BIRD and is announced over BGP; the kernel export filter rejects it (and anything inside this
//    node's podCIDRs), so the node's real bridge route is never replaced.
//  - protocol kernel `knet_kernel`: installs BGP-learned routes only, with `metric 212` and proto
//    bird (RTPROT_BIRD, 12), `merge paths on` (ECMP). BIRD removes them when a route is withdrawn
//    and on a clean shutdown.
//  - one `protocol bgp` per peer, named as Calico does: Mesh_<ip> (full mesh; the side with the
//    higher address is passive), Node_<ip> (route reflector sessions), Global_<ip> (external
//    peers such as a top-of-rack router). Sessions are `direct` (peers share the L2 segment) with
//    `gateway direct`, so routes point at the peer's InternalIP; short timers (connect retry 2 s,
//    hold 9 s) bring sessions up within seconds.
//  - iBGP peers get this node's podCIDRs (and, on a route reflector, every BGP-learned route: BIRD
//    reflects iBGP routes to `rr client` peers only); external peers get this node's podCIDRs.
//
// Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "overlay/overlay.h"

namespace knet::overlay::bgp {

// Calico's default AS number (a private one, RFC 6996).
inline constexpr uint32_t kDefaultAsNumber = 64512;
// The kernel metric of the routes knet's bird installs. BIRD owns (prunes at start, removes at
// exit) the routes with proto bird and its configured metric, so knet uses its own value rather
// than BIRD's default 32: a system BIRD on the same host keeps its routes, and ours never clash
// with the kernel's connected routes either.
inline constexpr uint32_t kKernelMetric = 212;
// RTPROT_BIRD: the `proto` of routes BIRD installs.
inline constexpr uint8_t kRouteProtocolBird = 12;

// A BGP peer outside the cluster (Calico's BGPPeer with a peerIP): a top-of-rack router.
struct ExternalPeer {
  std::string ip;          // IPv4, on the node's L2 segment
  uint32_t as_number = 0;  // its AS; equal to ours makes the session iBGP
  std::string password;    // TCP MD5 password; "" = none
  bool operator==(const ExternalPeer&) const = default;
};

// BGP timers in seconds (BIRD's `hold time`, `keepalive time`, `connect delay time`,
// `connect retry time`, `error wait time min, max`). The defaults bring a session up within a few
// seconds of both sides being configured and notice a silent peer within 9 s.
struct BgpTimers {
  uint32_t hold = 9;
  uint32_t keepalive = 3;
  uint32_t connect_delay = 1;
  uint32_t connect_retry = 2;
  uint32_t error_wait_min = 1;
  uint32_t error_wait_max = 10;
  bool operator==(const BgpTimers&) const = default;
};

struct BgpSettings {
  uint32_t as_number = kDefaultAsNumber;
  // iBGP full mesh with every other node (Calico's node-to-node mesh). Ignored when
  // `route_reflector` is set or `reflectors` is not empty.
  bool mesh = true;
  // This node is a route reflector: every other node is its `rr client`, except the other
  // reflectors (listed in `reflectors`), which are plain iBGP peers.
  bool route_reflector = false;
  // The reflector cluster ID (an IPv4 address as text); "" = BIRD's default, the router ID.
  std::string cluster_id;
  // Route reflectors by node name or IPv4 address. A node that is not itself a reflector peers
  // only with these (no mesh). An address that is no node's is peered with directly (a reflector
  // outside the cluster).
  std::vector<std::string> reflectors;
  std::vector<ExternalPeer> external_peers;
  BgpTimers timers;
  bool operator==(const BgpSettings&) const = default;
};

struct BirdConfigText {
  std::string text;
  // One message per other node that got no session ("node b: no IPv4 InternalIP"); the rest of
  // the configuration is complete without it.
  std::vector<std::string> skipped;
};

// Checks the settings on their own (AS numbers, addresses, passwords BIRD can quote).
// InvalidArgument naming the bad field.
base::Status ValidateSettings(const BgpSettings& settings);

// The bird.conf text for `self` with sessions to `others` (self excluded; order does not matter:
// the output is sorted, so the same cluster always gives the same text). InvalidArgument if the
// settings are invalid, or if `self` has no IPv4 InternalIP (the router ID and session address).
// IPv6 podCIDRs are not announced (IPv4 only for now).
base::StatusOr<BirdConfigText> GenerateBirdConfig(const BgpSettings& settings, const NodeInfo& self,
                                                  const std::vector<NodeInfo>& others);

// The first IPv4 address of `node.internal_ips`, or "" if there is none.
std::string FirstIPv4(const NodeInfo& node);

}  // namespace knet::overlay::bgp
