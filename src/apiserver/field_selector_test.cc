#include "apiserver/field_selector.h"

#include <gtest/gtest.h>

namespace knet::apiserver {
namespace {

TEST(FieldSelector, ParsesOperatorsAndEscapes) {
  auto fs = FieldSelector::Parse("metadata.name=web,spec.nodeName!=n1,status.phase==Running");
  ASSERT_TRUE(fs.ok()) << fs.status().message();
  ASSERT_EQ(fs->requirements().size(), 3u);
  EXPECT_FALSE(fs->requirements()[1].equals);
  EXPECT_EQ(fs->requirements()[2].value, "Running");
  EXPECT_EQ(fs->PinnedName(), "web");
  auto esc = FieldSelector::Parse(R"(metadata.name=a\,b\=c)");
  ASSERT_TRUE(esc.ok());
  EXPECT_EQ(esc->requirements()[0].value, "a,b=c");
  EXPECT_FALSE(FieldSelector::Parse("metadata.name").ok());
  EXPECT_TRUE(FieldSelector::Parse("")->Empty());
}

TEST(FieldSelector, MatchesPodsAndEventsByTheirFields) {
  api::Pod pod;
  pod.metadata.name = "web-1";
  pod.metadata.namespace_ = "default";
  pod.spec.node_name = "node-a";
  pod.status.phase = "Running";
  api::Object obj = pod;
  EXPECT_TRUE(FieldSelector::Parse("spec.nodeName=node-a")->Matches(obj));
  EXPECT_FALSE(FieldSelector::Parse("spec.nodeName=node-b")->Matches(obj));
  EXPECT_TRUE(
      FieldSelector::Parse("status.phase!=Failed,metadata.namespace=default")->Matches(obj));

  api::Event ev;
  ev.involved_object.kind = "Pod";
  ev.involved_object.name = "web-1";
  api::Object e = ev;
  EXPECT_TRUE(
      FieldSelector::Parse("involvedObject.kind=Pod,involvedObject.name=web-1")->Matches(e));
}

TEST(FieldSelector, UnsupportedFieldsAreRejectedPerKind) {
  auto fs = FieldSelector::Parse("spec.nodeName=x");
  EXPECT_TRUE(fs->CheckSupported("Pod").ok());
  base::Status s = fs->CheckSupported("Service");
  EXPECT_EQ(s.message(), "field label not supported: spec.nodeName");
  EXPECT_TRUE(FieldSelector::Parse("spec.type=NodePort")->CheckSupported("Service").ok());
  EXPECT_TRUE(FieldSelector::Parse("metadata.name=x")->CheckSupported("Lease").ok());
}

}  // namespace
}  // namespace knet::apiserver
