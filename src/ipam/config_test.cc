#include "ipam/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace knet::ipam {
namespace {

using base::Cidr;
using base::IPAddress;
using base::StatusCode;
using json = nlohmann::json;
using ::testing::HasSubstr;

IPAddress IP(const char* s) { return *IPAddress::Parse(s); }
Cidr C(const char* s) { return *Cidr::Parse(s); }

TEST(ParseIpamConfigTest, RangesWithHostLocalDefaults) {
  json ipam = json::parse(R"({
    "type": "host-local",
    "ranges": [
      [{"subnet": "10.244.1.0/24"}, {"subnet": "10.244.2.0/24", "rangeStart": "10.244.2.10",
        "rangeEnd": "10.244.2.20", "gateway": "10.244.2.254"}],
      [{"subnet": "fd00:1::/64"}]
    ],
    "routes": [{"dst": "0.0.0.0/0"}, {"dst": "fd00::/8", "gw": "fd00:1::1"}],
    "dataDir": "/run/knet/ipam",
    "resolvConf": "/etc/knet/resolv.conf"
  })");
  auto cfg = ParseIpamConfig(ipam, "mynet");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->type, "host-local");
  ASSERT_EQ(cfg->range_sets.size(), 2u);
  ASSERT_EQ(cfg->range_sets[0].ranges.size(), 2u);
  const Range& r0 = cfg->range_sets[0].ranges[0];
  EXPECT_EQ(r0.subnet, C("10.244.1.0/24"));
  EXPECT_EQ(r0.range_start, IP("10.244.1.1"));
  EXPECT_EQ(r0.range_end, IP("10.244.1.254"));  // broadcast excluded
  EXPECT_EQ(r0.gateway, IP("10.244.1.1"));
  const Range& r1 = cfg->range_sets[0].ranges[1];
  EXPECT_EQ(r1.range_start, IP("10.244.2.10"));
  EXPECT_EQ(r1.range_end, IP("10.244.2.20"));
  EXPECT_EQ(r1.gateway, IP("10.244.2.254"));
  const Range& v6 = cfg->range_sets[1].ranges[0];
  EXPECT_EQ(v6.range_start, IP("fd00:1::1"));
  EXPECT_EQ(v6.range_end, IP("fd00:1::ffff:ffff:ffff:ffff"));  // no broadcast in IPv6
  EXPECT_EQ(v6.gateway, IP("fd00:1::1"));
  ASSERT_EQ(cfg->routes.size(), 2u);
  EXPECT_EQ(cfg->routes[0], (Route{C("0.0.0.0/0"), std::nullopt}));
  EXPECT_EQ(cfg->routes[1], (Route{C("fd00::/8"), IP("fd00:1::1")}));
  EXPECT_EQ(cfg->StoreDir(), "/run/knet/ipam/mynet");
  EXPECT_EQ(cfg->resolv_conf, "/etc/knet/resolv.conf");
  EXPECT_EQ(cfg->range_sets[0].RangeFor(IP("10.244.2.15")), &cfg->range_sets[0].ranges[1]);
  EXPECT_EQ(cfg->range_sets[0].RangeFor(IP("10.244.2.21")), nullptr);
}

TEST(ParseIpamConfigTest, DefaultDataDir) {
  auto cfg = ParseIpamConfig(json{{"type", "host-local"}, {"subnet", "10.0.0.0/24"}}, "net1");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->StoreDir(), "/var/lib/cni/networks/net1");
}

TEST(ParseIpamConfigTest, LegacyRangeComesFirst) {
  json ipam = json::parse(R"({"type": "host-local", "subnet": "10.1.0.0/16",
    "rangeStart": "10.1.0.100", "rangeEnd": "10.1.0.200", "gateway": "10.1.0.1",
    "ranges": [[{"subnet": "fd00::/120"}]]})");
  auto cfg = ParseIpamConfig(ipam, "n");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->range_sets.size(), 2u);
  EXPECT_EQ(cfg->range_sets[0].ranges[0].subnet, C("10.1.0.0/16"));
  EXPECT_EQ(cfg->range_sets[0].ranges[0].range_start, IP("10.1.0.100"));
  EXPECT_EQ(cfg->range_sets[0].ranges[0].range_end, IP("10.1.0.200"));
  EXPECT_EQ(cfg->range_sets[1].ranges[0].subnet, C("fd00::/120"));
  EXPECT_EQ(cfg->range_sets[1].ranges[0].range_end, IP("fd00::ff"));
}

