#include "controllers/nodeipam/node_ipam.h"

#include <algorithm>
#include <sstream>
#include <utility>

namespace knet::controllers {

namespace {

using nodeipam_internal::CidrSet;

constexpr int kConflictRetries = 5;

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// A node's ranges as it holds them: spec.podCIDRs, or the older single spec.podCIDR.
std::vector<base::Cidr> NodeCidrs(const api::Node& n) {
  std::vector<std::string> texts = n.spec.pod_cidrs;
  if (texts.empty() && !n.spec.pod_cidr.empty()) texts.push_back(n.spec.pod_cidr);
  std::vector<base::Cidr> out;
  for (const std::string& t : texts) {
    if (base::StatusOr<base::Cidr> c = base::Cidr::ParseLoose(t); c.ok()) out.push_back(*c);
  }
  return out;
}

bool HasCidrs(const api::Node& n) { return !n.spec.pod_cidr.empty() || !n.spec.pod_cidrs.empty(); }

std::string Join(const std::vector<base::Cidr>& cidrs) {
  std::string out;
  for (const base::Cidr& c : cidrs) out += (out.empty() ? "" : ",") + c.ToString();
  return out;
}

}  // namespace

base::StatusOr<std::unique_ptr<NodeIpamController>> NodeIpamController::Create(
    SharedInformers* informers, NodeIpamOptions opts) {
  const std::string flag = "--cluster-cidr " + Quote(opts.cluster_cidr);
  std::vector<base::Cidr> cidrs;
  std::stringstream in(opts.cluster_cidr);
  for (std::string part; std::getline(in, part, ',');) {
    base::StatusOr<base::Cidr> c = base::Cidr::Parse(part);
    if (!c.ok()) return base::InvalidArgumentError(flag + ": " + c.status().message());
    cidrs.push_back(*c);
  }
  if (cidrs.empty()) return base::InvalidArgumentError(flag + ": no CIDR given");
  if (cidrs.size() > 2 || (cidrs.size() == 2 && cidrs[0].family() == cidrs[1].family())) {
    return base::InvalidArgumentError(
        flag + ": at most two CIDRs, one per IP family (a dual-stack \"v4,v6\" pair)");
  }
  std::vector<CidrSet> sets;
  for (const base::Cidr& c : cidrs) {
    const bool v4 = c.is_v4();
    const int mask = v4 ? opts.node_cidr_mask_size_ipv4 : opts.node_cidr_mask_size_ipv6;
    base::StatusOr<CidrSet> set = CidrSet::Create(c, mask);
    if (!set.ok()) {
      return base::InvalidArgumentError(
          std::string(v4 ? "--node-cidr-mask-size-ipv4 " : "--node-cidr-mask-size-ipv6 ") +
          std::to_string(mask) + " with " + flag + ": " + set.status().message());
    }
    sets.push_back(std::move(*set));
  }
  return std::unique_ptr<NodeIpamController>(
      new NodeIpamController(informers, std::move(opts), std::move(sets)));
}

NodeIpamController::NodeIpamController(SharedInformers* informers, NodeIpamOptions opts,
                                       std::vector<CidrSet> sets)
    : informers_(informers),
      client_(informers->client()),
      opts_(std::move(opts)),
      events_(informers->client(), "node-ipam-controller"),
      sets_(std::move(sets)) {
  controller_ = std::make_unique<client::Controller>(client::ControllerOptions{
      .name = "nodeipam",
      .workers = opts_.workers,
      .max_retries = 0,
      // A node waiting for a CIDR (API errors) is retried at least every 30 s.
      .queue = {.base_delay = std::chrono::milliseconds(5), .max_delay = std::chrono::seconds(30)},
      .reconcile = [this](const std::string& key) { return Reconcile(key); }});
  auto live = liveness_;
  auto enqueue = [this, live](const api::Node& n) {
    live->Run([&] { controller_->Enqueue(n.metadata.name); });
  };
  informers_->nodes().AddHandlers({
      .on_add = enqueue,
      .on_update =
          [enqueue](const api::Node& old_node, const api::Node& n) {
            // Heartbeats do not concern us; a node without ranges or with changed ones does.
            if (!HasCidrs(n) || old_node.spec.pod_cidrs != n.spec.pod_cidrs ||
                old_node.spec.pod_cidr != n.spec.pod_cidr) {
              enqueue(n);
            }
          },
      .on_delete = enqueue,
  });
}

NodeIpamController::~NodeIpamController() {
  liveness_->Kill();
  Stop();
}

void NodeIpamController::Start() {
  // Before any allocation: learn every range the existing nodes already hold.
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& n : informers_->nodes().ListShared()) {
      TrackLocked(n->metadata.name, NodeCidrs(*n));
      names.push_back(n->metadata.name);
    }
  }
  controller_->Start();
  for (const std::string& n : names) controller_->Enqueue(n);
}

