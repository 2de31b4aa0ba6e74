#include "store/internal/compactor.h"

#include <cstdio>

namespace knet::store::internal {

PeriodicCompactor::PeriodicCompactor(Store* store, std::chrono::seconds interval)
    : store_(store), interval_(interval), thread_([this] { Run(); }) {}

PeriodicCompactor::~PeriodicCompactor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PeriodicCompactor::Run() {
  int64_t previous = 0;  // the revision current one interval ago
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    if (previous > 0) {
      Status s = store_->Compact(previous);
      if (!s.ok())
        std::fprintf(stderr, "store: compacting to %lld: %s\n", static_cast<long long>(previous),
                     s.ToString().c_str());
    }
    auto current = store_->CurrentRevision();
    if (current.ok()) previous = *current;
    lock.lock();
  }
}

}  // namespace knet::store::internal
