#include "controllers/deployment/deployment.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "api/core.h"
#include "controllers/internal/test_env.h"
#include "controllers/replicaset/pod_util.h"
#include "controllers/replicaset/replicaset.h"

namespace knet::controllers {
namespace {

using testing::ControllerTest;
namespace du = deployment;

// Deployments need pods, so the ReplicaSet controller runs too; a fake kubelet (a thread that
// marks every pod Running and Ready) plays the node when a test turns it on.
class DeploymentControllerTest : public ControllerTest {
 protected:
  void SetUp() override {
    ControllerTest::SetUp();
    rsc_ = std::make_unique<ReplicaSetController>(informers_.get());
    dc_ = std::make_unique<DeploymentController>(informers_.get());
    StartInformers();
    rsc_->Start();
    dc_->Start();
  }
  void TearDown() override {
    StopKubelet();
    if (dc_) dc_->Stop();
    if (rsc_) rsc_->Stop();
    informers_->Stop();  // handlers hold the controllers
    dc_.reset();
    rsc_.reset();
    ControllerTest::TearDown();
  }

  void StartKubelet() {
    kubelet_stop_ = false;
    kubelet_ = std::thread([this] {
      int ip = 1;
      while (!kubelet_stop_) {
        auto pods = client_->List<api::Pod>("default");
        if (pods.ok()) {
          for (const api::Pod& p : pods->items) {
            if (!p.metadata.deletion_timestamp.IsZero() || IsPodReady(p)) continue;
            (void)SetPodReady("default", p.metadata.name, "10.244.1." + std::to_string(ip++ % 250));
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  void StopKubelet() {
    kubelet_stop_ = true;
    if (kubelet_.joinable()) kubelet_.join();
  }

  static api::Deployment MakeDeployment(const std::string& name, int32_t replicas) {
    api::Deployment d;
    d.metadata.name = name;
    d.metadata.namespace_ = "default";
    d.spec.replicas = replicas;
    d.spec.selector.emplace().match_labels["app"] = name;
    api::Pod tmpl = MakePod("unused", name);
    d.spec.template_.metadata.labels = tmpl.metadata.labels;
    d.spec.template_.spec = tmpl.spec;
    return d;
  }
  static void SetRolling(api::Deployment& d, int32_t surge, int32_t unavailable) {
    d.spec.strategy.type = "RollingUpdate";
    d.spec.strategy.rolling_update.emplace();
    d.spec.strategy.rolling_update->max_surge = api::IntOrString::FromInt(surge);
    d.spec.strategy.rolling_update->max_unavailable = api::IntOrString::FromInt(unavailable);
  }

  api::Deployment Create(const api::Deployment& d) {
    auto created = client_->Create(d);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : d;
  }
  api::Deployment Get(const std::string& name) {
    auto d = client_->Get<api::Deployment>("default", name);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : api::Deployment{};
  }
  void Patch(const std::string& name, const std::string& patch) {
    auto r = client_->Patch<api::Deployment>("default", name, client::PatchType::kMerge, patch);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // A template change: a new image tag (read-modify-write, retried on Conflict as clients do:
  // the controller writes the Deployment too).
  void SetImage(const std::string& name, const std::string& image) {
    base::Status last;
    for (int attempt = 0; attempt < 20; ++attempt) {
      api::Deployment d = Get(name);
      d.spec.template_.spec.containers[0].image = image;
      auto r = client_->Update(d);
      if (r.ok()) return;
      last = r.status();
      if (!client::IsConflict(last)) break;
    }
    FAIL() << last.ToString();
  }
  std::vector<api::ReplicaSet> ReplicaSets() {
    auto l = client_->List<api::ReplicaSet>("default");
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? l->items : std::vector<api::ReplicaSet>{};
  }
  // The ReplicaSet whose pods run `image`.
  std::optional<api::ReplicaSet> ReplicaSetWithImage(const std::string& image) {
    for (api::ReplicaSet& rs : ReplicaSets()) {
      if (rs.spec.template_.spec.containers[0].image == image) return rs;
    }
    return std::nullopt;
  }
  std::vector<api::Pod> LivePods(const std::string& app) {
    auto l = client_->List<api::Pod>("default", {.label_selector = "app=" + app});
    std::vector<api::Pod> out;
    if (!l.ok()) return out;
    for (api::Pod& p : l->items) {
      if (p.metadata.deletion_timestamp.IsZero()) out.push_back(std::move(p));
    }
    return out;
  }
  static const api::DeploymentCondition* Cond(const api::Deployment& d, const char* type) {
    return du::GetCondition(d.status, type);
  }
  // What `kubectl rollout status` waits for.
  bool RolloutComplete(const std::string& name, int32_t replicas) {
    api::Deployment d = Get(name);
    const api::DeploymentCondition* p = Cond(d, du::kProgressing);
    return d.status.observed_generation >= d.metadata.generation &&
           d.status.updated_replicas == replicas && d.status.replicas == replicas &&
           d.status.available_replicas == replicas && p && p->reason == du::kNewRSAvailableReason;
  }

  std::unique_ptr<ReplicaSetController> rsc_;
  std::unique_ptr<DeploymentController> dc_;
  std::thread kubelet_;
  std::atomic<bool> kubelet_stop_{false};
};

TEST_F(DeploymentControllerTest, BecomesAvailableWithStatusAnnotationsAndEvent) {
  StartKubelet();
  Create(MakeDeployment("web", 3));
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 3); }));
  api::Deployment d = Get("web");
  EXPECT_EQ(d.status.ready_replicas, 3);
  EXPECT_EQ(d.status.unavailable_replicas, 0);
  ASSERT_NE(Cond(d, du::kAvailable), nullptr);
  EXPECT_EQ(Cond(d, du::kAvailable)->status, "True");
  EXPECT_EQ(Cond(d, du::kAvailable)->reason, du::kMinimumReplicasAvailable);
  EXPECT_EQ(Cond(d, du::kProgressing)->status, "True");
  EXPECT_EQ(d.metadata.annotations[du::kRevisionAnnotation], "1");
  // Settled: no controller keeps rewriting the Deployment or its ReplicaSet.
  {
    const std::string rv = Get("web").metadata.resource_version;
    const std::string rs_rv = ReplicaSets()[0].metadata.resource_version;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(Get("web").metadata.resource_version, rv);
    EXPECT_EQ(ReplicaSets()[0].metadata.resource_version, rs_rv);
  }

  std::vector<api::ReplicaSet> rss = ReplicaSets();
  ASSERT_EQ(rss.size(), 1u);
  const api::ReplicaSet& rs = rss[0];
  const std::string hash = rs.metadata.labels.at(du::kPodTemplateHashLabel);
  EXPECT_EQ(rs.metadata.name, "web-" + hash);
  EXPECT_EQ(hash, du::ComputeHash(d.spec.template_, std::nullopt));
  EXPECT_EQ(rs.spec.selector->match_labels.at(du::kPodTemplateHashLabel), hash);
  EXPECT_EQ(rs.spec.template_.metadata.labels.at(du::kPodTemplateHashLabel), hash);
  EXPECT_EQ(rs.metadata.annotations.at(du::kRevisionAnnotation), "1");
  EXPECT_EQ(rs.metadata.annotations.at(du::kDesiredReplicasAnnotation), "3");
  EXPECT_EQ(rs.metadata.annotations.at(du::kMaxReplicasAnnotation), "4");  // 25% surge of 3
  ASSERT_EQ(rs.metadata.owner_references.size(), 1u);
  EXPECT_EQ(rs.metadata.owner_references[0].uid, d.metadata.uid);
  for (const api::Pod& p : LivePods("web")) {
    EXPECT_EQ(p.metadata.labels.at(du::kPodTemplateHashLabel), hash);
  }
  ASSERT_TRUE(Eventually([&] {
    auto events = client_->List<api::Event>("default");
    if (!events.ok()) return false;
    for (const api::Event& e : events->items) {
      if (e.reason == "ScalingReplicaSet" && e.involved_object.name == "web" &&
          e.message == "Scaled up replica set " + rs.metadata.name + " to 3") {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(DeploymentControllerTest, RollingUpdateKeepsAvailabilityWithinSurge) {
  StartKubelet();
  api::Deployment d = MakeDeployment("web", 3);
  SetRolling(d, 1, 0);
  Create(d);
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 3); }));

  SetImage("web", "busybox:2");
  int max_pods = 0, min_ready = 1000;
  bool done = Eventually(
      [&] {
        std::vector<api::Pod> pods = LivePods("web");
        int ready = 0;
        for (const api::Pod& p : pods) ready += IsPodReady(p) ? 1 : 0;
        max_pods = std::max(max_pods, static_cast<int>(pods.size()));
        min_ready = std::min(min_ready, ready);
        auto new_rs = ReplicaSetWithImage("busybox:2");
        return new_rs && new_rs->status.available_replicas == 3 && RolloutComplete("web", 3) &&
               pods.size() == 3;
      },
      std::chrono::seconds(20));
  ASSERT_TRUE(done);
  EXPECT_LE(max_pods, 4);
  EXPECT_GE(min_ready, 3);

  auto new_rs = ReplicaSetWithImage("busybox:2");
  auto old_rs = ReplicaSetWithImage("busybox");
  ASSERT_TRUE(new_rs && old_rs);
  EXPECT_EQ(new_rs->spec.replicas, 3);
  EXPECT_EQ(old_rs->spec.replicas, 0);
  EXPECT_EQ(new_rs->metadata.annotations.at(du::kRevisionAnnotation), "2");
  EXPECT_EQ(Get("web").metadata.annotations[du::kRevisionAnnotation], "2");
}

TEST_F(DeploymentControllerTest, RecreateStopsOldPodsBeforeStartingNew) {
  StartKubelet();
  api::Deployment d = MakeDeployment("web", 2);
  d.spec.strategy.type = "Recreate";
  Create(d);
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 2); }));

  SetImage("web", "busybox:2");
  bool mixed = false;
  ASSERT_TRUE(Eventually(
      [&] {
        std::set<std::string> hashes;
        for (const api::Pod& p : LivePods("web")) {
          hashes.insert(p.metadata.labels.at(du::kPodTemplateHashLabel));
        }
        mixed = mixed || hashes.size() > 1;
        auto new_rs = ReplicaSetWithImage("busybox:2");
        return new_rs && RolloutComplete("web", 2);
      },
      std::chrono::seconds(20)));
  EXPECT_FALSE(mixed) << "old and new pods ran at the same time";
  EXPECT_EQ(ReplicaSetWithImage("busybox")->spec.replicas, 0);
  EXPECT_EQ(ReplicaSetWithImage("busybox:2")->spec.replicas, 2);
}

TEST_F(DeploymentControllerTest, ScalingMidRolloutIsProportional) {
  StartKubelet();
  api::Deployment d = MakeDeployment("web", 10);
  SetRolling(d, 3, 2);
  Create(d);
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 10); }, std::chrono::seconds(20)));
  StopKubelet();  // the new pods never become ready: the rollout stalls half way

  SetImage("web", "busybox:2");
  // Surge 3 over 10 and at most 2 unavailable: old 10 -> 8, new -> 5, then stuck.
  ASSERT_TRUE(Eventually([&] {
    auto o = ReplicaSetWithImage("busybox"), n = ReplicaSetWithImage("busybox:2");
    return o && n && o->spec.replicas == 8 && n->spec.replicas == 5;
  }));
  Patch("web", R"({"spec":{"replicas":20}})");
  // 10 more within 20+3: old gets round(8*23/13)-8 = 6, new the remaining 4.
  ASSERT_TRUE(Eventually([&] {
    auto o = ReplicaSetWithImage("busybox"), n = ReplicaSetWithImage("busybox:2");
    return o && n && o->spec.replicas == 14 && n->spec.replicas == 9;
  }));
  auto o = ReplicaSetWithImage("busybox");
  EXPECT_EQ(o->metadata.annotations.at(du::kDesiredReplicasAnnotation), "20");
  EXPECT_EQ(o->metadata.annotations.at(du::kMaxReplicasAnnotation), "23");
}

