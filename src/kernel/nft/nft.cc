#include "kernel/nft/nft.h"

#include <netinet/in.h>

#include <utility>

namespace knet::kernel::nft {
namespace {

// The kernel's NFT_NAME_MAXLEN (256 with the terminating NUL).
constexpr size_t kMaxNameLen = 255;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 has no aggregate CTAD

std::string_view OpName(Op op) { return op == Op::kEq ? "" : "!= "; }

std::string ProtoName(uint8_t proto) {
  if (proto == IPPROTO_TCP) return "tcp";
  if (proto == IPPROTO_UDP) return "udp";
  if (proto == IPPROTO_ICMP) return "icmp";
  if (proto == IPPROTO_ICMPV6) return "ipv6-icmp";
  return std::to_string(proto);
}

std::string RefString(const ChainRef& r) {
  return std::string(FamilyName(r.family)) + " " + r.table + " " + r.chain;
}

base::Status CheckName(std::string_view kind, const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLen) {
    return base::InvalidArgumentError(std::string(kind) + " name \"" + name +
                                      "\" must be 1-255 bytes");
  }
  return base::OkStatus();
}

base::Status CheckRule(const ChainRef& ref, const Rule& rule) {
  if (rule.comment.size() > kMaxCommentLen) {
    return base::InvalidArgumentError("rule comment in " + RefString(ref) + " is longer than " +
                                      std::to_string(kMaxCommentLen) + " bytes");
  }
  for (const Expr& e : rule.exprs) {
    if (const auto* a = std::get_if<MatchAddr>(&e)) {
      bool v4 = a->prefix.family() == base::IPFamily::kV4;
      if ((ref.family == Family::kIp && !v4) || (ref.family == Family::kIp6 && v4)) {
        return base::InvalidArgumentError("address " + a->prefix.ToString() +
                                          " does not fit a table of family " +
                                          std::string(FamilyName(ref.family)));
      }
    } else if (const auto* p = std::get_if<MatchPort>(&e)) {
      if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) {
        return base::InvalidArgumentError("port match needs tcp or udp, not " +
                                          ProtoName(p->proto));
      }
    } else if (const auto* v = std::get_if<Verdict>(&e)) {
      bool needs_chain = v->kind == Verdict::kJump || v->kind == Verdict::kGoto;
      if (needs_chain) RETURN_IF_ERROR(CheckName("jump target chain", v->chain));
    }
  }
  return base::OkStatus();
}

}  // namespace

std::string_view FamilyName(Family f) {
  switch (f) {
    case Family::kInet:
      return "inet";
    case Family::kIp:
      return "ip";
    case Family::kIp6:
      return "ip6";
  }
  return "?";
}

Family FamilyOf(const base::IPAddress& ip) { return ip.is_v4() ? Family::kIp : Family::kIp6; }

std::string ToString(const Expr& e, Family family) {
  return std::visit(
      Overloaded{
          [](const MatchNfproto& m) {
            return std::string("meta nfproto ") + (m.family == Family::kIp6 ? "ipv6" : "ipv4");
          },
          [](const MatchL4proto& m) { return "meta l4proto " + ProtoName(m.proto); },
          [](const MatchIfname& m) {
            return std::string(m.output ? "oifname " : "iifname ") + std::string(OpName(m.op)) +
                   "\"" + m.name + "\"";
          },
          [family](const MatchAddr& m) {
            bool v4 = m.prefix.family() == base::IPFamily::kV4;
            (void)family;
            std::string text = m.prefix.prefix_len() == m.prefix.network().BitLen()
                                   ? m.prefix.network().ToString()
                                   : m.prefix.ToString();
            return std::string(v4 ? "ip " : "ip6 ") +
                   (m.dir == Dir::kSource ? "saddr " : "daddr ") + std::string(OpName(m.op)) + text;
          },
          [](const MatchPort& m) {
            return ProtoName(m.proto) + (m.dir == Dir::kSource ? " sport " : " dport ") +
                   std::string(OpName(m.op)) + std::to_string(m.port);
          },
          [](const Counter&) { return std::string("counter"); },
          [](const Verdict& v) {
            switch (v.kind) {
              case Verdict::kAccept:
                return std::string("accept");
              case Verdict::kDrop:
                return std::string("drop");
              case Verdict::kJump:
                return "jump " + v.chain;
              case Verdict::kGoto:
                return "goto " + v.chain;
              case Verdict::kReturn:
                return std::string("return");
            }
            return std::string("?");
          },
          [](const Masquerade&) { return std::string("masquerade"); },
      },
      e);
}

