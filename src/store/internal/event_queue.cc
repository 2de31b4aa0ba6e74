#include "store/internal/event_queue.h"

#include <string>

namespace knet::store::internal {

bool EventQueue::Push(Event event) {
  {
    std::lock_guard lock(mu_);
    if (end_) return false;
    if (events_.size() >= capacity_) {
      end_ = base::ResourceExhaustedError(
          "watcher fell behind: " + std::to_string(capacity_) +
          " events queued and not consumed, so it was dropped; after the queued events, re-watch "
          "from revision " +
          std::to_string(event.revision));
      cv_.notify_all();
      return false;
    }
    events_.push_back(std::move(event));
  }
  cv_.notify_one();
  return true;
}

void EventQueue::Close(Status status) {
  std::lock_guard lock(mu_);
  if (!end_) end_ = std::move(status);
  cv_.notify_all();
}

void EventQueue::Cancel() {
  std::lock_guard lock(mu_);
  events_.clear();
  end_ = base::Status(base::StatusCode::kCancelled, "watch cancelled");
  cv_.notify_all();
}

bool EventQueue::closed() const {
  std::lock_guard lock(mu_);
  return end_.has_value();
}

std::optional<Status> EventQueue::end_status() const {
  std::lock_guard lock(mu_);
  return end_;
}

StatusOr<Event> EventQueue::Pop(std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock lock(mu_);
  auto ready = [&] { return !events_.empty() || end_.has_value(); };
  if (deadline) {
    if (!cv_.wait_until(lock, *deadline, ready)) {
      return base::DeadlineExceededError("no watch event before the deadline");
    }
  } else if (!ready()) {
    return base::DeadlineExceededError("no watch event ready");
  }
  if (!events_.empty()) {
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
  }
  return *end_;
}

}  // namespace knet::store::internal