TEST_F(DeploymentControllerTest, PausedStopsRolloutButNotScaling) {
  StartKubelet();
  Create(MakeDeployment("web", 2));
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 2); }));
  Patch("web", R"({"spec":{"paused":true}})");
  ASSERT_TRUE(Eventually([&] {
    api::Deployment got = Get("web");
    const api::DeploymentCondition* c = Cond(got, du::kProgressing);
    return c && c->status == "Unknown" && c->reason == du::kPausedDeployReason;
  }));
  SetImage("web", "busybox:2");
  Patch("web", R"({"spec":{"replicas":3}})");
  ASSERT_TRUE(Eventually([&] {
    auto o = ReplicaSetWithImage("busybox");
    api::Deployment got = Get("web");
    return o && o->spec.replicas == 3 && got.status.observed_generation == got.metadata.generation;
  }));
  EXPECT_FALSE(ReplicaSetWithImage("busybox:2")) << "a paused deployment rolled out";

  Patch("web", R"({"spec":{"paused":false}})");
  ASSERT_TRUE(Eventually(
      [&] {
        auto n = ReplicaSetWithImage("busybox:2");
        return n && n->spec.replicas == 3 && RolloutComplete("web", 3);
      },
      std::chrono::seconds(20)));
}

TEST_F(DeploymentControllerTest, NoProgressPastDeadlineSetsProgressingFalse) {
  api::Deployment d = MakeDeployment("web", 2);
  d.spec.progress_deadline_seconds = 1;
  Create(d);  // no kubelet: the pods never become ready
  ASSERT_TRUE(Eventually(
      [&] {
        api::Deployment got = Get("web");
        const api::DeploymentCondition* c = Cond(got, du::kProgressing);
        return c && c->status == "False" && c->reason == du::kTimedOutReason;
      },
      std::chrono::seconds(5)));
  api::Deployment got = Get("web");
  EXPECT_EQ(Cond(got, du::kAvailable)->status, "False");
  EXPECT_EQ(Cond(got, du::kAvailable)->reason, du::kMinimumReplicasUnavailable);
  EXPECT_EQ(got.status.unavailable_replicas, 2);
  EXPECT_NE(Cond(got, du::kProgressing)->message.find("has timed out progressing"),
            std::string::npos);
}

