// File: store/internal/watch_hub.h
//
// WatchHub: the in-process event fan-out of the memory and sqlite backends. The backend publishes
// each committed write once, in revision order; the hub copies it into the queue of every watcher
// whose prefix matches. A watch from a past revision first replays history read from the backend
// (in chunks, outside every lock), then continues with the live events queued meanwhile, so there
// is no gap and no duplicate: live events are those after the revision published when the watch
// subscribed, history is read only up to it. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/internal/event_queue.h"
#include "store/store.h"

namespace knet::store::internal {

class WatchHub {
 public:
  // Events on keys with `prefix`, revisions in [from, to], ascending, at most `limit` of them; or a
  // compacted error (IsCompacted) if history from `from` is gone.
  using HistoryFn = std::function<StatusOr<std::vector<Event>>(
      const std::string& prefix, int64_t from, int64_t to, size_t limit)>;

  WatchHub(size_t buffer_events, HistoryFn history);
  ~WatchHub();

  // Publishes the events of one commit. REQUIRES: calls are serialized by the caller and carry
  // revisions above every earlier call's, and the events are visible to HistoryFn already.
  void Publish(const std::vector<Event>& events);
  // Records that revisions up to `revision` are published (for a write that matched no watcher).
  int64_t published_revision() const;
  void SetPublishedRevision(int64_t revision);

  // A watcher on prefix from from_revision (0: after the last published revision).
  // The caller has checked from_revision against the compacted revision.
  std::unique_ptr<Watcher> Subscribe(std::string_view prefix, int64_t from_revision);

  // Ends every watcher with kCancelled ("store closed"); later Subscribes get closed watchers.
  void Close();

 private:
  struct Subscription;
  class HubWatcher;
  void Unsubscribe(Subscription* sub);

  const size_t buffer_events_;
  const HistoryFn history_;
  mutable std::mutex mu_;
  int64_t published_rev_ = 0;                                 // GUARDED_BY(mu_)
  bool closed_ = false;                                       // GUARDED_BY(mu_)
  std::vector<std::shared_ptr<Subscription>> subscriptions_;  // GUARDED_BY(mu_)
};

}  // namespace knet::store::internal
