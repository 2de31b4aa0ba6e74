// File: agent/pod/pod_files_test.cc
#include "agent/pod/pod_files.h"

#include <gtest/gtest.h>

namespace knet::agent::pod {
namespace {

api::Pod MakePod() {
  api::Pod p;
  p.metadata.name = "web-0";
  p.metadata.namespace_ = "shop";
  return p;
}

constexpr const char* kHostResolv =
    "# from the host\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\n"
    "options edns0\n";

TEST(PodFilesTest, HostnameIsPodNameOrSpecHostnameCutTo63) {
  api::Pod p = MakePod();
  EXPECT_EQ(PodHostname(p), "web-0");
  p.spec.hostname = "db";
  EXPECT_EQ(PodHostname(p), "db");
  p.spec.hostname = std::string(62, 'a') + "-b";
  EXPECT_EQ(PodHostname(p), std::string(62, 'a'));  // cut at 63, trailing '-' dropped
}

TEST(PodFilesTest, HostsHasLocalhostPodIpsFqdnAndAliases) {
  api::Pod p = MakePod();
  p.spec.subdomain = "web";
  p.spec.host_aliases.push_back({"192.0.2.9", {"foo.local", "bar.local"}});
  std::string h = RenderHosts(p, {"10.244.1.5", "fd00::5"}, "cluster.local");
  EXPECT_NE(h.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(h.find("10.244.1.5\tweb-0.web.shop.svc.cluster.local\tweb-0\n"), std::string::npos);
  EXPECT_NE(h.find("fd00::5\tweb-0.web.shop.svc.cluster.local\tweb-0\n"), std::string::npos);
  EXPECT_NE(h.find("# Entries added by HostAliases.\n192.0.2.9\tfoo.local\tbar.local\n"),
            std::string::npos);
  p.spec.subdomain.clear();
  EXPECT_NE(RenderHosts(p, {"10.244.1.5"}, "cluster.local").find("10.244.1.5\tweb-0\n"),
            std::string::npos);
}

TEST(PodFilesTest, ClusterFirstUsesClusterDnsAndSearchPath) {
  api::Pod p = MakePod();
  auto r = RenderResolvConf(p, {{"10.96.0.10"}, "cluster.local"}, kHostResolv);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r,
            "nameserver 10.96.0.10\n"
            "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
            "options ndots:5\n");
}

TEST(PodFilesTest, ClusterFirstWithoutClusterDnsFallsBackToTheHost) {
  api::Pod p = MakePod();
  auto r = RenderResolvConf(p, {{}, "cluster.local"}, kHostResolv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            "nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\noptions edns0\n");
}

TEST(PodFilesTest, NoneUsesDnsConfigAndDefaultMergesIt) {
  api::Pod p = MakePod();
  p.spec.dns_policy = "None";
  EXPECT_FALSE(RenderResolvConf(p, {}, kHostResolv).ok());  // None needs nameservers
  api::PodDNSConfig cfg;
  cfg.nameservers = {"1.2.3.4"};
  cfg.searches = {"a.example"};
  cfg.options = {{"ndots", "2"}, {"single-request", std::nullopt}};
  p.spec.dns_config = cfg;
  auto r = RenderResolvConf(p, {}, kHostResolv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "nameserver 1.2.3.4\nsearch a.example\noptions ndots:2 single-request\n");
  p.spec.dns_policy = "Default";
  r = RenderResolvConf(p, {{"10.96.0.10"}, "cluster.local"}, kHostResolv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            "nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 1.2.3.4\n"
            "search corp.example a.example\noptions edns0 ndots:2 single-request\n");
}

TEST(PodFilesTest, UnknownPolicyIsAnErrorNamingThePod) {
  api::Pod p = MakePod();
  p.spec.dns_policy = "Sometimes";
  auto r = RenderResolvConf(p, {}, kHostResolv);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shop/web-0"), std::string::npos);
  EXPECT_NE(r.status().message().find("Sometimes"), std::string::npos);
}

}  // namespace
}  // namespace knet::agent::pod
