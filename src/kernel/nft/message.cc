#include "kernel/nft/message.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <memory>

namespace knet::kernel::nft {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 has no aggregate CTAD

// Large enough for any single message we build (a rule is a few hundred bytes; element lists are
// split into messages of kElementsPerMessage).
constexpr size_t kScratch = 65536;
constexpr size_t kElementsPerMessage = 256;
// nft's TYPE_BITS: a concatenation's type id is the field types shifted in 6 bits at a time.
constexpr uint32_t kTypeBits = 6;
// nft's datatype id of "integer" for numgen results in anonymous maps.
constexpr DataType kNumgenType = DataType::kInteger;

struct TableDeleter {
  void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
struct ChainDeleter {
  void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
struct RuleDeleter {
  void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};
using TablePtr = std::unique_ptr<nftnl_table, TableDeleter>;
using ChainPtr = std::unique_ptr<nftnl_chain, ChainDeleter>;
using RulePtr = std::unique_ptr<nftnl_rule, RuleDeleter>;
struct SetDeleter {
  void operator()(nftnl_set* s) const { nftnl_set_free(s); }
};
using SetPtr = std::unique_ptr<nftnl_set, SetDeleter>;

// Appends the message at the start of `scratch` (its nlmsg_len bytes, padded) to `out`.
void AppendMessage(const std::vector<char>& scratch, std::vector<uint8_t>* out) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(scratch.data());
  const auto* p = reinterpret_cast<const uint8_t*>(scratch.data());
  out->insert(out->end(), p, p + nlh->nlmsg_len);
  out->resize(out->size() + (MNL_ALIGN(nlh->nlmsg_len) - nlh->nlmsg_len), 0);
}

nlmsghdr* Header(std::vector<char>& scratch, uint16_t type, Family f, uint16_t flags,
                 uint32_t seq) {
  std::memset(scratch.data(), 0, scratch.size());
  return nftnl_nlmsg_build_hdr(scratch.data(), type, static_cast<uint16_t>(f), flags, seq);
}

TablePtr MakeTable(Family f, const std::string& name) {
  TablePtr t(nftnl_table_alloc());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, static_cast<uint32_t>(f));
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, name.c_str());
  return t;
}

ChainPtr MakeChain(const ChainRef& r) {
  ChainPtr c(nftnl_chain_alloc());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, static_cast<uint32_t>(r.family));
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, r.table.c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, r.chain.c_str());
  return c;
}

RulePtr MakeRule(const ChainRef& r) {
  RulePtr rule(nftnl_rule_alloc());
  nftnl_rule_set_u32(rule.get(), NFTNL_RULE_FAMILY, static_cast<uint32_t>(r.family));
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_TABLE, r.table.c_str());
  nftnl_rule_set_str(rule.get(), NFTNL_RULE_CHAIN, r.chain.c_str());
  return rule;
}

const char* TypeString(ChainType t) {
  switch (t) {
    case ChainType::kNat:
      return "nat";
    case ChainType::kRoute:
      return "route";
    case ChainType::kFilter:
      break;
  }
  return "filter";
}

// --- expressions: each helper appends to `rule`, which takes ownership ---

