// The Deployment controller's strategies and scaling (upstream rolling.go, recreate.go, sync.go).
#include <algorithm>

#include "controllers/deployment/deployment.h"
#include "controllers/replicaset/controller_ref.h"

namespace knet::controllers {

using namespace deployment;  // NOLINT: the helpers of this controller

base::StatusOr<bool> DeploymentController::IsScalingEvent(api::Deployment& d,
                                                          std::vector<RSPtr>& rs_list) {
  RSPtr new_rs;
  std::vector<RSPtr> old_rss;
  RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(d, rs_list, false, &new_rs, &old_rss));
  for (const RSPtr& rs : FilterActive(WithNew(old_rss, new_rs))) {
    std::optional<int32_t> desired = IntAnnotation(*rs, kDesiredReplicasAnnotation);
    if (desired && *desired != Replicas(d)) return true;
  }
  return false;
}

base::Status DeploymentController::SyncScale(api::Deployment& d, std::vector<RSPtr>& rs_list) {
  RSPtr new_rs;
  std::vector<RSPtr> old_rss;
  RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(d, rs_list, false, &new_rs, &old_rss));
  RETURN_IF_ERROR(Scale(d, new_rs, old_rss));
  if (d.spec.paused) RETURN_IF_ERROR(CleanupDeployment(old_rss, d));
  return SyncDeploymentStatus(WithNew(old_rss, new_rs), new_rs, d);
}

base::Status DeploymentController::Scale(const api::Deployment& d, const RSPtr& new_rs,
                                         const std::vector<RSPtr>& old_rss) {
  // One active ReplicaSet (or none: then the newest) simply gets every replica.
  if (RSPtr only = FindActiveOrLatest(new_rs, old_rss)) {
    if (Replicas(*only) == Replicas(d)) return base::OkStatus();
    return ScaleReplicaSetAndRecordEvent(only, Replicas(d), d).status();
  }
  // A saturated new ReplicaSet means the old ones are no longer needed.
  if (IsSaturated(d, new_rs)) {
    for (const RSPtr& old : FilterActive(old_rss)) {
      RETURN_IF_ERROR(ScaleReplicaSetAndRecordEvent(old, 0, d).status());
    }
    return base::OkStatus();
  }
  if (!IsRollingUpdate(d)) return base::OkStatus();
  // Mid-rollout: spread the change over the active ReplicaSets in proportion to their size.
  std::vector<RSPtr> all = FilterActive(WithNew(old_rss, new_rs));
  int32_t allowed = Replicas(d) > 0 ? Replicas(d) + MaxSurge(d) : 0;
  int32_t to_add = allowed - SpecReplicas(all);
  std::string operation;
  if (to_add > 0) {
    std::sort(all.begin(), all.end(), LargerNewerFirst);
    operation = "up";
  } else if (to_add < 0) {
    std::sort(all.begin(), all.end(), LargerOlderFirst);
    operation = "down";
  }
  int32_t added = 0;
  std::vector<int32_t> sizes;
  for (const RSPtr& rs : all) {
    int32_t p = to_add != 0 ? GetProportion(rs, d, to_add, added) : 0;
    sizes.push_back(Replicas(*rs) + p);
    added += p;
  }
  for (size_t i = 0; i < all.size(); ++i) {
    // The rounding leftovers go to the largest ReplicaSet.
    if (i == 0 && to_add != 0) sizes[0] = std::max(sizes[0] + to_add - added, 0);
    RETURN_IF_ERROR(ScaleReplicaSet(all[i], sizes[i], d, operation).status());
  }
  return base::OkStatus();
}

base::StatusOr<bool> DeploymentController::ScaleReplicaSetAndRecordEvent(const RSPtr& rs,
                                                                         int32_t new_scale,
                                                                         const api::Deployment& d) {
  if (Replicas(*rs) == new_scale) return false;
  return ScaleReplicaSet(rs, new_scale, d, Replicas(*rs) < new_scale ? "up" : "down");
}

