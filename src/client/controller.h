// File: client/controller.h
//
// Controller: the loop every knet controller runs. Informer handlers enqueue keys; N worker
// threads take them from a WorkQueue and call `reconcile`. A failed reconcile is retried with the
// queue's per-key exponential backoff (up to max_retries, then dropped with a log line, as
// client-go controllers do); a successful one resets the key's backoff. A reconcile may ask to be
// called again after a delay (for time-based conditions) by returning Requeue{after}.
//
//   client::Controller c({.name = "endpointslice", .workers = 4,
//                         .reconcile = [&](const std::string& key) { return Sync(key); }});
//   pods.AddHandlers({.on_add = [&](const api::Pod& p) { c.Enqueue(client::KeyOf(p)); }});
//   c.Start();
//   ...
//   c.Stop();   // drains nothing: queued keys are dropped, running reconciles finish
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "client/workqueue.h"

namespace knet::client {

// "namespace/name", or "name" for cluster-scoped objects.
template <class T>
std::string KeyOf(const T& obj) {
  if (obj.metadata.namespace_.empty()) return obj.metadata.name;
  return obj.metadata.namespace_ + "/" + obj.metadata.name;
}
// The (namespace, name) of a key made by KeyOf.
std::pair<std::string, std::string> SplitKey(std::string_view key);

struct ReconcileResult {
  // Set: call reconcile for this key again after this long (even on success).
  std::optional<std::chrono::milliseconds> requeue_after;
};

struct ControllerOptions {
  std::string name;  // for logs
  int workers = 1;
  // 0: retry forever.
  int max_retries = 15;
  WorkQueueOptions queue;
  std::function<base::StatusOr<ReconcileResult>(const std::string& key)> reconcile;
};

class Controller {
 public:
  explicit Controller(ControllerOptions opts);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void Enqueue(const std::string& key) { queue_.Add(key); }
  void EnqueueAfter(const std::string& key, std::chrono::milliseconds d) {
    queue_.AddAfter(key, d);
  }

  void Start();
  // Shuts the queue down and joins the workers. Idempotent.
  void Stop();

  WorkQueue& queue() { return queue_; }
  const std::string& name() const { return opts_.name; }

 private:
  void Work();

  ControllerOptions opts_;
  WorkQueue queue_;
  std::vector<std::thread> workers_;
};

}  // namespace knet::client
