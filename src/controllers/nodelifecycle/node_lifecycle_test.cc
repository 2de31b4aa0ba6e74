#include "controllers/nodelifecycle/node_lifecycle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/core.h"
#include "api/lease.h"
#include "controllers/internal/test_env.h"

namespace knet::controllers {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kGrace{1000};
constexpr milliseconds kMonitor{200};

class NodeLifecycleTest : public testing::ControllerTest {
 protected:
  void TearDown() override {
    StopRenewing();
    if (nlc_) nlc_->Stop();
    nlc_.reset();
    ControllerTest::TearDown();
  }
  void StartController() {
    nlc_ = std::make_unique<NodeLifecycleController>(
        informers_.get(), NodeLifecycleOptions{.grace_period = kGrace, .monitor_period = kMonitor});
    StartInformers();
    nlc_->Start();
  }

  // Plays the agents' lease heartbeat (every 100 ms) for the nodes in `renewing_`.
  void RenewLease(const std::string& node) {
    auto l = client_->Get<api::Lease>("kube-node-lease", node);
    api::Lease lease;
    if (l.ok()) lease = *l;
    lease.metadata.name = node;
    lease.metadata.namespace_ = "kube-node-lease";
    lease.spec.holder_identity = node;
    lease.spec.lease_duration_seconds = 40;
    lease.spec.renew_time.time = api::Time::Now();
    auto r = l.ok() ? client_->Update(lease) : client_->Create(lease);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  void StartRenewing(std::set<std::string> nodes) {
    {
      std::lock_guard<std::mutex> l(mu_);
      renewing_ = std::move(nodes);
    }
    if (renewer_.joinable()) return;
    renewer_ = std::thread([this] {
      while (!stop_) {
        std::set<std::string> current;
        {
          std::lock_guard<std::mutex> l(mu_);
          current = renewing_;
        }
        for (const std::string& n : current) RenewLease(n);
        std::this_thread::sleep_for(milliseconds(100));
      }
    });
  }
  void StopRenewing() {
    stop_ = true;
    if (renewer_.joinable()) renewer_.join();
  }

  // Plays the agent posting its status: Ready=`status` with a fresh heartbeat.
  void PostReady(const std::string& node, const std::string& status) {
    auto n = client_->Get<api::Node>("", node);
    ASSERT_TRUE(n.ok());
    for (api::NodeCondition& c : n->status.conditions) {
      if (c.type != "Ready") continue;
      c.status = status;
      c.reason = status == "True" ? "KubeletReady" : "KubeletNotReady";
      c.message = "";
      c.last_heartbeat_time = api::Time::Now();
    }
    auto r = client_->UpdateStatus(*n);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  api::Node GetNode(const std::string& name) {
    auto n = client_->Get<api::Node>("", name);
    return n.ok() ? *n : api::Node{};
  }
  std::optional<api::NodeCondition> Condition(const std::string& node, const std::string& type) {
    for (const api::NodeCondition& c : GetNode(node).status.conditions) {
      if (c.type == type) return c;
    }
    return std::nullopt;
  }
  std::set<std::string> TaintsOf(const std::string& node) {
    std::set<std::string> out;
    for (const api::Taint& t : GetNode(node).spec.taints) out.insert(t.key + ":" + t.effect);
    return out;
  }
  std::string PodCondition(const std::string& pod, const std::string& type) {
    auto p = client_->Get<api::Pod>("default", pod);
    if (!p.ok()) return "";
    for (const api::PodCondition& c : p->status.conditions) {
      if (c.type == type) return c.status;
    }
    return "";
  }
  void CreateReadyPodOn(const std::string& name, const std::string& node, const std::string& ip) {
    api::Pod p = MakePod(name);
    p.spec.node_name = node;
    ASSERT_TRUE(client_->Create(p).ok());
    ASSERT_TRUE(SetPodReady("default", name, ip).ok());
  }

  std::unique_ptr<NodeLifecycleController> nlc_;
  std::mutex mu_;
  std::set<std::string> renewing_;
  std::atomic<bool> stop_{false};
  std::thread renewer_;
};

const std::set<std::string> kUnreachable = {"node.kubernetes.io/unreachable:NoExecute",
                                            "node.kubernetes.io/unreachable:NoSchedule"};
const std::set<std::string> kNotReady = {"node.kubernetes.io/not-ready:NoExecute",
                                         "node.kubernetes.io/not-ready:NoSchedule"};

TEST_F(NodeLifecycleTest, RenewedNodeStaysReady) {
  CreateNode("alive");
  StartRenewing({"alive"});
  StartController();
  // Well past the grace period, checked every monitor period: never Unknown, never tainted.
  const auto end = std::chrono::steady_clock::now() + 2 * kGrace + kMonitor;
  while (std::chrono::steady_clock::now() < end) {
    ASSERT_EQ(Condition("alive", "Ready")->status, "True");
    ASSERT_TRUE(TaintsOf("alive").empty());
    std::this_thread::sleep_for(kMonitor);
  }
}

TEST_F(NodeLifecycleTest, SilentNodeBecomesUnknownTaintedAndItsPodsNotReady) {
  CreateNode("lost");
  CreateNode("alive");
  CreateReadyPodOn("on-lost", "lost", "10.244.0.5");
  CreateReadyPodOn("on-alive", "alive", "10.244.1.5");
  StartRenewing({"lost", "alive"});
  StartController();
  std::this_thread::sleep_for(kMonitor * 2);  // let the controller see both leases move
  ASSERT_EQ(Condition("lost", "Ready")->status, "True");

  StartRenewing({"alive"});  // "lost"'s agent goes silent
  const auto silent_since = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return Condition("lost", "Ready")->status == "Unknown"; },
                         std::chrono::seconds(5)));
  const auto took = std::chrono::steady_clock::now() - silent_since;
  EXPECT_GE(took, kGrace - milliseconds(150));  // the last renewal may land just before
  EXPECT_LE(took, kGrace + 5 * kMonitor + milliseconds(500));  // slack for a loaded machine
  api::NodeCondition ready = *Condition("lost", "Ready");
  EXPECT_EQ(ready.reason, "NodeStatusUnknown");
  EXPECT_EQ(ready.message, "Kubelet stopped posting node status.");
  ASSERT_TRUE(Eventually([&] { return TaintsOf("lost") == kUnreachable; }));
  for (const api::Taint& t : GetNode("lost").spec.taints) EXPECT_FALSE(t.time_added.IsZero());
  ASSERT_TRUE(Eventually([&] { return PodCondition("on-lost", "Ready") == "False"; }));
  EXPECT_EQ(PodCondition("on-lost", "ContainersReady"), "True");  // other conditions kept
  EXPECT_EQ(PodCondition("on-alive", "Ready"), "True");
  EXPECT_EQ(Condition("alive", "Ready")->status, "True");
  EXPECT_TRUE(TaintsOf("alive").empty());
  ASSERT_TRUE(Eventually([&] {
    auto list = client_->List<api::Event>("default");
    if (!list.ok()) return false;
    for (const api::Event& e : list->items) {
      if (e.involved_object.name == "lost" && e.reason == "NodeNotReady") return true;
    }
    return false;
  }));

