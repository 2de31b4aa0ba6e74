// File: kernel/nft/nft.h
//
// The nftables seam: a Transaction (plain data: add table / chain / rule, delete rule by handle,
// flush chain, delete chain / table, add / delete named sets and maps and their elements) that an
// Nftables applies atomically, and the listing of a chain's rules (handle + comment) so each owner
// can find and delete exactly its own rules. Rules are a small expression IR (Match / Verdict /
// Masquerade / Vmap / Nat / numgen / ct state / reject ...) that both implementations share:
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
// The service proxy's shape (bench/results/nft.md): a verdict map of services and a data map of
// endpoints, changed afterwards by element adds/deletes only.
//
//   tx.AddSet(Family::kIp, "knet-proxy", "services",
//             {.key = {DataType::kIpv4Addr, DataType::kInetProto, DataType::kInetService},
//              .verdict_map = true});
//   tx.AddRule(Family::kIp, "knet-proxy", "prerouting",
//              {.exprs = {Vmap{{Field::kIpDaddr, Field::kL4proto, Field::kThDport}, "services"}}});
//   tx.AddRule(Family::kIp, "knet-proxy", "pick-10",
//              {.exprs = {Nat{.key = {Field::kIpDaddr, Field::kL4proto, Field::kThDport,
//                                     NumgenRandom{10}}, .map = "endpoints"}}});
//   tx.AddElements(Family::kIp, "knet-proxy", "services",
//                  {{.key = {Value::Addr(vip), Value::Proto(6), Value::Port(80)},
//                    .verdict = Verdict{Verdict::kGoto, "pick-10"}}});
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

// --- Sets, maps and the expressions that use them (issue 8) ---

// nft's datatype ids (the key/data type a set declares; the kernel stores them for nft listings).
// Widths: ipv4_addr 4, ipv6_addr 16, inet_proto 1, inet_service 2 (network order), mark and
// integer 4 (host order, what numgen and meta mark produce). In a concatenation every field takes
// a multiple of 4 bytes (one or more 32-bit registers).
enum class DataType : uint8_t {
  kInteger = 4,
  kIpv4Addr = 7,
  kIpv6Addr = 8,
  kInetProto = 12,
  kInetService = 13,
  kMark = 19,
};
std::string_view DataTypeName(DataType t);  // "ipv4_addr", ...
uint32_t DataTypeLen(DataType t);           // bytes before padding: 4, 16, 1, 2

// One field of a set key or map data, typed: Value::Addr(ip), Value::Proto(6), Value::Port(80),
// Value::Integer(3) (integer / mark).
struct Value {
  DataType type = DataType::kInteger;
  base::IPAddress addr;  // kIpv4Addr / kIpv6Addr
  uint32_t number = 0;   // the others
  static Value Addr(const base::IPAddress& ip);
  static Value Proto(uint8_t p) { return {DataType::kInetProto, {}, p}; }
  static Value Port(uint16_t p) { return {DataType::kInetService, {}, p}; }
  static Value Integer(uint32_t n) { return {DataType::kInteger, {}, n}; }
  friend bool operator==(const Value&, const Value&) = default;
};

// What a lookup key is made of, loaded into consecutive registers: a packet field, a random
// number (numgen random mod N, 0..N-1), or a constant (e.g. a service id).
enum class Field : uint8_t {
  kIpSaddr,
  kIpDaddr,
  kIp6Saddr,
  kIp6Daddr,
  kL4proto,
  kThSport,
  kThDport
};
struct NumgenRandom {
  uint32_t mod = 1;
  friend bool operator==(const NumgenRandom&, const NumgenRandom&) = default;
};
using KeyPart = std::variant<Field, NumgenRandom, Value>;
uint32_t KeyPartLen(const KeyPart& k);  // bytes before padding

// A set/map element: the key fields and, for maps, either data fields or a verdict.
struct Element {
  std::vector<Value> key;
  std::vector<Value> data;         // data maps
  std::optional<Verdict> verdict;  // verdict maps (jump/goto/accept/drop/return)
  friend bool operator==(const Element&, const Element&) = default;
};

