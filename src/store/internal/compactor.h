// File: store/internal/compactor.h
//
// PeriodicCompactor: compacts a Store on a schedule, the way kube-apiserver's compactor does. At
// every tick it compacts to the revision that was current at the previous tick, so at least one
// interval of history is always kept. Runs on its own thread; the destructor stops it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/store.h"

namespace knet::store::internal {

class PeriodicCompactor {
 public:
  // REQUIRES: store outlives this object.
  PeriodicCompactor(Store* store, std::chrono::seconds interval);
  ~PeriodicCompactor();

 private:
  void Run();

  Store* const store_;
  const std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace knet::store::internal
