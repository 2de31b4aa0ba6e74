#include "client/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace knet::client {
namespace {

using std::chrono::milliseconds;

TEST(WorkQueueTest, DeduplicatesWhileQueued) {
  WorkQueue q;
  q.Add("a");
  q.Add("b");
  q.Add("a");
  EXPECT_EQ(q.Len(), 2u);
  EXPECT_EQ(*q.Get(), "a");
  EXPECT_EQ(*q.Get(), "b");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, AddDuringProcessingRequeuesAfterDone) {
  WorkQueue q;
  q.Add("a");
  std::string k = *q.Get();
  q.Add("a");  // while processing: not handed to another worker yet
  q.Add("a");
  EXPECT_EQ(q.Len(), 0u);
  q.Done(k);
  EXPECT_EQ(q.Len(), 1u);
  EXPECT_EQ(*q.Get(), "a");
  q.Done("a");
  EXPECT_EQ(q.Len(), 0u);
}

TEST(WorkQueueTest, NoTwoWorkersHoldTheSameKey) {
  WorkQueue q;
  std::atomic<int> holding{0};
  std::atomic<bool> overlap{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      while (auto k = q.Get()) {
        if (holding.fetch_add(1) != 0) overlap = true;
        std::this_thread::sleep_for(milliseconds(1));
        holding.fetch_sub(1);
        ++processed;
        q.Done(*k);
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    q.Add("same");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  std::this_thread::sleep_for(milliseconds(50));
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_GT(processed.load(), 1);
}

TEST(WorkQueueTest, BackoffIsExponentialPerItemAndCapped) {
  WorkQueue q({.base_delay = milliseconds(5), .max_delay = milliseconds(100)});
  EXPECT_EQ(q.Backoff("a"), milliseconds(5));
  q.AddRateLimited("a");
  EXPECT_EQ(q.Backoff("a"), milliseconds(10));
  q.AddRateLimited("a");
  q.AddRateLimited("a");
  EXPECT_EQ(q.Backoff("a"), milliseconds(40));
  EXPECT_EQ(q.NumRequeues("a"), 3);
  for (int i = 0; i < 40; ++i) q.AddRateLimited("a");
  EXPECT_EQ(q.Backoff("a"), milliseconds(100));
  EXPECT_EQ(q.Backoff("b"), milliseconds(5));  // per item
  q.Forget("a");
  EXPECT_EQ(q.NumRequeues("a"), 0);
  EXPECT_EQ(q.Backoff("a"), milliseconds(5));
}

TEST(WorkQueueTest, AddAfterDeliversOnceDue) {
  WorkQueue q;
  auto start = std::chrono::steady_clock::now();
  q.AddAfter("late", milliseconds(80));
  q.AddAfter("late", milliseconds(500));  // the earlier time wins
  q.AddAfter("early", milliseconds(20));
  EXPECT_EQ(q.Len(), 0u);
  EXPECT_EQ(*q.Get(), "early");
  EXPECT_EQ(*q.Get(), "late");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, milliseconds(80));
  EXPECT_LT(took, milliseconds(450));
}

TEST(WorkQueueTest, AddWinsOverPendingDelay) {
  WorkQueue q;
  q.AddAfter("a", std::chrono::seconds(60));
  q.Add("a");
  EXPECT_EQ(*q.Get(), "a");
  q.Done("a");
  // The delayed copy was dropped: nothing more arrives.
  q.AddAfter("b", milliseconds(10));
  EXPECT_EQ(*q.Get(), "b");
}

TEST(WorkQueueTest, ShutDownWakesBlockedWorkers) {
  WorkQueue q;
  std::atomic<int> ended{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back([&] {
      while (q.Get()) {
      }
      ++ended;
    });
  }
  q.AddAfter("never", std::chrono::seconds(60));
  std::this_thread::sleep_for(milliseconds(20));
  q.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_EQ(ended.load(), 3);
  EXPECT_TRUE(q.ShuttingDown());
  q.Add("x");  // ignored after shutdown
  EXPECT_EQ(q.Len(), 0u);
}

}  // namespace
}  // namespace knet::client
