#include "controllers/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "api/apps.h"
#include "api/core.h"
#include "controllers/internal/test_env.h"

namespace knet::controllers {
namespace {

class SchedulerTest : public testing::ControllerTest {
 protected:
  void TearDown() override {
    if (scheduler_) scheduler_->Stop();
    scheduler_.reset();
    ControllerTest::TearDown();
  }
  void StartScheduler() {
    scheduler_ = std::make_unique<Scheduler>(
        informers_.get(), SchedulerOptions{.initial_backoff = std::chrono::milliseconds(100),
                                           .max_backoff = std::chrono::milliseconds(500)});
    StartInformers();
    scheduler_->Start();
  }

  api::Pod CreatePod(api::Pod p) {
    auto created = client_->Create(p);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : p;
  }
  std::string NodeOf(const std::string& name) {
    auto p = client_->Get<api::Pod>("default", name);
    return p.ok() ? p->spec.node_name : "";
  }
  std::optional<api::PodCondition> Scheduled(const std::string& name) {
    auto p = client_->Get<api::Pod>("default", name);
    if (!p.ok()) return std::nullopt;
    for (const api::PodCondition& c : p->status.conditions) {
      if (c.type == "PodScheduled") return c;
    }
    return std::nullopt;
  }
  std::vector<api::Event> EventsFor(const std::string& pod) {
    std::vector<api::Event> out;
    auto list = client_->List<api::Event>("default");
    if (!list.ok()) return out;
    for (api::Event& e : list->items) {
      if (e.involved_object.kind == "Pod" && e.involved_object.name == pod) out.push_back(e);
    }
    return out;
  }
  void MutateNode(const std::string& name, const std::function<void(api::Node&)>& f,
                  bool status = false) {
    auto n = client_->Get<api::Node>("", name);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    f(*n);
    auto r = status ? client_->UpdateStatus(*n) : client_->Update(*n);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // A ReplicaSet to own pods (the API server collects pods whose owner does not exist).
  api::OwnerReference MakeOwner(const std::string& name) {
    api::ReplicaSet rs;
    rs.metadata.name = name;
    rs.metadata.namespace_ = "default";
    rs.spec.replicas = 0;
    rs.spec.selector = api::LabelSelector{};
    rs.spec.selector->match_labels["app"] = name;
    rs.spec.template_.metadata.labels["app"] = name;
    rs.spec.template_.spec = MakePod("x").spec;
    auto owner = client_->Create(rs);
    EXPECT_TRUE(owner.ok()) << owner.status().ToString();
    api::OwnerReference ref;
    ref.api_version = "apps/v1";
    ref.kind = "ReplicaSet";
    ref.name = name;
    ref.uid = owner.ok() ? owner->metadata.uid : "";
    ref.controller = true;
    return ref;
  }

  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, SpreadsReplicasOfOneOwnerEvenly) {
  for (const char* n : {"n1", "n2", "n3"}) CreateNode(n);
  const api::OwnerReference ref = MakeOwner("web");
  // An unrelated pod already on n1 must not change the per-owner spread (only the tie-break).
  api::Pod other = MakePod("other", "other");
  other.spec.node_name = "n1";
  CreatePod(other);
  // The whole burst exists before the scheduler starts, and the pod informer does not see the
  // bindings (its watch is paused): only the assumed cache keeps the replicas from piling onto
  // the emptiest node.
  for (int i = 0; i < 6; ++i) {
    api::Pod p = MakePod("web-" + std::to_string(i));
    p.metadata.owner_references.push_back(ref);
    CreatePod(p);
  }
  scheduler_ = std::make_unique<Scheduler>(informers_.get());
  StartInformers();
  informers_->pods().PauseWatchForTesting();
  scheduler_->Start();
  std::map<std::string, int> per_node;
  ASSERT_TRUE(Eventually([&] {
    per_node.clear();
    for (int i = 0; i < 6; ++i) {
      std::string n = NodeOf("web-" + std::to_string(i));
      if (n.empty()) return false;
      ++per_node[n];
    }
    return true;
  }));
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"n1", 2}, {"n2", 2}, {"n3", 2}}));
  informers_->pods().ResumeWatchForTesting();
  // The API server set PodScheduled=True; we recorded "Scheduled".
  ASSERT_TRUE(Scheduled("web-0").has_value());
  EXPECT_EQ(Scheduled("web-0")->status, "True");
  ASSERT_TRUE(Eventually([&] { return !EventsFor("web-0").empty(); }));
  api::Event ev = EventsFor("web-0").front();
  EXPECT_EQ(ev.reason, "Scheduled");
  EXPECT_EQ(ev.message, "Successfully assigned default/web-0 to " + NodeOf("web-0"));
}

