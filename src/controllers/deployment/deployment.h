// File: controllers/deployment/deployment.h
//
// DeploymentController: rolls Deployments out through ReplicaSets, as kube-controller-manager's
// deployment controller does. Each Deployment owns ReplicaSets named
// "<deployment>-<pod-template-hash>" (deployment_util.h: ComputeHash); the one whose template
// equals the Deployment's is the new ReplicaSet, the rest are old.
//  - RollingUpdate: the new ReplicaSet grows within replicas + maxSurge; old ones shrink while
//    at least replicas - maxUnavailable stay available (unhealthy old replicas go first).
//  - Recreate: old ReplicaSets go to zero, and once their pods are gone the new one scales up.
//  - A change of spec.replicas mid-rollout is spread proportionally over the active ReplicaSets
//    (using their max-replicas annotation); spec.paused stops rollouts but not scaling.
//  - Revisions (deployment.kubernetes.io/revision) on ReplicaSets and the Deployment; old
//    ReplicaSets with no replicas beyond revisionHistoryLimit are deleted.
//  - status (observedGeneration, replicas, updated/ready/available/unavailableReplicas) and the
//    Available / Progressing / ReplicaFailure conditions as `kubectl rollout status` reads them;
//    a Deployment that makes no progress for progressDeadlineSeconds gets Progressing=False
//    ProgressDeadlineExceeded (the controller requeues itself to notice).
//  - Normal events "ScalingReplicaSet": "Scaled up replica set web-7d9c8b5f4 to 3".
// Pods themselves are the ReplicaSet controller's business (replicaset/replicaset.h).
//
//   controllers::DeploymentController dc(&informers);
//   informers.Start(); informers.WaitForSync(...);
//   dc.Start();
//   ...
//   dc.Stop();
//
// Thread-safe; handlers only enqueue keys, a key is reconciled by one worker at a time.
// The controller may be destroyed while the shared informers still run (HandlerLiveness).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/apps.h"
#include "api/selector.h"
#include "client/controller.h"
#include "controllers/deployment/deployment_util.h"
#include "controllers/events.h"
#include "controllers/handler_liveness.h"
#include "controllers/informers.h"

namespace knet::controllers {

struct DeploymentOptions {
  int workers = 5;  // --concurrent-deployment-syncs
};

class DeploymentController {
 public:
  // `informers` must outlive this controller.
  explicit DeploymentController(SharedInformers* informers, DeploymentOptions opts = {});
  ~DeploymentController();
  DeploymentController(const DeploymentController&) = delete;
  DeploymentController& operator=(const DeploymentController&) = delete;

  void Start();
  void Stop();

 private:
  using RSPtr = deployment::RSPtr;
  using Result = base::StatusOr<client::ReconcileResult>;

  // deployment.cc: dispatch, ownership, the new ReplicaSet, status writes.
  Result Sync(const std::string& key);
  base::StatusOr<std::vector<RSPtr>> ClaimReplicaSets(const api::Deployment& d,
                                                      const api::Selector& sel);
  // Finds (or, if `create`, creates) the new ReplicaSet and brings revisions up to date.
  base::Status GetAllReplicaSetsAndSyncRevision(api::Deployment& d, std::vector<RSPtr>& rs_list,
                                                bool create, RSPtr* new_rs,
                                                std::vector<RSPtr>* old_rss);
  base::StatusOr<RSPtr> GetNewReplicaSet(api::Deployment& d, std::vector<RSPtr>& rs_list,
                                         const std::vector<RSPtr>& old_rss, bool create);
  base::Status CheckPausedConditions(api::Deployment& d);
  base::Status WriteStatus(api::Deployment& d, const api::DeploymentStatus& status);
  base::Status PatchRevision(api::Deployment& d, const std::string& revision);

  // rollout.cc: the strategies and scaling.
  base::StatusOr<bool> IsScalingEvent(api::Deployment& d, std::vector<RSPtr>& rs_list);
  base::Status SyncScale(api::Deployment& d, std::vector<RSPtr>& rs_list);  // upstream "sync"
  base::Status Scale(const api::Deployment& d, const RSPtr& new_rs,
                     const std::vector<RSPtr>& old_rss);
  base::StatusOr<bool> ScaleReplicaSetAndRecordEvent(const RSPtr& rs, int32_t new_scale,
                                                     const api::Deployment& d);
  base::StatusOr<bool> ScaleReplicaSet(const RSPtr& rs, int32_t new_scale, const api::Deployment& d,
                                       const std::string& operation);
  Result RolloutRolling(api::Deployment& d, std::vector<RSPtr>& rs_list);
  base::StatusOr<bool> ReconcileNewReplicaSet(const std::vector<RSPtr>& all, const RSPtr& new_rs,
                                              const api::Deployment& d);
  base::StatusOr<bool> ReconcileOldReplicaSets(const std::vector<RSPtr>& all,
                                               std::vector<RSPtr> old_active, const RSPtr& new_rs,
                                               const api::Deployment& d);
  base::StatusOr<int32_t> CleanupUnhealthyReplicas(std::vector<RSPtr>& old_rss,
                                                   const api::Deployment& d, int32_t max_cleanup);
  base::StatusOr<int32_t> ScaleDownOldReplicaSetsForRollingUpdate(const std::vector<RSPtr>& all,
                                                                  std::vector<RSPtr> old_rss,
                                                                  const api::Deployment& d);
  Result RolloutRecreate(api::Deployment& d, std::vector<RSPtr>& rs_list);
  bool OldPodsRunning(const RSPtr& new_rs, const std::vector<RSPtr>& old_rss) const;
  base::Status CleanupDeployment(const std::vector<RSPtr>& old_rss, const api::Deployment& d);

  // status.cc: status and the Progressing condition.
  Result SyncRolloutStatus(const std::vector<RSPtr>& all, const RSPtr& new_rs, api::Deployment& d);
  base::Status SyncDeploymentStatus(const std::vector<RSPtr>& all, const RSPtr& new_rs,
                                    api::Deployment& d);

  // Handlers (informer thread).
  void OnReplicaSetAdd(const api::ReplicaSet& rs);
  void OnReplicaSetUpdate(const api::ReplicaSet& old_rs, const api::ReplicaSet& rs);
  void OnReplicaSetDelete(const api::ReplicaSet& rs);
  void OnPodDelete(const api::Pod& pod);
  std::shared_ptr<const api::Deployment> ResolveControllerRef(const api::ObjectMeta& m) const;
  void EnqueueMatchingDeployments(const api::ReplicaSet& rs);

  SharedInformers* informers_;
  client::RestClient* client_;
  DeploymentOptions opts_;
  EventRecorder events_;
  client::Controller controller_;
  // Handlers check it: the shared informers may outlive this object.
  std::shared_ptr<HandlerLiveness> live_ = std::make_shared<HandlerLiveness>();
};

}  // namespace knet::controllers
