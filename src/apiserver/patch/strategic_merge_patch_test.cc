#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "apiserver/patch/patch.h"

namespace knet::apiserver::patch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json J(const char* text) { return json::parse(text); }

json Apply(const json& doc, const char* patch, std::string_view kind) {
  base::StatusOr<json> out = ApplyStrategicMergePatch(doc, J(patch), kind);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : json();
}

std::string Fail(const json& doc, const json& patch, std::string_view kind) {
  base::StatusOr<json> out = ApplyStrategicMergePatch(doc, patch, kind);
  EXPECT_FALSE(out.ok()) << "unexpected success: " << (out.ok() ? out->dump() : "");
  if (out.ok()) return "";
  EXPECT_EQ(out.status().code(), base::StatusCode::kInvalidArgument) << out.status().ToString();
  return out.status().message();
}

json PodDoc() {
  return J(R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"web","labels":{"app":"web","c":"d"},"finalizers":["a","b"]},
    "spec":{"nodeSelector":{"disk":"ssd"},
            "containers":[
              {"name":"app","image":"nginx:1.25","args":["-x","-y"],
               "ports":[{"containerPort":80,"name":"http"},{"containerPort":9090,"name":"metrics"}],
               "env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
              {"name":"sidecar","image":"envoy:1"}],
            "volumes":[{"name":"cfg","configMap":{"name":"web-cfg"}}]}})");
}

json DeploymentDoc() {
  return J(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
    "spec":{"replicas":2,
            "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}},
            "template":{"metadata":{"labels":{"app":"web"}},
                        "spec":{"containers":[{"name":"app","image":"nginx:1.25"},
                                              {"name":"log","image":"fluent:1"}]}}}})");
}

TEST(StrategicMergePatch, LabelAddAndRemoveAsKubectlLabelSends) {
  json out = Apply(PodDoc(), R"({"metadata":{"labels":{"a":"b","c":null}}})", "Pod");
  EXPECT_EQ(out["metadata"]["labels"], J(R"({"app":"web","a":"b"})"));
  // Everything else is untouched.
  json want = PodDoc();
  want["metadata"]["labels"] = J(R"({"app":"web","a":"b"})");
  EXPECT_EQ(out, want);
}

TEST(StrategicMergePatch, NullDeletesKeyAndIsIgnoredWhenAbsent) {
  json out = Apply(PodDoc(), R"({"spec":{"nodeSelector":null,"hostname":null}})", "Pod");
  EXPECT_FALSE(out["spec"].contains("nodeSelector"));
  EXPECT_FALSE(out["spec"].contains("hostname"));
}

TEST(StrategicMergePatch, ContainersMergeByName) {
  json out =
      Apply(PodDoc(), R"({"spec":{"containers":[{"name":"sidecar","image":"envoy:2"}]}})", "Pod");
  const json& containers = out["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u);
  EXPECT_EQ(containers[0]["name"], "app");  // live order kept for untouched elements
  EXPECT_EQ(containers[0]["image"], "nginx:1.25");
  EXPECT_EQ(containers[1], J(R"({"name":"sidecar","image":"envoy:2"})"));
}

TEST(StrategicMergePatch, NewElementsComeBeforeServerOnlyOnesAsUpstream) {
  // Upstream mergeSortedSlice places patch elements the live list does not know first.
  json out =
      Apply(PodDoc(), R"({"spec":{"containers":[{"name":"new","image":"busybox"}]}})", "Pod");
  const json& containers = out["spec"]["containers"];
  ASSERT_EQ(containers.size(), 3u);
  EXPECT_EQ(containers[0], J(R"({"name":"new","image":"busybox"})"));
  EXPECT_EQ(containers[1]["name"], "app");
  EXPECT_EQ(containers[2]["name"], "sidecar");
}

TEST(StrategicMergePatch, PortsMergeByContainerPortAndEnvByName) {
  json out = Apply(PodDoc(), R"({"spec":{"containers":[{"name":"app",
      "ports":[{"containerPort":80,"protocol":"TCP"}],
      "env":[{"name":"B","value":"3"},{"name":"C","value":"4"}]}]}})",
                   "Pod");
  const json& app = out["spec"]["containers"][0];
  EXPECT_EQ(app["ports"], J(R"([{"containerPort":80,"name":"http","protocol":"TCP"},
                                {"containerPort":9090,"name":"metrics"}])"));
  EXPECT_EQ(app["env"], J(R"([{"name":"A","value":"1"},{"name":"B","value":"3"},
                              {"name":"C","value":"4"}])"));
}

