// File: agent/pod/pod_manager.h
//
// PodManager: the kubelet's pod lifecycle for the pods bound to this node. It watches pods with
// fieldSelector spec.nodeName=<node> and, for each, level-triggered on one work queue keyed by pod
// UID:
//   - makes the sandbox (network namespace + CNI ADD + hosts/resolv.conf; sandbox.h);
//   - runs init containers one by one, then the containers, through the runtime (knet-shim);
//   - restarts exited containers per restartPolicy with the kubelet's crash-loop back-off (first
//     restart at once, then 10 s doubling to 5 min; reset after 10 min of running);
//   - runs startup/liveness/readiness probes (prober) and kills a container whose liveness or
//     startup probe fails, so the restart policy brings it back;
//   - writes the pod status (pod_status.h) through pods/NAME/status when it changes;
//   - on deletion (deletionTimestamp): SIGTERM, the grace period, SIGKILL, CNI DEL, netns removed,
//     then deletes the pod object with grace 0;
//   - on start, adopts what its root dir holds: running containers keep running and keep their
//     addresses; pods that are gone from the API meanwhile are torn down.
// It also answers the agent server's lookups for `kubectl logs` and `kubectl exec`.
//
//   PodManager pm({.node_name = "n1", .client = rest.get(), .runtime = rt.get(), ...});
//   RETURN_IF_ERROR(pm.Start());   // returns once the caches are synced and adoption is queued
//   ...
//   pm.Stop();
//
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agent/pod/pod_status.h"
#include "agent/pod/sandbox.h"
#include "agent/prober/probe_manager.h"
#include "agent/runtime/runtime.h"
#include "agent/server/server.h"
#include "api/pod.h"
#include "api/service.h"
#include "client/controller.h"
#include "client/informer.h"
#include "client/rest_client.h"
#include "controllers/events.h"

namespace knet::agent::pod {

struct PodManagerOptions {
  std::string node_name;
  client::RestClient* client = nullptr;               // must outlive the manager
  runtime::Runtime* runtime = nullptr;                // must outlive the manager
  Sandboxes* sandboxes = nullptr;                     // must outlive the manager
  std::string root_dir;                               // the agent's root: logs go to <root>/logs
  std::vector<std::string> host_ips;                  // the node's InternalIPs (status.hostIP(s))
  int workers = 8;                                    // pods synced in parallel
  std::chrono::milliseconds backoff_initial{10'000};  // kubelet: 10 s
  std::chrono::milliseconds backoff_max{300'000};     // kubelet: 5 min
  // Kill grace for pods found on disk that are gone from the API (no spec to read it from).
  std::chrono::milliseconds orphan_grace{2'000};
};

class PodManager : public server::PodLookup {
 public:
  explicit PodManager(PodManagerOptions opts);
  ~PodManager() override;
  PodManager(const PodManager&) = delete;
  PodManager& operator=(const PodManager&) = delete;

  // Starts the informers, waits for them to sync (Unavailable after `sync_timeout`), queues every
  // pod it knows of (from the API and from disk) and starts the workers.
  base::Status Start(std::chrono::milliseconds sync_timeout = std::chrono::seconds(60));
  // Stops the workers and informers. Containers keep running (a new agent adopts them).
  void Stop();

  // server::PodLookup: the current attempt of a container of a pod on this node.
  base::StatusOr<server::ContainerRef> Find(std::string_view ns, std::string_view pod,
                                            std::string_view container) override;

 private:
  struct PodEntry {
    std::shared_ptr<const api::Pod> pod;  // the latest seen in the API
    bool api_deleted = false;             // gone from the API (or never there: found on disk)
    api::Time first_seen;
  };
  struct Backoff {
    std::chrono::milliseconds delay{0};
    std::chrono::steady_clock::time_point last_update;
  };
  struct SyncResult;

  base::StatusOr<client::ReconcileResult> Reconcile(const std::string& uid);
  base::Status Terminate(const std::string& uid, const PodEntry& entry);
  base::StatusOr<client::ReconcileResult> SyncPod(const api::Pod& pod, const PodEntry& entry);
  // Starts, keeps, restarts (after the back-off) or kills one container; returns what it shows.
  ContainerView SyncContainer(SyncResult& sync, const api::Container& c,
                              std::vector<runtime::ContainerStatus> attempts, bool init);
  base::Status WriteStatus(const api::Pod& pod, const PodView& view);

  // Containers of `uid` named `name` in the runtime, newest attempt first.
  std::vector<runtime::ContainerStatus> Attempts(const std::vector<runtime::ContainerStatus>& all,
                                                 const std::string& name) const;
  std::string LogPath(const api::Pod& pod, const std::string& container, int attempt) const;
  base::StatusOr<runtime::ContainerSpec> MakeSpec(const api::Pod& pod, const api::Container& c,
                                                  const SandboxRecord& sb, int attempt);
  // True (and the wait) if a restart of this container must wait for the crash-loop back-off.
  std::optional<std::chrono::milliseconds> InBackoff(const std::string& key, api::Time finished_at);
  void NextBackoff(const std::string& key);
  void OnProbeResult(const prober::ProbeResultUpdate& r);
  // Starts the probe workers of a running container once per container ID.
  void EnsureProbes(const api::Pod& pod, const api::Container& c,
                    const runtime::ContainerStatus& cur, const SandboxRecord& sb);
  void ForgetProbes(const std::string& uid, const std::string& name);
  void OnPodEvent(const api::Pod& pod, bool deleted);
  std::vector<api::Service> Services() const;

  const PodManagerOptions opts_;
  controllers::EventRecorder events_;
  std::unique_ptr<client::Informer<api::Pod>> pods_informer_;
  std::unique_ptr<client::Informer<api::Service>> services_informer_;
  std::unique_ptr<prober::ProbeManager> prober_;
  std::unique_ptr<client::Controller> controller_;

  mutable std::mutex mu_;
  std::map<std::string, PodEntry> pods_;            // by uid
  std::map<std::string, std::string> uid_by_name_;  // "ns/name" -> uid
  std::map<std::string, std::string> probed_;       // "uid/container" -> container id
  // "uid/container" -> {container id, "liveness"|"startup"}: a probe that reached its failure
  // threshold; the sync kills that container.
  std::map<std::string, std::pair<std::string, std::string>> probe_failed_;
  std::map<std::string, Backoff> backoff_;  // "uid/container"
  std::set<std::string> liveness_killed_;   // container ids killed by a probe
  bool started_ = false;
};

}  // namespace knet::agent::pod
