// File: controllers/informers.h
//
// SharedInformers: one informer per kind, shared by every controller in a process (client-go's
// SharedInformerFactory). Controllers add their handlers and indexes while they are constructed;
// the manager then starts every informer that was asked for and waits for them to sync.
//
//   controllers::SharedInformers inf(client);
//   inf.pods().AddHandlers({...});   // before Start
//   inf.Start();
//   inf.WaitForSync(std::chrono::seconds(30));
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/apps.h"
#include "api/core.h"
#include "api/endpoint_slice.h"
#include "api/lease.h"
#include "api/node.h"
#include "api/pod.h"
#include "api/service.h"
#include "client/informer.h"
#include "client/rest_client.h"

namespace knet::controllers {

// Index names every controller may rely on (added by SharedInformers itself).
inline constexpr const char* kPodsByNode = "spec.nodeName";  // pods: node name
// pods not yet Succeeded/Failed: node name (what counts against a node's pod capacity)
inline constexpr const char* kActivePodsByNode = "spec.nodeName,active";
inline constexpr const char* kByOwnerUid = "ownerReferences.uid";  // pods, ReplicaSets: owner uid
// pods: one value per label, "namespace/key=value" (see PodLabelKey): a Service or ReplicaSet
// looks in its own namespace only, however many namespaces carry the same labels.
inline constexpr const char* kPodsByLabel = "labels";
inline constexpr const char* kSlicesByService = "kubernetes.io/service-name";  // "ns/name"

// The kPodsByLabel value of label key=value in namespace ns.
inline std::string PodLabelKey(const std::string& ns, const std::string& key,
                               const std::string& value) {
  return ns + "/" + key + "=" + value;
}

class SharedInformers {
 public:
  // `client` must outlive this. `resync`: period of on_update(obj, obj) for every object.
  explicit SharedInformers(client::RestClient* client,
                           std::chrono::milliseconds resync = std::chrono::milliseconds(0))
      : client_(client), resync_(resync) {}
  ~SharedInformers() { Stop(); }
  SharedInformers(const SharedInformers&) = delete;
  SharedInformers& operator=(const SharedInformers&) = delete;

  client::Informer<api::Pod>& pods() {
    return Get(pods_, [](auto& i) { AddPodIndexes(i); });
  }
  client::Informer<api::Service>& services() { return Get(services_); }
  client::Informer<api::Node>& nodes() { return Get(nodes_); }
  client::Informer<api::Lease>& leases() { return Get(leases_); }
  client::Informer<api::ReplicaSet>& replica_sets() {
    return Get(replica_sets_, [](auto& i) { i.AddIndex(kByOwnerUid, OwnerUids<api::ReplicaSet>); });
  }
  client::Informer<api::Deployment>& deployments() { return Get(deployments_); }
  client::Informer<api::EndpointSlice>& endpoint_slices() {
    return Get(endpoint_slices_, [](auto& i) {
      i.AddIndex(kSlicesByService, [](const api::EndpointSlice& s) {
        auto it = s.metadata.labels.find("kubernetes.io/service-name");
        if (it == s.metadata.labels.end()) return std::vector<std::string>{};
        return std::vector<std::string>{s.metadata.namespace_ + "/" + it->second};
      });
    });
  }
  client::Informer<api::Endpoints>& endpoints() { return Get(endpoints_); }

  // Starts every informer created so far. Call once, after all controllers are constructed.
  void Start() {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& f : starters_) f();
    started_ = true;
  }
  // True when every started informer has listed once.
  bool WaitForSync(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::function<bool(std::chrono::milliseconds)>> waits;
    {
      std::lock_guard<std::mutex> l(mu_);
      waits = waiters_;
    }
    for (auto& w : waits) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (!w(std::max(left, std::chrono::milliseconds(0)))) return false;
    }
    return true;
  }
  void Stop() {
    std::vector<std::function<void()>> stops;
    {
      std::lock_guard<std::mutex> l(mu_);
      stops = stoppers_;
    }
    for (auto& f : stops) f();
  }

  client::RestClient* client() const { return client_; }

 private:
  template <class T>
  static std::vector<std::string> OwnerUids(const T& o) {
    std::vector<std::string> out;
    for (const api::OwnerReference& r : o.metadata.owner_references) out.push_back(r.uid);
    return out;
  }
  static void AddPodIndexes(client::Informer<api::Pod>& i) {
    i.AddIndex(kPodsByNode, [](const api::Pod& p) {
      return p.spec.node_name.empty() ? std::vector<std::string>{}
                                      : std::vector<std::string>{p.spec.node_name};
    });
    i.AddIndex(kActivePodsByNode, [](const api::Pod& p) {
      if (p.spec.node_name.empty() || p.status.phase == "Succeeded" || p.status.phase == "Failed") {
        return std::vector<std::string>{};
      }
      return std::vector<std::string>{p.spec.node_name};
    });
    i.AddIndex(kByOwnerUid, OwnerUids<api::Pod>);
    i.AddIndex(kPodsByLabel, [](const api::Pod& p) {
      std::vector<std::string> out;
      out.reserve(p.metadata.labels.size());
      for (const auto& [k, v] : p.metadata.labels) {
        out.push_back(PodLabelKey(p.metadata.namespace_, k, v));
      }
      return out;
    });
  }

  template <class T, class Init = void (*)(client::Informer<T>&)>
  client::Informer<T>& Get(
      std::unique_ptr<client::Informer<T>>& slot, Init init = [](client::Informer<T>&) {}) {
    std::lock_guard<std::mutex> l(mu_);
    if (!slot) {
      slot = std::make_unique<client::Informer<T>>(
          client_, "", client::InformerOptions{.resync_period = resync_});
      init(*slot);
      client::Informer<T>* p = slot.get();
      starters_.push_back([p] { p->Start(); });
      stoppers_.push_back([p] { p->Stop(); });
      waiters_.push_back([p](std::chrono::milliseconds t) { return p->WaitForSync(t); });
      if (started_) p->Start();
    }
    return *slot;
  }

  client::RestClient* client_;
  std::chrono::milliseconds resync_;
  std::mutex mu_;
  bool started_ = false;
  std::vector<std::function<void()>> starters_, stoppers_;
  std::vector<std::function<bool(std::chrono::milliseconds)>> waiters_;
  std::unique_ptr<client::Informer<api::Pod>> pods_;
  std::unique_ptr<client::Informer<api::Service>> services_;
  std::unique_ptr<client::Informer<api::Node>> nodes_;
  std::unique_ptr<client::Informer<api::Lease>> leases_;
  std::unique_ptr<client::Informer<api::ReplicaSet>> replica_sets_;
  std::unique_ptr<client::Informer<api::Deployment>> deployments_;
  std::unique_ptr<client::Informer<api::EndpointSlice>> endpoint_slices_;
  std::unique_ptr<client::Informer<api::Endpoints>> endpoints_;
};

}  // namespace knet::controllers
