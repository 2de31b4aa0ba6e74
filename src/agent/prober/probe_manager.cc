#include "agent/prober/probe_manager.h"

#include <algorithm>

namespace knet::agent::prober {

std::string_view ProbeKindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kStartup:
      return "Startup";
    case ProbeKind::kLiveness:
      return "Liveness";
    case ProbeKind::kReadiness:
      return "Readiness";
  }
  return "Unknown";
}

struct ProbeManager::Container {
  ContainerProbes spec;
  Clock::time_point start;
  bool started = false;                // startup probe succeeded (or there is none)
  std::optional<bool> startup_result;  // unknown until the startup probe decides
  std::optional<bool> ready = false;   // readiness probe result (starts as failure)
  std::optional<bool> live = true;     // liveness probe result (starts as success)
  std::vector<std::shared_ptr<Worker>> workers;
};

struct ProbeManager::Worker {
  std::weak_ptr<Container> container;
  ProbeKind kind = ProbeKind::kReadiness;
  api::Probe probe;
  Clock::duration period{}, initial_delay{};
  std::chrono::milliseconds timeout{};
  int success_threshold = 1, failure_threshold = 3;
  bool active = true;
  bool running = false;
  bool on_hold = false;
  Clock::time_point due{};
  std::optional<bool> last_outcome;
  int run = 0;  // consecutive equal outcomes
};

ProbeManager::ProbeManager(ProbeManagerOptions opts) : opts_(std::move(opts)) {
  timer_ = std::thread([this] { TimerLoop(); });
  for (size_t i = 0; i < std::max<size_t>(opts_.threads, 1); ++i) {
    pool_.emplace_back([this] { PoolLoop(); });
  }
}

ProbeManager::~ProbeManager() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    for (auto& [k, c] : containers_) {
      for (auto& w : c->workers) w->active = false;
    }
    containers_.clear();
    timers_.clear();
    ready_.clear();
  }
  timer_cv_.notify_all();
  pool_cv_.notify_all();
  timer_.join();
  for (std::thread& t : pool_) t.join();
}

void ProbeManager::AddContainer(ContainerProbes spec) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return;
  Key key{spec.pod_uid, spec.container_name};
  if (auto it = containers_.find(key); it != containers_.end()) {
    for (auto& w : it->second->workers) w->active = false;
    containers_.erase(it);
  }
  auto c = std::make_shared<Container>();
  c->start = spec.started_at.value_or(Clock::now());
  c->started = !spec.startup.has_value();
  c->spec = std::move(spec);
  const std::pair<ProbeKind, const std::optional<api::Probe>*> kinds[] = {
      {ProbeKind::kStartup, &c->spec.startup},
      {ProbeKind::kLiveness, &c->spec.liveness},
      {ProbeKind::kReadiness, &c->spec.readiness}};
  for (const auto& [kind, probe] : kinds) {
    if (!probe->has_value()) continue;
    const api::Probe& p = **probe;
    auto w = std::make_shared<Worker>();
    w->container = c;
    w->kind = kind;
    w->probe = p;
    w->period = opts_.second * std::max(p.period_seconds > 0 ? p.period_seconds : 10, 1);
    w->initial_delay = opts_.second * std::max(p.initial_delay_seconds, 0);
    w->timeout = opts_.second * (p.timeout_seconds > 0 ? p.timeout_seconds : 1);
    // successThreshold must be 1 for liveness and startup probes (API validation); use 1.
    w->success_threshold =
        kind == ProbeKind::kReadiness && p.success_threshold > 0 ? p.success_threshold : 1;
    w->failure_threshold = p.failure_threshold > 0 ? p.failure_threshold : 3;
    c->workers.push_back(w);
    Schedule(w, std::max(Clock::now(), c->start + w->initial_delay));
  }
  containers_[key] = c;
}

void ProbeManager::RemoveContainer(const std::string& pod_uid, const std::string& container_name,
                                   const std::string& container_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = containers_.find({pod_uid, container_name});
  if (it == containers_.end()) return;
  if (!container_id.empty() && it->second->spec.container_id != container_id) return;
  for (auto& w : it->second->workers) w->active = false;
  containers_.erase(it);
  std::erase_if(timers_, [](const auto& e) { return !e.second->active; });
}

void ProbeManager::RemovePod(const std::string& pod_uid) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = containers_.begin(); it != containers_.end();) {
    if (it->first.first != pod_uid) {
      ++it;
      continue;
    }
    for (auto& w : it->second->workers) w->active = false;
    it = containers_.erase(it);
  }
  std::erase_if(timers_, [](const auto& e) { return !e.second->active; });
}

bool ProbeManager::IsStarted(const std::string& pod_uid, const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = containers_.find({pod_uid, name});
  return it != containers_.end() && it->second->started;
}

