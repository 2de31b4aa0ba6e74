#include "controllers/endpointslice/service_selector_index.h"

#include <limits>
#include <mutex>

#include "client/controller.h"
#include "controllers/endpointslice/endpoint_util.h"

namespace knet::controllers {

std::string ServiceSelectorIndex::PairKey(const std::string& ns, const std::string& k,
                                          const std::string& v) {
  std::string out;
  out.reserve(ns.size() + k.size() + v.size() + 2);
  out.append(ns).push_back('\0');
  out.append(k).push_back('=');
  out.append(v);
  return out;
}

void ServiceSelectorIndex::Put(const api::Service& svc) {
  const std::string key = client::KeyOf(svc);
  std::unique_lock<std::shared_mutex> l(mu_);
  if (auto it = services_.find(key); it != services_.end() &&
                                     it->second.selector == svc.spec.selector &&
                                     ServiceHasSelector(svc)) {
    return;  // unchanged: keep where it is filed
  }
  RemoveLocked(key);
  if (!ServiceHasSelector(svc)) return;
  const std::string& ns = svc.metadata.namespace_;
  std::string best;
  size_t best_count = std::numeric_limits<size_t>::max();
  for (const auto& [k, v] : svc.spec.selector) {
    std::string pair = PairKey(ns, k, v);
    size_t n = ++pair_counts_[pair];
    if (n < best_count || (n == best_count && pair < best)) {
      best_count = n;
      best = std::move(pair);
    }
  }
  filed_[best].insert(key);
  services_[key] = Entry{svc.spec.selector, std::move(best)};
}

void ServiceSelectorIndex::Remove(const std::string& key) {
  std::unique_lock<std::shared_mutex> l(mu_);
  RemoveLocked(key);
}

void ServiceSelectorIndex::RemoveLocked(const std::string& key) {
  auto it = services_.find(key);
  if (it == services_.end()) return;
  const std::string ns = key.substr(0, key.find('/'));
  for (const auto& [k, v] : it->second.selector) {
    auto c = pair_counts_.find(PairKey(ns, k, v));
    if (c != pair_counts_.end() && --c->second == 0) pair_counts_.erase(c);
  }
  auto f = filed_.find(it->second.filed_under);
  if (f != filed_.end()) {
    f->second.erase(key);
    if (f->second.empty()) filed_.erase(f);
  }
  services_.erase(it);
}

std::set<std::string> ServiceSelectorIndex::ServicesForPod(const api::Pod& pod) const {
  std::set<std::string> out;
  std::shared_lock<std::shared_mutex> l(mu_);
  for (const auto& [k, v] : pod.metadata.labels) {
    auto f = filed_.find(PairKey(pod.metadata.namespace_, k, v));
    if (f == filed_.end()) continue;
    for (const std::string& key : f->second) {
      const Entry& e = services_.at(key);
      bool match = true;
      for (const auto& [sk, sv] : e.selector) {
        auto it = pod.metadata.labels.find(sk);
        if (it == pod.metadata.labels.end() || it->second != sv) {
          match = false;
          break;
        }
      }
      if (match) out.insert(key);
    }
  }
  return out;
}

size_t ServiceSelectorIndex::CandidatesForTesting(const api::Pod& pod) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  size_t n = 0;
  for (const auto& [k, v] : pod.metadata.labels) {
    auto f = filed_.find(PairKey(pod.metadata.namespace_, k, v));
    if (f != filed_.end()) n += f->second.size();
  }
  return n;
}

void FeedServiceSelectorIndex(client::Informer<api::Service>& services,
                              std::shared_ptr<ServiceSelectorIndex> index) {
  services.AddHandlers({
      .on_add = [index](const api::Service& s) { index->Put(s); },
      .on_update = [index](const api::Service&, const api::Service& s) { index->Put(s); },
      .on_delete = [index](const api::Service& s) { index->Remove(client::KeyOf(s)); },
  });
}

}  // namespace knet::controllers
