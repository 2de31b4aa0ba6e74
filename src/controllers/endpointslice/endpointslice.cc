#include "controllers/endpointslice/endpointslice.h"

#include <algorithm>
#include <set>
#include <utility>

#include "client/rest_client.h"
#include "controllers/endpointslice/endpoint_util.h"
#include "controllers/endpointslice/internal/reconciler.h"

namespace knet::controllers {

namespace esi = endpointslice_internal;

namespace {

constexpr std::chrono::milliseconds kSliceChangeMinSyncDelay{1000};

bool ManagedByUs(const api::EndpointSlice& s) {
  auto it = s.metadata.labels.find(kLabelManagedBy);
  return it != s.metadata.labels.end() && it->second == kControllerName;
}

std::string ServiceKeyOf(const api::EndpointSlice& s) {
  auto it = s.metadata.labels.find(kLabelServiceName);
  if (it == s.metadata.labels.end()) return "";
  return s.metadata.namespace_ + "/" + it->second;
}

// The Service's address families; a Service written before ipFamilies existed has none, and its
// ClusterIP tells.
std::vector<std::string> FamiliesOf(const api::Service& svc) {
  if (!svc.spec.ip_families.empty()) return svc.spec.ip_families;
  if (svc.spec.cluster_ip.find(':') != std::string::npos) return {"IPv6"};
  return {"IPv4"};
}

}  // namespace

EndpointSliceController::EndpointSliceController(SharedInformers* informers,
                                                 EndpointSliceOptions opts)
    : informers_(informers),
      client_(informers->client()),
      opts_(opts),
      events_(client_, "endpoint-slice-controller"),
      // Upstream's defaultSyncBackOff / maxSyncBackOff: with 15 retries a Service is given up
      // on only after hours of failures (an API outage of minutes must not lose endpoints).
      controller_({.name = "endpointslice",
                   .workers = opts.workers,
                   .queue = {.base_delay = std::chrono::seconds(1),
                             .max_delay = std::chrono::seconds(1000)},
                   .reconcile = [this](const std::string& key) { return Sync(key); }}) {
  // Upstream accepts --max-endpoints-per-slice in [1, 1000] (the API's limit per slice).
  if (opts_.max_endpoints_per_slice == 0) opts_.max_endpoints_per_slice = 100;
  opts_.max_endpoints_per_slice = std::min<size_t>(opts_.max_endpoints_per_slice, 1000);
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
  informers_->endpoint_slices().AddHandlers({
      .on_add = [this,
                 live](const api::EndpointSlice& s) { live->Run([&] { OnSlice(s, false); }); },
      .on_update = [this, live](
                       const api::EndpointSlice&,
                       const api::EndpointSlice& s) { live->Run([&] { OnSlice(s, false); }); },
      .on_delete = [this,
                    live](const api::EndpointSlice& s) { live->Run([&] { OnSlice(s, true); }); },
  });
  informers_->nodes();  // read for endpoint zones
}

EndpointSliceController::~EndpointSliceController() {
  live_->Kill();  // the informers may outlive us
  Stop();
}

void EndpointSliceController::Start() { controller_.Start(); }

void EndpointSliceController::Stop() { controller_.Stop(); }

void EndpointSliceController::EnqueueService(const std::string& key, api::Time trigger,
                                             bool from_pod) {
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

void EndpointSliceController::OnPod(const api::Pod* old_pod, const api::Pod& pod) {
  if (old_pod != nullptr && !PodEndpointsChanged(*old_pod, pod)) return;
  std::set<std::string> keys = selector_index_->ServicesForPod(pod);
  if (old_pod != nullptr && old_pod->metadata.labels != pod.metadata.labels) {
    keys.merge(selector_index_->ServicesForPod(*old_pod));
  }
  if (keys.empty()) return;
  api::Time trigger = PodTriggerTime(old_pod, pod);
  for (const std::string& key : keys) EnqueueService(key, trigger, true);
}

void EndpointSliceController::OnSlice(const api::EndpointSlice& slice, bool deleted) {
  if (!ManagedByUs(slice)) return;
  std::string key = ServiceKeyOf(slice);
  if (key.empty()) return;
  bool sync = deleted ? tracker_.ShouldSyncDeletion(key, slice) : tracker_.ShouldSync(key, slice);
  if (!sync) return;
  // Upstream waits endpointSliceChangeMinSyncDelay plus the batch period: a slice change by
  // someone else is repaired soon, not raced, and the echo of a write that arrives before the
  // tracker has recorded it does not cut a pod batch short.
  controller_.EnqueueAfter(key, kSliceChangeMinSyncDelay + opts_.batch_period);
}

base::StatusOr<client::ReconcileResult> EndpointSliceController::Sync(const std::string& key) {
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
    // The API server's garbage collector deletes the slices the Service owned.
    tracker_.DeleteService(key);
    return client::ReconcileResult{};
  }
  base::Status s = SyncService(key, *svc, trigger);
  if (!s.ok()) {
    // A conflict only means another writer (or our cache) moved first: retried quietly.
    if (!client::IsConflict(s)) {
      events_.Record(EventRecorder::RefOf(*svc), "Warning", "FailedToUpdateEndpointSlices",
                     "Error updating Endpoint Slices for Service " + key + ": " + s.message());
    }
    if (!trigger.IsZero()) {
      std::lock_guard<std::mutex> l(mu_);
      auto [it, inserted] = trigger_times_.try_emplace(key, trigger);
      if (!inserted && trigger < it->second) it->second = trigger;
    }
    return s;
  }
  return client::ReconcileResult{};
}

base::Status EndpointSliceController::SyncService(const std::string& key, const api::Service& svc,
                                                  api::Time trigger) {
  std::vector<std::shared_ptr<const api::EndpointSlice>> in_cache;
  for (auto& s : informers_->endpoint_slices().ByIndexShared(kSlicesByService, key)) {
    if (ManagedByUs(*s)) in_cache.push_back(std::move(s));
  }
  // Plan from our own latest writes where the cache has not caught up with them yet.
  const std::vector<std::shared_ptr<const api::EndpointSlice>> cached =
      tracker_.Overlay(key, in_cache);
  if (!ServiceHasSelector(svc)) {
    // No longer ours to compute (selector removed, or ExternalName): drop what we wrote;
    // user-managed slices carry another managed-by and are not in `cached`.
    std::vector<api::EndpointSlice> all;
    for (const auto& s : cached) all.push_back(*s);
    return DeleteSlices(key, all);
  }

  const std::vector<std::string> families = FamiliesOf(svc);
  const std::vector<std::shared_ptr<const api::Pod>> pods = PodsForService(informers_->pods(), svc);
  const client::Informer<api::Node>& nodes = informers_->nodes();
  const bool publish_not_ready = svc.spec.publish_not_ready_addresses;

  std::vector<api::EndpointSlice> to_create, to_update, to_delete;
  for (const auto& s : cached) {
    if (std::find(families.begin(), families.end(), s->address_type) == families.end()) {
      to_delete.push_back(*s);
    }
  }
  for (const std::string& family : families) {
    std::map<std::string, esi::EndpointGroup> desired;
    for (const auto& pod : pods) {
      if (!ShouldPodBeInEndpoints(*pod, /*include_terminating=*/true)) continue;
      std::string ip = PodIPForFamily(*pod, family);
      if (ip.empty()) continue;
      std::vector<api::EndpointSlicePort> ports;
      for (const api::ServicePort& sp : svc.spec.ports) {
        std::optional<int32_t> num = FindPort(*pod, sp);
        if (!num) continue;  // upstream skips a port the pod does not expose
        api::EndpointSlicePort p;
        p.name = sp.name;
        p.protocol = sp.protocol.empty() ? "TCP" : sp.protocol;
        p.port = *num;
        p.app_protocol = sp.app_protocol;
        ports.push_back(std::move(p));
      }
      api::Endpoint ep;
      ep.addresses = {ip};
      const bool terminating = !pod->metadata.deletion_timestamp.IsZero();
      const bool serving = publish_not_ready || IsPodReady(*pod);
      ep.conditions.ready = publish_not_ready || (serving && !terminating);
      ep.conditions.serving = serving;
      ep.conditions.terminating = terminating;
      if (std::string h = EndpointHostname(*pod, svc); !h.empty()) ep.hostname = h;
      api::ObjectReference ref;
      ref.kind = "Pod";
      ref.namespace_ = pod->metadata.namespace_;
      ref.name = pod->metadata.name;
      ref.uid = pod->metadata.uid;
      ep.target_ref = ref;
      if (!pod->spec.node_name.empty()) {
        ep.node_name = pod->spec.node_name;
        if (auto node = nodes.GetShared("", pod->spec.node_name)) {
          auto z = node->metadata.labels.find("topology.kubernetes.io/zone");
          if (z != node->metadata.labels.end()) ep.zone = z->second;
        }
      }
      std::string pk = esi::PortsKey(ports);
      esi::EndpointGroup& g = desired[pk];
      if (g.endpoints.empty()) g.ports = std::move(ports);
      g.endpoints.push_back(std::move(ep));
    }
    std::vector<std::shared_ptr<const api::EndpointSlice>> existing;
    for (const auto& s : cached) {
      if (s->address_type == family) existing.push_back(s);
    }
    esi::SlicePlan plan =
        esi::PlanSlices(svc, family, desired, existing, opts_.max_endpoints_per_slice);
    for (auto& s : plan.to_create) to_create.push_back(std::move(s));
    for (auto& s : plan.to_update) to_update.push_back(std::move(s));
    for (auto& s : plan.to_delete) to_delete.push_back(std::move(s));
  }

  const client::Informer<api::EndpointSlice>& slices = informers_->endpoint_slices();
  // Upstream writes RFC 3339 with sub-second precision (RFC3339Nano): the proxy's programming
  // latency is measured from it, so seconds would be too coarse.
  const std::string when = (trigger.IsZero() ? api::Time::Now() : trigger).ToRfc3339Micro();
  for (api::EndpointSlice& s : to_update) {
    s.metadata.annotations[kAnnotationLastChangeTriggerTime] = when;
    base::StatusOr<api::EndpointSlice> got = client_->Update(s);
    if (!got.ok()) {
      return got.status().WithContext("updating EndpointSlice " + s.metadata.namespace_ + "/" +
                                      s.metadata.name);
    }
    tracker_.Written(
        key, *got, [&] { return slices.GetShared(got->metadata.namespace_, got->metadata.name); });
  }
  for (api::EndpointSlice& s : to_create) {
    s.metadata.annotations[kAnnotationLastChangeTriggerTime] = when;
    base::StatusOr<api::EndpointSlice> got = client_->Create(s);
    if (!got.ok()) {
      return got.status().WithContext("creating an EndpointSlice for service " + key);
    }
    tracker_.Written(
        key, *got, [&] { return slices.GetShared(got->metadata.namespace_, got->metadata.name); });
  }
  return DeleteSlices(key, to_delete);
}

base::Status EndpointSliceController::DeleteSlices(const std::string& key,
                                                   const std::vector<api::EndpointSlice>& slices) {
  for (const api::EndpointSlice& s : slices) {
    base::Status st = client_->Delete<api::EndpointSlice>(s.metadata.namespace_, s.metadata.name);
    if (!st.ok() && !client::IsNotFound(st)) {
      return st.WithContext("deleting EndpointSlice " + s.metadata.namespace_ + "/" +
                            s.metadata.name);
    }
    // Recorded only once done: a pending expectation for a slice that still exists would make
    // every later sync wait for the cache.
    tracker_.Deleted(key, s.metadata.name);
  }
  return base::OkStatus();
}

}  // namespace knet::controllers