bool ProbeManager::IsReady(const std::string& pod_uid, const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = containers_.find({pod_uid, name});
  if (it == containers_.end() || !it->second->started) return false;
  return it->second->spec.readiness.has_value() ? it->second->ready.value_or(false) : true;
}

bool ProbeManager::IsLive(const std::string& pod_uid, const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = containers_.find({pod_uid, name});
  return it != containers_.end() && it->second->live.value_or(false);
}

void ProbeManager::Schedule(const std::shared_ptr<Worker>& w, Clock::time_point at) {
  w->due = at;
  timers_.emplace(at, w);
  timer_cv_.notify_one();
}

void ProbeManager::TimerLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      timer_cv_.wait(l);
      continue;
    }
    auto first = timers_.begin()->first;
    if (Clock::now() < first) {
      timer_cv_.wait_until(l, first);
      continue;
    }
    const Clock::time_point now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      auto [at, w] = *timers_.begin();
      timers_.erase(timers_.begin());
      // Stale entries (rescheduled, removed, or already in flight) are dropped.
      if (!w->active || w->due != at || w->running) continue;
      w->running = true;
      ready_.push_back(w);
      pool_cv_.notify_one();
    }
  }
}

void ProbeManager::PoolLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    pool_cv_.wait(l, [&] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Worker> w = std::move(ready_.front());
    ready_.pop_front();
    l.unlock();
    RunWorker(w);
    l.lock();
  }
}

void ProbeManager::RunWorker(const std::shared_ptr<Worker>& w) {
  api::Probe probe;
  ProbeTarget target;
  {
    std::lock_guard<std::mutex> l(mu_);
    std::shared_ptr<Container> c = w->container.lock();
    if (!w->active || c == nullptr || w->on_hold) {
      w->running = false;
      return;
    }
    if (w->kind == ProbeKind::kStartup && c->started) {  // done: the startup probe stops
      w->running = false;
      return;
    }
    if (w->kind != ProbeKind::kStartup && !c->started) {  // gated by the startup probe
      w->running = false;
      Schedule(w, Clock::now() + w->period);
      return;
    }
    probe = w->probe;
    target = c->spec.target;
  }
  ProbeOutcome out =
      opts_.runner ? opts_.runner(probe, target, w->timeout) : RunProbe(probe, target, w->timeout);
  {
    std::lock_guard<std::mutex> l(mu_);
    w->running = false;
    std::shared_ptr<Container> c = w->container.lock();
    if (!w->active || c == nullptr || stopping_) return;
    if (w->last_outcome == out.success) {
      ++w->run;
    } else {
      w->last_outcome = out.success;
      w->run = 1;
    }
    const int threshold = out.success ? w->success_threshold : w->failure_threshold;
    if (w->run >= threshold) {
      ProbeResultUpdate update;
      if (Deliver(c, w->kind, out.success, out.message, &update)) {
        pending_.push_back(std::move(update));
      }
      if (!out.success && w->kind != ProbeKind::kReadiness) {
        // The container is going to be restarted: hold until it is replaced (kubelet's onHold).
        w->on_hold = true;
        w->run = 0;
      }
    }
    if (!w->on_hold && !(w->kind == ProbeKind::kStartup && c->started)) {
      Schedule(w, Clock::now() + w->period);
    }
  }
  DrainResults();
}

void ProbeManager::DrainResults() {
  std::unique_lock<std::mutex> l(mu_);
  if (delivering_) return;  // that thread will deliver ours too
  delivering_ = true;
  while (!pending_.empty() && !stopping_) {
    ProbeResultUpdate u = std::move(pending_.front());
    pending_.pop_front();
    l.unlock();
    if (opts_.on_result) opts_.on_result(u);
    l.lock();
  }
  delivering_ = false;
}

bool ProbeManager::Deliver(const std::shared_ptr<Container>& c, ProbeKind kind, bool success,
                           std::string message, ProbeResultUpdate* out) {
  std::optional<bool>* value = kind == ProbeKind::kStartup    ? &c->startup_result
                               : kind == ProbeKind::kLiveness ? &c->live
                                                              : &c->ready;
  if (*value == success) return false;
  *value = success;
  if (kind == ProbeKind::kStartup) c->started = success;
  if (kind == ProbeKind::kStartup && success) {
    // Liveness and readiness were waiting for this: probe them now rather than a period later.
    for (auto& w : c->workers) {
      if (w->kind != ProbeKind::kStartup && !w->running) {
        Schedule(w, std::max(Clock::now(), c->start + w->initial_delay));
      }
    }
  }
  *out = {c->spec.pod_uid, c->spec.container_name, c->spec.container_id, kind,
          success,         std::move(message)};
  return true;
}

}  // namespace knet::agent::prober
