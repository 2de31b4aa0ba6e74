// File: kernel/nft/fake_nft.h
//
// FakeNftables: the Nftables seam in memory, for unit tests of the code that renders rules. It
// keeps the kernel's rules that callers depend on: "add" of an existing table/chain is a no-op and
// "create" (exclusive) is EEXIST; rules and chains need their table/chain (ENOENT), jump targets
// must exist (ENOENT), a chain with rules or jumps to it cannot be deleted (EBUSY), a base chain
// cannot change its type or hook (EOPNOTSUPP), masquerade needs a nat chain on postrouting
// (EOPNOTSUPP), handles are per table and never reused, and a transaction is all or nothing.
// Sets and maps: "add set" of an existing set with another type is EEXIST; elements need their
// set (ENOENT), must fit its key/data types (EINVAL), re-adding an element with other data is
// EEXIST, deleting a missing one ENOENT; rules and elements must refer to existing sets and jump
// targets (ENOENT); a set used by a rule, or a chain named by an element, cannot be deleted
// (EBUSY); dnat/snat need a nat chain and reject an input/forward/output hook (EOPNOTSUPP).
//
//   FakeNftables nft;
//   ASSERT_TRUE(nft.Apply(tx).ok());
//   EXPECT_EQ(nft.Dump(), "table ip t {\n  chain c {\n    ...");
//
// Thread-safe (a mutex), so it can stand in for LinuxNftables anywhere.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kernel/nft/nft.h"

namespace knet::kernel::nft {

class FakeNftables final : public Nftables {
 public:
  base::Status Apply(const Transaction& tx) override;
  base::StatusOr<std::vector<ListedRule>> ListRules(const ChainRef& chain) override;

  // The whole ruleset in nft's listing style, tables in (family, name) order, each rule followed by
  // "# handle N". Empty when there is no table.
  std::string Dump();
  // The next Apply whose Describe(op) of some operation contains `substring` fails there with
  // `err`, as if the kernel refused it (and, like the kernel, changes nothing).
  void FailNext(std::string substring, int err);
  // How many transactions were applied successfully.
  int applied() const;

 private:
  struct Chain {
    std::optional<BaseChain> base;
    std::vector<std::pair<uint64_t, Rule>> rules;
  };
  struct Set {
    SetSpec spec;
    std::map<std::string, Element> elements;  // by the text of the key
  };
  struct Table {
    std::map<std::string, Chain> chains;
    std::map<std::string, Set> sets;
    uint64_t next_handle = 1;
  };
  using Ruleset = std::map<std::pair<Family, std::string>, Table>;

  static base::Status ApplyOne(const Operation& op, Ruleset& rs);

  mutable std::mutex mu_;
  Ruleset ruleset_;  // GUARDED_BY(mu_)
  std::string fail_substring_;
  int fail_errno_ = 0;
  int applied_ = 0;
};

}  // namespace knet::kernel::nft
