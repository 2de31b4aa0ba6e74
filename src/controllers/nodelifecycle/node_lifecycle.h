// File: controllers/nodelifecycle/node_lifecycle.h
//
// NodeLifecycleController: kube-controller-manager's node lifecycle controller, minus eviction.
// Every --node-monitor-period it looks at each Node's heartbeat: its Lease in kube-node-lease and
// its Ready condition's lastHeartbeatTime. A node whose heartbeat has not been *seen* to move for
// --node-monitor-grace-period (measured on our own clock, from when we first saw the node) gets
// Ready (and MemoryPressure/DiskPressure/PIDPressure) Unknown with reason NodeStatusUnknown.
//
// Taints follow the Ready condition: Unknown -> node.kubernetes.io/unreachable, False (reported
// by the node's own agent) -> node.kubernetes.io/not-ready, each NoSchedule and NoExecute; True
// removes them. When a node stops being Ready, a NodeNotReady Event is recorded and every pod bound
// to it gets Ready=False (upstream MarkPodsNotReady), so its endpoints leave the Services.
//
// Out of scope: evicting pods from a NoExecute-tainted node after their tolerationSeconds
// (upstream's taint eviction controller) and the zone-based eviction rate limits.
//
//   controllers::NodeLifecycleController nlc(&informers, {.grace_period =
//   std::chrono::seconds(40)}); informers.Start(); informers.WaitForSync(...); nlc.Start();
//
// Thread-safe; Start/Stop from one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/node.h"
#include "base/status.h"
#include "client/controller.h"
#include "controllers/events.h"
#include "controllers/handler_liveness.h"
#include "controllers/informers.h"
#include "controllers/nodelifecycle/internal/node_health.h"

namespace knet::controllers {

struct NodeLifecycleOptions {
  int workers = 1;
  std::chrono::milliseconds grace_period{std::chrono::seconds(40)};   // --node-monitor-grace-period
  std::chrono::milliseconds monitor_period{std::chrono::seconds(5)};  // --node-monitor-period
};

class NodeLifecycleController {
 public:
  // `informers` must outlive this; registers node and lease handlers.
  explicit NodeLifecycleController(SharedInformers* informers, NodeLifecycleOptions opts = {});
  ~NodeLifecycleController();
  NodeLifecycleController(const NodeLifecycleController&) = delete;
  NodeLifecycleController& operator=(const NodeLifecycleController&) = delete;

  void Start();
  // Idempotent; joins the workers.
  void Stop();

 private:
  struct NodeState {
    std::string last_status;   // the Ready status acted on last time ("" before the first pass)
    bool pods_marked = false;  // pods set Ready=False for the current not-ready spell
  };

  base::StatusOr<client::ReconcileResult> Reconcile(const std::string& name);
  // Ready & co. -> Unknown on the cached node (a Conflict means the node just reported: retry).
  base::Status MarkUnknown(const api::Node& node);
  base::Status SyncNodeTaints(const api::Node& node, const std::string& ready_status);
  base::Status MarkPodsNotReady(const std::string& node);

  SharedInformers* informers_;
  client::RestClient* client_;
  const NodeLifecycleOptions opts_;
  EventRecorder events_;
  std::mutex mu_;
  nodelifecycle_internal::HealthTracker health_;  // GUARDED_BY(mu_)
  std::map<std::string, NodeState> nodes_;        // GUARDED_BY(mu_)
  std::unique_ptr<client::Controller> controller_;
  // Handlers check it: the shared informers may outlive this object.
  std::shared_ptr<HandlerLiveness> liveness_ = std::make_shared<HandlerLiveness>();
};

}  // namespace knet::controllers
