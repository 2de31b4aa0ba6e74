#include "controllers/endpoints/endpoints.h"

#include <set>
#include <utility>
#include <vector>

#include "base/ip.h"
#include "client/rest_client.h"
#include "controllers/endpoints/internal/subsets.h"
#include "controllers/endpointslice/endpoint_util.h"

namespace knet::controllers {

namespace epi = endpoints_internal;

namespace {

// The address family whose pod IP the Endpoints use (upstream podToEndpointAddressForService):
// the ClusterIP's, or for a headless Service its first ipFamily; "" means the pod's primary IP.
std::string FamilyFor(const api::Service& svc) {
  if (!ServiceIsHeadless(svc) && !svc.spec.cluster_ip.empty()) {
    auto ip = base::IPAddress::Parse(svc.spec.cluster_ip);
    if (ip.ok()) return ip->is_v6() ? "IPv6" : "IPv4";
  }
  if (!svc.spec.ip_families.empty()) return svc.spec.ip_families.front();
  return "";
}

std::map<std::string, std::string> EndpointsLabels(const api::Service& svc) {
  std::map<std::string, std::string> labels = svc.metadata.labels;
  if (ServiceIsHeadless(svc)) {
    labels[kLabelHeadless] = "";
  } else {
    labels.erase(kLabelHeadless);
  }
  return labels;
}

}  // namespace

EndpointsController::EndpointsController(SharedInformers* informers, EndpointsOptions opts)
    : informers_(informers),
      client_(informers->client()),
      opts_(opts),
      events_(client_, "endpoint-controller"),
      // As the EndpointSlice controller: 1 s doubling to 1000 s, so 15 retries span hours.
      controller_({.name = "endpoints",
                   .workers = opts.workers,
                   .queue = {.base_delay = std::chrono::seconds(1),
                             .max_delay = std::chrono::seconds(1000)},
                   .reconcile = [this](const std::string& key) { return Sync(key); }}) {
  std::shared_ptr<HandlerLiveness> live = live_;
  FeedServiceSelectorIndex(informers_->services(), selector_index_);
  informers_->services().AddHandlers({
      .on_add =
          [this, live](const api::Service& s) {
            live->Run([&] { EnqueueService(client::KeyOf(s), {}, false); });
          },
      // Also on the informer's periodic resync (old == new): that sync repairs drift, as upstream.
      .on_update =
          [this, live](const api::Service&, const api::Service& s) {
            live->Run([&] { EnqueueService(client::KeyOf(s), {}, false); });
          },
      .on_delete =
          [this, live](const api::Service& s) {
            live->Run([&] { EnqueueService(client::KeyOf(s), {}, false); });
          },
  });
  informers_->pods().AddHandlers({
      .on_add = [this, live](const api::Pod& p) { live->Run([&] { OnPod(nullptr, p); }); },
      .on_update = [this, live](const api::Pod& o,
                                const api::Pod& p) { live->Run([&] { OnPod(&o, p); }); },
      .on_delete = [this, live](const api::Pod& p) { live->Run([&] { OnPod(nullptr, p); }); },
  });
  informers_->endpoints().AddHandlers({
      .on_add = [this,
                 live](const api::Endpoints& e) { live->Run([&] { OnEndpoints(e, false); }); },
      .on_update = [this, live](
                       const api::Endpoints&,
                       const api::Endpoints& e) { live->Run([&] { OnEndpoints(e, false); }); },
      .on_delete = [this,
                    live](const api::Endpoints& e) { live->Run([&] { OnEndpoints(e, true); }); },
  });
}

EndpointsController::~EndpointsController() {
  live_->Kill();  // the informers may outlive us
  Stop();
}

void EndpointsController::Start() {
  // Upstream checkLeftoverEndpoints: Endpoints whose Service went away while no controller ran
  // are found once at startup (afterwards the Service's delete event covers them). Leader
  // election records are Endpoints without a Service and are left alone.
  const client::Informer<api::Service>& services = informers_->services();
  for (const auto& ep : informers_->endpoints().ListShared()) {
    if (ep->metadata.annotations.count("control-plane.alpha.kubernetes.io/leader")) continue;
    if (services.GetShared(ep->metadata.namespace_, ep->metadata.name) == nullptr) {
      controller_.Enqueue(client::KeyOf(*ep));
    }
  }
  controller_.Start();
}

void EndpointsController::Stop() { controller_.Stop(); }

void EndpointsController::EnqueueService(const std::string& key, api::Time trigger, bool from_pod) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (trigger.IsZero()) trigger = api::Time::Now();
    auto [it, inserted] = trigger_times_.try_emplace(key, trigger);
    if (!inserted && trigger < it->second) it->second = trigger;
  }
  if (from_pod && opts_.batch_period.count() > 0) {
    controller_.EnqueueAfter(key, opts_.batch_period);
  } else {
    controller_.Enqueue(key);
  }
}

