// File: controllers/endpointslice/service_selector_index.h
//
// ServiceSelectorIndex: which Services select a pod, without looking at every Service. Each
// Service with a selector is filed under ONE of its selector's key=value pairs (a pod it selects
// carries all of them, so any one finds it): the pair fewest Services shared when it was filed.
// So Services that all select a common pair (tier=web) next to a specific one (app=x) are filed
// under the specific one, and a pod event checks only the few Services filed under its own label
// pairs, not every Service that selects tier=web. Namespaces are kept apart.
//
//   auto index = std::make_shared<ServiceSelectorIndex>();
//   FeedServiceSelectorIndex(informers->services(), index);  // before the informers start
//   for (const std::string& key : index->ServicesForPod(pod)) queue.Add(key);
//
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "api/pod.h"
#include "api/service.h"
#include "client/informer.h"

namespace knet::controllers {

class ServiceSelectorIndex {
 public:
  // Files (or refiles) a Service; one without a selector, or ExternalName, is removed.
  void Put(const api::Service& svc);
  // `key` is "namespace/name".
  void Remove(const std::string& key);

  // Keys of the Services in the pod's namespace whose selector matches its labels.
  std::set<std::string> ServicesForPod(const api::Pod& pod) const;
  // How many Services a lookup for `pod` checks (tests).
  size_t CandidatesForTesting(const api::Pod& pod) const;

 private:
  struct Entry {
    std::map<std::string, std::string> selector;
    std::string filed_under;  // "namespace\0key=value"
  };
  static std::string PairKey(const std::string& ns, const std::string& k, const std::string& v);
  void RemoveLocked(const std::string& key);

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> services_;               // service key -> entry
  std::unordered_map<std::string, size_t> pair_counts_;           // pair -> Services selecting it
  std::unordered_map<std::string, std::set<std::string>> filed_;  // pair -> keys filed under it
};

// Keeps `index` current from the Service informer's events. REQUIRES: before it starts.
void FeedServiceSelectorIndex(client::Informer<api::Service>& services,
                              std::shared_ptr<ServiceSelectorIndex> index);

}  // namespace knet::controllers
