// File: agent/pod/pod_manager.cc
//
// Pod tracking (informer handlers, adoption), termination, status writes and the lookups for the
// agent server. The per-pod sync of containers is in pod_sync.cc.
#include "agent/pod/pod_manager.h"

#include <filesystem>
#include <future>
#include <iostream>

namespace knet::agent::pod {

PodManager::PodManager(PodManagerOptions opts)
    : opts_(std::move(opts)), events_(opts_.client, "kubelet") {
  client::InformerOptions pod_opts;
  pod_opts.field_selector = "spec.nodeName=" + opts_.node_name;
  pods_informer_ = std::make_unique<client::Informer<api::Pod>>(opts_.client, "", pod_opts);
  pods_informer_->AddHandlers({
      .on_add = [this](const api::Pod& p) { OnPodEvent(p, false); },
      .on_update = [this](const api::Pod&, const api::Pod& p) { OnPodEvent(p, false); },
      .on_delete = [this](const api::Pod& p) { OnPodEvent(p, true); },
  });
  services_informer_ = std::make_unique<client::Informer<api::Service>>(opts_.client, "");
  prober::ProbeManagerOptions probe_opts;
  probe_opts.on_result = [this](const prober::ProbeResultUpdate& r) { OnProbeResult(r); };
  prober_ = std::make_unique<prober::ProbeManager>(std::move(probe_opts));
  controller_ = std::make_unique<client::Controller>(client::ControllerOptions{
      .name = "pods",
      .workers = opts_.workers,
      .max_retries = 0,  // a pod is retried until it works or goes away
      .queue = {},
      .reconcile = [this](const std::string& uid) { return Reconcile(uid); },
  });
  // A container exit is a change of the pod: sync it (restart, next init container, status).
  opts_.runtime->SetExitHandler(
      [this](const runtime::ContainerStatus& c) { controller_->Enqueue(c.spec.pod_uid); });
}

PodManager::~PodManager() { Stop(); }

base::Status PodManager::Start(std::chrono::milliseconds sync_timeout) {
  services_informer_->Start();
  pods_informer_->Start();
  if (!services_informer_->WaitForSync(sync_timeout) ||
      !pods_informer_->WaitForSync(sync_timeout)) {
    return base::UnavailableError("pods of node " + opts_.node_name +
                                  ": the API server's pods and services did not sync in time");
  }
  // Adoption: whatever the root dir holds that the API no longer knows is torn down; the rest
  // is reconciled like any pod (running containers are kept, not restarted).
  std::set<std::string> on_disk;
  for (const SandboxRecord& r : opts_.sandboxes->List()) on_disk.insert(r.uid);
  for (const runtime::ContainerStatus& c : opts_.runtime->List()) on_disk.insert(c.spec.pod_uid);
  std::vector<std::string> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const std::string& uid : on_disk) {
      if (!pods_.count(uid)) pods_[uid].api_deleted = true;
    }
    for (const auto& [uid, e] : pods_) all.push_back(uid);
    started_ = true;
  }
  for (const std::string& uid : all) controller_->Enqueue(uid);
  controller_->Start();
  return base::OkStatus();
}

void PodManager::Stop() {
  opts_.runtime->SetExitHandler(nullptr);
  if (controller_) controller_->Stop();
  if (pods_informer_) pods_informer_->Stop();
  if (services_informer_) services_informer_->Stop();
}

void PodManager::OnPodEvent(const api::Pod& pod, bool deleted) {
  const std::string& uid = pod.metadata.uid;
  {
    std::lock_guard<std::mutex> l(mu_);
    PodEntry& e = pods_[uid];
    if (deleted) {
      e.api_deleted = true;
      if (!e.pod) e.pod = std::make_shared<const api::Pod>(pod);
    } else {
      e.pod = std::make_shared<const api::Pod>(pod);
      e.api_deleted = false;
    }
    if (e.first_seen.IsZero()) e.first_seen = api::Time::Now();
    uid_by_name_[pod.metadata.namespace_ + "/" + pod.metadata.name] = uid;
  }
  controller_->Enqueue(uid);
}

void PodManager::OnProbeResult(const prober::ProbeResultUpdate& r) {
  if (!r.success && r.kind != prober::ProbeKind::kReadiness) {
    std::lock_guard<std::mutex> l(mu_);
    probe_failed_[r.pod_uid + "/" + r.container_name] = {
        r.container_id, r.kind == prober::ProbeKind::kLiveness ? "liveness" : "startup"};
  }
  if (!r.success) {
    std::shared_ptr<const api::Pod> pod;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = pods_.find(r.pod_uid);
      if (it != pods_.end()) pod = it->second.pod;
    }
    if (pod) {
      events_.Record(controllers::EventRecorder::RefOf(*pod), "Warning", "Unhealthy",
                     std::string(prober::ProbeKindName(r.kind)) + " probe failed: " + r.message);
    }
  }
  controller_->Enqueue(r.pod_uid);
}

