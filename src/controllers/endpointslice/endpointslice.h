// File: controllers/endpointslice/endpointslice.h
//
// EndpointSliceController: keeps the discovery.k8s.io/v1 EndpointSlices of every Service that has
// a selector in step with the pods it selects, as kube-controller-manager's endpointslice
// controller does. For each IP family in spec.ipFamilies it manages slices labelled
// kubernetes.io/service-name=<svc> and endpointslice.kubernetes.io/managed-by=
// endpointslice-controller.k8s.io, owned by the Service (so deleting the Service garbage-collects
// them). Each endpoint is one pod: its IP of that family, ready/serving/terminating conditions,
// nodeName, zone, hostname and a targetRef; pods whose named targetPorts resolve to different
// numbers go into different slices. Slices of Services without a selector, and slices managed by
// anyone else, are never touched.
//
// Cost is proportional to the change: a pod event finds its Services through an index of Service
// selectors, a Service's pods come from the smallest label bucket of its selector, and only the
// slices whose content changes are written (see internal/reconciler.h).
//
//   controllers::EndpointSliceController esc(&informers, {.max_endpoints_per_slice = 100});
//   informers.Start();
//   informers.WaitForSync(std::chrono::seconds(30));
//   esc.Start();
//   ...
//   esc.Stop();
//
// Thread-safe; Start/Stop from one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/endpoint_slice.h"
#include "api/pod.h"
#include "api/service.h"
#include "api/values.h"
#include "base/status.h"
#include "client/controller.h"
#include "controllers/endpointslice/endpoint_util.h"
#include "controllers/endpointslice/internal/slice_tracker.h"
#include "controllers/endpointslice/service_selector_index.h"
#include "controllers/events.h"
#include "controllers/informers.h"

namespace knet::controllers {

struct EndpointSliceOptions {
  int workers = 5;                       // --concurrent-service-endpoint-syncs
  size_t max_endpoints_per_slice = 100;  // --max-endpoints-per-slice; 0: 100, capped at 1000
  // --endpoint-updates-batch-period: a pod-triggered sync waits this long so that a burst of pod
  // changes costs one write per slice. Zero: sync at once.
  std::chrono::milliseconds batch_period{0};
};

class EndpointSliceController {
 public:
  // Registers handlers on the pod, Service, EndpointSlice and node informers of `informers`,
  // which must outlive this and not be started yet.
  explicit EndpointSliceController(SharedInformers* informers, EndpointSliceOptions opts = {});
  ~EndpointSliceController();
  EndpointSliceController(const EndpointSliceController&) = delete;
  EndpointSliceController& operator=(const EndpointSliceController&) = delete;

  // REQUIRES: the informers have synced.
  void Start();
  // Idempotent; joins the workers. The controller may be destroyed before the informers stop:
  // its handlers then do nothing.
  void Stop();

 private:
  base::StatusOr<client::ReconcileResult> Sync(const std::string& key);
  base::Status SyncService(const std::string& key, const api::Service& svc, api::Time trigger);
  base::Status DeleteSlices(const std::string& key, const std::vector<api::EndpointSlice>& slices);

  void OnPod(const api::Pod* old_pod, const api::Pod& pod);
  void OnSlice(const api::EndpointSlice& slice, bool deleted);
  // Queues a Service; `from_pod` applies the batch period.
  void EnqueueService(const std::string& key, api::Time trigger, bool from_pod);

  std::shared_ptr<HandlerLiveness> live_ = std::make_shared<HandlerLiveness>();
  std::shared_ptr<ServiceSelectorIndex> selector_index_ = std::make_shared<ServiceSelectorIndex>();
  SharedInformers* informers_;
  client::RestClient* client_;
  EndpointSliceOptions opts_;
  EventRecorder events_;
  endpointslice_internal::EndpointSliceTracker tracker_;
  std::mutex mu_;
  // The earliest change not yet synced per Service (last-change-trigger-time).
  std::map<std::string, api::Time> trigger_times_;
  client::Controller controller_;
};

}  // namespace knet::controllers
