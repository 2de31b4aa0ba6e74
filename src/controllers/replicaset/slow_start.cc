#include "controllers/replicaset/slow_start.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace knet::controllers {
namespace {
// Requests in flight at once within a batch; the API server is the bottleneck beyond this.
constexpr int kMaxParallel = 16;
}  // namespace

SlowStartResult SlowStartBatch(int count, int initial_batch_size,
                               const std::function<base::Status()>& fn) {
  SlowStartResult out;
  int remaining = count;
  for (int batch = std::min(remaining, std::max(initial_batch_size, 1)); batch > 0;
       batch = std::min(2 * batch, remaining)) {
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    std::mutex mu;
    base::Status first_error;
    auto work = [&] {
      while (next.fetch_add(1) < batch) {
        base::Status s = fn();
        if (s.ok()) continue;
        failures.fetch_add(1);
        std::lock_guard<std::mutex> l(mu);
        if (first_error.ok()) first_error = s;
      }
    };
    int threads = std::min(batch, kMaxParallel);
    if (threads == 1) {
      work();
    } else {
      std::vector<std::thread> pool;
      pool.reserve(static_cast<size_t>(threads));
      for (int i = 0; i < threads; ++i) pool.emplace_back(work);
      for (std::thread& t : pool) t.join();
    }
    out.successes += batch - failures.load();
    if (failures.load() > 0) {
      out.error = first_error;
      return out;
    }
    remaining -= batch;
  }
  return out;
}

}  // namespace knet::controllers
