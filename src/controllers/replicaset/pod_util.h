// File: controllers/replicaset/pod_util.h
//
// Pod predicates and the ordering the ReplicaSet controller scales down by (upstream
// pkg/controller controller_utils.go and podutil): which pods count as active, ready and
// available, and ActivePodsLess, which ranks the pods to delete first at the front.
//
//   std::sort(pods.begin(), pods.end(), [](auto& a, auto& b) { return ActivePodsLess(*a, *b); });
//   // pods[0] is deleted first: unassigned, pending, not ready, newest ...
//
// Free functions; thread-compatible.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "api/pod.h"
#include "api/values.h"
#include "controllers/pod_conditions.h"  // IsPodReady

namespace knet::controllers {

// Not terminating (no deletionTimestamp) and phase neither Succeeded nor Failed.
bool IsPodActive(const api::Pod& pod);
// When the Ready condition last changed (zero if unknown or absent).
api::Time PodReadyTime(const api::Pod& pod);
// Ready for at least `min_ready_seconds` at `now` (podutil.IsPodAvailable).
bool IsPodAvailable(const api::Pod& pod, int32_t min_ready_seconds, api::Time now);
// For a Ready pod not yet available: how long until it is; nullopt otherwise.
std::optional<std::chrono::milliseconds> TimeUntilAvailable(const api::Pod& pod,
                                                            int32_t min_ready_seconds,
                                                            api::Time now);
// Every label of `want` is on `have` with the same value.
bool HasAllLabels(const std::map<std::string, std::string>& have,
                  const std::map<std::string, std::string>& want);
// controller.ActivePods order: true if `a` should be deleted before `b`.
bool ActivePodsLess(const api::Pod& a, const api::Pod& b);

}  // namespace knet::controllers
