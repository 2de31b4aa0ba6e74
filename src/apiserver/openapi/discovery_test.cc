#include "apiserver/openapi/discovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "apiserver/resources.h"

namespace knet::apiserver::openapi {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;

const json* FindByKey(const json& array, const char* key, const std::string& value) {
  for (const json& e : array) {
    if (e.contains(key) && e[key] == value) return &e;
  }
  return nullptr;
}

TEST(VersionTest, ReportsKubernetesVersionWithKnetBuildMetadata) {
  json j = json::parse(VersionJson("0.4.0 dirty/x"));
  EXPECT_EQ(j["major"], "1");
  EXPECT_EQ(j["minor"], "32");
  EXPECT_EQ(j["gitVersion"], "v1.32.0+knet.0.4.0-dirty-x");
  EXPECT_EQ(j["gitCommit"], "0.4.0 dirty/x");
  for (const char* key : {"gitTreeState", "buildDate", "goVersion", "compiler", "platform"}) {
    EXPECT_TRUE(j[key].is_string()) << key;
  }
  EXPECT_EQ(json::parse(VersionJson(""))["gitVersion"], "v1.32.0");
}

TEST(ApiVersionsTest, CoreV1WithServerAddress) {
  json j = json::parse(ApiVersionsJson("10.0.0.1:6443"));
  EXPECT_EQ(j["kind"], "APIVersions");
  EXPECT_EQ(j["versions"], json::array({"v1"}));
  EXPECT_EQ(j["serverAddressByClientCIDRs"][0]["clientCIDR"], "0.0.0.0/0");
  EXPECT_EQ(j["serverAddressByClientCIDRs"][0]["serverAddress"], "10.0.0.1:6443");
}

TEST(ApiGroupListTest, EveryNamedGroupWithPreferredVersion) {
  json j = json::parse(ApiGroupListJson());
  EXPECT_EQ(j["kind"], "APIGroupList");
  EXPECT_EQ(j["apiVersion"], "v1");
  std::set<std::string> names;
  for (const json& g : j["groups"]) {
    names.insert(g["name"]);
    EXPECT_EQ(g["preferredVersion"], g["versions"][0]);
    EXPECT_EQ(g["versions"][0]["groupVersion"],
              g["name"].get<std::string>() + "/" + g["versions"][0]["version"].get<std::string>());
  }
  std::set<std::string> want;
  for (const GroupVersion& gv : GroupVersions()) {
    if (!gv.group.empty()) want.insert(gv.group);
  }
  EXPECT_EQ(names, want);
  EXPECT_TRUE(names.count("apps"));
  EXPECT_FALSE(names.count(""));
}

TEST(ApiResourceListTest, CoreHasPodsWithSubresources) {
  auto body = ApiResourceListJson("", "v1");
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  json j = json::parse(*body);
  EXPECT_EQ(j["kind"], "APIResourceList");
  EXPECT_EQ(j["groupVersion"], "v1");
  const json* pods = FindByKey(j["resources"], "name", "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_EQ((*pods)["kind"], "Pod");
  EXPECT_EQ((*pods)["singularName"], "pod");
  EXPECT_EQ((*pods)["namespaced"], true);
  EXPECT_EQ((*pods)["shortNames"], json::array({"po"}));
  EXPECT_EQ((*pods)["categories"], json::array({"all"}));
  const json* status = FindByKey(j["resources"], "name", "pods/status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ((*status)["kind"], "Pod");
  EXPECT_EQ((*status)["verbs"], json::array({"get", "patch", "update"}));
  EXPECT_FALSE(status->contains("group"));
  const json* nodes = FindByKey(j["resources"], "name", "nodes");
  ASSERT_NE(nodes, nullptr);
  EXPECT_EQ((*nodes)["namespaced"], false);
}

TEST(ApiResourceListTest, DeploymentScaleNamesAutoscalingScale) {
  auto body = ApiResourceListJson("apps", "v1");
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  json j = json::parse(*body);
  EXPECT_EQ(j["groupVersion"], "apps/v1");
  const json* scale = FindByKey(j["resources"], "name", "deployments/scale");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ((*scale)["group"], "autoscaling");
  EXPECT_EQ((*scale)["version"], "v1");
  EXPECT_EQ((*scale)["kind"], "Scale");
}

TEST(ApiResourceListTest, UnservedGroupVersionIsNotFound) {
  auto body = ApiResourceListJson("apps", "v1beta1");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), base::StatusCode::kNotFound);
  EXPECT_THAT(body.status().message(), ::testing::HasSubstr("apps/v1beta1"));
  EXPECT_FALSE(ApiResourceListJson("", "v2").ok());
  EXPECT_FALSE(ApiResourceListJson("batch", "v1").ok());
}

TEST(ApiResourceListTest, EveryServedResourceAppearsWithItsShortNames) {
  for (const ResourceInfo& r : Resources()) {
    auto body = ApiResourceListJson(r.group, r.version);
    ASSERT_TRUE(body.ok()) << r.resource;
    json list = json::parse(*body);
    const json* e = FindByKey(list["resources"], "name", r.resource);
    ASSERT_NE(e, nullptr) << r.resource;
    EXPECT_EQ((*e)["kind"], r.kind);
    EXPECT_EQ((*e)["verbs"], json(r.verbs));
    if (r.short_names.empty()) {
      EXPECT_FALSE(e->contains("shortNames")) << r.resource;
    } else {
      EXPECT_EQ((*e)["shortNames"], json(r.short_names)) << r.resource;
    }
  }
}

TEST(NegotiateTest, KubectlHeaderPicksV2) {
  EXPECT_EQ(
      NegotiateDiscovery("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                         "application/json;g=apidiscovery.k8s.io;v=v2beta1;as="
                         "APIGroupDiscoveryList,application/json"),
      DiscoveryForm::kAggregatedV2);
}

TEST(NegotiateTest, V2Beta1OnlyAndSpacesAndQuality) {
  EXPECT_EQ(NegotiateDiscovery(
                "application/json; g=apidiscovery.k8s.io; v=v2beta1; as=APIGroupDiscoveryList"),
            DiscoveryForm::kAggregatedV2Beta1);
  // A higher q wins over order.
  EXPECT_EQ(
      NegotiateDiscovery("application/json;q=0.5,"
                         "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
      DiscoveryForm::kAggregatedV2);
  EXPECT_EQ(
      NegotiateDiscovery("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;"
                         "q=0.2,application/json"),
      DiscoveryForm::kLegacy);
  // q=0 means "not acceptable".
  EXPECT_EQ(
      NegotiateDiscovery("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;"
                         "q=0"),
      DiscoveryForm::kLegacy);
}

TEST(NegotiateTest, PlainProtobufUnknownAndGarbageAreLegacy) {
  EXPECT_EQ(NegotiateDiscovery(""), DiscoveryForm::kLegacy);
  EXPECT_EQ(NegotiateDiscovery("*/*"), DiscoveryForm::kLegacy);
  EXPECT_EQ(NegotiateDiscovery("application/json"), DiscoveryForm::kLegacy);
  EXPECT_EQ(NegotiateDiscovery("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;"
                               "as=APIGroupDiscoveryList"),
            DiscoveryForm::kLegacy);
  EXPECT_EQ(
      NegotiateDiscovery("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"),
      DiscoveryForm::kLegacy);
  EXPECT_EQ(NegotiateDiscovery(",,;;==;q=;"), DiscoveryForm::kLegacy);
}

TEST(ContentTypeTest, MatchesUpstream) {
  EXPECT_EQ(DiscoveryContentType(DiscoveryForm::kAggregatedV2),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  EXPECT_EQ(DiscoveryContentType(DiscoveryForm::kAggregatedV2Beta1),
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList");
  EXPECT_EQ(DiscoveryContentType(DiscoveryForm::kLegacy), "application/json");
}

TEST(AggregatedTest, CoreGroupHasPodsWithStatusSubresource) {
  json j = json::parse(AggregatedDiscoveryJson(/*legacy_core=*/true));
  EXPECT_EQ(j["kind"], "APIGroupDiscoveryList");
  EXPECT_EQ(j["apiVersion"], "apidiscovery.k8s.io/v2");
  ASSERT_EQ(j["items"].size(), 1u);
  const json& core = j["items"][0];
  EXPECT_FALSE(core["metadata"].contains("name"));
  ASSERT_EQ(core["versions"].size(), 1u);
  const json& v1 = core["versions"][0];
  EXPECT_EQ(v1["version"], "v1");
  EXPECT_EQ(v1["freshness"], "Current");
  const json* pods = FindByKey(v1["resources"], "resource", "pods");
  ASSERT_NE(pods, nullptr);
  EXPECT_EQ((*pods)["responseKind"], json({{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}));
  EXPECT_EQ((*pods)["scope"], "Namespaced");
  EXPECT_EQ((*pods)["singularResource"], "pod");
  EXPECT_EQ((*pods)["shortNames"], json::array({"po"}));
  EXPECT_EQ((*pods)["categories"], json::array({"all"}));
  const json* status = FindByKey((*pods)["subresources"], "subresource", "status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ((*status)["responseKind"]["kind"], "Pod");
  EXPECT_THAT((*status)["verbs"], ElementsAre("get", "patch", "update"));
  const json* ns = FindByKey(v1["resources"], "resource", "namespaces");
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ((*ns)["scope"], "Cluster");
}

TEST(AggregatedTest, NamedGroupsCoverEveryServedResource) {
  json j = json::parse(
      AggregatedDiscoveryJson(/*legacy_core=*/false, DiscoveryForm::kAggregatedV2Beta1));
  EXPECT_EQ(j["apiVersion"], "apidiscovery.k8s.io/v2beta1");
  size_t seen = 0;
  for (const ResourceInfo& r : Resources()) {
    if (r.group.empty()) continue;
    const json* g = nullptr;
    for (const json& item : j["items"]) {
      if (item["metadata"]["name"] == r.group) g = &item;
    }
    ASSERT_NE(g, nullptr) << r.group;
    const json* v = FindByKey((*g)["versions"], "version", r.version);
    ASSERT_NE(v, nullptr) << r.group;
    const json* e = FindByKey((*v)["resources"], "resource", r.resource);
    ASSERT_NE(e, nullptr) << r.resource;
    EXPECT_EQ((*e)["responseKind"]["group"], r.group);
    EXPECT_EQ((*e)["responseKind"]["kind"], r.kind);
    EXPECT_EQ((*e)["verbs"], json(r.verbs));
    EXPECT_EQ(e->value("shortNames", json::array()), json(r.short_names));
    for (const SubresourceInfo& s : r.subresources) {
      const json* sub = FindByKey((*e)["subresources"], "subresource", s.name);
      ASSERT_NE(sub, nullptr) << r.resource << "/" << s.name;
      EXPECT_EQ((*sub)["responseKind"]["group"], s.group);
      EXPECT_EQ((*sub)["responseKind"]["kind"], s.kind);
    }
    ++seen;
  }
  EXPECT_GT(seen, 0u);
  for (const json& item : j["items"]) EXPECT_NE(item["metadata"].value("name", ""), "");
}

}  // namespace
}  // namespace knet::apiserver::openapi