TEST_F(SchedulerTest, BurstOfReplicasWhileRunningSpreadsEvenly) {
  for (const char* n : {"n1", "n2", "n3", "n4"}) CreateNode(n);
  StartScheduler();
  const api::OwnerReference ref = MakeOwner("burst");
  constexpr int kReplicas = 100;
  for (int i = 0; i < kReplicas; ++i) {
    api::Pod p = MakePod("burst-" + std::to_string(i), "burst");
    p.metadata.owner_references.push_back(ref);
    CreatePod(p);
  }
  std::map<std::string, int> per_node;
  ASSERT_TRUE(Eventually([&] {
    auto pods = client_->List<api::Pod>("default");
    if (!pods.ok()) return false;
    per_node.clear();
    int bound = 0;
    for (const api::Pod& p : pods->items) {
      if (p.spec.node_name.empty()) continue;
      ++per_node[p.spec.node_name];
      ++bound;
    }
    return bound == kReplicas;
  }));
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"n1", 25}, {"n2", 25}, {"n3", 25}, {"n4", 25}}));
}

TEST_F(SchedulerTest, HonoursNodeSelector) {
  CreateNode("a", {{"zone", "a"}});
  CreateNode("b", {{"zone", "b"}});
  StartScheduler();
  for (int i = 0; i < 3; ++i) {
    api::Pod p = MakePod("p" + std::to_string(i));
    p.spec.node_selector["zone"] = "b";
    CreatePod(p);
  }
  for (int i = 0; i < 3; ++i) {
    const std::string name = "p" + std::to_string(i);
    ASSERT_TRUE(Eventually([&] { return !NodeOf(name).empty(); })) << name;
    EXPECT_EQ(NodeOf(name), "b");
  }
}

TEST_F(SchedulerTest, SkipsUnschedulableNotReadyAndTaintedNodesUnlessTolerated) {
  CreateNode("cordoned");
  MutateNode("cordoned", [](api::Node& n) { n.spec.unschedulable = true; });
  CreateNode("notready", {}, /*ready=*/false);
  CreateNode("tainted");
  MutateNode("tainted", [](api::Node& n) {
    api::Taint t;
    t.key = "dedicated";
    t.value = "db";
    t.effect = "NoSchedule";
    n.spec.taints.push_back(t);
  });
  CreateNode("ok");
  StartScheduler();
  for (int i = 0; i < 3; ++i) CreatePod(MakePod("p" + std::to_string(i)));
  for (int i = 0; i < 3; ++i) {
    const std::string name = "p" + std::to_string(i);
    ASSERT_TRUE(Eventually([&] { return !NodeOf(name).empty(); })) << name;
    EXPECT_EQ(NodeOf(name), "ok");
  }
  // Tolerating the taint opens "tainted", which is emptier than "ok".
  api::Pod tol = MakePod("tolerating");
  api::Toleration t;
  t.key = "dedicated";
  t.operator_ = "Equal";
  t.value = "db";
  t.effect = "NoSchedule";
  tol.spec.tolerations.push_back(t);
  CreatePod(tol);
  ASSERT_TRUE(Eventually([&] { return !NodeOf("tolerating").empty(); }));
  EXPECT_EQ(NodeOf("tolerating"), "tainted");
}

TEST_F(SchedulerTest, UnschedulablePodGetsConditionAndIsBoundWhenANodeAppears) {
  CreateNode("cordoned", {{"zone", "b"}});
  MutateNode("cordoned", [](api::Node& n) { n.spec.unschedulable = true; });
  CreateNode("unreachable", {{"zone", "b"}});
  MutateNode("unreachable", [](api::Node& n) {
    api::Taint t;
    t.key = "node.kubernetes.io/unreachable";
    t.effect = "NoExecute";
    n.spec.taints.push_back(t);
  });
  CreateNode("zone-a", {{"zone", "a"}});
  StartScheduler();
  api::Pod p = MakePod("picky");
  p.spec.node_selector["zone"] = "b";
  CreatePod(p);
  const std::string want =
      "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) "
      "had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable.";
  ASSERT_TRUE(Eventually([&] {
    auto c = Scheduled("picky");
    return c && c->status == "False";
  }));
  auto c = Scheduled("picky");
  EXPECT_EQ(c->reason, "Unschedulable");
  EXPECT_EQ(c->message, want);
  EXPECT_EQ(NodeOf("picky"), "");
  ASSERT_TRUE(Eventually([&] {
    for (const api::Event& e : EventsFor("picky")) {
      if (e.reason == "FailedScheduling" && e.type == "Warning" && e.message == want) return true;
    }
    return false;
  }));

  CreateNode("zone-b", {{"zone", "b"}});
  ASSERT_TRUE(Eventually([&] { return !NodeOf("picky").empty(); }));
  EXPECT_EQ(NodeOf("picky"), "zone-b");
  EXPECT_EQ(Scheduled("picky")->status, "True");
}

