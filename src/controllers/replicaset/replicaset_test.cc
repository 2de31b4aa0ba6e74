#include "controllers/replicaset/replicaset.h"

#include <gtest/gtest.h>

#include <set>

#include "controllers/internal/test_env.h"

namespace knet::controllers {
namespace {

using testing::ControllerTest;

class ReplicaSetControllerTest : public ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    rsc_ = std::make_unique<ReplicaSetController>(informers_.get());
    StartInformers();
    rsc_->Start();
  }
  void TearDown() override {
    // Handlers hold `this`: stop the informers before the controller goes away.
    if (rsc_) rsc_->Stop();
    informers_->Stop();
    rsc_.reset();
    ControllerTest::TearDown();
  }

  static api::ReplicaSet MakeReplicaSet(const std::string& name, int32_t replicas,
                                        const std::string& app = "web") {
    api::ReplicaSet rs;
    rs.metadata.name = name;
    rs.metadata.namespace_ = "default";
    rs.spec.replicas = replicas;
    rs.spec.selector.emplace().match_labels["app"] = app;
    api::Pod tmpl = MakePod("unused", app);
    rs.spec.template_.metadata.labels = tmpl.metadata.labels;
    rs.spec.template_.metadata.annotations["note"] = "from-template";
    rs.spec.template_.spec = tmpl.spec;
    return rs;
  }

  api::ReplicaSet Create(const api::ReplicaSet& rs) {
    auto created = client_->Create(rs);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : rs;
  }

  // Active pods (not terminating) in default with app=<app>, by name.
  std::vector<api::Pod> Pods(const std::string& app = "web") {
    auto list = client_->List<api::Pod>("default", {.label_selector = "app=" + app});
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<api::Pod> out;
    if (!list.ok()) return out;
    for (api::Pod& p : list->items) {
      if (p.metadata.deletion_timestamp.IsZero()) out.push_back(std::move(p));
    }
    return out;
  }

  void Scale(const std::string& name, int32_t replicas) {
    auto r = client_->Patch<api::ReplicaSet>(
        "default", name, client::PatchType::kMerge,
        R"({"spec":{"replicas":)" + std::to_string(replicas) + "}}");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  api::ReplicaSet GetRS(const std::string& name) {
    auto r = client_->Get<api::ReplicaSet>("default", name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : api::ReplicaSet{};
  }

  std::unique_ptr<ReplicaSetController> rsc_;
};

TEST_F(ReplicaSetControllerTest, CreatesPodsFromTemplateWithControllerRef) {
  api::ReplicaSet rs = Create(MakeReplicaSet("web", 3));
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 3; }));
  for (const api::Pod& p : Pods()) {
    EXPECT_EQ(p.metadata.name.rfind("web-", 0), 0u) << p.metadata.name;
    EXPECT_EQ(p.metadata.annotations.at("note"), "from-template");
    ASSERT_EQ(p.metadata.owner_references.size(), 1u);
    const api::OwnerReference& ref = p.metadata.owner_references[0];
    EXPECT_EQ(ref.api_version, "apps/v1");
    EXPECT_EQ(ref.kind, "ReplicaSet");
    EXPECT_EQ(ref.name, "web");
    EXPECT_EQ(ref.uid, rs.metadata.uid);
    EXPECT_EQ(ref.controller, true);
    EXPECT_EQ(ref.block_owner_deletion, true);
  }
  ASSERT_TRUE(Eventually([&] {
    api::ReplicaSet got = GetRS("web");
    return got.status.replicas == 3 && got.status.fully_labeled_replicas == 3 &&
           got.status.observed_generation == got.metadata.generation;
  }));
}

TEST_F(ReplicaSetControllerTest, ScaleUpThenDownRemovesNotReadyFirst) {
  Create(MakeReplicaSet("web", 3));
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 3; }));
  std::vector<api::Pod> first = Pods();
  ASSERT_TRUE(SetPodReady("default", first[0].metadata.name, "10.244.0.10").ok());
  ASSERT_TRUE(SetPodReady("default", first[1].metadata.name, "10.244.0.11").ok());
  ASSERT_TRUE(SetPodReady("default", first[2].metadata.name, "10.244.0.12", false).ok());

  Scale("web", 5);
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 5; }));
  ASSERT_TRUE(Eventually([&] { return GetRS("web").status.ready_replicas == 2; }));

  Scale("web", 2);
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 2; }));
  std::set<std::string> left;
  for (const api::Pod& p : Pods()) left.insert(p.metadata.name);
  EXPECT_EQ(left, (std::set<std::string>{first[0].metadata.name, first[1].metadata.name}));
  ASSERT_TRUE(Eventually([&] {
    api::ReplicaSet got = GetRS("web");
    return got.status.replicas == 2 && got.status.ready_replicas == 2 &&
           got.status.available_replicas == 2;
  }));
}

