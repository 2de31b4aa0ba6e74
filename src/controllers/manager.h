// File: controllers/manager.h
//
// ControllerManager: runs knet's control loops (kube-controller-manager plus kube-scheduler) in one
// process, sharing one set of informers. Every controller talks to the API only through the
// RestClient it is given, so the manager runs just as well against a real kube-apiserver.
//
//   ControllerManagerOptions opts;
//   RETURN_IF_ERROR(opts.SetControllers("*,-scheduler"));
//   ASSIGN_OR_RETURN(auto cm, ControllerManager::Start(client.get(), opts));
//   ...
//   cm->Stop();
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "client/rest_client.h"
#include "controllers/deployment/deployment.h"
#include "controllers/endpoints/endpoints.h"
#include "controllers/endpointslice/endpointslice.h"
#include "controllers/informers.h"
#include "controllers/nodeipam/node_ipam.h"
#include "controllers/nodelifecycle/node_lifecycle.h"
#include "controllers/replicaset/replicaset.h"
#include "controllers/scheduler/scheduler.h"

namespace knet::controllers {

struct ControllerManagerOptions {
  // The controllers that run (all by default); see SetControllers.
  std::set<std::string> enabled = KnownControllers();
  SchedulerOptions scheduler;
  ReplicaSetOptions replicaset;
  DeploymentOptions deployment;
  EndpointSliceOptions endpointslice;
  EndpointsOptions endpoints;
  NodeIpamOptions nodeipam;
  NodeLifecycleOptions nodelifecycle;
  std::chrono::milliseconds sync_timeout{std::chrono::seconds(60)};
  // Every period each informer hands every cached object to the handlers again, so a key a
  // controller gave up on (after max_retries) is looked at again (kube-controller-manager's
  // --min-resync-period).
  std::chrono::milliseconds resync_period{std::chrono::hours(12)};

  // "deployment", "endpoints", "endpointslice", "nodeipam", "nodelifecycle", "replicaset",
  // "scheduler".
  static std::set<std::string> KnownControllers();
  // kube-controller-manager's --controllers syntax: "*" (all), "name" enables, "-name" disables,
  // comma-separated, applied in order ("*,-scheduler"). An unknown name is InvalidArgument.
  base::Status SetControllers(std::string_view spec);
};

class ControllerManager {
 public:
  // Builds the enabled controllers, starts the informers they need, waits for the caches to fill
  // and starts the workers. Errors: bad options (InvalidArgument), caches not synced within
  // sync_timeout (Unavailable).
  static base::StatusOr<std::unique_ptr<ControllerManager>> Start(client::RestClient* client,
                                                                  ControllerManagerOptions opts);
  ~ControllerManager();
  ControllerManager(const ControllerManager&) = delete;
  ControllerManager& operator=(const ControllerManager&) = delete;

  // Stops every controller, then the informers. Idempotent.
  void Stop();

  const std::set<std::string>& running() const { return opts_.enabled; }

 private:
  ControllerManager(client::RestClient* client, ControllerManagerOptions opts);

  ControllerManagerOptions opts_;
  std::unique_ptr<SharedInformers> informers_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<ReplicaSetController> replicaset_;
  std::unique_ptr<DeploymentController> deployment_;
  std::unique_ptr<EndpointSliceController> endpointslice_;
  std::unique_ptr<EndpointsController> endpoints_;
  std::unique_ptr<NodeIpamController> nodeipam_;
  std::unique_ptr<NodeLifecycleController> nodelifecycle_;
  bool stopped_ = false;
};

}  // namespace knet::controllers
