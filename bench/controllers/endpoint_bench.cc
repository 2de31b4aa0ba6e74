// endpoint_bench: the load and measuring side of bench/controllers/endpoints_bench.py.
//
//   endpoint_bench populate --kubeconfig F --services 10000 --pods-per-service 10
//   endpoint_bench wait-synced --kubeconfig F --services 10000 --pods-per-service 10
//   endpoint_bench measure --kubeconfig F --services 10000 --pods-per-service 10 --samples 200
//   endpoint_bench burst --kubeconfig F --services 10000 --pods-per-service 10 --updates 1000
//
// All objects live in namespace "bench": Service svc-<i> selects app=svc-<i>; pod p-<i>-<j> is
// bound to node "bench-node", has IP 10.<a>.<b>.<c> and starts Ready. `measure` flips one pod at
// a time to not-ready and back, timing from just before the Ready status write is sent until the
// pod's endpoint shows ready=true on a watch of the EndpointSlices. `burst` flips --updates pods
// to not-ready from --threads writers and back, and waits until the slices show every flip.
// Results are one JSON object on stdout.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api/core.h"
#include "api/endpoint_slice.h"
#include "api/node.h"
#include "api/pod.h"
#include "api/service.h"
#include "client/rest_client.h"

namespace {

using knet::client::RestClient;
using Clock = std::chrono::steady_clock;
constexpr const char* kNs = "bench";

struct Args {
  std::string cmd, kubeconfig;
  int services = 10000, pods_per_service = 10, threads = 16, samples = 200, updates = 1000;
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "endpoint_bench: " << what << "\n";
  std::exit(1);
}

std::string PodName(int s, int j) { return "p-" + std::to_string(s) + "-" + std::to_string(j); }
std::string PodIp(int s, int j) {
  int n = s * 64 + j + 1;  // unique per pod up to 64 pods a service
  return "10." + std::to_string(n >> 16) + "." + std::to_string((n >> 8) & 255) + "." +
         std::to_string(n & 255);
}

nlohmann::json StatusPatch(bool ready, const std::string& ip) {
  const char* s = ready ? "True" : "False";
  return {{"status",
           {{"phase", "Running"},
            {"podIP", ip},
            {"podIPs", {{{"ip", ip}}}},
            {"conditions",
             {{{"type", "Ready"}, {"status", s}}, {{"type", "ContainersReady"}, {"status", s}}}}}}};
}

knet::base::Status SetReady(RestClient* c, int s, int j, bool ready) {
  static const knet::client::ResourcePath pods{"/api/v1", "pods", true};
  auto r = c->PatchJson(pods, kNs, PodName(s, j), knet::client::PatchType::kMerge,
                        StatusPatch(ready, PodIp(s, j)).dump(), "status");
  return r.ok() ? knet::base::OkStatus() : r.status();
}

// Runs fn(i) for i in [0, n) on `threads` threads.
void Parallel(int n, int threads, const std::function<void(int)>& fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : ts) t.join();
}