TEST(StrategicMergePatch, ListsWithoutStrategyAreReplaced) {
  json out = Apply(PodDoc(), R"({"spec":{"containers":[{"name":"app","args":["-z"]}]}})", "Pod");
  EXPECT_EQ(out["spec"]["containers"][0]["args"], J(R"(["-z"])"));
}

TEST(StrategicMergePatch, DeleteListElementByMergeKey) {
  json out =
      Apply(PodDoc(), R"({"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}})", "Pod");
  ASSERT_EQ(out["spec"]["containers"].size(), 1u);
  EXPECT_EQ(out["spec"]["containers"][0]["name"], "app");
  out = Apply(PodDoc(), R"({"spec":{"containers":[{"name":"app",
      "ports":[{"containerPort":9090,"$patch":"delete"}]}]}})",
              "Pod");
  EXPECT_EQ(out["spec"]["containers"][0]["ports"], J(R"([{"containerPort":80,"name":"http"}])"));
}

TEST(StrategicMergePatch, ReplaceWholeList) {
  json out = Apply(PodDoc(), R"({"spec":{"containers":[{"$patch":"replace"},
                                     {"name":"only","image":"x"}]}})",
                   "Pod");
  EXPECT_EQ(out["spec"]["containers"], J(R"([{"name":"only","image":"x"}])"));
}

TEST(StrategicMergePatch, PatchReplaceAndDeleteOfAMap) {
  json out = Apply(PodDoc(), R"({"metadata":{"labels":{"$patch":"replace","x":"y"}}})", "Pod");
  EXPECT_EQ(out["metadata"]["labels"], J(R"({"x":"y"})"));
  out = Apply(PodDoc(), R"({"spec":{"nodeSelector":{"$patch":"delete"}}})", "Pod");
  EXPECT_EQ(out["spec"]["nodeSelector"], json::object());
  out = Apply(PodDoc(), R"({"spec":{"affinity":{"$patch":"delete"}}})", "Pod");
  EXPECT_FALSE(out["spec"].contains("affinity"));
}

TEST(StrategicMergePatch, FinalizersUnionAndDeleteFromPrimitiveList) {
  json out = Apply(PodDoc(), R"({"metadata":{"finalizers":["c","a"]}})", "Pod");
  EXPECT_EQ(out["metadata"]["finalizers"], J(R"(["c","a","b"])"));
  out = Apply(PodDoc(), R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"],
                                       "finalizers":["z"]}})",
              "Pod");
  EXPECT_EQ(out["metadata"]["finalizers"], J(R"(["z","b"])"));
  out = Apply(PodDoc(), R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["a","b"]}})", "Pod");
  EXPECT_EQ(out["metadata"]["finalizers"], json::array());
}

TEST(StrategicMergePatch, SetElementOrderReordersAsKubectlApplySends) {
  // What kubectl apply sends when the manifest swaps the containers and bumps one image.
  json out = Apply(DeploymentDoc(), R"({
      "metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}},
      "spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"log"},{"name":"app"}],
        "containers":[{"image":"nginx:1.26","name":"app"}]}}}})",
                   "Deployment");
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"],
            J(R"([{"name":"log","image":"fluent:1"},{"name":"app","image":"nginx:1.26"}])"));
  EXPECT_EQ(out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
            "{}");
  // A primitive list with an order directive only.
  out = Apply(PodDoc(), R"({"metadata":{"$setElementOrder/finalizers":["b","a"]}})", "Pod");
  EXPECT_EQ(out["metadata"]["finalizers"], J(R"(["b","a"])"));
}

