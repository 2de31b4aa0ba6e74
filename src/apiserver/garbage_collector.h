// File: apiserver/garbage_collector.h
//
// The API server's own control loop for deletion, as kube-controller-manager's garbage
// collector and namespace controller do it:
//   - background cascading: an object whose owners (by ownerReferences uid) are all gone is
//     deleted;
//   - foreground deletion: an owner with the foregroundDeletion finalizer waits until its
//     dependents are gone, then the finalizer is removed and the owner goes;
//   - orphan: the orphan finalizer removes the owner from its dependents' ownerReferences first;
//   - a terminating namespace is emptied, then removed;
//   - a terminating pod that no node will finish (unscheduled, or its Node is gone) is removed.
// It reads the watch cache and writes through the Registry, like any other client would.
//
// Thread-safe; one background thread between Start and Stop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "apiserver/registry.h"
#include "apiserver/watch_cache.h"

namespace knet::apiserver {

class GarbageCollector {
 public:
  GarbageCollector(Registry* registry, WatchCache* cache) : registry_(registry), cache_(cache) {}
  ~GarbageCollector() { Stop(); }

  void Start(std::chrono::milliseconds period = std::chrono::milliseconds(200));
  void Stop();
  // One pass over everything; returns how many writes it made (for tests).
  int RunOnce();

 private:
  Registry* registry_;
  WatchCache* cache_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
};

}  // namespace knet::apiserver