TEST_F(DeploymentControllerTest, RevisionHistoryLimitDeletesOldestReplicaSets) {
  StartKubelet();
  api::Deployment d = MakeDeployment("web", 1);
  d.spec.revision_history_limit = 1;
  Create(d);
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 1); }));
  for (const char* image : {"busybox:2", "busybox:3"}) {
    SetImage("web", image);
    ASSERT_TRUE(Eventually([&] {
      auto n = ReplicaSetWithImage(image);
      return n && n->status.available_replicas == 1 && RolloutComplete("web", 1);
    }));
  }
  ASSERT_TRUE(Eventually([&] { return ReplicaSets().size() == 2; }));
  EXPECT_FALSE(ReplicaSetWithImage("busybox")) << "revision 1 should have been deleted";
  EXPECT_EQ(ReplicaSetWithImage("busybox:2")->metadata.annotations.at(du::kRevisionAnnotation),
            "2");
  EXPECT_EQ(ReplicaSetWithImage("busybox:3")->metadata.annotations.at(du::kRevisionAnnotation),
            "3");
}

TEST_F(DeploymentControllerTest, RollingUpdateWithoutSurgeReplacesWithinMaxUnavailable) {
  StartKubelet();
  api::Deployment d = MakeDeployment("web", 3);
  SetRolling(d, 0, 1);
  Create(d);
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 3); }));

  SetImage("web", "busybox:2");
  int max_pods = 0, min_ready = 1000;
  ASSERT_TRUE(Eventually(
      [&] {
        std::vector<api::Pod> pods = LivePods("web");
        int ready = 0;
        for (const api::Pod& p : pods) ready += IsPodReady(p) ? 1 : 0;
        max_pods = std::max(max_pods, static_cast<int>(pods.size()));
        min_ready = std::min(min_ready, ready);
        auto new_rs = ReplicaSetWithImage("busybox:2");
        return new_rs && new_rs->status.available_replicas == 3 && RolloutComplete("web", 3) &&
               pods.size() == 3;
      },
      std::chrono::seconds(20)));
  EXPECT_LE(max_pods, 3);
  EXPECT_GE(min_ready, 2);
  EXPECT_EQ(ReplicaSetWithImage("busybox")->spec.replicas, 0);
}

