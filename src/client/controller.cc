#include "client/controller.h"

#include <iostream>

namespace knet::client {

std::pair<std::string, std::string> SplitKey(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

Controller::Controller(ControllerOptions opts) : opts_(std::move(opts)), queue_(opts_.queue) {}

Controller::~Controller() { Stop(); }

void Controller::Start() {
  if (!workers_.empty()) return;
  int n = opts_.workers < 1 ? 1 : opts_.workers;
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
}

void Controller::Stop() {
  queue_.ShutDown();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void Controller::Work() {
  while (std::optional<std::string> key = queue_.Get()) {
    base::StatusOr<ReconcileResult> r = opts_.reconcile(*key);
    if (r.ok()) {
      queue_.Forget(*key);
      if (r->requeue_after) queue_.AddAfter(*key, *r->requeue_after);
    } else if (opts_.max_retries > 0 && queue_.NumRequeues(*key) >= opts_.max_retries) {
      std::cerr << opts_.name << " controller: dropping " << *key << " after " << opts_.max_retries
                << " retries: " << r.status().message() << "\n";
      queue_.Forget(*key);
    } else {
      queue_.AddRateLimited(*key);
    }
    queue_.Done(*key);
  }
}

}  // namespace knet::client