TEST(ParseIpamConfigTest, Exclude) {
  json ipam = json::parse(R"({"type": "host-local", "subnet": "10.1.0.0/24",
    "exclude": ["10.1.0.5", "10.1.0.16/28"]})");
  auto cfg = ParseIpamConfig(ipam, "n");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_TRUE(cfg->IsExcluded(IP("10.1.0.5")));
  EXPECT_TRUE(cfg->IsExcluded(IP("10.1.0.31")));
  EXPECT_FALSE(cfg->IsExcluded(IP("10.1.0.32")));
  EXPECT_FALSE(cfg->IsExcluded(IP("10.1.0.6")));
}

struct BadCase {
  const char* name;
  const char* ipam;
  const char* want;  // a substring of the error message
};

class ParseIpamConfigErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseIpamConfigErrorTest, NamesTheField) {
  auto cfg = ParseIpamConfig(json::parse(GetParam().ipam), "n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(cfg.status().message(), HasSubstr(GetParam().want));
}

INSTANTIATE_TEST_SUITE_P(
    All, ParseIpamConfigErrorTest,
    ::testing::Values(
        BadCase{"not_object", R"([])", "ipam: must be an object"},
        BadCase{"no_type", R"({"subnet": "10.0.0.0/24"})", "ipam.type: missing"},
        BadCase{"type_not_string", R"({"type": 5, "subnet": "10.0.0.0/24"})",
                "ipam.type: must be a string"},
        BadCase{"no_ranges", R"({"type": "host-local"})", "no IP ranges specified"},
        BadCase{"start_without_subnet", R"({"type": "x", "rangeStart": "10.0.0.1",
                "ranges": [[{"subnet": "10.0.0.0/24"}]]})",
                "ipam.rangeStart: set without ipam.subnet"},
        BadCase{"ranges_not_list", R"({"type": "x", "ranges": {}})", "ipam.ranges: must be"},
        BadCase{"set_not_list", R"({"type": "x", "ranges": [{"subnet": "10.0.0.0/24"}]})",
                "ipam.ranges[0]: must be a list of ranges"},
        BadCase{"empty_set", R"({"type": "x", "ranges": [[]]})", "ipam.ranges[0]: empty range set"},
        BadCase{"no_subnet", R"({"type": "x", "ranges": [[{"gateway": "10.0.0.1"}]]})",
                "ipam.ranges[0][0].subnet: missing"},
        BadCase{"bad_subnet", R"({"type": "x", "ranges": [[{"subnet": "10.0.0.300/24"}]]})",
                "ipam.ranges[0][0].subnet"},
        BadCase{"host_bits", R"({"type": "x", "ranges": [[{"subnet": "10.0.0.5/24"}]]})",
                "ipam.ranges[0][0].subnet"},
        BadCase{"too_small_v4", R"({"type": "x", "subnet": "10.0.0.0/31"})",
                "too small to allocate from"},
        BadCase{"too_small_v6", R"({"type": "x", "subnet": "fd00::/127"})",
                "too small to allocate from"},
        BadCase{"start_outside", R"({"type": "x", "ranges": [[{"subnet": "10.2.0.0/24",
                "rangeStart": "10.1.0.5"}]]})",
                "ipam.ranges[0][0].rangeStart: 10.1.0.5 is not in subnet 10.2.0.0/24"},
        BadCase{"end_broadcast", R"({"type": "x", "subnet": "10.2.0.0/24",
                "rangeEnd": "10.2.0.255"})",
                "ipam.rangeEnd: 10.2.0.255 is the broadcast address"},
        BadCase{"start_network", R"({"type": "x", "subnet": "10.2.0.0/24",
                "rangeStart": "10.2.0.0"})",
                "ipam.rangeStart: 10.2.0.0 is the network address"},
        BadCase{"gateway_outside", R"({"type": "x", "subnet": "10.2.0.0/24",
                "gateway": "10.3.0.1"})",
                "ipam.gateway: 10.3.0.1 is not in subnet"},
        BadCase{"gateway_family", R"({"type": "x", "subnet": "10.2.0.0/24",
                "gateway": "fd00::1"})",
                "ipam.gateway: fd00::1 is not in subnet"},
        BadCase{"start_after_end", R"({"type": "x", "subnet": "10.2.0.0/24",
                "rangeStart": "10.2.0.50", "rangeEnd": "10.2.0.40"})",
                "rangeStart 10.2.0.50 is after rangeEnd 10.2.0.40"},
        BadCase{"mixed_families", R"({"type": "x", "ranges": [[{"subnet": "10.0.0.0/24"},
                {"subnet": "fd00::/64"}]]})",
                "ipam.ranges[0][1].subnet: fd00::/64 mixes address families"},
        BadCase{"overlap_in_set", R"({"type": "x", "ranges": [[{"subnet": "10.0.0.0/16"},
                {"subnet": "10.0.1.0/24"}]]})",
                "overlaps"},
        BadCase{"overlap_across_sets", R"({"type": "x", "ranges": [[{"subnet": "10.0.0.0/24"}],
                [{"subnet": "10.0.0.0/24"}]]})",
                "(range sets 0 and 1)"},
        BadCase{"route_no_dst", R"({"type": "x", "subnet": "10.0.0.0/24",
                "routes": [{"gw": "10.0.0.1"}]})",
                "ipam.routes[0].dst: missing"},
        BadCase{"route_bad_gw", R"({"type": "x", "subnet": "10.0.0.0/24",
                "routes": [{"dst": "0.0.0.0/0", "gw": "fd00::1"}]})",
                "ipam.routes[0].gw"},
        BadCase{"data_dir_type", R"({"type": "x", "subnet": "10.0.0.0/24", "dataDir": 1})",
                "ipam.dataDir: must be a string"},
        BadCase{"exclude_bad", R"({"type": "x", "subnet": "10.0.0.0/24",
                "exclude": ["10.0.0.1/33"]})",
                "ipam.exclude[0]"}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return std::string(p.param.name); });