base::StatusOr<bool> DeploymentController::ScaleReplicaSet(const RSPtr& rs, int32_t new_scale,
                                                           const api::Deployment& d,
                                                           const std::string& operation) {
  const bool size_changes = Replicas(*rs) != new_scale;
  const int32_t max = Replicas(d) + MaxSurge(d);
  if (!size_changes && !ReplicasAnnotationsNeedUpdate(*rs, Replicas(d), max)) return false;
  api::ReplicaSet copy = *rs;
  copy.spec.replicas = new_scale;
  SetReplicasAnnotations(copy, Replicas(d), max);
  base::StatusOr<api::ReplicaSet> updated = client_->Update(copy);
  if (!updated.ok()) {
    return updated.status().WithContext("scaling replicaset " + client::KeyOf(*rs));
  }
  *rs = std::move(*updated);
  if (size_changes) {
    events_.Record(EventRecorder::RefOf(d), "Normal", "ScalingReplicaSet",
                   "Scaled " + operation + " replica set " + rs->metadata.name + " to " +
                       std::to_string(new_scale));
  }
  return size_changes;
}

DeploymentController::Result DeploymentController::RolloutRolling(api::Deployment& d,
                                                                  std::vector<RSPtr>& rs_list) {
  RSPtr new_rs;
  std::vector<RSPtr> old_rss;
  RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(d, rs_list, true, &new_rs, &old_rss));
  std::vector<RSPtr> all = WithNew(old_rss, new_rs);
  ASSIGN_OR_RETURN(bool scaled_up, ReconcileNewReplicaSet(all, new_rs, d));
  if (scaled_up) return SyncRolloutStatus(all, new_rs, d);
  ASSIGN_OR_RETURN(bool scaled_down,
                   ReconcileOldReplicaSets(all, FilterActive(old_rss), new_rs, d));
  if (scaled_down) return SyncRolloutStatus(all, new_rs, d);
  if (DeploymentComplete(d, d.status)) RETURN_IF_ERROR(CleanupDeployment(old_rss, d));
  return SyncRolloutStatus(all, new_rs, d);
}

base::StatusOr<bool> DeploymentController::ReconcileNewReplicaSet(const std::vector<RSPtr>& all,
                                                                  const RSPtr& new_rs,
                                                                  const api::Deployment& d) {
  if (Replicas(*new_rs) == Replicas(d)) return false;
  if (Replicas(*new_rs) > Replicas(d)) {
    return ScaleReplicaSetAndRecordEvent(new_rs, Replicas(d), d);
  }
  return ScaleReplicaSetAndRecordEvent(new_rs, NewRSNewReplicas(d, all, *new_rs), d);
}

base::StatusOr<bool> DeploymentController::ReconcileOldReplicaSets(const std::vector<RSPtr>& all,
                                                                   std::vector<RSPtr> old_active,
                                                                   const RSPtr& new_rs,
                                                                   const api::Deployment& d) {
  if (SpecReplicas(old_active) == 0) return false;  // nothing left to scale down
  const int32_t min_available = Replicas(d) - MaxUnavailable(d);
  const int32_t new_unavailable = Replicas(*new_rs) - new_rs->status.available_replicas;
  // Never take more than what keeps min_available, counting the new pods not yet available.
  const int32_t max_scaled_down = SpecReplicas(all) - min_available - new_unavailable;
  if (max_scaled_down <= 0) return false;
  // Unhealthy old replicas first: they would otherwise block the rollout until it times out.
  ASSIGN_OR_RETURN(int32_t cleaned, CleanupUnhealthyReplicas(old_active, d, max_scaled_down));
  ASSIGN_OR_RETURN(int32_t scaled, ScaleDownOldReplicaSetsForRollingUpdate(
                                       WithNew(old_active, new_rs), old_active, d));
  return cleaned + scaled > 0;
}

base::StatusOr<int32_t> DeploymentController::CleanupUnhealthyReplicas(std::vector<RSPtr>& old_rss,
                                                                       const api::Deployment& d,
                                                                       int32_t max_cleanup) {
  std::sort(old_rss.begin(), old_rss.end(), OlderFirst);
  int32_t total = 0;
  for (const RSPtr& rs : old_rss) {
    if (total >= max_cleanup) break;
    if (Replicas(*rs) == 0 || Replicas(*rs) == rs->status.available_replicas) continue;
    int32_t n = std::min(max_cleanup - total, Replicas(*rs) - rs->status.available_replicas);
    RETURN_IF_ERROR(ScaleReplicaSetAndRecordEvent(rs, Replicas(*rs) - n, d).status());
    total += n;
  }
  return total;
}

