// File: controllers/scheduler/scheduler.h
//
// Scheduler: knet's kube-scheduler. It binds every pending pod that asks for it (spec.nodeName
// empty, schedulerName empty or "default-scheduler", not being deleted, not finished) to a node
// through the pods/binding subresource; the API server then sets nodeName and PodScheduled=True.
//
// Filters (see internal/node_fit.h): node Ready, not cordoned, NoSchedule/NoExecute taints
// tolerated, nodeSelector matched, fewer pods than allocatable["pods"]. Scoring: the node with the
// fewest pods of the pod's controller (spreading a ReplicaSet's replicas), then the fewest pods,
// then the node name. Bindings not yet seen through the pod informer are kept as "assumed", as
// upstream's scheduler cache does, so a burst of replicas spreads instead of piling up.
//
// A pod that fits nowhere gets PodScheduled=False/Unschedulable with kube-scheduler's message
// ("0/3 nodes are available: 1 node(s) were unschedulable, 2 Too many pods."), a FailedScheduling
// Warning Event, and is retried with backoff, whenever a node changes and whenever a bound pod
// is deleted or finishes.
//
//   controllers::Scheduler sched(&informers);
//   informers.Start(); informers.WaitForSync(...);
//   sched.Start();
//   ...
//   sched.Stop();
//
// Thread-safe; Start/Stop from one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "api/node.h"
#include "api/pod.h"
#include "base/status.h"
#include "client/controller.h"
#include "controllers/events.h"
#include "controllers/handler_liveness.h"
#include "controllers/informers.h"

namespace knet::controllers {

struct SchedulerOptions {
  int workers = 2;
  // Pods whose spec.schedulerName is this (or empty) are ours.
  std::string scheduler_name = "default-scheduler";
  // Retry of an unschedulable pod: upstream --pod-initial-backoff-seconds=1,
  // --pod-max-backoff-seconds=10.
  std::chrono::milliseconds initial_backoff{std::chrono::seconds(1)};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(10)};
};

class Scheduler {
 public:
  // `informers` must outlive this; registers pod and node handlers.
  explicit Scheduler(SharedInformers* informers, SchedulerOptions opts = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void Start();
  // Idempotent; joins the workers.
  void Stop();

 private:
  struct Assumed {
    std::string node;
    std::string owner_uid;
  };

  bool IsPendingForUs(const api::Pod& pod) const;
  void OnPod(const api::Pod* old_pod, const api::Pod& pod);
  void OnPodDeleted(const api::Pod& pod);
  // Re-queues every unschedulable pod now: a node changed or a bound pod went away.
  void RetryUnschedulable();
  base::StatusOr<client::ReconcileResult> Reconcile(const std::string& key);
  // Picks a node and records the assumption, under mu_. Fills `reasons` when none fits.
  std::optional<std::string> SelectAndAssume(const std::string& key, const api::Pod& pod,
                                             std::map<std::string, int>* reasons,
                                             size_t* num_nodes);
  base::Status Bind(const api::Pod& pod, const std::string& node);
  base::Status MarkUnschedulable(const api::Pod& pod, const std::string& message);
  void Forget(const std::string& key);

  SharedInformers* informers_;
  client::RestClient* client_;
  const SchedulerOptions opts_;
  EventRecorder events_;
  std::mutex mu_;
  std::map<std::string, Assumed> assumed_;    // GUARDED_BY(mu_): pod key -> binding in flight
  std::map<std::string, int> unschedulable_;  // GUARDED_BY(mu_): pod key -> failed attempts
  std::unique_ptr<client::Controller> controller_;
  // Handlers check it: the shared informers may outlive this object.
  std::shared_ptr<HandlerLiveness> liveness_ = std::make_shared<HandlerLiveness>();
};

}  // namespace knet::controllers
