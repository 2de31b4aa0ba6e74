// File: controllers/replicaset/replicaset.h
//
// ReplicaSetController: keeps spec.replicas active pods matching each ReplicaSet's selector, as
// kube-controller-manager's replicaset controller does.
//  - Missing pods are created from spec.template (generateName "<rs>-", a controller
//    ownerReference to the ReplicaSet) in slow-start batches of 1, 2, 4, ... so that a failing
//    template costs one request, not hundreds; at most burst_replicas per sync.
//  - Extra pods are deleted in ActivePods order (unassigned, pending, not ready, ready for less
//    time, more restarts, newer first: see pod_util.h).
//  - Expectations (expectations.h) hold a ReplicaSet back until the informer has shown the pods
//    it created or deleted, so a stale cache never causes duplicates.
//  - Orphan pods matching the selector are adopted; owned pods that stop matching are released.
//  - status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas after
//    minReadySeconds, observedGeneration, the ReplicaFailure condition) is written through the
//    status subresource when it changes.
//
//   controllers::ReplicaSetController rs(&informers);   // registers pod and RS handlers
//   informers.Start(); informers.WaitForSync(...);
//   rs.Start();
//   ...
//   rs.Stop();
//
// Thread-safe; handlers only enqueue keys, workers reconcile one ReplicaSet at a time per key.
// The controller may be destroyed while the shared informers still run (HandlerLiveness).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "api/apps.h"
#include "api/pod.h"
#include "client/controller.h"
#include "controllers/events.h"
#include "controllers/handler_liveness.h"
#include "controllers/informers.h"
#include "controllers/replicaset/expectations.h"

namespace knet::controllers {

struct ReplicaSetOptions {
  int workers = 5;  // --concurrent-replicaset-syncs
  // Most pods created or deleted in one sync (upstream BurstReplicas).
  int burst_replicas = 500;
  // How long unobserved creates/deletes block a ReplicaSet (upstream ExpectationsTimeout).
  std::chrono::milliseconds expectations_timeout{std::chrono::minutes(5)};
};

class ReplicaSetController {
 public:
  // `informers` must outlive this controller.
  explicit ReplicaSetController(SharedInformers* informers, ReplicaSetOptions opts = {});
  ~ReplicaSetController();
  ReplicaSetController(const ReplicaSetController&) = delete;
  ReplicaSetController& operator=(const ReplicaSetController&) = delete;

  void Start();
  void Stop();

 private:
  using PodPtr = std::shared_ptr<const api::Pod>;

  base::StatusOr<client::ReconcileResult> Sync(const std::string& key);
  // The pods of the namespace that the ReplicaSet may claim or must release.
  std::vector<PodPtr> CandidatePods(const api::ReplicaSet& rs) const;
  // The active pods this ReplicaSet controls after adopting orphans and releasing mismatches.
  base::StatusOr<std::vector<PodPtr>> ClaimPods(const api::ReplicaSet& rs,
                                                const std::vector<PodPtr>& candidates);
  // Creates or deletes pods; an error means some of them failed.
  base::Status ManageReplicas(const std::vector<PodPtr>& pods, const api::ReplicaSet& rs);
  base::Status CreatePods(const api::ReplicaSet& rs, const std::string& key, int count);
  base::Status DeletePods(const api::ReplicaSet& rs, const std::string& key,
                          std::vector<PodPtr> pods, int count);
  // Writes status when it differs; returns the delay before availability must be looked at again.
  base::StatusOr<client::ReconcileResult> UpdateStatus(const api::ReplicaSet& rs,
                                                       const std::vector<PodPtr>& pods,
                                                       const base::Status& manage_error);

  // Handlers (informer thread): only resolve owners and enqueue.
  void OnPodAdd(const api::Pod& pod);
  void OnPodUpdate(const api::Pod& old_pod, const api::Pod& pod);
  void OnPodDelete(const api::Pod& pod);
  // The ReplicaSet named by `pod`'s controller ref, if it exists with the same uid.
  std::shared_ptr<const api::ReplicaSet> ResolveControllerRef(const api::Pod& pod) const;
  // Every ReplicaSet in the pod's namespace whose selector matches it.
  void EnqueueMatchingReplicaSets(const api::Pod& pod);

  SharedInformers* informers_;
  client::RestClient* client_;
  ReplicaSetOptions opts_;
  ControllerExpectations expectations_;
  EventRecorder events_;
  client::Controller controller_;
  // Handlers check it: the shared informers may outlive this object.
  std::shared_ptr<HandlerLiveness> live_ = std::make_shared<HandlerLiveness>();
};

}  // namespace knet::controllers
