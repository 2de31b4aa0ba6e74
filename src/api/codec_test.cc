#include "api/codec.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/json.h"
#include "api/manifest.h"
#include "api/object.h"
#include "api/yaml.h"

namespace knet::api {
namespace {

using nlohmann::json;

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Drops what the wire format treats as absent (null, "", {}, []), so an input manifest and our
// encoding of it can be compared field by field.
json Normalize(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      json n = Normalize(it.value());
      if (n.is_null() || n == "" || (n.is_object() && n.empty()) || (n.is_array() && n.empty())) {
        continue;
      }
      out[it.key()] = std::move(n);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) {
      json n = Normalize(e);
      out.push_back(n.is_null() ? json::object() : n);
    }
    return out;
  }
  return v;
}

std::vector<std::filesystem::path> CorpusFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator("tests/testdata/manifests")) {
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Codec, CorpusIsPresent) { EXPECT_GE(CorpusFiles().size(), 6u); }

// Every manifest of the corpus decodes without warnings, and re-encoding keeps every field:
// the encoded JSON equals the input document modulo absent-vs-empty.
TEST(Codec, CorpusRoundTripsEveryField) {
  size_t objects = 0;
  for (const auto& file : CorpusFiles()) {
    SCOPED_TRACE(file.string());
    const std::string text = ReadFile(file);
    std::vector<std::string> warnings;
    auto decoded = DecodeManifest(text, file.filename().string(), {}, &warnings);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_TRUE(warnings.empty()) << warnings.front();

    // The raw documents, List items unwrapped, in the same order as the objects.
    std::vector<json> docs;
    if (file.extension() == ".json") {
      docs.push_back(json::parse(text));
    } else {
      auto y = ParseYamlDocuments(text);
      ASSERT_TRUE(y.ok());
      for (auto& d : *y) {
        if (d.value.value("kind", "") == "List") {
          for (auto& item : d.value["items"]) docs.push_back(item);
        } else {
          docs.push_back(d.value);
        }
      }
    }
    ASSERT_EQ(docs.size(), decoded->size());
    for (size_t i = 0; i < docs.size(); ++i) {
      const Object& obj = (*decoded)[i];
      SCOPED_TRACE(Describe(obj));
      const std::string encoded = EncodeObject(obj);
      EXPECT_EQ(Normalize(json::parse(encoded)), Normalize(docs[i]));
      // Decoding our own output gives the same object, and encoding is byte-stable.
      auto again = DecodeObject(json::parse(encoded));
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      EXPECT_TRUE(*again == obj);
      EXPECT_EQ(EncodeObject(*again), encoded);
      ++objects;
    }
  }
  EXPECT_GE(objects, 20u);
}

TEST(Codec, YamlManifestRoundTrips) {
  for (const auto& file : CorpusFiles()) {
    SCOPED_TRACE(file.string());
    auto decoded = DecodeManifest(ReadFile(file), file.filename().string());
    ASSERT_TRUE(decoded.ok());
    const std::string yaml = EncodeManifestYaml(*decoded);
    auto again = DecodeManifest(yaml, "re-encoded");
    ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << yaml;
    EXPECT_TRUE(*again == *decoded) << yaml;
  }
}

TEST(Codec, EncodesWireFormat) {
  Service svc;
  svc.metadata.name = "web";
  svc.metadata.creation_timestamp = *Time::Parse("2026-11-24T10:00:00Z");
  ServicePort p;
  p.port = 80;
  p.target_port = IntOrString::FromString("http");
  svc.spec.ports.push_back(p);
  ServicePort q;
  q.port = 53;
  q.target_port = IntOrString::FromInt(5353);
  q.protocol = "UDP";
  svc.spec.ports.push_back(q);
  EXPECT_EQ(EncodeJson(svc),
            R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web",)"
            R"("creationTimestamp":"2026-11-24T10:00:00Z"},"spec":{"ports":[{"port":80,)"
            R"("targetPort":"http"},{"protocol":"UDP","port":53,"targetPort":5353}]},)"
            R"("status":{"loadBalancer":{}}})");
}

TEST(Codec, AlwaysFieldsAreWrittenEvenWhenEmpty) {
  NetworkPolicy np;
  np.metadata.name = "deny";
  const json j = json::parse(EncodeJson(np));
  EXPECT_EQ(j["spec"]["podSelector"], json::object());  // {} selects all pods: must be present
  EndpointSlice es;
  es.address_type = "IPv4";
  EXPECT_EQ(json::parse(EncodeJson(es))["endpoints"], json::array());
}

