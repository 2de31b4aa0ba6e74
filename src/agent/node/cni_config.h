// File: agent/node/cni_config.h
//
// The CNI network configuration list the agent writes for its node's podCIDR(s): one knet-cni
// bridge plugin with host-local IPAM (one range set per podCIDR, so a dual-stack node gets an
// IPv4 and an IPv6 address per pod), optionally followed by the reference portmap plugin
// (capability portMappings) for hostPorts. The file is replaced atomically (temp file + rename)
// and only when its content changes, so runtimes never read a half-written file.
//
//   node::CniConfigOptions o;                        // conf dir /etc/cni/net.d, bridge knet0
//   ASSIGN_OR_RETURN(std::string text, node::RenderCniConfig(o, {"10.244.1.0/24"}));
//   ASSIGN_OR_RETURN(bool changed, node::WriteCniConfig(o, {"10.244.1.0/24"}));
//
// Free functions: thread-compatible (two writers of the same dir must be serialised by the
// caller; readers always see a whole file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace knet::agent::node {

inline constexpr const char* kDefaultCniConfDir = "/etc/cni/net.d";
inline constexpr const char* kCniConfFileName = "10-knet.conflist";
inline constexpr const char* kCniNetworkName = "knet";

struct CniConfigOptions {
  std::string conf_dir = kDefaultCniConfDir;  // --cni-conf-dir
  std::string bridge = "knet0";
  uint32_t mtu = 0;                // 0: not written (the kernel's default)
  bool is_gateway = true;          // the bridge holds each range's gateway address
  bool is_default_gateway = true;  // pods route everything via the bridge
  bool hairpin_mode = true;        // a pod reaches itself through a Service VIP
  bool ip_masq = false;            // off: cross-node pod traffic must keep pod source addresses
  bool portmap = false;            // chain {"type":"portmap","capabilities":{"portMappings":true}}
  std::string ipam_data_dir;       // "": host-local's default (/var/lib/cni/networks)
};

// The conflist JSON (pretty-printed, trailing newline) for these podCIDRs (at least one; each a
// valid CIDR, at most one per family). InvalidArgument naming the bad CIDR otherwise.
base::StatusOr<std::string> RenderCniConfig(const CniConfigOptions& opts,
                                            const std::vector<std::string>& pod_cidrs);

// Renders and writes <conf_dir>/10-knet.conflist (creating conf_dir) unless the file already
// holds exactly that content. Returns whether the file was (re)written.
base::StatusOr<bool> WriteCniConfig(const CniConfigOptions& opts,
                                    const std::vector<std::string>& pod_cidrs);

}  // namespace knet::agent::node
