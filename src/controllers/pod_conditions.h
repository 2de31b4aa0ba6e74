// File: controllers/pod_conditions.h
//
// Pod condition helpers every controller shares (upstream's podutil): a pod is Ready when its
// Ready condition is True.
#pragma once

#include <string_view>

#include "api/pod.h"

namespace knet::controllers {

// The pod's condition of `type` ("Ready", "PodScheduled", ...), or nullptr.
const api::PodCondition* FindPodCondition(const api::Pod& pod, std::string_view type);
// The pod's Ready condition, or nullptr.
inline const api::PodCondition* ReadyCondition(const api::Pod& pod) {
  return FindPodCondition(pod, "Ready");
}
bool IsPodReady(const api::Pod& pod);

}  // namespace knet::controllers
