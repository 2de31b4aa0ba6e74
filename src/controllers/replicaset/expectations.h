// File: controllers/replicaset/expectations.h
//
// ControllerExpectations (upstream UIDTrackingControllerExpectations): what a controller is still
// waiting to see in its informer after issuing creates and deletes. Until the informer has shown
// every create and delete (or the expectations are older than the timeout), the cache is stale
// and syncing from it would create duplicates or delete too many, so the controller skips
// managing replicas for that key. Deletions are tracked per pod key, so that a pod seen first as
// terminating and then as deleted lowers the count once.
//
//   exp.ExpectCreations(rs_key, 3);          // before issuing the creates
//   exp.CreationObserved(rs_key);            // from the pod informer's on_add
//   if (exp.Satisfied(rs_key)) ManageReplicas(...);
//
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace knet::controllers {

class ControllerExpectations {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ControllerExpectations(std::chrono::milliseconds timeout = std::chrono::minutes(5))
      : timeout_(timeout) {}

  // True when nothing is pending for `key`, nothing was ever recorded, or the record expired.
  bool Satisfied(const std::string& key) const;
  // Replaces the record for `key`: `adds` creations expected.
  void ExpectCreations(const std::string& key, int adds);
  // Replaces the record for `key`: the deletion of each of `pod_keys` expected.
  void ExpectDeletions(const std::string& key, const std::vector<std::string>& pod_keys);
  void CreationObserved(const std::string& key);
  // Lowers the deletions only if `pod_key` was expected (once).
  void DeletionObserved(const std::string& key, const std::string& pod_key);
  // Forgets `key` (its owner is gone).
  void Delete(const std::string& key);

 private:
  struct Record {
    int adds = 0;
    std::set<std::string> deletes;
    Clock::time_point at;
  };
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::map<std::string, Record> records_;
};

}  // namespace knet::controllers