base::StatusOr<int32_t> DeploymentController::ScaleDownOldReplicaSetsForRollingUpdate(
    const std::vector<RSPtr>& all, std::vector<RSPtr> old_rss, const api::Deployment& d) {
  const int32_t min_available = Replicas(d) - MaxUnavailable(d);
  const int32_t available = AvailableReplicas(all);
  if (available <= min_available) return 0;
  std::sort(old_rss.begin(), old_rss.end(), OlderFirst);
  const int32_t want = available - min_available;
  int32_t total = 0;
  for (const RSPtr& rs : old_rss) {
    if (total >= want) break;
    if (Replicas(*rs) == 0) continue;
    int32_t n = std::min(Replicas(*rs), want - total);
    RETURN_IF_ERROR(ScaleReplicaSetAndRecordEvent(rs, Replicas(*rs) - n, d).status());
    total += n;
  }
  return total;
}

DeploymentController::Result DeploymentController::RolloutRecreate(api::Deployment& d,
                                                                   std::vector<RSPtr>& rs_list) {
  RSPtr new_rs;
  std::vector<RSPtr> old_rss;
  RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(d, rs_list, false, &new_rs, &old_rss));
  std::vector<RSPtr> all = WithNew(old_rss, new_rs);
  bool scaled_down = false;
  for (const RSPtr& rs : FilterActive(old_rss)) {
    ASSIGN_OR_RETURN(bool scaled, ScaleReplicaSetAndRecordEvent(rs, 0, d));
    scaled_down = scaled_down || scaled;
  }
  if (scaled_down || OldPodsRunning(new_rs, old_rss)) return SyncRolloutStatus(all, new_rs, d);
  if (!new_rs) {
    RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(d, rs_list, true, &new_rs, &old_rss));
    all = WithNew(old_rss, new_rs);
  }
  RETURN_IF_ERROR(ScaleReplicaSetAndRecordEvent(new_rs, Replicas(d), d).status());
  if (DeploymentComplete(d, d.status)) RETURN_IF_ERROR(CleanupDeployment(old_rss, d));
  return SyncRolloutStatus(all, new_rs, d);
}

bool DeploymentController::OldPodsRunning(const RSPtr& new_rs,
                                          const std::vector<RSPtr>& old_rss) const {
  if (ActualReplicas(old_rss) > 0) return true;
  // The ReplicaSet status may lag: look at the pods themselves.
  for (const RSPtr& rs : old_rss) {
    if (new_rs && rs->metadata.uid == new_rs->metadata.uid) continue;
    for (const auto& pod : informers_->pods().ByIndexShared(kByOwnerUid, rs->metadata.uid)) {
      const api::OwnerReference* ref = GetControllerOf(pod->metadata);
      if (!ref || ref->uid != rs->metadata.uid) continue;
      if (pod->status.phase != "Failed" && pod->status.phase != "Succeeded") return true;
    }
  }
  return false;
}

base::Status DeploymentController::CleanupDeployment(const std::vector<RSPtr>& old_rss,
                                                     const api::Deployment& d) {
  if (!d.spec.revision_history_limit) return base::OkStatus();
  std::vector<RSPtr> cleanable;
  for (const RSPtr& rs : old_rss) {
    if (rs->metadata.deletion_timestamp.IsZero()) cleanable.push_back(rs);
  }
  int32_t diff = static_cast<int32_t>(cleanable.size()) - *d.spec.revision_history_limit;
  if (diff <= 0) return base::OkStatus();
  std::sort(cleanable.begin(), cleanable.end(), LowerRevisionFirst);
  for (int32_t i = 0; i < diff; ++i) {
    const api::ReplicaSet& rs = *cleanable[static_cast<size_t>(i)];
    // Only ReplicaSets that are fully scaled down and whose controller has caught up.
    if (rs.status.replicas != 0 || Replicas(rs) != 0 ||
        rs.metadata.generation > rs.status.observed_generation) {
      continue;
    }
    base::Status s = client_->Delete<api::ReplicaSet>(rs.metadata.namespace_, rs.metadata.name);
    if (!s.ok() && !client::IsNotFound(s)) {
      return s.WithContext("deleting old replicaset " + rs.metadata.name);
    }
  }
  return base::OkStatus();
}

}  // namespace knet::controllers
