#include "agent/node/host_info.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace knet::agent::node {
namespace {

class HostInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_host_info_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  std::string dir_;
};

TEST_F(HostInfoTest, ReadsFixtures) {
  HostInfoOptions o;
  o.version = "v1.2.3";
  o.meminfo_path = Write("meminfo", "MemFree:  100 kB\nMemTotal:       16314560 kB\n");
  o.os_release_path =
      Write("os-release", "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
  o.machine_id_path = Write("machine-id", "0123456789abcdef\n");
  o.boot_id_path = Write("boot_id", "b-o-o-t\n");
  o.max_pods = 42;
  auto h = CollectHostInfo(o);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->capacity.at("memory").ToString(), "16314560Ki");
  EXPECT_EQ(h->capacity.at("pods").ToString(), "42");
  EXPECT_GE(h->capacity.at("cpu").MilliValue(), 1000);
  EXPECT_GT(h->capacity.at("ephemeral-storage").MilliValue(), 0);
  EXPECT_EQ(h->node_info.os_image, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(h->node_info.machine_id, "0123456789abcdef");
  EXPECT_EQ(h->node_info.boot_id, "b-o-o-t");
  EXPECT_EQ(h->node_info.kubelet_version, "v1.2.3");
  EXPECT_EQ(h->node_info.container_runtime_version, "knet://v1.2.3");
  EXPECT_EQ(h->node_info.operating_system, "linux");
  EXPECT_EQ(h->node_info.architecture, GoArch());
  EXPECT_FALSE(h->node_info.kernel_version.empty());
}

TEST_F(HostInfoTest, MissingOptionalFilesLeaveFieldsEmpty) {
  HostInfoOptions o;
  o.os_release_path = dir_ + "/none";
  o.machine_id_path = dir_ + "/none";
  auto h = CollectHostInfo(o);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->node_info.os_image, "");
  EXPECT_EQ(h->node_info.machine_id, "");
  EXPECT_EQ(h->capacity.at("pods").ToString(), "110");
}

TEST_F(HostInfoTest, BadMeminfoNamesTheFile) {
  HostInfoOptions o;
  o.meminfo_path = Write("meminfo", "Nothing: 1 kB\n");
  auto h = CollectHostInfo(o);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find(o.meminfo_path), std::string::npos);
  o.meminfo_path = dir_ + "/absent";
  h = CollectHostInfo(o);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("absent"), std::string::npos);
}

}  // namespace
}  // namespace knet::agent::node
