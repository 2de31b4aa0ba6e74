// File: agent/pod/pod_status.h
//
// The pod status the agent reports, computed as the kubelet does from what it observed: the
// phase (kubelet's getPhase), the conditions it owns (PodReadyToStartContainers, Initialized,
// ContainersReady, Ready; others such as PodScheduled are kept as they are), podIP(s),
// hostIP(s), startTime and the container statuses. Pure: the pod manager gathers a PodView and
// writes the result through the status subresource when it differs from what the API holds.
//
//   api::PodStatus s = ComputePodStatus(pod, view, api::Time::Now());
//   if (!SameStatus(s, pod.status)) client->UpdateStatus(...);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "api/pod.h"

namespace knet::agent::pod {

// One container as the agent sees it; the pod manager decides its state (running, terminated,
// or waiting with the kubelet's reason: ContainerCreating, PodInitializing, CrashLoopBackOff,
// CreateContainerConfigError, RunContainerError).
struct ContainerView {
  std::string name;
  std::string image;
  std::string container_id;  // "knet://<id>" of the current attempt, "" if none
  api::ContainerState state;
  api::ContainerState last_state;  // the previous attempt's terminated state
  int32_t restart_count = 0;
  bool ready = false;
  std::optional<bool> started;
};

struct PodView {
  bool sandbox_ready = false;  // network namespace made and CNI ADD done
  std::vector<std::string> pod_ips;
  std::vector<std::string> host_ips;
  api::Time start_time;  // when the agent first acknowledged the pod
  std::vector<ContainerView> init_containers;
  std::vector<ContainerView> containers;
};

// kubelet's phase rules: Pending until the sandbox and the init containers are done and every
// container has started once; Running while any runs or will be restarted; Succeeded when all
// exited 0 and none will restart; Failed when all exited, one failed and none will restart.
// A pod whose current phase is Succeeded or Failed keeps it (terminal phases are final).
std::string PodPhase(const api::Pod& pod, const PodView& view);

api::PodStatus ComputePodStatus(const api::Pod& pod, const PodView& view, api::Time now);

// True if `a` and `b` say the same, ignoring condition order and lastProbeTime.
bool SameStatus(const api::PodStatus& a, const api::PodStatus& b);

}  // namespace knet::agent::pod
