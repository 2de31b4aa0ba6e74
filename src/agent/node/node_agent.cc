#include "agent/node/node_agent.h"

#include <iostream>

#include "client/informer.h"

namespace knet::agent::node {
namespace {

constexpr int kMaxConflictRetries = 10;

// The kubelet's conditions, in its order. Ready is filled from the agent's state.
struct ConditionTemplate {
  const char* type;
  const char* reason;
  const char* message;
};
constexpr ConditionTemplate kPressureConditions[] = {
    {"MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
    {"DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
    {"PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
};

bool OwnedCondition(const std::string& type) {
  return type == "Ready" || type == "MemoryPressure" || type == "DiskPressure" ||
         type == "PIDPressure";
}

std::vector<std::string> PodCidrsOf(const api::Node& n) {
  if (!n.spec.pod_cidrs.empty()) return n.spec.pod_cidrs;
  if (!n.spec.pod_cidr.empty()) return {n.spec.pod_cidr};
  return {};
}

void LogError(const std::string& node, const base::Status& s) {
  std::cerr << "knet agent: node " << node << ": " << s.message() << std::endl;
}

}  // namespace

NodeAgent::NodeAgent(NodeAgentOptions opts)
    : opts_(std::move(opts)),
      ready_(opts_.initially_ready),
      ready_reason_(opts_.initial_ready_reason),
      ready_message_(opts_.initial_ready_message) {}

NodeAgent::~NodeAgent() { Stop(); }

base::StatusOr<std::unique_ptr<NodeAgent>> NodeAgent::Start(NodeAgentOptions opts) {
  if (opts.node_name.empty()) return base::InvalidArgumentError("node agent: no node name");
  if (opts.client == nullptr) return base::InvalidArgumentError("node agent: no API client");
  if (opts.renew_interval.count() <= 0 || opts.status_update_frequency.count() <= 0) {
    return base::InvalidArgumentError("node agent: intervals must be positive");
  }
  std::unique_ptr<NodeAgent> a(new NodeAgent(std::move(opts)));
  const std::string& name = a->opts_.node_name;
  RETURN_IF_ERROR(a->Register().WithContext("registering node " + name));
  RETURN_IF_ERROR(a->PostStatus(/*force=*/true).WithContext("posting status of node " + name));
  if (base::Status s = a->RenewLease(); !s.ok()) {
    LogError(name, s.WithContext("creating the lease"));
  }

  client::InformerOptions io;
  io.field_selector = "metadata.name=" + name;
  a->informer_ = std::make_unique<client::Informer<api::Node>>(a->opts_.client, "", io);
  NodeAgent* self = a.get();
  a->informer_->AddHandlers({
      .on_add = [self](const api::Node& n) { self->OnNode(n); },
      .on_update = [self](const api::Node&, const api::Node& n) { self->OnNode(n); },
      .on_delete = nullptr,
  });
  a->informer_->Start();
  a->loop_ = std::thread([self] { self->Loop(); });
  return a;
}

void NodeAgent::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (informer_) informer_->Stop();
  if (loop_.joinable()) loop_.join();
}

void NodeAgent::SetReady(bool ready, std::string reason, std::string message) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (ready_ == ready && ready_reason_ == reason && ready_message_ == message) return;
    ready_ = ready;
    ready_reason_ = std::move(reason);
    ready_message_ = std::move(message);
    status_dirty_ = true;
  }
  cv_.notify_all();
}

std::map<std::string, std::string> NodeAgent::OwnedLabels() const {
  std::map<std::string, std::string> l = opts_.labels;
  const std::string host = opts_.hostname.empty() ? opts_.node_name : opts_.hostname;
  const std::string arch =
      opts_.host.node_info.architecture.empty() ? GoArch() : opts_.host.node_info.architecture;
  l["kubernetes.io/hostname"] = host;
  l["kubernetes.io/os"] = "linux";
  l["kubernetes.io/arch"] = arch;
  l["beta.kubernetes.io/os"] = "linux";
  l["beta.kubernetes.io/arch"] = arch;
  return l;
}

api::NodeStatus NodeAgent::DesiredStatus() const {
  api::NodeStatus s;
  s.capacity = opts_.host.capacity;
  s.allocatable = opts_.host.capacity;
  for (const ConditionTemplate& t : kPressureConditions) {
    api::NodeCondition c;
    c.type = t.type;
    c.status = "False";
    c.reason = t.reason;
    c.message = t.message;
    s.conditions.push_back(c);
  }
  api::NodeCondition ready;
  ready.type = "Ready";
  {
    std::lock_guard<std::mutex> l(mu_);
    ready.status = ready_ ? "True" : "False";
    ready.reason = ready_reason_;
    ready.message = ready_message_;
  }
  s.conditions.push_back(ready);
  for (const std::string& ip : opts_.internal_ips) s.addresses.push_back({"InternalIP", ip});
  s.addresses.push_back({"Hostname", opts_.hostname.empty() ? opts_.node_name : opts_.hostname});
  s.daemon_endpoints.kubelet_endpoint.port = opts_.agent_port;
  s.node_info = opts_.host.node_info;
  return s;
}

base::Status NodeAgent::Register() {
  api::Node n;
  n.metadata.name = opts_.node_name;
  n.metadata.labels = OwnedLabels();
  base::StatusOr<api::Node> created = opts_.client->Create(n);
  if (created.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    node_uid_ = created->metadata.uid;
    return base::OkStatus();
  }
  if (!client::IsAlreadyExists(created.status())) return created.status();
  // An existing Node (a restart, or someone created it first): set our labels, leave the rest.
  base::Status last;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    ASSIGN_OR_RETURN(api::Node cur, opts_.client->Get<api::Node>("", opts_.node_name));
    bool changed = false;
    for (const auto& [k, v] : n.metadata.labels) {
      auto it = cur.metadata.labels.find(k);
      if (it == cur.metadata.labels.end() || it->second != v) {
        cur.metadata.labels[k] = v;
        changed = true;
      }
    }
    if (!changed) {
      std::lock_guard<std::mutex> l(mu_);
      node_uid_ = cur.metadata.uid;
      return base::OkStatus();
    }
    base::StatusOr<api::Node> updated = opts_.client->Update(cur);
    if (updated.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      node_uid_ = updated->metadata.uid;
      return base::OkStatus();
    }
    last = updated.status();
    if (!client::IsConflict(last)) return last;
  }
  return last;
}

