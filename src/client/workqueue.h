// File: client/workqueue.h
//
// WorkQueue: the rate-limited work queue every controller drains (client-go's
// RateLimitingInterface). Items are keys ("namespace/name" or "name"). An item added while it is
// queued is queued once; an item added while a worker processes it is queued again only after the
// worker calls Done, so no two workers ever hold the same key. AddRateLimited re-adds an item
// after a per-item exponential backoff (base_delay * 2^failures, capped at max_delay); Forget
// resets the count once the item succeeds.
//
//   client::WorkQueue q;
//   q.Add("default/web");
//   while (std::optional<std::string> key = q.Get()) {   // blocks; nullopt after ShutDown
//     if (Sync(*key).ok()) q.Forget(*key); else q.AddRateLimited(*key);
//     q.Done(*key);
//   }
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace knet::client {

struct WorkQueueOptions {
  std::chrono::milliseconds base_delay{5};
  std::chrono::milliseconds max_delay{std::chrono::seconds(1000)};
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WorkQueue(WorkQueueOptions opts = {}) : opts_(opts) {}
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `key` now (no-op while it is already queued, or after ShutDown).
  void Add(const std::string& key);
  // Queues `key` once `delay` has passed. An earlier pending time for the same key wins.
  void AddAfter(const std::string& key, std::chrono::milliseconds delay);
  // AddAfter with the key's backoff, and counts a failure.
  void AddRateLimited(const std::string& key);
  // Clears the key's failure count.
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key) const;

  // The next key, blocking until one is due; nullopt once shut down (queued keys are dropped).
  std::optional<std::string> Get();
  // Marks `key` processed; if it was added meanwhile it is queued again.
  void Done(const std::string& key);

  void ShutDown();
  bool ShuttingDown() const;
  // Keys queued now (not counting delayed ones or those in processing).
  size_t Len() const;
  // The backoff the next AddRateLimited of `key` would use.
  std::chrono::milliseconds Backoff(const std::string& key) const;

 private:
  void AddLocked(const std::string& key);
  void EraseDelayedLocked(const std::string& key);
  // Moves due delayed keys into the queue; returns the earliest time still pending.
  std::optional<Clock::time_point> PromoteDueLocked(Clock::time_point now);
  std::chrono::milliseconds BackoffLocked(const std::string& key) const;

  const WorkQueueOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;       // queued, or added while processing
  std::set<std::string> processing_;  // handed out by Get, not yet Done
  // Delayed keys, by key and by due time (so Get pops what is due without scanning the rest:
  // thousands of delayed keys are normal, e.g. one periodic re-check per node).
  std::map<std::string, Clock::time_point> delayed_;
  std::set<std::pair<Clock::time_point, std::string>> delayed_by_time_;
  std::map<std::string, int> failures_;
  bool shutting_down_ = false;
};

}  // namespace knet::client
