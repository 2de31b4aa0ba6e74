// File: controllers/endpoints/endpoints.h
//
// EndpointsController: keeps the legacy core/v1 Endpoints object of every Service that has a
// selector (same namespace and name as the Service) in step with the pods it selects, as
// kube-controller-manager's endpoints controller does: ready pods under `addresses`, others under
// `notReadyAddresses` (publishNotReadyAddresses puts every pod under `addresses` and keeps
// terminating ones), each with ip, nodeName, targetRef and hostname; pods grouped into subsets by
// their resolved port set; at most 1000 addresses (ready ones kept first) with the annotation
// endpoints.kubernetes.io/over-capacity: truncated when more were dropped. The Endpoints of a
// Service without a selector are the user's and never touched; a deleted Service's Endpoints are
// deleted. Only a change in the computed object causes a write.
//
// Cost per pod event: the Services it backs come from an index of Service selectors, and each
// Service's pods from the smallest label bucket of its selector (endpointslice/endpoint_util.h).
//
//   controllers::EndpointsController ec(&informers);
//   informers.Start();
//   informers.WaitForSync(std::chrono::seconds(30));
//   ec.Start();
//   ...
//   ec.Stop();
//
// Thread-safe; Start/Stop from one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/core.h"
#include "api/pod.h"
#include "api/service.h"
#include "api/values.h"
#include "base/status.h"
#include "client/controller.h"
#include "controllers/endpointslice/endpoint_util.h"
#include "controllers/endpointslice/service_selector_index.h"
#include "controllers/events.h"
#include "controllers/informers.h"

namespace knet::controllers {

// Upstream maxCapacity: addresses beyond this are dropped and the object annotated.
inline constexpr size_t kMaxEndpointsAddresses = 1000;
inline constexpr const char* kAnnotationOverCapacity = "endpoints.kubernetes.io/over-capacity";

struct EndpointsOptions {
  int workers = 5;  // --concurrent-endpoint-syncs
  // --endpoint-updates-batch-period: a pod-triggered sync waits this long so that a burst of pod
  // changes costs one write. Zero: sync at once.
  std::chrono::milliseconds batch_period{0};
};

class EndpointsController {
 public:
  // Registers handlers on the pod, Service and Endpoints informers of `informers`, which must
  // outlive this and not be started yet.
  explicit EndpointsController(SharedInformers* informers, EndpointsOptions opts = {});
  ~EndpointsController();
  EndpointsController(const EndpointsController&) = delete;
  EndpointsController& operator=(const EndpointsController&) = delete;

  // REQUIRES: the informers have synced.
  void Start();
  // Idempotent; joins the workers. The controller may be destroyed before the informers stop:
  // its handlers then do nothing.
  void Stop();

 private:
  base::StatusOr<client::ReconcileResult> Sync(const std::string& key);
  base::Status SyncService(const std::string& key, const api::Service& svc, api::Time trigger);
  void OnPod(const api::Pod* old_pod, const api::Pod& pod);
  void OnEndpoints(const api::Endpoints& ep, bool deleted);
  void EnqueueService(const std::string& key, api::Time trigger, bool from_pod);
  // The Endpoints as of this controller's last write when the cache has not caught up yet.
  std::shared_ptr<const api::Endpoints> Current(const std::string& key);

  std::shared_ptr<HandlerLiveness> live_ = std::make_shared<HandlerLiveness>();
  std::shared_ptr<ServiceSelectorIndex> selector_index_ = std::make_shared<ServiceSelectorIndex>();
  SharedInformers* informers_;
  client::RestClient* client_;
  EndpointsOptions opts_;
  EventRecorder events_;
  std::mutex mu_;
  std::map<std::string, api::Time> trigger_times_;  // earliest unsynced change per Service
  // What this controller last wrote per Service, until the informer has seen it (upstream's
  // staleEndpointsTracker, but planning from the written copy instead of waiting).
  std::map<std::string, std::shared_ptr<const api::Endpoints>> written_;
  client::Controller controller_;
};

}  // namespace knet::controllers