void Meta(nftnl_rule* rule, uint32_t key, uint32_t dreg = NFT_REG_1) {
  nftnl_expr* e = nftnl_expr_alloc("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
  nftnl_rule_add_expr(rule, e);
}

void Cmp(nftnl_rule* rule, Op op, const void* data, uint32_t len) {
  nftnl_expr* e = nftnl_expr_alloc("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op == Op::kEq ? NFT_CMP_EQ : NFT_CMP_NEQ);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
  nftnl_rule_add_expr(rule, e);
}

void Payload(nftnl_rule* rule, uint32_t base, uint32_t offset, uint32_t len,
             uint32_t dreg = NFT_REG_1) {
  nftnl_expr* e = nftnl_expr_alloc("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_rule_add_expr(rule, e);
}

void Immediate(nftnl_rule* rule, uint32_t dreg, const void* data, uint32_t len) {
  nftnl_expr* e = nftnl_expr_alloc("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
  nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
  nftnl_rule_add_expr(rule, e);
}

void Numgen(nftnl_rule* rule, uint32_t mod, uint32_t dreg) {
  nftnl_expr* e = nftnl_expr_alloc("numgen");
  nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, dreg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, mod);
  nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
  nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, 0);
  nftnl_rule_add_expr(rule, e);
}

// A value's bytes as the kernel compares them: addresses and ports in network order, integers in
// host order (what numgen/meta write).
void AppendValue(const Value& v, std::vector<uint8_t>* out) {
  switch (v.type) {
    case DataType::kIpv4Addr:
    case DataType::kIpv6Addr: {
      auto b = v.addr.bytes();
      out->insert(out->end(), b.begin(), b.end());
      return;
    }
    case DataType::kInetProto:
      out->push_back(static_cast<uint8_t>(v.number));
      return;
    case DataType::kInetService: {
      uint16_t port = htons(static_cast<uint16_t>(v.number));
      const auto* p = reinterpret_cast<const uint8_t*>(&port);
      out->insert(out->end(), p, p + 2);
      return;
    }
    case DataType::kInteger:
    case DataType::kMark: {
      const auto* p = reinterpret_cast<const uint8_t*>(&v.number);
      out->insert(out->end(), p, p + 4);
      return;
    }
  }
}

// A key or data as one blob: a single field unpadded, a concatenation with each field padded to
// 32 bits (the register layout).
std::vector<uint8_t> Encode(const std::vector<Value>& values) {
  std::vector<uint8_t> out;
  for (const Value& v : values) {
    AppendValue(v, &out);
    if (values.size() > 1) out.resize((out.size() + 3) / 4 * 4, 0);
  }
  return out;
}

uint32_t TypesLen(const std::vector<DataType>& types) {
  if (types.size() == 1) return DataTypeLen(types[0]);
  uint32_t n = 0;
  for (DataType t : types) n += (DataTypeLen(t) + 3) / 4 * 4;
  return n;
}

uint32_t TypesId(const std::vector<DataType>& types) {
  uint32_t id = 0;
  for (DataType t : types) id = (id << kTypeBits) | static_cast<uint32_t>(t);
  return id;
}

DataType FieldType(const KeyPart& k) {
  return std::visit(Overloaded{
                        [](Field f) {
                          switch (f) {
                            case Field::kIpSaddr:
                            case Field::kIpDaddr:
                              return DataType::kIpv4Addr;
                            case Field::kIp6Saddr:
                            case Field::kIp6Daddr:
                              return DataType::kIpv6Addr;
                            case Field::kL4proto:
                              return DataType::kInetProto;
                            case Field::kThSport:
                            case Field::kThDport:
                              break;
                          }
                          return DataType::kInetService;
                        },
                        [](const NumgenRandom&) { return kNumgenType; },
                        [](const Value& v) { return v.type; },
                    },
                    k);
}

// Loads a key into consecutive 32-bit registers from NFT_REG32_00 and returns how many it took.
// In inet tables an address field first checks its family (as nft adds "meta nfproto").
uint32_t LoadKey(nftnl_rule* rule, Family table_family, const std::vector<KeyPart>& key);

// reg1 = reg1 & mask (as nft renders a prefix match: "bitwise reg 1 = (reg 1 & mask) ^ 0").
void Mask(nftnl_rule* rule, const uint8_t* mask, uint32_t len) {
  std::array<uint8_t, 16> zero{};
  nftnl_expr* e = nftnl_expr_alloc("bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero.data(), len);
  nftnl_rule_add_expr(rule, e);
}

void Nfproto(nftnl_rule* rule, Family f) {
  Meta(rule, NFT_META_NFPROTO);
  uint8_t v = f == Family::kIp6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
  Cmp(rule, Op::kEq, &v, 1);
}

void L4proto(nftnl_rule* rule, uint8_t proto) {
  Meta(rule, NFT_META_L4PROTO);
  Cmp(rule, Op::kEq, &proto, 1);
}

uint32_t LoadKey(nftnl_rule* rule, Family table_family, const std::vector<KeyPart>& key) {
  // Dependencies first: they use NFT_REG_1, which overlaps the key registers.
  if (table_family == Family::kInet) {
    for (const KeyPart& k : key) {
      const Field* f = std::get_if<Field>(&k);
      if (f == nullptr) continue;
      if (*f == Field::kIpSaddr || *f == Field::kIpDaddr) Nfproto(rule, Family::kIp);
      if (*f == Field::kIp6Saddr || *f == Field::kIp6Daddr) Nfproto(rule, Family::kIp6);
    }
  }
  uint32_t reg = NFT_REG32_00;
  for (const KeyPart& k : key) {
    std::visit(Overloaded{
                   [&](Field f) {
                     switch (f) {
                       case Field::kIpSaddr:
                         return Payload(rule, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, reg);
                       case Field::kIpDaddr:
                         return Payload(rule, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, reg);
                       case Field::kIp6Saddr:
                         return Payload(rule, NFT_PAYLOAD_NETWORK_HEADER, 8, 16, reg);
                       case Field::kIp6Daddr:
                         return Payload(rule, NFT_PAYLOAD_NETWORK_HEADER, 24, 16, reg);
                       case Field::kL4proto:
                         return Meta(rule, NFT_META_L4PROTO, reg);
                       case Field::kThSport:
                         return Payload(rule, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, reg);
                       case Field::kThDport:
                         return Payload(rule, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg);
                     }
                   },
                   [&](const NumgenRandom& n) { Numgen(rule, n.mod, reg); },
                   [&](const Value& v) {
                     std::vector<uint8_t> bytes;
                     AppendValue(v, &bytes);
                     bytes.resize((bytes.size() + 3) / 4 * 4, 0);
                     Immediate(rule, reg, bytes.data(), static_cast<uint32_t>(bytes.size()));
                   },
               },
               k);
    reg += (KeyPartLen(k) + 3) / 4;
  }
  return reg - NFT_REG32_00;
}

// Appends a lookup of the key in registers from NFT_REG32_00 in `set` (named, or anonymous by
// `set_id`); dreg kNoDreg: a membership match (NFT_REG_VERDICT is 0, a vmap).
constexpr uint32_t kNoDreg = ~0u;
void Lookup(nftnl_rule* rule, const std::string& set, uint32_t set_id, uint32_t dreg, bool invert) {
  nftnl_expr* e = nftnl_expr_alloc("lookup");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG32_00);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
  if (set_id != 0) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
  if (dreg != kNoDreg) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, dreg);
  if (invert) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  nftnl_rule_add_expr(rule, e);
}

void NatExpr(nftnl_rule* rule, const Nat& n, uint32_t addr_reg, uint32_t proto_reg) {
  nftnl_expr* e = nftnl_expr_alloc("nat");
  nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, n.kind == Nat::kDnat ? NFT_NAT_DNAT : NFT_NAT_SNAT);
  nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY,
                     n.family == Family::kIp6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
  nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_reg);
  if (proto_reg != 0) nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_reg);
  nftnl_rule_add_expr(rule, e);
}

