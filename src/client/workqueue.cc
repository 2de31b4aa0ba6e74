#include "client/workqueue.h"

#include <algorithm>

namespace knet::client {

void WorkQueue::EraseDelayedLocked(const std::string& key) {
  auto it = delayed_.find(key);
  if (it == delayed_.end()) return;
  delayed_by_time_.erase({it->second, key});
  delayed_.erase(it);
}

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  EraseDelayedLocked(key);             // due now: the delayed copy is redundant
  if (processing_.count(key)) return;  // Done() re-queues it
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> l(mu_);
  if (shutting_down_) return;
  if (delay.count() <= 0) {
    AddLocked(key);
    return;
  }
  if (dirty_.count(key)) return;  // already due
  Clock::time_point when = Clock::now() + delay;
  auto [it, inserted] = delayed_.emplace(key, when);
  if (!inserted) {
    if (when >= it->second) return;  // the earlier time wins
    delayed_by_time_.erase({it->second, key});
    it->second = when;
  }
  delayed_by_time_.emplace(when, key);
  // A waiting worker may need to wake earlier than it planned.
  if (delayed_by_time_.begin()->second == key) cv_.notify_one();
}

std::chrono::milliseconds WorkQueue::BackoffLocked(const std::string& key) const {
  auto it = failures_.find(key);
  int n = it == failures_.end() ? 0 : it->second;
  // base * 2^n, without overflowing.
  int64_t ms = opts_.base_delay.count();
  for (int i = 0; i < n && ms < opts_.max_delay.count(); ++i) ms *= 2;
  return std::min(std::chrono::milliseconds(ms), opts_.max_delay);
}

std::chrono::milliseconds WorkQueue::Backoff(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  return BackoffLocked(key);
}

void WorkQueue::AddRateLimited(const std::string& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard<std::mutex> l(mu_);
    delay = BackoffLocked(key);
    ++failures_[key];
  }
  AddAfter(key, delay);
}

void WorkQueue::Forget(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  failures_.erase(key);
}

int WorkQueue::NumRequeues(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<WorkQueue::Clock::time_point> WorkQueue::PromoteDueLocked(Clock::time_point now) {
  while (!delayed_by_time_.empty() && delayed_by_time_.begin()->first <= now) {
    std::string key = delayed_by_time_.begin()->second;
    delayed_by_time_.erase(delayed_by_time_.begin());
    delayed_.erase(key);
    if (!dirty_.count(key)) {
      dirty_.insert(key);
      if (!processing_.count(key)) queue_.push_back(key);
    }
  }
  if (delayed_by_time_.empty()) return std::nullopt;
  return delayed_by_time_.begin()->first;
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    std::optional<Clock::time_point> next = PromoteDueLocked(Clock::now());
    if (!queue_.empty()) break;
    if (next) {
      cv_.wait_until(l, *next);
    } else {
      cv_.wait(l);
    }
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  processing_.erase(key);
  if (dirty_.count(key) && !shutting_down_) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    shutting_down_ = true;
    queue_.clear();
    dirty_.clear();
    delayed_.clear();
    delayed_by_time_.clear();
  }
  cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> l(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> l(mu_);
  return queue_.size();
}

}  // namespace knet::client
