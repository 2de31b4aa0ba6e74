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

std::string ValueString(const Value& v) {
  switch (v.type) {
    case DataType::kIpv4Addr:
    case DataType::kIpv6Addr:
      return v.addr.ToString();
    case DataType::kInetProto:
      return ProtoName(static_cast<uint8_t>(v.number));
    default:
      return std::to_string(v.number);
  }
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : " . ") + p;
  return out;
}

std::string KeyString(const std::vector<KeyPart>& key) {
  std::vector<std::string> parts;
  for (const KeyPart& k : key) {
    parts.push_back(std::visit(
        Overloaded{
            [](Field f) -> std::string {
              switch (f) {
                case Field::kIpSaddr:
                  return "ip saddr";
                case Field::kIpDaddr:
                  return "ip daddr";
                case Field::kIp6Saddr:
                  return "ip6 saddr";
                case Field::kIp6Daddr:
                  return "ip6 daddr";
                case Field::kL4proto:
                  return "meta l4proto";
                case Field::kThSport:
                  return "th sport";
                case Field::kThDport:
                  return "th dport";
              }
              return "?";
            },
            [](const NumgenRandom& n) { return "numgen random mod " + std::to_string(n.mod); },
            [](const Value& v) { return ValueString(v); },
        },
        k));
  }
  return Join(parts);
}

std::string ElementString(const Element& e) {
  std::vector<std::string> key, data;
  for (const Value& v : e.key) key.push_back(ValueString(v));
  for (const Value& v : e.data) data.push_back(ValueString(v));
  std::string out = Join(key);
  if (e.verdict) out += " : " + ToString(Expr(*e.verdict), Family::kIp);
  if (!data.empty()) out += " : " + Join(data);
  return out;
}

std::string ElementsString(const std::vector<Element>& elements) {
  std::string out = "{ ";
  for (size_t i = 0; i < elements.size(); ++i) {
    out += (i ? ", " : "") + ElementString(elements[i]);
  }
  return out + " }";
}

// Registers (32-bit) a list of typed fields takes.
uint32_t Registers(const std::vector<DataType>& types) {
  uint32_t n = 0;
  for (DataType t : types) n += (DataTypeLen(t) + 3) / 4;
  return n;
}

uint32_t KeyRegisters(const std::vector<KeyPart>& key) {
  uint32_t n = 0;
  for (const KeyPart& k : key) n += (KeyPartLen(k) + 3) / 4;
  return n;
}

base::Status CheckKey(const std::vector<KeyPart>& key) {
  if (key.empty()) return base::InvalidArgumentError("empty lookup key");
  for (const KeyPart& k : key) {
    const auto* n = std::get_if<NumgenRandom>(&k);
    if (n != nullptr && n->mod == 0) return base::InvalidArgumentError("numgen mod 0");
  }
  if (KeyRegisters(key) > 16) return base::InvalidArgumentError("lookup key over 64 bytes");
  return base::OkStatus();
}

base::Status CheckValues(const std::vector<Value>& values) {
  for (const Value& v : values) {
    bool is_addr = v.type == DataType::kIpv4Addr || v.type == DataType::kIpv6Addr;
    if (is_addr && (v.addr.is_v4() != (v.type == DataType::kIpv4Addr))) {
      return base::InvalidArgumentError("element address " + v.addr.ToString() + " does not fit " +
                                        std::string(DataTypeName(v.type)));
    }
  }
  return base::OkStatus();
}