// Element verdict code as the kernel wants it.
uint32_t VerdictCode(Verdict::Kind k) {
  switch (k) {
    case Verdict::kAccept:
      return NF_ACCEPT;
    case Verdict::kDrop:
      return NF_DROP;
    case Verdict::kJump:
      return static_cast<uint32_t>(NFT_JUMP);
    case Verdict::kGoto:
      return static_cast<uint32_t>(NFT_GOTO);
    case Verdict::kReturn:
      return static_cast<uint32_t>(NFT_RETURN);
  }
  return NF_ACCEPT;
}

void AddExpr(nftnl_rule* rule, Family table_family, const Expr& expr, uint32_t anon_set_id) {
  std::visit(Overloaded{
                 [&](const MatchNfproto& m) { Nfproto(rule, m.family); },
                 [&](const MatchL4proto& m) { L4proto(rule, m.proto); },
                 [&](const MatchIfname& m) {
                   Meta(rule, m.output ? NFT_META_OIFNAME : NFT_META_IIFNAME);
                   std::array<char, IFNAMSIZ> name{};
                   std::memcpy(name.data(), m.name.data(),
                               std::min(m.name.size(), name.size() - 1));
                   Cmp(rule, m.op, name.data(), IFNAMSIZ);
                 },
                 [&](const MatchAddr& m) {
                   bool v4 = m.prefix.family() == base::IPFamily::kV4;
                   if (table_family == Family::kInet)
                     Nfproto(rule, v4 ? Family::kIp : Family::kIp6);
                   // struct iphdr: saddr at 12, daddr at 16; struct ipv6hdr: saddr at 8, daddr
                   // at 24.
                   uint32_t offset =
                       v4 ? (m.dir == Dir::kSource ? 12 : 16) : (m.dir == Dir::kSource ? 8 : 24);
                   auto len = static_cast<uint32_t>(v4 ? 4 : 16);
                   Payload(rule, NFT_PAYLOAD_NETWORK_HEADER, offset, len);
                   if (m.prefix.prefix_len() != m.prefix.network().BitLen()) {
                     base::IPAddress mask = m.prefix.Netmask();
                     Mask(rule, mask.bytes().data(), len);
                   }
                   Cmp(rule, m.op, m.prefix.network().bytes().data(), len);
                 },
                 [&](const MatchPort& m) {
                   L4proto(rule, m.proto);
                   // tcp and udp headers both start with source port, destination port.
                   Payload(rule, NFT_PAYLOAD_TRANSPORT_HEADER, m.dir == Dir::kSource ? 0 : 2, 2);
                   uint16_t port = htons(m.port);
                   Cmp(rule, m.op, &port, 2);
                 },
                 [&](const Counter&) { nftnl_rule_add_expr(rule, nftnl_expr_alloc("counter")); },
                 [&](const Verdict& v) {
                   nftnl_expr* e = nftnl_expr_alloc("immediate");
                   nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
                   int code = NF_ACCEPT;
                   switch (v.kind) {
                     case Verdict::kAccept:
                       code = NF_ACCEPT;
                       break;
                     case Verdict::kDrop:
                       code = NF_DROP;
                       break;
                     case Verdict::kJump:
                       code = NFT_JUMP;
                       break;
                     case Verdict::kGoto:
                       code = NFT_GOTO;
                       break;
                     case Verdict::kReturn:
                       code = NFT_RETURN;
                       break;
                   }
                   nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(code));
                   if (v.kind == Verdict::kJump || v.kind == Verdict::kGoto) {
                     nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
                   }
                   nftnl_rule_add_expr(rule, e);
                 },
                 [&](const Masquerade&) { nftnl_rule_add_expr(rule, nftnl_expr_alloc("masq")); },
                 [&](const MatchSet& m) {
                   LoadKey(rule, table_family, m.key);
                   Lookup(rule, m.set, 0, kNoDreg, m.op == Op::kNeq);
                 },
                 [&](const Vmap& m) {
                   LoadKey(rule, table_family, m.key);
                   if (m.set.empty()) {
                     Lookup(rule, "__map%d", anon_set_id, NFT_REG_VERDICT, false);
                   } else {
                     Lookup(rule, m.set, 0, NFT_REG_VERDICT, false);
                   }
                 },
                 [&](const MatchNumgen& m) {
                   Numgen(rule, m.mod, NFT_REG_1);
                   nftnl_expr* e = nftnl_expr_alloc("cmp");
                   nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
                   nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, m.less ? NFT_CMP_LT : NFT_CMP_EQ);
                   // Host order, as numgen writes it; cmp LT compares big-endian bytes, so a
                   // "<" needs the value byteswapped like nft does (byteorder hton first).
                   uint32_t v = m.value;
                   if (m.less) {
                     nftnl_expr* b = nftnl_expr_alloc("byteorder");
                     nftnl_expr_set_u32(b, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
                     nftnl_expr_set_u32(b, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
                     nftnl_expr_set_u32(b, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
                     nftnl_expr_set_u32(b, NFTNL_EXPR_BYTEORDER_LEN, 4);
                     nftnl_expr_set_u32(b, NFTNL_EXPR_BYTEORDER_SIZE, 4);
                     nftnl_rule_add_expr(rule, b);
                     v = htonl(v);
                   }
                   nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, &v, 4);
                   nftnl_rule_add_expr(rule, e);
                 },
                 [&](const MatchCtState& m) {
                   nftnl_expr* e = nftnl_expr_alloc("ct");
                   nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
                   nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
                   nftnl_rule_add_expr(rule, e);
                   uint32_t mask = m.states;
                   Mask(rule, reinterpret_cast<const uint8_t*>(&mask), 4);
                   uint32_t zero = 0;
                   Cmp(rule, Op::kNeq, &zero, 4);
                 },
                 [&](const Nat& n) {
                   if (!n.map.empty()) {
                     uint32_t used = LoadKey(rule, table_family, n.key);
                     uint32_t dreg = NFT_REG32_00 + used;
                     Lookup(rule, n.map, 0, dreg, false);
                     uint32_t addr_regs = n.family == Family::kIp6 ? 4 : 1;
                     NatExpr(rule, n, dreg, n.map_with_port ? dreg + addr_regs : 0);
                     return;
                   }
                   auto addr = n.addr.bytes();
                   Immediate(rule, NFT_REG_1, addr.data(), static_cast<uint32_t>(addr.size()));
                   if (n.port != 0) {
                     uint16_t port = htons(n.port);
                     Immediate(rule, NFT_REG_2, &port, 2);
                   }
                   NatExpr(rule, n, NFT_REG_1, n.port != 0 ? NFT_REG_2 : 0);
                 },
                 [&](const Reject& r) {
                   nftnl_expr* e = nftnl_expr_alloc("reject");
                   uint32_t type = NFT_REJECT_ICMP_UNREACH;
                   uint32_t code = 3;  // ICMP_PORT_UNREACH
                   if (r.tcp_reset) {
                     L4proto(rule, IPPROTO_TCP);
                     type = NFT_REJECT_TCP_RST;
                     code = 0;
                   } else if (table_family == Family::kInet) {
                     type = NFT_REJECT_ICMPX_UNREACH;
                     code = NFT_REJECT_ICMPX_PORT_UNREACH;
                   } else if (table_family == Family::kIp6) {
                     code = 4;  // ICMPV6_PORT_UNREACH
                   }
                   nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
                   nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, static_cast<uint8_t>(code));
                   nftnl_rule_add_expr(rule, e);
                 },
                 [&](const SetMark& m) {
                   Immediate(rule, NFT_REG_1, &m.mark, 4);
                   nftnl_expr* e = nftnl_expr_alloc("meta");
                   nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
                   nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
                   nftnl_rule_add_expr(rule, e);
                 },
             },
             expr);
}

