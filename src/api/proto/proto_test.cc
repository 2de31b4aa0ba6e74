// The envelope, golden bodies captured from kubectl 1.32, the kinds that stay JSON (ConfigMap,
// Binding, Scale, DeleteOptions), the special value types, and every error path.
#include "api/proto/proto.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <variant>

#include "api/defaults.h"
#include "api/object.h"
#include "api/validation.h"
#include "k8s.io/api/autoscaling/v1/generated.pb.h"
#include "k8s.io/api/core/v1/generated.pb.h"
#include "k8s.io/apimachinery/pkg/runtime/generated.pb.h"

namespace knet::api::proto {
namespace {

namespace core = k8s::io::api::core::v1;
namespace pbmeta = k8s::io::apimachinery::pkg::apis::meta::v1;
using nlohmann::json;

// Bodies kubectl 1.32 POSTed (Content-Type application/vnd.kubernetes.protobuf) to a loopback
// capture server; the same bytes are seeds in tests/testdata/fuzz/api_proto/.
// `kubectl create namespace foo`
constexpr std::string_view kKubectlNamespace(
    "\x6b\x38\x73\x00\x0a\x0f\x0a\x02\x76\x31\x12\x09\x4e\x61\x6d\x65\x73\x70\x61\x63"
    "\x65\x12\x1b\x0a\x13\x0a\x03\x66\x6f\x6f\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00"
    "\x38\x00\x42\x00\x12\x00\x1a\x02\x0a\x00\x1a\x00\x22\x00",
    54);
// `kubectl create configmap cm1 --from-literal=a=b --from-literal=greeting=héllo
//  --from-file=blob=<"hello\0\xff\x01world">`
constexpr std::string_view kKubectlConfigMap(
    "\x6b\x38\x73\x00\x0a\x0f\x0a\x02\x76\x31\x12\x09\x43\x6f\x6e\x66\x69\x67\x4d\x61"
    "\x70\x12\x48\x0a\x13\x0a\x03\x63\x6d\x31\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00"
    "\x38\x00\x42\x00\x12\x06\x0a\x01\x61\x12\x01\x62\x12\x12\x0a\x08\x67\x72\x65\x65"
    "\x74\x69\x6e\x67\x12\x06\x68\xc3\xa9\x6c\x6c\x6f\x1a\x15\x0a\x04\x62\x6c\x6f\x62"
    "\x12\x0d\x68\x65\x6c\x6c\x6f\x00\xff\x01\x77\x6f\x72\x6c\x64\x1a\x00\x22\x00",
    99);
// `kubectl create service clusterip web --tcp=80:8080 --tcp=443:https`
constexpr std::string_view kKubectlService(
    "\x6b\x38\x73\x00\x0a\x0d\x0a\x02\x76\x31\x12\x07\x53\x65\x72\x76\x69\x63\x65\x12"
    "\x8d\x01\x0a\x1f\x0a\x03\x77\x65\x62\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38"
    "\x00\x42\x00\x5a\x0a\x0a\x03\x61\x70\x70\x12\x03\x77\x65\x62\x12\x66\x0a\x1b\x0a"
    "\x07\x38\x30\x2d\x38\x30\x38\x30\x12\x03\x54\x43\x50\x18\x50\x22\x07\x08\x00\x10"
    "\x90\x3f\x1a\x00\x28\x00\x0a\x22\x0a\x09\x34\x34\x33\x2d\x68\x74\x74\x70\x73\x12"
    "\x03\x54\x43\x50\x18\xbb\x03\x22\x0b\x08\x01\x10\x00\x1a\x05\x68\x74\x74\x70\x73"
    "\x28\x00\x12\x0a\x0a\x03\x61\x70\x70\x12\x03\x77\x65\x62\x1a\x00\x22\x09\x43\x6c"
    "\x75\x73\x74\x65\x72\x49\x50\x3a\x00\x42\x00\x52\x00\x5a\x00\x60\x00\x68\x00\x1a"
    "\x02\x0a\x00\x1a\x00\x22\x00",
    167);
// `kubectl create deployment web --image=nginx:1.27 --replicas=2 --port=80`
constexpr std::string_view kKubectlDeployment(
    "\x6b\x38\x73\x00\x0a\x15\x0a\x07\x61\x70\x70\x73\x2f\x76\x31\x12\x0a\x44\x65\x70"
    "\x6c\x6f\x79\x6d\x65\x6e\x74\x12\xbd\x01\x0a\x1f\x0a\x03\x77\x65\x62\x12\x00\x1a"
    "\x00\x22\x00\x2a\x00\x32\x00\x38\x00\x42\x00\x5a\x0a\x0a\x03\x61\x70\x70\x12\x03"
    "\x77\x65\x62\x12\x8b\x01\x08\x02\x12\x0c\x0a\x0a\x0a\x03\x61\x70\x70\x12\x03\x77"
    "\x65\x62\x1a\x71\x0a\x1c\x0a\x00\x12\x00\x1a\x00\x22\x00\x2a\x00\x32\x00\x38\x00"
    "\x42\x00\x5a\x0a\x0a\x03\x61\x70\x70\x12\x03\x77\x65\x62\x12\x51\x12\x33\x0a\x05"
    "\x6e\x67\x69\x6e\x78\x12\x0a\x6e\x67\x69\x6e\x78\x3a\x31\x2e\x32\x37\x2a\x00\x32"
    "\x0a\x0a\x00\x10\x00\x18\x50\x22\x00\x2a\x00\x42\x00\x6a\x00\x72\x00\x80\x01\x00"
    "\x88\x01\x00\x90\x01\x00\xa2\x01\x00\x1a\x00\x32\x00\x42\x00\x4a\x00\x52\x00\x58"
    "\x00\x60\x00\x68\x00\x82\x01\x00\x8a\x01\x00\x9a\x01\x00\xc2\x01\x00\x22\x02\x0a"
    "\x00\x28\x00\x38\x00\x1a\x0c\x08\x00\x10\x00\x18\x00\x20\x00\x28\x00\x38\x00\x1a"
    "\x00\x22\x00",
    223);

json MustDecode(std::string_view body) {
  auto doc = DecodeProtobuf(body);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *doc : json();
}

template <class T>
T MustDecodeObject(std::string_view body) {
  const json doc = MustDecode(body);
  auto obj = DecodeObject(doc, {.strict = true});
  EXPECT_TRUE(obj.ok()) << obj.status().ToString() << "\n" << doc.dump();
  if (!obj.ok() || !std::holds_alternative<T>(*obj)) return T{};
  return std::get<T>(*obj);
}

std::string Error(std::string_view body) {
  auto doc = DecodeProtobuf(body);
  EXPECT_FALSE(doc.ok()) << doc->dump();
  if (doc.ok()) return "";
  EXPECT_EQ(doc.status().code(), base::StatusCode::kInvalidArgument);
  return doc.status().message();
}

TEST(DecodeProtobuf, KubectlCreateNamespace) {
  const json doc = MustDecode(kKubectlNamespace);
  EXPECT_EQ(doc["apiVersion"], "v1");
  EXPECT_EQ(doc["kind"], "Namespace");
  // kubectl writes every non-pointer field (generateName "", generation 0, an empty
  // creationTimestamp); upstream's JSON form leaves the empty ones out, and so do we.
  EXPECT_EQ(doc["metadata"], (json{{"name", "foo"}}));
  EXPECT_EQ(doc["spec"], json::object());
  const auto ns = MustDecodeObject<Namespace>(kKubectlNamespace);
  EXPECT_EQ(ns.metadata.name, "foo");
  EXPECT_TRUE(ns.metadata.creation_timestamp.IsZero());
}

TEST(DecodeProtobuf, KubectlCreateService) {
  const auto svc = MustDecodeObject<Service>(kKubectlService);
  EXPECT_EQ(svc.metadata.name, "web");
  EXPECT_EQ(svc.metadata.labels.at("app"), "web");
  EXPECT_EQ(svc.spec.type, "ClusterIP");
  EXPECT_EQ(svc.spec.selector.at("app"), "web");
  ASSERT_EQ(svc.spec.ports.size(), 2u);
  EXPECT_EQ(svc.spec.ports[0].name, "80-8080");
  EXPECT_EQ(svc.spec.ports[0].port, 80);
  EXPECT_EQ(svc.spec.ports[0].target_port, IntOrString::FromInt(8080));
  EXPECT_EQ(svc.spec.ports[1].port, 443);
  EXPECT_EQ(svc.spec.ports[1].target_port, IntOrString::FromString("https"));
  EXPECT_EQ(svc.spec.ports[1].protocol, "TCP");
}

TEST(DecodeProtobuf, KubectlCreateDeployment) {
  const auto d = MustDecodeObject<Deployment>(kKubectlDeployment);
  EXPECT_EQ(d.metadata.name, "web");
  EXPECT_EQ(d.spec.replicas, std::optional<int32_t>(2));
  ASSERT_TRUE(d.spec.selector);
  EXPECT_EQ(d.spec.selector->match_labels.at("app"), "web");
  EXPECT_EQ(d.spec.template_.metadata.labels.at("app"), "web");
  ASSERT_EQ(d.spec.template_.spec.containers.size(), 1u);
  const Container& c = d.spec.template_.spec.containers[0];
  EXPECT_EQ(c.name, "nginx");
  EXPECT_EQ(c.image, "nginx:1.27");
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].container_port, 80);
}

