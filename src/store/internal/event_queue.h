// File: store/internal/event_queue.h
//
// EventQueue: one watcher's bounded queue of events, filled by a producer (the sqlite/memory
// fan-out, or an etcd watch stream's reader thread) and drained by Watcher::Next. A producer never
// blocks: when the queue is full the watcher is dropped (kResourceExhausted), so one slow watcher
// cannot stall writers or other watchers. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

#include "store/store.h"

namespace knet::store::internal {

class EventQueue {
 public:
  explicit EventQueue(size_t capacity) : capacity_(capacity) {}

  // Appends an event. Returns false when the stream has ended (already closed, or full now: the
  // queue then ends with kResourceExhausted after the queued events are consumed).
  bool Push(Event event);
  // Ends the stream with `status` once the events queued so far are consumed. First end wins.
  void Close(Status status);
  // Ends the stream now with kCancelled, dropping queued events.
  void Cancel();
  bool closed() const;
  // How the stream ended (once closed), regardless of events still queued.
  std::optional<Status> end_status() const;

  // The next event, kDeadlineExceeded at the deadline (nullopt: do not wait), or the end status.
  StatusOr<Event> Pop(std::optional<std::chrono::steady_clock::time_point> deadline);

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> events_;   // GUARDED_BY(mu_)
  std::optional<Status> end_;  // GUARDED_BY(mu_)
};

}  // namespace knet::store::internal
