// File: controllers/replicaset/slow_start.h
//
// SlowStartBatch (upstream slowStartBatch): calls `fn` `count` times in batches that double in
// size (initial, 2*initial, ...), each batch in parallel, stopping after the first batch with an
// error. A template that the API server rejects therefore costs one request instead of hundreds.
//
//   SlowStartResult r = SlowStartBatch(50, 1, [&] { return CreateOnePod(); });
//   // r.successes pods were created; r.error is the first failure, if any.
//
// Thread-safe as far as `fn` is.
#pragma once

#include <functional>

#include "base/status.h"

namespace knet::controllers {

struct SlowStartResult {
  int successes = 0;
  base::Status error;  // the first error of the failing batch
};

SlowStartResult SlowStartBatch(int count, int initial_batch_size,
                               const std::function<base::Status()>& fn);

}  // namespace knet::controllers
