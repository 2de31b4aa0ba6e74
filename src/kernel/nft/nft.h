// File: kernel/nft/nft.h
//
// The nftables seam: a Transaction (plain data: add table / chain / rule, delete rule by handle,
// flush chain, delete chain / table) that an Nftables applies atomically, and the listing of a
// chain's rules (handle + comment) so each owner can find and delete exactly its own rules. Rules
// are a small expression IR (Match / Verdict / Masquerade ...) that both implementations share:
// LinuxNftables (linux_nft.h, one netlink batch via libnftnl + libmnl) and FakeNftables
// (fake_nft.h, in memory, with the kernel's EEXIST/ENOENT/EBUSY and all-or-nothing rules).
//
//   Transaction tx;
//   tx.AddTable(Family::kIp, "knet-cni");
//   tx.AddChain(Family::kIp, "knet-cni", "postrouting",
//               BaseChain{ChainType::kNat, Hook::kPostrouting, kPrioritySrcnat});
//   tx.AddRule(Family::kIp, "knet-cni", "postrouting",
//              {.exprs = {MatchAddr{Dir::kSource, pod_ip}, Masquerade{}}, .comment = "mine"});
//   RETURN_IF_ERROR(nft.Apply(tx));
//
// Inside a rule, expressions run in order and every match must hold; like the nft program,
// a port match carries its own "meta l4proto" dependency, and an address match its family's
// "meta nfproto" dependency when the table is inet. Value types are thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/ip.h"
#include "base/status.h"