void NodeIpamController::Stop() { controller_->Stop(); }

void NodeIpamController::TrackLocked(const std::string& name,
                                     const std::vector<base::Cidr>& cidrs) {
  std::vector<base::Cidr> tracked;
  for (const base::Cidr& c : cidrs) {
    for (CidrSet& set : sets_) {
      if (!set.Holds(c)) continue;
      if (set.Occupy(c).ok()) tracked.push_back(c);
    }
  }
  // Ranges the node no longer holds (it was recreated under the same name) go back.
  for (const base::Cidr& old : by_node_[name]) {
    if (std::find(tracked.begin(), tracked.end(), old) != tracked.end()) continue;
    for (CidrSet& set : sets_) set.Release(old);
  }
  if (tracked.empty()) {
    by_node_.erase(name);
  } else {
    by_node_[name] = std::move(tracked);
  }
}

void NodeIpamController::ReleaseLocked(const std::string& name) {
  auto it = by_node_.find(name);
  if (it == by_node_.end()) return;
  for (const base::Cidr& c : it->second) {
    for (CidrSet& set : sets_) set.Release(c);
  }
  by_node_.erase(it);
  // A freed range may be what a waiting node needs.
  for (const std::string& w : waiting_) controller_->Enqueue(w);
}

base::StatusOr<client::ReconcileResult> NodeIpamController::Reconcile(const std::string& name) {
  std::shared_ptr<const api::Node> node = informers_->nodes().GetShared("", name);
  if (!node) {
    std::lock_guard<std::mutex> l(mu_);
    waiting_.erase(name);
    ReleaseLocked(name);
    return client::ReconcileResult{};
  }
  if (HasCidrs(*node)) {
    {
      std::lock_guard<std::mutex> l(mu_);
      waiting_.erase(name);
      TrackLocked(name, NodeCidrs(*node));
    }
    RETURN_IF_ERROR(SetNetworkUnavailable(name, false, ""));
    return client::ReconcileResult{};
  }

  // The cache may not show our own write yet (an update event queued before it re-runs this
  // key): ask the API before allocating, or a second range would be taken for the same node.
  {
    base::StatusOr<api::Node> fresh = client_->Get<api::Node>("", name);
    if (!fresh.ok()) {
      if (client::IsNotFound(fresh.status())) return client::ReconcileResult{};
      return fresh.status();
    }
    if (HasCidrs(*fresh)) {
      std::lock_guard<std::mutex> l(mu_);
      waiting_.erase(name);
      TrackLocked(name, NodeCidrs(*fresh));
      return client::ReconcileResult{};
    }
  }

  std::vector<base::Cidr> got;
  base::Status exhausted;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (CidrSet& set : sets_) {
      base::StatusOr<base::Cidr> c = set.AllocateNext();
      if (!c.ok()) {
        exhausted = c.status();
        break;
      }
      got.push_back(*c);
    }
    if (!exhausted.ok()) {
      for (size_t i = 0; i < got.size(); ++i) sets_[i].Release(got[i]);
      waiting_.insert(name);
    }
  }
  if (!exhausted.ok()) {
    const std::string msg = "Node " + name + ": " + exhausted.message();
    events_.Record(EventRecorder::RefOf(*node), "Warning", "CIDRNotAvailable", msg);
    RETURN_IF_ERROR(SetNetworkUnavailable(name, true, msg));
    return client::ReconcileResult{};  // retried when a range is freed
  }

  bool raced = false;
  base::Status s = WriteCidrs(name, got, &raced);
  if (!s.ok() || raced) {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < got.size(); ++i) sets_[i].Release(got[i]);
    // Deleted meanwhile: its delete event releases nothing of ours; done.
    if (client::IsNotFound(s)) return client::ReconcileResult{};
    if (!s.ok()) return s;
    return client::ReconcileResult{};  // the update event brings the node's own ranges
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    waiting_.erase(name);
    // A node deleted and re-registered under the same name between two syncs: its old ranges
    // were never released by a delete event of ours, so release them here.
    ReleaseLocked(name);
    by_node_[name] = got;
  }
  events_.Record(EventRecorder::RefOf(*node), "Normal", "CIDRAssigned",
                 "Node " + name + " was assigned pod CIDRs " + Join(got));
  RETURN_IF_ERROR(SetNetworkUnavailable(name, false, ""));
  return client::ReconcileResult{};
}

