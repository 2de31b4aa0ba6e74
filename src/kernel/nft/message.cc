#include "kernel/nft/message.h"

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
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

// Large enough for any single message we build (a rule is a few hundred bytes).
constexpr size_t kScratch = 16384;

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

void Meta(nftnl_rule* rule, uint32_t key) {
  nftnl_expr* e = nftnl_expr_alloc("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
  nftnl_rule_add_expr(rule, e);
}

void Cmp(nftnl_rule* rule, Op op, const void* data, uint32_t len) {
  nftnl_expr* e = nftnl_expr_alloc("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op == Op::kEq ? NFT_CMP_EQ : NFT_CMP_NEQ);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
  nftnl_rule_add_expr(rule, e);
}

void Payload(nftnl_rule* rule, uint32_t base, uint32_t offset, uint32_t len) {
  nftnl_expr* e = nftnl_expr_alloc("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_rule_add_expr(rule, e);
}

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

void AddExpr(nftnl_rule* rule, Family table_family, const Expr& expr) {
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

void BuildOp(const Operation& op, uint32_t seq, std::vector<char>& scratch) {
  const uint16_t ack = NLM_F_ACK;
  std::visit(
      Overloaded{
          [&](const AddTableOp& o) {
            auto flags = static_cast<uint16_t>(NLM_F_CREATE | ack | (o.exclusive ? NLM_F_EXCL : 0));
            nlmsghdr* h = Header(scratch, NFT_MSG_NEWTABLE, o.family, flags, seq);
            nftnl_table_nlmsg_build_payload(h, MakeTable(o.family, o.table).get());
          },
          [&](const AddChainOp& o) {
            auto flags = static_cast<uint16_t>(NLM_F_CREATE | ack | (o.exclusive ? NLM_F_EXCL : 0));
            nlmsghdr* h = Header(scratch, NFT_MSG_NEWCHAIN, o.ref.family, flags, seq);
            ChainPtr c = MakeChain(o.ref);
            if (o.base) {
              nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM,
                                  static_cast<uint32_t>(o.base->hook));
              nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, o.base->priority);
              nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, TypeString(o.base->type));
              nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY,
                                  static_cast<uint32_t>(o.base->policy));
            }
            nftnl_chain_nlmsg_build_payload(h, c.get());
          },
          [&](const AddRuleOp& o) {
            auto flags = static_cast<uint16_t>(NLM_F_CREATE | NLM_F_APPEND | ack);
            nlmsghdr* h = Header(scratch, NFT_MSG_NEWRULE, o.ref.family, flags, seq);
            RulePtr r = MakeRule(o.ref);
            for (const Expr& e : o.rule.exprs) AddExpr(r.get(), o.ref.family, e);
            SetComment(r.get(), o.rule.comment);
            nftnl_rule_nlmsg_build_payload(h, r.get());
          },
          [&](const DeleteRuleOp& o) {
            nlmsghdr* h = Header(scratch, NFT_MSG_DELRULE, o.ref.family, ack, seq);
            RulePtr r = MakeRule(o.ref);
            nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, o.handle);
            nftnl_rule_nlmsg_build_payload(h, r.get());
          },
          [&](const FlushChainOp& o) {
            // DELRULE without a handle deletes every rule of the chain.
            nlmsghdr* h = Header(scratch, NFT_MSG_DELRULE, o.ref.family, ack, seq);
            nftnl_rule_nlmsg_build_payload(h, MakeRule(o.ref).get());
          },
          [&](const DeleteChainOp& o) {
            nlmsghdr* h = Header(scratch, NFT_MSG_DELCHAIN, o.ref.family, ack, seq);
            nftnl_chain_nlmsg_build_payload(h, MakeChain(o.ref).get());
          },
          [&](const DeleteTableOp& o) {
            nlmsghdr* h = Header(scratch, NFT_MSG_DELTABLE, o.family, ack, seq);
            nftnl_table_nlmsg_build_payload(h, MakeTable(o.family, o.table).get());
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
  std::vector<char> scratch(kScratch);
  std::memset(scratch.data(), 0, scratch.size());
  nftnl_batch_begin(scratch.data(), begin_seq);
  AppendMessage(scratch, &b.bytes);
  uint32_t seq = b.first_op_seq;
  for (const Operation& op : tx.ops()) {
    BuildOp(op, seq++, scratch);
    AppendMessage(scratch, &b.bytes);
  }
  std::memset(scratch.data(), 0, scratch.size());
  nftnl_batch_end(scratch.data(), seq);
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
