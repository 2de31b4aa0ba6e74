#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "apiserver/patch/patch.h"

namespace knet::apiserver::patch {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json J(const char* text) { return json::parse(text); }

// Applies and expects success; the result.
json Apply(const char* doc, const char* patch) {
  base::StatusOr<json> out = ApplyJsonPatch(J(doc), J(patch));
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : json();
}

// Applies and expects an InvalidArgument error; its message.
std::string Fail(const json& doc, const json& patch) {
  base::StatusOr<json> out = ApplyJsonPatch(doc, patch);
  EXPECT_FALSE(out.ok()) << "unexpected success: " << (out.ok() ? out->dump() : "");
  if (out.ok()) return "";
  EXPECT_EQ(out.status().code(), base::StatusCode::kInvalidArgument) << out.status().ToString();
  return out.status().message();
}
std::string Fail(const char* doc, const char* patch) { return Fail(J(doc), J(patch)); }

// RFC 6902 appendix A, one test per example.
TEST(JsonPatchRfc6902, A1AddObjectMember) {
  EXPECT_EQ(Apply(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])"),
            J(R"({"baz":"qux","foo":"bar"})"));
}

TEST(JsonPatchRfc6902, A2AddArrayElement) {
  EXPECT_EQ(Apply(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])"),
            J(R"({"foo":["bar","qux","baz"]})"));
}

TEST(JsonPatchRfc6902, A3RemoveObjectMember) {
  EXPECT_EQ(Apply(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])"),
            J(R"({"foo":"bar"})"));
}

TEST(JsonPatchRfc6902, A4RemoveArrayElement) {
  EXPECT_EQ(Apply(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])"),
            J(R"({"foo":["bar","baz"]})"));
}

TEST(JsonPatchRfc6902, A5ReplaceValue) {
  EXPECT_EQ(
      Apply(R"({"baz":"qux","foo":"bar"})", R"([{"op":"replace","path":"/baz","value":"boo"}])"),
      J(R"({"baz":"boo","foo":"bar"})"));
}

TEST(JsonPatchRfc6902, A6MoveValue) {
  EXPECT_EQ(Apply(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                  R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])"),
            J(R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"));
}

TEST(JsonPatchRfc6902, A7MoveArrayElement) {
  EXPECT_EQ(Apply(R"({"foo":["all","grass","cows","eat"]})",
                  R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])"),
            J(R"({"foo":["all","cows","eat","grass"]})"));
}

TEST(JsonPatchRfc6902, A8TestSuccess) {
  EXPECT_EQ(Apply(R"({"baz":"qux","foo":["a",2,"c"]})",
                  R"([{"op":"test","path":"/baz","value":"qux"},
                      {"op":"test","path":"/foo/1","value":2}])"),
            J(R"({"baz":"qux","foo":["a",2,"c"]})"));
}

TEST(JsonPatchRfc6902, A9TestFailure) {
  EXPECT_EQ(Fail(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])"),
            R"(operation 0 (test /baz): test failed: value is "qux", test expects "bar")");
}

TEST(JsonPatchRfc6902, A10AddNestedMemberObject) {
  EXPECT_EQ(
      Apply(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])"),
      J(R"({"foo":"bar","child":{"grandchild":{}}})"));
}

TEST(JsonPatchRfc6902, A11IgnoresUnrecognizedMembers) {
  EXPECT_EQ(Apply(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux","xyz":123}])"),
            J(R"({"foo":"bar","baz":"qux"})"));
}

TEST(JsonPatchRfc6902, A12AddToNonexistentTarget) {
  EXPECT_EQ(Fail(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])"),
            "operation 0 (add /baz/bat): path not found");
}

TEST(JsonPatchRfc6902, A14EscapeOrdering) {
  EXPECT_EQ(Apply(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10}])"),
            J(R"({"/":9,"~1":10})"));
  EXPECT_EQ(Apply(R"({"/":9,"~1":10})", R"([{"op":"replace","path":"/~1","value":1}])"),
            J(R"({"/":1,"~1":10})"));
}

TEST(JsonPatchRfc6902, A15StringsAndNumbersDiffer) {
  EXPECT_THAT(Fail(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":"10"}])"),
              HasSubstr("test failed"));
}

