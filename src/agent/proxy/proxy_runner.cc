// File: agent/proxy/proxy_runner.cc
#include "agent/proxy/proxy_runner.h"

#include <sys/socket.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <sstream>

#include "apiserver/http/server.h"

namespace knet::agent::proxy {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint8_t kUdp = 17;  // IPPROTO_UDP

// Upper bounds (seconds) of the sync duration histogram buckets.
constexpr double kBuckets[8] = {0.001, 0.004, 0.016, 0.064, 0.256, 1.024, 4.096, 16.384};

// RFC 3339 with nanoseconds, UTC, as Go's time.Time marshals to JSON.
std::string Rfc3339(std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof(out), "%s.%09lldZ", buf, static_cast<long long>(ns % 1000000000));
  return out;
}

// Every UDP service port known (for the first sync, which records their state).
std::set<knet::proxy::ServicePortName> AllUdp(const knet::proxy::ServicePortMap& services,
                                              const knet::proxy::EndpointsMap& endpoints) {
  std::set<knet::proxy::ServicePortName> out;
  for (const auto& [spn, info] : services) {
    if (spn.protocol == kUdp) out.insert(spn);
  }
  for (const auto& [spn, list] : endpoints) {
    if (spn.protocol == kUdp) out.insert(spn);
  }
  return out;
}

}  // namespace