std::string ToString(const Rule& r, Family family) {
  std::string out;
  for (const Expr& e : r.exprs) {
    if (!out.empty()) out += ' ';
    out += ToString(e, family);
  }
  if (!r.comment.empty()) out += " comment \"" + r.comment + "\"";
  return out;
}

std::string Describe(const Operation& op) {
  return std::visit(
      Overloaded{
          [](const AddTableOp& o) {
            return "adding table " + std::string(FamilyName(o.family)) + " " + o.table;
          },
          [](const AddChainOp& o) { return "adding chain " + RefString(o.ref); },
          [](const AddRuleOp& o) { return "adding rule to " + RefString(o.ref); },
          [](const DeleteRuleOp& o) {
            return "deleting rule handle " + std::to_string(o.handle) + " of " + RefString(o.ref);
          },
          [](const FlushChainOp& o) { return "flushing chain " + RefString(o.ref); },
          [](const DeleteChainOp& o) { return "deleting chain " + RefString(o.ref); },
          [](const DeleteTableOp& o) {
            return "deleting table " + std::string(FamilyName(o.family)) + " " + o.table;
          },
      },
      op);
}

Transaction& Transaction::AddTable(Family f, std::string table, bool exclusive) {
  ops_.emplace_back(AddTableOp{f, std::move(table), exclusive});
  return *this;
}
Transaction& Transaction::AddChain(Family f, std::string table, std::string chain,
                                   std::optional<BaseChain> base, bool exclusive) {
  ops_.emplace_back(AddChainOp{{f, std::move(table), std::move(chain)}, base, exclusive});
  return *this;
}
Transaction& Transaction::AddRule(Family f, std::string table, std::string chain, Rule rule) {
  ops_.emplace_back(AddRuleOp{{f, std::move(table), std::move(chain)}, std::move(rule)});
  return *this;
}
Transaction& Transaction::DeleteRule(Family f, std::string table, std::string chain,
                                     uint64_t handle) {
  ops_.emplace_back(DeleteRuleOp{{f, std::move(table), std::move(chain)}, handle});
  return *this;
}
Transaction& Transaction::FlushChain(Family f, std::string table, std::string chain) {
  ops_.emplace_back(FlushChainOp{{f, std::move(table), std::move(chain)}});
  return *this;
}
Transaction& Transaction::DeleteChain(Family f, std::string table, std::string chain) {
  ops_.emplace_back(DeleteChainOp{{f, std::move(table), std::move(chain)}});
  return *this;
}
Transaction& Transaction::DeleteTable(Family f, std::string table) {
  ops_.emplace_back(DeleteTableOp{f, std::move(table)});
  return *this;
}

base::Status Validate(const Transaction& tx) {
  for (const Operation& op : tx.ops()) {
    base::Status s =
        std::visit(Overloaded{
                       [](const AddTableOp& o) { return CheckName("table", o.table); },
                       [](const DeleteTableOp& o) { return CheckName("table", o.table); },
                       [](const AddRuleOp& o) -> base::Status {
                         RETURN_IF_ERROR(CheckName("table", o.ref.table));
                         RETURN_IF_ERROR(CheckName("chain", o.ref.chain));
                         return CheckRule(o.ref, o.rule);
                       },
                       [](const auto& o) -> base::Status {
                         RETURN_IF_ERROR(CheckName("table", o.ref.table));
                         return CheckName("chain", o.ref.chain);
                       },
                   },
                   op);
    if (!s.ok()) return s.WithContext(Describe(op));
  }
  return base::OkStatus();
}

}  // namespace knet::kernel::nft
