#include "apiserver/openapi/openapi.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "api/codec.h"
#include "api/object.h"
#include "apiserver/resources.h"

namespace knet::apiserver::openapi {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr std::string_view kPrefix = "#/components/schemas/";

std::string DocPath(const std::string& group, const std::string& version) {
  return group.empty() ? "api/" + version : "apis/" + group + "/" + version;
}

json Doc(const std::string& path) {
  auto body = OpenApiV3DocumentJson(path);
  EXPECT_TRUE(body.ok()) << path << ": " << body.status().ToString();
  return body.ok() ? json::parse(*body) : json::object();
}

// Every "$ref" anywhere in `j`.
void CollectRefs(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "$ref" && it->is_string()) out.push_back(*it);
      CollectRefs(*it, out);
    }
  } else if (j.is_array()) {
    for (const json& e : j) CollectRefs(e, out);
  }
}

// Follows $ref and single-element allOf to the schema that carries type/properties.
const json& Resolve(const json& doc, const json& schema) {
  if (schema.contains("$ref")) {
    std::string ref = schema["$ref"];
    return Resolve(doc, doc["components"]["schemas"][ref.substr(kPrefix.size())]);
  }
  if (schema.contains("allOf")) return Resolve(doc, schema["allOf"][0]);
  return schema;
}

// Checks that `value` (as the codec wrote it) is described by `schema`: every key is a declared
// property and every scalar has the declared type. Returns the first mismatch, or "".
std::string Check(const json& doc, const json& schema_in, const json& value,
                  const std::string& path) {
  const json& schema = Resolve(doc, schema_in);
  if (schema.value("x-kubernetes-preserve-unknown-fields", false)) return "";
  std::string type = schema.value("type", "");
  if (value.is_object()) {
    if (type != "object") return path + ": object where schema says " + type;
    for (auto it = value.begin(); it != value.end(); ++it) {
      const json* sub = nullptr;
      if (schema.contains("properties") && schema["properties"].contains(it.key())) {
        sub = &schema["properties"][it.key()];
      } else if (schema.contains("additionalProperties")) {
        sub = &schema["additionalProperties"];
      }
      if (sub == nullptr) return path + "." + it.key() + ": not in the schema";
      std::string err = Check(doc, *sub, *it, path + "." + it.key());
      if (!err.empty()) return err;
    }
    return "";
  }
  if (value.is_array()) {
    if (type != "array") return path + ": array where schema says " + type;
    for (const json& e : value) {
      std::string err = Check(doc, schema["items"], e, path + "[]");
      if (!err.empty()) return err;
    }
    return "";
  }
  if (value.is_string()) {
    return type == "string" ? "" : path + ": string where schema says " + type;
  }
  if (value.is_boolean()) {
    return type == "boolean" ? "" : path + ": boolean where schema says " + type;
  }
  if (value.is_number_integer()) {
    if (schema.value("format", "") == "int-or-string") return "";
    return type == "integer" || type == "number" ? "" : path + ": integer, schema says " + type;
  }
  return "";
}

TEST(OpenApiIndexTest, ListsEveryGroupVersionWithItsHash) {
  json index = json::parse(OpenApiV3IndexJson());
  std::set<std::string> paths;
  for (auto it = index["paths"].begin(); it != index["paths"].end(); ++it) {
    paths.insert(it.key());
    auto hash = OpenApiV3DocumentHash(it.key());
    ASSERT_TRUE(hash.ok());
    EXPECT_EQ((*it)["serverRelativeURL"], "/openapi/v3/" + it.key() + "?hash=" + *hash);
    EXPECT_EQ(hash->size(), 32u);
  }
  std::set<std::string> want;
  for (const GroupVersion& gv : GroupVersions()) want.insert(DocPath(gv.group, gv.version));
  EXPECT_EQ(paths, want);
  EXPECT_TRUE(paths.count("api/v1"));
  EXPECT_TRUE(paths.count("apis/apps/v1"));
  auto paths_list = OpenApiV3Paths();
  EXPECT_EQ(std::set<std::string>(paths_list.begin(), paths_list.end()), want);
}