TEST(StrategicMergePatch, ThreeWayPatchAsKubectlApplyBuildsIt) {
  // The manifest dropped the "log" container and env var B and switched to Recreate; kubectl apply
  // (CreateThreeWayMergePatch) sends deletions, order directives and retainKeys together.
  json doc = DeploymentDoc();
  doc["spec"]["template"]["spec"]["containers"][0]["env"] =
      J(R"([{"name":"A","value":"1"},{"name":"B","value":"2"}])");
  json out = Apply(doc, R"({
      "metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}},
      "spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},
        "template":{"spec":{
          "$setElementOrder/containers":[{"name":"app"}],
          "containers":[
            {"$setElementOrder/env":[{"name":"A"}],"env":[{"$patch":"delete","name":"B"}],
             "name":"app"},
            {"$patch":"delete","name":"log"}]}}}})",
                   "Deployment");
  EXPECT_EQ(out["spec"]["strategy"], J(R"({"type":"Recreate"})"));
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"],
            J(R"([{"name":"app","image":"nginx:1.25","env":[{"name":"A","value":"1"}]}])"));
}

TEST(StrategicMergePatch, RetainKeysOnDeploymentStrategy) {
  json out =
      Apply(DeploymentDoc(), R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})",
            "Deployment");
  EXPECT_EQ(out["spec"]["strategy"], J(R"({"type":"Recreate"})"));
  EXPECT_THAT(
      Fail(DeploymentDoc(), J(R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate",
                                             "rollingUpdate":{"maxSurge":2}}}})"),
           "Deployment"),
      HasSubstr("spec.strategy: field \"rollingUpdate\" is set by the patch but not "
                "listed in $retainKeys"));
}

TEST(StrategicMergePatch, RetainKeysInVolumeElements) {
  json out = Apply(PodDoc(), R"({"spec":{"volumes":[{"name":"cfg",
      "$retainKeys":["name","secret"],"secret":{"secretName":"s"}}]}})",
                   "Pod");
  EXPECT_EQ(out["spec"]["volumes"], J(R"([{"name":"cfg","secret":{"secretName":"s"}}])"));
}

TEST(StrategicMergePatch, DeploymentTemplateUsesPodSpecStrategies) {
  json out = Apply(DeploymentDoc(), R"({"spec":{"replicas":5,"template":{"spec":{
      "containers":[{"name":"app","image":"nginx:1.27"}]}}}})",
                   "Deployment");
  EXPECT_EQ(out["spec"]["replicas"], 5);
  EXPECT_EQ(out["spec"]["template"]["spec"]["containers"],
            J(R"([{"name":"app","image":"nginx:1.27"},{"name":"log","image":"fluent:1"}])"));
}

TEST(StrategicMergePatch, StatusConditionsMergeByType) {
  json node = J(R"({"metadata":{"name":"n1"},"spec":{"podCIDRs":["10.0.0.0/24"]},"status":{
      "conditions":[{"type":"Ready","status":"False"},{"type":"MemoryPressure","status":"False"}],
      "addresses":[{"type":"InternalIP","address":"10.1.1.1"}]}})");
  json out = Apply(node, R"({"spec":{"podCIDRs":["fd00::/64"]},"status":{
      "conditions":[{"type":"Ready","status":"True"}],
      "addresses":[{"type":"Hostname","address":"n1"}]}})",
                   "Node");
  EXPECT_EQ(out["spec"]["podCIDRs"], J(R"(["fd00::/64","10.0.0.0/24"])"));
  EXPECT_EQ(out["status"]["conditions"], J(R"([{"type":"Ready","status":"True"},
                                               {"type":"MemoryPressure","status":"False"}])"));
  EXPECT_EQ(out["status"]["addresses"], J(R"([{"type":"Hostname","address":"n1"},
                                              {"type":"InternalIP","address":"10.1.1.1"}])"));
}

