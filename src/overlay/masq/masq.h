// File: overlay/masq/masq.h
//
// Masq: pod traffic leaving the cluster CIDR is masqueraded (flannel's and Calico's natOutgoing),
// in knet's own nftables tables `ip knet-masq` and `ip6 knet-masq`:
//
//   table ip knet-masq {
//     chain postrouting {
//       type nat hook postrouting priority srcnat; policy accept;
//       ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 ip daddr != 224.0.0.0/4 counter masquerade
//     }
//   }
//
// Pod-to-pod traffic (inside the cluster CIDR) keeps its source address, as the Kubernetes network
// model requires; multicast is left alone (as flannel does). Apply replaces the whole table in one
// transaction (add, delete, add: idempotent and atomic, no moment without the rule); a family
// without a cluster CIDR has no table. Teardown deletes both tables.
//
//   masq::Masq masq(&nft);
//   RETURN_IF_ERROR(masq.Apply({*base::Cidr::Parse("10.244.0.0/16")}));
//
// Thread-compatible: one caller at a time (the nftables seam itself is thread-safe).
#pragma once

#include <string>
#include <vector>

#include "base/ip.h"
#include "base/status.h"
#include "kernel/nft/nft.h"

namespace knet::overlay::masq {

inline constexpr char kTable[] = "knet-masq";
inline constexpr char kChain[] = "postrouting";

class Masq {
 public:
  // `nft` must outlive the Masq.
  explicit Masq(kernel::nft::Nftables* nft, std::string table = kTable)
      : nft_(nft), table_(std::move(table)) {}

  // The transaction Apply runs (pure: for tests and dry runs).
  kernel::nft::Transaction Render(const std::vector<base::Cidr>& cluster_cidrs) const;
  // Makes the tables hold exactly the rules for `cluster_cidrs` (IPv4 and/or IPv6).
  base::Status Apply(const std::vector<base::Cidr>& cluster_cidrs);
  // Deletes both tables (idempotent).
  base::Status Teardown();

 private:
  kernel::nft::Nftables* nft_;
  std::string table_;
};

}  // namespace knet::overlay::masq