base::Status NodeAgent::PostStatus(bool force) {
  api::NodeStatus desired = DesiredStatus();
  const auto now_steady = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> l(mu_);
    status_dirty_ = false;
    if (!force && desired == last_posted_ &&
        now_steady - last_post_time_ < opts_.status_report_frequency) {
      return base::OkStatus();
    }
  }
  base::Status last;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    ASSIGN_OR_RETURN(api::Node cur, opts_.client->Get<api::Node>("", opts_.node_name));
    const api::Time now = api::Time::Now();
    api::NodeStatus& st = cur.status;
    st.capacity = desired.capacity;
    st.allocatable = desired.allocatable;
    st.addresses = desired.addresses;
    st.daemon_endpoints = desired.daemon_endpoints;
    st.node_info = desired.node_info;
    // Conditions of others (NetworkUnavailable from node IPAM) stay where they are; ours keep
    // their lastTransitionTime unless their status changes, and get a fresh heartbeat.
    std::vector<api::NodeCondition> conds;
    for (const api::NodeCondition& c : st.conditions) {
      if (!OwnedCondition(c.type)) conds.push_back(c);
    }
    for (api::NodeCondition c : desired.conditions) {
      c.last_heartbeat_time = now;
      c.last_transition_time = now;
      for (const api::NodeCondition& old : st.conditions) {
        if (old.type == c.type && old.status == c.status && !old.last_transition_time.IsZero()) {
          c.last_transition_time = old.last_transition_time;
        }
      }
      conds.push_back(c);
    }
    st.conditions = std::move(conds);
    base::StatusOr<api::Node> updated = opts_.client->UpdateStatus(cur);
    if (updated.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      last_posted_ = desired;
      last_post_time_ = now_steady;
      return base::OkStatus();
    }
    last = updated.status();
    if (!client::IsConflict(last)) return last;
  }
  return last;
}

base::Status NodeAgent::RenewLease() {
  std::string uid;
  {
    std::lock_guard<std::mutex> l(mu_);
    uid = node_uid_;
  }
  api::OwnerReference owner;
  owner.api_version = "v1";
  owner.kind = "Node";
  owner.name = opts_.node_name;
  owner.uid = uid;
  base::Status last;
  for (int attempt = 0; attempt < kMaxConflictRetries; ++attempt) {
    base::StatusOr<api::Lease> cur =
        opts_.client->Get<api::Lease>(kLeaseNamespace, opts_.node_name);
    if (!cur.ok() && !client::IsNotFound(cur.status())) return cur.status();
    api::Lease lease;
    if (cur.ok()) {
      lease = *cur;
    } else {
      lease.metadata.name = opts_.node_name;
      lease.metadata.namespace_ = kLeaseNamespace;
    }
    lease.spec.holder_identity = opts_.node_name;
    lease.spec.lease_duration_seconds = opts_.lease_duration_seconds;
    lease.spec.renew_time.time = api::Time::Now();
    if (!uid.empty()) {
      bool owned = false;
      for (const api::OwnerReference& r : lease.metadata.owner_references) {
        owned = owned || (r.kind == "Node" && r.name == opts_.node_name && r.uid == uid);
      }
      if (!owned) lease.metadata.owner_references = {owner};
    }
    base::StatusOr<api::Lease> written =
        cur.ok() ? opts_.client->Update(lease) : opts_.client->Create(lease);
    if (written.ok()) return base::OkStatus();
    last = written.status();
    if (!client::IsConflict(last) && !client::IsAlreadyExists(last)) return last;
  }
  return last;
}

void NodeAgent::Loop() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_renew = Clock::now() + opts_.renew_interval;
  Clock::time_point next_status = Clock::now() + opts_.status_update_frequency;
  for (;;) {
    bool dirty = false;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_until(l, std::min(next_renew, next_status),
                     [&] { return stopping_ || status_dirty_; });
      if (stopping_) return;
      dirty = status_dirty_;
    }
    const Clock::time_point now = Clock::now();
    if (now >= next_renew) {
      base::Status s = RenewLease();
      if (!s.ok()) LogError(opts_.node_name, s.WithContext("renewing the lease"));
      // kubelet retries a failed renewal sooner (after 200 ms, doubling); keep it simple: at the
      // next quarter interval.
      next_renew = now + (s.ok() ? opts_.renew_interval : opts_.renew_interval / 4);
    }
    if (dirty || now >= next_status) {
      base::Status s = PostStatus(/*force=*/false);
      // On failure last_posted_ is unchanged, so the next tick posts again.
      if (!s.ok()) LogError(opts_.node_name, s.WithContext("updating node status"));
      next_status = now + opts_.status_update_frequency;
    }
  }
}

void NodeAgent::OnNode(const api::Node& node) {
  if (node.metadata.name != opts_.node_name) return;
  std::vector<std::string> cidrs = PodCidrsOf(node);
  if (cidrs.empty() || cidrs == last_pod_cidrs_) return;
  last_pod_cidrs_ = cidrs;
  if (opts_.on_pod_cidrs) opts_.on_pod_cidrs(cidrs);
}

}  // namespace knet::agent::node
