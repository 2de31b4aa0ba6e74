// The conformance suite against a real etcd (one member on loopback, one per test process).
#include "store/etcd/etcd_store.h"

#include <gtest/gtest.h>

#include <atomic>

#include "store/testing/conformance.h"
#include "store/testing/etcd_process.h"

namespace knet::store {
namespace {

using testing::EtcdCluster;
using testing::StoreConformanceTest;

// One etcd per test binary run, started on first use; each test gets its own key prefix.
EtcdCluster* SharedEtcd() {
  static std::unique_ptr<EtcdCluster> etcd = [] {
    auto c = EtcdCluster::Start(1, "conformance");
    if (!c.ok()) {
      ADD_FAILURE() << c.status().ToString();
      return std::unique_ptr<EtcdCluster>();
    }
    return std::move(c).value();
  }();
  return etcd.get();
}

class EtcdBackend : public testing::StoreBackend {
 public:
  EtcdBackend() {
    static std::atomic<int> seq{0};
    prefix_ = "/knet-test-" + std::to_string(getpid()) + "-" + std::to_string(seq++) + "/";
  }
  StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options) override {
    return OpenStore(SharedEtcd()->Url(prefix_), options);
  }

 private:
  std::string prefix_;
};

INSTANTIATE_TEST_SUITE_P(Etcd, StoreConformanceTest,
                         ::testing::Values(testing::BackendParam{
                             "etcd",
                             []() -> std::unique_ptr<testing::StoreBackend> {
                               if (!EtcdCluster::Available() || SharedEtcd() == nullptr) {
                                 return nullptr;  // SetUp skips, saying why
                               }
                               return std::make_unique<EtcdBackend>();
                             }}),
                         testing::BackendParamName);

TEST(EtcdStoreTest, UnreachableEtcdIsAClearError) {
  StoreOptions o;
  o.etcd_dial_timeout = std::chrono::milliseconds(500);
  int port = testing::FreePort();
  std::string ep = "127.0.0.1:" + std::to_string(port);
  auto s = OpenStore("etcd://" + ep, o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::StatusCode::kUnavailable) << s.status().ToString();
  EXPECT_NE(s.status().message().find(ep), std::string::npos) << s.status().ToString();
}

}  // namespace
}  // namespace knet::store
