// ProbeManager's worker semantics with a scripted probe runner and a 10 ms "second".
#include "agent/prober/probe_manager.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

namespace knet::agent::prober {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 3s) {
  auto end = Clock::now() + timeout;
  while (Clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

// Probes are told apart by their exec command's first word ("startup", "liveness", ...); each
// kind's outcome comes from a script over the call number (1, 2, ...).
class ProbeManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProbeManagerOptions o;
    o.second = 10ms;
    o.on_result = [this](const ProbeResultUpdate& u) {
      std::lock_guard<std::mutex> l(mu_);
      updates_.push_back(u);
    };
    o.runner = [this](const api::Probe& p, const ProbeTarget&, std::chrono::milliseconds) {
      const std::string kind = p.exec->command[0];
      std::function<bool(int)> script;
      int n = 0;
      {
        std::lock_guard<std::mutex> l(mu_);
        n = ++calls_[kind];
        call_times_[kind].push_back(Clock::now());
        script = scripts_[kind];
      }
      bool ok = script ? script(n) : true;
      return ProbeOutcome{ok, ok ? "" : kind + " failed #" + std::to_string(n)};
    };
    pm_ = std::make_unique<ProbeManager>(o);
  }
  void TearDown() override { pm_.reset(); }

  static api::Probe P(const std::string& kind, int period = 1, int failure = 0, int success = 0,
                      int delay = 0) {
    api::Probe p;
    p.exec.emplace();
    p.exec->command = {kind};
    p.period_seconds = period;
    p.failure_threshold = failure;
    p.success_threshold = success;
    p.initial_delay_seconds = delay;
    return p;
  }
  void Script(const std::string& kind, std::function<bool(int)> f) {
    std::lock_guard<std::mutex> l(mu_);
    scripts_[kind] = std::move(f);
  }
  int Calls(const std::string& kind) {
    std::lock_guard<std::mutex> l(mu_);
    return calls_[kind];
  }
  std::vector<ProbeResultUpdate> Updates() {
    std::lock_guard<std::mutex> l(mu_);
    return updates_;
  }
  ContainerProbes C(const std::string& name = "app", const std::string& id = "id1") {
    ContainerProbes c;
    c.pod_uid = "uid1";
    c.container_name = name;
    c.container_id = id;
    return c;
  }

  std::mutex mu_;
  std::map<std::string, int> calls_;
  std::map<std::string, std::vector<Clock::time_point>> call_times_;
  std::map<std::string, std::function<bool(int)>> scripts_;
  std::vector<ProbeResultUpdate> updates_;
  std::unique_ptr<ProbeManager> pm_;
};

TEST_F(ProbeManagerTest, ReadinessStartsNotReadyAndNeedsSuccessThreshold) {
  ContainerProbes c = C();
  c.readiness = P("readiness", 1, 0, /*success=*/3);
  pm_->AddContainer(c);
  EXPECT_FALSE(pm_->IsReady("uid1", "app"));
  EXPECT_TRUE(pm_->IsStarted("uid1", "app"));
  ASSERT_TRUE(Eventually([&] { return pm_->IsReady("uid1", "app"); }));
  EXPECT_GE(Calls("readiness"), 3);
  std::this_thread::sleep_for(50ms);  // more successes: no further updates
  auto u = Updates();
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].kind, ProbeKind::kReadiness);
  EXPECT_TRUE(u[0].success);
  EXPECT_EQ(u[0].container_id, "id1");
}

TEST_F(ProbeManagerTest, ReadinessFlapsOnlyPastTheFailureThreshold) {
  // success, then failures from call 3 on.
  Script("readiness", [](int n) { return n < 3; });
  ContainerProbes c = C();
  c.readiness = P("readiness", 1, /*failure=*/3);
  pm_->AddContainer(c);
  ASSERT_TRUE(Eventually([&] { return Updates().size() == 2; }));
  auto u = Updates();
  EXPECT_TRUE(u[0].success);
  EXPECT_FALSE(u[1].success);
  EXPECT_EQ(u[1].message, "readiness failed #5");  // the third failure in a row
  // Readiness keeps probing after failing (no hold).
  int n = Calls("readiness");
  EXPECT_TRUE(Eventually([&] { return Calls("readiness") > n + 2; }));
}

