#include "overlay/bgp/birdc.h"

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace knet::overlay::bgp {
namespace {

using ::testing::HasSubstr;

TEST(BirdcTest, ParsesShowProtocols) {
  // Verbatim from bird 2.0.12 (`birdc -v show protocols`).
  constexpr char kOut[] =
      "0001 BIRD 2.0.12 ready.\n"
      "2002-Name       Proto      Table      State  Since         Info\n"
      "1002-device1    Device     ---        up     01:56:36.715  \n"
      "     knet_pods  Static     master4    up     01:56:36.715  \n"
      "     Mesh_10_0_0_2 BGP        ---        start  01:56:36.715  Idle          \n"
      "     Mesh_10_0_0_3 BGP        ---        up     01:56:38.001  Established   \n";
  auto ps = ParseShowProtocols(kOut);
  ASSERT_TRUE(ps.ok()) << ps.status().ToString();
  ASSERT_EQ(ps->size(), 4u);
  EXPECT_EQ((*ps)[0], (BirdProtocol{"device1", "Device", "---", "up", "01:56:36.715", ""}));
  EXPECT_EQ((*ps)[2].name, "Mesh_10_0_0_2");
  EXPECT_EQ((*ps)[2].state, "start");
  EXPECT_EQ((*ps)[2].info, "Idle");
  EXPECT_EQ((*ps)[3].info, "Established");
}

TEST(BirdcTest, ErrorsCarryBirdsMessage) {
  constexpr char kOut[] =
      "0001 BIRD 2.0.12 ready.\n"
      "0002-Reading configuration from /x/bird.conf\n"
      "8002 /x/bird.conf:7:11 syntax error, unexpected CF_SYM_UNDEFINED\n";
  base::Status s = CheckReply("configure", kOut);
  EXPECT_EQ(s.code(), base::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("/x/bird.conf:7:11 syntax error"));
  EXPECT_TRUE(CheckReply("configure",
                         "0001 BIRD 2.0.12 ready.\n0002-Reading configuration from /x\n"
                         "0003 Reconfigured\n")
                  .ok());
  EXPECT_EQ(CheckReply("configure", "").code(), base::StatusCode::kUnavailable);
}

TEST(BirdcTest, UnreachableSocketIsUnavailable) {
  Birdc b("/usr/sbin/birdc", "/nonexistent/knet-bird.ctl");
  if (access("/usr/sbin/birdc", X_OK) != 0) GTEST_SKIP() << "birdc not installed";
  EXPECT_EQ(b.Configure().code(), base::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace knet::overlay::bgp