TEST(StrategicMergePatch, ServicePortsMergeByPort) {
  json svc = J(R"({"spec":{"ports":[{"port":80,"targetPort":8080},{"port":443}]}})");
  json out = Apply(svc, R"({"spec":{"ports":[{"port":443,"name":"https"}]}})", "Service");
  EXPECT_EQ(out["spec"]["ports"], J(R"([{"port":80,"targetPort":8080},
                                        {"port":443,"name":"https"}])"));
}

TEST(StrategicMergePatch, UnknownKindReplacesLists) {
  json out = Apply(PodDoc(), R"({"spec":{"containers":[{"name":"sidecar","image":"envoy:2"}]}})",
                   "Widget");
  EXPECT_EQ(out["spec"]["containers"], J(R"([{"name":"sidecar","image":"envoy:2"}])"));
}

TEST(StrategicMergePatch, NewFieldsDropNullsAndDirectives) {
  json out = Apply(J(R"({"metadata":{"name":"x"}})"),
                   R"({"spec":{"nodeSelector":{"a":"b","c":null},
                       "containers":[{"name":"n","image":"i","env":[{"name":"E","value":null}]}]}})",
                   "Pod");
  EXPECT_EQ(out["spec"], J(R"({"nodeSelector":{"a":"b"},
                               "containers":[{"name":"n","image":"i","env":[{"name":"E"}]}]})"));
}

TEST(StrategicMergePatch, RejectsMalformedPatches) {
  EXPECT_EQ(Fail(PodDoc(), J("[]"), "Pod"),
            "strategic merge patch must be a JSON object, got array");
  EXPECT_THAT(Fail(PodDoc(), J(R"({"spec":{"containers":[{"image":"x"}]}})"), "Pod"),
              HasSubstr("spec.containers: element 0 has no merge key \"name\""));
  EXPECT_THAT(Fail(PodDoc(), J(R"({"spec":{"containers":[{"$patch":"delete"}]}})"), "Pod"),
              HasSubstr("$patch delete needs the merge key \"name\""));
  EXPECT_THAT(Fail(PodDoc(), J(R"({"metadata":{"labels":{"$patch":"explode"}}})"), "Pod"),
              HasSubstr("metadata.labels: unknown $patch directive \"explode\""));
  EXPECT_THAT(Fail(PodDoc(), J(R"({"metadata":{"labels":{"$patch":1}}})"), "Pod"),
              HasSubstr("$patch must be a string"));
  EXPECT_THAT(Fail(PodDoc(), J(R"({"spec":{"strategy":{"$retainKeys":"type"}}})"), "Pod"),
              HasSubstr("$retainKeys must be a list of field names"));
  EXPECT_THAT(Fail(PodDoc(), J(R"({"metadata":{"finalizers":["x",{"a":1}]}})"), "Pod"),
              HasSubstr("metadata.finalizers: list mixes objects and other values"));
  EXPECT_THAT(
      Fail(PodDoc(), J(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":"a"}})"), "Pod"),
      HasSubstr("must be a list"));
  EXPECT_THAT(Fail(PodDoc(), J(R"({"spec":{"$setElementOrder/containers":["app"]}})"), "Pod"),
              HasSubstr("has no merge key \"name\""));
}

TEST(StrategicMergePatch, CapsNestingDepth) {
  json deep = json::object();
  for (int i = 0; i < 150; ++i) deep = json{{"a", deep}};
  EXPECT_THAT(Fail(PodDoc(), deep, "Pod"),
              HasSubstr("strategic merge patch is nested deeper than 100 levels"));
  EXPECT_THAT(Fail(deep, J("{}"), "Pod"), HasSubstr("document is nested deeper"));
}

}  // namespace
}  // namespace knet::apiserver::patch
