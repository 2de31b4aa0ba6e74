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

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include "kernel/nft/internal/expr.h"

namespace knet::kernel::nft {
namespace {

using internal::AddExpr;
using internal::Encode;
using internal::FieldType;
using internal::TypesId;
using internal::TypesLen;
using internal::VerdictCode;

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
            uint32_t set_flags = map ? NFT_SET_MAP : 0;
            if (o.spec.dynamic) set_flags |= NFT_SET_EVAL;
            if (o.spec.timeout_s != 0) set_flags |= NFT_SET_TIMEOUT;
            nftnl_set_set_u32(set.get(), NFTNL_SET_FLAGS, set_flags);
            if (o.spec.timeout_s != 0) {
              nftnl_set_set_u64(set.get(), NFTNL_SET_TIMEOUT,
                                static_cast<uint64_t>(o.spec.timeout_s) * 1000);  // ms
            }
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
  // A netlink message's length is a u32; anything larger is not one (and the bound lets the
  // compiler see the copy below cannot overflow).
  if (message.size() > UINT32_MAX) return base::InvalidArgumentError("oversized rule message");
  // libnftnl reads through a non-const header; parse a private, aligned copy.
  std::vector<uint32_t> copy(message.size() / 4 + 1);
  std::copy(message.begin(), message.end(), reinterpret_cast<uint8_t*>(copy.data()));
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
