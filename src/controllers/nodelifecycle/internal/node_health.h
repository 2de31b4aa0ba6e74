// File: controllers/nodelifecycle/internal/node_health.h
//
// The pure parts of the node lifecycle controller:
//   HealthTracker  when did we last *see* a node's heartbeat move (its Lease renewTime or its Ready
//                  condition's lastHeartbeatTime)? Upstream judges node health by this local
//                  observation time, never by comparing the node's clock with ours.
//   SyncTaints     the node's taints with the not-ready/unreachable ones made to match its Ready
//                  condition (upstream's TaintNodesByCondition + NoExecute tainting).
// Thread-compatible.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "api/node.h"
#include "api/values.h"

namespace knet::controllers::nodelifecycle_internal {

// k8s.io/api/core/v1 well_known_taints.go.
inline constexpr const char* kTaintNotReady = "node.kubernetes.io/not-ready";
inline constexpr const char* kTaintUnreachable = "node.kubernetes.io/unreachable";

class HealthTracker {
 public:
  using Clock = std::chrono::steady_clock;

  // What the node shows now. Zero times: no Lease / no Ready heartbeat yet.
  struct Observation {
    api::Time lease_renew_time;
    api::Time ready_heartbeat_time;
  };

  // Records `o` as seen at `now` and returns when a change was last observed (the first
  // observation counts as one, so a node's clock starts when it is first seen).
  Clock::time_point Observe(const std::string& node, const Observation& o, Clock::time_point now);
  void Forget(const std::string& node) { nodes_.erase(node); }

 private:
  struct Seen {
    Observation last;
    Clock::time_point probe;
  };
  std::map<std::string, Seen> nodes_;
};

// `taints` with the four not-ready/unreachable taints set for a Ready condition of status
// `ready_status`: "True" none, "False" not-ready NoSchedule+NoExecute, "Unknown" unreachable
// NoSchedule+NoExecute; any other value (no Ready condition yet) leaves them alone. Taints kept
// keep their timeAdded; added ones get `now`. Other taints are untouched and keep their order.
std::vector<api::Taint> SyncTaints(const std::vector<api::Taint>& taints,
                                   const std::string& ready_status, api::Time now);

}  // namespace knet::controllers::nodelifecycle_internal