void EndpointsController::OnPod(const api::Pod* old_pod, const api::Pod& pod) {
  if (old_pod != nullptr && !PodEndpointsChanged(*old_pod, pod)) return;
  std::set<std::string> keys = selector_index_->ServicesForPod(pod);
  if (old_pod != nullptr && old_pod->metadata.labels != pod.metadata.labels) {
    keys.merge(selector_index_->ServicesForPod(*old_pod));
  }
  if (keys.empty()) return;
  api::Time trigger = PodTriggerTime(old_pod, pod);
  for (const std::string& key : keys) EnqueueService(key, trigger, true);
}

void EndpointsController::OnEndpoints(const api::Endpoints& ep, bool deleted) {
  // Deleted by someone else (kubectl delete endpoints): the Service's sync recreates it, as
  // upstream does; Services without a selector are skipped by Sync.
  if (deleted) EnqueueService(client::KeyOf(ep), {}, false);
  // Bookkeeping: once the cache holds our write (or the object is gone) the copy goes.
  std::lock_guard<std::mutex> l(mu_);
  auto it = written_.find(client::KeyOf(ep));
  if (it == written_.end()) return;
  if (deleted || ParseResourceVersion(ep.metadata.resource_version) >=
                     ParseResourceVersion(it->second->metadata.resource_version)) {
    written_.erase(it);
  }
}

std::shared_ptr<const api::Endpoints> EndpointsController::Current(const std::string& key) {
  auto [ns, name] = client::SplitKey(key);
  std::shared_ptr<const api::Endpoints> cached = informers_->endpoints().GetShared(ns, name);
  std::lock_guard<std::mutex> l(mu_);
  auto it = written_.find(key);
  if (it == written_.end()) return cached;
  if (cached != nullptr && ParseResourceVersion(cached->metadata.resource_version) >=
                               ParseResourceVersion(it->second->metadata.resource_version)) {
    written_.erase(it);
    return cached;
  }
  return it->second;
}

base::StatusOr<client::ReconcileResult> EndpointsController::Sync(const std::string& key) {
  api::Time trigger;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = trigger_times_.find(key); it != trigger_times_.end()) {
      trigger = it->second;
      trigger_times_.erase(it);
    }
  }
  auto [ns, name] = client::SplitKey(key);
  std::shared_ptr<const api::Service> svc = informers_->services().GetShared(ns, name);
  if (svc == nullptr) {
    // Upstream deletes the Endpoints of a deleted Service whoever wrote them.
    {
      std::lock_guard<std::mutex> l(mu_);
      written_.erase(key);
    }
    base::Status s = client_->Delete<api::Endpoints>(ns, name);
    if (!s.ok() && !client::IsNotFound(s)) {
      return s.WithContext("deleting Endpoints " + key + " of a deleted service");
    }
    return client::ReconcileResult{};
  }
  base::Status s = SyncService(key, *svc, trigger);
  if (!s.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    auto [it, inserted] =
        trigger_times_.try_emplace(key, trigger.IsZero() ? api::Time::Now() : trigger);
    if (!inserted && !trigger.IsZero() && trigger < it->second) it->second = trigger;
    return s;
  }
  return client::ReconcileResult{};
}

