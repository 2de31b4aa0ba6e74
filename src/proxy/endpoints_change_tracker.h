// File: proxy/endpoints_change_tracker.h
//
// EndpointsChangeTracker: caches the EndpointSlices of every Service (found through the
// kubernetes.io/service-name label), and on Apply merges the slices of each Service that changed
// into the EndpointsMap, returning the ServicePortNames whose endpoints changed (kube-proxy's
// pkg/proxy/endpointschangetracker.go and endpointslicecache.go). IPv4 and IPv6 slices are both
// kept (a dual-stack Service has one of each); FQDN slices are ignored. Conditions follow the
// API: a missing ready means ready, a missing serving means "as ready", a missing terminating
// means false. An endpoint listed by two slices counts once. `node_name` marks local endpoints.
//
//   EndpointsChangeTracker tracker("node-1");
//   slices.AddHandlers({.on_add = [&](const api::EndpointSlice& s) {
//                         tracker.EndpointSliceUpdate(s, false); }, ...});
//   std::set<ServicePortName> changed = tracker.Apply(endpoints_map);
//
// Thread-safe: EndpointSliceUpdate and Apply may run on different threads.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "api/endpoint_slice.h"
#include "proxy/types.h"

namespace knet::proxy {

inline constexpr const char* kLabelServiceName = "kubernetes.io/service-name";

class EndpointsChangeTracker {
 public:
  explicit EndpointsChangeTracker(std::string node_name) : node_name_(std::move(node_name)) {}

  // Records an added/updated slice, or (removed) a deleted one.
  void EndpointSliceUpdate(const api::EndpointSlice& slice, bool removed);
  // Merges the slices of every Service touched since the last Apply into `map`; returns the
  // ServicePortNames whose endpoint lists changed (appeared, vanished or differ).
  std::set<ServicePortName> Apply(EndpointsMap& map);
  bool HasPending() const;

 private:
  using Key = std::pair<std::string, std::string>;  // namespace, service name
  EndpointsMap Merge(const std::map<std::string, api::EndpointSlice>& slices) const;

  const std::string node_name_;
  mutable std::mutex mu_;
  std::map<Key, std::map<std::string, api::EndpointSlice>> slices_;  // by slice name
  std::set<Key> pending_;
};

}  // namespace knet::proxy
