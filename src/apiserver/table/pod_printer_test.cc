// Pod rows: upstream printPod's STATUS, READY and RESTARTS rules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "apiserver/table/table.h"

namespace knet::apiserver::table {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Json = nlohmann::json;

// 2024-05-01T10:00:00Z.
constexpr int64_t kNowUnix = 1714557600;
constexpr std::chrono::system_clock::time_point kNow{seconds(kNowUnix)};

api::Time Ago(seconds d) { return api::Time::FromUnixSeconds(kNowUnix - d.count()); }

api::ObjectMeta Meta(std::string name, seconds age = minutes(5)) {
  api::ObjectMeta m;
  m.name = std::move(name);
  m.namespace_ = "default";
  m.creation_timestamp = Ago(age);
  return m;
}

api::Pod MakePod(std::string phase, size_t containers = 1) {
  api::Pod p;
  p.metadata = Meta("web");
  for (size_t i = 0; i < containers; ++i) {
    p.spec.containers.push_back(api::Container{.name = "c" + std::to_string(i), .image = "nginx"});
  }
  p.status.phase = std::move(phase);
  return p;
}

api::ContainerStatus Waiting(std::string reason) {
  api::ContainerStatus cs;
  cs.name = "c0";
  cs.state.waiting = api::ContainerStateWaiting{.reason = std::move(reason)};
  return cs;
}

api::ContainerStatus Running(bool ready) {
  api::ContainerStatus cs;
  cs.name = "c0";
  cs.ready = ready;
  cs.state.running = api::ContainerStateRunning{.started_at = Ago(minutes(4))};
  return cs;
}

api::ContainerStatus Terminated(int32_t exit_code, std::string reason, int32_t signal = 0) {
  api::ContainerStatus cs;
  cs.name = "c0";
  cs.state.terminated = api::ContainerStateTerminated{
      .exit_code = exit_code, .signal = signal, .reason = std::move(reason)};
  return cs;
}

std::string Status(const api::Pod& p) { return RowCells(p, kNow)[2]; }

TEST(PodRowTest, PendingPodWithNothingScheduled) {
  api::Pod p = MakePod("Pending");
  EXPECT_EQ(RowCells(p, kNow), Json::parse(R"(["web","0/1","Pending","0","5m",
      "<none>","<none>","<none>","<none>"])"));
}

TEST(PodRowTest, RunningPodWithWideColumns) {
  api::Pod p = MakePod("Running", 2);
  p.spec.node_name = "node-1";
  p.status.pod_ip = "10.244.1.5";
  p.status.pod_ips = {{.ip = "10.244.1.5"}, {.ip = "fd00::5"}};
  p.status.nominated_node_name = "node-2";
  p.status.container_statuses = {Running(true), Running(true)};
  EXPECT_EQ(RowCells(p, kNow), Json::parse(R"(["web","2/2","Running","0","5m",
      "10.244.1.5","node-1","node-2","<none>"])"));
}

TEST(PodRowTest, PodIPFallsBackToPodIPWithoutPodIPs) {
  api::Pod p = MakePod("Running");
  p.status.pod_ip = "10.244.2.7";
  EXPECT_EQ(RowCells(p, kNow)[5], "10.244.2.7");
}

TEST(PodRowTest, WaitingReasonWins) {
  api::Pod p = MakePod("Pending");
  p.status.container_statuses = {Waiting("ContainerCreating")};
  EXPECT_EQ(Status(p), "ContainerCreating");
}

TEST(PodRowTest, CrashLoopBackOffWithRestartsAndLastRestartTime) {
  api::Pod p = MakePod("Running");
  api::ContainerStatus cs = Waiting("CrashLoopBackOff");
  cs.restart_count = 3;
  cs.last_state.terminated = api::ContainerStateTerminated{
      .exit_code = 1, .reason = "Error", .finished_at = Ago(minutes(5))};
  p.status.container_statuses = {cs};
  const Json cells = RowCells(p, kNow);
  EXPECT_EQ(cells[1], "0/1");
  EXPECT_EQ(cells[2], "CrashLoopBackOff");
  EXPECT_EQ(cells[3], "3 (5m ago)");
}

TEST(PodRowTest, RestartsWithoutLastTerminationHaveNoAgo) {
  api::Pod p = MakePod("Running");
  api::ContainerStatus cs = Running(true);
  cs.restart_count = 2;
  p.status.container_statuses = {cs};
  EXPECT_EQ(RowCells(p, kNow)[3], "2");
}

TEST(PodRowTest, LatestRestartAcrossContainersAndSummedCount) {
  api::Pod p = MakePod("Running", 2);
  api::ContainerStatus a = Running(true);
  a.restart_count = 1;
  a.last_state.terminated = api::ContainerStateTerminated{.finished_at = Ago(hours(3))};
  api::ContainerStatus b = Running(true);
  b.restart_count = 4;
  b.last_state.terminated = api::ContainerStateTerminated{.finished_at = Ago(seconds(30))};
  p.status.container_statuses = {a, b};
  EXPECT_EQ(RowCells(p, kNow)[3], "5 (30s ago)");
}

TEST(PodRowTest, CompletedPodCarriesRowCondition) {
  api::Pod p = MakePod("Succeeded");
  p.status.container_statuses = {Terminated(0, "Completed")};
  EXPECT_EQ(Status(p), "Completed");
  const Json table =
      Json::parse(EncodeTable("Pod", std::vector<api::Object>{p}, {}, {.now = kNow}));
  EXPECT_EQ(table["rows"][0]["conditions"], Json::parse(R"([{"type":"Completed","status":"True",
      "reason":"Succeeded","message":"The pod has completed successfully."}])"));
}

