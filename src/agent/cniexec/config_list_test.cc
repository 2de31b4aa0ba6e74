#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "agent/cniexec/cniexec.h"

namespace knet::agent::cniexec {
namespace {

class ConfigListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_cniexec_conf_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(ConfigListTest, LexicallyFirstFileWins) {
  Write("20-b.conflist", R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"x"}]})");
  Write(
      "10-a.conflist",
      R"({"cniVersion":"1.1.0","name":"a","disableCheck":true,"plugins":[{"type":"x"},{"type":"portmap","capabilities":{"portMappings":true}}]})");
  Write("00-ignored.txt", "not a config");
  auto l = LoadNetworkConfigList(dir_);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->name, "a");
  EXPECT_EQ(l->cni_version, "1.1.0");
  EXPECT_TRUE(l->disable_check);
  EXPECT_FALSE(l->disable_gc);
  ASSERT_EQ(l->plugins.size(), 2u);
  EXPECT_EQ(l->plugins[1]["type"], "portmap");
  EXPECT_EQ(l->source, dir_ + "/10-a.conflist");
}

TEST_F(ConfigListTest, SinglePluginConfIsWrapped) {
  Write("05-single.conf", R"({"cniVersion":"0.4.0","name":"one","type":"bridge","bridge":"b0"})");
  auto l = LoadNetworkConfigList(dir_);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->name, "one");
  EXPECT_EQ(l->cni_version, "0.4.0");
  ASSERT_EQ(l->plugins.size(), 1u);
  EXPECT_EQ(l->plugins[0]["bridge"], "b0");
  nlohmann::json bytes = nlohmann::json::parse(l->bytes);
  EXPECT_EQ(bytes["plugins"].size(), 1u);
}

TEST_F(ConfigListTest, ParseErrorsNameTheFile) {
  Write("10-bad.conflist", R"({"cniVersion":"1.1.0","name":"a","plugins":[{"nope":1}]})");
  auto l = LoadNetworkConfigList(dir_);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("10-bad.conflist"), std::string::npos);
  EXPECT_NE(l.status().message().find("plugins[0]"), std::string::npos);
  Write("01-worse.conflist", "{");
  l = LoadNetworkConfigList(dir_);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().message().find("01-worse.conflist: not valid JSON"), std::string::npos);
}

TEST_F(ConfigListTest, InvalidLists) {
  EXPECT_FALSE(ParseNetworkConfigList(R"({"name":"a","plugins":[{"type":"x"}]})").ok());
  EXPECT_FALSE(ParseNetworkConfigList(R"({"cniVersion":"1.1.0","plugins":[{"type":"x"}]})").ok());
  EXPECT_FALSE(ParseNetworkConfigList(R"({"cniVersion":"1.1.0","name":"a","plugins":[]})").ok());
  EXPECT_FALSE(
      ParseNetworkConfigList(R"({"cniVersion":"1.1.0","name":"a","plugins":[{"type":"../x"}]})")
          .ok());
  EXPECT_FALSE(ParseNetworkConfigList("[]").ok());
}

TEST_F(ConfigListTest, EmptyOrMissingDirIsNotFound) {
  auto l = LoadNetworkConfigList(dir_);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), base::StatusCode::kNotFound);
  l = LoadNetworkConfigList(dir_ + "/absent");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), base::StatusCode::kNotFound);
}

TEST(ResultIpsTest, SandboxAddressesIpv4First) {
  nlohmann::json r = nlohmann::json::parse(R"({
    "cniVersion":"1.1.0",
    "interfaces":[{"name":"br"},{"name":"eth0","sandbox":"/run/netns/x"}],
    "ips":[{"address":"fd00::5/64","interface":1},{"address":"10.1.0.1/24","interface":0},
           {"address":"10.1.0.5/24","interface":1}]})");
  auto ips = ResultIps(r);
  ASSERT_TRUE(ips.ok()) << ips.status().ToString();
  ASSERT_EQ(ips->size(), 2u);
  EXPECT_EQ((*ips)[0].ToString(), "10.1.0.5");
  EXPECT_EQ((*ips)[1].ToString(), "fd00::5");
  EXPECT_FALSE(ResultIps(nlohmann::json::parse(R"({"ips":[{"address":"nope"}]})")).ok());
}

TEST(PortMappingsTest, Json) {
  nlohmann::json j = PortMappingsJson({{8080, 80, "tcp", ""}, {53, 53, "udp", "127.0.0.1"}});
  EXPECT_EQ(
      j.dump(),
      R"([{"containerPort":80,"hostPort":8080,"protocol":"tcp"},{"containerPort":53,"hostIP":"127.0.0.1","hostPort":53,"protocol":"udp"}])");
}

}  // namespace
}  // namespace knet::agent::cniexec
