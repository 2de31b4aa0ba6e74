// File: agent/pod/pod_sync.cc
//
// One pod's sync: the sandbox, init containers in order, then the containers, each started,
// kept, restarted with the crash-loop back-off or killed after a failed liveness/startup probe,
// and finally the status. Level-triggered: everything is derived from the runtime's containers
// (newest attempt first) and the probe results, so an agent restart loses nothing but back-off
// timers.
#include <algorithm>

#include "agent/pod/container_env.h"
#include "agent/pod/pod_manager.h"

namespace knet::agent::pod {
namespace {

using State = runtime::ContainerStatus::State;

api::ContainerStateTerminated TerminatedOf(const runtime::ContainerStatus& c) {
  api::ContainerStateTerminated t;
  t.exit_code = c.exit_code;
  t.signal = c.signal;
  t.reason = c.reason;
  t.message = c.message;
  t.started_at = c.started_at;
  t.finished_at = c.finished_at;
  t.container_id = "knet://" + c.id;
  return t;
}

// A container that has not been started, shown waiting with the kubelet's reason.
ContainerView Waiting(const api::Container& c, const char* reason) {
  ContainerView cv;
  cv.name = c.name;
  cv.image = c.image;
  cv.state.waiting = api::ContainerStateWaiting{reason, ""};
  return cv;
}

std::string PodRef(const api::Pod& pod) {
  return pod.metadata.name + "_" + pod.metadata.namespace_ + "(" + pod.metadata.uid + ")";
}

std::string FormatSeconds(std::chrono::milliseconds d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s >= 60 && s % 60 == 0) return std::to_string(s / 60) + "m0s";
  if (s >= 60) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s) + "s";
}

}  // namespace

// Everything SyncContainer needs about one pod's sync.
struct PodManager::SyncResult {
  const api::Pod& pod;
  const SandboxRecord& sandbox;
  std::optional<std::chrono::milliseconds> requeue;
  void RequeueIn(std::chrono::milliseconds d) { requeue = requeue ? std::min(*requeue, d) : d; }
};

std::optional<std::chrono::milliseconds> PodManager::InBackoff(const std::string& key,
                                                               api::Time finished_at) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = backoff_.find(key);
  if (it == backoff_.end()) return std::nullopt;
  auto now = std::chrono::steady_clock::now();
  // An entry not bumped for twice the maximum (10 min) has expired: the container ran long
  // enough that the next crash starts the back-off afresh.
  if (now - it->second.last_update > 2 * opts_.backoff_max) return std::nullopt;
  auto since_exit = std::chrono::milliseconds(
      (api::Time::Now().unix_nanos() - finished_at.unix_nanos()) / 1'000'000);
  if (since_exit >= it->second.delay) return std::nullopt;
  return it->second.delay - since_exit;
}

void PodManager::NextBackoff(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto now = std::chrono::steady_clock::now();
  Backoff& b = backoff_[key];
  if (b.delay.count() == 0 || now - b.last_update > 2 * opts_.backoff_max) {
    b.delay = opts_.backoff_initial;
  } else {
    b.delay = std::min(b.delay * 2, opts_.backoff_max);
  }
  b.last_update = now;
}

base::StatusOr<runtime::ContainerSpec> PodManager::MakeSpec(const api::Pod& pod,
                                                            const api::Container& c,
                                                            const SandboxRecord& sb, int attempt) {
  ASSIGN_OR_RETURN(std::vector<std::string> env,
                   BuildEnv(pod, c, {sb.pod_ips, opts_.host_ips}, Services()));
  ASSIGN_OR_RETURN(std::vector<std::string> argv, BuildArgv(pod, c, env));
  runtime::ContainerSpec spec;
  spec.pod_uid = pod.metadata.uid;
  spec.pod_namespace = pod.metadata.namespace_;
  spec.pod_name = pod.metadata.name;
  spec.container_name = c.name;
  spec.attempt = attempt;
  spec.argv = std::move(argv);
  spec.env = std::move(env);
  spec.working_dir = c.working_dir;
  spec.netns_path = sb.netns_path;
  spec.hostname = sb.host_network ? "" : sb.hostname;
  // A hostNetwork pod keeps the node's /etc/hosts and hostname, as with the kubelet.
  if (!sb.host_network) spec.file_mounts.emplace_back(sb.hosts_path, "/etc/hosts");
  spec.file_mounts.emplace_back(sb.resolv_path, "/etc/resolv.conf");
  spec.log_path = LogPath(pod, c.name, attempt);
  return spec;
}