// `key @set` (membership; op kNeq: "not in set").
struct MatchSet {
  std::vector<KeyPart> key;
  std::string set;
  Op op = Op::kEq;
  friend bool operator==(const MatchSet&, const MatchSet&) = default;
};
// `key vmap @set` (named; `elements` empty) or `key vmap { k : verdict, ... }` (anonymous: set
// empty, elements inline; the kernel creates a constant set bound to the rule).
struct Vmap {
  std::vector<KeyPart> key;
  std::string set;
  std::vector<Element> elements;
  friend bool operator==(const Vmap&, const Vmap&) = default;
};
// `numgen random mod N <op> value`, op one of ==, <.
struct MatchNumgen {
  uint32_t mod = 1;
  uint32_t value = 0;
  bool less = false;  // false: ==, true: <
  friend bool operator==(const MatchNumgen&, const MatchNumgen&) = default;
};
// ct state in { ... }: a bit mask of kCt* states.
inline constexpr uint32_t kCtInvalid = 1, kCtEstablished = 2, kCtRelated = 4, kCtNew = 8;
struct MatchCtState {
  uint32_t states = kCtEstablished | kCtRelated;
  friend bool operator==(const MatchCtState&, const MatchCtState&) = default;
};
// dnat/snat to a fixed address (and port, 0: keep), or (map nonempty) to `key map @map` whose
// data is an address or address . inet_service. `family` is kIp or kIp6 (required in inet tables).
struct Nat {
  enum Kind : uint8_t { kDnat, kSnat };
  Kind kind = kDnat;
  Family family = Family::kIp;
  base::IPAddress addr;
  uint16_t port = 0;
  std::vector<KeyPart> key;  // map form
  std::string map;
  bool map_with_port = true;  // map data is address . inet_service (false: address only)
  friend bool operator==(const Nat&, const Nat&) = default;
};
// reject with tcp reset (adds its "meta l4proto tcp" dependency) or icmp(v6/x) port-unreachable.
struct Reject {
  bool tcp_reset = false;
  friend bool operator==(const Reject&, const Reject&) = default;
};
// meta mark set N
struct SetMark {
  uint32_t mark = 0;
  friend bool operator==(const SetMark&, const SetMark&) = default;
};
// `update @set { key }` (refresh: adds the key, or resets its timeout when present) or, `add`,
// `add @set { key }` (adds it only when absent). The set must be declared `dynamic` (SetSpec);
// the element gets the set's default timeout. A dynset expression (NFT_DYNSET_OP_UPDATE / ADD).
struct UpdateSet {
  std::vector<KeyPart> key;
  std::string set;
  bool add = false;  // false: update, true: add
  friend bool operator==(const UpdateSet&, const UpdateSet&) = default;
};

using Expr = std::variant<MatchNfproto, MatchL4proto, MatchIfname, MatchAddr, MatchPort, Counter,
                          Verdict, Masquerade, MatchSet, Vmap, MatchNumgen, MatchCtState, Nat,
                          Reject, SetMark, UpdateSet>;

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
// A named set (data empty and !verdict_map) or map (data types, or a verdict map).
struct SetSpec {
  std::vector<DataType> key;  // one type, or a concatenation
  std::vector<DataType> data;
  bool verdict_map = false;
  // flags dynamic (NFT_SET_EVAL): rules may add elements (UpdateSet).
  bool dynamic = false;
  // flags timeout with this default (NFT_SET_TIMEOUT, NFTA_SET_TIMEOUT), in seconds; 0: elements
  // never expire.
  uint32_t timeout_s = 0;
  friend bool operator==(const SetSpec&, const SetSpec&) = default;
};
struct SetRef {
  Family family = Family::kIp;
  std::string table;
  std::string set;
  friend bool operator==(const SetRef&, const SetRef&) = default;
};
std::string SetRefString(const SetRef& r);  // "ip knet-proxy services"
struct AddSetOp {
  SetRef ref;
  SetSpec spec;
  bool exclusive;
};
struct DeleteSetOp {
  SetRef ref;
};
// "add element": an existing element with the same data is a no-op, with other data EEXIST.
struct AddElementsOp {
  SetRef ref;
  std::vector<Element> elements;
};
// ENOENT when an element is missing; only the keys are used.
struct DeleteElementsOp {
  SetRef ref;
  std::vector<Element> elements;
};
using Operation =
    std::variant<AddTableOp, AddChainOp, AddRuleOp, DeleteRuleOp, FlushChainOp, DeleteChainOp,
                 DeleteTableOp, AddSetOp, DeleteSetOp, AddElementsOp, DeleteElementsOp>;

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
  Transaction& AddSet(Family f, std::string table, std::string set, SetSpec spec,
                      bool exclusive = false);
  Transaction& DeleteSet(Family f, std::string table, std::string set);
  Transaction& AddElements(Family f, std::string table, std::string set,
                           std::vector<Element> elements);
  Transaction& DeleteElements(Family f, std::string table, std::string set,
                              std::vector<Element> elements);

  const std::vector<Operation>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  std::vector<Operation> ops_;
};

// Checks what both implementations would refuse before talking to anyone: empty names, names
// over 255 bytes, comments over kMaxCommentLen, jump/goto without a chain, an address match of
// the wrong family for an ip/ip6 table, a port match with a protocol other than TCP/UDP, numgen
// mod 0, a map without data types, element fields that do not match their own types, more key and
// data registers than the kernel has (16 x 32 bits).
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
