#include "controllers/nodelifecycle/node_lifecycle.h"

#include <utility>
#include <vector>

#include "api/lease.h"
#include "api/pod.h"

namespace knet::controllers {

namespace {

using nodelifecycle_internal::HealthTracker;

constexpr const char* kLeaseNamespace = "kube-node-lease";
constexpr int kConflictRetries = 3;

const api::NodeCondition* FindCondition(const api::Node& n, const std::string& type) {
  for (const api::NodeCondition& c : n.status.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

api::Time NowSeconds() { return api::Time::FromUnixSeconds(api::Time::Now().unix_seconds()); }

}  // namespace

NodeLifecycleController::NodeLifecycleController(SharedInformers* informers,
                                                 NodeLifecycleOptions opts)
    : informers_(informers),
      client_(informers->client()),
      opts_(std::move(opts)),
      events_(informers->client(), "node-controller") {
  controller_ = std::make_unique<client::Controller>(client::ControllerOptions{
      .name = "nodelifecycle",
      .workers = opts_.workers,
      .max_retries = 0,
      // A failed pass is retried at least every monitor period, as the periodic check would.
      .queue = {.base_delay = std::chrono::milliseconds(5), .max_delay = opts_.monitor_period},
      .reconcile = [this](const std::string& key) { return Reconcile(key); }});
  auto live = liveness_;
  auto enqueue = [this, live](const api::Node& n) {
    live->Run([&] { controller_->Enqueue(n.metadata.name); });
  };
  // Node events give a prompt look (e.g. the agent reporting Ready again); the periodic requeue
  // in Reconcile is what notices silence.
  informers_->nodes().AddHandlers({
      .on_add = enqueue,
      .on_update = [enqueue](const api::Node&, const api::Node& n) { enqueue(n); },
      .on_delete = enqueue,
  });
  // Lease renewals are only read from the cache during the periodic pass (as upstream does);
  // pods are read by node when marking them not ready. Both informers must exist before the
  // manager starts them.
  informers_->leases();
  informers_->pods();
}

NodeLifecycleController::~NodeLifecycleController() {
  liveness_->Kill();
  Stop();
}

void NodeLifecycleController::Start() {
  controller_->Start();
  for (const auto& n : informers_->nodes().ListShared()) controller_->Enqueue(n->metadata.name);
}

void NodeLifecycleController::Stop() { controller_->Stop(); }

base::StatusOr<client::ReconcileResult> NodeLifecycleController::Reconcile(
    const std::string& name) {
  std::shared_ptr<const api::Node> node = informers_->nodes().GetShared("", name);
  if (!node) {
    std::lock_guard<std::mutex> l(mu_);
    health_.Forget(name);
    nodes_.erase(name);
    return client::ReconcileResult{};  // no more periodic checks
  }
  const client::ReconcileResult again{.requeue_after = opts_.monitor_period};
  std::shared_ptr<const api::Lease> lease = informers_->leases().GetShared(kLeaseNamespace, name);
  const api::NodeCondition* ready = FindCondition(*node, "Ready");

  HealthTracker::Observation seen;
  if (lease) seen.lease_renew_time = lease->spec.renew_time.time;
  if (ready) seen.ready_heartbeat_time = ready->last_heartbeat_time;
  const auto now = HealthTracker::Clock::now();
  HealthTracker::Clock::time_point probe;
  {
    std::lock_guard<std::mutex> l(mu_);
    probe = health_.Observe(name, seen, now);
  }

  std::string status = ready ? ready->status : "";
  if (now - probe > opts_.grace_period && status != "Unknown") {
    RETURN_IF_ERROR(MarkUnknown(*node));
    status = "Unknown";
  }
  RETURN_IF_ERROR(SyncNodeTaints(*node, status));

  bool mark_pods = false, became_not_ready = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    NodeState& st = nodes_[name];
    became_not_ready = st.last_status == "True" && status != "True";
    if (status == "True") st.pods_marked = false;
    mark_pods = (status == "False" || status == "Unknown") && !st.pods_marked;
    st.last_status = status;
  }
  if (became_not_ready) {
    events_.Record(EventRecorder::RefOf(*node), "Normal", "NodeNotReady",
                   "Node " + name + " status is now: NodeNotReady");
  }
  if (mark_pods) {
    RETURN_IF_ERROR(MarkPodsNotReady(name));
    std::lock_guard<std::mutex> l(mu_);
    nodes_[name].pods_marked = true;
  }
  return again;
}

base::Status NodeLifecycleController::MarkUnknown(const api::Node& cached) {
  api::Node node = cached;
  const api::Time now = NowSeconds();
  bool has_ready = false;
  for (api::NodeCondition& c : node.status.conditions) {
    if (c.type != "Ready" && c.type != "MemoryPressure" && c.type != "DiskPressure" &&
        c.type != "PIDPressure") {
      continue;
    }
    has_ready = has_ready || c.type == "Ready";
    if (c.status == "Unknown") continue;
    // lastHeartbeatTime stays: it is the node's, and our own write must not look like one.
    c.status = "Unknown";
    c.reason = "NodeStatusUnknown";
    c.message = "Kubelet stopped posting node status.";
    c.last_transition_time = now;
  }
  if (!has_ready) {
    api::NodeCondition c;
    c.type = "Ready";
    c.status = "Unknown";
    c.reason = "NodeStatusNeverUpdated";
    c.message = "Kubelet never posted node status.";
    c.last_heartbeat_time = node.metadata.creation_timestamp;
    c.last_transition_time = now;
    node.status.conditions.push_back(c);
  }
  // Written against the cached resourceVersion: if the node reported meanwhile this is a
  // Conflict, and the retry sees the fresh heartbeat instead of overwriting it.
  base::StatusOr<api::Node> r = client_->UpdateStatus(node);
  if (r.ok() || client::IsNotFound(r.status())) return base::OkStatus();
  return r.status().WithContext("setting node " + cached.metadata.name + " Ready=Unknown");
}

base::Status NodeLifecycleController::SyncNodeTaints(const api::Node& cached,
                                                     const std::string& ready_status) {
  const std::string& name = cached.metadata.name;
  api::Node node = cached;
  base::Status last;
  for (int attempt = 0; attempt < kConflictRetries; ++attempt) {
    std::vector<api::Taint> want =
        nodelifecycle_internal::SyncTaints(node.spec.taints, ready_status, NowSeconds());
    if (want == node.spec.taints) return base::OkStatus();
    node.spec.taints = std::move(want);
    base::StatusOr<api::Node> r = client_->Update(node);
    if (r.ok() || client::IsNotFound(r.status())) return base::OkStatus();
    last = r.status();
    if (!client::IsConflict(last)) break;
    // Only the spec matters here (the status is what we judged), so re-read and re-apply.
    base::StatusOr<api::Node> fresh = client_->Get<api::Node>("", name);
    if (!fresh.ok()) return client::IsNotFound(fresh.status()) ? base::OkStatus() : fresh.status();
    node = std::move(*fresh);
  }
  return last.WithContext("updating the not-ready/unreachable taints of node " + name);
}

base::Status NodeLifecycleController::MarkPodsNotReady(const std::string& node_name) {
  if (!informers_->pods().HasSynced()) {
    return base::UnavailableError("the pod cache has not synced; cannot mark pods of node " +
                                  node_name + " not ready yet");
  }
  base::Status first_error;
  for (const auto& cached : informers_->pods().ByIndexShared(kPodsByNode, node_name)) {
    api::Pod pod = *cached;
    for (int attempt = 0; attempt < kConflictRetries; ++attempt) {
      if (pod.spec.node_name != node_name) break;
      bool changed = false;
      for (api::PodCondition& c : pod.status.conditions) {
        if (c.type != "Ready" || c.status == "False") continue;
        c.status = "False";
        c.last_transition_time = NowSeconds();
        changed = true;
      }
      if (!changed) break;
      base::StatusOr<api::Pod> r = client_->UpdateStatus(pod);
      if (r.ok() || client::IsNotFound(r.status())) break;
      if (!client::IsConflict(r.status())) {
        if (first_error.ok()) {
          first_error = r.status().WithContext("marking pod " + client::KeyOf(pod) + " not ready");
        }
        break;
      }
      base::StatusOr<api::Pod> fresh =
          client_->Get<api::Pod>(pod.metadata.namespace_, pod.metadata.name);
      if (!fresh.ok()) break;
      pod = std::move(*fresh);
    }
  }
  return first_error;  // retried on the next pass; pods already marked are skipped then
}

}  // namespace knet::controllers
