// File: cluster/internal/naming.h
//
// The names and addresses `knet cluster` gives what it makes, in one place: the state dir, the
// underlay bridge and veths (Linux link names: at most 15 bytes), the node network namespaces,
// the node names and the default underlay subnet. Pure functions; thread-safe.
//
//   kn-<id>          the underlay bridge in the host netns (<id>: the cluster name, or its first
//                    3 characters plus 5 hex digits of its hash when longer than 8)
//   kn-<id>-<i>      the host end of node i's veth (the node end is "eth0" in the node netns)
//   kc-<name>-node-<i>  node i's network namespace (/run/netns)
//   node-<i>         node i's Node name (each cluster has its own API server)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/ip.h"
#include "base/status.h"

namespace knet::cluster::internal {

inline constexpr std::string_view kDefaultStateRoot = "/var/lib/knet/clusters";
inline constexpr std::string_view kManifestFile = "manifest.json";
// The node end of every node's veth, inside the node netns.
inline constexpr std::string_view kNodeInterface = "eth0";
// Held while an `up` picks its underlay subnet and creates its bridge (flock).
inline constexpr std::string_view kHostLockPath = "/run/lock/knet-cluster.lock";
// Most nodes one cluster may have (the veth names keep 3 digits for the index).
inline constexpr int kMaxNodes = 250;

// A cluster name: 1-32 of [a-z0-9-], starting and ending with a letter or digit (a DNS label,
// short enough for the derived names). InvalidArgument otherwise.
base::Status ValidateName(std::string_view name);

// FNV-1a of `s` (stable across runs and machines).
uint32_t StableHash(std::string_view s);

// The short id used in link names (at most 8 bytes).
std::string ShortId(std::string_view name);
std::string BridgeName(std::string_view name);
std::string HostVethName(std::string_view name, int index);  // index from 1
std::string NodeNetnsName(std::string_view name, int index);
std::string NodeName(int index);

// The default underlay of cluster `name`: 10.250.<k>.0/24 with k from the name's hash, moved on
// (k+1, k+2, ...) past any subnet overlapping one of `taken` (the host's addresses and routes), so
// several clusters side by side get different subnets. ResourceExhausted if all 256 are taken.
base::StatusOr<base::Cidr> DefaultUnderlay(std::string_view name,
                                           const std::vector<base::Cidr>& taken);

// Checks that `cidr` (IPv4) holds the gateway (.1) and `nodes` node addresses (.2 ...), without the
// network and broadcast addresses. InvalidArgument naming the shortfall otherwise.
base::Status CheckUnderlay(const base::Cidr& cidr, int nodes);

}  // namespace knet::cluster::internal