TEST_F(ReplicaSetControllerTest, DeletedPodIsReplaced) {
  Create(MakeReplicaSet("web", 2));
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 2; }));
  std::string victim = Pods()[0].metadata.name;
  ASSERT_TRUE(client_->Delete<api::Pod>("default", victim).ok());
  ASSERT_TRUE(Eventually([&] {
    std::vector<api::Pod> pods = Pods();
    return pods.size() == 2 && pods[0].metadata.name != victim && pods[1].metadata.name != victim;
  }));
}

TEST_F(ReplicaSetControllerTest, AdoptsOrphanAndReleasesPodThatStopsMatching) {
  api::Pod orphan = MakePod("orphan");
  ASSERT_TRUE(client_->Create(orphan).ok());
  // The orphan was there first: the controller's cache must know it before the ReplicaSet
  // appears, or it would rightly create two pods and then find one too many.
  ASSERT_TRUE(
      Eventually([&] { return informers_->pods().GetShared("default", "orphan") != nullptr; }));
  api::ReplicaSet rs = Create(MakeReplicaSet("web", 2));
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 2; }));
  auto adopted = client_->Get<api::Pod>("default", "orphan");
  ASSERT_TRUE(Eventually([&] {
    adopted = client_->Get<api::Pod>("default", "orphan");
    return adopted.ok() && adopted->metadata.owner_references.size() == 1;
  }));
  EXPECT_EQ(adopted->metadata.owner_references[0].uid, rs.metadata.uid);
  EXPECT_EQ(adopted->metadata.owner_references[0].controller, true);
  EXPECT_EQ(Pods().size(), 2u) << "the orphan counts: only one pod is created";

  // Relabel the adopted pod: it is released and replaced.
  ASSERT_TRUE(client_
                  ->Patch<api::Pod>("default", "orphan", client::PatchType::kMerge,
                                    R"({"metadata":{"labels":{"app":"other"}}})")
                  .ok());
  ASSERT_TRUE(Eventually([&] {
    auto p = client_->Get<api::Pod>("default", "orphan");
    return p.ok() && p->metadata.owner_references.empty();
  }));
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 2; }));
  for (const api::Pod& p : Pods()) EXPECT_NE(p.metadata.name, "orphan");
  EXPECT_EQ(Pods("other").size(), 1u);
}

TEST_F(ReplicaSetControllerTest, AvailableReplicasWaitForMinReadySeconds) {
  api::ReplicaSet rs = MakeReplicaSet("web", 2);
  // Two seconds: the wire truncates the Ready time to the second, so availability comes
  // between one and two seconds after the pods turn ready.
  rs.spec.min_ready_seconds = 2;
  Create(rs);
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 2; }));
  // Play the kubelet, with the Ready transition time the kubelet would record.
  auto ready_at = std::chrono::steady_clock::now();
  for (const api::Pod& p : Pods()) {
    auto got = SetPodReady("default", p.metadata.name, "10.244.0.20");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    for (api::PodCondition& c : got->status.conditions) c.last_transition_time = api::Time::Now();
    ASSERT_TRUE(client_->UpdateStatus(*got).ok());
  }
  ASSERT_TRUE(Eventually([&] { return GetRS("web").status.ready_replicas == 2; }));
  if (std::chrono::steady_clock::now() - ready_at < std::chrono::milliseconds(900)) {
    EXPECT_EQ(GetRS("web").status.available_replicas, 0);
  }
  ASSERT_TRUE(Eventually([&] { return GetRS("web").status.available_replicas == 2; },
                         std::chrono::seconds(5)));
  EXPECT_EQ(GetRS("web").status.fully_labeled_replicas, 2);
}

TEST_F(ReplicaSetControllerTest, BurstScaleCreatesExactlyTheReplicas) {
  Create(MakeReplicaSet("web", 1));
  ASSERT_TRUE(Eventually([&] { return Pods().size() == 1; }));
  Scale("web", 50);
  ASSERT_TRUE(Eventually([&] { return GetRS("web").status.replicas == 50; }));
  // Every sync since must have seen its own creates: there is never a 51st pod.
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < end) {
    ASSERT_EQ(Pods().size(), 50u);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Scale("web", 0);
  ASSERT_TRUE(Eventually([&] { return Pods().empty(); }));
}

TEST_F(ReplicaSetControllerTest, OverlappingReplicaSetsKeepTheirOwnPods) {
  api::ReplicaSet a = Create(MakeReplicaSet("a", 2));
  api::ReplicaSet b = Create(MakeReplicaSet("b", 3));
  auto owned_by = [&](const std::string& uid) {
    int n = 0;
    for (const api::Pod& p : Pods()) {
      n += !p.metadata.owner_references.empty() && p.metadata.owner_references[0].uid == uid;
    }
    return n;
  };
  ASSERT_TRUE(
      Eventually([&] { return owned_by(a.metadata.uid) == 2 && owned_by(b.metadata.uid) == 3; }));
  // Each sees the other's pods through its selector but counts only its own.
  ASSERT_TRUE(Eventually(
      [&] { return GetRS("a").status.replicas == 2 && GetRS("b").status.replicas == 3; }));
  EXPECT_EQ(Pods().size(), 5u);
}

}  // namespace
}  // namespace knet::controllers
