// Lowering of the expression IR to nf_tables expressions (libnftnl), and the byte layout of set
// keys and data, for message.cc.
#include "kernel/nft/internal/expr.h"

#include <libnftnl/expr.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace knet::kernel::nft::internal {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 has no aggregate CTAD

// nft's TYPE_BITS: a concatenation's type id is the field types shifted in 6 bits at a time.
constexpr uint32_t kTypeBits = 6;
// nft's datatype id of "integer" for numgen results in anonymous maps.
constexpr DataType kNumgenType = DataType::kInteger;

// Each helper appends to `rule`, which takes ownership.

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

// Loads a key into consecutive 32-bit registers from NFT_REG32_00 and returns how many it took.
// In inet tables an address field first checks its family (as nft adds "meta nfproto").
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

}  // namespace

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
                 [&](const UpdateSet& u) {
                   LoadKey(rule, table_family, u.key);
                   nftnl_expr* e = nftnl_expr_alloc("dynset");
                   nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG32_00);
                   nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP,
                                      u.add ? NFT_DYNSET_OP_ADD : NFT_DYNSET_OP_UPDATE);
                   nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, u.set.c_str());
                   // No NFTA_DYNSET_TIMEOUT: the element takes the set's default timeout.
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

}  // namespace knet::kernel::nft::internal
