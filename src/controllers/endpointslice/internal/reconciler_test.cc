#include "controllers/endpointslice/internal/reconciler.h"

#include <gtest/gtest.h>

#include "controllers/endpointslice/endpoint_util.h"

namespace knet::controllers::endpointslice_internal {
namespace {

api::Service Svc() {
  api::Service s;
  s.metadata.name = "web";
  s.metadata.namespace_ = "default";
  s.metadata.uid = "svc-uid";
  s.spec.selector = {{"app", "web"}};
  return s;
}

api::Endpoint Ep(int i, bool ready = true) {
  api::Endpoint e;
  e.addresses = {"10.0.0." + std::to_string(i)};
  e.conditions.ready = ready;
  return e;
}

std::vector<api::EndpointSlicePort> Ports(int port) {
  api::EndpointSlicePort p;
  p.name = "";
  p.protocol = "TCP";
  p.port = port;
  return {p};
}

std::shared_ptr<const api::EndpointSlice> Existing(const std::string& name,
                                                   const std::vector<api::Endpoint>& eps,
                                                   int port = 80) {
  api::EndpointSlice s;
  s.metadata.name = name;
  s.metadata.namespace_ = "default";
  s.metadata.labels = SliceLabels(Svc());
  s.metadata.owner_references = {ServiceOwnerRef(Svc())};
  s.address_type = "IPv4";
  s.ports = Ports(port);
  s.endpoints = eps;
  return std::make_shared<const api::EndpointSlice>(s);
}

std::map<std::string, EndpointGroup> Desired(const std::vector<api::Endpoint>& eps, int port = 80) {
  return {{PortsKey(Ports(port)), EndpointGroup{Ports(port), eps}}};
}

TEST(PlanSlicesTest, UnchangedInputPlansNothing) {
  auto a = Existing("a", {Ep(1), Ep(2)});
  SlicePlan p = PlanSlices(Svc(), "IPv4", Desired({Ep(2), Ep(1)}), {a}, 100);
  EXPECT_TRUE(p.to_create.empty());
  EXPECT_TRUE(p.to_update.empty());
  EXPECT_TRUE(p.to_delete.empty());
}

TEST(PlanSlicesTest, NewEndpointGoesIntoAnUnchangedSliceWithRoom) {
  auto a = Existing("a", {Ep(1), Ep(2)});
  auto b = Existing("b", {Ep(3)});
  SlicePlan p = PlanSlices(Svc(), "IPv4", Desired({Ep(1), Ep(2), Ep(3), Ep(4)}), {a, b}, 3);
  EXPECT_TRUE(p.to_create.empty());
  ASSERT_EQ(p.to_update.size(), 1u);
  EXPECT_EQ(p.to_update[0].metadata.name, "a");  // the fullest one that fits
  EXPECT_EQ(p.to_update[0].endpoints.size(), 3u);
}

TEST(PlanSlicesTest, ABurstTopsUpSlicesWithRoomBeforeMakingNewOnes) {
  // 51 endpoints in one slice, then 56 more become ready: the slice is filled to 100 and only
  // the 7 left over start a new slice (upstream would leave 51 and add a slice of 56).
  std::vector<api::Endpoint> have, want;
  for (int i = 1; i <= 51; ++i) have.push_back(Ep(i));
  for (int i = 1; i <= 107; ++i) want.push_back(Ep(i));
  auto a = Existing("a", have);
  SlicePlan p = PlanSlices(Svc(), "IPv4", Desired(want), {a}, 100);
  ASSERT_EQ(p.to_update.size(), 1u);
  EXPECT_EQ(p.to_update[0].metadata.name, "a");
  EXPECT_EQ(p.to_update[0].endpoints.size(), 100u);
  ASSERT_EQ(p.to_create.size(), 1u);
  EXPECT_EQ(p.to_create[0].endpoints.size(), 7u);
  EXPECT_TRUE(p.to_delete.empty());
}

TEST(PlanSlicesTest, ChangedEndpointRewritesOnlyItsSliceAndEmptySlicesGo) {
  auto a = Existing("a", {Ep(1), Ep(2)});
  auto b = Existing("b", {Ep(3)});
  auto c = Existing("c", {Ep(4)});
  SlicePlan p = PlanSlices(Svc(), "IPv4", Desired({Ep(1), Ep(2, false), Ep(3)}), {a, b, c}, 100);
  ASSERT_EQ(p.to_update.size(), 1u);
  EXPECT_EQ(p.to_update[0].metadata.name, "a");
  EXPECT_EQ(p.to_update[0].endpoints[1].conditions.ready, false);
  ASSERT_EQ(p.to_delete.size(), 1u);
  EXPECT_EQ(p.to_delete[0].metadata.name, "c");
  EXPECT_TRUE(p.to_create.empty());
}

TEST(PlanSlicesTest, NewPortListReusesTheOldSliceForOneOfItsNewSlices) {
  auto a = Existing("a", {Ep(1)}, 80);
  std::vector<api::Endpoint> eps;
  for (int i = 1; i <= 5; ++i) eps.push_back(Ep(i));
  SlicePlan p = PlanSlices(Svc(), "IPv4", Desired(eps, 8080), {a}, 2);
  EXPECT_TRUE(p.to_delete.empty());
  ASSERT_EQ(p.to_create.size(), 2u);
  ASSERT_EQ(p.to_update.size(), 1u);
  EXPECT_EQ(p.to_update[0].metadata.name, "a");
  EXPECT_EQ(p.to_update[0].ports[0].port, 8080);
  EXPECT_EQ(p.to_create[0].metadata.generate_name, "web-");
  EXPECT_EQ(p.to_create[0].ports[0].port, 8080);
  size_t total = p.to_update[0].endpoints.size();
  for (const auto& s : p.to_create) total += s.endpoints.size();
  EXPECT_EQ(total, 5u);
}

TEST(PlanSlicesTest, NoEndpointsKeepsOnePlaceholder) {
  SlicePlan p = PlanSlices(Svc(), "IPv4", {}, {}, 100);
  ASSERT_EQ(p.to_create.size(), 1u);
  EXPECT_TRUE(p.to_create[0].ports.empty());
  EXPECT_TRUE(p.to_create[0].endpoints.empty());
  api::EndpointSlice placeholder = p.to_create[0];
  placeholder.metadata.name = "web-abcde";
  auto ph = std::make_shared<const api::EndpointSlice>(placeholder);
  p = PlanSlices(Svc(), "IPv4", {}, {ph}, 100);
  EXPECT_TRUE(p.to_create.empty());
  EXPECT_TRUE(p.to_update.empty());
  EXPECT_TRUE(p.to_delete.empty());
  // Endpoints arrive: the placeholder is rewritten in place, not deleted and replaced.
  p = PlanSlices(Svc(), "IPv4", Desired({Ep(1)}), {ph}, 100);
  EXPECT_TRUE(p.to_create.empty());
  EXPECT_TRUE(p.to_delete.empty());
  ASSERT_EQ(p.to_update.size(), 1u);
  EXPECT_EQ(p.to_update[0].metadata.name, "web-abcde");
  EXPECT_EQ(p.to_update[0].endpoints.size(), 1u);
  EXPECT_EQ(p.to_update[0].ports[0].port, 80);
}

TEST(PlanSlicesTest, SlicesOfAnotherServiceUidAreDeletedNotAdopted) {
  api::EndpointSlice old = *Existing("old", {Ep(1)});
  old.metadata.owner_references[0].uid = "previous-uid";
  auto o = std::make_shared<const api::EndpointSlice>(old);
  SlicePlan p = PlanSlices(Svc(), "IPv4", Desired({Ep(1)}), {o}, 100);
  ASSERT_EQ(p.to_delete.size(), 1u);
  EXPECT_EQ(p.to_delete[0].metadata.name, "old");
  ASSERT_EQ(p.to_create.size(), 1u);
  EXPECT_EQ(p.to_create[0].metadata.owner_references[0].uid, "svc-uid");
  EXPECT_TRUE(p.to_update.empty());
}

TEST(PlanSlicesTest, StaleLabelsAreRewritten) {
  api::Service svc = Svc();
  svc.metadata.labels["team"] = "blue";
  auto a = Existing("a", {Ep(1)});
  SlicePlan p = PlanSlices(svc, "IPv4", Desired({Ep(1)}), {a}, 100);
  ASSERT_EQ(p.to_update.size(), 1u);
  EXPECT_EQ(p.to_update[0].metadata.labels.at("team"), "blue");
  EXPECT_EQ(p.to_update[0].metadata.labels.at(kLabelServiceName), "web");
}

}  // namespace
}  // namespace knet::controllers::endpointslice_internal
