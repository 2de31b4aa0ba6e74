// File: agent/pod/pod_status.cc
#include "agent/pod/pod_status.h"

#include <algorithm>

namespace knet::agent::pod {
namespace {

std::string NameList(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? " " : "") + names[i];
  return out + "]";
}

bool InitDone(const api::Pod& pod, const PodView& view) {
  if (view.init_containers.size() < pod.spec.init_containers.size()) return false;
  for (const ContainerView& c : view.init_containers) {
    if (!c.state.terminated || c.state.terminated->exit_code != 0) return false;
  }
  return true;
}

// Sets condition `type` in `out`, keeping the lastTransitionTime of `old` when the status did
// not change.
void SetCondition(std::vector<api::PodCondition>& out, const std::vector<api::PodCondition>& old,
                  const std::string& type, bool value, std::string reason, std::string message,
                  api::Time now) {
  api::PodCondition c;
  c.type = type;
  c.status = value ? "True" : "False";
  c.reason = std::move(reason);
  c.message = std::move(message);
  c.last_transition_time = now;
  for (const api::PodCondition& o : old) {
    if (o.type == type && o.status == c.status && !o.last_transition_time.IsZero()) {
      c.last_transition_time = o.last_transition_time;
    }
  }
  out.push_back(std::move(c));
}

// The API keeps times to the second (RFC 3339); so must we, or every comparison with what the
// API returns would differ and every sync would write.
api::Time Seconds(api::Time t) {
  return api::Time::FromUnixNanos(t.unix_nanos() / 1'000'000'000 * 1'000'000'000);
}

void TruncateTimes(api::ContainerState& st) {
  if (st.running) st.running->started_at = Seconds(st.running->started_at);
  if (st.terminated) {
    st.terminated->started_at = Seconds(st.terminated->started_at);
    st.terminated->finished_at = Seconds(st.terminated->finished_at);
  }
}

api::ContainerStatus ToStatus(const ContainerView& v) {
  api::ContainerStatus s;
  s.name = v.name;
  s.state = v.state;
  s.last_state = v.last_state;
  s.ready = v.ready;
  s.restart_count = v.restart_count;
  s.image = v.image;
  s.container_id = v.container_id;
  s.started = v.started;
  TruncateTimes(s.state);
  TruncateTimes(s.last_state);
  return s;
}

}  // namespace

std::string PodPhase(const api::Pod& pod, const PodView& view) {
  if (pod.status.phase == "Succeeded" || pod.status.phase == "Failed") return pod.status.phase;
  if (!view.sandbox_ready && view.containers.empty()) return "Pending";
  std::string policy = pod.spec.restart_policy.empty() ? "Always" : pod.spec.restart_policy;
  if (!InitDone(pod, view)) {
    // A failed init container under restartPolicy Never fails the pod, as in the kubelet.
    if (policy == "Never") {
      for (const ContainerView& c : view.init_containers) {
        if (c.state.terminated && c.state.terminated->exit_code != 0) return "Failed";
      }
    }
    return "Pending";
  }
  int running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const ContainerView& c : view.containers) {
    if (c.state.running) {
      ++running;
    } else if (c.state.terminated) {
      ++stopped;
      if (c.state.terminated->exit_code == 0) ++succeeded;
    } else if (c.last_state.terminated) {
      ++stopped;  // waiting to be restarted: it has run before
    } else {
      ++waiting;
    }
  }
  if (view.containers.size() < pod.spec.containers.size()) return "Pending";
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy == "Always") return "Running";
    if (stopped == succeeded) return "Succeeded";
    if (policy == "Never") return "Failed";
    return "Running";  // OnFailure: the failed ones are restarted
  }
  return "Pending";
}

api::PodStatus ComputePodStatus(const api::Pod& pod, const PodView& view, api::Time now) {
  now = Seconds(now);
  api::PodStatus s = pod.status;
  s.phase = PodPhase(pod, view);
  if (s.start_time.IsZero())
    s.start_time = view.start_time.IsZero() ? now : Seconds(view.start_time);
  if (!view.host_ips.empty()) {
    s.host_ip = view.host_ips.front();
    s.host_ips.clear();
    for (const std::string& ip : view.host_ips) s.host_ips.push_back({ip});
  }
  if (!view.pod_ips.empty()) {
    s.pod_ip = view.pod_ips.front();
    s.pod_ips.clear();
    for (const std::string& ip : view.pod_ips) s.pod_ips.push_back({ip});
  }
  s.init_container_statuses.clear();
  for (const ContainerView& c : view.init_containers) {
    s.init_container_statuses.push_back(ToStatus(c));
  }
  s.container_statuses.clear();
  for (const ContainerView& c : view.containers) s.container_statuses.push_back(ToStatus(c));

  bool terminal = s.phase == "Succeeded" || s.phase == "Failed";
  std::vector<api::PodCondition> conds;
  for (const api::PodCondition& c : pod.status.conditions) {
    if (c.type != "PodReadyToStartContainers" && c.type != "Initialized" &&
        c.type != "ContainersReady" && c.type != "Ready") {
      conds.push_back(c);
    }
  }
  const auto& old = pod.status.conditions;
  SetCondition(conds, old, "PodReadyToStartContainers", view.sandbox_ready && !terminal, "", "",
               now);
  std::vector<std::string> incomplete;
  for (size_t i = 0; i < pod.spec.init_containers.size(); ++i) {
    bool ok = i < view.init_containers.size() && view.init_containers[i].state.terminated &&
              view.init_containers[i].state.terminated->exit_code == 0;
    if (!ok) incomplete.push_back(pod.spec.init_containers[i].name);
  }
  if (incomplete.empty()) {
    SetCondition(conds, old, "Initialized", true, "", "", now);
  } else {
    SetCondition(conds, old, "Initialized", false, "ContainersNotInitialized",
                 "containers with incomplete status: " + NameList(incomplete), now);
  }
  std::vector<std::string> unready;
  for (size_t i = 0; i < pod.spec.containers.size(); ++i) {
    bool ready = i < view.containers.size() && view.containers[i].ready;
    if (!ready) unready.push_back(pod.spec.containers[i].name);
  }
  if (terminal) {
    SetCondition(conds, old, "ContainersReady", false, "PodCompleted", "", now);
    SetCondition(conds, old, "Ready", false, "PodCompleted", "", now);
  } else if (unready.empty()) {
    SetCondition(conds, old, "ContainersReady", true, "", "", now);
    SetCondition(conds, old, "Ready", true, "", "", now);
  } else {
    std::string msg = "containers with unready status: " + NameList(unready);
    SetCondition(conds, old, "ContainersReady", false, "ContainersNotReady", msg, now);
    SetCondition(conds, old, "Ready", false, "ContainersNotReady", msg, now);
  }
  s.conditions = std::move(conds);
  return s;
}

bool SameStatus(const api::PodStatus& a, const api::PodStatus& b) {
  auto norm = [](api::PodStatus s) {
    for (api::PodCondition& c : s.conditions) c.last_probe_time = {};
    std::sort(
        s.conditions.begin(), s.conditions.end(),
        [](const api::PodCondition& x, const api::PodCondition& y) { return x.type < y.type; });
    return s;
  };
  return norm(a) == norm(b);
}

}  // namespace knet::agent::pod
