// File: store/store.h
//
// The Store: knet's cluster state, a versioned key-value store with etcd v3 semantics. The API
// server is its only writer. Three backends sit behind this one interface, chosen by URL:
//
//   memory://                         in-process, for unit tests
//   sqlite:///var/lib/knet/state.db   one file, WAL, the default (nothing to start)
//   etcd://h1:2379,h2:2379?prefix=/registry/   a real etcd v3 cluster over gRPC
//
// Semantics (identical on every backend; store/testing/conformance.cc checks them):
//   - One global revision, strictly increasing; every successful write gets the next one.
//   - Create fails with AlreadyExists; Update/Delete compare the key's mod_revision first and a
//     mismatch is kAborted (a conflict, not a failure); a missing key is NotFound.
//   - List reads a key prefix at one revision, page by page: pass the continue_token back to get
//     the next page from the same revision, however many writes happened in between.
//   - Watch delivers every event on a prefix from a revision on, in revision order, exactly once.
//   - Compact(rev) discards history older than rev. Reading or watching from before the compacted
//     revision fails with a status for which IsCompacted() is true (the API server's 410 Gone).
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenStore("sqlite:///tmp/state.db"));
//   ASSIGN_OR_RETURN(int64_t rev, store->Create("pods/default/web", bytes));
//   ASSIGN_OR_RETURN(auto w, store->Watch("pods/", rev + 1));
//   ASSIGN_OR_RETURN(Event e, w->Next(std::chrono::steady_clock::now() + std::chrono::seconds(1)));
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace knet::store {

using base::Status;
using base::StatusOr;

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // revision of the write that created this incarnation of the key
  int64_t mod_revision = 0;     // revision of the last write to the key

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

enum class EventType { kAdded, kModified, kDeleted };

struct Event {
  EventType type = EventType::kAdded;
  // ADDED/MODIFIED: the new value. DELETED: only key is set; mod_revision is the delete's revision.
  KeyValue kv;
  // MODIFIED and DELETED: the value just before this event. ADDED: empty.
  std::optional<KeyValue> prev_kv;
  int64_t revision = 0;  // the write's revision (== kv.mod_revision)
};

struct ListOptions {
  int64_t limit = 0;           // at most this many items; 0 = all
  std::string continue_token;  // from a previous ListResult: the next page, at that revision
  int64_t revision = 0;        // read at this past revision; 0 = the current one
};

struct ListResult {
  std::vector<KeyValue> items;  // sorted by key
  int64_t revision = 0;         // the revision the list was read at
  std::string continue_token;   // empty when this is the last page
  int64_t remaining_count = 0;  // items after this page, at `revision`
};

struct DeleteResult {
  KeyValue deleted;      // the value as it was just before the delete
  int64_t revision = 0;  // the delete's own revision
};

// A stream of events from Store::Watch. Thread-safe: Cancel() may be called from any thread,
// including while another thread is blocked in Next().
//
// Errors from Next/TryNext end the stream (every later call returns the same error):
//   kDeadlineExceeded  nothing arrived before the deadline (not terminal: call again)
//   kCancelled         Cancel() was called or the store was closed
//   kResourceExhausted the watcher fell behind and was dropped; re-watch from the revision after
//                      the last event received (the message says which)
//   IsCompacted(s)     the history the watch needed was compacted away (410 Gone)
//   kUnavailable       the backend failed (etcd unreachable for longer than the retry budget)
class Watcher {
 public:
  virtual ~Watcher() = default;
  // Blocks until the next event, the deadline, or the end of the stream.
  virtual StatusOr<Event> Next(std::chrono::steady_clock::time_point deadline) = 0;
  // Never blocks: the next event if one is ready, kDeadlineExceeded if none is.
  virtual StatusOr<Event> TryNext() = 0;
  // Ends the stream; blocked and later Next() calls return kCancelled. Idempotent.
  virtual void Cancel() = 0;
};

// A Store is safe for concurrent use from many threads. Keys are arbitrary non-empty byte strings
// (knet uses "<resource>/<namespace>/<name>"); values are opaque bytes up to 1.5 MiB.
// REQUIRES: every Watcher is destroyed before the Store that made it.
class Store {
 public:
  virtual ~Store() = default;

  // Creates key. Returns the write's revision. AlreadyExists if the key exists.
  virtual StatusOr<int64_t> Create(std::string_view key, std::string_view value) = 0;

  // Replaces key's value if its mod_revision equals expected_mod_revision (0: any, but the key
  // must exist). Returns the write's revision. NotFound if absent; kAborted on a mismatch, with a
  // message naming the key and both revisions.
  virtual StatusOr<int64_t> Update(std::string_view key, std::string_view value,
                                   int64_t expected_mod_revision) = 0;

  // Deletes key if its mod_revision equals expected_mod_revision (0: any). NotFound, kAborted as
  // for Update.
  virtual StatusOr<DeleteResult> Delete(std::string_view key, int64_t expected_mod_revision) = 0;

  // The key's current value, or NotFound.
  virtual StatusOr<KeyValue> Get(std::string_view key) = 0;

  // Keys starting with prefix ("" = all), sorted. A continue_token must come from a List of the
  // same prefix (InvalidArgument otherwise). Reading at a compacted revision: IsCompacted().
  // A revision after the current one: InvalidArgument.
  virtual StatusOr<ListResult> List(std::string_view prefix, const ListOptions& options) = 0;

  // Events on keys starting with prefix, from from_revision on (0: only writes after this call).
  // IsCompacted() if from_revision is older than the compacted revision.
  virtual StatusOr<std::unique_ptr<Watcher>> Watch(std::string_view prefix,
                                                   int64_t from_revision) = 0;

  // The revision of the last write (0 for an empty store).
  virtual StatusOr<int64_t> CurrentRevision() = 0;

  // Discards history older than revision: afterwards List and Watch accept revisions >= it.
  // Compacting to an already compacted revision is OK; past the current one: InvalidArgument.
  virtual Status Compact(int64_t revision) = 0;
};

// Continue tokens, as every backend writes them: "<revision>:<hex of the last key>[:<remaining>]".
// Public so that a cache in front of the store (the API server's watch cache) can hand out
// tokens the store accepts for the next page.
struct ContinuePosition {
  int64_t revision = 0;
  std::string last_key;
  int64_t remaining = -1;  // items after the page at `revision`; -1: not recorded
};
// remaining < 0 is left out.
std::string EncodeContinueToken(int64_t revision, std::string_view last_key,
                                int64_t remaining = -1);
// InvalidArgument for a malformed token.
StatusOr<ContinuePosition> DecodeContinueToken(std::string_view token);

// True for the error a List or Watch returns when its revision was compacted away. Backends use
// StatusCode::kOutOfRange for this and only for this (as etcd's ErrCompacted does).
inline bool IsCompacted(const Status& s) { return s.code() == base::StatusCode::kOutOfRange; }

struct StoreOptions {
  // Compaction on a schedule: every interval, compact to the revision that was current one
  // interval earlier, so at least `interval` of history is always kept. 0 disables it.
  std::chrono::seconds compaction_interval{std::chrono::minutes(5)};
  // Events a watcher may have queued before it is dropped as too slow (kResourceExhausted).
  size_t watch_buffer_events = 10000;
  // etcd: how long to wait for a connection when opening, and per request.
  std::chrono::milliseconds etcd_dial_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds etcd_request_timeout{std::chrono::seconds(10)};
};

// Opens the store named by url: "memory://", "sqlite:///abs/path.db", or
// "etcd://host:port[,host:port...][?prefix=/registry/]". InvalidArgument for anything else; the
// backend's error (saying what and where) if it cannot be opened.
StatusOr<std::unique_ptr<Store>> OpenStore(std::string_view url, const StoreOptions& options = {});

}  // namespace knet::store
