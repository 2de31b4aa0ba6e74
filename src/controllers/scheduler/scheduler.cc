#include "controllers/scheduler/scheduler.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>
#include <vector>

#include "controllers/scheduler/internal/node_fit.h"

namespace knet::controllers {

namespace {

using scheduler_internal::CheckNode;
using scheduler_internal::FitErrorMessage;

bool IsTerminal(const api::Pod& p) {
  return p.status.phase == "Succeeded" || p.status.phase == "Failed";
}

// The uid of the pod's managing controller (ownerReference with controller=true), or "".
std::string ControllerUid(const api::Pod& p) {
  for (const api::OwnerReference& r : p.metadata.owner_references) {
    if (r.controller.value_or(false)) return r.uid;
  }
  return "";
}

const api::NodeCondition* ReadyCondition(const api::Node& n) {
  for (const api::NodeCondition& c : n.status.conditions) {
    if (c.type == "Ready") return &c;
  }
  return nullptr;
}

// A node change that may make an unschedulable pod fit (heartbeats alone do not).
bool SchedulingRelevantChange(const api::Node& a, const api::Node& b) {
  const api::NodeCondition* ra = ReadyCondition(a);
  const api::NodeCondition* rb = ReadyCondition(b);
  return a.spec.unschedulable != b.spec.unschedulable || a.spec.taints != b.spec.taints ||
         a.metadata.labels != b.metadata.labels || a.status.allocatable != b.status.allocatable ||
         a.status.capacity != b.status.capacity || (ra ? ra->status : "") != (rb ? rb->status : "");
}

}  // namespace

Scheduler::Scheduler(SharedInformers* informers, SchedulerOptions opts)
    : informers_(informers),
      client_(informers->client()),
      opts_(std::move(opts)),
      events_(informers->client(), "default-scheduler") {
  controller_ = std::make_unique<client::Controller>(client::ControllerOptions{
      .name = "scheduler",
      .workers = opts_.workers,
      .max_retries = 0,  // a pending pod is never given up on
      // Errors (a failed Bind) back off no longer than unschedulable pods do.
      .queue = {.base_delay = std::chrono::milliseconds(5), .max_delay = opts_.max_backoff},
      .reconcile = [this](const std::string& key) { return Reconcile(key); }});
  auto live = liveness_;
  informers_->pods().AddHandlers({
      .on_add = [this, live](const api::Pod& p) { live->Run([&] { OnPod(nullptr, p); }); },
      .on_update = [this, live](const api::Pod& old_pod,
                                const api::Pod& p) { live->Run([&] { OnPod(&old_pod, p); }); },
      .on_delete = [this, live](const api::Pod& p) { live->Run([&] { OnPodDeleted(p); }); },
  });
  informers_->nodes().AddHandlers({
      .on_add = [this, live](const api::Node&) { live->Run([&] { RetryUnschedulable(); }); },
      .on_update =
          [this, live](const api::Node& a, const api::Node& b) {
            live->Run([&] {
              if (SchedulingRelevantChange(a, b)) RetryUnschedulable();
            });
          },
      .on_delete = {},
  });
}

Scheduler::~Scheduler() {
  liveness_->Kill();
  Stop();
}

void Scheduler::Start() { controller_->Start(); }
void Scheduler::Stop() { controller_->Stop(); }

bool Scheduler::IsPendingForUs(const api::Pod& pod) const {
  return pod.spec.node_name.empty() &&
         (pod.spec.scheduler_name.empty() || pod.spec.scheduler_name == opts_.scheduler_name) &&
         pod.metadata.deletion_timestamp.IsZero() && !IsTerminal(pod);
}

void Scheduler::OnPod(const api::Pod* old_pod, const api::Pod& pod) {
  const std::string key = client::KeyOf(pod);
  if (!pod.spec.node_name.empty()) {
    // Bound (by us or anyone): the informer now counts it, so drop our assumption.
    {
      std::lock_guard<std::mutex> l(mu_);
      assumed_.erase(key);
      unschedulable_.erase(key);
    }
    // A pod that just finished frees its slot on the node.
    if (old_pod != nullptr && IsTerminal(pod) && !IsTerminal(*old_pod)) RetryUnschedulable();
    return;
  }
  if (!IsPendingForUs(pod)) return;
  if (old_pod != nullptr && old_pod->spec == pod.spec) {
    // Our own status write (PodScheduled=False) or a label change: an unschedulable pod waits
    // for its backoff or a node change instead of retrying at once.
    std::lock_guard<std::mutex> l(mu_);
    if (unschedulable_.count(key)) return;
  }
  controller_->Enqueue(key);
}

void Scheduler::OnPodDeleted(const api::Pod& pod) {
  Forget(client::KeyOf(pod));
  // As upstream's AssignedPodDelete event: the node has room again.
  if (!pod.spec.node_name.empty()) RetryUnschedulable();
}

void Scheduler::RetryUnschedulable() {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [key, attempts] : unschedulable_) controller_->Enqueue(key);
}

void Scheduler::Forget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  assumed_.erase(key);
  unschedulable_.erase(key);
}

