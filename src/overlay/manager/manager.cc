#include "overlay/manager/manager.h"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

namespace knet::overlay {

using base::Status;

NodeInfo ToNodeInfo(const api::Node& node) {
  NodeInfo info;
  info.name = node.metadata.name;
  for (const api::NodeAddress& a : node.status.addresses) {
    if (a.type == "InternalIP" && !a.address.empty()) info.internal_ips.push_back(a.address);
  }
  std::stable_partition(info.internal_ips.begin(), info.internal_ips.end(),
                        [](const std::string& ip) { return ip.find(':') == std::string::npos; });
  info.pod_cidrs = node.spec.pod_cidrs;
  if (info.pod_cidrs.empty() && !node.spec.pod_cidr.empty()) info.pod_cidrs = {node.spec.pod_cidr};
  info.annotations = node.metadata.annotations;
  return info;
}

Manager::Manager(ManagerOptions options)
    : options_(std::move(options)), nodes_(options_.client, /*ns=*/"") {
  nodes_.AddHandlers({.on_add = [this](const api::Node&) { Notify(); },
                      .on_update = [this](const api::Node&, const api::Node&) { Notify(); },
                      .on_delete = [this](const api::Node&) { Notify(); }});
}

Manager::~Manager() { Stop(); }

void Manager::Notify() {
  {
    std::lock_guard<std::mutex> l(mu_);
    dirty_ = true;
  }
  cv_.notify_all();
}

std::optional<NodeInfo> Manager::ReadySelf() const {
  std::optional<api::Node> node = nodes_.Get("", options_.node_name);
  if (!node) return std::nullopt;
  NodeInfo info = ToNodeInfo(*node);
  if (info.internal_ips.empty() || info.pod_cidrs.empty()) return std::nullopt;
  return info;
}

Status Manager::Start() {
  if (options_.client == nullptr || options_.backend == nullptr || options_.node_name.empty()) {
    return base::InvalidArgumentError(
        "overlay manager: client, backend and node name are required");
  }
  const std::string what =
      "starting the " + options_.backend->Name() + " network on node " + options_.node_name;
  nodes_.Start();
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  std::optional<NodeInfo> self;
  {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      if (stop_) return base::Status(base::StatusCode::kCancelled, what + ": stopped");
      self = ReadySelf();
      if (self) break;
      if (options_.start_timeout.count() > 0 && std::chrono::steady_clock::now() >= deadline) {
        l.unlock();
        nodes_.Stop();
        return base::DeadlineExceededError(what + ": timed out waiting for the Node to have a " +
                                           "podCIDR and an InternalIP");
      }
      cv_.wait_for(l, std::chrono::milliseconds(200));
    }
  }
  if (Status s = InitBackend(*self); !s.ok()) {
    nodes_.Stop();
    return s.WithContext(what);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return base::Status(base::StatusCode::kCancelled, what + ": stopped");
    dirty_ = true;  // the first round publishes and syncs at once
    worker_ = std::thread([this] { Worker(); });
  }
  return base::OkStatus();
}

void Manager::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  nodes_.Stop();
  if (worker_.joinable()) worker_.join();
}

Status Manager::InitBackend(const NodeInfo& self) {
  base::StatusOr<std::map<std::string, std::string>> annotations = options_.backend->Init(self);
  if (!annotations.ok()) return annotations.status();
  self_ = self;
  annotations_ = *annotations;
  pod_mtu_.store(options_.backend->PodMtu());
  synced_.reset();  // Sync again whatever the others are
  return base::OkStatus();
}