void PodManager::EnsureProbes(const api::Pod& pod, const api::Container& c,
                              const runtime::ContainerStatus& cur, const SandboxRecord& sb) {
  std::string key = pod.metadata.uid + "/" + c.name;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = probed_.find(key);
    if (it != probed_.end() && it->second == cur.id) return;
    probed_[key] = cur.id;
  }
  prober::ContainerProbes cp;
  cp.pod_uid = pod.metadata.uid;
  cp.container_name = c.name;
  cp.container_id = cur.id;
  cp.startup = c.startup_probe;
  cp.liveness = c.liveness_probe;
  cp.readiness = c.readiness_probe;
  cp.target.pod_ip = sb.pod_ips.empty() ? "" : sb.pod_ips.front();
  cp.target.netns_path = sb.netns_path;
  cp.target.container_pid = cur.pid;
  cp.target.env = cur.spec.env;
  cp.target.ports = c.ports;
  // initialDelaySeconds counts from the container's start, also for one adopted after a restart.
  auto age = std::chrono::nanoseconds(api::Time::Now().unix_nanos() - cur.started_at.unix_nanos());
  if (age.count() > 0) {
    cp.started_at = std::chrono::steady_clock::now() -
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
  }
  prober_->AddContainer(std::move(cp));
}

void PodManager::ForgetProbes(const std::string& uid, const std::string& name) {
  {
    std::lock_guard<std::mutex> l(mu_);
    probe_failed_.erase(uid + "/" + name);
    if (!probed_.erase(uid + "/" + name)) return;
  }
  prober_->RemoveContainer(uid, name);
}

std::vector<api::Service> PodManager::Services() const {
  std::vector<api::Service> out;
  for (const auto& s : services_informer_->ListShared()) out.push_back(*s);
  return out;
}

base::StatusOr<client::ReconcileResult> PodManager::Reconcile(const std::string& uid) {
  PodEntry entry;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return client::ReconcileResult{};
    entry = it->second;
  }
  if (entry.api_deleted || !entry.pod || !entry.pod->metadata.deletion_timestamp.IsZero()) {
    RETURN_IF_ERROR(Terminate(uid, entry));
    if (entry.api_deleted) {
      std::lock_guard<std::mutex> l(mu_);
      auto it = pods_.find(uid);
      if (it != pods_.end() && it->second.api_deleted) {
        if (it->second.pod) {
          std::string key =
              it->second.pod->metadata.namespace_ + "/" + it->second.pod->metadata.name;
          if (uid_by_name_[key] == uid) uid_by_name_.erase(key);
        }
        pods_.erase(it);
      }
      for (auto p = probed_.lower_bound(uid + "/");
           p != probed_.end() && p->first.rfind(uid + "/", 0) == 0;)
        p = probed_.erase(p);
      for (auto p = probe_failed_.lower_bound(uid + "/");
           p != probe_failed_.end() && p->first.rfind(uid + "/", 0) == 0;)
        p = probe_failed_.erase(p);
      for (auto p = backoff_.lower_bound(uid + "/");
           p != backoff_.end() && p->first.rfind(uid + "/", 0) == 0;)
        p = backoff_.erase(p);
    }
    return client::ReconcileResult{};
  }
  return SyncPod(*entry.pod, entry);
}

base::Status PodManager::Terminate(const std::string& uid, const PodEntry& entry) {
  std::chrono::milliseconds grace = opts_.orphan_grace;
  if (entry.pod) {
    const api::Pod& p = *entry.pod;
    int64_t secs = p.metadata.deletion_grace_period_seconds.value_or(
        p.spec.termination_grace_period_seconds.value_or(30));
    grace = std::chrono::seconds(std::max<int64_t>(secs, 0));
  }
  prober_->RemovePod(uid);
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto p = probed_.lower_bound(uid + "/");
         p != probed_.end() && p->first.rfind(uid + "/", 0) == 0;)
      p = probed_.erase(p);
  }
  std::vector<runtime::ContainerStatus> mine;
  for (runtime::ContainerStatus& c : opts_.runtime->List()) {
    if (c.spec.pod_uid == uid) mine.push_back(std::move(c));
  }
  // Every container gets SIGTERM at the same time and the same grace period, as in the kubelet.
  std::vector<std::future<base::Status>> stops;
  for (const runtime::ContainerStatus& c : mine) {
    if (c.state != runtime::ContainerStatus::State::kRunning) continue;
    if (entry.pod && !entry.api_deleted) {
      events_.Record(controllers::EventRecorder::RefOf(*entry.pod), "Normal", "Killing",
                     "Stopping container " + c.spec.container_name);
    }
    stops.push_back(std::async(
        std::launch::async, [this, id = c.id, grace] { return opts_.runtime->Stop(id, grace); }));
  }
  base::Status first_error;
  for (auto& f : stops) {
    base::Status s = f.get();
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  RETURN_IF_ERROR(first_error);
  RETURN_IF_ERROR(opts_.sandboxes->Teardown(uid));
  for (const runtime::ContainerStatus& c : mine) RETURN_IF_ERROR(opts_.runtime->Remove(c.id));
  // The pod's logs go with it (the kubelet removes /var/log/pods/<ns>_<name>_<uid> too).
  std::error_code ec;
  for (const auto& d : std::filesystem::directory_iterator(opts_.root_dir + "/logs", ec)) {
    std::string name = d.path().filename().string();
    if (name.size() > uid.size() && name.compare(name.size() - uid.size(), uid.size(), uid) == 0) {
      std::filesystem::remove_all(d.path(), ec);
    }
  }
  RETURN_IF_ERROR(opts_.sandboxes->Remove(uid));
  if (entry.pod && !entry.api_deleted) {
    // Everything is gone from the node: the pod object can go (grace 0), but only this pod, not
    // a new one of the same name.
    const api::Pod& p = *entry.pod;
    nlohmann::json body = {{"kind", "DeleteOptions"},
                           {"apiVersion", "v1"},
                           {"gracePeriodSeconds", 0},
                           {"preconditions", {{"uid", uid}}}};
    auto r = opts_.client->Call(
        "DELETE", "/api/v1/namespaces/" + p.metadata.namespace_ + "/pods/" + p.metadata.name,
        body.dump());
    if (!r.ok() && !client::IsNotFound(r.status()) && !client::IsConflict(r.status())) {
      return r.status();
    }
  }
  return base::OkStatus();
}

