#include "cni/masq.h"

#include <cstdio>

namespace knet::cni {
namespace {

namespace nft = kernel::nft;

constexpr nft::Family kFamilies[] = {nft::Family::kIp, nft::Family::kIp6};

std::string Hex64(std::string_view a, std::string_view b = {}) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a 64
  auto mix = [&](std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
  };
  mix(a);
  if (!b.empty()) {
    mix(std::string_view("\0", 1));
    mix(b);
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

nft::ChainRef Chain(nft::Family f) { return {f, kMasqTable, kMasqChain}; }

// The rules of the chain of family `f`; empty when the table or chain does not exist.
base::StatusOr<std::vector<nft::ListedRule>> Rules(nft::Nftables& nft, nft::Family f) {
  base::StatusOr<std::vector<nft::ListedRule>> rules = nft.ListRules(Chain(f));
  if (!rules.ok() && rules.status().code() == base::StatusCode::kNotFound) {
    return std::vector<nft::ListedRule>{};
  }
  return rules;
}

base::Cidr Multicast(nft::Family f) {
  return *base::Cidr::Parse(f == nft::Family::kIp ? "224.0.0.0/4" : "ff00::/8");
}

}  // namespace

std::string MasqComment(const MasqOwner& owner) {
  std::string c = owner.network + " " + owner.container_id + " " + owner.ifname;
  if (c.size() <= nft::kMaxCommentLen) return c;
  return "#" + Hex64(owner.network) + " " + Hex64(owner.container_id, owner.ifname);
}

bool IsMasqCommentOf(const std::string& comment, const std::string& network) {
  const std::string hashed = "#" + Hex64(network) + " ";
  if (comment.rfind(hashed, 0) == 0) return comment.size() == hashed.size() + 16;
  const std::string plain = network + " ";
  if (comment.rfind(plain, 0) != 0) return false;
  // The rest is "<container_id> <ifname>": neither contains a space.
  std::string rest = comment.substr(plain.size());
  size_t sp = rest.find(' ');
  return sp != std::string::npos && sp > 0 && sp + 1 < rest.size() &&
         rest.find(' ', sp + 1) == std::string::npos;
}

base::Status AddMasqRules(nft::Nftables& nft, const MasqOwner& owner,
                          const std::vector<MasqAddress>& ips, nft::Transaction* tx) {
  const std::string comment = MasqComment(owner);
  for (nft::Family f : kFamilies) {
    bool used = false;
    for (const MasqAddress& a : ips) used = used || nft::FamilyOf(a.ip) == f;
    if (!used) continue;
    tx->AddTable(f, kMasqTable)
        .AddChain(
            f, kMasqTable, kMasqChain,
            nft::BaseChain{nft::ChainType::kNat, nft::Hook::kPostrouting, nft::kPrioritySrcnat});
    ASSIGN_OR_RETURN(std::vector<nft::ListedRule> existing, Rules(nft, f));
    for (const nft::ListedRule& r : existing) {
      if (r.comment == comment) tx->DeleteRule(f, kMasqTable, kMasqChain, r.handle);
    }
    for (const MasqAddress& a : ips) {
      if (nft::FamilyOf(a.ip) != f) continue;
      tx->AddRule(f, kMasqTable, kMasqChain,
                  {.exprs = {nft::MatchAddr{nft::Dir::kSource, base::Cidr::HostPrefix(a.ip)},
                             nft::MatchAddr{nft::Dir::kDestination, a.subnet, nft::Op::kNeq},
                             nft::MatchAddr{nft::Dir::kDestination, Multicast(f), nft::Op::kNeq},
                             nft::Counter{}, nft::Masquerade{}},
                   .comment = comment});
    }
  }
  return base::OkStatus();
}

base::Status DelMasqRules(nft::Nftables& nft, const MasqOwner& owner) {
  const std::string comment = MasqComment(owner);
  base::Status s;
  // A concurrent DEL or GC of the same attachment may delete a listed rule first (ENOENT, and
  // the transaction did nothing): list again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    nft::Transaction tx;
    for (nft::Family f : kFamilies) {
      ASSIGN_OR_RETURN(std::vector<nft::ListedRule> rules, Rules(nft, f));
      for (const nft::ListedRule& r : rules) {
        if (r.comment == comment) tx.DeleteRule(f, kMasqTable, kMasqChain, r.handle);
      }
    }
    if (tx.empty()) return base::OkStatus();
    s = nft.Apply(tx);
    if (s.code() != base::StatusCode::kNotFound) return s;
  }
  return s;
}

base::StatusOr<size_t> CountMasqRules(nft::Nftables& nft, const MasqOwner& owner,
                                      nft::Family family) {
  const std::string comment = MasqComment(owner);
  ASSIGN_OR_RETURN(std::vector<nft::ListedRule> rules, Rules(nft, family));
  size_t n = 0;
  for (const nft::ListedRule& r : rules) n += r.comment == comment ? 1 : 0;
  return n;
}

base::Status GcMasqRules(nft::Nftables& nft, const std::string& network,
                         const std::set<std::string>& valid_comments) {
  nft::Transaction tx;
  for (nft::Family f : kFamilies) {
    ASSIGN_OR_RETURN(std::vector<nft::ListedRule> rules, Rules(nft, f));
    for (const nft::ListedRule& r : rules) {
      if (IsMasqCommentOf(r.comment, network) && valid_comments.count(r.comment) == 0) {
        tx.DeleteRule(f, kMasqTable, kMasqChain, r.handle);
      }
    }
  }
  if (tx.empty()) return base::OkStatus();
  return nft.Apply(tx);
}

}  // namespace knet::cni
