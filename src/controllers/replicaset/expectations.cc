#include "controllers/replicaset/expectations.h"

namespace knet::controllers {

bool ControllerExpectations::Satisfied(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return true;
  const Record& r = it->second;
  if (r.adds <= 0 && r.deletes.empty()) return true;
  return Clock::now() - r.at > timeout_;
}

void ControllerExpectations::ExpectCreations(const std::string& key, int adds) {
  std::lock_guard<std::mutex> l(mu_);
  records_[key] = Record{.adds = adds, .deletes = {}, .at = Clock::now()};
}

void ControllerExpectations::ExpectDeletions(const std::string& key,
                                             const std::vector<std::string>& pod_keys) {
  std::lock_guard<std::mutex> l(mu_);
  records_[key] = Record{.adds = 0,
                         .deletes = std::set<std::string>(pod_keys.begin(), pod_keys.end()),
                         .at = Clock::now()};
}

void ControllerExpectations::CreationObserved(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = records_.find(key);
  if (it != records_.end() && it->second.adds > 0) --it->second.adds;
}

void ControllerExpectations::DeletionObserved(const std::string& key, const std::string& pod_key) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = records_.find(key);
  if (it != records_.end()) it->second.deletes.erase(pod_key);
}

void ControllerExpectations::Delete(const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  records_.erase(key);
}

}  // namespace knet::controllers