TEST(ParseIpamConfigTest, NetworkNameMustBeADirectoryName) {
  const json ipam = {{"type", "host-local"}, {"subnet", "10.0.0.0/24"}};
  for (const char* bad : {"", ".", "..", "a/b", "../x"}) {
    auto cfg = ParseIpamConfig(ipam, bad);
    EXPECT_FALSE(cfg.ok()) << bad;
  }
  EXPECT_TRUE(ParseIpamConfig(ipam, "k8s-pod-network").ok());
}

TEST(RequestedIpsTest, AllSourcesInOrderWithoutDuplicates) {
  json netconf = json::parse(R"({
    "runtimeConfig": {"ips": ["10.0.0.5/24"]},
    "args": {"cni": {"ips": ["fd00::5", "10.0.0.5"]}}
  })");
  auto ips = RequestedIps(netconf, "IgnoreUnknown=1;IP=10.0.0.7, fd00::7;K8S_POD_NAME=x");
  ASSERT_TRUE(ips.ok()) << ips.status().ToString();
  EXPECT_EQ(*ips,
            (std::vector<IPAddress>{IP("10.0.0.5"), IP("fd00::5"), IP("10.0.0.7"), IP("fd00::7")}));
  auto none = RequestedIps(json::object(), "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(RequestedIpsTest, BadEntriesNameTheSource) {
  auto a = RequestedIps(json::parse(R"({"runtimeConfig": {"ips": ["10.0.0.300"]}})"), "");
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("runtimeConfig.ips[0]"));
  auto b = RequestedIps(json::parse(R"({"args": {"cni": {"ips": "10.0.0.1"}}})"), "");
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("args.cni.ips: must be a list"));
  auto c = RequestedIps(json::object(), "IP=banana");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("CNI_ARGS IP"));
}

TEST(ResolvConfTest, Parses) {
  Dns dns = ParseResolvConf(
      "# comment\nnameserver 10.96.0.10\nnameserver fd00::10\nsearch a.svc b.local\n"
      "domain cluster.local\noptions ndots:5 edns0\nsortlist 1.2.3.4\n");
  EXPECT_EQ(dns.nameservers, (std::vector<std::string>{"10.96.0.10", "fd00::10"}));
  EXPECT_EQ(dns.search, (std::vector<std::string>{"a.svc", "b.local"}));
  EXPECT_EQ(dns.domain, "cluster.local");
  EXPECT_EQ(dns.options, (std::vector<std::string>{"ndots:5", "edns0"}));
  auto missing = ReadResolvConf("/nonexistent/knet/resolv.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/knet/resolv.conf"));
}

}  // namespace
}  // namespace knet::ipam