// What the server does next: the kubectl bodies, defaulted (namespace from the URL), validate
// cleanly. kubectl writes empty non-pointer fields (protocol "", strategy.type ""), which must
// default exactly as if absent.
TEST(DecodeProtobuf, KubectlBodiesDefaultAndValidate) {
  for (std::string_view body : {kKubectlNamespace, kKubectlService, kKubectlDeployment}) {
    auto obj = DecodeObject(MustDecode(body), {.strict = true});
    ASSERT_TRUE(obj.ok()) << obj.status().ToString();
    if (!std::holds_alternative<Namespace>(*obj)) MetaOf(*obj).namespace_ = "default";
    SetDefaults(*obj);
    const auto errors = ValidateObject(*obj);
    EXPECT_TRUE(errors.empty()) << Describe(*obj) << ": "
                                << ToStatus(errors, KindOf(*obj), MetaOf(*obj).name).ToString();
  }
  auto svc = DecodeObject(MustDecode(kKubectlService));
  ASSERT_TRUE(svc.ok());
  SetDefaults(*svc);
  EXPECT_EQ(std::get<Service>(*svc).spec.session_affinity, "None");
  auto d = DecodeObject(MustDecode(kKubectlDeployment));
  ASSERT_TRUE(d.ok());
  SetDefaults(*d);
  const Deployment& dep = std::get<Deployment>(*d);
  EXPECT_EQ(dep.spec.strategy.type, "RollingUpdate");
  EXPECT_EQ(dep.spec.template_.spec.containers[0].ports[0].protocol, "TCP");
  EXPECT_EQ(dep.spec.template_.spec.restart_policy, "Always");
}

