// File: controllers/replicaset/replicaset_status.h
//
// The status a ReplicaSet should have given the pods it controls (upstream calculateStatus): the
// counts, observedGeneration, and the ReplicaFailure condition, which is added while creating or
// deleting pods fails and removed once a sync manages its replicas again. Pure: the controller
// writes the result only when it differs from the stored status.
//
//   ReplicaSetStatusUpdate u = CalculateReplicaSetStatus(rs, pods, manage_error, api::Time::Now());
//   if (!(u.status == rs.status)) { ...UpdateStatus... }
//   if (u.recheck_after) { ...requeue: a pod becomes available then... }
//
// Thread-compatible.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "api/apps.h"
#include "api/pod.h"
#include "api/values.h"
#include "base/status.h"

namespace knet::controllers {

struct ReplicaSetStatusUpdate {
  api::ReplicaSetStatus status;
  // When the next Ready pod passes minReadySeconds (availableReplicas changes then).
  std::optional<std::chrono::milliseconds> recheck_after;
};

// `pods`: the active pods the ReplicaSet controls. `manage_error`: the outcome of this sync's
// creates/deletes (OK if none were needed or they were skipped for expectations).
ReplicaSetStatusUpdate CalculateReplicaSetStatus(
    const api::ReplicaSet& rs, const std::vector<std::shared_ptr<const api::Pod>>& pods,
    const base::Status& manage_error, api::Time now);

}  // namespace knet::controllers
