#include "controllers/nodelifecycle/internal/node_health.h"

#include <gtest/gtest.h>

namespace knet::controllers::nodelifecycle_internal {
namespace {

using std::chrono::seconds;

TEST(HealthTrackerTest, ClockStartsAtFirstSightAndMovesOnlyOnChange) {
  HealthTracker h;
  const auto t0 = HealthTracker::Clock::now();
  HealthTracker::Observation o;
  o.lease_renew_time = api::Time::FromUnixSeconds(100);
  EXPECT_EQ(h.Observe("n", o, t0), t0);
  EXPECT_EQ(h.Observe("n", o, t0 + seconds(30)), t0);  // nothing moved
  // The remote timestamp's value does not matter, only that it changed (even backwards).
  o.lease_renew_time = api::Time::FromUnixSeconds(50);
  EXPECT_EQ(h.Observe("n", o, t0 + seconds(31)), t0 + seconds(31));
  o.ready_heartbeat_time = api::Time::FromUnixSeconds(60);
  EXPECT_EQ(h.Observe("n", o, t0 + seconds(40)), t0 + seconds(40));
  h.Forget("n");
  EXPECT_EQ(h.Observe("n", o, t0 + seconds(50)), t0 + seconds(50));
}

api::Taint T(const char* key, const char* effect, int64_t added = 0) {
  api::Taint t;
  t.key = key;
  t.effect = effect;
  t.time_added = api::Time::FromUnixSeconds(added);
  return t;
}

TEST(SyncTaintsTest, FollowsReadyCondition) {
  const api::Time now = api::Time::FromUnixSeconds(1000);
  const std::vector<api::Taint> base = {T("dedicated", "NoSchedule")};
  std::vector<api::Taint> unknown = SyncTaints(base, "Unknown", now);
  ASSERT_EQ(unknown.size(), 3u);
  EXPECT_EQ(unknown[0], base[0]);
  EXPECT_EQ(unknown[1], T(kTaintUnreachable, "NoSchedule", 1000));
  EXPECT_EQ(unknown[2], T(kTaintUnreachable, "NoExecute", 1000));
  // Already there: unchanged, timeAdded kept.
  EXPECT_EQ(SyncTaints(unknown, "Unknown", api::Time::FromUnixSeconds(2000)), unknown);
  // Reported not ready: unreachable swapped for not-ready.
  std::vector<api::Taint> not_ready = SyncTaints(unknown, "False", now);
  EXPECT_EQ(not_ready, (std::vector<api::Taint>{base[0], T(kTaintNotReady, "NoSchedule", 1000),
                                                T(kTaintNotReady, "NoExecute", 1000)}));
  EXPECT_EQ(SyncTaints(not_ready, "True", now), base);
  // No Ready condition yet: hands off.
  EXPECT_EQ(SyncTaints(unknown, "", now), unknown);
}

}  // namespace
}  // namespace knet::controllers::nodelifecycle_internal
