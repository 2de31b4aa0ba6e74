#include "controllers/endpointslice/internal/slice_tracker.h"

#include "controllers/endpointslice/endpoint_util.h"

namespace knet::controllers::endpointslice_internal {

void EndpointSliceTracker::Written(
    const std::string& service_key, const api::EndpointSlice& slice,
    const std::function<std::shared_ptr<const api::EndpointSlice>()>& cached) {
  const uint64_t rv = ParseResourceVersion(slice.metadata.resource_version);
  std::lock_guard<std::mutex> l(mu_);
  // The informer updates its cache before it runs handlers (ShouldSync, which takes mu_), so
  // either the echo is in `cached` now or its handler will find this entry.
  std::shared_ptr<const api::EndpointSlice> now = cached ? cached() : nullptr;
  if (now != nullptr && ParseResourceVersion(now->metadata.resource_version) >= rv) {
    auto svc = entries_.find(service_key);
    if (svc != entries_.end()) EraseLocked(svc, slice.metadata.name);
    return;
  }
  entries_[service_key][slice.metadata.name] =
      Entry{rv, std::make_shared<const api::EndpointSlice>(slice)};
}

void EndpointSliceTracker::Deleted(const std::string& service_key, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  entries_[service_key][name] = Entry{};
}

void EndpointSliceTracker::DeleteService(const std::string& service_key) {
  std::lock_guard<std::mutex> l(mu_);
  entries_.erase(service_key);
}

void EndpointSliceTracker::EraseLocked(
    std::map<std::string, std::map<std::string, Entry>>::iterator svc, const std::string& name) {
  svc->second.erase(name);
  if (svc->second.empty()) entries_.erase(svc);
}

std::vector<std::shared_ptr<const api::EndpointSlice>> EndpointSliceTracker::Overlay(
    const std::string& service_key,
    const std::vector<std::shared_ptr<const api::EndpointSlice>>& cached) {
  std::lock_guard<std::mutex> l(mu_);
  auto svc = entries_.find(service_key);
  if (svc == entries_.end()) return cached;
  std::vector<std::shared_ptr<const api::EndpointSlice>> out;
  out.reserve(cached.size() + svc->second.size());
  std::map<std::string, Entry> pending = svc->second;
  for (const auto& s : cached) {
    auto it = pending.find(s->metadata.name);
    if (it == pending.end()) {
      out.push_back(s);
      continue;
    }
    const Entry& e = it->second;
    if (e.written == nullptr) {
      // Deleted by us; the cache has not seen it go yet.
    } else if (ParseResourceVersion(s->metadata.resource_version) >= e.resource_version) {
      out.push_back(s);  // caught up (or changed since by someone else)
      svc->second.erase(s->metadata.name);
    } else {
      out.push_back(e.written);
    }
    pending.erase(it);
  }
  // What the cache does not hold: created by us and not seen yet, or deleted and gone. A slice
  // deleted by someone else is forgotten by its delete event (ShouldSyncDeletion).
  for (const auto& [name, e] : pending) {
    if (e.written != nullptr) {
      out.push_back(e.written);
    } else {
      svc->second.erase(name);
    }
  }
  if (svc->second.empty()) entries_.erase(svc);
  return out;
}

bool EndpointSliceTracker::ShouldSync(const std::string& service_key,
                                      const api::EndpointSlice& slice) {
  std::lock_guard<std::mutex> l(mu_);
  auto svc = entries_.find(service_key);
  if (svc == entries_.end()) return true;
  auto it = svc->second.find(slice.metadata.name);
  if (it == svc->second.end() || it->second.written == nullptr) return true;
  const uint64_t rv = ParseResourceVersion(slice.metadata.resource_version);
  const uint64_t written = it->second.resource_version;
  if (rv < written) return false;         // an older version on its way
  EraseLocked(svc, slice.metadata.name);  // the cache has caught up
  return rv > written;
}

bool EndpointSliceTracker::ShouldSyncDeletion(const std::string& service_key,
                                              const api::EndpointSlice& slice) {
  std::lock_guard<std::mutex> l(mu_);
  auto svc = entries_.find(service_key);
  if (svc == entries_.end()) return true;
  auto it = svc->second.find(slice.metadata.name);
  if (it == svc->second.end()) return true;
  bool expected = it->second.written == nullptr;
  EraseLocked(svc, slice.metadata.name);
  return !expected;
}

size_t EndpointSliceTracker::PendingForTesting() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [k, m] : entries_) n += m.size();
  return n;
}

}  // namespace knet::controllers::endpointslice_internal
