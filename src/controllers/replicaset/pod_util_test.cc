#include "controllers/replicaset/pod_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace knet::controllers {
namespace {

api::Pod P(const std::string& name, int64_t created_s) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.creation_timestamp = api::Time::FromUnixSeconds(created_s);
  p.status.phase = "Running";
  p.spec.node_name = "n1";
  return p;
}

void SetReady(api::Pod& p, int64_t since_s) {
  api::PodCondition c;
  c.type = "Ready";
  c.status = "True";
  c.last_transition_time = api::Time::FromUnixSeconds(since_s);
  p.status.conditions = {c};
}

std::vector<std::string> Ranked(std::vector<api::Pod> pods) {
  std::sort(pods.begin(), pods.end(), ActivePodsLess);
  std::vector<std::string> out;
  for (const api::Pod& p : pods) out.push_back(p.metadata.name);
  return out;
}

TEST(ActivePodsLessTest, RanksAsUpstream) {
  api::Pod unassigned = P("unassigned", 100);
  unassigned.spec.node_name.clear();
  SetReady(unassigned, 100);
  api::Pod pending = P("pending", 100);
  pending.status.phase = "Pending";
  api::Pod unknown = P("unknown", 100);
  unknown.status.phase = "Unknown";
  api::Pod not_ready = P("not-ready", 100);
  api::Pod ready_recent = P("ready-recent", 100);
  SetReady(ready_recent, 500);
  api::Pod ready_long = P("ready-long", 100);
  SetReady(ready_long, 200);
  EXPECT_EQ(Ranked({ready_long, ready_recent, not_ready, unknown, pending, unassigned}),
            (std::vector<std::string>{"unassigned", "pending", "unknown", "not-ready",
                                      "ready-recent", "ready-long"}));
}

TEST(ActivePodsLessTest, MoreRestartsThenNewerFirst) {
  api::Pod old_pod = P("old", 100), new_pod = P("new", 200), crashy = P("crashy", 50);
  api::ContainerStatus cs;
  cs.restart_count = 3;
  crashy.status.container_statuses = {cs};
  EXPECT_EQ(Ranked({old_pod, new_pod, crashy}), (std::vector<std::string>{"crashy", "new", "old"}));
}

TEST(PodUtilTest, ActiveAndAvailable) {
  api::Pod p = P("p", 100);
  EXPECT_TRUE(IsPodActive(p));
  p.status.phase = "Succeeded";
  EXPECT_FALSE(IsPodActive(p));
  p.status.phase = "Running";
  p.metadata.deletion_timestamp = api::Time::FromUnixSeconds(300);
  EXPECT_FALSE(IsPodActive(p));

  api::Pod r = P("r", 100);
  EXPECT_FALSE(IsPodAvailable(r, 0, api::Time::FromUnixSeconds(1000)));
  SetReady(r, 1000);
  EXPECT_TRUE(IsPodAvailable(r, 0, api::Time::FromUnixSeconds(1000)));
  EXPECT_FALSE(IsPodAvailable(r, 10, api::Time::FromUnixSeconds(1005)));
  EXPECT_EQ(TimeUntilAvailable(r, 10, api::Time::FromUnixSeconds(1005)),
            std::chrono::milliseconds(5001));
  EXPECT_TRUE(IsPodAvailable(r, 10, api::Time::FromUnixSeconds(1011)));
}

}  // namespace
}  // namespace knet::controllers