base::Status CheckElements(const std::vector<Element>& elements) {
  for (const Element& e : elements) {
    if (e.key.empty()) return base::InvalidArgumentError("element without a key");
    RETURN_IF_ERROR(CheckValues(e.key));
    RETURN_IF_ERROR(CheckValues(e.data));
    if (e.verdict && (e.verdict->kind == Verdict::kJump || e.verdict->kind == Verdict::kGoto)) {
      RETURN_IF_ERROR(CheckName("element jump target chain", e.verdict->chain));
    }
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
    } else if (const auto* ms = std::get_if<MatchSet>(&e)) {
      RETURN_IF_ERROR(CheckKey(ms->key));
      RETURN_IF_ERROR(CheckName("set", ms->set));
    } else if (const auto* us = std::get_if<UpdateSet>(&e)) {
      RETURN_IF_ERROR(CheckKey(us->key));
      RETURN_IF_ERROR(CheckName("set", us->set));
    } else if (const auto* vm = std::get_if<Vmap>(&e)) {
      RETURN_IF_ERROR(CheckKey(vm->key));
      if (vm->set.empty()) {
        if (vm->elements.empty()) return base::InvalidArgumentError("anonymous vmap is empty");
        RETURN_IF_ERROR(CheckElements(vm->elements));
        for (const Element& el : vm->elements) {
          if (!el.verdict) return base::InvalidArgumentError("vmap element without a verdict");
        }
      } else {
        RETURN_IF_ERROR(CheckName("set", vm->set));
      }
    } else if (const auto* mn = std::get_if<MatchNumgen>(&e)) {
      if (mn->mod == 0) return base::InvalidArgumentError("numgen mod 0");
    } else if (const auto* nat = std::get_if<Nat>(&e)) {
      if (nat->family != Family::kIp && nat->family != Family::kIp6) {
        return base::InvalidArgumentError("nat family must be ip or ip6");
      }
      if (ref.family != Family::kInet && ref.family != nat->family) {
        return base::InvalidArgumentError("nat family does not fit a table of family " +
                                          std::string(FamilyName(ref.family)));
      }
      if (nat->map.empty()) {
        if (nat->addr.is_v4() != (nat->family == Family::kIp)) {
          return base::InvalidArgumentError("nat address " + nat->addr.ToString() +
                                            " does not fit family " +
                                            std::string(FamilyName(nat->family)));
        }
      } else {
        RETURN_IF_ERROR(CheckKey(nat->key));
        RETURN_IF_ERROR(CheckName("map", nat->map));
      }
    }
  }
  return base::OkStatus();
}

}  // namespace

std::string_view DataTypeName(DataType t) {
  switch (t) {
    case DataType::kInteger:
      return "integer";
    case DataType::kIpv4Addr:
      return "ipv4_addr";
    case DataType::kIpv6Addr:
      return "ipv6_addr";
    case DataType::kInetProto:
      return "inet_proto";
    case DataType::kInetService:
      return "inet_service";
    case DataType::kMark:
      return "mark";
  }
  return "?";
}

uint32_t DataTypeLen(DataType t) {
  switch (t) {
    case DataType::kIpv6Addr:
      return 16;
    case DataType::kInetProto:
      return 1;
    case DataType::kInetService:
      return 2;
    default:
      return 4;
  }
}

uint32_t KeyPartLen(const KeyPart& k) {
  return std::visit(Overloaded{
                        [](Field f) -> uint32_t {
                          switch (f) {
                            case Field::kIpSaddr:
                            case Field::kIpDaddr:
                              return 4;
                            case Field::kIp6Saddr:
                            case Field::kIp6Daddr:
                              return 16;
                            case Field::kL4proto:
                              return 1;
                            case Field::kThSport:
                            case Field::kThDport:
                              return 2;
                          }
                          return 4;
                        },
                        [](const NumgenRandom&) -> uint32_t { return 4; },
                        [](const Value& v) { return DataTypeLen(v.type); },
                    },
                    k);
}