TEST_F(DeploymentControllerTest, AdoptsMatchingOrphanReplicaSetAsItsNewReplicaSet) {
  api::Deployment d = MakeDeployment("web", 2);
  // An orphan ReplicaSet with the Deployment's template, e.g. left by `kubectl delete
  // --cascade=orphan` of an earlier Deployment.
  const std::string hash = du::ComputeHash(d.spec.template_, std::nullopt);
  api::ReplicaSet rs;
  rs.metadata.name = "web-" + hash;
  rs.metadata.namespace_ = "default";
  rs.spec.replicas = 2;
  rs.spec.selector = *d.spec.selector;
  rs.spec.selector->match_labels[du::kPodTemplateHashLabel] = hash;
  rs.spec.template_ = d.spec.template_;
  rs.spec.template_.metadata.labels[du::kPodTemplateHashLabel] = hash;
  rs.metadata.labels = rs.spec.template_.metadata.labels;
  auto orphan = client_->Create(rs);
  ASSERT_TRUE(orphan.ok()) << orphan.status().ToString();
  // As upstream, adoption works from the informer cache: a Deployment synced before the cache
  // shows the orphan would see a name collision instead (collisionCount, a second ReplicaSet).
  ASSERT_TRUE(Eventually(
      [&] { return informers_->replica_sets().Get("default", rs.metadata.name).has_value(); }));
  StartKubelet();
  api::Deployment created = Create(d);
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 2); }));
  std::vector<api::ReplicaSet> rss = ReplicaSets();
  ASSERT_EQ(rss.size(), 1u) << "the orphan should have been adopted, not replaced";
  EXPECT_EQ(rss[0].metadata.uid, orphan->metadata.uid);
  ASSERT_EQ(rss[0].metadata.owner_references.size(), 1u);
  EXPECT_EQ(rss[0].metadata.owner_references[0].uid, created.metadata.uid);
  EXPECT_EQ(rss[0].metadata.annotations.at(du::kRevisionAnnotation), "1");
}

