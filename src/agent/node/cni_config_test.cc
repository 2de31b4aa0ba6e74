#include "agent/node/cni_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cni/config.h"
#include "ipam/config.h"

namespace knet::agent::node {
namespace {

class CniConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_cni_config_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    opts_.conf_dir = dir_ + "/net.d";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Read() {
    std::ifstream in(opts_.conf_dir + "/" + kCniConfFileName);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_;
  CniConfigOptions opts_;
};

// Each plugin entry, with name and cniVersion injected as a runtime does, must be accepted by
// knet-cni's own parser.
TEST_F(CniConfigTest, DualStackConfigParsesWithKnetCni) {
  opts_.mtu = 1450;
  opts_.portmap = true;
  auto text = RenderCniConfig(opts_, {"10.244.1.0/24", "fd00:10:244:1::/64"});
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  nlohmann::json list = nlohmann::json::parse(*text);
  EXPECT_EQ(list["cniVersion"], "1.1.0");
  EXPECT_EQ(list["name"], "knet");
  ASSERT_EQ(list["plugins"].size(), 2u);
  EXPECT_EQ(list["plugins"][1]["type"], "portmap");
  EXPECT_EQ(list["plugins"][1]["capabilities"]["portMappings"], true);
  nlohmann::json plugin = list["plugins"][0];
  plugin["name"] = list["name"];
  plugin["cniVersion"] = list["cniVersion"];
  cni::Outcome<cni::NetConf> conf = cni::ParseNetConf(plugin.dump(), cni::Command::kAdd);
  ASSERT_TRUE(conf.ok()) << conf.error().msg;
  EXPECT_EQ(conf.value().type, "knet-cni");
  EXPECT_EQ(conf.value().bridge, "knet0");
  EXPECT_TRUE(conf.value().is_gateway);
  EXPECT_TRUE(conf.value().is_default_gateway);
  EXPECT_TRUE(conf.value().hairpin_mode);
  EXPECT_FALSE(conf.value().ip_masq);
  EXPECT_EQ(conf.value().mtu, 1450u);
  auto ipam = ipam::ParseIpamConfig(conf.value().ipam, "knet");
  ASSERT_TRUE(ipam.ok()) << ipam.status().ToString();
  ASSERT_EQ(ipam->range_sets.size(), 2u);
  EXPECT_EQ(ipam->range_sets[0].ranges[0].subnet.ToString(), "10.244.1.0/24");
  EXPECT_EQ(ipam->range_sets[1].ranges[0].subnet.ToString(), "fd00:10:244:1::/64");
}

TEST_F(CniConfigTest, WritesOnlyOnChange) {
  auto w = WriteCniConfig(opts_, {"10.244.2.0/24"});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(*w);
  std::string first = Read();
  EXPECT_NE(first.find("10.244.2.0/24"), std::string::npos);
  auto mtime = std::filesystem::last_write_time(opts_.conf_dir + "/" + kCniConfFileName);
  w = WriteCniConfig(opts_, {"10.244.2.0/24"});
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(*w);
  EXPECT_EQ(std::filesystem::last_write_time(opts_.conf_dir + "/" + kCniConfFileName), mtime);
  w = WriteCniConfig(opts_, {"10.244.3.0/24"});
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(*w);
  EXPECT_NE(Read().find("10.244.3.0/24"), std::string::npos);
  // Only the conflist: no temp file left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(opts_.conf_dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(CniConfigTest, RejectsBadCidrs) {
  auto r = RenderCniConfig(opts_, {});
  EXPECT_FALSE(r.ok());
  r = RenderCniConfig(opts_, {"10.244.1.0/33"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("10.244.1.0/33"), std::string::npos);
  r = RenderCniConfig(opts_, {"10.244.1.0/24", "10.244.2.0/24"});
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace knet::agent::node
