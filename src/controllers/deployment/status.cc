// The Deployment controller's status and Progressing condition (upstream progress.go, sync.go).
#include "controllers/deployment/deployment.h"

namespace knet::controllers {

using namespace deployment;  // NOLINT: the helpers of this controller

namespace {

// The ReplicaFailure conditions of the new ReplicaSet, else of any other (getReplicaFailures).
std::optional<api::DeploymentCondition> ReplicaFailure(const std::vector<RSPtr>& all,
                                                       const RSPtr& new_rs) {
  auto from = [](const api::ReplicaSet& rs) -> std::optional<api::DeploymentCondition> {
    for (const api::ReplicaSetCondition& c : rs.status.conditions) {
      if (c.type != kReplicaFailure) continue;
      api::DeploymentCondition out;
      out.type = c.type;
      out.status = c.status;
      out.reason = c.reason;
      out.message = c.message;
      out.last_update_time = out.last_transition_time = c.last_transition_time;
      return out;
    }
    return std::nullopt;
  };
  if (new_rs) {
    if (auto c = from(*new_rs)) return c;
  }
  for (const RSPtr& rs : all) {
    if (!rs) continue;
    if (auto c = from(*rs)) return c;
  }
  return std::nullopt;
}

}  // namespace

DeploymentController::Result DeploymentController::SyncRolloutStatus(const std::vector<RSPtr>& all,
                                                                     const RSPtr& new_rs,
                                                                     api::Deployment& d) {
  const api::Time now = NowSeconds();
  api::DeploymentStatus st = CalculateStatus(all, new_rs, d, now);
  if (!HasProgressDeadline(d)) RemoveCondition(st, kProgressing);

  const api::DeploymentCondition* current = GetCondition(d.status, kProgressing);
  const bool complete_before =
      st.replicas == st.updated_replicas && current && current->reason == kNewRSAvailableReason;
  if (HasProgressDeadline(d) && !complete_before) {
    const std::string who = new_rs ? "ReplicaSet \"" + new_rs->metadata.name + "\""
                                   : "Deployment \"" + d.metadata.name + "\"";
    if (DeploymentComplete(d, st)) {
      SetCondition(st, NewCondition(kProgressing, "True", kNewRSAvailableReason,
                                    who + " has successfully progressed.", now));
    } else if (DeploymentProgressing(d, st)) {
      // Progress refreshes lastUpdateTime even with the same reason, so the deadline counts
      // from the last progress; lastTransitionTime stays while the status stays True.
      api::DeploymentCondition c = NewCondition(kProgressing, "True", kReplicaSetUpdatedReason,
                                                who + " is progressing.", now);
      if (current && current->status == "True")
        c.last_transition_time = current->last_transition_time;
      RemoveCondition(st, kProgressing);
      SetCondition(st, c);
    } else if (DeploymentTimedOut(d, st, now)) {
      SetCondition(st, NewCondition(kProgressing, "False", kTimedOutReason,
                                    who + " has timed out progressing.", now));
    }
  }
  if (auto failure = ReplicaFailure(all, new_rs)) {
    SetCondition(st, *failure);
  } else {
    RemoveCondition(st, kReplicaFailure);
  }

  if (st != d.status) {
    // The write comes back through the informer and syncs the Deployment again.
    RETURN_IF_ERROR(WriteStatus(d, st));
    return client::ReconcileResult{};
  }
  // No progress now: look again when the deadline would pass (requeueStuckDeployment).
  client::ReconcileResult result;
  if (HasProgressDeadline(d) && current && !DeploymentComplete(d, st) &&
      current->reason != kTimedOutReason) {
    int64_t left_ms = (current->last_update_time.unix_nanos() +
                       int64_t{*d.spec.progress_deadline_seconds} * 1'000'000'000 -
                       api::Time::Now().unix_nanos()) /
                      1'000'000;
    // Under a second: soon, but not in a tight loop.
    result.requeue_after = std::chrono::milliseconds(std::max<int64_t>(left_ms, 0) + 100);
  }
  return result;
}

base::Status DeploymentController::SyncDeploymentStatus(const std::vector<RSPtr>& all,
                                                        const RSPtr& new_rs, api::Deployment& d) {
  api::DeploymentStatus st = CalculateStatus(all, new_rs, d, NowSeconds());
  if (st == d.status) return base::OkStatus();
  return WriteStatus(d, st);
}

}  // namespace knet::controllers