base::Status EndpointsController::SyncService(const std::string& key, const api::Service& svc,
                                              api::Time trigger) {
  if (!ServiceHasSelector(svc)) return base::OkStatus();  // user-managed Endpoints
  const bool publish_not_ready = svc.spec.publish_not_ready_addresses;
  const std::string family = FamilyFor(svc);
  std::vector<epi::PodEndpoint> pods;
  for (const auto& pod : PodsForService(informers_->pods(), svc)) {
    if (!ShouldPodBeInEndpoints(*pod, /*include_terminating=*/publish_not_ready)) continue;
    std::string ip = family.empty() ? pod->status.pod_ip : PodIPForFamily(*pod, family);
    if (ip.empty()) continue;
    epi::PodEndpoint pe;
    pe.address.ip = ip;
    pe.address.hostname = EndpointHostname(*pod, svc);
    if (!pod->spec.node_name.empty()) pe.address.node_name = pod->spec.node_name;
    api::ObjectReference ref;
    ref.kind = "Pod";
    ref.namespace_ = pod->metadata.namespace_;
    ref.name = pod->metadata.name;
    ref.uid = pod->metadata.uid;
    pe.address.target_ref = ref;
    pe.ready = publish_not_ready || IsPodReady(*pod);
    if (svc.spec.ports.empty()) {
      // Only a headless Service lists addresses without ports.
      if (!ServiceIsHeadless(svc)) continue;
    } else {
      for (const api::ServicePort& sp : svc.spec.ports) {
        std::optional<int32_t> num = FindPort(*pod, sp);
        if (!num) continue;  // upstream skips a port the pod does not expose
        api::EndpointPort p;
        p.name = sp.name;
        p.port = *num;
        p.protocol = sp.protocol.empty() ? "TCP" : sp.protocol;
        p.app_protocol = sp.app_protocol;
        pe.ports.push_back(std::move(p));
      }
      if (pe.ports.empty()) continue;
    }
    pods.push_back(std::move(pe));
  }
  std::vector<api::EndpointSubset> subsets = epi::RepackSubsets(std::move(pods));
  const bool truncated = epi::TruncateSubsets(subsets, kMaxEndpointsAddresses);
  const std::map<std::string, std::string> labels = EndpointsLabels(svc);

  std::shared_ptr<const api::Endpoints> current = Current(key);
  if (current != nullptr) {
    auto cap = current->metadata.annotations.find(kAnnotationOverCapacity);
    const bool marked = cap != current->metadata.annotations.end() && cap->second == "truncated";
    if (current->subsets == subsets && current->metadata.labels == labels && marked == truncated) {
      return base::OkStatus();
    }
  }
  api::Endpoints want;
  if (current != nullptr) {
    want.metadata = current->metadata;
  } else {
    want.metadata.name = svc.metadata.name;
    want.metadata.namespace_ = svc.metadata.namespace_;
  }
  want.metadata.labels = labels;
  // Upstream writes RFC 3339 with sub-second precision (RFC3339Nano): the proxy's programming
  // latency is measured from it, so seconds would be too coarse.
  want.metadata.annotations[kAnnotationLastChangeTriggerTime] =
      (trigger.IsZero() ? api::Time::Now() : trigger).ToRfc3339Micro();
  if (truncated) {
    want.metadata.annotations[kAnnotationOverCapacity] = "truncated";
  } else {
    want.metadata.annotations.erase(kAnnotationOverCapacity);
  }
  want.subsets = std::move(subsets);
  base::StatusOr<api::Endpoints> got =
      current != nullptr ? client_->Update(want) : client_->Create(want);
  if (!got.ok()) {
    if (!client::IsConflict(got.status()) && !client::IsAlreadyExists(got.status())) {
      events_.Record(EventRecorder::RefOf(svc), "Warning",
                     current != nullptr ? "FailedToUpdateEndpoint" : "FailedToCreateEndpoint",
                     std::string("Failed to ") + (current != nullptr ? "update" : "create") +
                         " endpoint " + key + ": " + got.status().message());
    }
    return got.status().WithContext((current != nullptr ? "updating" : "creating") +
                                    std::string(" Endpoints ") + key);
  }
  const uint64_t rv = ParseResourceVersion(got->metadata.resource_version);
  // Under mu_, so the informer's handler for this write (which runs after its cache holds the
  // write, and takes mu_) either finds the entry or is already reflected in `cached`.
  std::lock_guard<std::mutex> l(mu_);
  std::shared_ptr<const api::Endpoints> cached =
      informers_->endpoints().GetShared(svc.metadata.namespace_, svc.metadata.name);
  if (cached == nullptr || ParseResourceVersion(cached->metadata.resource_version) < rv) {
    written_[key] = std::make_shared<const api::Endpoints>(std::move(*got));
  }
  return base::OkStatus();
}

}  // namespace knet::controllers
