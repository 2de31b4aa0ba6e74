// File: proxy/nft/render.h
//
// The nft backend's rule rendering, as plain data (no kernel): the names of every kernel object
// knet's proxy owns (one table per family, `ip knet-proxy` and `ip6 knet-proxy`, the same shape in
// both), the operations that create the fixed part of a table (RenderBase), and the share of the
// shared maps one service port contributes (RenderService: a Fragment of elements and, only when
// the port needs per-service logic, its own chains). NftBackend diffs Fragments to build
// incremental transactions. README.md beside this file describes the packet path.
//
//   Fragment f = RenderService(base::IPFamily::kV4, spn, info, endpoints, config);
//   // f.elements["services"] = { 10.96.0.10 . tcp . 80 : goto pick-3 }, ...
//
// Pure functions; thread-compatible value types.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/ip.h"
#include "kernel/nft/nft.h"
#include "proxy/types.h"

namespace knet::proxy::nft {

// Kernel object names (one place, as kube-proxy's proxier.go declares them).
inline constexpr const char* kTable = "knet-proxy";
// Verdict map (daddr . l4proto . dport) -> goto pick-E / goto firewall-<svc> / drop: ClusterIPs,
// externalIPs and LoadBalancer IPs with usable endpoints.
inline constexpr const char* kServicesMap = "services";
// Data map (daddr . l4proto . dport . slot) -> endpoint ip . port.
inline constexpr const char* kEndpointsMap = "endpoints";
// Verdict map (l4proto . dport) -> goto nodeport-pick-E / drop, for packets to @node-ips.
inline constexpr const char* kNodePortsMap = "nodeports";
// Data map (l4proto . dport . slot) -> endpoint ip . port.
inline constexpr const char* kNodePortEndpointsMap = "nodeport-endpoints";
// Set of this node's addresses (NodePorts answer on them).
inline constexpr const char* kNodeIPsSet = "node-ips";
// Verdict maps for services without any usable endpoint: -> goto reject.
inline constexpr const char* kNoEndpointsMap = "no-endpoints";
inline constexpr const char* kNoEndpointNodePortsMap = "no-endpoint-nodeports";
// Set (saddr . daddr . l4proto . dport): a local endpoint reaching itself through its service.
inline constexpr const char* kHairpinSet = "hairpin";
// Set (daddr . l4proto . dport) of endpoints whose traffic from outside the cluster CIDR is
// masqueraded (every usable endpoint of services without externalTrafficPolicy Local).
inline constexpr const char* kMasqEndpointsSet = "masq-endpoints";

inline constexpr const char* kRejectChain = "reject";
inline constexpr const char* kNatPreroutingChain = "nat-prerouting";
inline constexpr const char* kNatOutputChain = "nat-output";
inline constexpr const char* kNatPostroutingChain = "nat-postrouting";
inline constexpr const char* kFilterInputChain = "filter-input";
inline constexpr const char* kFilterForwardChain = "filter-forward";
inline constexpr const char* kFilterOutputChain = "filter-output";
// Filter chains run just before the default filter priority (kube-proxy: filter - 5).
inline constexpr int32_t kFilterPriority = kernel::nft::kPriorityFilter - 5;

std::string PickChain(uint32_t endpoints);              // "pick-3": dnat via @endpoints, mod 3
std::string NodePortPickChain(uint32_t endpoints);      // "nodeport-pick-3"
std::string FirewallChain(const ServicePortName& spn);  // "firewall-ns/name:port/tcp"
// sessionAffinity ClientIP (kube-proxy's nftables mode, in per-service chains): the service
// port's pick among its cluster (resp. external, when that set differs) endpoints, and per
// endpoint a chain that refreshes the client in the endpoint's affinity set and DNATs.
std::string AffinityServiceChain(const ServicePortName& spn);   // "service-ns/name:port/tcp"
std::string AffinityExternalChain(const ServicePortName& spn);  // "external-ns/name:port/tcp"
std::string EndpointChain(const ServicePortName& spn, const EndpointInfo& ep);
// Set of client addresses (flags dynamic,timeout; timeout = timeoutSeconds) that went to `ep`.
std::string AffinitySet(const ServicePortName& spn, const EndpointInfo& ep);

struct Config {
  std::vector<base::IPFamily> families = {base::IPFamily::kV4, base::IPFamily::kV6};
  // Pod CIDR(s) of the cluster: traffic from outside them to a service is masqueraded. None for a
  // family: no such masquerade in that family (hairpin still is).
  std::vector<base::Cidr> cluster_cidrs;
  // This node's addresses: NodePorts are served on them.
  std::vector<base::IPAddress> node_ips;
};

kernel::nft::Family TableFamily(base::IPFamily f);

// Appends the operations that create the fixed part of the family's table (sets, maps, base
// chains and their rules, the reject chain) to `tx`. The table must exist (added before).
void RenderBase(base::IPFamily family, const Config& config, kernel::nft::Transaction& tx);

// What one service port puts into the table of one family.
struct Fragment {
  std::map<std::string, std::vector<kernel::nft::Element>> elements;  // by set/map name
  std::map<std::string, std::vector<kernel::nft::Rule>> chains;       // its own chains
  std::map<std::string, kernel::nft::SetSpec> sets;  // its own sets (affinity), added before chains
  std::set<uint32_t> picks;                          // pick-E chains its elements go to
  std::set<uint32_t> nodeport_picks;                 // nodeport-pick-E chains
  friend bool operator==(const Fragment&, const Fragment&) = default;
};

// `endpoints` may be null (none known). A service with no cluster IP of `family` renders empty.
Fragment RenderService(base::IPFamily family, const ServicePortName& spn,
                       const ServicePortInfo& info, const std::vector<EndpointInfo>* endpoints,
                       const Config& config);

// The rule of pick-E / nodeport-pick-E.
kernel::nft::Rule PickRule(base::IPFamily family, uint32_t endpoints);
kernel::nft::Rule NodePortPickRule(base::IPFamily family, uint32_t endpoints);

// A stable text of an element's key (map key for diffs): "10.96.0.10 . 6 . 80".
std::string KeyText(const kernel::nft::Element& e);

}  // namespace knet::proxy::nft
