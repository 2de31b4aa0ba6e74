#include "proxy/nft/nft_backend.h"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

namespace knet::proxy::nft {
namespace {

using kernel::nft::Element;
using kernel::nft::Transaction;

bool Empty(const Fragment& f) { return f.elements.empty() && f.chains.empty() && f.sets.empty(); }

}  // namespace

NftBackend::NftBackend(kernel::nft::Nftables& nft, Config config)
    : nft_(nft), config_(std::move(config)) {}

Fragment NftBackend::Render(base::IPFamily f, const ServicePortName& spn,
                            const ServicePortMap& services, const EndpointsMap& endpoints) const {
  auto svc = services.find(spn);
  if (svc == services.end()) return {};
  auto eps = endpoints.find(spn);
  return RenderService(f, spn, svc->second, eps == endpoints.end() ? nullptr : &eps->second,
                       config_);
}

namespace {

// A compact binary key for the books: the raw bytes of each field (4 for numbers), short enough
// for the small-string buffer in the common IPv4 case.
std::string KeyBytes(const Element& e) {
  std::string out;
  for (const kernel::nft::Value& v : e.key) {
    if (v.type == kernel::nft::DataType::kIpv4Addr || v.type == kernel::nft::DataType::kIpv6Addr) {
      auto b = v.addr.bytes();
      out.append(reinterpret_cast<const char*>(b.data()), b.size());
    } else {
      out.append(reinterpret_cast<const char*>(&v.number), sizeof(v.number));
    }
  }
  return out;
}

}  // namespace

void NftBackend::Release(InstalledSets& installed, const std::string& set, const Element& el,
                         const ServicePortName* user, Books& books) {
  auto& by_key = installed[set];
  auto it = by_key.find(KeyBytes(el));
  if (it == by_key.end() || !(it->second.element == el)) return;  // not ours (a conflict)
  auto& users = it->second.users;
  users.erase(std::remove(users.begin(), users.end(), user), users.end());
  if (!users.empty()) return;
  books.deletes[set].push_back(std::move(it->second.element));
  by_key.erase(it);
}

void NftBackend::Acquire(InstalledSets& installed, const std::string& set, const Element& el,
                         const ServicePortName* user, Books& books) {
  auto& by_key = installed[set];
  auto [it, inserted] = by_key.try_emplace(KeyBytes(el));
  if (inserted) {
    it->second.element = el;
    it->second.users.push_back(user);
    books.adds[set].push_back(&it->second.element);
    return;
  }
  if (it->second.element == el) {
    auto& users = it->second.users;
    if (std::find(users.begin(), users.end(), user) == users.end()) users.push_back(user);
    return;
  }
  ++books.conflicts;  // another service port owns this key with other data (e.g. a shared
                      // externalIP:port): first come, first served, as the kernel holds one
}

namespace {

template <class Books>
void Emit(kernel::nft::Family fam, Books& books, Transaction& tx) {
  for (auto& [set, els] : books.deletes) tx.DeleteElements(fam, kTable, set, std::move(els));
  for (const auto& [set, ptrs] : books.adds) {
    std::vector<Element> els;
    els.reserve(ptrs.size());
    for (const Element* e : ptrs) els.push_back(*e);
    tx.AddElements(fam, kTable, set, std::move(els));
  }
}

}  // namespace

void NftBackend::BuildFull(const ServicePortMap& services, const EndpointsMap& endpoints,
                           std::map<base::IPFamily, FamilyState>& states, Transaction& tx) const {
  for (base::IPFamily f : config_.families) {
    const kernel::nft::Family fam = TableFamily(f);
    FamilyState& st = states[f];
    st = FamilyState{};
    // Replace the whole table in this one transaction: "add" makes the delete valid on the first
    // run, and nothing is ever without rules because the batch is atomic.
    tx.AddTable(fam, kTable);
    tx.DeleteTable(fam, kTable);
    tx.AddTable(fam, kTable);
    RenderBase(f, config_, tx);
    Books books;
    std::vector<std::pair<const ServicePortName*, Fragment>> frags;
    for (const auto& [spn, info] : services) {
      Fragment frag = Render(f, spn, services, endpoints);
      if (Empty(frag)) continue;
      st.picks.insert(frag.picks.begin(), frag.picks.end());
      st.nodeport_picks.insert(frag.nodeport_picks.begin(), frag.nodeport_picks.end());
      frags.emplace_back(&spn, std::move(frag));
    }
    for (uint32_t e : st.picks)
      tx.AddChain(fam, kTable, PickChain(e)).AddRule(fam, kTable, PickChain(e), PickRule(f, e));
    for (uint32_t e : st.nodeport_picks) {
      tx.AddChain(fam, kTable, NodePortPickChain(e))
          .AddRule(fam, kTable, NodePortPickChain(e), NodePortPickRule(f, e));
    }
    for (auto& [spn, frag] : frags) {
      for (const auto& [set, spec] : frag.sets) tx.AddSet(fam, kTable, set, spec);
    }
    for (auto& [spn, frag] : frags) {
      // Chains first, then their rules: an affinity pick chain jumps to its endpoint chains.
      for (const auto& [chain, rules] : frag.chains) tx.AddChain(fam, kTable, chain);
      for (const auto& [chain, rules] : frag.chains) {
        for (const kernel::nft::Rule& r : rules) tx.AddRule(fam, kTable, chain, r);
      }
      auto it = st.fragments.insert_or_assign(*spn, std::move(frag)).first;
      for (const auto& [set, els] : it->second.elements) {
        for (const Element& el : els) Acquire(st.installed, set, el, &it->first, books);
      }
    }
    Emit(fam, books, tx);
  }
}

Transaction NftBackend::BuildFullSync(const ServicePortMap& services,
                                      const EndpointsMap& endpoints) const {
  std::map<base::IPFamily, FamilyState> states;
  Transaction tx;
  BuildFull(services, endpoints, states, tx);
  return tx;
}

base::Status NftBackend::FullSync(const ServicePortMap& services, const EndpointsMap& endpoints) {
  std::map<base::IPFamily, FamilyState> states;
  Transaction tx;
  BuildFull(services, endpoints, states, tx);
  base::Status st = nft_.Apply(tx);
  if (!st.ok()) {
    ++stats_.failed_syncs;
    needs_full_ = true;
    return st.WithContext("proxy full sync of " + std::to_string(services.size()) +
                          " service ports");
  }
  state_ = std::move(states);
  needs_full_ = false;
  ++stats_.full_syncs;
  stats_.last_operations = tx.ops().size();
  stats_.elements = 0;
  for (const auto& [f, fs] : state_) {
    for (const auto& [set, els] : fs.installed) stats_.elements += els.size();
  }
  return base::OkStatus();
}

base::Status NftBackend::Sync(const ServicePortMap& services, const EndpointsMap& endpoints,
                              const std::set<ServicePortName>& changed) {
  if (needs_full_) return FullSync(services, endpoints);
  if (changed.empty()) return base::OkStatus();
  Transaction tx;
  std::vector<std::pair<kernel::nft::Family, Books>> books_by_family;
  std::vector<std::pair<kernel::nft::Family, std::string>> deleted_chains;
  std::vector<std::pair<kernel::nft::Family, std::string>> deleted_sets;
  for (base::IPFamily f : config_.families) {
    const kernel::nft::Family fam = TableFamily(f);
    FamilyState& st = state_[f];
    std::vector<std::pair<const ServicePortName*, Fragment>> now;
    for (const ServicePortName& spn : changed) {
      now.emplace_back(&spn, Render(f, spn, services, endpoints));
    }
    // New shared pick chains first: the elements below go to them.
    for (const auto& [spn, frag] : now) {
      for (uint32_t e : frag.picks) {
        if (st.picks.insert(e).second) {
          tx.AddChain(fam, kTable, PickChain(e)).AddRule(fam, kTable, PickChain(e), PickRule(f, e));
        }
      }
      for (uint32_t e : frag.nodeport_picks) {
        if (st.nodeport_picks.insert(e).second) {
          tx.AddChain(fam, kTable, NodePortPickChain(e))
              .AddRule(fam, kTable, NodePortPickChain(e), NodePortPickRule(f, e));
        }
      }
    }
    static const Fragment kNone;
    auto old_of = [&](const ServicePortName& spn) -> const Fragment& {
      auto it = st.fragments.find(spn);
      return it == st.fragments.end() ? kNone : it->second;
    };
    // A port's own sets (affinity): new ones added first, gone ones deleted after the chains that
    // use them. Sets that stay are left alone, so clients keep their endpoint. A set whose spec
    // changed (a new timeout) cannot be replaced under the rules that use it: full sync then.
    for (const auto& [spn, frag] : now) {
      const Fragment& old = old_of(*spn);
      for (const auto& [set, spec] : frag.sets) {
        auto o = old.sets.find(set);
        if (o == old.sets.end()) {
          tx.AddSet(fam, kTable, set, spec);
        } else if (o->second != spec) {
          needs_full_ = true;
          return FullSync(services, endpoints);
        }
      }
      for (const auto& [set, spec] : old.sets) {
        if (frag.sets.count(set) == 0) deleted_sets.emplace_back(fam, set);
      }
    }
    // The service ports' own chains: new ones added, changed ones refilled, gone ones deleted last.
    for (const auto& [spn, frag] : now) {
      for (const auto& [chain, rules] : frag.chains) {
        if (old_of(*spn).chains.count(chain) == 0) tx.AddChain(fam, kTable, chain);
      }
    }
    for (const auto& [spn, frag] : now) {
      const Fragment& old = old_of(*spn);
      for (const auto& [chain, rules] : frag.chains) {
        auto o = old.chains.find(chain);
        if (o == old.chains.end()) {
          for (const kernel::nft::Rule& r : rules) tx.AddRule(fam, kTable, chain, r);
        } else if (o->second != rules) {
          tx.FlushChain(fam, kTable, chain);
          for (const kernel::nft::Rule& r : rules) tx.AddRule(fam, kTable, chain, r);
        }
      }
      for (const auto& [chain, rules] : old.chains) {
        if (frag.chains.count(chain) == 0) deleted_chains.emplace_back(fam, chain);
      }
    }
    // Elements: release what each port no longer wants (all ports first, so a key that moves
    // from one port to another in this sync is freed before it is taken), then acquire.
    Books books;
    for (const auto& [spn, frag] : now) {
      auto old = st.fragments.find(*spn);
      if (old == st.fragments.end()) continue;
      for (const auto& [set, els] : old->second.elements) {
        std::unordered_map<std::string, const Element*> wanted;
        if (auto n = frag.elements.find(set); n != frag.elements.end()) {
          for (const Element& x : n->second) wanted.emplace(KeyBytes(x), &x);
        }
        for (const Element& el : els) {
          auto w = wanted.find(KeyBytes(el));
          if (w == wanted.end() || !(*w->second == el)) {
            Release(st.installed, set, el, &old->first, books);
          }
        }
      }
    }
    // Store the new fragments (an existing entry keeps its address, so its users stay valid),
    // then acquire their elements.
    for (auto& [spn, frag] : now) {
      if (Empty(frag)) {
        st.fragments.erase(*spn);
        continue;
      }
      auto it = st.fragments.insert_or_assign(*spn, std::move(frag)).first;
      for (const auto& [set, els] : it->second.elements) {
        for (const Element& el : els) Acquire(st.installed, set, el, &it->first, books);
      }
    }
    stats_.conflicts += books.conflicts;
    books_by_family.emplace_back(fam, std::move(books));
  }
  for (auto& [fam, books] : books_by_family) Emit(fam, books, tx);
  // Flush every gone chain before deleting any: they may jump to each other (EBUSY otherwise).
  for (const auto& [fam, chain] : deleted_chains) {
    tx.FlushChain(fam, kTable, chain);  // the kernel refuses to delete a chain with rules (EBUSY)
  }
  for (const auto& [fam, chain] : deleted_chains) tx.DeleteChain(fam, kTable, chain);
  for (const auto& [fam, set] : deleted_sets) tx.DeleteSet(fam, kTable, set);
  if (tx.empty()) return base::OkStatus();
  base::Status st = nft_.Apply(tx);
  if (!st.ok()) {
    // The kernel refused: our books no longer match it. The next sync rebuilds everything.
    ++stats_.failed_syncs;
    needs_full_ = true;
    return st.WithContext("proxy sync of " + std::to_string(changed.size()) +
                          " changed service ports");
  }
  ++stats_.partial_syncs;
  stats_.last_operations = tx.ops().size();
  stats_.elements = 0;
  for (const auto& [f, fs] : state_) {
    for (const auto& [set, els] : fs.installed) stats_.elements += els.size();
  }
  return base::OkStatus();
}

}  // namespace knet::proxy::nft