TEST(JsonPatchRfc6902, A16AddArrayValueWithDash) {
  EXPECT_EQ(Apply(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])"),
            J(R"({"foo":["bar",["abc","def"]]})"));
}

TEST(JsonPatch, AppliesOperationsInOrderAndCopies) {
  EXPECT_EQ(Apply(R"({"spec":{"replicas":1,"template":{"labels":{"a":"b"}}}})",
                  R"([{"op":"replace","path":"/spec/replicas","value":3},
                      {"op":"copy","from":"/spec/template/labels","path":"/spec/selector"},
                      {"op":"add","path":"/spec/selector/c","value":"d"},
                      {"op":"test","path":"/spec/template/labels","value":{"a":"b"}}])"),
            J(R"({"spec":{"replicas":3,"selector":{"a":"b","c":"d"},
                          "template":{"labels":{"a":"b"}}}})"));
}

TEST(JsonPatch, WholeDocumentPointer) {
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"replace","path":"","value":{"b":2}}])"),
            J(R"({"b":2})"));
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"add","path":"","value":[1]}])"), J("[1]"));
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"remove","path":""}])"),
              HasSubstr("cannot remove the whole document"));
}

TEST(JsonPatch, NumbersCompareByValueInTest) {
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"test","path":"/a","value":1.0}])"), J(R"({"a":1})"));
}

TEST(JsonPatch, ErrorsNameOperationIndexAndPath) {
  EXPECT_EQ(Fail(R"({"spec":{}})", R"([{"op":"test","path":"/spec","value":{}},
                                       {"op":"replace","path":"/spec/replicas","value":2}])"),
            "operation 1 (replace /spec/replicas): path not found");
  EXPECT_EQ(Fail(R"({"a":1})", R"([{"op":"remove","path":"/b"}])"),
            "operation 0 (remove /b): path not found");
}

TEST(JsonPatch, RejectsPatchThatIsNotAnArray) {
  EXPECT_EQ(Fail(R"({"a":1})", R"({"op":"add","path":"/b","value":1})"),
            "JSON patch must be an array of operations, got object");
  EXPECT_THAT(Fail(R"({"a":1})", R"([1])"), HasSubstr("operation must be a JSON object"));
}

TEST(JsonPatch, RejectsBadOperations) {
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"frobnicate","path":"/a"}])"),
              HasSubstr("operation 0 (frobnicate /a): unknown op \"frobnicate\""));
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"path":"/a"}])"), HasSubstr("missing string member \"op\""));
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"add","value":1}])"), HasSubstr("missing \"path\""));
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"add","path":"/b"}])"), HasSubstr("missing \"value\""));
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"move","path":"/b"}])"), HasSubstr("missing \"from\""));
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"add","path":5,"value":1}])"),
              HasSubstr("\"path\" must be a string"));
}

TEST(JsonPatch, RejectsBadPointers) {
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"add","path":"a","value":1}])"),
              HasSubstr("must be empty or start with '/'"));
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"add","path":"/a~2","value":1}])"),
              HasSubstr("'~' not followed by 0 or 1"));
  EXPECT_THAT(Fail(R"({"a":[1]})", R"([{"op":"replace","path":"/a/01","value":1}])"),
              HasSubstr("\"01\" is not an array index"));
  EXPECT_THAT(Fail(R"({"a":[1]})", R"([{"op":"remove","path":"/a/-"}])"),
              HasSubstr("\"-\" is not an array index"));
  EXPECT_THAT(Fail(R"({"a":"s"})", R"([{"op":"add","path":"/a/b","value":1}])"),
              HasSubstr("not an object or array"));
}

