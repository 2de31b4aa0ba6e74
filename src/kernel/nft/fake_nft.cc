#include "kernel/nft/fake_nft.h"

#include <cerrno>

namespace knet::kernel::nft {
namespace {

static_assert(!std::is_abstract_v<FakeNftables>, "FakeNftables implements Nftables");

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 has no aggregate CTAD

base::Status Err(int e, const Operation& op) { return base::ErrnoError(e, Describe(op)); }

std::string_view HookName(Hook h) {
  switch (h) {
    case Hook::kPrerouting:
      return "prerouting";
    case Hook::kInput:
      return "input";
    case Hook::kForward:
      return "forward";
    case Hook::kOutput:
      return "output";
    case Hook::kPostrouting:
      return "postrouting";
  }
  return "?";
}

std::string_view TypeName(ChainType t) {
  switch (t) {
    case ChainType::kFilter:
      return "filter";
    case ChainType::kNat:
      return "nat";
    case ChainType::kRoute:
      return "route";
  }
  return "?";
}

std::string KeyText(const std::vector<Value>& key) {
  std::string out;
  for (const Value& v : key) {
    out += std::to_string(static_cast<int>(v.type)) + ":" +
           (v.type == DataType::kIpv4Addr || v.type == DataType::kIpv6Addr
                ? v.addr.ToString()
                : std::to_string(v.number)) +
           ";";
  }
  return out;
}

bool FitsTypes(const std::vector<Value>& values, const std::vector<DataType>& types) {
  if (values.size() != types.size()) return false;
  for (size_t i = 0; i < values.size(); ++i) {
    // mark and integer have the same width and byte order.
    auto norm = [](DataType t) { return t == DataType::kMark ? DataType::kInteger : t; };
    if (norm(values[i].type) != norm(types[i])) return false;
  }
  return true;
}

std::vector<DataType> KeyTypes(const std::vector<KeyPart>& key) {
  std::vector<DataType> out;
  for (const KeyPart& k : key) {
    if (const auto* f = std::get_if<Field>(&k)) {
      switch (*f) {
        case Field::kIpSaddr:
        case Field::kIpDaddr:
          out.push_back(DataType::kIpv4Addr);
          break;
        case Field::kIp6Saddr:
        case Field::kIp6Daddr:
          out.push_back(DataType::kIpv6Addr);
          break;
        case Field::kL4proto:
          out.push_back(DataType::kInetProto);
          break;
        case Field::kThSport:
        case Field::kThDport:
          out.push_back(DataType::kInetService);
          break;
      }
    } else if (std::holds_alternative<NumgenRandom>(k)) {
      out.push_back(DataType::kInteger);
    } else {
      out.push_back(std::get<Value>(k).type);
    }
  }
  return out;
}

// Total key width: what the kernel actually checks (it does not know nft's types).
uint32_t Width(const std::vector<DataType>& types) {
  uint32_t n = 0;
  for (DataType t : types) n += (DataTypeLen(t) + 3) / 4;
  return n;
}

// The named sets a rule uses.
std::vector<std::string> SetsOf(const Rule& r) {
  std::vector<std::string> out;
  for (const Expr& e : r.exprs) {
    if (const auto* m = std::get_if<MatchSet>(&e)) out.push_back(m->set);
    if (const auto* m = std::get_if<UpdateSet>(&e)) out.push_back(m->set);
    if (const auto* m = std::get_if<Vmap>(&e); m != nullptr && !m->set.empty()) {
      out.push_back(m->set);
    }
    if (const auto* m = std::get_if<Nat>(&e); m != nullptr && !m->map.empty()) {
      out.push_back(m->map);
    }
  }
  return out;
}

// The chains a rule's verdicts (including its anonymous vmap) name.
std::vector<std::string> TargetsOf(const Rule& r) {
  std::vector<std::string> out;
  for (const Expr& e : r.exprs) {
    if (const auto* v = std::get_if<Verdict>(&e)) out.push_back(v->chain);
    if (const auto* m = std::get_if<Vmap>(&e)) {
      for (const Element& el : m->elements) {
        if (el.verdict) out.push_back(el.verdict->chain);
      }
    }
  }
  return out;
}

}  // namespace

base::Status FakeNftables::ApplyOne(const Operation& op, Ruleset& rs) {
  auto find_table = [&rs](Family f, const std::string& name) -> Table* {
    auto it = rs.find({f, name});
    return it == rs.end() ? nullptr : &it->second;
  };
  auto find_chain = [&](const ChainRef& r) -> Chain* {
    Table* t = find_table(r.family, r.table);
    if (t == nullptr) return nullptr;
    auto it = t->chains.find(r.chain);
    return it == t->chains.end() ? nullptr : &it->second;
  };
  return std::visit(
      Overloaded{
          [&](const AddTableOp& o) -> base::Status {
            if (find_table(o.family, o.table) != nullptr) {
              return o.exclusive ? Err(EEXIST, op) : base::OkStatus();
            }
            rs[{o.family, o.table}] = Table{};
            return base::OkStatus();
          },
          [&](const AddChainOp& o) -> base::Status {
            Table* t = find_table(o.ref.family, o.ref.table);
            if (t == nullptr) return Err(ENOENT, op);
            auto it = t->chains.find(o.ref.chain);
            if (it == t->chains.end()) {
              t->chains[o.ref.chain] = Chain{o.base, {}};
              return base::OkStatus();
            }
            if (o.exclusive) return Err(EEXIST, op);
            // Re-adding may only update the policy of a base chain.
            Chain& c = it->second;
            if (c.base.has_value() != o.base.has_value()) return Err(EOPNOTSUPP, op);
            if (c.base && (c.base->type != o.base->type || c.base->hook != o.base->hook ||
                           c.base->priority != o.base->priority)) {
              return Err(EOPNOTSUPP, op);
            }
            if (c.base) c.base->policy = o.base->policy;
            return base::OkStatus();
          },
          [&](const AddRuleOp& o) -> base::Status {
            Table* t = find_table(o.ref.family, o.ref.table);
            Chain* c = find_chain(o.ref);
            if (c == nullptr) return Err(ENOENT, op);
            for (const std::string& target : TargetsOf(o.rule)) {
              if (!target.empty() && t->chains.count(target) == 0) return Err(ENOENT, op);
            }
            for (const std::string& set : SetsOf(o.rule)) {
              if (t->sets.count(set) == 0) return Err(ENOENT, op);
            }
            for (const Expr& e : o.rule.exprs) {
              if (const auto* m = std::get_if<Vmap>(&e); m != nullptr && !m->set.empty()) {
                const SetSpec& spec = t->sets[m->set].spec;
                if (!spec.verdict_map || Width(spec.key) != Width(KeyTypes(m->key))) {
                  return Err(EINVAL, op);
                }
              }
              if (const auto* m = std::get_if<MatchSet>(&e)) {
                if (Width(t->sets[m->set].spec.key) != Width(KeyTypes(m->key))) {
                  return Err(EINVAL, op);
                }
              }
              if (const auto* m = std::get_if<UpdateSet>(&e)) {
                const SetSpec& spec = t->sets[m->set].spec;
                if (Width(spec.key) != Width(KeyTypes(m->key))) return Err(EINVAL, op);
                // nft refuses to update a set not declared dynamic; a map needs data too.
                if (!spec.dynamic || spec.verdict_map || !spec.data.empty()) {
                  return Err(EOPNOTSUPP, op);
                }
              }
              if (const auto* m = std::get_if<Nat>(&e)) {
                if (!m->map.empty()) {
                  const SetSpec& spec = t->sets[m->map].spec;
                  if (spec.data.empty() || Width(spec.key) != Width(KeyTypes(m->key))) {
                    return Err(EINVAL, op);
                  }
                }
                if (c->base && c->base->type != ChainType::kNat) return Err(EOPNOTSUPP, op);
              }
              if (std::holds_alternative<Reject>(e) && c->base && c->base->hook != Hook::kInput &&
                  c->base->hook != Hook::kForward && c->base->hook != Hook::kOutput) {
                return Err(EOPNOTSUPP, op);
              }
              if (std::holds_alternative<Masquerade>(e) && c->base &&
                  (c->base->type != ChainType::kNat || c->base->hook != Hook::kPostrouting)) {
                return Err(EOPNOTSUPP, op);
              }
            }
            c->rules.emplace_back(t->next_handle++, o.rule);
            return base::OkStatus();
          },
          [&](const DeleteRuleOp& o) -> base::Status {
            Chain* c = find_chain(o.ref);
            if (c == nullptr) return Err(ENOENT, op);
            for (auto it = c->rules.begin(); it != c->rules.end(); ++it) {
              if (it->first == o.handle) {
                c->rules.erase(it);
                return base::OkStatus();
              }
            }
            return Err(ENOENT, op);
          },
          [&](const FlushChainOp& o) -> base::Status {
            Chain* c = find_chain(o.ref);
            if (c == nullptr) return Err(ENOENT, op);
            c->rules.clear();
            return base::OkStatus();
          },
          [&](const DeleteChainOp& o) -> base::Status {
            Table* t = find_table(o.ref.family, o.ref.table);
            Chain* c = find_chain(o.ref);
            if (c == nullptr) return Err(ENOENT, op);
            if (!c->rules.empty()) return Err(EBUSY, op);
            for (const auto& [name, other] : t->chains) {
              for (const auto& [h, r] : other.rules) {
                for (const std::string& target : TargetsOf(r)) {
                  if (target == o.ref.chain) return Err(EBUSY, op);
                }
              }
            }
            for (const auto& [name, set] : t->sets) {
              for (const auto& [k, el] : set.elements) {
                if (el.verdict && el.verdict->chain == o.ref.chain) return Err(EBUSY, op);
              }
            }
            t->chains.erase(o.ref.chain);
            return base::OkStatus();
          },
          [&](const DeleteTableOp& o) -> base::Status {
            if (rs.erase({o.family, o.table}) == 0) return Err(ENOENT, op);
            return base::OkStatus();
          },
          [&](const AddSetOp& o) -> base::Status {
            Table* t = find_table(o.ref.family, o.ref.table);
            if (t == nullptr) return Err(ENOENT, op);
            auto it = t->sets.find(o.ref.set);
            if (it == t->sets.end()) {
              t->sets[o.ref.set] = Set{o.spec, {}};
              return base::OkStatus();
            }
            if (o.exclusive || !(it->second.spec == o.spec)) return Err(EEXIST, op);
            return base::OkStatus();
          },
          [&](const DeleteSetOp& o) -> base::Status {
            Table* t = find_table(o.ref.family, o.ref.table);
            if (t == nullptr || t->sets.count(o.ref.set) == 0) return Err(ENOENT, op);
            for (const auto& [name, chain] : t->chains) {
              for (const auto& [h, r] : chain.rules) {
                for (const std::string& set : SetsOf(r)) {
                  if (set == o.ref.set) return Err(EBUSY, op);
                }
              }
            }
            t->sets.erase(o.ref.set);
            return base::OkStatus();
          },
          [&](const AddElementsOp& o) -> base::Status {
            Table* t = find_table(o.ref.family, o.ref.table);
            if (t == nullptr || t->sets.count(o.ref.set) == 0) return Err(ENOENT, op);
            Set& set = t->sets[o.ref.set];
            for (const Element& el : o.elements) {
              if (!FitsTypes(el.key, set.spec.key)) return Err(EINVAL, op);
              if (set.spec.verdict_map != el.verdict.has_value()) return Err(EINVAL, op);
              if (!set.spec.verdict_map && !el.data.empty() != !set.spec.data.empty()) {
                return Err(EINVAL, op);
              }
              if (!el.data.empty() && !FitsTypes(el.data, set.spec.data)) return Err(EINVAL, op);
              if (el.verdict && !el.verdict->chain.empty() &&
                  t->chains.count(el.verdict->chain) == 0) {
                return Err(ENOENT, op);
              }
              auto [it, inserted] = set.elements.emplace(KeyText(el.key), el);
              if (!inserted && !(it->second == el)) return Err(EEXIST, op);
            }
            return base::OkStatus();
          },
          [&](const DeleteElementsOp& o) -> base::Status {
            Table* t = find_table(o.ref.family, o.ref.table);
            if (t == nullptr || t->sets.count(o.ref.set) == 0) return Err(ENOENT, op);
            Set& set = t->sets[o.ref.set];
            for (const Element& el : o.elements) {
              if (set.elements.erase(KeyText(el.key)) == 0) return Err(ENOENT, op);
            }
            return base::OkStatus();
          },
      },
      op);
}

base::Status FakeNftables::Apply(const Transaction& tx) {
  RETURN_IF_ERROR(Validate(tx));
  std::lock_guard<std::mutex> lock(mu_);
  Ruleset copy = ruleset_;  // all or nothing: work on a copy
  for (const Operation& op : tx.ops()) {
    if (!fail_substring_.empty() && Describe(op).find(fail_substring_) != std::string::npos) {
      int e = fail_errno_;
      fail_substring_.clear();
      return Err(e, op);
    }
    RETURN_IF_ERROR(ApplyOne(op, copy));
  }
  ruleset_ = std::move(copy);
  ++applied_;
  return base::OkStatus();
}

base::StatusOr<std::vector<ListedRule>> FakeNftables::ListRules(const ChainRef& ref) {
  std::lock_guard<std::mutex> lock(mu_);
  auto t = ruleset_.find({ref.family, ref.table});
  if (t == ruleset_.end()) {
    return base::ErrnoError(ENOENT, "listing rules of " + std::string(FamilyName(ref.family)) +
                                        " " + ref.table + " " + ref.chain);
  }
  auto c = t->second.chains.find(ref.chain);
  if (c == t->second.chains.end()) {
    return base::ErrnoError(ENOENT, "listing rules of " + std::string(FamilyName(ref.family)) +
                                        " " + ref.table + " " + ref.chain);
  }
  std::vector<ListedRule> out;
  for (const auto& [h, r] : c->second.rules) out.push_back({h, r.comment});
  return out;
}

std::string FakeNftables::Dump() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [key, table] : ruleset_) {
    out += "table " + std::string(FamilyName(key.first)) + " " + key.second + " {\n";
    for (const auto& [name, set] : table.sets) {
      out += "  " + std::string(set.spec.verdict_map || !set.spec.data.empty() ? "map " : "set ") +
             name + " {\n";
      if (set.spec.dynamic || set.spec.timeout_s != 0) {
        std::string flags = set.spec.dynamic ? "dynamic" : "";
        if (set.spec.timeout_s != 0) flags += std::string(flags.empty() ? "" : ",") + "timeout";
        out += "    flags " + flags + "\n";
        if (set.spec.timeout_s != 0) {
          out += "    timeout " + std::to_string(set.spec.timeout_s) + "s\n";
        }
      }
      out += "    elements = {";
      bool first = true;
      for (const auto& [k, el] : set.elements) {
        // An element renders like an anonymous vmap's: reuse the rule printer.
        std::string text = ToString(Expr(Vmap{{}, "", {el}}), key.first);
        out += (first ? " " : ", ") +
               text.substr(text.find("{ ") + 2, text.size() - 4 - text.find("{ "));
        first = false;
      }
      out += " }\n  }\n";
    }
    for (const auto& [name, chain] : table.chains) {
      out += "  chain " + name + " {\n";
      if (chain.base) {
        out += "    type " + std::string(TypeName(chain.base->type)) + " hook " +
               std::string(HookName(chain.base->hook)) + " priority " +
               std::to_string(chain.base->priority) + "; policy " +
               (chain.base->policy == Policy::kAccept ? "accept" : "drop") + ";\n";
      }
      for (const auto& [h, r] : chain.rules) {
        out += "    " + ToString(r, key.first) + " # handle " + std::to_string(h) + "\n";
      }
      out += "  }\n";
    }
    out += "}\n";
  }
  return out;
}

void FakeNftables::FailNext(std::string substring, int err) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_substring_ = std::move(substring);
  fail_errno_ = err;
}

int FakeNftables::applied() const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_;
}

}  // namespace knet::kernel::nft