void Populate(RestClient* c, const Args& a) {
  auto start = Clock::now();
  knet::api::Namespace ns;
  ns.metadata.name = kNs;
  if (auto r = c->Create(ns); !r.ok() && !knet::client::IsAlreadyExists(r.status())) {
    Die(r.status().ToString());
  }
  knet::api::Node node;
  node.metadata.name = "bench-node";
  if (auto r = c->Create(node); !r.ok() && !knet::client::IsAlreadyExists(r.status())) {
    Die(r.status().ToString());
  }
  Parallel(a.services, a.threads, [&](int s) {
    knet::api::Service svc;
    svc.metadata.name = "svc-" + std::to_string(s);
    svc.metadata.namespace_ = kNs;
    svc.spec.selector["app"] = svc.metadata.name;
    knet::api::ServicePort p;
    p.name = "http";
    p.port = 80;
    p.target_port = knet::api::IntOrString::FromInt(8080);
    svc.spec.ports.push_back(p);
    if (auto r = c->Create(svc); !r.ok() && !knet::client::IsAlreadyExists(r.status())) {
      Die("creating " + svc.metadata.name + ": " + r.status().ToString());
    }
  });
  auto services_done = Clock::now();
  Parallel(a.services * a.pods_per_service, a.threads, [&](int i) {
    int s = i / a.pods_per_service, j = i % a.pods_per_service;
    knet::api::Pod pod;
    pod.metadata.name = PodName(s, j);
    pod.metadata.namespace_ = kNs;
    pod.metadata.labels["app"] = "svc-" + std::to_string(s);
    pod.spec.node_name = "bench-node";
    knet::api::Container ct;
    ct.name = "c";
    ct.image = "busybox";
    knet::api::ContainerPort cp;
    cp.name = "http";
    cp.container_port = 8080;
    ct.ports.push_back(cp);
    pod.spec.containers.push_back(ct);
    if (auto r = c->Create(pod); !r.ok() && !knet::client::IsAlreadyExists(r.status())) {
      Die("creating " + pod.metadata.name + ": " + r.status().ToString());
    }
    if (auto st = SetReady(c, s, j, true); !st.ok()) Die(st.ToString());
  });
  auto end = Clock::now();
  std::cout << nlohmann::json{{"services_s",
                               std::chrono::duration<double>(services_done - start).count()},
                              {"pods_s",
                               std::chrono::duration<double>(end - services_done).count()}}
                   .dump()
            << std::endl;
}

// Ready endpoints over all slices of the namespace, by listing in pages.
int64_t CountReady(RestClient* c) {
  knet::client::ListOptions lo;
  lo.limit = 2000;
  int64_t ready = 0;
  while (true) {
    auto page = c->List<knet::api::EndpointSlice>(kNs, lo);
    if (!page.ok()) Die(page.status().ToString());
    for (const auto& s : page->items) {
      for (const auto& e : s.endpoints) ready += e.conditions.ready.value_or(false) ? 1 : 0;
    }
    if (page->continue_token.empty()) return ready;
    lo.continue_token = page->continue_token;
  }
}

