// File: agent/prober/probe_manager.h
//
// ProbeManager: the kubelet's prober workers for every running container. Per container and probe
// kind (startup, liveness, readiness) a worker runs the probe every periodSeconds after
// initialDelaySeconds, with Kubernetes' defaults (period 10 s, timeout 1 s, successThreshold 1
// (always 1 for liveness and startup), failureThreshold 3) and semantics:
//   - a result changes only after `threshold` consecutive equal outcomes;
//   - readiness starts as failure (not ready), liveness as success, startup as unknown (so its
//     first decided result, success or failure, is reported);
//   - liveness and readiness do not run until the startup probe has succeeded; the startup probe
//     stops once it has succeeded;
//   - after a liveness or startup failure the worker holds (probes no more) until the container is
//     replaced (RemoveContainer + AddContainer with the new container ID), as the kubelet's onHold;
//   - a container without a readiness probe is ready once started.
// Results reach `on_result` only when they change. Probes run on a small pool of threads driven by
// one timer thread (not one thread per probe).
//
//   prober::ProbeManager pm({.on_result = [&](const prober::ProbeResultUpdate& u) { ... }});
//   pm.AddContainer({.pod_uid = uid, .container_name = "web", .container_id = id,
//                    .readiness = c.readiness_probe, .target = {.pod_ip = ip, .netns_path = ns}});
//   bool ready = pm.IsReady(uid, "web");
//   pm.RemoveContainer(uid, "web");   // on exit or restart
//
// Thread-safe. on_result runs on a pool thread, one call at a time, in the order the results were
// decided (a startup success before the readiness it unblocked); it may call any method of the
// manager. A result for a container that was just removed can still arrive; compare container_id.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "agent/prober/prober.h"
#include "api/pod.h"

namespace knet::agent::prober {

enum class ProbeKind { kStartup, kLiveness, kReadiness };
std::string_view ProbeKindName(ProbeKind kind);  // "Startup", "Liveness", "Readiness"

struct ProbeResultUpdate {
  std::string pod_uid;
  std::string container_name;
  std::string container_id;
  ProbeKind kind;
  bool success = false;
  std::string message;
};

struct ContainerProbes {
  std::string pod_uid;
  std::string container_name;
  std::string container_id;
  std::optional<api::Probe> startup, liveness, readiness;
  ProbeTarget target;
  // When the container started (initialDelaySeconds counts from here); default: AddContainer time.
  std::optional<std::chrono::steady_clock::time_point> started_at;
};

using ProbeRunner = std::function<ProbeOutcome(const api::Probe&, const ProbeTarget&,
                                               std::chrono::milliseconds timeout)>;

struct ProbeManagerOptions {
  std::function<void(const ProbeResultUpdate&)> on_result;
  size_t threads = 4;
  // The length of one probe "second" (periodSeconds, initialDelaySeconds, timeoutSeconds); tests
  // shrink it.
  std::chrono::milliseconds second{1000};
  ProbeRunner runner;  // default: RunProbe
};

class ProbeManager {
 public:
  explicit ProbeManager(ProbeManagerOptions opts);
  ~ProbeManager();  // stops every worker and joins the threads
  ProbeManager(const ProbeManager&) = delete;
  ProbeManager& operator=(const ProbeManager&) = delete;

  // Starts the workers of a container (replacing those of an earlier container of that name).
  void AddContainer(ContainerProbes c);
  // Stops the container's workers and forgets its results. With a container_id, only if the
  // workers are still those of that container (a late removal of an old instance does not stop
  // the probes of its replacement).
  void RemoveContainer(const std::string& pod_uid, const std::string& container_name,
                       const std::string& container_id = "");
  // Every container of a pod.
  void RemovePod(const std::string& pod_uid);

  // Current results (false for an unknown container).
  bool IsStarted(const std::string& pod_uid, const std::string& container_name) const;
  bool IsReady(const std::string& pod_uid, const std::string& container_name) const;
  bool IsLive(const std::string& pod_uid, const std::string& container_name) const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Worker;
  struct Container;
  using Key = std::pair<std::string, std::string>;  // pod uid, container name

  void TimerLoop();
  void PoolLoop();
  void RunWorker(const std::shared_ptr<Worker>& w);
  void Schedule(const std::shared_ptr<Worker>& w, Clock::time_point at);  // REQUIRES mu_
  void DrainResults();  // delivers pending_ unless another thread is doing so
  bool Deliver(const std::shared_ptr<Container>& c, ProbeKind kind, bool success,
               std::string message, ProbeResultUpdate* out);  // REQUIRES mu_

  const ProbeManagerOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable timer_cv_, pool_cv_;
  bool stopping_ = false;
  std::map<Key, std::shared_ptr<Container>> containers_;
  std::multimap<Clock::time_point, std::shared_ptr<Worker>> timers_;
  std::deque<std::shared_ptr<Worker>> ready_;
  std::deque<ProbeResultUpdate> pending_;  // decided, not yet delivered
  bool delivering_ = false;
  std::thread timer_;
  std::vector<std::thread> pool_;
};

}  // namespace knet::agent::prober