TEST(Codec, ListsCarryTheirKindAndItemsDoNot) {
  List<Pod> list;
  list.metadata.resource_version = "12";
  list.items.emplace_back().metadata.name = "a";
  const json j = json::parse(EncodeJson(list));
  EXPECT_EQ(j["kind"], "PodList");
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["metadata"]["resourceVersion"], "12");
  EXPECT_FALSE(j["items"][0].contains("kind"));
  auto back = DecodeJson<List<Pod>>(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->items.at(0).metadata.name, "a");
}

struct ErrorCase {
  const char* name;
  const char* json;
  const char* want;  // substring of the error
};

class CodecErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(CodecErrors, NameTheFieldAndTheValue) {
  auto s = DecodeJson<Service>(std::string_view(GetParam().json));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find(GetParam().want), std::string::npos) << s.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, CodecErrors,
    testing::Values(
        ErrorCase{"port_as_string", R"({"spec":{"ports":[{"port":"80"}]}})",
                  R"(spec.ports[0].port: expected integer, got string "80")"},
        ErrorCase{"port_as_float", R"({"spec":{"ports":[{"port":80.5}]}})",
                  "spec.ports[0].port: expected integer, got number 80.5"},
        ErrorCase{"int32_overflow", R"({"spec":{"ports":[{"port":3000000000}]}})",
                  "spec.ports[0].port: value 3000000000 out of range [-2147483648, 2147483647]"},
        ErrorCase{"labels_not_map", R"({"metadata":{"labels":["a"]}})",
                  "metadata.labels: expected object, got array"},
        ErrorCase{"label_value_not_string", R"({"metadata":{"labels":{"app":1}}})",
                  "metadata.labels[app]: expected string, got number 1"},
        ErrorCase{"bad_time", R"({"metadata":{"creationTimestamp":"yesterday"}})",
                  R"(metadata.creationTimestamp: invalid time "yesterday")"},
        ErrorCase{"target_port_bool", R"({"spec":{"ports":[{"port":1,"targetPort":true}]}})",
                  "spec.ports[0].targetPort: expected integer or string, got boolean true"},
        ErrorCase{"wrong_kind", R"({"apiVersion":"v1","kind":"Pod"})",
                  R"(kind: expected "Service", got string "Pod")"},
        ErrorCase{"not_object", R"([1,2])", "expected object, got array"},
        ErrorCase{"syntax", R"({"spec": {)", "invalid JSON: parse error at line 1, column 11"},
        ErrorCase{
            "several", R"({"spec":{"type":1,"selector":{"a":2}}})",
            R"(spec.selector[a]: expected string, got number 2; spec.type: expected string)"}),
    [](const testing::TestParamInfo<ErrorCase>& i) { return i.param.name; });

TEST(Codec, UnknownFieldsWarnOrFailInStrictMode) {
  const char* doc =
      R"({"metadata":{"name":"a","nmae":"b"},"spec":{"ports":[{"port":1,"prot":2}]}})";
  std::vector<std::string> warnings;
  auto lax = DecodeJson<Service>(std::string_view(doc), {}, &warnings);
  ASSERT_TRUE(lax.ok());
  EXPECT_EQ(lax->metadata.name, "a");
  EXPECT_EQ(warnings, (std::vector<std::string>{R"(unknown field "metadata.nmae")",
                                                R"(unknown field "spec.ports[0].prot")"}));
  auto strict = DecodeJson<Service>(std::string_view(doc), {.strict = true});
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().message(),
            R"(unknown field "metadata.nmae"; unknown field "spec.ports[0].prot")");
}

TEST(Codec, DuplicateFieldsWarnOrFailInStrictMode) {
  const char* doc = R"({"metadata":{"name":"a","name":"b"}})";
  std::vector<std::string> warnings;
  auto lax = DecodeJson<Pod>(std::string_view(doc), {}, &warnings);
  ASSERT_TRUE(lax.ok());
  EXPECT_EQ(lax->metadata.name, "b");  // last wins, as in Go
  EXPECT_EQ(warnings, std::vector<std::string>{R"(duplicate field "metadata.name")"});
  EXPECT_FALSE(DecodeJson<Pod>(std::string_view(doc), {.strict = true}).ok());
}