Value Value::Addr(const base::IPAddress& ip) {
  return {ip.is_v4() ? DataType::kIpv4Addr : DataType::kIpv6Addr, ip, 0};
}

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
          [](const MatchSet& m) {
            return KeyString(m.key) + (m.op == Op::kEq ? " @" : " != @") + m.set;
          },
          [](const Vmap& m) {
            return KeyString(m.key) + " vmap " +
                   (m.set.empty() ? ElementsString(m.elements) : "@" + m.set);
          },
          [](const MatchNumgen& m) {
            return "numgen random mod " + std::to_string(m.mod) + (m.less ? " < " : " ") +
                   std::to_string(m.value);
          },
          [](const MatchCtState& m) {
            std::vector<std::string> names;
            if (m.states & kCtInvalid) names.emplace_back("invalid");
            if (m.states & kCtEstablished) names.emplace_back("established");
            if (m.states & kCtRelated) names.emplace_back("related");
            if (m.states & kCtNew) names.emplace_back("new");
            std::string out;
            for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
            return "ct state " + out;
          },
          [](const Nat& m) {
            std::string out = std::string(m.kind == Nat::kDnat ? "dnat " : "snat ") +
                              (m.family == Family::kIp6 ? "ip6" : "ip") + " to ";
            if (!m.map.empty()) return out + KeyString(m.key) + " map @" + m.map;
            bool v6 = !m.addr.is_v4();
            std::string a = m.addr.ToString();
            if (m.port == 0) return out + a;
            return out + (v6 ? "[" + a + "]" : a) + ":" + std::to_string(m.port);
          },
          [](const Reject& m) {
            return std::string(m.tcp_reset ? "reject with tcp reset" : "reject");
          },
          [](const SetMark& m) { return "meta mark set " + std::to_string(m.mark); },
          [](const UpdateSet& u) {
            return std::string(u.add ? "add @" : "update @") + u.set + " { " + KeyString(u.key) +
                   " }";
          },
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
          [](const AddSetOp& o) { return "adding set " + SetRefString(o.ref); },
          [](const DeleteSetOp& o) { return "deleting set " + SetRefString(o.ref); },
          [](const AddElementsOp& o) {
            return "adding " + std::to_string(o.elements.size()) + " elements to set " +
                   SetRefString(o.ref);
          },
          [](const DeleteElementsOp& o) {
            return "deleting " + std::to_string(o.elements.size()) + " elements of set " +
                   SetRefString(o.ref);
          },
      },
      op);
}

std::string SetRefString(const SetRef& r) {
  return std::string(FamilyName(r.family)) + " " + r.table + " " + r.set;
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
Transaction& Transaction::AddSet(Family f, std::string table, std::string set, SetSpec spec,
                                 bool exclusive) {
  ops_.emplace_back(AddSetOp{{f, std::move(table), std::move(set)}, std::move(spec), exclusive});
  return *this;
}
Transaction& Transaction::DeleteSet(Family f, std::string table, std::string set) {
  ops_.emplace_back(DeleteSetOp{{f, std::move(table), std::move(set)}});
  return *this;
}
Transaction& Transaction::AddElements(Family f, std::string table, std::string set,
                                      std::vector<Element> elements) {
  ops_.emplace_back(AddElementsOp{{f, std::move(table), std::move(set)}, std::move(elements)});
  return *this;
}
Transaction& Transaction::DeleteElements(Family f, std::string table, std::string set,
                                         std::vector<Element> elements) {
  ops_.emplace_back(DeleteElementsOp{{f, std::move(table), std::move(set)}, std::move(elements)});
  return *this;
}

base::Status Validate(const Transaction& tx) {
  for (const Operation& op : tx.ops()) {
    base::Status s =
        std::visit(Overloaded{
                       [](const AddTableOp& o) { return CheckName("table", o.table); },
                       [](const DeleteTableOp& o) { return CheckName("table", o.table); },
                       [](const AddSetOp& o) -> base::Status {
                         RETURN_IF_ERROR(CheckName("table", o.ref.table));
                         RETURN_IF_ERROR(CheckName("set", o.ref.set));
                         if (o.spec.key.empty()) {
                           return base::InvalidArgumentError("set without key types");
                         }
                         if (o.spec.verdict_map && !o.spec.data.empty()) {
                           return base::InvalidArgumentError("a verdict map has no data types");
                         }
                         if (o.spec.timeout_s > 49 * 24 * 3600) {  // the kernel's jiffies limit
                           return base::InvalidArgumentError("set timeout over 49 days");
                         }
                         if (Registers(o.spec.key) > 16 || Registers(o.spec.data) > 16) {
                           return base::InvalidArgumentError("set key or data over 64 bytes");
                         }
                         return base::OkStatus();
                       },
                       [](const DeleteSetOp& o) -> base::Status {
                         RETURN_IF_ERROR(CheckName("table", o.ref.table));
                         return CheckName("set", o.ref.set);
                       },
                       [](const AddElementsOp& o) -> base::Status {
                         RETURN_IF_ERROR(CheckName("table", o.ref.table));
                         RETURN_IF_ERROR(CheckName("set", o.ref.set));
                         return CheckElements(o.elements);
                       },
                       [](const DeleteElementsOp& o) -> base::Status {
                         RETURN_IF_ERROR(CheckName("table", o.ref.table));
                         RETURN_IF_ERROR(CheckName("set", o.ref.set));
                         return CheckElements(o.elements);
                       },
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
