#include "controllers/deployment/deployment.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "controllers/replicaset/controller_ref.h"

namespace knet::controllers {

using namespace deployment;  // NOLINT: the helpers of this controller

namespace {

constexpr const char* kNamespaceIndex = client::Informer<api::ReplicaSet>::kNamespaceIndex;

bool IsDeploymentRef(const api::OwnerReference& r) {
  return r.kind == api::Deployment::kKind && r.api_version == api::Deployment::kApiVersion;
}

// A nil or empty selector selects nothing here: a Deployment must never adopt every ReplicaSet.
bool SelectsAll(const api::Deployment& d) {
  return !d.spec.selector ||
         (d.spec.selector->match_labels.empty() && d.spec.selector->match_expressions.empty());
}

}  // namespace

DeploymentController::DeploymentController(SharedInformers* informers, DeploymentOptions opts)
    : informers_(informers),
      client_(informers->client()),
      opts_(opts),
      events_(informers->client(), "deployment-controller"),
      controller_({.name = "deployment",
                   .workers = opts.workers,
                   .reconcile = [this](const std::string& key) { return Sync(key); }}) {
  auto live = live_;
  auto enqueue = [this, live](const api::Deployment& d) {
    live->Run([&] { controller_.Enqueue(client::KeyOf(d)); });
  };
  informers_->deployments().AddHandlers({
      .on_add = enqueue,
      .on_update = [enqueue](const api::Deployment&, const api::Deployment& d) { enqueue(d); },
      .on_delete = enqueue,
  });
  informers_->replica_sets().AddHandlers({
      .on_add = [this,
                 live](const api::ReplicaSet& rs) { live->Run([&] { OnReplicaSetAdd(rs); }); },
      .on_update =
          [this, live](const api::ReplicaSet& o, const api::ReplicaSet& rs) {
            live->Run([&] { OnReplicaSetUpdate(o, rs); });
          },
      .on_delete =
          [this, live](const api::ReplicaSet& rs) { live->Run([&] { OnReplicaSetDelete(rs); }); },
  });
  informers_->pods().AddHandlers(
      {.on_delete = [this, live](const api::Pod& p) { live->Run([&] { OnPodDelete(p); }); }});
}

DeploymentController::~DeploymentController() {
  live_->Kill();  // the shared informers may outlive us
  Stop();
}
void DeploymentController::Start() { controller_.Start(); }
void DeploymentController::Stop() { controller_.Stop(); }

std::shared_ptr<const api::Deployment> DeploymentController::ResolveControllerRef(
    const api::ObjectMeta& m) const {
  const api::OwnerReference* ref = GetControllerOf(m);
  if (!ref || !IsDeploymentRef(*ref)) return nullptr;
  auto d = informers_->deployments().GetShared(m.namespace_, ref->name);
  if (!d || d->metadata.uid != ref->uid) return nullptr;
  return d;
}

void DeploymentController::EnqueueMatchingDeployments(const api::ReplicaSet& rs) {
  for (const auto& d :
       informers_->deployments().ByIndexShared(kNamespaceIndex, rs.metadata.namespace_)) {
    if (SelectsAll(*d)) continue;
    base::StatusOr<api::Selector> sel = api::Selector::FromLabelSelector(*d->spec.selector);
    if (sel.ok() && sel->Matches(rs.metadata.labels)) controller_.Enqueue(client::KeyOf(*d));
  }
}

void DeploymentController::OnReplicaSetAdd(const api::ReplicaSet& rs) {
  if (!rs.metadata.deletion_timestamp.IsZero()) {
    OnReplicaSetDelete(rs);
    return;
  }
  if (GetControllerOf(rs.metadata)) {
    if (auto d = ResolveControllerRef(rs.metadata)) controller_.Enqueue(client::KeyOf(*d));
    return;
  }
  EnqueueMatchingDeployments(rs);
}

void DeploymentController::OnReplicaSetUpdate(const api::ReplicaSet& old_rs,
                                              const api::ReplicaSet& rs) {
  if (old_rs.metadata.resource_version == rs.metadata.resource_version) return;
  const api::OwnerReference* old_ref = GetControllerOf(old_rs.metadata);
  const api::OwnerReference* ref = GetControllerOf(rs.metadata);
  bool ref_changed =
      (old_ref == nullptr) != (ref == nullptr) || (old_ref && ref && !(*old_ref == *ref));
  if (ref_changed && old_ref) {
    if (auto d = ResolveControllerRef(old_rs.metadata)) controller_.Enqueue(client::KeyOf(*d));
  }
  if (ref) {
    if (auto d = ResolveControllerRef(rs.metadata)) controller_.Enqueue(client::KeyOf(*d));
    return;
  }
  if (ref_changed || old_rs.metadata.labels != rs.metadata.labels) EnqueueMatchingDeployments(rs);
}

void DeploymentController::OnReplicaSetDelete(const api::ReplicaSet& rs) {
  if (auto d = ResolveControllerRef(rs.metadata)) controller_.Enqueue(client::KeyOf(*d));
}

// Recreate waits for the old pods to be gone: their deletion is what it waits for.
void DeploymentController::OnPodDelete(const api::Pod& pod) {
  const api::OwnerReference* ref = GetControllerOf(pod.metadata);
  if (!ref || ref->kind != api::ReplicaSet::kKind) return;
  auto rs = informers_->replica_sets().GetShared(pod.metadata.namespace_, ref->name);
  if (!rs || rs->metadata.uid != ref->uid) return;
  auto d = ResolveControllerRef(rs->metadata);
  if (d && !IsRollingUpdate(*d)) controller_.Enqueue(client::KeyOf(*d));
}

DeploymentController::Result DeploymentController::Sync(const std::string& key) {
  auto [ns, name] = client::SplitKey(key);
  std::shared_ptr<const api::Deployment> cached = informers_->deployments().GetShared(ns, name);
  if (!cached) return client::ReconcileResult{};
  api::Deployment d = *cached;

  if (SelectsAll(d)) {
    events_.Record(EventRecorder::RefOf(d), "Warning", "SelectingAll",
                   "This deployment is selecting all pods. A non-empty selector is required.");
    if (d.status.observed_generation < d.metadata.generation) {
      api::DeploymentStatus st = d.status;
      st.observed_generation = d.metadata.generation;
      RETURN_IF_ERROR(WriteStatus(d, st));
    }
    return client::ReconcileResult{};
  }
  base::StatusOr<api::Selector> sel = api::Selector::FromLabelSelector(*d.spec.selector);
  if (!sel.ok()) {
    std::cerr << "deployment controller: " << key << ": " << sel.status().message() << "\n";
    return client::ReconcileResult{};
  }
  ASSIGN_OR_RETURN(std::vector<RSPtr> rs_list, ClaimReplicaSets(d, *sel));

  if (!d.metadata.deletion_timestamp.IsZero()) {
    RSPtr new_rs;
    std::vector<RSPtr> old_rss;
    RETURN_IF_ERROR(GetAllReplicaSetsAndSyncRevision(d, rs_list, false, &new_rs, &old_rss));
    RETURN_IF_ERROR(SyncDeploymentStatus(WithNew(old_rss, new_rs), new_rs, d));
    return client::ReconcileResult{};
  }
  RETURN_IF_ERROR(CheckPausedConditions(d));
  if (d.spec.paused) {
    RETURN_IF_ERROR(SyncScale(d, rs_list));
    return client::ReconcileResult{};
  }
  ASSIGN_OR_RETURN(bool scaling, IsScalingEvent(d, rs_list));
  if (scaling) {
    RETURN_IF_ERROR(SyncScale(d, rs_list));
    return client::ReconcileResult{};
  }
  if (!IsRollingUpdate(d)) return RolloutRecreate(d, rs_list);
  return RolloutRolling(d, rs_list);
}

base::StatusOr<std::vector<DeploymentController::RSPtr>> DeploymentController::ClaimReplicaSets(
    const api::Deployment& d, const api::Selector& sel) {
  const bool deleting = !d.metadata.deletion_timestamp.IsZero();
  std::vector<RSPtr> claimed;
  base::Status first_error;
  std::optional<bool> can_adopt;  // checked once, against the API server (not the cache)
  for (const auto& rs :
       informers_->replica_sets().ByIndexShared(kNamespaceIndex, d.metadata.namespace_)) {
    const api::OwnerReference* ref = GetControllerOf(rs->metadata);
    bool matches = sel.Matches(rs->metadata.labels);
    if (ref) {
      if (ref->uid != d.metadata.uid) continue;
      if (matches) {
        claimed.push_back(std::make_shared<api::ReplicaSet>(*rs));
      } else if (!deleting) {
        base::StatusOr<api::ReplicaSet> r = client_->Patch<api::ReplicaSet>(
            rs->metadata.namespace_, rs->metadata.name, client::PatchType::kMerge,
            ReleasePatch(rs->metadata, d.metadata.uid));
        if (!r.ok() && !client::IsNotFound(r.status()) && first_error.ok()) {
          first_error = r.status().WithContext("Deployment " + client::KeyOf(d) +
                                               ": releasing replicaset " + rs->metadata.name);
        }
      }
      continue;
    }
    if (!matches || deleting || !rs->metadata.deletion_timestamp.IsZero()) continue;
    if (!can_adopt) {
      base::StatusOr<api::Deployment> fresh =
          client_->Get<api::Deployment>(d.metadata.namespace_, d.metadata.name);
      if (!fresh.ok() && !client::IsNotFound(fresh.status())) return fresh.status();
      can_adopt = fresh.ok() && fresh->metadata.uid == d.metadata.uid &&
                  fresh->metadata.deletion_timestamp.IsZero();
    }
    if (!*can_adopt) continue;
    base::StatusOr<api::ReplicaSet> adopted = client_->Patch<api::ReplicaSet>(
        rs->metadata.namespace_, rs->metadata.name, client::PatchType::kMerge,
        AdoptPatch(rs->metadata, ControllerRefTo(d)));
    if (adopted.ok()) {
      claimed.push_back(std::make_shared<api::ReplicaSet>(std::move(*adopted)));
    } else if (!client::IsNotFound(adopted.status()) && first_error.ok()) {
      first_error = adopted.status().WithContext("Deployment " + client::KeyOf(d) +
                                                 ": adopting replicaset " + rs->metadata.name);
    }
  }
  if (!first_error.ok()) return first_error;
  return claimed;
}

base::Status DeploymentController::GetAllReplicaSetsAndSyncRevision(api::Deployment& d,
                                                                    std::vector<RSPtr>& rs_list,
                                                                    bool create, RSPtr* new_rs,
                                                                    std::vector<RSPtr>* old_rss) {
  *old_rss = OldReplicaSets(rs_list, FindNewReplicaSet(d, rs_list));
  ASSIGN_OR_RETURN(*new_rs, GetNewReplicaSet(d, rs_list, *old_rss, create));
  return base::OkStatus();
}

base::StatusOr<DeploymentController::RSPtr> DeploymentController::GetNewReplicaSet(
    api::Deployment& d, std::vector<RSPtr>& rs_list, const std::vector<RSPtr>& old_rss,
    bool create) {
  const std::string new_revision = std::to_string(MaxRevision(old_rss) + 1);
  if (RSPtr existing = FindNewReplicaSet(d, rs_list)) {
    api::ReplicaSet copy = *existing;
    bool annotations_changed = SetNewReplicaSetAnnotations(d, copy, new_revision, true);
    if (annotations_changed || copy.spec.min_ready_seconds != d.spec.min_ready_seconds) {
      copy.spec.min_ready_seconds = d.spec.min_ready_seconds;
      ASSIGN_OR_RETURN(*existing, client_->Update(copy));  // every holder sees the new version
      return existing;
    }
    RETURN_IF_ERROR(PatchRevision(d, copy.metadata.annotations[kRevisionAnnotation]));
    if (HasProgressDeadline(d) && !GetCondition(d.status, kProgressing)) {
      api::DeploymentStatus st = d.status;
      SetCondition(
          st, NewCondition(kProgressing, "True", kFoundNewRSReason,
                           "Found new replica set \"" + copy.metadata.name + "\"", NowSeconds()));
      RETURN_IF_ERROR(WriteStatus(d, st));
    }
    return existing;
  }
  if (!create) return RSPtr();

  const std::string hash = ComputeHash(d.spec.template_, d.status.collision_count);
  api::ReplicaSet rs;
  rs.metadata.name = d.metadata.name + "-" + hash;
  rs.metadata.namespace_ = d.metadata.namespace_;
  rs.metadata.owner_references = {ControllerRefTo(d)};
  rs.spec.template_ = d.spec.template_;
  rs.spec.template_.metadata.labels[kPodTemplateHashLabel] = hash;
  rs.metadata.labels = rs.spec.template_.metadata.labels;
  rs.spec.selector = *d.spec.selector;
  rs.spec.selector->match_labels[kPodTemplateHashLabel] = hash;
  rs.spec.min_ready_seconds = d.spec.min_ready_seconds;
  rs.spec.replicas = 0;
  rs.spec.replicas =
      NewRSNewReplicas(d, WithNew(old_rss, std::make_shared<api::ReplicaSet>(rs)), rs);
  SetNewReplicaSetAnnotations(d, rs, new_revision, false);

  base::StatusOr<api::ReplicaSet> created = client_->Create(rs);
  bool already_exists = false;
  if (!created.ok() && client::IsAlreadyExists(created.status())) {
    already_exists = true;
    base::StatusOr<api::ReplicaSet> found =
        client_->Get<api::ReplicaSet>(rs.metadata.namespace_, rs.metadata.name);
    const api::OwnerReference* ref = found.ok() ? GetControllerOf(found->metadata) : nullptr;
    if (ref && ref->uid == d.metadata.uid &&
        EqualIgnoreHash(d.spec.template_, found->spec.template_)) {
      created = std::move(found);  // ours, from a sync whose informer event has not arrived
    } else {
      // A different template hashed to the same name: the next hash will differ.
      api::DeploymentStatus st = d.status;
      st.collision_count = st.collision_count.value_or(0) + 1;
      RETURN_IF_ERROR(WriteStatus(d, st));
      return created.status();
    }
  }
  if (!created.ok()) {
    std::string msg = "Failed to create new replica set \"" + rs.metadata.name +
                      "\": " + created.status().message();
    if (HasProgressDeadline(d)) {
      api::DeploymentStatus st = d.status;
      SetCondition(st,
                   NewCondition(kProgressing, "False", kFailedRSCreateReason, msg, NowSeconds()));
      (void)WriteStatus(d, st);  // the create error below is what gets retried
    }
    events_.Record(EventRecorder::RefOf(d), "Warning", kFailedRSCreateReason, msg);
    return created.status();
  }
  RSPtr new_rs = std::make_shared<api::ReplicaSet>(std::move(*created));
  rs_list.push_back(new_rs);
  if (!already_exists && Replicas(*new_rs) > 0) {
    events_.Record(EventRecorder::RefOf(d), "Normal", "ScalingReplicaSet",
                   "Scaled up replica set " + new_rs->metadata.name + " to " +
                       std::to_string(Replicas(*new_rs)));
  }
  RETURN_IF_ERROR(PatchRevision(d, new_revision));
  if (!already_exists && HasProgressDeadline(d)) {
    api::DeploymentStatus st = d.status;
    SetCondition(st, NewCondition(kProgressing, "True", kNewReplicaSetReason,
                                  "Created new replica set \"" + new_rs->metadata.name + "\"",
                                  NowSeconds()));
    RETURN_IF_ERROR(WriteStatus(d, st));
  }
  return new_rs;
}

base::Status DeploymentController::CheckPausedConditions(api::Deployment& d) {
  if (!HasProgressDeadline(d)) return base::OkStatus();
  const api::DeploymentCondition* cond = GetCondition(d.status, kProgressing);
  if (cond && cond->reason == kTimedOutReason) return base::OkStatus();
  bool paused_cond = cond && cond->reason == kPausedDeployReason;
  api::DeploymentStatus st = d.status;
  if (d.spec.paused && !paused_cond) {
    SetCondition(st, NewCondition(kProgressing, "Unknown", kPausedDeployReason,
                                  "Deployment is paused", NowSeconds()));
  } else if (!d.spec.paused && paused_cond) {
    SetCondition(st, NewCondition(kProgressing, "Unknown", kResumedDeployReason,
                                  "Deployment is resumed", NowSeconds()));
  } else {
    return base::OkStatus();
  }
  return WriteStatus(d, st);
}

base::Status DeploymentController::WriteStatus(api::Deployment& d,
                                               const api::DeploymentStatus& status) {
  api::Deployment next = d;
  next.status = status;
  base::StatusOr<api::Deployment> written = client_->UpdateStatus(next);
  if (!written.ok()) {
    return written.status().WithContext("updating status of deployment " + client::KeyOf(d));
  }
  d = std::move(*written);
  return base::OkStatus();
}

// Upstream writes the revision annotation together with status; knet's status subresource keeps
// metadata as stored, so the annotation goes in its own patch.
base::Status DeploymentController::PatchRevision(api::Deployment& d, const std::string& revision) {
  auto it = d.metadata.annotations.find(kRevisionAnnotation);
  if (it != d.metadata.annotations.end() && it->second == revision) return base::OkStatus();
  nlohmann::json patch = {{"metadata",
                           {{"annotations", {{kRevisionAnnotation, revision}}},
                            {"resourceVersion", d.metadata.resource_version}}}};
  base::StatusOr<api::Deployment> patched = client_->Patch<api::Deployment>(
      d.metadata.namespace_, d.metadata.name, client::PatchType::kMerge, patch.dump());
  if (!patched.ok()) {
    return patched.status().WithContext("setting the revision of deployment " + client::KeyOf(d));
  }
  d = std::move(*patched);
  return base::OkStatus();
}

}  // namespace knet::controllers
