#include "controllers/deployment/deployment_util.h"

#include <gtest/gtest.h>

namespace knet::controllers::deployment {
namespace {

api::Deployment MakeDeployment(int32_t replicas, const std::string& surge,
                               const std::string& unavailable) {
  api::Deployment d;
  d.metadata.name = "web";
  d.spec.replicas = replicas;
  d.spec.strategy.type = "RollingUpdate";
  auto parse = [](const std::string& s) {
    return s.back() == '%' ? api::IntOrString::FromString(s)
                           : api::IntOrString::FromInt(std::stoi(s));
  };
  d.spec.strategy.rolling_update.emplace();
  d.spec.strategy.rolling_update->max_surge = parse(surge);
  d.spec.strategy.rolling_update->max_unavailable = parse(unavailable);
  return d;
}

RSPtr MakeRS(const std::string& name, int32_t replicas, int64_t created_s) {
  auto rs = std::make_shared<api::ReplicaSet>();
  rs->metadata.name = name;
  rs->metadata.uid = name + "-uid";
  rs->metadata.creation_timestamp = api::Time::FromUnixSeconds(created_s);
  rs->spec.replicas = replicas;
  return rs;
}

TEST(ComputeHashTest, StableSafeAndSensitiveToTemplateAndCollisions) {
  api::PodTemplateSpec t;
  t.metadata.labels["app"] = "web";
  api::Container c;
  c.name = "c";
  c.image = "nginx:1";
  t.spec.containers.push_back(c);
  std::string h = ComputeHash(t, std::nullopt);
  EXPECT_EQ(h, ComputeHash(t, std::nullopt));
  EXPECT_GE(h.size(), 1u);
  EXPECT_LE(h.size(), 10u);
  EXPECT_EQ(h.find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos) << h;
  EXPECT_NE(h, ComputeHash(t, 1));
  api::PodTemplateSpec t2 = t;
  t2.spec.containers[0].image = "nginx:2";
  EXPECT_NE(h, ComputeHash(t2, std::nullopt));
  // The hash label itself does not make a template different.
  t2 = t;
  t2.metadata.labels[kPodTemplateHashLabel] = h;
  EXPECT_TRUE(EqualIgnoreHash(t, t2));
}

TEST(FencepostsTest, SurgeRoundsUpUnavailableDownNeverBothZero) {
  EXPECT_EQ(MaxSurge(MakeDeployment(3, "25%", "25%")), 1);
  EXPECT_EQ(MaxUnavailable(MakeDeployment(3, "25%", "25%")), 0);
  EXPECT_EQ(MaxUnavailable(MakeDeployment(3, "0", "0")), 1);
  EXPECT_EQ(MaxSurge(MakeDeployment(10, "3", "2")), 3);
  EXPECT_EQ(MaxUnavailable(MakeDeployment(2, "0", "5")), 2);  // capped at replicas
  api::Deployment recreate = MakeDeployment(3, "1", "1");
  recreate.spec.strategy.type = "Recreate";
  EXPECT_EQ(MaxSurge(recreate), 0);
  EXPECT_EQ(MaxUnavailable(recreate), 0);
}

TEST(NewRSNewReplicasTest, GrowsWithinSurge) {
  api::Deployment d = MakeDeployment(3, "1", "0");
  RSPtr old_rs = MakeRS("old", 3, 100), new_rs = MakeRS("new", 0, 200);
  EXPECT_EQ(NewRSNewReplicas(d, {old_rs, new_rs}, *new_rs), 1);
  new_rs->spec.replicas = 1;
  EXPECT_EQ(NewRSNewReplicas(d, {old_rs, new_rs}, *new_rs), 1);  // 4 pods already
  old_rs->spec.replicas = 2;
  old_rs->status.replicas = 3;  // its controller has not removed the third pod yet
  EXPECT_EQ(NewRSNewReplicas(d, {old_rs, new_rs}, *new_rs), 1);
  old_rs->status.replicas = 2;
  EXPECT_EQ(NewRSNewReplicas(d, {old_rs, new_rs}, *new_rs), 2);
}

TEST(GetProportionTest, SplitsByMaxReplicasAnnotation) {
  api::Deployment d = MakeDeployment(20, "3", "2");
  RSPtr old_rs = MakeRS("old", 8, 100), new_rs = MakeRS("new", 5, 200);
  SetReplicasAnnotations(*old_rs, 10, 13);
  SetReplicasAnnotations(*new_rs, 10, 13);
  int32_t p_old = GetProportion(old_rs, d, 10, 0);
  EXPECT_EQ(p_old, 6);  // round(8 * 23 / 13) - 8
  EXPECT_EQ(GetProportion(new_rs, d, 10, p_old), 4);
}

TEST(StatusTest, AvailableConditionAndCompleteness) {
  api::Deployment d = MakeDeployment(3, "1", "0");
  d.metadata.generation = 2;
  RSPtr rs = MakeRS("new", 3, 100);
  rs->status.replicas = 3;
  rs->status.ready_replicas = 3;
  rs->status.available_replicas = 2;
  api::DeploymentStatus s = CalculateStatus({rs}, rs, d, api::Time::FromUnixSeconds(1000));
  EXPECT_EQ(s.unavailable_replicas, 1);
  ASSERT_NE(GetCondition(s, kAvailable), nullptr);
  EXPECT_EQ(GetCondition(s, kAvailable)->reason, kMinimumReplicasUnavailable);
  EXPECT_FALSE(DeploymentComplete(d, s));
  rs->status.available_replicas = 3;
  s = CalculateStatus({rs}, rs, d, api::Time::FromUnixSeconds(1001));
  EXPECT_EQ(GetCondition(s, kAvailable)->reason, kMinimumReplicasAvailable);
  EXPECT_EQ(GetCondition(s, kAvailable)->last_transition_time, api::Time::FromUnixSeconds(1001));
  EXPECT_TRUE(DeploymentComplete(d, s));
}

}  // namespace
}  // namespace knet::controllers::deployment
