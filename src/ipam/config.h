// File: ipam/config.h
//
// The host-local IPAM configuration: the "ipam" section of a CNI network configuration, parsed and
// validated with the semantics of the reference plugin (containernetworking/plugins host-local).
//
//   "ipam": {
//     "type": "host-local",
//     "ranges": [                                   // a list of range sets: one IP from each
//       [{"subnet": "10.244.1.0/24", "rangeStart": "10.244.1.10", "gateway": "10.244.1.1"}],
//       [{"subnet": "fd00:1::/64"}]
//     ],
//     "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0", "gw": "fd00:1::1"}],
//     "dataDir": "/var/lib/cni/networks",            // optional; this is the default
//     "resolvConf": "/etc/knet/resolv.conf",        // optional
//     "exclude": ["10.244.1.100", "10.244.1.128/28"] // optional knet extension
//   }
//
// The legacy single-range form ("subnet", "rangeStart", "rangeEnd", "gateway" directly in the ipam
// section) becomes a range set of its own placed before "ranges", as host-local does.
//
// Defaults (host-local's): gateway = the subnet's first host (network + 1); rangeStart = network
// + 1; rangeEnd = the last address, or for IPv4 the one before the broadcast address. The network
// address, the IPv4 broadcast address and the gateway are never handed out; neither is any address
// listed in "exclude" (a knet extension: single addresses or CIDRs).
//
//   ASSIGN_OR_RETURN(ipam::IpamConfig cfg, ipam::ParseIpamConfig(netconf["ipam"], "mynet"));
//   ASSIGN_OR_RETURN(auto ips, ipam::RequestedIps(netconf, getenv("CNI_ARGS")));
//
// Free functions and value types: thread-compatible.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.h"
#include "base/status.h"

namespace knet::ipam {

// Where host-local keeps its stores; the store of network N is <dataDir>/N.
inline constexpr std::string_view kDefaultDataDir = "/var/lib/cni/networks";

// One {subnet, rangeStart, rangeEnd, gateway}, canonicalised: every field is set and valid.
// Invariants: subnet has at least 4 addresses (a /30 or /126); subnet contains gateway,
// range_start and range_end; range_start <= range_end; neither end is the network address nor
// (IPv4) the broadcast address.
struct Range {
  base::Cidr subnet;
  base::IPAddress range_start;
  base::IPAddress range_end;
  base::IPAddress gateway;

  // True if `ip` is in [range_start, range_end].
  bool Contains(const base::IPAddress& ip) const;
  // "10.244.1.0/24 (10.244.1.1-10.244.1.254, gateway 10.244.1.1)".
  std::string ToString() const;
  friend bool operator==(const Range&, const Range&) = default;
};

// Ranges of one family that do not overlap; an attachment gets one address from a range set.
struct RangeSet {
  std::vector<Range> ranges;

  base::IPFamily family() const { return ranges.front().subnet.family(); }
  // The range holding `ip` (between its start and end), or nullptr.
  const Range* RangeFor(const base::IPAddress& ip) const;
  // The ranges' ToString() joined with ", ".
  std::string ToString() const;
  friend bool operator==(const RangeSet&, const RangeSet&) = default;
};

// A route for the CNI result; gw unset means "via the default gateway" (the runtime decides).
struct Route {
  base::Cidr dst;
  std::optional<base::IPAddress> gw;
  friend bool operator==(const Route&, const Route&) = default;
};

struct IpamConfig {
  std::string type;          // "host-local" (or whatever the runtime named; not checked here)
  std::string network_name;  // the CNI network's name: the store's directory name
  std::vector<RangeSet> range_sets;
  std::vector<Route> routes;
  std::string data_dir = std::string(kDefaultDataDir);
  std::string resolv_conf;           // empty: none
  std::vector<base::Cidr> excluded;  // "exclude": never handed out (host prefixes for IPs)

  // data_dir + "/" + network_name: the directory HostLocalStore::Open expects.
  std::string StoreDir() const;
  // True if `ip` is in one of `excluded`.
  bool IsExcluded(const base::IPAddress& ip) const;
};

// Parses and validates the "ipam" object. `network_name` is the network configuration's "name";
// it becomes a directory name, so it must be non-empty, at most 255 bytes, not "." or "..", and
// without '/' or NUL.
// Errors: InvalidArgument naming the field, e.g. `ipam.ranges[1][0].rangeStart: 10.1.0.5 is not
// in subnet 10.2.0.0/24`; no range at all; a range set mixing families; overlapping ranges (within
// or across range sets); a subnet too small to allocate from (IPv4 /31, /32; IPv6 /127, /128).
base::StatusOr<IpamConfig> ParseIpamConfig(const nlohmann::json& ipam,
                                           std::string_view network_name);

// The addresses the runtime asks for, in this order without duplicates: the "ips" capability
// (netconf.runtimeConfig.ips), netconf.args.cni.ips, then CNI_ARGS "IP=" (a comma-separated list,
// as the reference plugins accept). Each entry is an address or address/prefix (the prefix is
// ignored, as host-local does). `netconf` is the whole network configuration; `cni_args` is the
// CNI_ARGS environment variable ("K1=V1;K2=V2"), possibly empty.
// Errors: InvalidArgument naming the source and the bad entry.
base::StatusOr<std::vector<base::IPAddress>> RequestedIps(const nlohmann::json& netconf,
                                                          std::string_view cni_args);

// DNS settings for the CNI result, read from a resolv.conf file.
struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  friend bool operator==(const Dns&, const Dns&) = default;
};

// Parses resolv.conf text: "nameserver", "domain", "search" and "options" lines; comments ('#' or
// ';') and other keywords are ignored.
Dns ParseResolvConf(std::string_view text);
// Reads and parses a resolv.conf file. Errors: NotFound / PermissionDenied / Internal with the
// path and the errno.
base::StatusOr<Dns> ReadResolvConf(const std::string& path);

}  // namespace knet::ipam
