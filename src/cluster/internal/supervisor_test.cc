#include "cluster/internal/supervisor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "cluster/internal/manifest.h"

namespace knet::cluster::internal {
namespace {

using namespace std::chrono_literals;

class ClusterSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("knet-cluster-supervisor-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    SweepProcesses({}, dir_.string(), 5s);
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(ClusterSupervisorTest, StartsDetachedAndStopsWithTermThenKill) {
  std::string log = (dir_ / "a.log").string();
  // One process that ends on SIGTERM, one that ignores it (needs SIGKILL).
  auto polite =
      StartDetached("agent", "polite", {"/bin/sh", "-c", "echo hi; exec sleep 30"}, "", log);
  ASSERT_TRUE(polite.ok()) << polite.status().ToString();
  auto stubborn =
      StartDetached("agent", "stubborn",
                    {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"}, "", log);
  ASSERT_TRUE(stubborn.ok()) << stubborn.status().ToString();
  EXPECT_TRUE(IsRunning(*polite));
  EXPECT_TRUE(IsRunning(*stubborn));
  EXPECT_EQ(getsid(polite->pid), polite->pid);  // its own session
  // A recycled pid (same pid, another start time) is not ours.
  ProcessRecord other = *polite;
  other.start_time += 1;
  EXPECT_FALSE(IsRunning(other));

  auto left = StopProcesses({*polite, *stubborn}, 300ms);
  EXPECT_TRUE(left.empty());
  EXPECT_FALSE(IsRunning(*polite));
  EXPECT_FALSE(IsRunning(*stubborn));
  // Stopping what is gone is fine.
  EXPECT_TRUE(StopProcesses({*polite}, 100ms).empty());
}

TEST_F(ClusterSupervisorTest, ReportsAProgramThatCannotStart) {
  auto p = StartDetached("agent", "nope", {"/nonexistent/knet"}, "", (dir_ / "b.log").string());
  EXPECT_EQ(p.status().code(), base::StatusCode::kNotFound) << p.status().ToString();
}

TEST_F(ClusterSupervisorTest, SweepKillsWhatRunsFromTheStateDirOnly) {
  std::string log = (dir_ / "c.log").string();
  std::string data = (dir_ / "server").string();
  // Argument lists as exec leaves them (bash's exec -a sets argv[0]): a path under the state
  // dir, a --flag=<path under it>, and an unrelated path.
  auto run_as = [&](const std::string& argv0) {
    return StartDetached("x", argv0, {"/bin/bash", "-c", "exec -a \"$0\" sleep 30", argv0}, "",
                         log);
  };
  auto ours = run_as(data + "/knet");
  auto flag = run_as("--data-dir=" + data);
  auto theirs = run_as("/elsewhere/knet");
  ASSERT_TRUE(ours.ok() && flag.ok() && theirs.ok());
  EXPECT_EQ(SweepProcesses({}, dir_.string(), 5s), 2);
  EXPECT_FALSE(IsRunning(*ours));
  EXPECT_FALSE(IsRunning(*flag));
  EXPECT_TRUE(IsRunning(*theirs));
  EXPECT_TRUE(StopProcesses({*theirs}, 1s).empty());
}

TEST(ClusterHostLockTest, SerialisesHolders) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (/run/lock)";
  auto first = HostLock::Acquire();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::atomic<bool> second_held{false};
  std::thread t([&] {
    auto second = HostLock::Acquire();
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    second_held = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(second_held.load());
  { HostLock release = std::move(*first); }
  t.join();
  EXPECT_TRUE(second_held.load());
}

}  // namespace
}  // namespace knet::cluster::internal