TEST_F(SchedulerTest, LeavesBoundAndForeignPodsAlone) {
  CreateNode("n1");
  api::Pod bound = MakePod("bound");
  bound.spec.node_name = "elsewhere";
  CreatePod(bound);
  api::Pod foreign = MakePod("foreign");
  foreign.spec.scheduler_name = "my-scheduler";
  CreatePod(foreign);
  StartScheduler();
  CreatePod(MakePod("mine"));
  ASSERT_TRUE(Eventually([&] { return NodeOf("mine") == "n1"; }));
  EXPECT_EQ(NodeOf("bound"), "elsewhere");
  EXPECT_EQ(NodeOf("foreign"), "");
  EXPECT_FALSE(Scheduled("foreign").has_value());
  EXPECT_TRUE(EventsFor("bound").empty());
  EXPECT_TRUE(EventsFor("foreign").empty());
}

TEST_F(SchedulerTest, RespectsPodCapacity) {
  CreateNode("small");
  MutateNode(
      "small",
      [](api::Node& n) {
        n.status.allocatable["pods"] = *api::Quantity::Parse("2");
        n.status.capacity["pods"] = *api::Quantity::Parse("10");
      },
      /*status=*/true);
  StartScheduler();
  for (int i = 0; i < 3; ++i) CreatePod(MakePod("p" + std::to_string(i)));
  int bound = 0;
  std::string pending;
  ASSERT_TRUE(Eventually([&] {
    bound = 0;
    pending.clear();
    for (int i = 0; i < 3; ++i) {
      const std::string name = "p" + std::to_string(i);
      if (!NodeOf(name).empty()) {
        ++bound;
      } else if (auto c = Scheduled(name); c && c->status == "False") {
        pending = name;
      }
    }
    return bound == 2 && !pending.empty();
  }));
  EXPECT_EQ(Scheduled(pending)->message, "0/1 nodes are available: 1 Too many pods.");
  // Raising allocatable is a node change that retries the pending pod at once.
  MutateNode(
      "small", [](api::Node& n) { n.status.allocatable["pods"] = *api::Quantity::Parse("3"); },
      /*status=*/true);
  ASSERT_TRUE(Eventually([&] { return NodeOf(pending) == "small"; }));
}

TEST_F(SchedulerTest, DeletingABoundPodRetriesUnschedulablePodsAtOnce) {
  CreateNode("one");
  MutateNode(
      "one", [](api::Node& n) { n.status.allocatable["pods"] = *api::Quantity::Parse("1"); },
      /*status=*/true);
  // A backoff far longer than the wait below: only the delete event can explain the retry.
  scheduler_ = std::make_unique<Scheduler>(
      informers_.get(), SchedulerOptions{.initial_backoff = std::chrono::seconds(30),
                                         .max_backoff = std::chrono::seconds(30)});
  StartInformers();
  scheduler_->Start();
  CreatePod(MakePod("first"));
  ASSERT_TRUE(Eventually([&] { return NodeOf("first") == "one"; }));
  CreatePod(MakePod("second"));
  ASSERT_TRUE(Eventually([&] {
    auto c = Scheduled("second");
    return c && c->status == "False";
  }));
  EXPECT_EQ(Scheduled("second")->message, "0/1 nodes are available: 1 Too many pods.");
  // Gone at once (a graceful delete keeps the pod, and its slot, until the agent confirms).
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "first", {.grace_period_seconds = 0}).ok());
  EXPECT_TRUE(Eventually([&] { return NodeOf("second") == "one"; }, std::chrono::seconds(3)));
}

}  // namespace
}  // namespace knet::controllers
