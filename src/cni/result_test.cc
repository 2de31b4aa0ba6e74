#include "cni/result.h"

#include <gtest/gtest.h>

namespace knet::cni {
namespace {

TEST(CniResult, ReadsA040PrevResultInto1xForm) {
  auto prev = nlohmann::json::parse(R"({
    "cniVersion": "0.4.0",
    "interfaces": [{"name": "eth0", "sandbox": "/run/netns/x"}],
    "ips": [{"version": "4", "address": "10.0.0.5/24", "gateway": "10.0.0.1", "interface": 0}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {"nameservers": ["10.96.0.10"]}})");
  Outcome<nlohmann::json> r = ParseResult(prev);
  ASSERT_TRUE(r.ok()) << r.error().msg;
  EXPECT_FALSE(r.value()["ips"][0].contains("version"));
  EXPECT_EQ(r.value()["ips"][0]["address"], "10.0.0.5/24");
  EXPECT_EQ(r.value()["dns"]["nameservers"][0], "10.96.0.10");
}

TEST(CniResult, NullPrevResultIsEmpty) {
  Outcome<nlohmann::json> r = ParseResult(nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), EmptyResult());
}

TEST(CniResult, RejectsMalformedPrevResult) {
  for (const char* bad : {
           R"({"ips": {}})",
           R"({"ips": [{"address": "nope"}]})",
           R"({"ips": [{"address": "10.0.0.1/24", "interface": 3}]})",
           R"({"ips": [{"address": "10.0.0.1/24", "gateway": "x"}]})",
           R"({"interfaces": [{"mac": "x"}]})",
           R"({"routes": [{"gw": "10.0.0.1"}]})",
       }) {
    Outcome<nlohmann::json> r = ParseResult(nlohmann::json::parse(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidNetworkConfig);
  }
}

TEST(CniResult, RendersVersionFieldOnlyFor040) {
  nlohmann::json result = EmptyResult();
  result["interfaces"].push_back({{"name", "eth0"}});
  result["ips"].push_back({{"address", "10.0.0.5/24"}, {"interface", 0}});
  result["ips"].push_back({{"address", "fd00::5/64"}, {"interface", 0}});
  nlohmann::json old = RenderResult(result, "0.4.0");
  EXPECT_EQ(old["cniVersion"], "0.4.0");
  EXPECT_EQ(old["ips"][0]["version"], "4");
  EXPECT_EQ(old["ips"][1]["version"], "6");
  EXPECT_FALSE(old.contains("dns"));  // empty dns is left out
  for (const char* v : {"1.0.0", "1.1.0"}) {
    nlohmann::json now = RenderResult(result, v);
    EXPECT_EQ(now["cniVersion"], v);
    EXPECT_FALSE(now["ips"][0].contains("version"));
    EXPECT_EQ(now["ips"][1]["interface"], 0);
  }
}

}  // namespace
}  // namespace knet::cni
