#include "agent/node/node_agent.h"

#include <gtest/gtest.h>

#include <mutex>

#include "controllers/internal/test_env.h"

namespace knet::agent::node {
namespace {

using namespace std::chrono_literals;

class NodeAgentTest : public controllers::testing::ControllerTest {
 protected:
  NodeAgentOptions Options(const std::string& name) {
    NodeAgentOptions o;
    o.node_name = name;
    o.client = client_.get();
    o.internal_ips = {"192.0.2.10", "2001:db8::10"};
    o.hostname = name + ".example";
    o.agent_port = 10250;
    auto host = CollectHostInfo({.version = "v9.9.9"});
    EXPECT_TRUE(host.ok()) << host.status().ToString();
    if (host.ok()) o.host = *host;
    o.renew_interval = 100ms;
    o.status_update_frequency = 50ms;
    return o;
  }
  const api::NodeCondition* Cond(const api::Node& n, const std::string& type) {
    for (const auto& c : n.status.conditions) {
      if (c.type == type) return &c;
    }
    return nullptr;
  }
};

TEST_F(NodeAgentTest, RegistersNodeWithStatusAndLease) {
  auto agent = NodeAgent::Start(Options("n1"));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto n = client_->Get<api::Node>("", "n1");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->metadata.labels["kubernetes.io/hostname"], "n1.example");
  EXPECT_EQ(n->metadata.labels["kubernetes.io/os"], "linux");
  EXPECT_EQ(n->metadata.labels["kubernetes.io/arch"], GoArch());
  const api::NodeCondition* ready = Cond(*n, "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ(ready->status, "True");
  EXPECT_EQ(ready->reason, "KubeletReady");
  EXPECT_EQ(ready->message, "knet agent is posting ready status");
  EXPECT_FALSE(ready->last_heartbeat_time.IsZero());
  EXPECT_FALSE(ready->last_transition_time.IsZero());
  for (const char* t : {"MemoryPressure", "DiskPressure", "PIDPressure"}) {
    const api::NodeCondition* c = Cond(*n, t);
    ASSERT_NE(c, nullptr) << t;
    EXPECT_EQ(c->status, "False") << t;
  }
  EXPECT_EQ(Cond(*n, "MemoryPressure")->reason, "KubeletHasSufficientMemory");
  EXPECT_EQ(Cond(*n, "NetworkUnavailable"), nullptr);
  std::vector<api::NodeAddress> want = {
      {"InternalIP", "192.0.2.10"}, {"InternalIP", "2001:db8::10"}, {"Hostname", "n1.example"}};
  EXPECT_EQ(n->status.addresses, want);
  for (const char* r : {"cpu", "memory", "pods", "ephemeral-storage"}) {
    EXPECT_TRUE(n->status.capacity.count(r)) << r;
    EXPECT_TRUE(n->status.allocatable.count(r)) << r;
  }
  EXPECT_EQ(n->status.capacity["pods"].ToString(), "110");
  EXPECT_EQ(n->status.daemon_endpoints.kubelet_endpoint.port, 10250);
  ASSERT_TRUE(n->status.node_info.has_value());
  EXPECT_EQ(n->status.node_info->kubelet_version, "v9.9.9");
  EXPECT_EQ(n->status.node_info->container_runtime_version, "knet://v9.9.9");
  EXPECT_EQ(n->status.node_info->operating_system, "linux");
  EXPECT_FALSE(n->status.node_info->kernel_version.empty());

  auto lease = client_->Get<api::Lease>(kLeaseNamespace, "n1");
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_EQ(lease->spec.holder_identity.value_or(""), "n1");
  EXPECT_EQ(lease->spec.lease_duration_seconds.value_or(0), 40);
  ASSERT_EQ(lease->metadata.owner_references.size(), 1u);
  EXPECT_EQ(lease->metadata.owner_references[0].kind, "Node");
  EXPECT_EQ(lease->metadata.owner_references[0].uid, n->metadata.uid);
  (*agent)->Stop();
}

TEST_F(NodeAgentTest, ExistingNodeKeepsPodCidrTaintsAndForeignConditions) {
  api::Node pre;
  pre.metadata.name = "n2";
  pre.metadata.labels["team"] = "blue";
  pre.spec.pod_cidr = "10.244.7.0/24";
  pre.spec.pod_cidrs = {"10.244.7.0/24"};
  pre.spec.unschedulable = true;
  pre.spec.taints = {{"dedicated", "x", "NoSchedule", {}}};
  auto created = client_->Create(pre);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  api::NodeCondition nu;
  nu.type = "NetworkUnavailable";
  nu.status = "False";
  nu.reason = "RouteCreated";
  created->status.conditions = {nu};
  ASSERT_TRUE(client_->UpdateStatus(*created).ok());

  auto agent = NodeAgent::Start(Options("n2"));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto n = client_->Get<api::Node>("", "n2");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->spec.pod_cidr, "10.244.7.0/24");
  EXPECT_EQ(n->spec.pod_cidrs, std::vector<std::string>{"10.244.7.0/24"});
  EXPECT_TRUE(n->spec.unschedulable);
  ASSERT_EQ(n->spec.taints.size(), 1u);
  EXPECT_EQ(n->spec.taints[0].key, "dedicated");
  EXPECT_EQ(n->metadata.labels["team"], "blue");
  EXPECT_EQ(n->metadata.labels["kubernetes.io/os"], "linux");
  EXPECT_EQ(n->metadata.uid, created->metadata.uid);
  ASSERT_NE(Cond(*n, "NetworkUnavailable"), nullptr);
  EXPECT_EQ(Cond(*n, "NetworkUnavailable")->reason, "RouteCreated");
  ASSERT_NE(Cond(*n, "Ready"), nullptr);
  EXPECT_EQ(Cond(*n, "Ready")->status, "True");
}

TEST_F(NodeAgentTest, LeaseIsRenewed) {
  auto agent = NodeAgent::Start(Options("n3"));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto first = client_->Get<api::Lease>(kLeaseNamespace, "n3");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(Eventually(
      [&] {
        auto l = client_->Get<api::Lease>(kLeaseNamespace, "n3");
        return l.ok() && l->spec.renew_time.time > first->spec.renew_time.time;
      },
      3s));
  // After Stop nothing renews any more.
  (*agent)->Stop();
  auto stopped = client_->Get<api::Lease>(kLeaseNamespace, "n3");
  ASSERT_TRUE(stopped.ok());
  std::this_thread::sleep_for(300ms);
  auto later = client_->Get<api::Lease>(kLeaseNamespace, "n3");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->spec.renew_time.time, stopped->spec.renew_time.time);
}