TEST(OpenApiDocumentTest, UnknownGroupVersionIsNotFoundAndSlashIsAccepted) {
  auto missing = OpenApiV3DocumentJson("apis/batch/v1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("apis/batch/v1"));
  EXPECT_FALSE(OpenApiV3DocumentHash("api/v2").ok());
  auto slash = OpenApiV3DocumentJson("/api/v1");
  ASSERT_TRUE(slash.ok());
  EXPECT_EQ(*slash, *OpenApiV3DocumentJson("api/v1"));
}

TEST(OpenApiDocumentTest, EveryRefResolvesWithinItsDocument) {
  for (const std::string& path : OpenApiV3Paths()) {
    json doc = Doc(path);
    EXPECT_EQ(doc["openapi"], "3.0.0");
    std::vector<std::string> refs;
    CollectRefs(doc, refs);
    EXPECT_GT(refs.size(), 10u) << path;
    for (const std::string& ref : refs) {
      ASSERT_EQ(ref.rfind(kPrefix, 0), 0u) << ref;
      EXPECT_TRUE(doc["components"]["schemas"].contains(ref.substr(kPrefix.size())))
          << path << ": dangling " << ref;
    }
  }
}

TEST(OpenApiDocumentTest, EveryKindAndListKindHasASchemaWithItsGvk) {
  for (const ResourceInfo& r : Resources()) {
    json doc = Doc(DocPath(r.group, r.version));
    for (const std::string& kind : {r.kind, r.list_kind}) {
      bool found = false;
      for (const auto& [name, schema] : doc["components"]["schemas"].items()) {
        for (const json& gvk : schema.value("x-kubernetes-group-version-kind", json::array())) {
          if (gvk == json{{"group", r.group}, {"version", r.version}, {"kind", kind}}) {
            found = true;
            EXPECT_EQ(schema["properties"]["kind"]["type"], "string");
            EXPECT_EQ(schema["properties"]["apiVersion"]["type"], "string");
          }
        }
      }
      EXPECT_TRUE(found) << r.ApiVersion() << " " << kind;
    }
  }
}

TEST(OpenApiDocumentTest, EveryWriteTakesFieldValidationAndPatchTakesAllPatchTypes) {
  size_t patches = 0;
  for (const std::string& path : OpenApiV3Paths()) {
    json doc = Doc(path);
    for (const auto& [url, item] : doc["paths"].items()) {
      for (const auto& [method, op] : item.items()) {
        if (method == "parameters") continue;
        EXPECT_TRUE(op.contains("x-kubernetes-action")) << url << " " << method;
        EXPECT_TRUE(op["x-kubernetes-group-version-kind"].contains("kind")) << url;
        if (method != "patch" && method != "put" && method != "post") continue;
        std::set<std::string> params;
        for (const json& p : op["parameters"]) params.insert(p["name"]);
        EXPECT_TRUE(params.count("fieldValidation")) << url << " " << method;
        EXPECT_TRUE(params.count("fieldManager")) << url << " " << method;
        EXPECT_TRUE(params.count("dryRun")) << url << " " << method;
        if (method == "patch") {
          ++patches;
          const json& content = op["requestBody"]["content"];
          for (const char* type :
               {"application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml"}) {
            EXPECT_TRUE(content.contains(type)) << url << " " << type;
          }
        }
      }
    }
  }
  EXPECT_GT(patches, 10u);
}

TEST(OpenApiDocumentTest, PodPathsAndOperations) {
  json doc = Doc("api/v1");
  const json& paths = doc["paths"];
  ASSERT_TRUE(paths.contains("/api/v1/namespaces/{namespace}/pods"));
  const json& coll = paths["/api/v1/namespaces/{namespace}/pods"];
  EXPECT_EQ(coll["get"]["x-kubernetes-action"], "list");
  EXPECT_EQ(coll["get"]["operationId"], "listCoreV1NamespacedPod");
  EXPECT_EQ(coll["post"]["x-kubernetes-action"], "post");
  EXPECT_EQ(coll["delete"]["x-kubernetes-action"], "deletecollection");
  EXPECT_EQ(coll["get"]["x-kubernetes-group-version-kind"],
            json({{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}));
  std::set<std::string> list_params;
  for (const json& p : coll["get"]["parameters"]) list_params.insert(p["name"]);
  EXPECT_TRUE(list_params.count("watch"));
  EXPECT_TRUE(list_params.count("labelSelector"));
  const json& item = paths["/api/v1/namespaces/{namespace}/pods/{name}"];
  for (const char* m : {"get", "put", "patch", "delete"}) EXPECT_TRUE(item.contains(m)) << m;
  EXPECT_TRUE(paths["/api/v1/namespaces/{namespace}/pods/{name}/status"].contains("patch"));
  EXPECT_TRUE(paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"].contains("post"));
  const json& all = paths["/api/v1/pods"];
  EXPECT_EQ(all["get"]["operationId"], "listCoreV1PodForAllNamespaces");
  EXPECT_FALSE(all.contains("post"));
  // Cluster-scoped: no namespace segment or parameter.
  ASSERT_TRUE(paths.contains("/api/v1/nodes/{name}"));
  for (const json& p : paths["/api/v1/nodes/{name}"]["parameters"])
    EXPECT_NE(p["name"], "namespace");
  EXPECT_FALSE(paths.contains("/api/v1/namespaces/{namespace}/nodes"));
}

TEST(OpenApiDocumentTest, DeploymentScaleUsesAutoscalingScale) {
  json doc = Doc("apis/apps/v1");
  const json& schemas = doc["components"]["schemas"];
  ASSERT_TRUE(schemas.contains("io.k8s.api.autoscaling.v1.Scale"));
  EXPECT_EQ(schemas["io.k8s.api.autoscaling.v1.Scale"]["x-kubernetes-group-version-kind"][0],
            json({{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}}));
  const json& scale = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
  EXPECT_EQ(scale["patch"]["x-kubernetes-group-version-kind"]["kind"], "Scale");
  EXPECT_EQ(scale["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/io.k8s.api.autoscaling.v1.Scale");
  for (const char* meta : {"Status", "DeleteOptions", "WatchEvent", "ObjectMeta", "ListMeta",
                           "LabelSelector", "OwnerReference", "Time"}) {
    EXPECT_TRUE(schemas.contains(std::string("io.k8s.apimachinery.pkg.apis.meta.v1.") + meta))
        << meta;
  }
}

TEST(OpenApiSchemaTest, PodSchemaTypesRequiredAndPatchStrategies) {
  json doc = Doc("api/v1");
  const json& s = doc["components"]["schemas"];
  const json& spec = s["io.k8s.api.core.v1.PodSpec"];
  const json& containers = spec["properties"]["containers"];
  EXPECT_EQ(containers["type"], "array");
  EXPECT_EQ(containers["items"]["$ref"], "#/components/schemas/io.k8s.api.core.v1.Container");
  EXPECT_EQ(containers["x-kubernetes-patch-merge-key"], "name");
  EXPECT_EQ(containers["x-kubernetes-patch-strategy"], "merge");
  EXPECT_THAT(spec["required"], Contains("containers"));
  const json& ports = s["io.k8s.api.core.v1.Container"]["properties"]["ports"];
  EXPECT_EQ(ports["x-kubernetes-patch-merge-key"], "containerPort");
  EXPECT_THAT(s["io.k8s.api.core.v1.Container"]["required"], Contains("name"));
  EXPECT_THAT(s["io.k8s.api.core.v1.ContainerPort"]["required"], Contains("containerPort"));
  EXPECT_EQ(s["io.k8s.api.core.v1.ContainerPort"]["properties"]["containerPort"],
            json({{"type", "integer"}, {"format", "int32"}}));
  EXPECT_EQ(s["io.k8s.api.core.v1.Service"]["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.ServiceSpec");
  EXPECT_EQ(
      s["io.k8s.api.core.v1.ServiceSpec"]["properties"]["ports"]["x-kubernetes-patch-merge-key"],
      "port");
  EXPECT_EQ(s["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["ownerReferences"]
             ["x-kubernetes-patch-merge-key"],
            "uid");
  EXPECT_EQ(s["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["labels"],
            json({{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}));
  EXPECT_EQ(s["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"], "int-or-string");
  EXPECT_EQ(s["io.k8s.apimachinery.pkg.apis.meta.v1.Time"]["format"], "date-time");
  EXPECT_EQ(s["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"], "string");
  EXPECT_EQ(s["io.k8s.api.core.v1.PodList"]["required"], json::array({"items"}));
  EXPECT_THAT(s["io.k8s.api.core.v1.Pod"]["description"].get<std::string>(), HasSubstr("Pod"));
  EXPECT_EQ(s["io.k8s.api.core.v1.PodList"]["description"], "PodList is a list of Pod.");
}

TEST(OpenApiSchemaTest, DeploymentTemplateCarriesPodPatchStrategies) {
  json doc = Doc("apis/apps/v1");
  const json& s = doc["components"]["schemas"];
  EXPECT_EQ(s["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
             ["x-kubernetes-patch-strategy"],
            "retainKeys");
  EXPECT_EQ(
      s["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]["x-kubernetes-patch-merge-key"],
      "name");
}

// The schemas follow the codec: what the codec writes for full objects validates against them.
TEST(OpenApiSchemaTest, EncodedObjectsMatchTheirSchemas) {
  const char* pod = R"({"apiVersion":"v1","kind":"Pod",
    "metadata":{"name":"web","namespace":"default","labels":{"app":"web"},
      "creationTimestamp":"2024-05-01T10:00:00Z",
      "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"rs","uid":"u1",
        "controller":true}]},
    "spec":{"containers":[{"name":"c","image":"nginx","args":["-g"],
      "ports":[{"name":"http","containerPort":80,"protocol":"TCP"}],
      "env":[{"name":"A","value":"b"}],
      "readinessProbe":{"httpGet":{"path":"/","port":"http"},"periodSeconds":5},
      "resources":{"limits":{"cpu":"500m"}}}],
      "nodeName":"n1","tolerations":[{"key":"k","operator":"Exists"}]},
    "status":{"phase":"Running","podIP":"10.244.0.5","podIPs":[{"ip":"10.244.0.5"}],
      "conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2024-05-01T10:00:00Z"}],
      "containerStatuses":[{"name":"c","ready":true,"restartCount":0,"image":"nginx",
        "imageID":"","state":{"running":{"startedAt":"2024-05-01T10:00:00Z"}}}]}})";
  auto p = api::DecodeJson<api::Pod>(std::string_view(pod));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  json doc = Doc("api/v1");
  json encoded = json::parse(api::EncodeJson(*p));
  EXPECT_EQ(Check(doc, doc["components"]["schemas"]["io.k8s.api.core.v1.Pod"], encoded, "Pod"), "");

  const char* deploy = R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web"},
    "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
      "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":"25%"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"c","image":"nginx"}]}}},
    "status":{"replicas":2,"conditions":[{"type":"Available","status":"True"}]}})";
  auto d = api::DecodeJson<api::Deployment>(std::string_view(deploy));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  json apps = Doc("apis/apps/v1");
  EXPECT_EQ(Check(apps, apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"],
                  json::parse(api::EncodeJson(*d)), "Deployment"),
            "");
  // And the checker itself rejects what the schema does not describe.
  json bad = json::parse(api::EncodeJson(*d));
  bad["spec"]["bogus"] = 1;
  EXPECT_THAT(Check(apps, apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"], bad,
                    "Deployment"),
              HasSubstr("spec.bogus"));
}

TEST(OpenApiDocumentTest, DocumentsAndHashesAreStable) {
  for (const std::string& path : OpenApiV3Paths()) {
    EXPECT_EQ(*OpenApiV3DocumentJson(path), *OpenApiV3DocumentJson(path));
    EXPECT_EQ(*OpenApiV3DocumentHash(path), *OpenApiV3DocumentHash(path));
  }
  EXPECT_NE(*OpenApiV3DocumentHash("api/v1"), *OpenApiV3DocumentHash("apis/apps/v1"));
}

}  // namespace
}  // namespace knet::apiserver::openapi
