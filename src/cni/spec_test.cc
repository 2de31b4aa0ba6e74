#include "cni/spec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace knet::cni {
namespace {

TEST(CniSpec, SupportsZeroFourThroughOneOne) {
  EXPECT_TRUE(IsSupportedVersion("0.4.0"));
  EXPECT_TRUE(IsSupportedVersion("1.0.0"));
  EXPECT_TRUE(IsSupportedVersion("1.1.0"));
  EXPECT_FALSE(IsSupportedVersion("0.3.1"));
  EXPECT_FALSE(IsSupportedVersion("2.0.0"));
}

TEST(CniSpec, VersionEchoesRequestedVersion) {
  VersionResult r = HandleVersion(R"({"cniVersion":"1.0.0"})");
  ASSERT_TRUE(r.ok);
  auto j = nlohmann::json::parse(r.json);
  EXPECT_EQ(j["cniVersion"], "1.0.0");
  EXPECT_EQ(j["supportedVersions"], nlohmann::json({"0.4.0", "1.0.0", "1.1.0"}));
}

TEST(CniSpec, VersionWithEmptyStdinAnswersCurrent) {
  VersionResult r = HandleVersion("");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(nlohmann::json::parse(r.json)["cniVersion"], "1.1.0");
}

TEST(CniSpec, VersionRejectsGarbage) {
  VersionResult r = HandleVersion("{not json");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, ErrorCode::kDecodeFailure);
  auto j = nlohmann::json::parse(ErrorJson(r.error, "1.1.0"));
  EXPECT_EQ(j["code"], 6);
  EXPECT_EQ(j["msg"], "decoding VERSION request on stdin");
}

}  // namespace
}  // namespace knet::cni
