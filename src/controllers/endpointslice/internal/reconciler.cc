#include "controllers/endpointslice/internal/reconciler.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "controllers/endpointslice/endpoint_util.h"

namespace knet::controllers::endpointslice_internal {

namespace {

const std::string& AddressOf(const api::Endpoint& ep) {
  static const std::string kNone;
  return ep.addresses.empty() ? kNone : ep.addresses.front();
}

// Upstream ownedBy: a controller reference to this very Service (its uid).
bool OwnedBy(const api::EndpointSlice& slice, const api::OwnerReference& owner) {
  for (const api::OwnerReference& r : slice.metadata.owner_references) {
    if (r.uid == owner.uid && r.controller.value_or(false)) return true;
  }
  return false;
}

bool HasOwnerRef(const api::EndpointSlice& slice, const api::OwnerReference& want) {
  for (const api::OwnerReference& r : slice.metadata.owner_references) {
    if (r == want) return true;
  }
  return false;
}

bool IsPlaceholder(const api::EndpointSlice& s, const std::map<std::string, std::string>& labels,
                   const api::OwnerReference& owner) {
  return s.endpoints.empty() && s.ports.empty() && s.metadata.labels == labels &&
         HasOwnerRef(s, owner);
}

api::EndpointSlice NewSlice(const api::Service& svc, const std::string& address_type,
                            const std::vector<api::EndpointSlicePort>& ports,
                            const std::map<std::string, std::string>& labels) {
  api::EndpointSlice s;
  s.metadata.generate_name = svc.metadata.name + "-";
  s.metadata.namespace_ = svc.metadata.namespace_;
  s.metadata.labels = labels;
  s.metadata.owner_references = {ServiceOwnerRef(svc)};
  s.address_type = address_type;
  s.ports = ports;
  return s;
}

// Plans one port list's slices; appends to `plan`.
void PlanGroup(const api::Service& svc, const std::string& address_type,
               const std::vector<api::EndpointSlicePort>& ports,
               const std::vector<api::Endpoint>& wanted,
               const std::vector<std::shared_ptr<const api::EndpointSlice>>& slices,
               const std::map<std::string, std::string>& labels, const api::OwnerReference& owner,
               size_t max_per_slice, SlicePlan& plan) {
  // Desired endpoints by address, each taken at most once.
  std::unordered_map<std::string, size_t> by_address;
  by_address.reserve(wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i) by_address.emplace(AddressOf(wanted[i]), i);
  std::vector<bool> placed(wanted.size(), false);

  std::vector<api::EndpointSlice> updating;
  std::vector<const api::EndpointSlice*> unchanged;
  for (const auto& slice : slices) {
    bool changed = slice->metadata.labels != labels || !HasOwnerRef(*slice, owner);
    std::vector<api::Endpoint> kept;
    kept.reserve(slice->endpoints.size());
    for (const api::Endpoint& ep : slice->endpoints) {
      auto it = by_address.find(AddressOf(ep));
      if (it == by_address.end() || placed[it->second]) {
        changed = true;  // gone, or a duplicate of one placed already
        continue;
      }
      placed[it->second] = true;
      const api::Endpoint& want = wanted[it->second];
      if (!(ep == want)) changed = true;
      kept.push_back(want);
    }
    if (kept.empty()) {
      plan.to_delete.push_back(*slice);
    } else if (changed) {
      api::EndpointSlice s = *slice;
      s.endpoints = std::move(kept);
      s.metadata.labels = labels;
      if (!HasOwnerRef(s, owner)) {
        std::erase_if(s.metadata.owner_references,
                      [](const api::OwnerReference& r) { return r.controller.value_or(false); });
        s.metadata.owner_references.push_back(owner);
      }
      updating.push_back(std::move(s));
    } else {
      unchanged.push_back(slice.get());
    }
  }

  std::vector<const api::Endpoint*> rest;
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (!placed[i]) rest.push_back(&wanted[i]);
  }
  size_t next = 0;
  // 1. Slices rewritten anyway take new endpoints while they have room.
  for (api::EndpointSlice& s : updating) {
    while (next < rest.size() && s.endpoints.size() < max_per_slice) {
      s.endpoints.push_back(*rest[next++]);
    }
  }
  // 2. Unchanged slices with room take what fits, fullest first (one write each). Upstream only
  //    uses one that can take all of a last partial batch; when pods turn Ready over several
  //    syncs that leaves many part-filled slices behind (250 pods in 4-5 slices instead of 3).
  //    A single new endpoint still costs exactly one slice write.
  std::stable_sort(unchanged.begin(), unchanged.end(),
                   [](const api::EndpointSlice* a, const api::EndpointSlice* b) {
                     return a->endpoints.size() > b->endpoints.size();
                   });
  for (const api::EndpointSlice* u : unchanged) {
    if (next >= rest.size()) break;
    if (u->endpoints.size() >= max_per_slice) continue;
    api::EndpointSlice s = *u;
    while (next < rest.size() && s.endpoints.size() < max_per_slice) {
      s.endpoints.push_back(*rest[next++]);
    }
    updating.push_back(std::move(s));
  }
  // 3. New slices for the rest.
  while (next < rest.size()) {
    api::EndpointSlice s = NewSlice(svc, address_type, ports, labels);
    while (next < rest.size() && s.endpoints.size() < max_per_slice) {
      s.endpoints.push_back(*rest[next++]);
    }
    plan.to_create.push_back(std::move(s));
  }
  for (api::EndpointSlice& s : updating) plan.to_update.push_back(std::move(s));
}

}  // namespace

