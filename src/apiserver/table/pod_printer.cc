// The Pod row: upstream's printPod. The STATUS cell is the one piece of real logic in kubectl's
// pod listing, so it is ported line by line: phase or status.reason, overridden by the first
// init container that has not finished ("Init:1/2", "Init:CrashLoopBackOff",
// "Init:ExitCode:1"), else by the last container with a waiting or terminated reason
// ("ContainerCreating", "CrashLoopBackOff", "Completed", "Error"), then "Terminating" or
// "Unknown" (node lost) for pods being deleted.
//
// knet's PodSpec has no readinessGates and no per-container restartPolicy (sidecar init
// containers), so READINESS GATES is always "<none>" and every init container is a classic one.
#include <string>

#include "apiserver/table/internal/printers.h"

namespace knet::apiserver::table::table_internal {
namespace {

// The pod's reason when its node is unreachable (k8s.io/kubernetes/pkg/util/node).
constexpr std::string_view kNodeUnreachablePodReason = "NodeLost";

bool HasCondition(const api::PodStatus& status, std::string_view type) {
  for (const api::PodCondition& c : status.conditions) {
    if (c.type == type) return c.status == "True";
  }
  return false;
}

bool HasReadyCondition(const api::PodStatus& status) {
  for (const api::PodCondition& c : status.conditions) {
    if (c.type == "Ready" && c.status == "True") return true;
  }
  return false;
}

std::string TerminatedReason(const api::ContainerStateTerminated& t, std::string_view prefix) {
  if (!t.reason.empty()) return std::string(prefix) + t.reason;
  if (t.signal != 0) return std::string(prefix) + "Signal:" + std::to_string(t.signal);
  return std::string(prefix) + "ExitCode:" + std::to_string(t.exit_code);
}

void NoteRestart(const api::ContainerStatus& cs, api::Time* last_restart) {
  if (cs.last_state.terminated && *last_restart < cs.last_state.terminated->finished_at) {
    *last_restart = cs.last_state.terminated->finished_at;
  }
}

}  // namespace

nlohmann::json PodCells(const api::Pod& pod, int64_t now_ns) {
  const api::PodStatus& status = pod.status;
  int64_t restarts = 0;
  size_t ready_containers = 0;
  const size_t total_containers = pod.spec.containers.size();
  api::Time last_restart;

  std::string reason = status.phase;
  if (!status.reason.empty()) reason = status.reason;
  for (const api::PodCondition& c : status.conditions) {
    if (c.type == "PodScheduled" && c.reason == "SchedulingGated") reason = "SchedulingGated";
  }

  bool initializing = false;
  for (size_t i = 0; i < status.init_container_statuses.size(); ++i) {
    const api::ContainerStatus& cs = status.init_container_statuses[i];
    restarts += cs.restart_count;
    NoteRestart(cs, &last_restart);
    const api::ContainerState& state = cs.state;
    if (state.terminated && state.terminated->exit_code == 0) continue;
    if (state.terminated) {
      reason = TerminatedReason(*state.terminated, "Init:");
    } else if (state.waiting && !state.waiting->reason.empty() &&
               state.waiting->reason != "PodInitializing") {
      reason = "Init:" + state.waiting->reason;
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(pod.spec.init_containers.size());
    }
    initializing = true;
    break;
  }

  if (!initializing || HasCondition(status, "Initialized")) {
    // Upstream then counts only restartable (sidecar) init containers' restarts; knet has none.
    restarts = 0;
    last_restart = api::Time();
    bool has_running = false;
    for (size_t i = status.container_statuses.size(); i-- > 0;) {
      const api::ContainerStatus& cs = status.container_statuses[i];
      restarts += cs.restart_count;
      NoteRestart(cs, &last_restart);
      const api::ContainerState& state = cs.state;
      if (state.waiting && !state.waiting->reason.empty()) {
        reason = state.waiting->reason;
      } else if (state.terminated) {
        reason = TerminatedReason(*state.terminated, "");
      } else if (cs.ready && state.running) {
        has_running = true;
        ++ready_containers;
      }
    }
    // Back to Running if at least one container still runs.
    if (reason == "Completed" && has_running) {
      reason = HasReadyCondition(status) ? "Running" : "NotReady";
    }
  }

  const bool deleting = !pod.metadata.deletion_timestamp.IsZero();
  const bool terminal = status.phase == "Succeeded" || status.phase == "Failed";
  if (deleting && status.reason == kNodeUnreachablePodReason) {
    reason = "Unknown";
  } else if (deleting && !terminal) {
    reason = "Terminating";
  }

  std::string restarts_cell = std::to_string(restarts);
  if (restarts != 0 && !last_restart.IsZero()) {
    restarts_cell += " (" + Since(last_restart, now_ns) + " ago)";
  }

  // Upstream reads podIPs[0]; its v1 conversion guarantees podIPs[0] == podIP, which knet's
  // clients may not have filled in yet.
  std::string pod_ip = status.pod_ips.empty() ? status.pod_ip : status.pod_ips.front().ip;
  if (pod_ip.empty()) pod_ip = "<none>";
  const std::string& node = pod.spec.node_name;
  const std::string& nominated = status.nominated_node_name;

  return nlohmann::json::array({
      pod.metadata.name, std::to_string(ready_containers) + "/" + std::to_string(total_containers),
      reason, restarts_cell, Since(pod.metadata.creation_timestamp, now_ns), pod_ip,
      node.empty() ? "<none>" : node, nominated.empty() ? "<none>" : nominated,
      "<none>",  // readiness gates
  });
}

nlohmann::json PodRowConditions(const api::Pod& pod) {
  const std::string& phase = pod.status.phase;
  if (phase != "Succeeded" && phase != "Failed") return nullptr;
  return nlohmann::json::array({{
      {"type", "Completed"},
      {"status", "True"},
      {"reason", phase},
      {"message", phase == "Succeeded" ? "The pod has completed successfully." : "The pod failed."},
  }});
}

}  // namespace knet::apiserver::table::table_internal