TEST_F(ProbeManagerTest, LivenessFailureIsReportedOnceThenHolds) {
  Script("liveness", [](int) { return false; });
  ContainerProbes c = C();
  c.liveness = P("liveness", 1, /*failure=*/3);
  pm_->AddContainer(c);
  EXPECT_TRUE(pm_->IsLive("uid1", "app"));
  ASSERT_TRUE(Eventually([&] { return !pm_->IsLive("uid1", "app"); }));
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(Calls("liveness"), 3);
  auto u = Updates();
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u[0].kind, ProbeKind::kLiveness);
  EXPECT_FALSE(u[0].success);
  // The restarted container (new ID) is probed again from scratch.
  Script("liveness", [](int) { return true; });
  c.container_id = "id2";
  pm_->AddContainer(c);
  EXPECT_TRUE(pm_->IsLive("uid1", "app"));
  EXPECT_TRUE(Eventually([&] { return Calls("liveness") >= 5; }));
  EXPECT_TRUE(pm_->IsLive("uid1", "app"));
}

TEST_F(ProbeManagerTest, InitialDelayAndDefaultPeriod) {
  ContainerProbes c = C();
  c.readiness = P("readiness", /*period=*/0, 0, 0, /*delay=*/10);  // 100 ms; period 10 s = 100 ms
  auto start = Clock::now();
  pm_->AddContainer(c);
  ASSERT_TRUE(Eventually([&] { return Calls("readiness") >= 2; }));
  std::lock_guard<std::mutex> l(mu_);
  EXPECT_GE(call_times_["readiness"][0] - start, 95ms);
  EXPECT_GE(call_times_["readiness"][1] - call_times_["readiness"][0], 95ms);
}

TEST_F(ProbeManagerTest, StartupGatesLivenessAndReadiness) {
  Script("startup", [](int n) { return n >= 4; });
  ContainerProbes c = C();
  c.startup = P("startup", 2, /*failure=*/10);
  c.liveness = P("liveness", 1);
  c.readiness = P("readiness", 1);
  pm_->AddContainer(c);
  EXPECT_FALSE(pm_->IsStarted("uid1", "app"));
  EXPECT_FALSE(pm_->IsReady("uid1", "app"));
  ASSERT_TRUE(Eventually([&] { return pm_->IsReady("uid1", "app"); }));
  EXPECT_TRUE(pm_->IsStarted("uid1", "app"));
  {
    std::lock_guard<std::mutex> l(mu_);
    ASSERT_EQ(call_times_["startup"].size(), 4u);
    // No liveness/readiness probe ran before the startup probe's 4th (successful) run.
    EXPECT_GE(call_times_["liveness"].front(), call_times_["startup"][3]);
    EXPECT_GE(call_times_["readiness"].front(), call_times_["startup"][3]);
  }
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(Calls("startup"), 4);  // stops once it succeeded
  auto u = Updates();
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].kind, ProbeKind::kStartup);
  EXPECT_EQ(u[1].kind, ProbeKind::kReadiness);
}

TEST_F(ProbeManagerTest, StartupFailureHolds) {
  Script("startup", [](int) { return false; });
  ContainerProbes c = C();
  c.startup = P("startup", 1, /*failure=*/2);
  c.readiness = P("readiness", 1);
  pm_->AddContainer(c);
  ASSERT_TRUE(Eventually([&] { return Updates().size() == 1; }));
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(Calls("startup"), 2);
  EXPECT_EQ(Calls("readiness"), 0);
  auto u = Updates();
  EXPECT_EQ(u[0].kind, ProbeKind::kStartup);
  EXPECT_FALSE(u[0].success);
}

TEST_F(ProbeManagerTest, NoReadinessProbeMeansReadyOnceStarted) {
  pm_->AddContainer(C("plain"));
  EXPECT_TRUE(pm_->IsReady("uid1", "plain"));
  EXPECT_FALSE(pm_->IsReady("uid1", "unknown"));
}

TEST_F(ProbeManagerTest, RemovingAnOldInstanceKeepsTheNewOnesProbes) {
  ContainerProbes c = C("app", "old");
  c.readiness = P("readiness", 1);
  pm_->AddContainer(c);
  c.container_id = "new";
  pm_->AddContainer(c);
  pm_->RemoveContainer("uid1", "app", "old");
  ASSERT_TRUE(Eventually([&] { return pm_->IsReady("uid1", "app"); }));
  auto u = Updates();
  ASSERT_FALSE(u.empty());
  EXPECT_EQ(u.back().container_id, "new");
  pm_->RemoveContainer("uid1", "app", "new");
  EXPECT_FALSE(pm_->IsReady("uid1", "app"));
}

TEST_F(ProbeManagerTest, RemoveStopsProbing) {
  ContainerProbes c = C();
  c.readiness = P("readiness", 1);
  pm_->AddContainer(c);
  ASSERT_TRUE(Eventually([&] { return Calls("readiness") >= 2; }));
  pm_->RemovePod("uid1");
  std::this_thread::sleep_for(30ms);
  int n = Calls("readiness");
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(Calls("readiness"), n);
  EXPECT_FALSE(pm_->IsReady("uid1", "app"));
}

}  // namespace
}  // namespace knet::agent::prober
