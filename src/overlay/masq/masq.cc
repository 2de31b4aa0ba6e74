#include "overlay/masq/masq.h"

namespace knet::overlay::masq {

namespace nft = kernel::nft;

namespace {

constexpr nft::Family kFamilies[] = {nft::Family::kIp, nft::Family::kIp6};

base::Cidr Multicast(nft::Family f) {
  return *base::Cidr::Parse(f == nft::Family::kIp ? "224.0.0.0/4" : "ff00::/8");
}

}  // namespace

nft::Transaction Masq::Render(const std::vector<base::Cidr>& cluster_cidrs) const {
  nft::Transaction tx;
  for (nft::Family f : kFamilies) {
    std::vector<base::Cidr> cidrs;
    for (const base::Cidr& c : cluster_cidrs) {
      if (nft::FamilyOf(c.network()) == f) cidrs.push_back(c);
    }
    // "add" then "delete": the delete never fails on a missing table, and what follows starts
    // from an empty table in the same atomic transaction.
    tx.AddTable(f, table_).DeleteTable(f, table_);
    if (cidrs.empty()) continue;
    tx.AddTable(f, table_).AddChain(
        f, table_, kChain,
        nft::BaseChain{nft::ChainType::kNat, nft::Hook::kPostrouting, nft::kPrioritySrcnat});
    for (const base::Cidr& src : cidrs) {
      nft::Rule rule;
      rule.exprs.push_back(nft::MatchAddr{nft::Dir::kSource, src});
      for (const base::Cidr& dst : cidrs) {
        rule.exprs.push_back(nft::MatchAddr{nft::Dir::kDestination, dst, nft::Op::kNeq});
      }
      rule.exprs.push_back(nft::MatchAddr{nft::Dir::kDestination, Multicast(f), nft::Op::kNeq});
      rule.exprs.push_back(nft::Counter{});
      rule.exprs.push_back(nft::Masquerade{});
      rule.comment = "knet: masquerade pod traffic leaving " + src.ToString();
      tx.AddRule(f, table_, kChain, std::move(rule));
    }
  }
  return tx;
}

base::Status Masq::Apply(const std::vector<base::Cidr>& cluster_cidrs) {
  return nft_->Apply(Render(cluster_cidrs)).WithContext("applying the pod masquerade table");
}

base::Status Masq::Teardown() {
  return nft_->Apply(Render({})).WithContext("deleting the pod masquerade table");
}

}  // namespace knet::overlay::masq