ContainerView PodManager::SyncContainer(SyncResult& sync, const api::Container& c,
                                        std::vector<runtime::ContainerStatus> attempts, bool init) {
  const api::Pod& pod = sync.pod;
  const std::string& uid = pod.metadata.uid;
  std::string policy = pod.spec.restart_policy.empty() ? "Always" : pod.spec.restart_policy;
  ContainerView cv;
  cv.name = c.name;
  cv.image = c.image;
  auto ref = controllers::EventRecorder::RefOf(pod);

  // A running container whose liveness or startup probe failed is killed; the restart policy
  // then decides, as for any exit.
  if (!attempts.empty() && attempts.front().state == State::kRunning) {
    const runtime::ContainerStatus& cur = attempts.front();
    std::string failed;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = probe_failed_.find(uid + "/" + c.name);
      if (it != probe_failed_.end() && it->second.first == cur.id) failed = it->second.second;
    }
    if (!failed.empty()) {
      events_.Record(ref, "Normal", "Killing",
                     "Container " + c.name + " failed " + failed + " probe, will be restarted");
      int64_t grace = pod.spec.termination_grace_period_seconds.value_or(30);
      ForgetProbes(uid, c.name);
      if (auto s = opts_.runtime->Stop(cur.id, std::chrono::seconds(grace)); s.ok()) {
        if (auto now = opts_.runtime->Get(cur.id); now.ok()) attempts.front() = *now;
      }
    }
  }

  auto start = [&](int attempt) -> std::optional<runtime::ContainerStatus> {
    auto spec = MakeSpec(pod, c, sync.sandbox, attempt);
    if (!spec.ok()) {
      cv.state.waiting =
          api::ContainerStateWaiting{"CreateContainerConfigError", spec.status().message()};
      events_.Record(ref, "Warning", "Failed", "Error: " + spec.status().message());
      sync.RequeueIn(opts_.backoff_initial);
      return std::nullopt;
    }
    auto st = opts_.runtime->Start(*spec);
    if (!st.ok()) {
      cv.state.waiting = api::ContainerStateWaiting{"RunContainerError", st.status().message()};
      events_.Record(ref, "Warning", "Failed", "Error: " + st.status().message());
      sync.RequeueIn(opts_.backoff_initial);
      return std::nullopt;
    }
    if (st->state == State::kRunning) {
      events_.Record(ref, "Normal", "Started", "Started container " + c.name);
    } else {
      events_.Record(ref, "Warning", "Failed", "Error: " + st->message);
      sync.RequeueIn(std::chrono::milliseconds(0));  // handled as an exit on the next sync
    }
    return *st;
  };

  if (attempts.empty()) {
    auto st = start(0);
    if (!st) return cv;
    attempts.insert(attempts.begin(), *st);
  } else if (attempts.front().state == State::kExited) {
    const runtime::ContainerStatus& cur = attempts.front();
    bool restart = policy == "Always" || (policy == "OnFailure" && cur.exit_code != 0);
    // An init container that succeeded is done, whatever the policy.
    if (init && cur.exit_code == 0) restart = false;
    if (restart) {
      std::string key = uid + "/" + c.name;
      if (auto wait = InBackoff(key, cur.finished_at)) {
        std::chrono::milliseconds delay;
        {
          std::lock_guard<std::mutex> l(mu_);
          delay = backoff_[key].delay;
        }
        std::string msg = "back-off " + FormatSeconds(delay) +
                          " restarting failed container=" + c.name + " pod=" + PodRef(pod);
        cv.state.waiting = api::ContainerStateWaiting{"CrashLoopBackOff", msg};
        cv.last_state.terminated = TerminatedOf(cur);
        cv.container_id = "knet://" + cur.id;
        cv.restart_count = cur.spec.attempt;
        cv.started = false;
        events_.Record(ref, "Warning", "BackOff",
                       "Back-off restarting failed container " + c.name + " in pod " + PodRef(pod));
        sync.RequeueIn(*wait);
        return cv;
      }
      NextBackoff(key);
      auto st = start(cur.spec.attempt + 1);
      if (!st) {
        cv.last_state.terminated = TerminatedOf(cur);
        cv.restart_count = cur.spec.attempt;
        return cv;
      }
      attempts.insert(attempts.begin(), *st);
    }
  }

  const runtime::ContainerStatus& cur = attempts.front();
  cv.container_id = "knet://" + cur.id;
  cv.restart_count = cur.spec.attempt;
  if (attempts.size() > 1) cv.last_state.terminated = TerminatedOf(attempts[1]);
  if (cur.state == State::kRunning) {
    cv.state.running = api::ContainerStateRunning{cur.started_at};
    EnsureProbes(pod, c, cur, sync.sandbox);
    bool started = !c.startup_probe || prober_->IsStarted(uid, c.name);
    bool ready = !c.readiness_probe || prober_->IsReady(uid, c.name);
    cv.started = started;
    cv.ready = !init && started && ready;
  } else {
    cv.state.terminated = TerminatedOf(cur);
    cv.started = false;
    ForgetProbes(uid, c.name);
  }
  return cv;
}

