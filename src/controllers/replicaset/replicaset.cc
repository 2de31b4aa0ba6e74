#include "controllers/replicaset/replicaset.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>

#include "api/selector.h"
#include "controllers/replicaset/controller_ref.h"
#include "controllers/replicaset/pod_util.h"
#include "controllers/replicaset/replicaset_status.h"
#include "controllers/replicaset/slow_start.h"

namespace knet::controllers {
namespace {

constexpr const char* kNamespaceIndex = client::Informer<api::Pod>::kNamespaceIndex;

// metav1.LabelSelectorAsSelector, where a nil or empty selector selects nothing: a ReplicaSet
// that slipped past validation must never adopt every pod in its namespace.
base::StatusOr<api::Selector> SelectorOf(const api::ReplicaSet& rs) {
  if (!rs.spec.selector) return base::InvalidArgumentError("spec.selector is not set");
  ASSIGN_OR_RETURN(api::Selector sel, api::Selector::FromLabelSelector(*rs.spec.selector));
  if (sel.Empty()) return base::InvalidArgumentError("spec.selector is empty");
  return sel;
}

bool IsReplicaSetRef(const api::OwnerReference& r) {
  return r.kind == api::ReplicaSet::kKind && r.api_version == api::ReplicaSet::kApiVersion;
}

// The pod a ReplicaSet creates from its template (upstream GetPodFromTemplate).
api::Pod PodFromTemplate(const api::ReplicaSet& rs) {
  api::Pod p;
  p.metadata.namespace_ = rs.metadata.namespace_;
  p.metadata.generate_name = rs.metadata.name + "-";
  p.metadata.labels = rs.spec.template_.metadata.labels;
  p.metadata.annotations = rs.spec.template_.metadata.annotations;
  p.metadata.finalizers = rs.spec.template_.metadata.finalizers;
  p.metadata.owner_references = {ControllerRefTo(rs)};
  p.spec = rs.spec.template_.spec;
  return p;
}

// Upstream checks the NamespaceTerminating status cause; knet's API server says it in the
// message of the 403.
bool IsNamespaceTerminating(const base::Status& s) {
  return client::HttpCodeOf(s) == 403 && s.message().find("being terminated") != std::string::npos;
}

}  // namespace

ReplicaSetController::ReplicaSetController(SharedInformers* informers, ReplicaSetOptions opts)
    : informers_(informers),
      client_(informers->client()),
      opts_(opts),
      expectations_(opts.expectations_timeout),
      events_(informers->client(), "replicaset-controller"),
      controller_({.name = "replicaset",
                   .workers = opts.workers,
                   // Upstream retries a ReplicaSet forever (with backoff); only deployments
                   // give up after 15 attempts.
                   .max_retries = 0,
                   .reconcile = [this](const std::string& key) { return Sync(key); }}) {
  auto live = live_;
  informers_->replica_sets().AddHandlers({
      .on_add =
          [this, live](const api::ReplicaSet& rs) {
            live->Run([&] { controller_.Enqueue(client::KeyOf(rs)); });
          },
      .on_update =
          [this, live](const api::ReplicaSet&, const api::ReplicaSet& rs) {
            live->Run([&] { controller_.Enqueue(client::KeyOf(rs)); });
          },
      .on_delete =
          [this, live](const api::ReplicaSet& rs) {
            live->Run([&] {
              expectations_.Delete(client::KeyOf(rs));
              controller_.Enqueue(client::KeyOf(rs));
            });
          },
  });
  informers_->pods().AddHandlers({
      .on_add = [this, live](const api::Pod& p) { live->Run([&] { OnPodAdd(p); }); },
      .on_update = [this, live](const api::Pod& o,
                                const api::Pod& p) { live->Run([&] { OnPodUpdate(o, p); }); },
      .on_delete = [this, live](const api::Pod& p) { live->Run([&] { OnPodDelete(p); }); },
  });
}

ReplicaSetController::~ReplicaSetController() {
  live_->Kill();  // the shared informers may outlive us
  Stop();
}

void ReplicaSetController::Start() { controller_.Start(); }
void ReplicaSetController::Stop() { controller_.Stop(); }

std::shared_ptr<const api::ReplicaSet> ReplicaSetController::ResolveControllerRef(
    const api::Pod& pod) const {
  const api::OwnerReference* ref = GetControllerOf(pod.metadata);
  if (!ref || !IsReplicaSetRef(*ref)) return nullptr;
  auto rs = informers_->replica_sets().GetShared(pod.metadata.namespace_, ref->name);
  if (!rs || rs->metadata.uid != ref->uid) return nullptr;
  return rs;
}

void ReplicaSetController::EnqueueMatchingReplicaSets(const api::Pod& pod) {
  for (const auto& rs :
       informers_->replica_sets().ByIndexShared(kNamespaceIndex, pod.metadata.namespace_)) {
    base::StatusOr<api::Selector> sel = SelectorOf(*rs);
    if (sel.ok() && sel->Matches(pod.metadata.labels)) controller_.Enqueue(client::KeyOf(*rs));
  }
}

void ReplicaSetController::OnPodAdd(const api::Pod& pod) {
  // After a restart a pod may first be seen already terminating: that is a deletion.
  if (!pod.metadata.deletion_timestamp.IsZero()) {
    OnPodDelete(pod);
    return;
  }
  if (GetControllerOf(pod.metadata)) {
    if (auto rs = ResolveControllerRef(pod)) {
      std::string key = client::KeyOf(*rs);
      expectations_.CreationObserved(key);
      controller_.Enqueue(key);
    }
    return;
  }
  EnqueueMatchingReplicaSets(pod);  // an orphan: whoever matches may adopt it
}

void ReplicaSetController::OnPodUpdate(const api::Pod& old_pod, const api::Pod& pod) {
  if (old_pod.metadata.resource_version == pod.metadata.resource_version) return;  // resync
  bool labels_changed = old_pod.metadata.labels != pod.metadata.labels;
  if (!pod.metadata.deletion_timestamp.IsZero()) {
    // Graceful deletion: the pod is as good as gone, count it now rather than after the grace
    // period so a replacement is created at once.
    OnPodDelete(pod);
    if (labels_changed) OnPodDelete(old_pod);
    return;
  }
  const api::OwnerReference* old_ref = GetControllerOf(old_pod.metadata);
  const api::OwnerReference* ref = GetControllerOf(pod.metadata);
  bool ref_changed =
      (old_ref == nullptr) != (ref == nullptr) || (old_ref && ref && !(*old_ref == *ref));
  if (ref_changed && old_ref) {
    if (auto rs = ResolveControllerRef(old_pod)) controller_.Enqueue(client::KeyOf(*rs));
  }
  if (ref) {
    if (auto rs = ResolveControllerRef(pod)) {
      std::string key = client::KeyOf(*rs);
      controller_.Enqueue(key);
      // A pod that just became ready is available minReadySeconds later: look again then.
      if (rs->spec.min_ready_seconds > 0 && !IsPodReady(old_pod) && IsPodReady(pod)) {
        controller_.EnqueueAfter(
            key, std::chrono::seconds(rs->spec.min_ready_seconds) + std::chrono::milliseconds(100));
      }
    }
    return;
  }
  if (labels_changed || ref_changed) EnqueueMatchingReplicaSets(pod);
}

void ReplicaSetController::OnPodDelete(const api::Pod& pod) {
  auto rs = ResolveControllerRef(pod);
  if (!rs) return;
  std::string key = client::KeyOf(*rs);
  expectations_.DeletionObserved(key, client::KeyOf(pod));
  controller_.Enqueue(key);
}

std::vector<ReplicaSetController::PodPtr> ReplicaSetController::CandidatePods(
    const api::ReplicaSet& rs) const {
  const client::Informer<api::Pod>& pods = informers_->pods();
  const std::string& ns = rs.metadata.namespace_;
  if (!rs.spec.selector || rs.spec.selector->match_labels.empty()) {
    return pods.ByIndexShared(kNamespaceIndex, ns);
  }
  // Every pod the selector can match carries each of its matchLabels: the rarest one narrows
  // the scan to the pods that matter instead of the whole namespace.
  std::string rarest;
  size_t rarest_count = SIZE_MAX;
  for (const auto& [k, v] : rs.spec.selector->match_labels) {
    std::string label = PodLabelKey(ns, k, v);
    size_t n = pods.IndexSize(kPodsByLabel, label);
    if (n < rarest_count) {
      rarest = std::move(label);
      rarest_count = n;
    }
  }
  std::map<std::string, PodPtr> by_key;
  for (PodPtr& p : pods.ByIndexShared(kPodsByLabel, rarest)) {
    by_key.emplace(client::KeyOf(*p), std::move(p));
  }
  // Owned pods whose labels changed are not in that index but must be seen to be released.
  for (PodPtr& p : pods.ByIndexShared(kByOwnerUid, rs.metadata.uid)) {
    by_key.emplace(client::KeyOf(*p), std::move(p));
  }
  std::vector<PodPtr> out;
  out.reserve(by_key.size());
  for (auto& [k, p] : by_key) out.push_back(std::move(p));
  return out;
}

base::StatusOr<client::ReconcileResult> ReplicaSetController::Sync(const std::string& key) {
  auto [ns, name] = client::SplitKey(key);
  std::shared_ptr<const api::ReplicaSet> rs = informers_->replica_sets().GetShared(ns, name);
  if (!rs) {
    expectations_.Delete(key);
    return client::ReconcileResult{};
  }
  base::StatusOr<api::Selector> sel = SelectorOf(*rs);
  if (!sel.ok()) {
    // Retrying cannot fix the spec; the next update of the ReplicaSet is queued anyway.
    std::cerr << "replicaset controller: " << key << ": " << sel.status().message() << "\n";
    return client::ReconcileResult{};
  }
  // Read before listing pods: an expectation satisfied now is reflected in the list below.
  bool needs_sync = expectations_.Satisfied(key);

  std::vector<PodPtr> active;
  for (PodPtr& p : CandidatePods(*rs)) {
    if (IsPodActive(*p)) active.push_back(std::move(p));
  }
  ASSIGN_OR_RETURN(std::vector<PodPtr> pods, ClaimPods(*rs, active));

  base::Status manage_error;
  if (needs_sync && rs->metadata.deletion_timestamp.IsZero()) {
    manage_error = ManageReplicas(pods, *rs);
  }
  ASSIGN_OR_RETURN(client::ReconcileResult result, UpdateStatus(*rs, pods, manage_error));
  if (!manage_error.ok()) return manage_error;
  return result;
}

base::StatusOr<std::vector<ReplicaSetController::PodPtr>> ReplicaSetController::ClaimPods(
    const api::ReplicaSet& rs, const std::vector<PodPtr>& candidates) {
  ASSIGN_OR_RETURN(api::Selector sel, SelectorOf(rs));
  const bool rs_deleting = !rs.metadata.deletion_timestamp.IsZero();
  std::vector<PodPtr> claimed;
  base::Status first_error;
  // Checked at most once per sync, against the API server rather than the cache (upstream
  // RecheckDeletionTimestamp): adoption must not race with the ReplicaSet's deletion.
  std::optional<bool> can_adopt;
  for (const PodPtr& p : candidates) {
    const api::OwnerReference* ref = GetControllerOf(p->metadata);
    bool matches = sel.Matches(p->metadata.labels);
    if (ref) {
      if (ref->uid != rs.metadata.uid) continue;  // another controller's
      if (matches) {
        claimed.push_back(p);
        continue;
      }
      if (rs_deleting) continue;
      base::StatusOr<api::Pod> r = client_->Patch<api::Pod>(
          p->metadata.namespace_, p->metadata.name, client::PatchType::kMerge,
          ReleasePatch(p->metadata, rs.metadata.uid));
      if (!r.ok() && !client::IsNotFound(r.status()) && first_error.ok()) {
        first_error = r.status().WithContext("ReplicaSet " + client::KeyOf(rs) +
                                             ": releasing pod " + p->metadata.name);
      }
      continue;
    }
    if (!matches || rs_deleting || !p->metadata.deletion_timestamp.IsZero()) continue;
    if (!can_adopt) {
      base::StatusOr<api::ReplicaSet> fresh =
          client_->Get<api::ReplicaSet>(rs.metadata.namespace_, rs.metadata.name);
      if (!fresh.ok() && !client::IsNotFound(fresh.status())) return fresh.status();
      can_adopt = fresh.ok() && fresh->metadata.uid == rs.metadata.uid &&
                  fresh->metadata.deletion_timestamp.IsZero();
    }
    if (!*can_adopt) continue;
    base::StatusOr<api::Pod> adopted = client_->Patch<api::Pod>(
        p->metadata.namespace_, p->metadata.name, client::PatchType::kMerge,
        AdoptPatch(p->metadata, ControllerRefTo(rs)));
    if (adopted.ok()) {
      claimed.push_back(std::make_shared<const api::Pod>(std::move(*adopted)));
    } else if (!client::IsNotFound(adopted.status()) && first_error.ok()) {
      first_error = adopted.status().WithContext("ReplicaSet " + client::KeyOf(rs) +
                                                 ": adopting pod " + p->metadata.name);
    }
  }
  if (!first_error.ok()) return first_error;
  return claimed;
}

base::Status ReplicaSetController::ManageReplicas(const std::vector<PodPtr>& pods,
                                                  const api::ReplicaSet& rs) {
  const std::string key = client::KeyOf(rs);
  int diff = static_cast<int>(pods.size()) - rs.spec.replicas.value_or(1);
  if (diff < 0) return CreatePods(rs, key, std::min(-diff, opts_.burst_replicas));
  if (diff > 0) return DeletePods(rs, key, pods, std::min(diff, opts_.burst_replicas));
  return base::OkStatus();
}

base::Status ReplicaSetController::CreatePods(const api::ReplicaSet& rs, const std::string& key,
                                              int count) {
  // Expect them all before the first create: its watch event may arrive before we return.
  expectations_.ExpectCreations(key, count);
  const api::Pod pod = PodFromTemplate(rs);
  const api::ObjectReference ref = EventRecorder::RefOf(rs);
  SlowStartResult r = SlowStartBatch(count, 1, [&]() -> base::Status {
    base::StatusOr<api::Pod> created = client_->Create(pod);
    if (!created.ok() && IsNamespaceTerminating(created.status())) {
      // The ReplicaSet is about to go with its namespace: nothing to do, nothing to report.
      expectations_.CreationObserved(key);
      return base::OkStatus();
    }
    if (!created.ok()) {
      events_.Record(ref, "Warning", "FailedCreate",
                     "Error creating: " + created.status().message());
      return created.status();
    }
    events_.Record(ref, "Normal", "SuccessfulCreate", "Created pod: " + created->metadata.name);
    return base::OkStatus();
  });
  // Creates that failed or were never issued will not be observed: stop waiting for them.
  for (int i = r.successes; i < count; ++i) expectations_.CreationObserved(key);
  return r.error;
}

base::Status ReplicaSetController::DeletePods(const api::ReplicaSet& rs, const std::string& key,
                                              std::vector<PodPtr> pods, int count) {
  std::sort(pods.begin(), pods.end(),
            [](const PodPtr& a, const PodPtr& b) { return ActivePodsLess(*a, *b); });
  pods.resize(static_cast<size_t>(count));
  std::vector<std::string> pod_keys;
  for (const PodPtr& p : pods) pod_keys.push_back(client::KeyOf(*p));
  expectations_.ExpectDeletions(key, pod_keys);
  const api::ObjectReference ref = EventRecorder::RefOf(rs);
  std::atomic<size_t> next{0};
  // All at once, as upstream does (deletes cannot fail for a bad template).
  SlowStartResult r = SlowStartBatch(count, count, [&]() -> base::Status {
    const api::Pod& p = *pods[next.fetch_add(1)];
    base::Status s = client_->Delete<api::Pod>(p.metadata.namespace_, p.metadata.name);
    if (s.ok()) {
      events_.Record(ref, "Normal", "SuccessfulDelete", "Deleted pod: " + p.metadata.name);
      return s;
    }
    if (client::IsNotFound(s)) {
      // Gone already; its DELETED event may have passed before we expected it, so count it
      // here or the ReplicaSet would wait for the expectations timeout.
      expectations_.DeletionObserved(key, client::KeyOf(p));
      return base::OkStatus();
    }
    expectations_.DeletionObserved(key, client::KeyOf(p));
    events_.Record(ref, "Warning", "FailedDelete", "Error deleting: " + s.message());
    return s;
  });
  return r.error;
}

base::StatusOr<client::ReconcileResult> ReplicaSetController::UpdateStatus(
    const api::ReplicaSet& rs, const std::vector<PodPtr>& pods, const base::Status& manage_error) {
  ReplicaSetStatusUpdate u = CalculateReplicaSetStatus(rs, pods, manage_error, api::Time::Now());
  api::ReplicaSetStatus& st = u.status;
  client::ReconcileResult result{.requeue_after = u.recheck_after};
  if (st == rs.status) return result;

  api::ReplicaSet next = rs;
  next.status = st;
  base::StatusOr<api::ReplicaSet> written = client_->UpdateStatus(next);
  if (!written.ok() && client::IsConflict(written.status())) {
    // The cache was behind; the counts are ours to write, so retry once on the fresh object.
    base::StatusOr<api::ReplicaSet> fresh =
        client_->Get<api::ReplicaSet>(rs.metadata.namespace_, rs.metadata.name);
    if (!fresh.ok()) return fresh.status();
    if (fresh->metadata.uid != rs.metadata.uid) return result;
    fresh->status = st;
    written = client_->UpdateStatus(*fresh);
  }
  if (!written.ok() && !client::IsNotFound(written.status())) {
    return written.status().WithContext("updating status of replicaset " + client::KeyOf(rs));
  }
  return result;
}

}  // namespace knet::controllers
