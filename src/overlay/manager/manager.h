// File: overlay/manager/manager.h
//
// Manager: feeds a network Backend (vxlan, host-gw, bgp) from the Node objects. Start() waits for
// this node's Node to have podCIDR(s) and an InternalIP, runs backend->Init(self), publishes what
// Init returned as annotations on its Node (a JSON merge patch of metadata.annotations), applies
// the pod masquerade table (optional), then watches every Node and calls backend->Sync(all the
// other nodes) whenever what the backend sees of them changes (addresses, podCIDRs, annotations;
// heartbeats alone do not count). Changes are debounced; a failed Sync is logged and retried with
// exponential back-off, and since a Backend applies every node it can, one bad node never blocks
// the others. If this node's own podCIDR or InternalIP changes, Init runs again; if its
// annotations are lost, they are published again.
//
//   overlay::Manager manager({.client = rest.get(), .node_name = "n1", .backend = backend.get(),
//                             .cluster_cidrs = {cluster}, .masq = &masq});
//   RETURN_IF_ERROR(manager.Start());          // blocks until Init has run
//   WriteCniConfig(manager.PodMtu());
//   ...
//   manager.Stop();                            // kernel state stays for the next agent
//
// Stop() leaves the kernel state as it is, so a restarted agent adopts it (Init and the first Sync
// reconcile in place) without interrupting traffic. Removing it is Backend::Teardown's job.
//
// Thread-safe: Start, Stop and PodMtu may be called from any thread; the backend is only ever
// called from one thread at a time (Start's, then the manager's worker).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/node.h"
#include "base/ip.h"
#include "base/status.h"
#include "client/informer.h"
#include "client/rest_client.h"
#include "overlay/masq/masq.h"
#include "overlay/overlay.h"

namespace knet::overlay {

struct ManagerOptions {
  client::RestClient* client = nullptr;  // required; outlives the Manager
  std::string node_name;                 // required
  Backend* backend = nullptr;            // required; outlives the Manager
  // Pod traffic leaving these is masqueraded when `masq` is set.
  std::vector<base::Cidr> cluster_cidrs;
  masq::Masq* masq = nullptr;
  // Quiet period after a Node change before Sync runs (changes meanwhile are batched).
  std::chrono::milliseconds debounce{100};
  // Retry back-off after a failed Sync / publish: doubles from min to max.
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
  // How long Start waits for the Node to be ready; zero: until Stop().
  std::chrono::milliseconds start_timeout{0};
};

// The Node as the backends see it: InternalIPs (IPv4 first), spec.podCIDRs (or spec.podCIDR),
// annotations.
NodeInfo ToNodeInfo(const api::Node& node);

class Manager {
 public:
  explicit Manager(ManagerOptions options);
  ~Manager();  // Stop()
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Waits for this node's podCIDR(s) and InternalIP, runs backend->Init, then starts publishing
  // and syncing in the background. Errors: InvalidArgument for missing options,
  // DeadlineExceeded after start_timeout, Cancelled when Stop() is called meanwhile, or Init's
  // error (nothing is left running then). Call once.
  base::Status Start();
  // Ends the watch and the worker; leaves the kernel state. Idempotent.
  void Stop();
  // The backend's pod MTU once Start succeeded; 0 before.
  uint32_t PodMtu() const { return pod_mtu_.load(); }
  // How many Sync calls succeeded (for tests and status).
  int syncs() const { return syncs_.load(); }

 private:
  // The Node ready for Init: NodeInfo with podCIDR(s) and InternalIP(s), else nullopt.
  std::optional<NodeInfo> ReadySelf() const;
  base::Status InitBackend(const NodeInfo& self);
  base::Status Publish();
  // One round: re-Init if needed, publish if needed, masq, Sync if the others changed.
  base::Status RunOnce();
  void Worker();
  void Notify();

  ManagerOptions options_;
  client::Informer<api::Node> nodes_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;   // GUARDED_BY(mu_)
  bool dirty_ = false;  // GUARDED_BY(mu_): a Node changed since the last round
  std::thread worker_;

  // Worker state (Start's thread before the worker starts, the worker's after).
  NodeInfo self_;                                   // what Init ran for
  std::map<std::string, std::string> annotations_;  // what Init returned
  bool masq_applied_ = false;
  std::optional<std::vector<NodeInfo>> synced_;  // what the last successful Sync got

  std::atomic<uint32_t> pod_mtu_{0};
  std::atomic<int> syncs_{0};
};

}  // namespace knet::overlay