TEST(Codec, NullIsTheZeroValue) {
  auto p = DecodeJson<Pod>(std::string_view(
      R"({"metadata":{"name":null,"labels":null},"spec":{"containers":null,"priority":null}})"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->metadata.name.empty());
  EXPECT_FALSE(p->spec.priority.has_value());
}

TEST(Codec, OptionalPointersKeepPresenceAndFalse) {
  auto es = DecodeJson<EndpointSlice>(std::string_view(
      R"({"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":false}}]})"));
  ASSERT_TRUE(es.ok());
  const auto& c = es->endpoints.at(0).conditions;
  ASSERT_TRUE(c.ready.has_value());
  EXPECT_FALSE(*c.ready);
  EXPECT_FALSE(c.serving.has_value());
  EXPECT_NE(EncodeJson(*es).find(R"("conditions":{"ready":false})"), std::string::npos);
}

TEST(Codec, QuantitiesFromNumbersBecomeStrings) {
  auto n = DecodeJson<Node>(std::string_view(R"({"status":{"capacity":{"cpu":2,"pods":"110"}}})"));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->status.capacity.at("cpu").ToString(), "2");
  EXPECT_EQ(n->status.capacity.at("cpu").MilliValue(), 2000);
  auto bad = DecodeJson<Node>(std::string_view(R"({"status":{"capacity":{"cpu":"lots"}}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(R"(status.capacity[cpu]: invalid quantity "lots")"),
            std::string::npos);
}

// Found by api_codec_fuzzer: a null quantity in a map encoded as "" and did not decode back.
TEST(Codec, NullQuantityIsZero) {
  auto n = DecodeJson<Node>(std::string_view(R"({"status":{"capacity":{"cpu":null}}})"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->status.capacity.at("cpu").ToString(), "0");
  auto again = DecodeJson<Node>(std::string_view(EncodeJson(*n)));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(*again == *n);
}

TEST(Codec, MicroTimeKeepsMicroseconds) {
  Lease l;
  l.spec.renew_time.time = *Time::Parse("2026-11-24T10:00:05.123456Z");
  l.metadata.creation_timestamp = *Time::Parse("2026-11-24T10:00:05.9Z");
  const json j = json::parse(EncodeJson(l));
  EXPECT_EQ(j["spec"]["renewTime"], "2026-11-24T10:00:05.123456Z");
  EXPECT_EQ(j["metadata"]["creationTimestamp"], "2026-11-24T10:00:05Z");
}

TEST(Codec, InvalidUtf8EncodesAsReplacementCharacter) {
  Pod p;
  p.metadata.name = "bad\xff\xfe";
  p.metadata.annotations["note"] = "tab\tquote\"nl\nctl\x01";
  const std::string s = EncodeJson(p);
  auto j = ParseJson(s);
  ASSERT_TRUE(j.ok()) << s;
  EXPECT_EQ((*j)["metadata"]["name"], "bad\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ((*j)["metadata"]["annotations"]["note"], "tab\tquote\"nl\nctl\x01");
}

// Found by api_codec_fuzzer: invalid UTF-8 inside YAML used to reach the objects and make the
// round trip lossy. go-yaml refuses such input; so do we.
TEST(Codec, YamlWithInvalidUtf8IsRefused) {
  auto r = ParseYamlDocuments(
      "kind: Service\nmetadata:\n  name: \"we\xff"
      "b\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "YAML: invalid UTF-8 at byte 35 (line 3)");
}

TEST(Codec, DeepNestingIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  auto j = ParseJson(deep);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("nesting deeper than 200"), std::string::npos);
  std::string deep_yaml;
  for (int i = 0; i < 300; ++i) deep_yaml += "[";
  EXPECT_FALSE(ParseYamlDocuments(deep_yaml).ok());
}

TEST(Codec, ObjectDispatchByKind) {
  auto obj = DecodeObject(json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
      "metadata":{"name":"web","namespace":"prod"}})"));
  ASSERT_TRUE(obj.ok());
  EXPECT_TRUE(std::holds_alternative<Deployment>(*obj));
  EXPECT_EQ(Describe(*obj), R"(Deployment "prod/web")");

  auto unknown = DecodeObject(json::parse(R"({"apiVersion":"v1","kind":"Widget"})"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), R"(no matches for kind "Widget" in version "v1")");
  auto wrong_group = DecodeObject(json::parse(R"({"apiVersion":"v1","kind":"Deployment"})"));
  EXPECT_FALSE(wrong_group.ok());
  auto no_kind = DecodeObject(json::parse(R"({"apiVersion":"v1"})"));
  ASSERT_FALSE(no_kind.ok());
  EXPECT_NE(no_kind.status().message().find("kind: Required value"), std::string::npos);
}

}  // namespace
}  // namespace knet::api
