#include "controllers/replicaset/replicaset_status.h"

#include <gtest/gtest.h>

namespace knet::controllers {
namespace {

std::shared_ptr<const api::Pod> MakePod(bool ready, int64_t ready_since_s,
                                        std::map<std::string, std::string> labels) {
  auto p = std::make_shared<api::Pod>();
  p->metadata.labels = std::move(labels);
  p->status.phase = "Running";
  api::PodCondition c;
  c.type = "Ready";
  c.status = ready ? "True" : "False";
  c.last_transition_time = api::Time::FromUnixSeconds(ready_since_s);
  p->status.conditions = {c};
  return p;
}

api::ReplicaSet MakeReplicaSet(int32_t replicas, int32_t min_ready_seconds) {
  api::ReplicaSet rs;
  rs.metadata.generation = 4;
  rs.spec.replicas = replicas;
  rs.spec.min_ready_seconds = min_ready_seconds;
  rs.spec.template_.metadata.labels = {{"app", "web"}, {"tier", "fe"}};
  return rs;
}

TEST(CalculateReplicaSetStatusTest, CountsAndAvailabilityAfterMinReadySeconds) {
  api::ReplicaSet rs = MakeReplicaSet(3, 10);
  const api::Time now = api::Time::FromUnixSeconds(1000);
  ReplicaSetStatusUpdate u = CalculateReplicaSetStatus(
      rs,
      {MakePod(true, 980, {{"app", "web"}, {"tier", "fe"}}),  // available
       MakePod(true, 996, {{"app", "web"}, {"tier", "fe"}}),  // ready, available in 6 s
       MakePod(false, 0, {{"app", "web"}})},                  // selector-only labels
      base::OkStatus(), now);
  EXPECT_EQ(u.status.replicas, 3);
  EXPECT_EQ(u.status.fully_labeled_replicas, 2);
  EXPECT_EQ(u.status.ready_replicas, 2);
  EXPECT_EQ(u.status.available_replicas, 1);
  EXPECT_EQ(u.status.observed_generation, 4);
  ASSERT_TRUE(u.recheck_after.has_value());
  EXPECT_EQ(*u.recheck_after, std::chrono::milliseconds(6001));
}

TEST(CalculateReplicaSetStatusTest, ReplicaFailureSetWhileCreatesFailAndClearedAfter) {
  api::ReplicaSet rs = MakeReplicaSet(2, 0);
  const api::Time now = api::Time::FromUnixSeconds(2000);
  base::Status quota = base::PermissionDeniedError("exceeded quota: pods=10");
  ReplicaSetStatusUpdate u = CalculateReplicaSetStatus(rs, {}, quota, now);
  ASSERT_EQ(u.status.conditions.size(), 1u);
  EXPECT_EQ(u.status.conditions[0].type, "ReplicaFailure");
  EXPECT_EQ(u.status.conditions[0].status, "True");
  EXPECT_EQ(u.status.conditions[0].reason, "FailedCreate");
  EXPECT_EQ(u.status.conditions[0].message, "exceeded quota: pods=10");
  EXPECT_EQ(u.status.conditions[0].last_transition_time, now);

  // Failing again keeps the first condition (and its time).
  rs.status = u.status;
  ReplicaSetStatusUpdate again = CalculateReplicaSetStatus(
      rs, {}, base::PermissionDeniedError("other"), api::Time::FromUnixSeconds(2100));
  EXPECT_EQ(again.status, rs.status);

  // A sync that manages its replicas clears it.
  ReplicaSetStatusUpdate ok = CalculateReplicaSetStatus(rs, {}, base::OkStatus(), now);
  EXPECT_TRUE(ok.status.conditions.empty());

  // Too many pods and deletes fail: FailedDelete.
  api::ReplicaSet zero = MakeReplicaSet(0, 0);
  ReplicaSetStatusUpdate del = CalculateReplicaSetStatus(zero, {MakePod(true, 1, {{"app", "web"}})},
                                                         base::UnavailableError("timeout"), now);
  ASSERT_EQ(del.status.conditions.size(), 1u);
  EXPECT_EQ(del.status.conditions[0].reason, "FailedDelete");
}

}  // namespace
}  // namespace knet::controllers