void SetComment(nftnl_rule* rule, const std::string& comment) {
  if (comment.empty()) return;
  nftnl_udata_buf* buf = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
  nftnl_udata_put_strz(buf, NFTNL_UDATA_RULE_COMMENT, comment.c_str());
  nftnl_rule_set_data(rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(buf),
                      nftnl_udata_buf_len(buf));
  nftnl_udata_buf_free(buf);
}

SetPtr MakeSet(const SetRef& r) {
  SetPtr set(nftnl_set_alloc());
  nftnl_set_set_u32(set.get(), NFTNL_SET_FAMILY, static_cast<uint32_t>(r.family));
  nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, r.table.c_str());
  nftnl_set_set_str(set.get(), NFTNL_SET_NAME, r.set.c_str());
  return set;
}

void AddElem(nftnl_set* set, const Element& el) {
  nftnl_set_elem* e = nftnl_set_elem_alloc();
  std::vector<uint8_t> key = Encode(el.key);
  nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key.data(), static_cast<uint32_t>(key.size()));
  if (el.verdict) {
    nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, VerdictCode(el.verdict->kind));
    if (el.verdict->kind == Verdict::kJump || el.verdict->kind == Verdict::kGoto) {
      nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, el.verdict->chain.c_str());
    }
  } else if (!el.data.empty()) {
    std::vector<uint8_t> data = Encode(el.data);
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data.data(), static_cast<uint32_t>(data.size()));
  }
  nftnl_set_elem_add(set, e);
}