base::Status PodManager::WriteStatus(const api::Pod& pod, const PodView& view) {
  api::Pod current = pod;
  for (int attempt = 0; attempt < 5; ++attempt) {
    api::PodStatus want = ComputePodStatus(current, view, api::Time::Now());
    if (SameStatus(want, current.status)) return base::OkStatus();
    api::Pod update = current;
    update.status = std::move(want);
    auto r = opts_.client->UpdateStatus(update);
    if (r.ok()) return base::OkStatus();
    if (client::IsNotFound(r.status())) return base::OkStatus();  // deleted meanwhile
    if (!client::IsConflict(r.status())) return r.status();
    auto fresh = opts_.client->Get<api::Pod>(pod.metadata.namespace_, pod.metadata.name);
    if (!fresh.ok()) {
      return client::IsNotFound(fresh.status()) ? base::OkStatus() : fresh.status();
    }
    if (fresh->metadata.uid != pod.metadata.uid) return base::OkStatus();
    current = std::move(*fresh);
  }
  return base::AbortedError("writing the status of pod " + pod.metadata.namespace_ + "/" +
                            pod.metadata.name + ": still conflicting after 5 attempts");
}

std::vector<runtime::ContainerStatus> PodManager::Attempts(
    const std::vector<runtime::ContainerStatus>& all, const std::string& name) const {
  std::vector<runtime::ContainerStatus> out;
  for (const runtime::ContainerStatus& c : all) {
    if (c.spec.container_name == name) out.push_back(c);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.spec.attempt > b.spec.attempt; });
  return out;
}

std::string PodManager::LogPath(const api::Pod& pod, const std::string& container,
                                int attempt) const {
  return opts_.root_dir + "/logs/" + pod.metadata.namespace_ + "_" + pod.metadata.name + "_" +
         pod.metadata.uid + "/" + container + "/" + std::to_string(attempt) + ".log";
}

base::StatusOr<server::ContainerRef> PodManager::Find(std::string_view ns, std::string_view name,
                                                      std::string_view container) {
  std::shared_ptr<const api::Pod> pod;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = uid_by_name_.find(std::string(ns) + "/" + std::string(name));
    if (it != uid_by_name_.end()) {
      auto p = pods_.find(it->second);
      if (p != pods_.end() && !p->second.api_deleted) pod = p->second.pod;
    }
  }
  if (!pod) {
    return base::NotFoundError("pod " + std::string(ns) + "/" + std::string(name) +
                               " is not on node " + opts_.node_name);
  }
  std::string want(container);
  if (want.empty() && !pod->spec.containers.empty()) want = pod->spec.containers.front().name;
  bool known = false;
  for (const auto* list : {&pod->spec.init_containers, &pod->spec.containers}) {
    for (const api::Container& c : *list) known = known || c.name == want;
  }
  if (!known) {
    return base::NotFoundError("container " + want + " is not valid for pod " + std::string(name));
  }
  std::vector<runtime::ContainerStatus> all;
  for (runtime::ContainerStatus& c : opts_.runtime->List()) {
    if (c.spec.pod_uid == pod->metadata.uid) all.push_back(std::move(c));
  }
  std::vector<runtime::ContainerStatus> attempts = Attempts(all, want);
  if (attempts.empty()) {
    return base::FailedPreconditionError("container \"" + want + "\" in pod \"" +
                                         std::string(name) +
                                         "\" is waiting to start: ContainerCreating");
  }
  const runtime::ContainerStatus& cur = attempts.front();
  server::ContainerRef ref;
  ref.name = want;
  ref.log_path = cur.spec.log_path;
  if (attempts.size() > 1) ref.previous_log_path = attempts[1].spec.log_path;
  ref.pid = cur.state == runtime::ContainerStatus::State::kRunning ? cur.pid : 0;
  ref.env = cur.spec.env;
  ref.working_dir = cur.spec.working_dir;
  return ref;
}

}  // namespace knet::agent::pod