void WaitSynced(RestClient* c, const Args& a) {
  auto start = Clock::now();
  const int64_t want = int64_t{a.services} * a.pods_per_service;
  int64_t got = 0;
  while ((got = CountReady(c)) < want) {
    if (Clock::now() - start > std::chrono::minutes(30)) {
      Die("only " + std::to_string(got) + " of " + std::to_string(want) + " endpoints ready");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::cout << nlohmann::json{{"synced_s",
                               std::chrono::duration<double>(Clock::now() - start).count()},
                              {"ready_endpoints", got}}
                   .dump()
            << std::endl;
}

// A watch of the namespace's EndpointSlices that keeps each pod's last seen ready state.
class SliceWatcher {
 public:
  explicit SliceWatcher(RestClient* c) : c_(c) {
    knet::client::ListOptions lo;
    lo.limit = 1;
    auto l = c_->List<knet::api::EndpointSlice>(kNs, lo);
    if (!l.ok()) Die(l.status().ToString());
    rv_ = l->resource_version;
    thread_ = std::thread([this] { Run(); });
  }
  ~SliceWatcher() {
    cancel_.Cancel();
    thread_.join();
  }
  // Waits until pod `name` is seen with ready == `ready`; false after 60 s.
  bool WaitFor(const std::string& name, bool ready) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(60), [&] {
      auto it = state_.find(name);
      return it != state_.end() && it->second == ready;
    });
  }

 private:
  void Run() {
    knet::client::WatchOptions wo;
    wo.resource_version = rv_;
    knet::base::Status s = c_->Watch<knet::api::EndpointSlice>(
        kNs, wo,
        [&](const knet::client::WatchEvent<knet::api::EndpointSlice>& ev) {
          if (ev.type == "BOOKMARK" || ev.type == "DELETED") return true;
          std::lock_guard<std::mutex> l(mu_);
          for (const auto& e : ev.object.endpoints) {
            if (e.target_ref) state_[e.target_ref->name] = e.conditions.ready.value_or(false);
          }
          cv_.notify_all();
          return true;
        },
        &cancel_);
    if (!s.ok() && s.code() != knet::base::StatusCode::kCancelled) Die(s.ToString());
  }

  RestClient* c_;
  std::string rv_;
  knet::client::WatchCanceller cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, bool> state_;
  std::thread thread_;
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void Measure(RestClient* c, const Args& a) {
  SliceWatcher w(c);
  std::mt19937 rng(42);
  std::vector<double> ms, write_ms;
  for (int i = 0; i < a.samples; ++i) {
    int s = static_cast<int>(rng() % a.services), j = static_cast<int>(rng() % a.pods_per_service);
    if (auto st = SetReady(c, s, j, false); !st.ok()) Die(st.ToString());
    if (!w.WaitFor(PodName(s, j), false)) Die("no not-ready endpoint for " + PodName(s, j));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto t0 = Clock::now();
    if (auto st = SetReady(c, s, j, true); !st.ok()) Die(st.ToString());
    auto t_write = Clock::now();
    if (!w.WaitFor(PodName(s, j), true)) Die("no ready endpoint for " + PodName(s, j));
    auto t1 = Clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    write_ms.push_back(std::chrono::duration<double, std::milli>(t_write - t0).count());
  }
  std::cout << nlohmann::json{{"samples", ms.size()},
                              {"p50_ms", Percentile(ms, 0.50)},
                              {"p99_ms", Percentile(ms, 0.99)},
                              {"max_ms", Percentile(ms, 1.0)},
                              {"status_write_p50_ms", Percentile(write_ms, 0.50)}}
                   .dump()
            << std::endl;
}

void Burst(RestClient* c, const Args& a) {
  SliceWatcher w(c);
  // Distinct pods, spread over the services.
  std::vector<std::pair<int, int>> pods;
  for (int i = 0; i < a.updates; ++i) {
    int s = static_cast<int>((int64_t{i} * 7919) % a.services);
    pods.emplace_back(s, i / a.services % a.pods_per_service);
  }
  auto start = Clock::now();
  for (bool ready : {false, true}) {
    Parallel(static_cast<int>(pods.size()), a.threads, [&](int i) {
      if (auto st = SetReady(c, pods[i].first, pods[i].second, ready); !st.ok()) Die(st.ToString());
    });
    for (const auto& [s, j] : pods) {
      if (!w.WaitFor(PodName(s, j), ready)) Die("burst: " + PodName(s, j) + " never flipped");
    }
  }
  std::cout << nlohmann::json{{"pod_updates", 2 * pods.size()},
                              {"elapsed_s",
                               std::chrono::duration<double>(Clock::now() - start).count()}}
                   .dump()
            << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (argc < 2) Die("usage: endpoint_bench populate|wait-synced|measure|burst --kubeconfig F ...");
  a.cmd = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--kubeconfig") {
      a.kubeconfig = v;
    } else if (k == "--services") {
      a.services = std::stoi(v);
    } else if (k == "--pods-per-service") {
      a.pods_per_service = std::stoi(v);
    } else if (k == "--threads") {
      a.threads = std::stoi(v);
    } else if (k == "--samples") {
      a.samples = std::stoi(v);
    } else if (k == "--updates") {
      a.updates = std::stoi(v);
    } else {
      Die("unknown flag " + k);
    }
  }
  if (a.pods_per_service > 64) Die("--pods-per-service: at most 64");
  auto from_file = RestClient::FromKubeconfig(a.kubeconfig);
  if (!from_file.ok()) Die(from_file.status().ToString());
  // Keep a connection per writer thread alive, so the load is not TLS handshakes.
  knet::client::ClientConfig cfg = (*from_file)->config();
  cfg.max_idle_connections = static_cast<size_t>(a.threads) + 2;
  auto c = RestClient::Create(cfg);
  if (!c.ok()) Die(c.status().ToString());
  if (a.cmd == "populate") {
    Populate(c->get(), a);
  } else if (a.cmd == "wait-synced") {
    WaitSynced(c->get(), a);
  } else if (a.cmd == "measure") {
    Measure(c->get(), a);
  } else if (a.cmd == "burst") {
    Burst(c->get(), a);
  } else {
    Die("unknown command " + a.cmd);
  }
  return 0;
}