TEST_F(DeploymentControllerTest, HashCollisionBumpsCollisionCount) {
  StartKubelet();
  api::Deployment d = MakeDeployment("web", 1);
  d.spec.paused = true;  // a paused Deployment creates no ReplicaSet yet
  Create(d);
  api::Deployment stored = Get("web");
  const std::string hash = du::ComputeHash(stored.spec.template_, std::nullopt);
  // Someone else's ReplicaSet already has the name the Deployment wants.
  api::ReplicaSet squatter;
  squatter.metadata.name = "web-" + hash;
  squatter.metadata.namespace_ = "default";
  squatter.spec.replicas = 0;
  squatter.spec.selector.emplace().match_labels["app"] = "other";
  squatter.spec.template_.metadata.labels["app"] = "other";
  squatter.spec.template_.spec = stored.spec.template_.spec;
  ASSERT_TRUE(client_->Create(squatter).ok());

  Patch("web", R"({"spec":{"paused":false}})");
  ASSERT_TRUE(Eventually([&] { return RolloutComplete("web", 1); }));
  api::Deployment got = Get("web");
  EXPECT_EQ(got.status.collision_count, 1);
  const std::string next = du::ComputeHash(stored.spec.template_, 1);
  EXPECT_NE(next, hash);
  auto rs = client_->Get<api::ReplicaSet>("default", "web-" + next);
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_EQ(rs->status.available_replicas, 1);
  auto untouched = client_->Get<api::ReplicaSet>("default", "web-" + hash);
  ASSERT_TRUE(untouched.ok());
  EXPECT_TRUE(untouched->metadata.owner_references.empty());
}

}  // namespace
}  // namespace knet::controllers
