#include "controllers/scheduler/internal/node_fit.h"

#include <gtest/gtest.h>

namespace knet::controllers::scheduler_internal {
namespace {

api::Taint MakeTaint(std::string key, std::string value, std::string effect) {
  api::Taint t;
  t.key = std::move(key);
  t.value = std::move(value);
  t.effect = std::move(effect);
  return t;
}

api::Toleration MakeToleration(std::string key, std::string op, std::string value,
                               std::string effect) {
  api::Toleration t;
  t.key = std::move(key);
  t.operator_ = std::move(op);
  t.value = std::move(value);
  t.effect = std::move(effect);
  return t;
}

TEST(NodeFitTest, TolerationMatching) {
  const api::Taint taint = MakeTaint("k", "v", "NoSchedule");
  EXPECT_TRUE(ToleratesTaint(MakeToleration("", "Exists", "", ""), taint));
  EXPECT_TRUE(ToleratesTaint(MakeToleration("k", "Exists", "", ""), taint));
  EXPECT_TRUE(ToleratesTaint(MakeToleration("k", "Equal", "v", "NoSchedule"), taint));
  EXPECT_TRUE(ToleratesTaint(MakeToleration("k", "", "v", ""), taint));  // "" means Equal
  EXPECT_FALSE(ToleratesTaint(MakeToleration("k", "Equal", "w", ""), taint));
  EXPECT_FALSE(ToleratesTaint(MakeToleration("k", "Exists", "", "NoExecute"), taint));
  EXPECT_FALSE(ToleratesTaint(MakeToleration("other", "Exists", "", ""), taint));
  EXPECT_FALSE(ToleratesTaint(MakeToleration("", "Equal", "", ""), taint));
}

TEST(NodeFitTest, MaxPodsPrefersAllocatable) {
  api::Node n;
  EXPECT_EQ(MaxPods(n), kDefaultMaxPods);
  n.status.capacity["pods"] = *api::Quantity::Parse("20");
  EXPECT_EQ(MaxPods(n), 20);
  n.status.allocatable["pods"] = *api::Quantity::Parse("5");
  EXPECT_EQ(MaxPods(n), 5);
}

TEST(NodeFitTest, ChecksInUpstreamOrder) {
  api::Node n;
  api::NodeCondition ready;
  ready.type = "Ready";
  ready.status = "True";
  n.status.conditions = {ready};
  n.status.allocatable["pods"] = *api::Quantity::Parse("1");
  api::Pod p;
  EXPECT_EQ(CheckNode(p, n, 0), std::nullopt);
  EXPECT_EQ(CheckNode(p, n, 1), "Too many pods");
  n.spec.taints.push_back(MakeTaint("soft", "", "PreferNoSchedule"));  // not a filter
  EXPECT_EQ(CheckNode(p, n, 0), std::nullopt);
  n.spec.taints.push_back(MakeTaint("hard", "x", "NoExecute"));
  EXPECT_EQ(CheckNode(p, n, 0), "node(s) had untolerated taint {hard: x}");
  p.spec.tolerations.push_back(MakeToleration("", "Exists", "", ""));
  EXPECT_EQ(CheckNode(p, n, 0), std::nullopt);
  n.spec.unschedulable = true;  // tolerated by the catch-all toleration, as upstream
  EXPECT_EQ(CheckNode(p, n, 0), std::nullopt);
  p.spec.tolerations.clear();
  EXPECT_EQ(CheckNode(p, n, 0), "node(s) were unschedulable");
  n.spec.unschedulable = false;
  n.status.conditions[0].status = "Unknown";
  // A lost node is reported by its taint, as upstream does; without one, as not ready.
  EXPECT_EQ(CheckNode(p, n, 0), "node(s) had untolerated taint {hard: x}");
  n.spec.taints.clear();
  EXPECT_EQ(CheckNode(p, n, 0), "node(s) were not ready");
}

TEST(NodeFitTest, FitErrorMessage) {
  EXPECT_EQ(FitErrorMessage(0, {}),
            "0/0 nodes are available: no nodes available to schedule pods.");
  EXPECT_EQ(FitErrorMessage(3, {{"node(s) were unschedulable", 2}, {"Too many pods", 1}}),
            "0/3 nodes are available: 1 Too many pods, 2 node(s) were unschedulable.");
}

}  // namespace
}  // namespace knet::controllers::scheduler_internal