// Tells nft (listing only; the kernel ignores it) that a single integer/mark key is in host byte
// order, as nft itself records it; otherwise `nft list` shows numgen slot 1 as 16777216.
void SetKeyByteorder(nftnl_set* set, const std::vector<DataType>& key) {
  if (key.size() != 1 || (key[0] != DataType::kInteger && key[0] != DataType::kMark)) return;
  constexpr uint32_t kHostEndian = 1;  // nft's BYTEORDER_HOST_ENDIAN
  nftnl_udata_buf* buf = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
  nftnl_udata_put_u32(buf, NFTNL_UDATA_SET_KEYBYTEORDER, kHostEndian);
  nftnl_set_set_data(set, NFTNL_SET_USERDATA, nftnl_udata_buf_data(buf), nftnl_udata_buf_len(buf));
  nftnl_udata_buf_free(buf);
}

// Builds a batch message by message, remembering which operation each belongs to.
class Builder {
 public:
  explicit Builder(Batch* b) : b_(b), scratch_(kScratch), seq_(b->first_op_seq) {}

  nlmsghdr* Begin(uint16_t type, Family f, uint16_t flags) {
    return Header(scratch_, type, f, flags, seq_);
  }
  void End() {
    last_offset_ = b_->bytes.size();
    AppendMessage(scratch_, &b_->bytes);
    b_->op_of_message.push_back(op_);
    ++seq_;
  }
  void StartOp(size_t index) { op_ = index; }
  uint32_t NextSetId() { return ++set_id_; }
  // Where the last message built starts in the batch bytes.
  size_t last_offset() const { return last_offset_; }

