#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "apiserver/patch/patch.h"

namespace knet::apiserver::patch {
namespace {

using nlohmann::json;

struct Case {
  const char* doc;
  const char* patch;
  const char* want;
};

// RFC 7386 appendix A, every row of the table.
TEST(MergePatchRfc7386, AppendixA) {
  const Case cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", "null", "null"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const Case& c : cases) {
    base::StatusOr<json> out = ApplyMergePatch(json::parse(c.doc), json::parse(c.patch));
    ASSERT_TRUE(out.ok()) << c.doc << " + " << c.patch << ": " << out.status().ToString();
    EXPECT_EQ(*out, json::parse(c.want)) << c.doc << " + " << c.patch;
  }
}

TEST(MergePatch, KubectlScaleAndLabel) {
  json deploy = json::parse(R"({"metadata":{"name":"web","labels":{"app":"web","tier":"fe"}},
                                "spec":{"replicas":1,"template":{"spec":{"containers":[
                                  {"name":"a","image":"x"},{"name":"b","image":"y"}]}}}})");
  base::StatusOr<json> out =
      ApplyMergePatch(deploy, json::parse(R"({"metadata":{"labels":{"tier":null,"env":"prod"}},
                              "spec":{"replicas":3}})"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)["metadata"]["labels"], json::parse(R"({"app":"web","env":"prod"})"));
  EXPECT_EQ((*out)["spec"]["replicas"], 3);
  // Lists are replaced wholesale in a merge patch.
  out = ApplyMergePatch(deploy, json::parse(R"({"spec":{"template":{"spec":{"containers":[
                                                 {"name":"a","image":"z"}]}}}})"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["spec"]["template"]["spec"]["containers"],
            json::parse(R"([{"name":"a","image":"z"}])"));
}

TEST(MergePatch, CapsNestingDepth) {
  json deep = json::object();
  for (int i = 0; i < 150; ++i) deep = json{{"a", deep}};
  base::StatusOr<json> out = ApplyMergePatch(json::object(), deep);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), ::testing::HasSubstr("merge patch is nested deeper"));
  out = ApplyMergePatch(deep, json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), ::testing::HasSubstr("document is nested deeper"));
}

}  // namespace
}  // namespace knet::apiserver::patch
