// The conformance suite on the memory and sqlite backends, and OpenStore's URL parsing.
#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/testing/conformance.h"

namespace knet::store {
namespace {

using testing::BackendParam;
using testing::StoreBackend;
using testing::StoreConformanceTest;

class MemoryBackend : public StoreBackend {
 public:
  StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options) override {
    return OpenStore("memory://", options);
  }
};

class SqliteBackend : public StoreBackend {
 public:
  SqliteBackend() {
    char tmpl[] = "/tmp/knet-store-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~SqliteBackend() override { std::filesystem::remove_all(dir_); }
  StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options) override {
    return OpenStore("sqlite://" + dir_ + "/state.db", options);
  }

 private:
  std::string dir_;
};

INSTANTIATE_TEST_SUITE_P(
    Local, StoreConformanceTest,
    ::testing::Values(BackendParam{"memory", [] { return std::make_unique<MemoryBackend>(); }},
                      BackendParam{"sqlite", [] { return std::make_unique<SqliteBackend>(); }}),
    testing::BackendParamName);

TEST(OpenStoreTest, RejectsUnknownAndMalformedUrls) {
  for (const char* url : {"", "postgres://x", "sqlite://relative.db", "sqlite://", "etcd://",
                          "etcd://host", "etcd://host:", "etcd://host:12a", "etcd://h:1,,h:2",
                          "etcd://h:1?foo=bar", "etcd://h:1?prefix="}) {
    auto s = OpenStore(url);
    EXPECT_EQ(s.status().code(), base::StatusCode::kInvalidArgument) << url;
    EXPECT_NE(s.status().message().find("expected memory://"), std::string::npos) << url;
  }
}

TEST(OpenStoreTest, OpensMemory) {
  auto s = OpenStore("memory://");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*(*s)->CurrentRevision(), 0);
}

}  // namespace
}  // namespace knet::store
