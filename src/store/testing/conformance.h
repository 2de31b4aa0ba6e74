// File: store/testing/conformance.h
//
// The Store conformance suite: one set of parameterized tests that every backend must pass
// (store_conformance.cc). A backend's test binary instantiates it with a StoreBackend that knows
// how to open a fresh, empty store:
//
//   INSTANTIATE_TEST_SUITE_P(Memory, StoreConformanceTest,
//                            testing::Values(BackendParam{"memory", [] { return ...; }}),
//                            BackendParamName);
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace knet::store::testing {

// Opens fresh stores for one test; cleans up (temp dirs, prefixes) in its destructor.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // A new, empty store. Each call within one test opens the same underlying data (so a test can
  // close and reopen).
  virtual StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options) = 0;
};

struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<StoreBackend>()> make;
};

inline std::string BackendParamName(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
}

class StoreConformanceTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Reopens store_ with these options (the same data).
  void Reopen(const StoreOptions& options);

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

}  // namespace knet::store::testing