 private:
  Batch* b_;
  std::vector<char> scratch_;
  uint32_t seq_ = 0;
  size_t op_ = 0;
  uint32_t set_id_ = 0;  // NFTA_SET_ID: unique within the batch
  size_t last_offset_ = 0;
};

// Elements in messages of at most kElementsPerMessage.
void BuildElements(Builder& bld, uint16_t type, uint16_t flags, const SetRef& ref, uint32_t set_id,
                   const std::vector<Element>& elements) {
  for (size_t i = 0; i < elements.size(); i += kElementsPerMessage) {
    SetPtr set = MakeSet(ref);
    if (set_id != 0) nftnl_set_set_u32(set.get(), NFTNL_SET_ID, set_id);
    for (size_t j = i; j < std::min(elements.size(), i + kElementsPerMessage); ++j) {
      AddElem(set.get(), elements[j]);
    }
    nlmsghdr* h = bld.Begin(type, ref.family, flags);
    nftnl_set_elems_nlmsg_build_payload(h, set.get());
    bld.End();
  }
}

// An anonymous constant verdict map for a rule's inline vmap: NEWSET + NEWSETELEM, then the rule
// refers to it by set id (the kernel names it __map<N>).
uint32_t BuildAnonymousMap(Builder& bld, const ChainRef& ref, const Vmap& m) {
  uint32_t id = bld.NextSetId();
  SetRef sref{ref.family, ref.table, "__map%d"};
  std::vector<DataType> types;
  for (const KeyPart& k : m.key) types.push_back(FieldType(k));
  SetPtr set = MakeSet(sref);
  nftnl_set_set_u32(set.get(), NFTNL_SET_ID, id);
  nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_MAP);
  nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, TypesId(types));
  nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, TypesLen(types));
  nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
  SetKeyByteorder(set.get(), types);
  nlmsghdr* h = bld.Begin(NFT_MSG_NEWSET, ref.family, NLM_F_CREATE);
  nftnl_set_nlmsg_build_payload(h, set.get());
  bld.End();
  BuildElements(bld, NFT_MSG_NEWSETELEM, NLM_F_CREATE, sref, id, m.elements);
  return id;
}

