#include "client/workqueue.h"

#include <algorithm>

namespace knet::client {

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_ || dirty_.count(key)) return;
  dirty_.insert(key);
  delayed_.erase(key);                 // due now: the delayed copy is redundant
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
  if (!inserted && when < it->second) it->second = when;
  // A waiting worker may need to wake earlier than it planned.
  cv_.notify_all();
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
  std::optional<Clock::time_point> next;
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    if (it->second <= now) {
      std::string key = it->first;
      it = delayed_.erase(it);
      if (!dirty_.count(key)) {
        dirty_.insert(key);
        if (!processing_.count(key)) queue_.push_back(key);
      }
    } else {
      if (!next || it->second < *next) next = it->second;
      ++it;
    }
  }
  return next;
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
