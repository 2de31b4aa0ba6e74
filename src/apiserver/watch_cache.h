// File: apiserver/watch_cache.h
//
// The watch cache: the API server's in-memory copy of every stored object, kept current by one
// store watch, and the fan-out point for all client watches. Each store event is decoded and
// serialized once; the same bytes go to every JSON watcher whose filter matches, so 1,000
// watchers cost little more than one. Lists without pagination are served from here too.
//
//   WatchCache cache(store);
//   RETURN_IF_ERROR(cache.Start());
//   auto snap = cache.List(filter);                      // objects + the revision they are at
//   auto id = cache.AddWatcher(std::move(request));      // replay from a revision, then live
//
// Thread-safe. Sinks are called with the cache's lock held and must not block or call back
// into the cache (http::Stream::Write only queues bytes).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/object.h"
#include "api/selector.h"
#include "apiserver/errors.h"
#include "apiserver/field_selector.h"
#include "apiserver/resources.h"
#include "store/store.h"

namespace knet::apiserver {

// One object as stored, decoded and serialized once. Immutable once published.
struct CachedObject {
  const ResourceInfo* resource = nullptr;
  std::string key;
  api::Object object;  // metadata.resourceVersion set
  std::string json;    // api::EncodeObject(object)
  int64_t revision = 0;
};
using CachedPtr = std::shared_ptr<const CachedObject>;

// The store key of an object: "<resource>/<namespace>/<name>" or "<resource>/<name>".
std::string StoreKey(const ResourceInfo& r, std::string_view ns, std::string_view name);
// The prefix of a collection: "pods/" (all namespaces) or "pods/default/".
std::string StorePrefix(const ResourceInfo& r, std::string_view ns);
// Decodes a stored value and stamps it with its resourceVersion.
base::StatusOr<CachedPtr> DecodeStored(const ResourceInfo* r, const store::KeyValue& kv);

struct WatchFilter {
  const ResourceInfo* resource = nullptr;
  std::string namespace_;  // "" = all namespaces (or a cluster-scoped resource)
  api::Selector labels;
  FieldSelector fields;
  bool Matches(const CachedObject& obj) const;
};

// The bytes a watcher sends for an event ("ADDED", "MODIFIED", "DELETED"). Null encoder: the
// shared JSON line {"type":...,"object":...}\n.
using EventEncoder =
    std::function<std::shared_ptr<const std::string>(std::string_view type, const CachedObject&)>;

struct WatchRequest {
  WatchFilter filter;
  // Events after this revision. 0: first the current state as ADDED events, then changes.
  int64_t from_revision = 0;
  bool bookmarks = false;  // allowWatchBookmarks
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  EventEncoder encoder;
  // Writes one chunk; returns false once the client is gone. Must not block.
  std::function<bool(std::shared_ptr<const std::string>)> write;
  // Ends the response (timeout reached, server stopping).
  std::function<void()> close;
};

struct Snapshot {
  std::vector<CachedPtr> items;  // sorted by key
  int64_t revision = 0;
};

// One page of a list, read from the cache at one revision.
struct Page {
  std::vector<CachedPtr> items;  // sorted by key
  int64_t revision = 0;
  std::string last_key;   // the key of the last item, when `more`
  bool more = false;      // matching items follow this page
  int64_t remaining = 0;  // keys of the collection after this page (selectors ignored)
};

class WatchCache {
 public:
  struct Options {
    size_t event_window = 100000;  // events kept for watches that resume from a revision
    std::chrono::seconds bookmark_interval{30};
  };
  WatchCache(store::Store* store, Options options);
  explicit WatchCache(store::Store* store) : WatchCache(store, Options()) {}
  ~WatchCache();  // Stop()

  // Loads every object and starts following the store. Errors: the store's.
  base::Status Start();
  void Stop();

  // The revision the cache has reached.
  int64_t Revision() const;
  // Counts the events that can give the garbage collector work (deletions, deletionTimestamps,
  // ownerReference changes), so it can sleep through everything else.
  uint64_t DeletionGeneration() const;
  // Waits until the cache has applied revision `rev` (a consistent read after a write).
  // DeadlineExceeded after `timeout`.
  base::Status WaitForRevision(int64_t rev, std::chrono::milliseconds timeout);

  Snapshot List(const WatchFilter& filter) const;
  // Up to `limit` (0: all) matching items with keys after `after_key` ("": from the start),
  // provided the cache is still at `at_revision` (0: any); nullopt when it has moved on, so that
  // the caller reads that revision from the store instead (also for a key outside the
  // collection).
  std::optional<Page> ListPage(const WatchFilter& filter, std::string_view after_key, int64_t limit,
                               int64_t at_revision) const;
  CachedPtr Get(const std::string& key) const;  // nullptr if absent

  // Watches may start from this revision or later; older ones get 410 Gone.
  int64_t OldestWatchableRevision() const;
  // Registers a watcher. 410 Gone when from_revision is older than the cache's window.
  Result<uint64_t> AddWatcher(WatchRequest request);
  // Safe from any thread and from inside a sink's callbacks; the watcher is dropped soon after.
  void RemoveWatcher(uint64_t id);
  size_t WatcherCount() const;

 private:
  struct Watcher {
    uint64_t id = 0;
    WatchRequest request;
    int64_t sent_revision = 0;
    std::chrono::steady_clock::time_point last_bookmark;
  };
  struct Event {
    std::string type;  // ADDED, MODIFIED, DELETED
    CachedPtr object;
    CachedPtr prev;
    int64_t revision = 0;
    std::shared_ptr<const std::string> line;
  };

  void Run();
  base::Status Relist();              // REQUIRES: mu_ held
  void Apply(const store::Event& e);  // REQUIRES: mu_ held
  void Dispatch(const Event& e);      // REQUIRES: mu_ held
  bool Deliver(Watcher& w, const Event& e);
  static bool IsDeletionRelevant(const Event& e);  // REQUIRES: mu_ held; false: client gone
  bool Send(Watcher& w, std::string_view type, const CachedObject& obj,
            const std::shared_ptr<const std::string>& line);  // REQUIRES: mu_ held
  void Housekeep();                                           // REQUIRES: mu_ held
  void CloseAll();                                            // REQUIRES: mu_ held

  store::Store* store_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, CachedPtr> objects_;  // GUARDED_BY(mu_)
  std::deque<Event> events_;                  // GUARDED_BY(mu_)
  int64_t revision_ = 0;                      // GUARDED_BY(mu_)
  uint64_t deletion_generation_ = 0;          // GUARDED_BY(mu_)
  int64_t oldest_available_ = 0;              // all events after this revision are in events_
  std::map<uint64_t, std::unique_ptr<Watcher>> watchers_;  // GUARDED_BY(mu_)
  std::mutex cancel_mu_;             // only guards cancelled_ (see RemoveWatcher)
  std::vector<uint64_t> cancelled_;  // GUARDED_BY(cancel_mu_)
  uint64_t next_id_ = 1;
  std::unique_ptr<store::Watcher> store_watch_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
};

}  // namespace knet::apiserver