namespace knet::kernel::nft {

// NFPROTO_* values.
enum class Family : uint8_t { kInet = 1, kIp = 2, kIp6 = 10 };
std::string_view FamilyName(Family f);  // "inet", "ip", "ip6"
// The table family for an address: kIp or kIp6.
Family FamilyOf(const base::IPAddress& ip);

enum class Hook : uint8_t {
  kPrerouting = 0,
  kInput = 1,
  kForward = 2,
  kOutput = 3,
  kPostrouting = 4
};
enum class ChainType : uint8_t { kFilter, kNat, kRoute };
enum class Policy : uint8_t { kDrop = 0, kAccept = 1 };  // NF_DROP, NF_ACCEPT

// Named priorities, as nft spells them.
inline constexpr int32_t kPriorityDstnat = -100;
inline constexpr int32_t kPriorityFilter = 0;
inline constexpr int32_t kPrioritySrcnat = 100;

struct BaseChain {
  ChainType type = ChainType::kFilter;
  Hook hook = Hook::kInput;
  int32_t priority = kPriorityFilter;
  Policy policy = Policy::kAccept;
  friend bool operator==(const BaseChain&, const BaseChain&) = default;
};

// --- Expression IR -------------------------------------------------------------------------------

enum class Dir : uint8_t { kSource, kDestination };
enum class Op : uint8_t { kEq, kNeq };

// meta nfproto ipv4|ipv6
struct MatchNfproto {
  Family family = Family::kIp;
  friend bool operator==(const MatchNfproto&, const MatchNfproto&) = default;
};
// meta l4proto <IPPROTO_*>
struct MatchL4proto {
  uint8_t proto = 0;
  friend bool operator==(const MatchL4proto&, const MatchL4proto&) = default;
};
// meta iifname / oifname (exact name).
struct MatchIfname {
  bool output = false;  // false: iifname, true: oifname
  std::string name;
  Op op = Op::kEq;
  friend bool operator==(const MatchIfname&, const MatchIfname&) = default;
};
// ip/ip6 saddr/daddr == or != a prefix (a /32 or /128 prefix is one address).
struct MatchAddr {
  Dir dir = Dir::kSource;
  base::Cidr prefix;
  Op op = Op::kEq;
  friend bool operator==(const MatchAddr&, const MatchAddr&) = default;
};
// tcp/udp sport/dport == or != a port (host byte order).
struct MatchPort {
  uint8_t proto = 6;  // IPPROTO_TCP or IPPROTO_UDP
  Dir dir = Dir::kDestination;
  uint16_t port = 0;
  Op op = Op::kEq;
  friend bool operator==(const MatchPort&, const MatchPort&) = default;
};
struct Counter {
  friend bool operator==(const Counter&, const Counter&) = default;
};
struct Verdict {
  enum Kind : uint8_t { kAccept, kDrop, kJump, kGoto, kReturn };
  Kind kind = kAccept;
  std::string chain;  // kJump and kGoto only
  friend bool operator==(const Verdict&, const Verdict&) = default;
};
// masquerade: only in nat chains on the postrouting hook (the kernel refuses it elsewhere).
struct Masquerade {
  friend bool operator==(const Masquerade&, const Masquerade&) = default;
};

using Expr = std::variant<MatchNfproto, MatchL4proto, MatchIfname, MatchAddr, MatchPort, Counter,
                          Verdict, Masquerade>;

// A rule as applied. The comment travels as the rule's userdata (NFTNL_UDATA_RULE_COMMENT, as the
// nft program writes it; at most kMaxCommentLen bytes) and is how owners recognise their rules.
inline constexpr size_t kMaxCommentLen = 128;
struct Rule {
  std::vector<Expr> exprs;
  std::string comment;
  friend bool operator==(const Rule&, const Rule&) = default;
};

// A rule as listed: its kernel handle and its comment.
struct ListedRule {
  uint64_t handle = 0;
  std::string comment;
  friend bool operator==(const ListedRule&, const ListedRule&) = default;
};

// nft syntax for one expression / a rule ("ip saddr 10.0.0.2 masquerade comment \"x\""); `family`
// picks ip or ip6 payload names. For messages, tests and FakeNftables::Dump.
std::string ToString(const Expr& e, Family family);
std::string ToString(const Rule& r, Family family);

// --- Transactions --------------------------------------------------------------------------------

// Where an object lives.
struct ChainRef {
  Family family = Family::kIp;
  std::string table;
  std::string chain;
  friend bool operator==(const ChainRef&, const ChainRef&) = default;
};

struct AddTableOp {
  Family family;
  std::string table;
  bool exclusive;  // true: EEXIST when it exists ("create"); false: no-op then ("add")
};
struct AddChainOp {
  ChainRef ref;
  std::optional<BaseChain> base;  // nullopt: a regular chain (a jump/goto target)
  bool exclusive;
};
struct AddRuleOp {
  ChainRef ref;
  Rule rule;  // appended at the end of the chain
};
struct DeleteRuleOp {
  ChainRef ref;
  uint64_t handle;
};
struct FlushChainOp {
  ChainRef ref;
};
struct DeleteChainOp {
  ChainRef ref;
};
struct DeleteTableOp {
  Family family;
  std::string table;
};
using Operation = std::variant<AddTableOp, AddChainOp, AddRuleOp, DeleteRuleOp, FlushChainOp,
                               DeleteChainOp, DeleteTableOp>;

// What one operation does, for error messages: "adding rule to ip knet-cni postrouting".
std::string Describe(const Operation& op);

// An ordered list of operations applied all or nothing.
class Transaction {
 public:
  Transaction& AddTable(Family f, std::string table, bool exclusive = false);
  Transaction& AddChain(Family f, std::string table, std::string chain,
                        std::optional<BaseChain> base = std::nullopt, bool exclusive = false);
  Transaction& AddRule(Family f, std::string table, std::string chain, Rule rule);
  Transaction& DeleteRule(Family f, std::string table, std::string chain, uint64_t handle);
  Transaction& FlushChain(Family f, std::string table, std::string chain);
  Transaction& DeleteChain(Family f, std::string table, std::string chain);
  Transaction& DeleteTable(Family f, std::string table);

  const std::vector<Operation>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Operation> ops_;
};

// Checks what both implementations would refuse before talking to anyone: empty names, names
// over 255 bytes, comments over kMaxCommentLen, jump/goto without a chain, an address match of
// the wrong family for an ip/ip6 table, a port match with a protocol other than TCP/UDP.
base::Status Validate(const Transaction& tx);

// The nftables seam.
class Nftables {
 public:
  virtual ~Nftables() = default;

  // Applies every operation of `tx` in order, atomically: on error nothing changed. The error
  // names the first failing operation and keeps the kernel's errno: NotFound (ENOENT) for a
  // missing table/chain/rule, AlreadyExists (EEXIST) for an exclusive add of an existing object,
  // Unavailable (EBUSY) when deleting a chain that still has rules or is a jump target.
  virtual base::Status Apply(const Transaction& tx) = 0;

  // The rules of one chain in order. NotFound when the table or the chain does not exist.
  virtual base::StatusOr<std::vector<ListedRule>> ListRules(const ChainRef& chain) = 0;
};

}  // namespace knet::kernel::nft