TEST(DecodeProtobuf, KubectlCreateConfigMap) {
  const json doc = MustDecode(kKubectlConfigMap);
  EXPECT_EQ(doc["kind"], "ConfigMap");
  EXPECT_EQ(doc["metadata"], (json{{"name", "cm1"}}));
  EXPECT_EQ(doc["data"], (json{{"a", "b"}, {"greeting", "h\xc3\xa9llo"}}));
  // []byte is base64 in JSON: "hello\0\xff\x01world".
  EXPECT_EQ(doc["binaryData"]["blob"], "aGVsbG8A/wF3b3JsZA==");
  EXPECT_FALSE(doc.contains("immutable"));
}

TEST(DecodeProtobuf, ConfigMapImmutableAndBase64Padding) {
  core::ConfigMap cm;
  cm.mutable_metadata()->set_name("c");
  cm.set_immutable(true);
  (*cm.mutable_binarydata())["one"] = "a";
  (*cm.mutable_binarydata())["two"] = "ab";
  (*cm.mutable_binarydata())["three"] = "abc";
  (*cm.mutable_binarydata())["empty"] = "";
  const json doc = MustDecode(WrapEnvelope("v1", "ConfigMap", cm.SerializeAsString()));
  EXPECT_EQ(doc["immutable"], true);
  EXPECT_EQ(doc["binaryData"],
            (json{{"one", "YQ=="}, {"two", "YWI="}, {"three", "YWJj"}, {"empty", ""}}));
}