TEST(PodRowTest, TerminatedWithoutReasonShowsExitCodeOrSignal) {
  api::Pod p = MakePod("Failed");
  p.status.container_statuses = {Terminated(137, "", 9)};
  EXPECT_EQ(Status(p), "Signal:9");
  p.status.container_statuses = {Terminated(2, "")};
  EXPECT_EQ(Status(p), "ExitCode:2");
  p.status.container_statuses = {Terminated(1, "Error")};
  EXPECT_EQ(Status(p), "Error");
}

TEST(PodRowTest, CompletedContainerBesideRunningOneIsRunningOrNotReady) {
  api::Pod p = MakePod("Running", 2);
  // Upstream walks containers from last to first, so the first container's state wins.
  p.status.container_statuses = {Terminated(0, "Completed"), Running(true)};
  EXPECT_EQ(Status(p), "NotReady");
  p.status.conditions = {{.type = "Ready", .status = "True"}};
  EXPECT_EQ(Status(p), "Running");
  EXPECT_EQ(RowCells(p, kNow)[1], "1/2");
}

TEST(PodRowTest, TerminatingAndNodeLost) {
  api::Pod p = MakePod("Running");
  p.status.container_statuses = {Running(true)};
  p.metadata.deletion_timestamp = Ago(seconds(10));
  EXPECT_EQ(Status(p), "Terminating");
  p.status.reason = "NodeLost";
  EXPECT_EQ(Status(p), "Unknown");
  // A finished pod being deleted keeps its final status.
  api::Pod done = MakePod("Succeeded");
  done.status.container_statuses = {Terminated(0, "Completed")};
  done.metadata.deletion_timestamp = Ago(seconds(10));
  EXPECT_EQ(Status(done), "Completed");
}

TEST(PodRowTest, PodReasonOverridesPhase) {
  api::Pod p = MakePod("Failed");
  p.status.reason = "Evicted";
  EXPECT_EQ(Status(p), "Evicted");
}

TEST(PodRowTest, SchedulingGated) {
  api::Pod p = MakePod("Pending");
  p.status.conditions = {{.type = "PodScheduled", .status = "False", .reason = "SchedulingGated"}};
  EXPECT_EQ(Status(p), "SchedulingGated");
}

TEST(PodRowTest, InitContainerStates) {
  api::Pod p = MakePod("Pending");
  p.spec.init_containers = {api::Container{.name = "init"}};
  p.status.init_container_statuses = {Waiting("PodInitializing")};
  p.status.container_statuses = {Waiting("PodInitializing")};
  EXPECT_EQ(Status(p), "Init:0/1");

  p.status.init_container_statuses = {Running(false)};
  EXPECT_EQ(Status(p), "Init:0/1");

  api::ContainerStatus crash = Waiting("CrashLoopBackOff");
  crash.restart_count = 2;
  crash.last_state.terminated =
      api::ContainerStateTerminated{.exit_code = 1, .finished_at = Ago(minutes(1))};
  p.status.init_container_statuses = {crash};
  EXPECT_EQ(Status(p), "Init:CrashLoopBackOff");
  EXPECT_EQ(RowCells(p, kNow)[3], "2 (60s ago)");

  p.status.init_container_statuses = {Terminated(1, "")};
  EXPECT_EQ(Status(p), "Init:ExitCode:1");
  p.status.init_container_statuses = {Terminated(0, "", 15)};
  // Exit code 0 means the only init container is done: the app containers decide.
  EXPECT_EQ(Status(p), "PodInitializing");
  p.status.init_container_statuses = {Terminated(1, "", 15)};
  EXPECT_EQ(Status(p), "Init:Signal:15");
  p.status.init_container_statuses = {Terminated(1, "OOMKilled")};
  EXPECT_EQ(Status(p), "Init:OOMKilled");
}

TEST(PodRowTest, SecondInitContainerAndFinishedInit) {
  api::Pod p = MakePod("Pending");
  p.spec.init_containers = {api::Container{.name = "a"}, api::Container{.name = "b"}};
  p.status.init_container_statuses = {Terminated(0, "Completed"), Running(false)};
  EXPECT_EQ(Status(p), "Init:1/2");
  // Both done: the app containers decide, and init restarts no longer count.
  api::ContainerStatus a = Terminated(0, "Completed");
  a.restart_count = 4;
  p.status.phase = "Running";
  p.status.init_container_statuses = {a, Terminated(0, "Completed")};
  p.status.container_statuses = {Running(true)};
  EXPECT_EQ(Status(p), "Running");
  EXPECT_EQ(RowCells(p, kNow)[3], "0");
}

}  // namespace
}  // namespace knet::apiserver::table