  // The agent comes back: lease renewed and Ready=True posted.
  StartRenewing({"alive", "lost"});
  PostReady("lost", "True");
  ASSERT_TRUE(Eventually([&] { return TaintsOf("lost").empty(); }));
  // And it stays healthy.
  std::this_thread::sleep_for(kGrace + kMonitor);
  EXPECT_EQ(Condition("lost", "Ready")->status, "True");
  EXPECT_TRUE(TaintsOf("lost").empty());
}

TEST_F(NodeLifecycleTest, AgentReportedNotReadyGetsNotReadyTaint) {
  CreateNode("sick");
  CreateReadyPodOn("on-sick", "sick", "10.244.0.7");
  StartRenewing({"sick"});
  StartController();
  PostReady("sick", "False");
  ASSERT_TRUE(Eventually([&] { return TaintsOf("sick") == kNotReady; }));
  ASSERT_TRUE(Eventually([&] { return PodCondition("on-sick", "Ready") == "False"; }));
  // Still heartbeating: its own report stands, it is not turned Unknown.
  std::this_thread::sleep_for(kGrace + kMonitor);
  EXPECT_EQ(Condition("sick", "Ready")->status, "False");
  EXPECT_EQ(TaintsOf("sick"), kNotReady);

  PostReady("sick", "True");
  ASSERT_TRUE(Eventually([&] { return TaintsOf("sick").empty(); }));
}

TEST_F(NodeLifecycleTest, NodeThatNeverReportsBecomesUnknown) {
  api::Node n;
  n.metadata.name = "mute";
  ASSERT_TRUE(client_->Create(n).ok());  // no Ready condition, no lease
  StartController();
  ASSERT_TRUE(Eventually(
      [&] {
        auto c = Condition("mute", "Ready");
        return c && c->status == "Unknown";
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(Condition("mute", "Ready")->reason, "NodeStatusNeverUpdated");
  ASSERT_TRUE(Eventually([&] { return TaintsOf("mute") == kUnreachable; }));
}

}  // namespace
}  // namespace knet::controllers