base::Status NodeIpamController::WriteCidrs(const std::string& name,
                                            const std::vector<base::Cidr>& cidrs, bool* raced) {
  base::Status last;
  for (int attempt = 0; attempt < kConflictRetries; ++attempt) {
    base::StatusOr<api::Node> n = client_->Get<api::Node>("", name);
    if (!n.ok()) return n.status();
    if (HasCidrs(*n)) {
      *raced = true;
      return base::OkStatus();
    }
    n->spec.pod_cidr = cidrs.front().ToString();
    n->spec.pod_cidrs.clear();
    for (const base::Cidr& c : cidrs) n->spec.pod_cidrs.push_back(c.ToString());
    base::StatusOr<api::Node> r = client_->Update(*n);
    if (r.ok()) return base::OkStatus();
    last = r.status();
    if (!client::IsConflict(last)) break;
  }
  return last.WithContext("setting podCIDRs " + Join(cidrs) + " on node " + name);
}

base::Status NodeIpamController::SetNetworkUnavailable(const std::string& name, bool unavailable,
                                                       const std::string& message) {
  base::Status last;
  for (int attempt = 0; attempt < kConflictRetries; ++attempt) {
    // Cheap check first: most nodes never had the condition.
    std::shared_ptr<const api::Node> cached = informers_->nodes().GetShared("", name);
    base::StatusOr<api::Node> n = attempt == 0 && cached ? base::StatusOr<api::Node>(*cached)
                                                         : client_->Get<api::Node>("", name);
    if (!n.ok()) return client::IsNotFound(n.status()) ? base::OkStatus() : n.status();
    api::NodeCondition* cond = nullptr;
    for (api::NodeCondition& c : n->status.conditions) {
      if (c.type == "NetworkUnavailable") cond = &c;
    }
    if (!unavailable) {
      // Only clear what we set: a network plugin may own the condition otherwise.
      if (cond == nullptr || cond->reason != "NoCIDRAvailable") return base::OkStatus();
    } else if (cond != nullptr && cond->status == "True" && cond->reason == "NoCIDRAvailable" &&
               cond->message == message) {
      return base::OkStatus();
    }
    const api::Time now = api::Time::FromUnixSeconds(api::Time::Now().unix_seconds());
    if (cond == nullptr) {
      n->status.conditions.emplace_back();
      cond = &n->status.conditions.back();
      cond->type = "NetworkUnavailable";
    }
    const std::string status = unavailable ? "True" : "False";
    if (cond->status != status) cond->last_transition_time = now;
    cond->status = status;
    cond->last_heartbeat_time = now;
    cond->reason = unavailable ? "NoCIDRAvailable" : "CIDRAssigned";
    cond->message = unavailable ? message : "Node has a pod CIDR assigned";
    base::StatusOr<api::Node> r = client_->UpdateStatus(*n);
    if (r.ok() || client::IsNotFound(r.status())) return base::OkStatus();
    last = r.status();
    if (!client::IsConflict(last)) break;
  }
  return last.WithContext("setting NetworkUnavailable on node " + name);
}

}  // namespace knet::controllers