std::optional<std::string> Scheduler::SelectAndAssume(const std::string& key, const api::Pod& pod,
                                                      std::map<std::string, int>* reasons,
                                                      size_t* num_nodes) {
  const auto nodes = informers_->nodes().ListShared();
  *num_nodes = nodes.size();
  const std::string owner = ControllerUid(pod);
  auto& pods = informers_->pods();

  std::lock_guard<std::mutex> l(mu_);
  // Bindings in flight that the informer does not show yet count as if they were there.
  std::map<std::string, int64_t> assumed_total, assumed_owner;
  for (const auto& [k, a] : assumed_) {
    auto [ns, name] = client::SplitKey(k);
    std::shared_ptr<const api::Pod> cached = pods.GetShared(ns, name);
    if (!cached || !cached->spec.node_name.empty()) continue;
    ++assumed_total[a.node];
    if (!owner.empty() && a.owner_uid == owner) ++assumed_owner[a.node];
  }
  std::map<std::string, int64_t> owner_on_node;
  if (!owner.empty()) {
    for (const auto& p : pods.ByIndexShared(kByOwnerUid, owner)) {
      if (!p->spec.node_name.empty() && !IsTerminal(*p)) ++owner_on_node[p->spec.node_name];
    }
  }

  std::optional<std::tuple<int64_t, int64_t, std::string>> best;
  for (const auto& node : nodes) {
    const std::string& name = node->metadata.name;
    // A count from the index, not a walk over the node's pods: O(nodes) per attempt.
    int64_t on_node =
        assumed_total[name] + static_cast<int64_t>(pods.IndexSize(kActivePodsByNode, name));
    if (std::optional<std::string> why = CheckNode(pod, *node, on_node)) {
      ++(*reasons)[*why];
      continue;
    }
    auto score = std::make_tuple(owner_on_node[name] + assumed_owner[name], on_node, name);
    if (!best || score < *best) best = std::move(score);
  }
  if (!best) return std::nullopt;
  assumed_[key] = Assumed{std::get<2>(*best), owner};
  return std::get<2>(*best);
}

base::Status Scheduler::Bind(const api::Pod& pod, const std::string& node) {
  nlohmann::json binding = {{"apiVersion", "v1"},
                            {"kind", "Binding"},
                            {"metadata",
                             {{"name", pod.metadata.name},
                              {"namespace", pod.metadata.namespace_},
                              {"uid", pod.metadata.uid}}},
                            {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
  const std::string path =
      "/api/v1/namespaces/" + pod.metadata.namespace_ + "/pods/" + pod.metadata.name + "/binding";
  base::StatusOr<std::string> r = client_->Call("POST", path, binding.dump());
  return r.ok() ? base::OkStatus() : r.status();
}

base::Status Scheduler::MarkUnschedulable(const api::Pod& cached, const std::string& message) {
  api::PodCondition cond;
  cond.type = "PodScheduled";
  cond.status = "False";
  cond.reason = "Unschedulable";
  cond.message = message;
  api::Pod pod = cached;
  bool found = false;
  for (api::PodCondition& c : pod.status.conditions) {
    if (c.type != "PodScheduled") continue;
    found = true;
    if (c.status == cond.status && c.reason == cond.reason && c.message == cond.message) {
      return base::OkStatus();  // only write when it changes
    }
    cond.last_transition_time = c.status == cond.status ? c.last_transition_time : api::Time();
    cond.last_probe_time = c.last_probe_time;
    c = cond;
  }
  if (!found) pod.status.conditions.push_back(cond);
  for (api::PodCondition& c : pod.status.conditions) {
    if (c.type == "PodScheduled" && c.last_transition_time.IsZero()) {
      c.last_transition_time = api::Time::FromUnixSeconds(api::Time::Now().unix_seconds());
    }
  }
  if (pod.status.phase.empty()) pod.status.phase = "Pending";
  base::StatusOr<api::Pod> r = client_->UpdateStatus(pod);
  if (r.ok() || client::IsNotFound(r.status())) return base::OkStatus();
  return r.status().WithContext("setting PodScheduled=False on pod " + client::KeyOf(cached));
}

base::StatusOr<client::ReconcileResult> Scheduler::Reconcile(const std::string& key) {
  auto [ns, name] = client::SplitKey(key);
  std::shared_ptr<const api::Pod> pod = informers_->pods().GetShared(ns, name);
  if (!pod || !IsPendingForUs(*pod)) {
    if (!pod) Forget(key);
    return client::ReconcileResult{};
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (assumed_.count(key)) return client::ReconcileResult{};  // a binding is in flight
  }

  std::map<std::string, int> reasons;
  size_t num_nodes = 0;
  std::optional<std::string> node = SelectAndAssume(key, *pod, &reasons, &num_nodes);
  if (!node) {
    int attempts;
    {
      std::lock_guard<std::mutex> l(mu_);
      attempts = ++unschedulable_[key];
    }
    const std::string message = FitErrorMessage(num_nodes, reasons);
    events_.Record(EventRecorder::RefOf(*pod), "Warning", "FailedScheduling", message);
    RETURN_IF_ERROR(MarkUnschedulable(*pod, message));
    auto backoff = opts_.initial_backoff;
    for (int i = 1; i < attempts && backoff < opts_.max_backoff; ++i) backoff *= 2;
    return client::ReconcileResult{.requeue_after = std::min(backoff, opts_.max_backoff)};
  }

  base::Status s = Bind(*pod, *node);
  if (!s.ok()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      assumed_.erase(key);
    }
    // Deleted, or bound by someone else meanwhile: the informer will tell us.
    if (client::IsNotFound(s) || client::IsConflict(s)) return client::ReconcileResult{};
    return s.WithContext("binding pod " + key + " to node " + *node);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    unschedulable_.erase(key);
  }
  events_.Record(EventRecorder::RefOf(*pod), "Normal", "Scheduled",
                 "Successfully assigned " + key + " to " + *node);
  return client::ReconcileResult{};
}

}  // namespace knet::controllers
