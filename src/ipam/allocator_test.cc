#include "ipam/internal/allocator.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace knet::ipam::ipam_internal {
namespace {

using base::IPAddress;
using json = nlohmann::json;

IPAddress IP(const char* s) { return *IPAddress::Parse(s); }

IpamConfig Config(const char* text) {
  auto cfg = ParseIpamConfig(json::parse(text), "n");
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return *cfg;
}

// Allocates `count` addresses in a row, as the store does: each starts after the previous.
std::vector<std::string> Walk(const IpamConfig& cfg, std::set<IPAddress>* taken, int count,
                              std::optional<IPAddress> last = std::nullopt) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    auto ip = NextFree(cfg, cfg.range_sets[0], last,
                       [&](const IPAddress& a) { return taken->contains(a); });
    if (!ip) {
      out.push_back("none");
      break;
    }
    taken->insert(*ip);
    last = *ip;
    out.push_back(ip->ToString());
  }
  return out;
}

TEST(NextFreeTest, StartsAtRangeStartAndSkipsTheGateway) {
  IpamConfig cfg = Config(R"({"type": "x", "subnet": "10.0.0.0/29"})");
  std::set<IPAddress> taken;
  // .0 network, .1 gateway, .7 broadcast.
  EXPECT_EQ(Walk(cfg, &taken, 7), (std::vector<std::string>{"10.0.0.2", "10.0.0.3", "10.0.0.4",
                                                            "10.0.0.5", "10.0.0.6", "none"}));
}

TEST(NextFreeTest, ContinuesAfterTheLastReservedAndWraps) {
  IpamConfig cfg = Config(R"({"type": "x", "subnet": "10.0.0.0/29"})");
  std::set<IPAddress> taken = {IP("10.0.0.5")};
  // The last reserved was .4: .5 is taken, so .6, then wrap to .2.
  EXPECT_EQ(Walk(cfg, &taken, 2, IP("10.0.0.4")),
            (std::vector<std::string>{"10.0.0.6", "10.0.0.2"}));
  // A freed address before the last reserved one is reused only after the wrap.
  std::set<IPAddress> t2 = {IP("10.0.0.3"), IP("10.0.0.4")};
  EXPECT_EQ(Walk(cfg, &t2, 4, IP("10.0.0.4")),
            (std::vector<std::string>{"10.0.0.5", "10.0.0.6", "10.0.0.2", "none"}));
}

TEST(NextFreeTest, LastReservedOutsideTheSetStartsAtTheBeginning) {
  IpamConfig cfg = Config(R"({"type": "x", "subnet": "10.0.0.0/29", "rangeStart": "10.0.0.3"})");
  std::set<IPAddress> taken;
  EXPECT_EQ(Walk(cfg, &taken, 1, IP("192.168.0.1")), (std::vector<std::string>{"10.0.0.3"}));
}

TEST(NextFreeTest, WalksAcrossTheRangesOfASet) {
  IpamConfig cfg = Config(R"({"type": "x", "ranges": [[
      {"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.10", "rangeEnd": "10.0.0.11"},
      {"subnet": "10.0.1.0/24", "rangeStart": "10.0.1.1", "rangeEnd": "10.0.1.3"}]]})");
  std::set<IPAddress> taken;
  // 10.0.1.1 is the second range's (default) gateway.
  EXPECT_EQ(Walk(cfg, &taken, 5),
            (std::vector<std::string>{"10.0.0.10", "10.0.0.11", "10.0.1.2", "10.0.1.3", "none"}));
  // At the end of a range the walk moves to the next range, then wraps to the first.
  taken = {};
  EXPECT_EQ(Walk(cfg, &taken, 2, IP("10.0.0.11")),
            (std::vector<std::string>{"10.0.1.2", "10.0.1.3"}));
  taken = {};
  EXPECT_EQ(Walk(cfg, &taken, 1, IP("10.0.1.3")), (std::vector<std::string>{"10.0.0.10"}));
}

TEST(NextFreeTest, SkipsExcludedPrefixes) {
  IpamConfig cfg = Config(R"({"type": "x", "subnet": "10.0.0.0/24",
      "exclude": ["10.0.0.2", "10.0.0.4/30", "10.0.0.128/25"]})");
  std::set<IPAddress> taken;
  auto got = Walk(cfg, &taken, 3);
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.3", "10.0.0.8", "10.0.0.9"}));
  // The whole top half is excluded: after .127 the walk wraps.
  taken = {};
  EXPECT_EQ(Walk(cfg, &taken, 1, IP("10.0.0.126")), (std::vector<std::string>{"10.0.0.127"}));
  EXPECT_EQ(Walk(cfg, &taken, 1, IP("10.0.0.127")), (std::vector<std::string>{"10.0.0.3"}));
}

TEST(NextFreeTest, HugeIPv6RangeIsCheap) {
  IpamConfig cfg = Config(R"({"type": "x", "subnet": "fd00::/48", "exclude": ["fd00::/64"]})");
  std::set<IPAddress> taken;
  EXPECT_EQ(Walk(cfg, &taken, 2), (std::vector<std::string>{"fd00:0:0:1::", "fd00:0:0:1::1"}));
  EXPECT_EQ(Walk(cfg, &taken, 1, IP("fd00::ffff:ffff:ffff:ffff:fffe")),
            (std::vector<std::string>{"fd00::ffff:ffff:ffff:ffff:ffff"}));
}

}  // namespace
}  // namespace knet::ipam::ipam_internal
