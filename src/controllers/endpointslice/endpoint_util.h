// File: controllers/endpointslice/endpoint_util.h
//
// What the EndpointSlice and Endpoints controllers share (upstream
// pkg/controller/util/endpoint and podutil): which pods back a Service, through the pod label
// index so that no sync scans all pods (the other direction is service_selector_index.h); how a
// Service port resolves to a pod's port number; whether and how a pod appears as an endpoint.
//
//   for (const auto& pod : PodsForService(pods, svc)) { ... FindPort(*pod, svc.spec.ports[0]) }
//
// All functions are thread-safe (they read informer caches only).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "api/pod.h"
#include "api/service.h"
#include "client/informer.h"
#include "controllers/handler_liveness.h"
#include "controllers/pod_conditions.h"  // IsPodReady

namespace knet::controllers {

// Label and annotation names from k8s.io/api/discovery/v1 and core/v1.
inline constexpr const char* kLabelServiceName = "kubernetes.io/service-name";
inline constexpr const char* kLabelManagedBy = "endpointslice.kubernetes.io/managed-by";
inline constexpr const char* kControllerName = "endpointslice-controller.k8s.io";
inline constexpr const char* kLabelHeadless = "service.kubernetes.io/headless";
inline constexpr const char* kAnnotationLastChangeTriggerTime =
    "endpoints.kubernetes.io/last-change-trigger-time";

// Whether the Service gets endpoints computed by a controller: it has a selector and is not
// ExternalName. Others are user-managed.
bool ServiceHasSelector(const api::Service& svc);
bool ServiceIsHeadless(const api::Service& svc);

// The pods in the Service's namespace that its selector matches, taken from the kPodsByLabel
// bucket of the selector pair with the fewest pods. Empty when the Service has no selector.
std::vector<std::shared_ptr<const api::Pod>> PodsForService(const client::Informer<api::Pod>& pods,
                                                            const api::Service& svc);

// podutil.FindPort: a numeric targetPort is itself; a named one is looked up among the pod's
// container ports with the Service port's protocol. nullopt when the name is not found.
std::optional<int32_t> FindPort(const api::Pod& pod, const api::ServicePort& port);

// endpointutil.ShouldPodBeInEndpoints: the pod has an IP; it is not terminating unless
// `include_terminating`; and it is not terminal (phase Succeeded or Failed).
bool ShouldPodBeInEndpoints(const api::Pod& pod, bool include_terminating);

// The pod's IP of family "IPv4" / "IPv6" from status.podIPs (status.podIP as a fallback), or "".
std::string PodIPForFamily(const api::Pod& pod, const std::string& family);

// The hostname a pod's endpoint carries: spec.hostname when spec.subdomain names the Service.
std::string EndpointHostname(const api::Pod& pod, const api::Service& svc);

// Whether an update from `old_pod` to `new_pod` can change any endpoint built from it (labels,
// IPs, readiness, deletion, phase, hostname, node, container ports). Informer resyncs and
// unrelated status writes give false, so they cost no reconcile.
bool PodEndpointsChanged(const api::Pod& old_pod, const api::Pod& new_pod);

// The moment a pod change happened, for the last-change-trigger-time annotation: the Ready
// condition's lastTransitionTime when this event carries a new one (upstream's
// getPodTriggerTime, counted only when it moved, as its TriggerTimeTracker does); otherwise
// (added or deleted pods, termination, IP, label or port changes) the time the change was
// observed, now. `old_pod` is null for an added or deleted pod.
api::Time PodTriggerTime(const api::Pod* old_pod, const api::Pod& pod);

// Integer form of a resourceVersion (knet's are store revisions), 0 when not a number.
uint64_t ParseResourceVersion(const std::string& rv);

}  // namespace knet::controllers
