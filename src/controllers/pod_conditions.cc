#include "controllers/pod_conditions.h"

namespace knet::controllers {

const api::PodCondition* FindPodCondition(const api::Pod& pod, std::string_view type) {
  for (const api::PodCondition& c : pod.status.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

bool IsPodReady(const api::Pod& pod) {
  const api::PodCondition* c = ReadyCondition(pod);
  return c != nullptr && c->status == "True";
}

}  // namespace knet::controllers
