#include "kernel/conntrack/fake_conntrack.h"

#include <algorithm>

namespace knet::kernel::conntrack {

void FakeConntrack::Add(const Entry& e) {
  std::lock_guard<std::mutex> l(mu_);
  entries_.push_back(e);
}

base::StatusOr<size_t> FakeConntrack::Delete(const Filter& filter) {
  RETURN_IF_ERROR(filter.Validate());
  std::lock_guard<std::mutex> l(mu_);
  filters_.push_back(filter);
  if (!error_.ok()) return error_;
  size_t before = entries_.size();
  std::erase_if(entries_, [&](const Entry& e) { return filter.Matches(e); });
  return before - entries_.size();
}

void FakeConntrack::SetError(base::Status s) {
  std::lock_guard<std::mutex> l(mu_);
  error_ = std::move(s);
}

std::vector<Entry> FakeConntrack::entries() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_;
}

std::vector<Filter> FakeConntrack::filters() const {
  std::lock_guard<std::mutex> l(mu_);
  return filters_;
}

void FakeConntrack::ClearFilters() {
  std::lock_guard<std::mutex> l(mu_);
  filters_.clear();
}

}  // namespace knet::kernel::conntrack