std::string PortsKey(const std::vector<api::EndpointSlicePort>& ports) {
  std::string key;
  for (const api::EndpointSlicePort& p : ports) {
    key += p.name.value_or("") + "/" + p.protocol.value_or("") + "/" +
           (p.port ? std::to_string(*p.port) : std::string("-")) + "/" +
           p.app_protocol.value_or("") + ";";
  }
  return key;
}

std::map<std::string, std::string> SliceLabels(const api::Service& svc) {
  std::map<std::string, std::string> labels;
  for (const auto& [k, v] : svc.metadata.labels) {
    if (k == kLabelServiceName || k == kLabelManagedBy) continue;
    labels[k] = v;
  }
  labels[kLabelServiceName] = svc.metadata.name;
  labels[kLabelManagedBy] = kControllerName;
  if (ServiceIsHeadless(svc)) {
    labels[kLabelHeadless] = "";
  } else {
    labels.erase(kLabelHeadless);
  }
  return labels;
}

api::OwnerReference ServiceOwnerRef(const api::Service& svc) {
  api::OwnerReference r;
  r.api_version = "v1";
  r.kind = "Service";
  r.name = svc.metadata.name;
  r.uid = svc.metadata.uid;
  r.controller = true;
  r.block_owner_deletion = true;
  return r;
}

SlicePlan PlanSlices(const api::Service& svc, const std::string& address_type,
                     const std::map<std::string, EndpointGroup>& desired,
                     const std::vector<std::shared_ptr<const api::EndpointSlice>>& existing,
                     size_t max_per_slice) {
  SlicePlan plan;
  const std::map<std::string, std::string> labels = SliceLabels(svc);
  const api::OwnerReference owner = ServiceOwnerRef(svc);
  std::map<std::string, std::vector<std::shared_ptr<const api::EndpointSlice>>> by_ports;
  std::vector<api::EndpointSlice> not_owned;  // e.g. left by an earlier Service of this name
  for (const auto& s : existing) {
    if (OwnedBy(*s, owner)) {
      by_ports[PortsKey(s->ports)].push_back(s);
    } else {
      not_owned.push_back(*s);
    }
  }
  static const std::vector<api::Endpoint> kNoEndpoints;
  std::set<std::string> keys;
  for (const auto& [k, g] : desired) keys.insert(k);
  for (const auto& [k, s] : by_ports) keys.insert(k);
  for (const std::string& key : keys) {
    auto d = desired.find(key);
    auto e = by_ports.find(key);
    static const std::vector<std::shared_ptr<const api::EndpointSlice>> kNoSlices;
    const std::vector<api::Endpoint>& wanted =
        d == desired.end() ? kNoEndpoints : d->second.endpoints;
    const std::vector<api::EndpointSlicePort>& ports =
        d == desired.end() ? e->second.front()->ports : d->second.ports;
    PlanGroup(svc, address_type, ports, wanted, e == by_ports.end() ? kNoSlices : e->second, labels,
              owner, max_per_slice, plan);
  }
  for (api::EndpointSlice& s : not_owned) plan.to_delete.push_back(std::move(s));
  // A Service without endpoints keeps one empty "placeholder" slice (no ports, no endpoints), so
  // that consumers can tell "no endpoints" from "not processed yet"; an up-to-date one stays.
  if (existing.size() == plan.to_delete.size() && plan.to_create.empty()) {
    if (plan.to_delete.size() == 1 && IsPlaceholder(plan.to_delete[0], labels, owner)) {
      plan.to_delete.clear();
    } else {
      plan.to_create.push_back(NewSlice(svc, address_type, {}, labels));
    }
  }
  // Rather than delete one of this Service's slices and create another, rewrite it in place.
  for (size_t i = 0; i < plan.to_delete.size() && !plan.to_create.empty();) {
    api::EndpointSlice& old = plan.to_delete[i];
    if (!OwnedBy(old, owner)) {
      ++i;
      continue;
    }
    api::EndpointSlice s = std::move(plan.to_create.back());
    plan.to_create.pop_back();
    std::map<std::string, std::string> new_labels = std::move(s.metadata.labels);
    std::vector<api::OwnerReference> refs = std::move(s.metadata.owner_references);
    s.metadata = std::move(old.metadata);
    s.metadata.labels = std::move(new_labels);
    s.metadata.owner_references = std::move(refs);
    plan.to_delete.erase(plan.to_delete.begin() + static_cast<std::ptrdiff_t>(i));
    plan.to_update.push_back(std::move(s));
  }
  return plan;
}

}  // namespace knet::controllers::endpointslice_internal