base::StatusOr<client::ReconcileResult> PodManager::SyncPod(const api::Pod& pod,
                                                            const PodEntry& entry) {
  const std::string& uid = pod.metadata.uid;
  std::vector<runtime::ContainerStatus> all;
  for (runtime::ContainerStatus& c : opts_.runtime->List()) {
    if (c.spec.pod_uid == uid) all.push_back(std::move(c));
  }
  // A finished pod keeps its status but gives back its network (its IP can be reused), as the
  // kubelet stops the sandbox of a terminal pod.
  if (pod.status.phase == "Succeeded" || pod.status.phase == "Failed") {
    prober_->RemovePod(uid);
    for (const runtime::ContainerStatus& c : all) {
      if (c.state == State::kRunning) RETURN_IF_ERROR(opts_.runtime->Stop(c.id, {}));
    }
    RETURN_IF_ERROR(opts_.sandboxes->Teardown(uid));
    return client::ReconcileResult{};
  }

  PodView view;
  view.host_ips = opts_.host_ips;
  view.start_time = entry.first_seen;
  auto sb = opts_.sandboxes->Ensure(pod);
  if (!sb.ok()) {
    events_.Record(controllers::EventRecorder::RefOf(pod), "Warning", "FailedCreatePodSandBox",
                   "Failed to create pod sandbox: " + sb.status().message());
    for (const api::Container& c : pod.spec.containers) {
      view.containers.push_back(Waiting(c, "ContainerCreating"));
    }
    (void)WriteStatus(pod, view);
    return sb.status();  // retried with back-off by the queue
  }
  view.sandbox_ready = true;
  view.pod_ips = sb->pod_ips;

  SyncResult sync{pod, *sb, std::nullopt};
  bool init_done = true;
  for (size_t i = 0; i < pod.spec.init_containers.size(); ++i) {
    const api::Container& c = pod.spec.init_containers[i];
    if (!init_done) {
      view.init_containers.push_back(Waiting(c, "PodInitializing"));
      continue;
    }
    ContainerView cv = SyncContainer(sync, c, Attempts(all, c.name), /*init=*/true);
    bool ok = cv.state.terminated && cv.state.terminated->exit_code == 0;
    if (!ok) init_done = false;
    view.init_containers.push_back(std::move(cv));
  }
  for (const api::Container& c : pod.spec.containers) {
    if (!init_done) {
      view.containers.push_back(Waiting(c, "PodInitializing"));
      continue;
    }
    view.containers.push_back(SyncContainer(sync, c, Attempts(all, c.name), /*init=*/false));
  }
  RETURN_IF_ERROR(WriteStatus(pod, view));
  client::ReconcileResult result;
  result.requeue_after = sync.requeue;
  return result;
}

}  // namespace knet::agent::pod