void ProxyRunner::FlushStaleUdp(const std::set<knet::proxy::ServicePortName>& changed,
                                bool record_only) {
  using kernel::conntrack::Filter;
  std::vector<Filter> filters;
  for (const knet::proxy::ServicePortName& spn : changed) {
    if (spn.protocol != kUdp) continue;
    auto svc = service_map_.find(spn);
    std::set<base::IPAddress> ready;
    if (auto eps = endpoints_map_.find(spn); eps != endpoints_map_.end()) {
      for (const knet::proxy::EndpointInfo& ep : eps->second) {
        if (ep.ready) ready.insert(ep.ip);
      }
    }
    std::set<base::IPAddress> old;
    if (auto it = udp_ready_.find(spn); it != udp_ready_.end()) old = std::move(it->second);
    if (svc == service_map_.end()) {
      udp_ready_.erase(spn);  // a deleted service's entries meet its removed rules and expire
      continue;
    }
    const knet::proxy::ServicePortInfo& info = svc->second;
    std::vector<base::IPAddress> vips = info.cluster_ips;
    vips.insert(vips.end(), info.external_ips.begin(), info.external_ips.end());
    vips.insert(vips.end(), info.load_balancer_ips.begin(), info.load_balancer_ips.end());
    if (!record_only && old.empty() && !ready.empty()) {
      // Newly active: flows that met the reject (or nothing) while it had no endpoint.
      for (const base::IPAddress& vip : vips) {
        filters.push_back({.orig_dst = vip, .orig_dst_port = info.port});
      }
      if (info.node_port != 0) {
        for (const base::IPAddress& cip : info.cluster_ips) {
          filters.push_back({.orig_dst_port = info.node_port,
                             .family = static_cast<uint8_t>(cip.is_v4() ? AF_INET : AF_INET6)});
        }
      }
    }
    if (!record_only) {
      for (const base::IPAddress& gone : old) {
        if (ready.count(gone) != 0) continue;
        for (const base::IPAddress& vip : vips) {
          if (vip.family() == gone.family()) {
            filters.push_back({.orig_dst = vip, .reply_src = gone});
          }
        }
        if (info.node_port != 0) {
          filters.push_back({.orig_dst_port = info.node_port, .reply_src = gone});
        }
      }
    }
    if (ready.empty()) {
      udp_ready_.erase(spn);
    } else {
      udp_ready_[spn] = std::move(ready);
    }
  }
  int64_t deleted = 0, errors = 0;
  for (const Filter& f : filters) {
    base::StatusOr<size_t> n = opts_.conntrack->Delete(f);
    if (n.ok()) {
      deleted += static_cast<int64_t>(*n);
    } else {
      ++errors;
      std::cerr << "knet agent: service proxy: flushing stale conntrack entries: "
                << n.status().message() << "\n";
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  conntrack_deleted_ += deleted;
  conntrack_errors_ += errors;
}

ProxyRunner::ProxyRunner(ProxyRunnerOptions options)
    : opts_(std::move(options)),
      eps_tracker_(opts_.node_name),
      services_(opts_.client, ""),
      slices_(opts_.client, ""),
      node_(opts_.client, "", {.field_selector = "metadata.name=" + opts_.node_name}) {
  auto node_state = [this](const api::Node& n, bool gone) {
    std::lock_guard<std::mutex> l(mu_);
    node_deleting_ = gone || !n.metadata.deletion_timestamp.IsZero();
  };
  node_.AddHandlers(
      {.on_add = [node_state](const api::Node& n) { node_state(n, false); },
       .on_update = [node_state](const api::Node&, const api::Node& n) { node_state(n, false); },
       .on_delete = [node_state](const api::Node& n) { node_state(n, true); }});
  services_.AddHandlers({.on_add =
                             [this](const api::Service& s) {
                               svc_tracker_.Update(nullptr, &s);
                               Kick();
                             },
                         .on_update =
                             [this](const api::Service& o, const api::Service& n) {
                               svc_tracker_.Update(&o, &n);
                               Kick();
                             },
                         .on_delete =
                             [this](const api::Service& s) {
                               svc_tracker_.Update(&s, nullptr);
                               Kick();
                             }});
  slices_.AddHandlers({.on_add =
                           [this](const api::EndpointSlice& s) {
                             eps_tracker_.EndpointSliceUpdate(s, false);
                             Kick();
                           },
                       .on_update =
                           [this](const api::EndpointSlice&, const api::EndpointSlice& n) {
                             eps_tracker_.EndpointSliceUpdate(n, false);
                             Kick();
                           },
                       .on_delete =
                           [this](const api::EndpointSlice& s) {
                             eps_tracker_.EndpointSliceUpdate(s, true);
                             Kick();
                           }});
}

ProxyRunner::~ProxyRunner() { Stop(); }

void ProxyRunner::Kick() {
  std::lock_guard<std::mutex> l(mu_);
  if (!dirty_) pending_since_ = Clock::now();
  dirty_ = true;
  cv_.notify_all();
}

base::Status ProxyRunner::Start() {
  if (!opts_.client || !opts_.backend || opts_.node_name.empty()) {
    return base::InvalidArgumentError("service proxy: client, backend and node name are required");
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (started_) return base::FailedPreconditionError("service proxy: already started");
    started_ = true;
  }
  if (!opts_.healthz_address.empty()) {
    apiserver::http::ServerOptions so;
    so.listen = opts_.healthz_address;
    so.io_threads = 1;
    so.handler_threads = 2;
    auto srv = apiserver::http::Server::Start(so, [this](const apiserver::http::Request& req,
                                                         apiserver::http::Exchange& ex) {
      if (req.path == "/healthz") {
        bool ok = Healthy();
        std::chrono::system_clock::time_point last;
        {
          std::lock_guard<std::mutex> l(mu_);
          last = last_success_;
        }
        std::string body = "{\"lastUpdated\": \"" + Rfc3339(last) + "\",\"currentTime\": \"" +
                           Rfc3339(std::chrono::system_clock::now()) + "\"}";
        ex.Respond({ok ? 200 : 503, {{"Content-Type", "application/json"}}, body});
      } else if (req.path == "/livez") {
        bool alive = loop_alive_.load();
        ex.Respond(
            {alive ? 200 : 503, {{"Content-Type", "text/plain"}}, alive ? "ok" : "not running"});
      } else if (req.path == "/metrics") {
        ex.Respond({200, {{"Content-Type", "text/plain; version=0.0.4"}}, Metrics()});
      } else {
        ex.Respond({404, {{"Content-Type", "text/plain"}}, "404 page not found\n"});
      }
    });
    if (!srv.ok()) {
      return base::Status(srv.status().code(), "service proxy health server on " +
                                                   opts_.healthz_address + ": " +
                                                   srv.status().message());
    }
    server_ = std::move(*srv);
  }
  services_.Start();
  slices_.Start();
  node_.Start();
  loop_alive_ = true;
  thread_ = std::thread([this] { Loop(); });
  return base::OkStatus();
}

void ProxyRunner::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  services_.Stop();
  slices_.Stop();
  node_.Stop();
  if (server_) server_->Stop();
}

uint16_t ProxyRunner::healthz_port() const { return server_ ? server_->port() : 0; }

bool ProxyRunner::Healthy() const {
  std::lock_guard<std::mutex> l(mu_);
  if (!has_synced_ || node_deleting_) return false;
  auto now = Clock::now();
  auto limit = 2 * opts_.sync_period;
  // As kube-proxy: unhealthy when a sync is overdue (the periodic one, or a pending change that
  // has waited too long).
  if (now - last_success_mono_ > limit) return false;
  if (dirty_ && now - pending_since_ > limit) return false;
  return true;
}

int64_t ProxyRunner::successful_syncs() const {
  std::lock_guard<std::mutex> l(mu_);
  return syncs_;
}

void ProxyRunner::Loop() {
  // The first (full) sync waits for both caches: programming a partial view would drop services.
  while (!services_.WaitForSync(std::chrono::milliseconds(100)) ||
         !slices_.WaitForSync(std::chrono::milliseconds(100))) {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) {
      loop_alive_ = false;
      return;
    }
  }
  bool full = true;
  Clock::time_point last_start{};
  Clock::time_point next_full = Clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_until(l, next_full, [&] { return stop_ || dirty_; });
      if (stop_) break;
      if (Clock::now() >= next_full) full = true;
      // At most one sync per min_sync_period: later changes join this batch.
      auto earliest = last_start + opts_.min_sync_period;
      if (Clock::now() < earliest) {
        cv_.wait_until(l, earliest, [&] { return stop_; });
        if (stop_) break;
      }
      dirty_ = false;
    }
    auto start = Clock::now();
    last_start = start;
    std::set<knet::proxy::ServicePortName> changed = svc_tracker_.Apply(service_map_);
    changed.merge(eps_tracker_.Apply(endpoints_map_));
    base::Status s = full ? opts_.backend->FullSync(service_map_, endpoints_map_)
                          : opts_.backend->Sync(service_map_, endpoints_map_, changed);
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    // After the rules, as kube-proxy: a flushed flow's next packet must meet the new rules.
    if (opts_.conntrack != nullptr) {
      for (const knet::proxy::ServicePortName& spn : changed) {
        if (spn.protocol == kUdp) udp_pending_.insert(spn);
      }
      // A failed sync's changes wait for the next successful one.
      if (s.ok()) {
        FlushStaleUdp(udp_seeded_ ? udp_pending_ : AllUdp(service_map_, endpoints_map_),
                      !udp_seeded_);
        udp_seeded_ = true;
        udp_pending_.clear();
      }
    }
    size_t eps = 0;
    for (const auto& [spn, list] : endpoints_map_) eps += list.size();
    std::lock_guard<std::mutex> l(mu_);
    last_duration_ = secs;
    service_ports_ = service_map_.size();
    endpoint_count_ = eps;
    if (opts_.backend_metrics) backend_metrics_text_ = opts_.backend_metrics();
    if (!s.ok()) {
      ++errors_;
      std::cerr << "knet agent: service proxy: " << (full ? "full sync" : "sync")
                << " failed (retrying): " << s.message() << "\n";
      // The backend makes the next sync a full one; retry even if nothing else changes.
      full = true;
      next_full = Clock::now() + opts_.retry_period;
      continue;
    }
    ++syncs_;
    if (full) ++full_syncs_;
    duration_sum_ += secs;
    for (size_t i = 0; i < 8; ++i) {
      if (secs <= kBuckets[i]) ++duration_buckets_[i];
    }
    last_success_ = std::chrono::system_clock::now();
    last_success_mono_ = Clock::now();
    has_synced_ = true;
    if (full) next_full = Clock::now() + opts_.sync_period;
    full = false;
  }
  loop_alive_ = false;
}

