#include "client/controller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace knet::client {
namespace {

using std::chrono::milliseconds;

bool Eventually(const std::function<bool()>& cond) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return cond();
}

TEST(ControllerTest, KeysSplitIntoNamespaceAndName) {
  EXPECT_EQ(SplitKey("default/web"), std::make_pair(std::string("default"), std::string("web")));
  EXPECT_EQ(SplitKey("node-1"), std::make_pair(std::string(""), std::string("node-1")));
}

TEST(ControllerTest, RetriesFailuresWithBackoffThenSucceeds) {
  std::mutex mu;
  std::map<std::string, int> calls;
  Controller c({.name = "test",
                .workers = 2,
                .queue = {.base_delay = milliseconds(1), .max_delay = milliseconds(20)},
                .reconcile = [&](const std::string& key) -> base::StatusOr<ReconcileResult> {
                  std::lock_guard<std::mutex> l(mu);
                  if (++calls[key] < 4) return base::Status(base::StatusCode::kUnavailable, "no");
                  return ReconcileResult{};
                }});
  c.Start();
  c.Enqueue("a");
  c.Enqueue("b");
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> l(mu);
    return calls["a"] == 4 && calls["b"] == 4;
  }));
  std::this_thread::sleep_for(milliseconds(50));
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(calls["a"], 4);  // success stops the retries
  EXPECT_EQ(c.queue().NumRequeues("a"), 0);
}

TEST(ControllerTest, DropsAKeyAfterMaxRetries) {
  std::atomic<int> calls{0};
  Controller c({.name = "test",
                .max_retries = 3,
                .queue = {.base_delay = milliseconds(1), .max_delay = milliseconds(5)},
                .reconcile = [&](const std::string&) -> base::StatusOr<ReconcileResult> {
                  ++calls;
                  return base::Status(base::StatusCode::kInternal, "always fails");
                }});
  c.Start();
  c.Enqueue("k");
  ASSERT_TRUE(Eventually([&] { return calls.load() == 4; }));  // first try + 3 retries
  std::this_thread::sleep_for(milliseconds(60));
  EXPECT_EQ(calls.load(), 4);
}

TEST(ControllerTest, RequeueAfterCallsAgain) {
  std::atomic<int> calls{0};
  Controller c(
      {.name = "test", .reconcile = [&](const std::string&) -> base::StatusOr<ReconcileResult> {
         if (++calls < 3) return ReconcileResult{.requeue_after = milliseconds(10)};
         return ReconcileResult{};
       }});
  c.Start();
  c.Enqueue("k");
  ASSERT_TRUE(Eventually([&] { return calls.load() == 3; }));
  c.Stop();
  EXPECT_EQ(calls.load(), 3);
}

}  // namespace
}  // namespace knet::client
