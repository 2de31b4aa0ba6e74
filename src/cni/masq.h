// File: cni/masq.h
//
// ipMasq for bridge mode, in knet-cni's own nftables tables: `ip knet-cni` and `ip6 knet-cni`
// (one per address family in use), each with one base chain `postrouting` (type nat, hook
// postrouting, priority srcnat). Every attachment gets one rule per pod address:
//
//   ip saddr 10.1.0.5 ip daddr != 10.1.0.0/24 ip daddr != 224.0.0.0/4 counter masquerade
//       comment "mynet 3f2a...c1 eth0"
//
// i.e. traffic from the pod to anything outside its subnet (multicast excepted: ff00::/8 for
// IPv6) leaves with the node's address, as the reference bridge plugin's ipMasq does. The comment
// (network, container ID, ifname) is how DEL, CHECK and GC find exactly that attachment's rules.
// Nothing outside these tables is ever touched.
//
//   nft::Transaction tx;
//   RETURN_IF_ERROR(AddMasqRules(nft, att, ips, &tx));   // + removal of stale rules of att
//   RETURN_IF_ERROR(nft.Apply(tx));
//
// Free functions; thread-compatible.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/ip.h"
#include "base/status.h"
#include "kernel/nft/nft.h"

namespace knet::cni {

inline constexpr const char* kMasqTable = "knet-cni";
inline constexpr const char* kMasqChain = "postrouting";

// One attachment of one network.
struct MasqOwner {
  std::string network;
  std::string container_id;
  std::string ifname;
};

// A pod address and the subnet it is masqueraded out of.
struct MasqAddress {
  base::IPAddress ip;
  base::Cidr subnet;
};

// The rule comment for `owner`: "<network> <container_id> <ifname>", or, when that is longer than
// nft's 128-byte limit, "#<hash of network> <hash of container_id, ifname>".
std::string MasqComment(const MasqOwner& owner);
// Whether `comment` is one MasqComment made for some attachment of `network`.
bool IsMasqCommentOf(const std::string& comment, const std::string& network);

// Appends to *tx: the table and chain of each family in `ips` ("add": existing is fine), the
// deletion of rules `owner` already has (left by an ADD that crashed), and one rule per address.
base::Status AddMasqRules(kernel::nft::Nftables& nft, const MasqOwner& owner,
                          const std::vector<MasqAddress>& ips, kernel::nft::Transaction* tx);

// Deletes every rule of `owner` in both families. No table, chain or rule: success.
base::Status DelMasqRules(kernel::nft::Nftables& nft, const MasqOwner& owner);

// How many rules `owner` has in the table of `family` (0 when the table/chain is missing).
base::StatusOr<size_t> CountMasqRules(kernel::nft::Nftables& nft, const MasqOwner& owner,
                                      kernel::nft::Family family);

// Deletes the rules of `network` whose comment is none of MasqComment(valid attachment).
base::Status GcMasqRules(kernel::nft::Nftables& nft, const std::string& network,
                         const std::set<std::string>& valid_comments);

}  // namespace knet::cni
