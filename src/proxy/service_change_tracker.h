// File: proxy/service_change_tracker.h
//
// ServiceChangeTracker: collects Service add/update/delete events (from an informer) until the
// proxy syncs, then applies them to a ServicePortMap and says which ServicePortNames changed, so a
// backend programs only those (kube-proxy's pkg/proxy/servicechangetracker.go). Headless Services
// (clusterIP None) and ExternalName Services yield no entries; TCP, UDP and SCTP ports do. Defaults
// follow the API: sessionAffinity ClientIP without a timeout is 10800 s.
//
//   ServiceChangeTracker tracker;
//   services.AddHandlers({.on_add = [&](const api::Service& s) { tracker.Update(nullptr, &s); },
//                         .on_update = [&](const api::Service& o, const api::Service& n) {
//                           tracker.Update(&o, &n); },
//                         .on_delete = [&](const api::Service& s) { tracker.Update(&s, nullptr);
//                         }});
//   ...
//   std::set<ServicePortName> changed = tracker.Apply(service_map);
//
// Thread-safe: Update and Apply may run on different threads.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "api/service.h"
#include "proxy/types.h"

namespace knet::proxy {

// The ports of one Service as the proxy sees them (empty for headless / ExternalName).
ServicePortMap ServicePortsOf(const api::Service& svc);

class ServiceChangeTracker {
 public:
  // Records an add (previous null), update, or delete (current null).
  void Update(const api::Service* previous, const api::Service* current);
  // Applies the pending changes to `map` and clears them; returns the ServicePortNames that were
  // added, removed or changed.
  std::set<ServicePortName> Apply(ServicePortMap& map);
  bool HasPending() const;

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, name
  mutable std::mutex mu_;
  std::map<Key, std::optional<api::Service>> pending_;  // latest state; nullopt: deleted
};

}  // namespace knet::proxy
