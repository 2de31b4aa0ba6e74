// File: kernel/conntrack/fake_conntrack.h
//
// FakeConntrack: an in-memory conntrack table for tests. Add entries, let the code under test
// Delete by filter, then inspect entries() and filters() (every filter Delete was called with).
//
//   FakeConntrack ct;
//   ct.Add({.orig = {...}, .reply = {...}});
//
// Thread-safe (one mutex).
#pragma once

#include <mutex>
#include <vector>

#include "kernel/conntrack/conntrack.h"

namespace knet::kernel::conntrack {

class FakeConntrack final : public Conntrack {
 public:
  void Add(const Entry& e);
  base::StatusOr<size_t> Delete(const Filter& filter) override;
  // Makes every later Delete fail with `s` (OkStatus: succeed again).
  void SetError(base::Status s);

  std::vector<Entry> entries() const;
  std::vector<Filter> filters() const;
  void ClearFilters();

 private:
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  std::vector<Filter> filters_;
  base::Status error_;
};

}  // namespace knet::kernel::conntrack
