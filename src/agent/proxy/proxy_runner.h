// File: agent/proxy/proxy_runner.h
//
// ProxyRunner: the service proxy of `knet agent` (kube-proxy's main loop). It watches Services and
// EndpointSlices through informers, feeds them to proxy::ServiceChangeTracker and
// proxy::EndpointsChangeTracker, and runs one sync thread that programs a proxy::Backend:
//   - a FullSync once both informers have synced (the backend replaces its tables atomically, so
//     an agent restart never flushes working rules first);
//   - then Sync(changed) for each batch of changes, at most one every `min_sync_period` (as
//     kube-proxy's --min-sync-period; changes arriving meanwhile are batched);
//   - a FullSync every `sync_period` (default 1 h, as kube-proxy's nftables mode forces its full
//     resync hourly) to repair drift. A full resync rebuilds the tables in one transaction, which
//     also empties the session-affinity sets (clients pick an endpoint again), and costs
//     0.7–0.9 s at 10,000 services × 10 endpoints (release; bench/results/proxy.md): keep it rare;
//   - a failed sync is retried after `retry_period` (the backend makes the retry a full one).
// After a successful sync it flushes stale UDP conntrack entries as kube-proxy does (a UDP flow has
// no connection to end, so without this a client that keeps its socket stays DNATed to a deleted
// endpoint, or to the reject of a service that had none, until the entry times out): for a UDP
// service port whose ready endpoint went away, the entries from each service IP (cluster, external,
// load-balancer) to that endpoint and those from its NodePort to it; for a UDP service port that
// goes from no ready endpoint to some, the entries to its service IPs and port (and to its
// NodePort). The first sync only records the state (the rules of the previous agent stayed in
// place, so no entry is stale).
// It also serves kube-proxy's health and metrics over plain HTTP on `healthz_address` (default
// 0.0.0.0:10256): /healthz is 200 with {"lastUpdated": ..., "currentTime": ...} while the last
// successful sync is younger than 2 × sync_period and no change has waited longer than that, 503
// before the first sync, once syncs fail or stall, and while this node's Node is being deleted
// (has a deletionTimestamp, or is gone: a load balancer stops sending here); /livez answers 200
// while the sync thread runs; /metrics is Prometheus text (sync counts and durations, last sync
// time, service ports and endpoints, errors, plus the backend's counters: elements programmed).
//
//   agent::proxy::ProxyRunner runner({.client = rest.get(), .node_name = "n1",
//                                     .backend = &nft_backend});
//   RETURN_IF_ERROR(runner.Start());   // returns at once; syncing starts in the background
//   ...
//   runner.Stop();                     // the kernel rules stay for the next agent
//
// Thread-safe: Start, Stop, Healthy and successful_syncs may be called from any thread; the backend
// is called only from the runner's sync thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "api/endpoint_slice.h"
#include "api/node.h"
#include "api/service.h"
#include "base/status.h"
#include "client/informer.h"
#include "client/rest_client.h"
#include "kernel/conntrack/conntrack.h"
#include "proxy/backend.h"
#include "proxy/endpoints_change_tracker.h"
#include "proxy/service_change_tracker.h"
#include "proxy/types.h"

namespace knet::apiserver::http {
class Server;
}

namespace knet::agent::proxy {

struct ProxyRunnerOptions {
  client::RestClient* client = nullptr;     // required; outlives the runner
  std::string node_name;                    // required: marks local endpoints
  knet::proxy::Backend* backend = nullptr;  // required; outlives the runner
  // Health/metrics server ("host:port", IPv6 as [::]:10256); "" : none.
  std::string healthz_address = "0.0.0.0:10256";
  std::chrono::milliseconds min_sync_period{20};
  std::chrono::milliseconds sync_period{3'600'000};
  std::chrono::milliseconds retry_period{1000};
  // Where stale UDP conntrack entries are flushed; nullptr: never. Called on the sync thread.
  kernel::conntrack::Conntrack* conntrack = nullptr;
  // The backend's own counters in Prometheus text, appended to /metrics; may be empty. Called on
  // the sync thread after each sync (so it may read backend state without a lock); the text is
  // cached until the next sync.
  std::function<std::string()> backend_metrics;
};

class ProxyRunner {
 public:
  explicit ProxyRunner(ProxyRunnerOptions options);
  ~ProxyRunner();  // Stop()
  ProxyRunner(const ProxyRunner&) = delete;
  ProxyRunner& operator=(const ProxyRunner&) = delete;

  // Starts the health server, the informers and the sync thread, and returns.
  base::Status Start();
  void Stop();  // idempotent; leaves the kernel state as it is

  uint16_t healthz_port() const;  // the bound port (0 without a server)
  // Whether /healthz would answer 200 now.
  bool Healthy() const;
  int64_t successful_syncs() const;

 private:
  void Loop();
  void Kick();
  std::string Metrics() const;
  // Flushes the stale UDP entries of the service ports in `changed` and records their ready
  // endpoints (`record_only`: no flush). Sync thread only.
  void FlushStaleUdp(const std::set<knet::proxy::ServicePortName>& changed, bool record_only);

  const ProxyRunnerOptions opts_;
  knet::proxy::ServiceChangeTracker svc_tracker_;
  knet::proxy::EndpointsChangeTracker eps_tracker_;
  client::Informer<api::Service> services_;
  client::Informer<api::EndpointSlice> slices_;
  client::Informer<api::Node> node_;         // this node only
  knet::proxy::ServicePortMap service_map_;  // sync thread only
  knet::proxy::EndpointsMap endpoints_map_;  // sync thread only
  // Ready endpoint IPs of each UDP service port at the last successful sync (sync thread only).
  std::map<knet::proxy::ServicePortName, std::set<base::IPAddress>> udp_ready_;
  bool udp_seeded_ = false;  // sync thread only
  // UDP service ports changed since the last successful sync (sync thread only).
  std::set<knet::proxy::ServicePortName> udp_pending_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool dirty_ = false;
  bool started_ = false;
  std::thread thread_;
  std::atomic<bool> loop_alive_{false};
  // Metrics and health (under mu_).
  std::chrono::system_clock::time_point last_success_{};  // epoch: never
  std::chrono::steady_clock::time_point last_success_mono_{};
  std::chrono::steady_clock::time_point pending_since_{};  // when dirty_ became true
  bool has_synced_ = false;
  bool node_deleting_ = false;
  int64_t syncs_ = 0, full_syncs_ = 0, errors_ = 0;
  int64_t conntrack_deleted_ = 0, conntrack_errors_ = 0;
  double duration_sum_ = 0, last_duration_ = 0;
  int64_t duration_buckets_[8] = {};  // cumulative counts for kBuckets
  size_t service_ports_ = 0, endpoint_count_ = 0;
  std::string backend_metrics_text_;
  std::unique_ptr<apiserver::http::Server> server_;
};

}  // namespace knet::agent::proxy