TEST_F(NodeAgentTest, PodCidrCallbackFiresOnChange) {
  std::mutex mu;
  std::vector<std::vector<std::string>> seen;
  NodeAgentOptions o = Options("n4");
  o.on_pod_cidrs = [&](const std::vector<std::string>& c) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(c);
  };
  auto agent = NodeAgent::Start(std::move(o));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto set_cidrs = [&](std::vector<std::string> cidrs) {
    for (int i = 0; i < 20; ++i) {
      auto n = client_->Get<api::Node>("", "n4");
      ASSERT_TRUE(n.ok());
      n->spec.pod_cidr = cidrs[0];
      n->spec.pod_cidrs = cidrs;
      auto u = client_->Update(*n);
      if (u.ok()) return;
      ASSERT_TRUE(client::IsConflict(u.status())) << u.status().ToString();
    }
    FAIL() << "too many conflicts";
  };
  set_cidrs({"10.244.9.0/24"});
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return seen.size() == 1;
      },
      5s));
  set_cidrs({"10.244.9.0/24", "fd00:9::/64"});
  ASSERT_TRUE(Eventually(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return seen.size() == 2;
      },
      5s));
  // Status writes (every 50 ms here) do not fire it again.
  std::this_thread::sleep_for(200ms);
  (*agent)->Stop();
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], std::vector<std::string>{"10.244.9.0/24"});
  EXPECT_EQ(seen[1], (std::vector<std::string>{"10.244.9.0/24", "fd00:9::/64"}));
}

TEST_F(NodeAgentTest, SetReadyIsPostedAtOnceAndKeepsTransitionTimes) {
  NodeAgentOptions o = Options("n5");
  o.status_update_frequency = 10s;  // only the change itself may trigger the post
  auto agent = NodeAgent::Start(std::move(o));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto before = client_->Get<api::Node>("", "n5");
  ASSERT_TRUE(before.ok());
  (*agent)->SetReady(false, "KubeletNotReady", "container runtime is down");
  ASSERT_TRUE(Eventually(
      [&] {
        auto n = client_->Get<api::Node>("", "n5");
        const api::NodeCondition* c = n.ok() ? Cond(*n, "Ready") : nullptr;
        return c != nullptr && c->status == "False" && c->reason == "KubeletNotReady" &&
               c->message == "container runtime is down";
      },
      3s));
  auto after = client_->Get<api::Node>("", "n5");
  ASSERT_TRUE(after.ok());
  // MemoryPressure did not change: its lastTransitionTime stays.
  EXPECT_EQ(Cond(*after, "MemoryPressure")->last_transition_time,
            Cond(*before, "MemoryPressure")->last_transition_time);
}

TEST_F(NodeAgentTest, InitiallyNotReadyUntilSetReady) {
  NodeAgentOptions o = Options("n7");
  o.initially_ready = false;
  o.initial_ready_reason = "KubeletNotReady";
  o.initial_ready_message = "cni plugin not initialized";
  auto agent = NodeAgent::Start(std::move(o));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto n = client_->Get<api::Node>("", "n7");
  ASSERT_TRUE(n.ok());
  ASSERT_NE(Cond(*n, "Ready"), nullptr);
  EXPECT_EQ(Cond(*n, "Ready")->status, "False");
  EXPECT_EQ(Cond(*n, "Ready")->message, "cni plugin not initialized");
  (*agent)->SetReady(true, "KubeletReady", "knet agent is posting ready status");
  EXPECT_TRUE(Eventually(
      [&] {
        auto m = client_->Get<api::Node>("", "n7");
        return m.ok() && Cond(*m, "Ready") != nullptr && Cond(*m, "Ready")->status == "True";
      },
      3s));
}

TEST_F(NodeAgentTest, UnchangedStatusIsReportedAtTheReportFrequency) {
  NodeAgentOptions o = Options("n6");
  o.status_report_frequency = 200ms;
  auto agent = NodeAgent::Start(std::move(o));
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto first = client_->Get<api::Node>("", "n6");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(Eventually(
      [&] {
        auto n = client_->Get<api::Node>("", "n6");
        return n.ok() && n->metadata.resource_version != first->metadata.resource_version;
      },
      3s));
}

TEST_F(NodeAgentTest, MissingOptionsAreErrors) {
  NodeAgentOptions o;
  EXPECT_FALSE(NodeAgent::Start(o).ok());
  o.node_name = "x";
  EXPECT_FALSE(NodeAgent::Start(o).ok());
}

}  // namespace
}  // namespace knet::agent::node