TEST(JsonPatch, RejectsIndexOutOfRange) {
  EXPECT_EQ(Fail(R"({"a":[1,2]})", R"([{"op":"add","path":"/a/3","value":1}])"),
            "operation 0 (add /a/3): index 3 is out of range (array has 2 elements)");
  EXPECT_THAT(Fail(R"({"a":[1,2]})", R"([{"op":"replace","path":"/a/2","value":1}])"),
              HasSubstr("index 2 is out of range"));
  EXPECT_THAT(Fail(R"({"a":[1,2]})", R"([{"op":"remove","path":"/a/99999999999"}])"),
              HasSubstr("not an array index"));
  // Appending at index == size is allowed.
  EXPECT_EQ(Apply(R"({"a":[1,2]})", R"([{"op":"add","path":"/a/2","value":3}])"),
            J(R"({"a":[1,2,3]})"));
}

TEST(JsonPatch, MoveIntoOwnChildFails) {
  EXPECT_THAT(Fail(R"({"a":{"b":{}}})", R"([{"op":"move","from":"/a","path":"/a/b/c"}])"),
              HasSubstr("cannot move a value into itself"));
  EXPECT_EQ(Apply(R"({"a":1})", R"([{"op":"move","from":"/a","path":"/a"}])"), J(R"({"a":1})"));
  EXPECT_THAT(Fail(R"({"a":1})", R"([{"op":"move","from":"/x","path":"/x"}])"),
              HasSubstr("path not found"));
}

json Nested(int depth) {
  json v = 1;
  for (int i = 0; i < depth; ++i) v = json::array({v});
  return v;
}

TEST(JsonPatch, CapsNestingDepth) {
  EXPECT_THAT(Fail(Nested(kMaxPatchDepth + 5), J(R"([{"op":"test","path":"","value":1}])")),
              HasSubstr("document is nested deeper than 100 levels"));
  json patch = json::array({{{"op", "add"}, {"path", "/a"}, {"value", Nested(150)}}});
  EXPECT_THAT(Fail(J(R"({"a":1})"), patch), HasSubstr("nested deeper than 100 levels"));
  // Repeated copies cannot double the document past the limit either.
  json doc = {{"a", Nested(60)}};
  std::string deep_path = "/a";
  for (int i = 0; i < 50; ++i) deep_path += "/0";
  json copy = json::array({{{"op", "copy"}, {"from", "/a"}, {"path", deep_path}}});
  EXPECT_THAT(Fail(doc, copy), HasSubstr("nested deeper than 100 levels"));
  deep_path = "/a/0/0";
  copy = json::array({{{"op", "copy"}, {"from", "/a"}, {"path", deep_path}}});
  EXPECT_TRUE(ApplyJsonPatch(doc, copy).ok());
}

TEST(JsonPatch, CapsTotalSizeOfCopies) {
  json doc = {{"a", std::string((1 << 20) - 100, 'x')}};
  json patch = json::array();
  for (int i = 0; i < 20; ++i) {
    patch.push_back({{"op", "copy"}, {"from", "/a"}, {"path", "/b" + std::to_string(i)}});
  }
  EXPECT_THAT(Fail(doc, patch), HasSubstr("operation 16 (copy /b16): copy operations of this "
                                          "patch exceed 16 MiB in total"));
  patch.erase(patch.begin() + 16, patch.end());
  base::StatusOr<json> out = ApplyJsonPatch(doc, patch);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["b15"], doc["a"]);
}

TEST(JsonPatch, CapsOperationCount) {
  json patch = json::array();
  for (size_t i = 0; i <= kMaxJsonPatchOperations; ++i) {
    patch.push_back({{"op", "test"}, {"path", "/a"}, {"value", 1}});
  }
  base::StatusOr<json> out = ApplyJsonPatch(J(R"({"a":1})"), patch);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), base::StatusCode::kResourceExhausted);
  EXPECT_EQ(out.status().message(),
            "the allowed maximum operations in a JSON patch is 10000, got 10001");
  patch.erase(patch.begin());
  EXPECT_TRUE(ApplyJsonPatch(J(R"({"a":1})"), patch).ok());
}

TEST(JsonPatch, TestFailureMessageIsShortened) {
  json doc = {{"a", std::string(1000, 'x')}};
  std::string message = Fail(doc, J(R"([{"op":"test","path":"/a","value":"y"}])"));
  EXPECT_LT(message.size(), 300u);
  EXPECT_THAT(message, HasSubstr("..., test expects \"y\""));
}

}  // namespace
}  // namespace knet::apiserver::patch
