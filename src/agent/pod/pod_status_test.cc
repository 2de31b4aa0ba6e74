// File: agent/pod/pod_status_test.cc
#include "agent/pod/pod_status.h"

#include <gtest/gtest.h>

namespace knet::agent::pod {
namespace {

api::Pod MakePod(std::string restart_policy, int containers = 1) {
  api::Pod p;
  p.metadata.name = "web";
  p.metadata.namespace_ = "default";
  p.spec.restart_policy = std::move(restart_policy);
  for (int i = 0; i < containers; ++i) {
    api::Container c;
    c.name = "c" + std::to_string(i);
    p.spec.containers.push_back(c);
  }
  p.status.phase = "Pending";
  p.status.conditions.push_back(
      {"PodScheduled", "True", {}, api::Time::FromUnixSeconds(5), "", ""});
  return p;
}

ContainerView Running(std::string name, bool ready) {
  ContainerView v;
  v.name = std::move(name);
  v.state.running = api::ContainerStateRunning{api::Time::FromUnixSeconds(100)};
  v.ready = ready;
  v.started = true;
  return v;
}

ContainerView Exited(std::string name, int code) {
  ContainerView v;
  v.name = std::move(name);
  api::ContainerStateTerminated t;
  t.exit_code = code;
  t.reason = code == 0 ? "Completed" : "Error";
  v.state.terminated = t;
  v.started = false;
  return v;
}

ContainerView CrashLooping(std::string name) {
  ContainerView v = Exited(std::move(name), 1);
  v.last_state = v.state;
  v.state = {};
  v.state.waiting = api::ContainerStateWaiting{"CrashLoopBackOff", "back-off 10s"};
  v.restart_count = 1;
  return v;
}

PodView ViewOf(std::vector<ContainerView> cs) {
  PodView v;
  v.sandbox_ready = true;
  v.pod_ips = {"10.244.0.5"};
  v.host_ips = {"192.0.2.1"};
  v.containers = std::move(cs);
  return v;
}

const api::PodCondition* Cond(const api::PodStatus& s, const std::string& type) {
  for (const auto& c : s.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

TEST(PodStatusTest, PhaseFollowsTheKubeletsRules) {
  EXPECT_EQ(PodPhase(MakePod("Always"), PodView{}), "Pending");
  EXPECT_EQ(PodPhase(MakePod("Always", 2), ViewOf({Running("c0", true)})), "Pending");
  EXPECT_EQ(PodPhase(MakePod("Always"), ViewOf({Running("c0", false)})), "Running");
  EXPECT_EQ(PodPhase(MakePod("Always"), ViewOf({Exited("c0", 0)})), "Running");
  EXPECT_EQ(PodPhase(MakePod("Never"), ViewOf({Exited("c0", 0)})), "Succeeded");
  EXPECT_EQ(PodPhase(MakePod("Never", 2), ViewOf({Exited("c0", 0), Exited("c1", 2)})), "Failed");
  EXPECT_EQ(PodPhase(MakePod("OnFailure"), ViewOf({Exited("c0", 0)})), "Succeeded");
  EXPECT_EQ(PodPhase(MakePod("OnFailure"), ViewOf({CrashLooping("c0")})), "Running");
  EXPECT_EQ(PodPhase(MakePod("Always"), ViewOf({CrashLooping("c0")})), "Running");
  api::Pod done = MakePod("Always");
  done.status.phase = "Failed";  // terminal phases are final
  EXPECT_EQ(PodPhase(done, ViewOf({Running("c0", true)})), "Failed");
}

TEST(PodStatusTest, InitContainersGateThePod) {
  api::Pod p = MakePod("Never");
  api::Container init;
  init.name = "setup";
  p.spec.init_containers.push_back(init);
  PodView v = ViewOf({});
  EXPECT_EQ(PodPhase(p, v), "Pending");
  api::PodStatus s = ComputePodStatus(p, v, api::Time::FromUnixSeconds(200));
  EXPECT_EQ(Cond(s, "Initialized")->status, "False");
  EXPECT_EQ(Cond(s, "Initialized")->message, "containers with incomplete status: [setup]");
  v.init_containers = {Exited("setup", 1)};
  EXPECT_EQ(PodPhase(p, v), "Failed");
  v.init_containers = {Exited("setup", 0)};
  v.containers = {Running("c0", true)};
  s = ComputePodStatus(p, v, api::Time::FromUnixSeconds(200));
  EXPECT_EQ(s.phase, "Running");
  EXPECT_EQ(Cond(s, "Initialized")->status, "True");
  ASSERT_EQ(s.init_container_statuses.size(), 1u);
}

TEST(PodStatusTest, ConditionsIpsAndTransitionTimes) {
  api::Pod p = MakePod("Always", 2);
  PodView v = ViewOf({Running("c0", true), Running("c1", false)});
  api::PodStatus s = ComputePodStatus(p, v, api::Time::FromUnixNanos(200'700'000'000));
  EXPECT_EQ(s.phase, "Running");
  EXPECT_EQ(s.pod_ip, "10.244.0.5");
  ASSERT_EQ(s.pod_ips.size(), 1u);
  EXPECT_EQ(s.host_ip, "192.0.2.1");
  EXPECT_EQ(Cond(s, "PodScheduled")->status, "True");  // not ours: kept
  EXPECT_EQ(Cond(s, "PodReadyToStartContainers")->status, "True");
  EXPECT_EQ(Cond(s, "Ready")->status, "False");
  EXPECT_EQ(Cond(s, "Ready")->reason, "ContainersNotReady");
  EXPECT_EQ(Cond(s, "Ready")->message, "containers with unready status: [c1]");
  EXPECT_EQ(Cond(s, "Ready")->last_transition_time.unix_nanos(), 200'000'000'000);  // to the second
  ASSERT_EQ(s.container_statuses.size(), 2u);
  EXPECT_TRUE(s.container_statuses[0].ready);

  // Same status again later: transition times kept, so nothing to write.
  p.status = s;
  api::PodStatus again = ComputePodStatus(p, v, api::Time::FromUnixSeconds(300));
  EXPECT_TRUE(SameStatus(again, s));
  // c1 turns ready: Ready flips with a new transition time.
  v.containers[1].ready = true;
  api::PodStatus ready = ComputePodStatus(p, v, api::Time::FromUnixSeconds(400));
  EXPECT_FALSE(SameStatus(ready, s));
  EXPECT_EQ(Cond(ready, "Ready")->status, "True");
  EXPECT_EQ(Cond(ready, "Ready")->last_transition_time.unix_nanos(), 400'000'000'000);
  EXPECT_EQ(Cond(ready, "PodReadyToStartContainers")->last_transition_time,
            Cond(s, "PodReadyToStartContainers")->last_transition_time);
}

TEST(PodStatusTest, CompletedPodIsNotReady) {
  api::Pod p = MakePod("Never");
  api::PodStatus s = ComputePodStatus(p, ViewOf({Exited("c0", 0)}), api::Time::FromUnixSeconds(9));
  EXPECT_EQ(s.phase, "Succeeded");
  EXPECT_EQ(Cond(s, "Ready")->reason, "PodCompleted");
  EXPECT_EQ(Cond(s, "PodReadyToStartContainers")->status, "False");
}

}  // namespace
}  // namespace knet::agent::pod
