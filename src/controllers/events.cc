#include "controllers/events.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "api/values.h"

namespace knet::controllers {

void EventRecorder::Record(const api::ObjectReference& obj, const std::string& type,
                           const std::string& reason, const std::string& message) {
  const auto now = std::chrono::steady_clock::now();
  const std::string id = obj.uid.empty() ? obj.namespace_ + "/" + obj.name : obj.uid;
  const auto key = std::make_tuple(id, type, reason, message);
  const api::Time ts = api::Time::Now();
  std::unique_lock<std::mutex> l(mu_);
  // Forget entries not repeated for ten minutes so the map stays bounded; the queue is in time
  // order, so this looks only at what expires (a stale queue entry, whose key was repeated
  // later, is just dropped).
  while (!expiry_.empty() && now - expiry_.front().first > std::chrono::minutes(10)) {
    auto it = seen_.find(expiry_.front().second);
    if (it != seen_.end() && it->second.last == expiry_.front().first) seen_.erase(it);
    expiry_.pop_front();
  }
  if (auto it = seen_.find(key); it != seen_.end()) {
    Seen& s = it->second;
    s.last = now;
    expiry_.emplace_back(now, key);
    ++s.count;
    std::string ns = s.ns, name = s.name;
    int32_t count = s.count;
    l.unlock();
    nlohmann::json patch = {{"count", count}, {"lastTimestamp", ts.ToRfc3339()}};
    base::StatusOr<api::Event> r =
        client_->Patch<api::Event>(ns, name, client::PatchType::kMerge, patch.dump());
    if (r.ok()) return;
    if (!client::IsNotFound(r.status())) {
      std::cerr << component_ << ": recording event " << reason << " for " << obj.kind << " "
                << obj.namespace_ << "/" << obj.name << ": " << r.status().message() << "\n";
      return;
    }
    l.lock();  // the Event was deleted meanwhile: write a new one
    seen_.erase(key);
  }
  api::Event ev;
  ev.metadata.namespace_ = obj.namespace_.empty() ? "default" : obj.namespace_;
  // client-go's naming: "<object>.<unix nanos in hex>".
  char suffix[32];
  snprintf(suffix, sizeof(suffix), ".%llx", static_cast<unsigned long long>(ts.unix_nanos()));
  ev.metadata.name = obj.name + suffix;
  ev.involved_object = obj;
  ev.type = type;
  ev.reason = reason;
  ev.message = message;
  ev.source.component = component_;
  ev.first_timestamp = ts;
  ev.last_timestamp = ts;
  ev.count = 1;
  ev.reporting_component = component_;
  l.unlock();
  base::StatusOr<api::Event> created = client_->Create(ev);
  if (!created.ok()) {
    std::cerr << component_ << ": recording event " << reason << " for " << obj.kind << " "
              << obj.name << ": " << created.status().message() << "\n";
    return;
  }
  l.lock();
  seen_[key] = Seen{created->metadata.namespace_, created->metadata.name, 1, now};
  expiry_.emplace_back(now, key);
}

}  // namespace knet::controllers
