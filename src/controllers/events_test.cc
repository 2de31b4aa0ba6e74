#include "controllers/events.h"

#include <gtest/gtest.h>

#include "controllers/internal/test_env.h"

namespace knet::controllers {
namespace {

using EventRecorderTest = testing::ControllerTest;

TEST_F(EventRecorderTest, RepeatsBumpTheCountOfOneEvent) {
  api::Node node = CreateNode("n1");
  EventRecorder rec(client_.get(), "test-controller");
  rec.Record(EventRecorder::RefOf(node), "Warning", "CIDRNotAvailable", "no CIDR left");
  rec.Record(EventRecorder::RefOf(node), "Warning", "CIDRNotAvailable", "no CIDR left");
  rec.Record(EventRecorder::RefOf(node), "Normal", "CIDRAssigned", "10.244.0.0/24");
  auto list = client_->List<api::Event>("default");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->items.size(), 2u);
  for (const api::Event& e : list->items) {
    EXPECT_EQ(e.involved_object.kind, "Node");
    EXPECT_EQ(e.involved_object.name, "n1");
    EXPECT_EQ(e.source.component, "test-controller");
    EXPECT_EQ(e.count, e.reason == "CIDRNotAvailable" ? 2 : 1) << e.reason;
  }
}

TEST_F(EventRecorderTest, EventsGoToTheObjectsNamespace) {
  api::Pod p = MakePod("web-1");
  auto created = client_->Create(p);
  ASSERT_TRUE(created.ok());
  created->metadata.namespace_ = "kube-system";  // as if the pod lived there
  EventRecorder rec(client_.get(), "scheduler");
  rec.Record(EventRecorder::RefOf(*created), "Warning", "FailedScheduling", "0/0 nodes");
  auto list = client_->List<api::Event>("kube-system");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->items.size(), 1u);
  EXPECT_EQ(list->items[0].message, "0/0 nodes");
}

}  // namespace
}  // namespace knet::controllers
