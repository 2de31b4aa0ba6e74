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
            for (const Expr& e : o.rule.exprs) {
              if (const auto* v = std::get_if<Verdict>(&e)) {
                if ((v->kind == Verdict::kJump || v->kind == Verdict::kGoto) &&
                    t->chains.count(v->chain) == 0) {
                  return Err(ENOENT, op);
                }
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
                for (const Expr& e : r.exprs) {
                  const auto* v = std::get_if<Verdict>(&e);
                  if (v != nullptr && v->chain == o.ref.chain) return Err(EBUSY, op);
                }
              }
            }
            t->chains.erase(o.ref.chain);
            return base::OkStatus();
          },
          [&](const DeleteTableOp& o) -> base::Status {
            if (rs.erase({o.family, o.table}) == 0) return Err(ENOENT, op);
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
