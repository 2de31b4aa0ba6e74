#include "controllers/replicaset/replicaset_status.h"

#include <algorithm>
#include <string>

#include "controllers/replicaset/pod_util.h"

namespace knet::controllers {
namespace {
constexpr const char* kReplicaFailure = "ReplicaFailure";
}  // namespace

ReplicaSetStatusUpdate CalculateReplicaSetStatus(
    const api::ReplicaSet& rs, const std::vector<std::shared_ptr<const api::Pod>>& pods,
    const base::Status& manage_error, api::Time now) {
  ReplicaSetStatusUpdate out;
  api::ReplicaSetStatus& st = out.status;
  st = rs.status;
  const int32_t min_ready = rs.spec.min_ready_seconds;
  st.replicas = static_cast<int32_t>(pods.size());
  st.fully_labeled_replicas = st.ready_replicas = st.available_replicas = 0;
  for (const auto& p : pods) {
    if (HasAllLabels(p->metadata.labels, rs.spec.template_.metadata.labels)) {
      ++st.fully_labeled_replicas;
    }
    if (IsPodReady(*p)) ++st.ready_replicas;
    if (IsPodAvailable(*p, min_ready, now)) ++st.available_replicas;
    if (auto left = TimeUntilAvailable(*p, min_ready, now)) {
      out.recheck_after = std::min(out.recheck_after.value_or(*left), *left);
    }
  }
  st.observed_generation = rs.metadata.generation;

  const bool has_failure =
      std::any_of(st.conditions.begin(), st.conditions.end(),
                  [](const api::ReplicaSetCondition& c) { return c.type == kReplicaFailure; });
  if (!manage_error.ok() && !has_failure) {
    api::ReplicaSetCondition c;
    c.type = kReplicaFailure;
    c.status = "True";
    c.reason = st.replicas < rs.spec.replicas.value_or(1) ? "FailedCreate" : "FailedDelete";
    c.message = manage_error.message();
    // Whole seconds, as the wire keeps them, so the cached copy compares equal.
    c.last_transition_time = api::Time::FromUnixSeconds(now.unix_seconds());
    st.conditions.push_back(c);
  } else if (manage_error.ok() && has_failure) {
    std::erase_if(st.conditions,
                  [](const api::ReplicaSetCondition& c) { return c.type == kReplicaFailure; });
  }
  return out;
}

}  // namespace knet::controllers