TEST(DecodeProtobuf, BindingScaleAndDeleteOptions) {
  core::Binding b;
  b.mutable_metadata()->set_name("web-1");
  b.mutable_target()->set_kind("Node");
  b.mutable_target()->set_name("node-1");
  const json bd = MustDecode(WrapEnvelope("v1", "Binding", b.SerializeAsString()));
  EXPECT_EQ(bd["target"], (json{{"kind", "Node"}, {"name", "node-1"}}));
  // Non-pointer omitempty fields sent as zero (as Go clients do) are left out like upstream's
  // JSON; a pointer sent as zero is kept (DeleteOptions.gracePeriodSeconds below).
  b.mutable_target()->set_namespace_("");
  b.mutable_target()->set_uid("");
  b.mutable_metadata()->set_generation(0);
  const json bz = MustDecode(WrapEnvelope("v1", "Binding", b.SerializeAsString()));
  EXPECT_EQ(bz["target"], (json{{"kind", "Node"}, {"name", "node-1"}}));
  EXPECT_EQ(bz["metadata"], (json{{"name", "web-1"}}));

  k8s::io::api::autoscaling::v1::Scale s;
  s.mutable_metadata()->set_name("web");
  s.mutable_spec()->set_replicas(5);
  s.mutable_status()->set_replicas(3);
  s.mutable_status()->set_selector("app=web");
  const json sd = MustDecode(WrapEnvelope("autoscaling/v1", "Scale", s.SerializeAsString()));
  EXPECT_EQ(sd["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(sd["spec"]["replicas"], 5);
  EXPECT_EQ(sd["status"], (json{{"replicas", 3}, {"selector", "app=web"}}));
  s.mutable_spec()->set_replicas(0);
  s.mutable_status()->set_replicas(0);
  s.mutable_status()->set_selector("");
  const json sz = MustDecode(WrapEnvelope("autoscaling/v1", "Scale", s.SerializeAsString()));
  EXPECT_EQ(sz["spec"], json::object());             // replicas,omitempty
  EXPECT_EQ(sz["status"], (json{{"replicas", 0}}));  // `json:"replicas"` keeps its zero

  pbmeta::DeleteOptions del;
  del.set_graceperiodseconds(0);  // present zero means "now", so it must survive
  del.set_propagationpolicy("Foreground");
  del.mutable_preconditions()->set_uid("u-1");
  del.add_dryrun("All");
  for (std::string_view version : {"meta.k8s.io/v1", "v1", "apps/v1"}) {
    const json dd = MustDecode(WrapEnvelope(version, "DeleteOptions", del.SerializeAsString()));
    EXPECT_EQ(dd["gracePeriodSeconds"], 0) << version;
    EXPECT_EQ(dd["propagationPolicy"], "Foreground");
    EXPECT_EQ(dd["preconditions"], (json{{"uid", "u-1"}}));
    EXPECT_EQ(dd["dryRun"], json::array({"All"}));
    EXPECT_FALSE(dd.contains("orphanDependents"));
  }
}

TEST(DecodeProtobuf, TimeDropsNanosAndManagedFieldsAreJson) {
  core::Namespace ns;
  auto* m = ns.mutable_metadata();
  m->set_name("n");
  m->mutable_creationtimestamp()->set_seconds(1714557600);
  m->mutable_creationtimestamp()->set_nanos(999);  // upstream's Time reads seconds only
  m->set_deletiongraceperiodseconds(0);
  auto* mf = m->add_managedfields();
  mf->set_manager("kubectl-create");
  mf->set_operation("Update");
  mf->mutable_time()->set_seconds(1714557600);
  mf->set_fieldstype("FieldsV1");
  mf->set_subresource("");  // Go clients always write it; upstream's JSON omits it when empty
  mf->mutable_fieldsv1()->set_raw(R"({"f:metadata":{"f:labels":{}}})");
  const json doc = MustDecode(WrapEnvelope("v1", "Namespace", ns.SerializeAsString()));
  EXPECT_EQ(doc["metadata"]["creationTimestamp"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(doc["metadata"]["deletionGracePeriodSeconds"], 0);
  const json& entry = doc["metadata"]["managedFields"][0];
  EXPECT_EQ(entry["manager"], "kubectl-create");
  EXPECT_EQ(entry["time"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(entry["fieldsV1"], json::parse(R"({"f:metadata":{"f:labels":{}}})"));
  EXPECT_FALSE(entry.contains("subresource"));
  auto obj = DecodeObject(doc, {.strict = true});
  ASSERT_TRUE(obj.ok()) << obj.status().ToString();
  EXPECT_EQ(MetaOf(*obj).managed_fields, doc["metadata"]["managedFields"]);
}

TEST(DecodeProtobuf, EnvelopeErrors) {
  EXPECT_NE(Error("").find("magic"), std::string::npos);
  EXPECT_NE(Error("k8s").find("magic"), std::string::npos);
  EXPECT_NE(Error(R"({"kind":"Namespace"})").find("magic"), std::string::npos);
  EXPECT_NE(Error(std::string("k8s\x01", 4)).find("magic"), std::string::npos);

  // The real namespace body is magic(4) typeMeta(2+15) raw(2+27) contentEncoding(2)
  // contentType(2): every cut from the raw field's tag to its last byte is truncated.
  for (size_t n = 22; n < 50; ++n) {
    auto doc = DecodeProtobuf(kKubectlNamespace.substr(0, n));
    EXPECT_FALSE(doc.ok()) << "prefix of " << n << " bytes decoded";
  }
  EXPECT_NE(Error(kKubectlService.substr(0, 60)).find("truncated or malformed"), std::string::npos);

  k8s::io::apimachinery::pkg::runtime::Unknown env;
  env.mutable_typemeta()->set_apiversion("v1");
  EXPECT_NE(Error("k8s" + std::string(1, '\0') + env.SerializeAsString()).find("no kind"),
            std::string::npos);
  env.mutable_typemeta()->set_kind("Namespace");
  env.set_contentencoding("gzip");
  EXPECT_NE(Error("k8s" + std::string(1, '\0') + env.SerializeAsString()).find("contentEncoding"),
            std::string::npos);

  EXPECT_EQ(Error(WrapEnvelope("v1", "Foo", "")),
            R"(no kind "Foo" is registered for version "v1")");
  EXPECT_EQ(Error(WrapEnvelope("apps/v1", "Pod", "")),
            R"(no kind "Pod" is registered for version "apps/v1")");
  EXPECT_EQ(Error(WrapEnvelope("", "Pod", "")),
            R"(protobuf envelope names no apiVersion for kind "Pod")");
  // Bytes that are not UTF-8 are escaped in the message, never passed through.
  EXPECT_EQ(Error(WrapEnvelope("v1", "P\xff", "")),
            R"(no kind "P\xff" is registered for version "v1")");
}

TEST(DecodeProtobuf, MessageErrors) {
  // Field 1 (metadata) claims 5 bytes but the body ends.
  EXPECT_NE(Error(WrapEnvelope("v1", "Pod", std::string("\x0a\x05\x0a\x01", 4))).find("truncated"),
            std::string::npos);
  // Wire type 7 does not exist.
  EXPECT_NE(Error(WrapEnvelope("v1", "Pod", "\x0f")).find("malformed"), std::string::npos);
  // Pod.metadata (field 1) sent as a varint: upstream rejects a wrong wire type, so do we.
  EXPECT_EQ(Error(WrapEnvelope("v1", "Pod", std::string("\x08\x01", 2))),
            "decoding protobuf Pod: metadata: wrong wire type for field 1 of Pod");
  // ServicePort.port (field 3, varint) sent length-delimited, deep in the object.
  core::Service svc;
  svc.mutable_spec()->add_ports()->set_name("a");
  auto* unknown = svc.mutable_spec()->mutable_ports(0)->GetReflection()->MutableUnknownFields(
      svc.mutable_spec()->mutable_ports(0));
  unknown->AddLengthDelimited(3, "x");
  EXPECT_EQ(Error(WrapEnvelope("v1", "Service", svc.SerializeAsString())),
            "decoding protobuf Service: spec.ports[0].port: wrong wire type for field 3 of "
            "ServicePort");
  // Unknown field numbers are skipped, as protobuf does (clients send fields knet does not model).
  core::Pod pod;
  pod.mutable_metadata()->set_name("p");
  pod.mutable_spec()->GetReflection()->MutableUnknownFields(pod.mutable_spec())->AddVarint(12, 1);
  EXPECT_EQ(MustDecode(WrapEnvelope("v1", "Pod", pod.SerializeAsString()))["metadata"]["name"],
            "p");
}

TEST(DecodeProtobuf, ValueErrors) {
  core::Pod pod;
  pod.mutable_metadata()->set_name("bad\xc3");
  EXPECT_EQ(Error(WrapEnvelope("v1", "Pod", pod.SerializeAsString())),
            "decoding protobuf Pod: metadata.name: string is not valid UTF-8");

  core::Pod labels;
  (*labels.mutable_metadata()->mutable_labels())["k\xed\xa0\x80"] = "v";  // a UTF-16 surrogate
  EXPECT_NE(Error(WrapEnvelope("v1", "Pod", labels.SerializeAsString())).find("map key"),
            std::string::npos);

  core::Service svc;
  svc.mutable_spec()->add_ports()->mutable_targetport()->set_type(2);
  EXPECT_NE(Error(WrapEnvelope("v1", "Service", svc.SerializeAsString()))
                .find("spec.ports[0].targetPort: IntOrString type 2"),
            std::string::npos);

  core::Node node;
  (*node.mutable_status()->mutable_capacity())["cpu"].set_string("lots");
  EXPECT_NE(
      Error(WrapEnvelope("v1", "Node", node.SerializeAsString())).find("status.capacity[\"cpu\"]"),
      std::string::npos);

  core::Namespace ns;
  ns.mutable_metadata()->mutable_creationtimestamp()->set_seconds(INT64_MAX);
  EXPECT_NE(Error(WrapEnvelope("v1", "Namespace", ns.SerializeAsString()))
                .find("metadata.creationTimestamp: time"),
            std::string::npos);

  core::Event ev;
  ev.mutable_eventtime()->set_seconds(1);
  ev.mutable_eventtime()->set_nanos(-1);
  EXPECT_NE(Error(WrapEnvelope("v1", "Event", ev.SerializeAsString())).find("eventTime: nanos"),
            std::string::npos);

  core::Namespace mf;
  mf.mutable_metadata()->add_managedfields()->mutable_fieldsv1()->set_raw("{not json");
  EXPECT_NE(Error(WrapEnvelope("v1", "Namespace", mf.SerializeAsString()))
                .find("managedFields[0].fieldsV1: FieldsV1 is not valid JSON"),
            std::string::npos);
  // Client-supplied JSON inside the protobuf gets the same nesting limit as a JSON body.
  mf.mutable_metadata()->mutable_managedfields(0)->mutable_fieldsv1()->set_raw(
      std::string(100000, '['));
  EXPECT_NE(Error(WrapEnvelope("v1", "Namespace", mf.SerializeAsString())).find("fieldsV1"),
            std::string::npos);
}

// The fuzz seeds are real or protoc-encoded envelopes: each must decode, and the kinds knet
// serves must pass the strict typed decoder too. (ctest runs from the source tree.)
TEST(DecodeProtobuf, FuzzSeedsDecode) {
  const std::filesystem::path dir = "tests/testdata/fuzz/api_proto";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "run from the source tree to check seeds";
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto doc = DecodeProtobuf(body);
    ASSERT_TRUE(doc.ok()) << entry.path() << ": " << doc.status().ToString();
    ++seeds;
    const std::string kind = (*doc)["kind"];
    if (kind == "ConfigMap" || kind == "DeleteOptions" || kind == "Scale") continue;
    auto obj = DecodeObject(*doc, {.strict = true});
    EXPECT_TRUE(obj.ok()) << entry.path() << ": " << obj.status().ToString();
  }
  EXPECT_GE(seeds, 5);
}

TEST(WrapEnvelope, RoundTripsThroughDecode) {
  const std::string body = WrapEnvelope("v1", "Namespace", "");
  EXPECT_EQ(body.substr(0, 4), std::string("k8s\0", 4));
  const json doc = MustDecode(body);
  EXPECT_EQ(doc, (json{{"apiVersion", "v1"}, {"kind", "Namespace"}}));
}

}  // namespace
}  // namespace knet::api::proto