Status Manager::Publish() {
  std::optional<api::Node> node = nodes_.Get("", options_.node_name);
  // Deleted (e.g. the node is being removed): nothing to patch; when the agent registers it again
  // the informer's add brings us back here.
  if (!node) return base::OkStatus();
  {
    bool current = true;
    for (const auto& [k, v] : annotations_) {
      auto it = node->metadata.annotations.find(k);
      current = current && it != node->metadata.annotations.end() && it->second == v;
    }
    if (current) return base::OkStatus();
  }
  nlohmann::json patch;
  patch["metadata"]["annotations"] = nlohmann::json::object();
  for (const auto& [k, v] : annotations_) patch["metadata"]["annotations"][k] = v;
  base::StatusOr<api::Node> patched = options_.client->Patch<api::Node>(
      "", options_.node_name, client::PatchType::kMerge, patch.dump());
  if (!patched.ok()) {
    return patched.status().WithContext("publishing the annotations of node " + options_.node_name);
  }
  return base::OkStatus();
}

Status Manager::RunOnce() {
  Status first;
  std::string messages;
  auto add = [&](const Status& s) {
    if (s.ok()) return;
    if (first.ok()) first = s;
    messages += (messages.empty() ? "" : "; ") + s.message();
  };
  std::optional<NodeInfo> self = ReadySelf();
  if (self && (self->internal_ips != self_.internal_ips || self->pod_cidrs != self_.pod_cidrs)) {
    std::cerr << "knet agent: overlay: node " << options_.node_name
              << " changed its podCIDR or InternalIP; setting up " << options_.backend->Name()
              << " again\n";
    if (Status s = InitBackend(*self); !s.ok()) return s.WithContext("re-initialising");
  }
  add(Publish());
  if (options_.masq != nullptr && !masq_applied_ && !options_.cluster_cidrs.empty()) {
    Status s = options_.masq->Apply(options_.cluster_cidrs);
    masq_applied_ = s.ok();
    add(s);
  }
  std::vector<NodeInfo> others;
  for (const std::shared_ptr<const api::Node>& n : nodes_.ListShared()) {
    if (n->metadata.name != options_.node_name) others.push_back(ToNodeInfo(*n));
  }
  std::sort(others.begin(), others.end(),
            [](const NodeInfo& a, const NodeInfo& b) { return a.name < b.name; });
  if (!synced_ || *synced_ != others) {
    Status s = options_.backend->Sync(others);
    if (s.ok()) {
      synced_ = std::move(others);
      syncs_.fetch_add(1);
    } else {
      synced_.reset();  // retried with the same list: the backend re-applies what failed
      add(s);
    }
  }
  if (first.ok()) return first;
  return Status(first.code(), messages);
}

void Manager::Worker() {
  std::chrono::milliseconds backoff = options_.min_backoff;
  // A plain time point and a flag rather than std::optional: gcc 12 at -O2 warns (falsely) that
  // the optional's value may be used uninitialized, which -Werror turns into a failed release
  // build.
  std::chrono::steady_clock::time_point retry_at{};
  bool retrying = false;
  bool failing = false;
  while (true) {
    {
      std::unique_lock<std::mutex> l(mu_);
      auto due = [&] {
        return stop_ || dirty_ || (retrying && std::chrono::steady_clock::now() >= retry_at);
      };
      if (retrying) {
        cv_.wait_until(l, retry_at, due);
      } else {
        cv_.wait(l, due);
      }
      if (stop_) return;
      // Debounce: let a burst of Node changes settle into one Sync.
      if (cv_.wait_for(l, options_.debounce, [&] { return stop_; })) return;
      dirty_ = false;
    }
    Status s = RunOnce();
    if (s.ok()) {
      if (failing) {
        std::cerr << "knet agent: overlay: " << options_.backend->Name() << ": recovered\n";
      }
      failing = false;
      backoff = options_.min_backoff;
      retrying = false;
      continue;
    }
    failing = true;
    std::cerr << "knet agent: overlay: " << options_.backend->Name() << " on node "
              << options_.node_name << ": " << s.message() << "; retrying in " << backoff.count()
              << " ms\n";
    retry_at = std::chrono::steady_clock::now() + backoff;
    retrying = true;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace knet::overlay