void BuildOp(const Operation& op, Builder& bld) {
  // No NLM_F_ACK here: BuildBatch asks for one on the last message only (see there).
  const uint16_t ack = 0;
  std::visit(
      Overloaded{
          [&](const AddTableOp& o) {
            auto flags = static_cast<uint16_t>(NLM_F_CREATE | ack | (o.exclusive ? NLM_F_EXCL : 0));
            nlmsghdr* h = bld.Begin(NFT_MSG_NEWTABLE, o.family, flags);
            nftnl_table_nlmsg_build_payload(h, MakeTable(o.family, o.table).get());
            bld.End();
          },
          [&](const AddChainOp& o) {
            auto flags = static_cast<uint16_t>(NLM_F_CREATE | ack | (o.exclusive ? NLM_F_EXCL : 0));
            ChainPtr c = MakeChain(o.ref);
            if (o.base) {
              nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM,
                                  static_cast<uint32_t>(o.base->hook));
              nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, o.base->priority);
              nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, TypeString(o.base->type));
              nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY,
                                  static_cast<uint32_t>(o.base->policy));
            }
            nlmsghdr* h = bld.Begin(NFT_MSG_NEWCHAIN, o.ref.family, flags);
            nftnl_chain_nlmsg_build_payload(h, c.get());
            bld.End();
          },
          [&](const AddRuleOp& o) {
            // At most one anonymous vmap per rule (a vmap is a verdict: it ends the rule).
            uint32_t anon = 0;
            for (const Expr& e : o.rule.exprs) {
              const auto* v = std::get_if<Vmap>(&e);
              if (v != nullptr && v->set.empty()) anon = BuildAnonymousMap(bld, o.ref, *v);
            }
            auto flags = static_cast<uint16_t>(NLM_F_CREATE | NLM_F_APPEND | ack);
            RulePtr r = MakeRule(o.ref);
            for (const Expr& e : o.rule.exprs) AddExpr(r.get(), o.ref.family, e, anon);
            SetComment(r.get(), o.rule.comment);
            nlmsghdr* h = bld.Begin(NFT_MSG_NEWRULE, o.ref.family, flags);
            nftnl_rule_nlmsg_build_payload(h, r.get());
            bld.End();
          },
          [&](const DeleteRuleOp& o) {
            RulePtr r = MakeRule(o.ref);
            nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, o.handle);
            nlmsghdr* h = bld.Begin(NFT_MSG_DELRULE, o.ref.family, ack);
            nftnl_rule_nlmsg_build_payload(h, r.get());
            bld.End();
          },
          [&](const FlushChainOp& o) {
            // DELRULE without a handle deletes every rule of the chain.
            nlmsghdr* h = bld.Begin(NFT_MSG_DELRULE, o.ref.family, ack);
            nftnl_rule_nlmsg_build_payload(h, MakeRule(o.ref).get());
            bld.End();
          },
          [&](const DeleteChainOp& o) {
            nlmsghdr* h = bld.Begin(NFT_MSG_DELCHAIN, o.ref.family, ack);
            nftnl_chain_nlmsg_build_payload(h, MakeChain(o.ref).get());
            bld.End();
          },
          [&](const DeleteTableOp& o) {
            nlmsghdr* h = bld.Begin(NFT_MSG_DELTABLE, o.family, ack);
            nftnl_table_nlmsg_build_payload(h, MakeTable(o.family, o.table).get());
            bld.End();
          },
          [&](const AddSetOp& o) {
            auto flags = static_cast<uint16_t>(NLM_F_CREATE | ack | (o.exclusive ? NLM_F_EXCL : 0));
            SetPtr set = MakeSet(o.ref);
            nftnl_set_set_u32(set.get(), NFTNL_SET_ID, bld.NextSetId());
            bool map = o.spec.verdict_map || !o.spec.data.empty();
            nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS, map ? NFT_SET_MAP : 0);
            nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_TYPE, TypesId(o.spec.key));
            nftnl_set_set_u32(set.get(), NFTNL_SET_KEY_LEN, TypesLen(o.spec.key));
            if (o.spec.verdict_map) {
              nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
            } else if (map) {
              nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_TYPE, TypesId(o.spec.data));
              nftnl_set_set_u32(set.get(), NFTNL_SET_DATA_LEN, TypesLen(o.spec.data));
            }
            SetKeyByteorder(set.get(), o.spec.key);
            nlmsghdr* h = bld.Begin(NFT_MSG_NEWSET, o.ref.family, flags);
            nftnl_set_nlmsg_build_payload(h, set.get());
            bld.End();
          },
          [&](const DeleteSetOp& o) {
            nlmsghdr* h = bld.Begin(NFT_MSG_DELSET, o.ref.family, ack);
            nftnl_set_nlmsg_build_payload(h, MakeSet(o.ref).get());
            bld.End();
          },
          [&](const AddElementsOp& o) {
            BuildElements(bld, NFT_MSG_NEWSETELEM, NLM_F_CREATE | ack, o.ref, 0, o.elements);
          },
          [&](const DeleteElementsOp& o) {
            std::vector<Element> keys;
            keys.reserve(o.elements.size());
            for (const Element& e : o.elements) keys.push_back({e.key, {}, std::nullopt});
            BuildElements(bld, NFT_MSG_DELSETELEM, ack, o.ref, 0, keys);
          },
      },
      op);
}

}  // namespace