std::string ProxyRunner::Metrics() const {
  std::lock_guard<std::mutex> l(mu_);
  std::ostringstream o;
  o << "# HELP knet_proxy_sync_proxy_rules_duration_seconds Time a successful sync took.\n"
    << "# TYPE knet_proxy_sync_proxy_rules_duration_seconds histogram\n";
  for (size_t i = 0; i < 8; ++i) {
    o << "knet_proxy_sync_proxy_rules_duration_seconds_bucket{le=\"" << kBuckets[i] << "\"} "
      << duration_buckets_[i] << "\n";
  }
  o << "knet_proxy_sync_proxy_rules_duration_seconds_bucket{le=\"+Inf\"} " << syncs_ << "\n"
    << "knet_proxy_sync_proxy_rules_duration_seconds_sum " << duration_sum_ << "\n"
    << "knet_proxy_sync_proxy_rules_duration_seconds_count " << syncs_ << "\n"
    << "# HELP knet_proxy_sync_proxy_rules_last_timestamp_seconds When the last successful sync "
       "ended (Unix time).\n"
    << "# TYPE knet_proxy_sync_proxy_rules_last_timestamp_seconds gauge\n"
    << "knet_proxy_sync_proxy_rules_last_timestamp_seconds "
    << (has_synced_ ? std::chrono::duration<double>(last_success_.time_since_epoch()).count() : 0.0)
    << "\n"
    << "# HELP knet_proxy_sync_full_total Successful full syncs.\n"
    << "# TYPE knet_proxy_sync_full_total counter\n"
    << "knet_proxy_sync_full_total " << full_syncs_ << "\n"
    << "# HELP knet_proxy_sync_errors_total Syncs the backend failed.\n"
    << "# TYPE knet_proxy_sync_errors_total counter\n"
    << "knet_proxy_sync_errors_total " << errors_ << "\n"
    << "# HELP knet_proxy_service_ports Service ports programmed.\n"
    << "# TYPE knet_proxy_service_ports gauge\n"
    << "knet_proxy_service_ports " << service_ports_ << "\n"
    << "# HELP knet_proxy_endpoints Endpoints (per service port) known.\n"
    << "# TYPE knet_proxy_endpoints gauge\n"
    << "knet_proxy_endpoints " << endpoint_count_ << "\n"
    << "# HELP knet_proxy_conntrack_deleted_total Stale UDP conntrack entries flushed.\n"
    << "# TYPE knet_proxy_conntrack_deleted_total counter\n"
    << "knet_proxy_conntrack_deleted_total " << conntrack_deleted_ << "\n"
    << "# HELP knet_proxy_conntrack_errors_total Conntrack flushes that failed.\n"
    << "# TYPE knet_proxy_conntrack_errors_total counter\n"
    << "knet_proxy_conntrack_errors_total " << conntrack_errors_ << "\n";
  o << backend_metrics_text_;
  return o.str();
}

}  // namespace knet::agent::proxy