base::StatusOr<Batch> BuildBatch(const Transaction& tx, uint32_t begin_seq) {
  RETURN_IF_ERROR(Validate(tx));
  Batch b;
  b.begin_seq = begin_seq;
  b.first_op_seq = begin_seq + 1;
  b.ops = tx.ops().size();
  {
    std::vector<char> scratch(kScratch);
    nftnl_batch_begin(scratch.data(), begin_seq);
    AppendMessage(scratch, &b.bytes);
  }
  Builder bld(&b);
  for (size_t i = 0; i < tx.ops().size(); ++i) {
    bld.StartOp(i);
    BuildOp(tx.ops()[i], bld);
  }
  b.messages = b.op_of_message.size();
  // The kernel reports every failing message whether or not it asked for an ACK, and processes
  // the whole batch inside sendmsg; so one ACK on the last message says "done" and successful
  // messages cost no answer. (An ACK per message overflows the receive buffer with the hundreds
  // of thousands of messages of a service proxy's full sync, and lost ACKs leave the outcome
  // unknown.)
  if (b.messages > 0) {
    auto* last = reinterpret_cast<nlmsghdr*>(b.bytes.data() + bld.last_offset());
    last->nlmsg_flags |= NLM_F_ACK;
  }
  std::vector<char> scratch(kScratch);
  nftnl_batch_end(scratch.data(), b.first_op_seq + static_cast<uint32_t>(b.messages));
  AppendMessage(scratch, &b.bytes);
  return b;
}

std::vector<uint8_t> GetChainRequest(const ChainRef& chain, uint32_t seq) {
  std::vector<char> scratch(kScratch);
  nlmsghdr* h = Header(scratch, NFT_MSG_GETCHAIN, chain.family, NLM_F_ACK, seq);
  nftnl_chain_nlmsg_build_payload(h, MakeChain(chain).get());
  std::vector<uint8_t> out;
  AppendMessage(scratch, &out);
  return out;
}

std::vector<uint8_t> DumpRulesRequest(const ChainRef& chain, uint32_t seq) {
  std::vector<char> scratch(kScratch);
  nlmsghdr* h = Header(scratch, NFT_MSG_GETRULE, chain.family, NLM_F_DUMP, seq);
  nftnl_rule_nlmsg_build_payload(h, MakeRule(chain).get());
  std::vector<uint8_t> out;
  AppendMessage(scratch, &out);
  return out;
}

base::StatusOr<ParsedRule> ParseRuleMessage(std::span<const uint8_t> message) {
  if (message.size() < sizeof(nlmsghdr)) return base::InvalidArgumentError("short rule message");
  // libnftnl reads through a non-const header; parse a private, aligned copy.
  std::vector<uint32_t> copy((message.size() + 3) / 4);
  std::memcpy(copy.data(), message.data(), message.size());
  auto* nlh = reinterpret_cast<nlmsghdr*>(copy.data());
  // libnftnl reads the nfgenmsg after the header without checking the length.
  if (nlh->nlmsg_len > message.size() || nlh->nlmsg_len < sizeof(nlmsghdr) + sizeof(nfgenmsg)) {
    return base::InvalidArgumentError("rule message length out of bounds");
  }
  RulePtr r(nftnl_rule_alloc());
  if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0) {
    return base::InvalidArgumentError("unparsable nf_tables rule message");
  }
  ParsedRule out;
  if (nftnl_rule_is_set(r.get(), NFTNL_RULE_CHAIN)) {
    out.chain = nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN);
  }
  out.rule.handle = nftnl_rule_get_u64(r.get(), NFTNL_RULE_HANDLE);
  if (nftnl_rule_is_set(r.get(), NFTNL_RULE_USERDATA)) {
    uint32_t len = 0;
    const void* data = nftnl_rule_get_data(r.get(), NFTNL_RULE_USERDATA, &len);
    nftnl_udata_parse(
        data, len,
        [](const nftnl_udata* attr, void* arg) -> int {
          if (nftnl_udata_type(attr) != NFTNL_UDATA_RULE_COMMENT) return MNL_CB_OK;
          const char* s = static_cast<const char*>(nftnl_udata_get(attr));
          size_t n = nftnl_udata_len(attr);
          while (n > 0 && s[n - 1] == '\0') --n;  // stored with its NUL
          *static_cast<std::string*>(arg) = std::string(s, n);
          return MNL_CB_OK;
        },
        &out.rule.comment);
  }
  nftnl_expr_iter* it = nftnl_expr_iter_create(r.get());
  for (nftnl_expr* e = nftnl_expr_iter_next(it); e != nullptr; e = nftnl_expr_iter_next(it)) {
    out.expr_names.emplace_back(nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
  }
  nftnl_expr_iter_destroy(it);
  return out;
}

}  // namespace knet::kernel::nft
