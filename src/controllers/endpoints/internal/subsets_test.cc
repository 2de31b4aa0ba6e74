#include "controllers/endpoints/internal/subsets.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace knet::controllers::endpoints_internal {
namespace {

PodEndpoint Pod(const std::string& ip, bool ready, std::vector<int32_t> ports) {
  PodEndpoint p;
  p.address.ip = ip;
  p.ready = ready;
  for (int32_t n : ports) {
    api::EndpointPort port;
    port.name = "p" + std::to_string(n);
    port.port = n;
    port.protocol = "TCP";
    p.ports.push_back(port);
  }
  return p;
}

TEST(RepackSubsetsTest, GroupsByPortSetAndSorts) {
  auto subsets = RepackSubsets({Pod("10.0.0.3", true, {80, 443}), Pod("10.0.0.1", false, {443, 80}),
                                Pod("10.0.0.2", true, {8080}), Pod("10.0.0.0", true, {80, 443})});
  ASSERT_EQ(subsets.size(), 2u);
  const api::EndpointSubset& both = subsets[0].ports.size() == 2 ? subsets[0] : subsets[1];
  ASSERT_EQ(both.addresses.size(), 2u);
  EXPECT_EQ(both.addresses[0].ip, "10.0.0.0");
  EXPECT_EQ(both.addresses[1].ip, "10.0.0.3");
  ASSERT_EQ(both.not_ready_addresses.size(), 1u);
  EXPECT_EQ(both.ports[0].port, 443);  // "p443" < "p80"
  // Same input in another order: the same object.
  EXPECT_EQ(subsets,
            RepackSubsets({Pod("10.0.0.0", true, {443, 80}), Pod("10.0.0.2", true, {8080}),
                           Pod("10.0.0.1", false, {80, 443}), Pod("10.0.0.3", true, {443, 80})}));
}

TEST(TruncateSubsetsTest, KeepsReadyFirst) {
  auto subsets = RepackSubsets({Pod("10.0.0.1", false, {80}), Pod("10.0.0.2", true, {80}),
                                Pod("10.0.0.3", true, {81}), Pod("10.0.0.4", false, {81})});
  EXPECT_FALSE(TruncateSubsets(subsets, 4));
  EXPECT_TRUE(TruncateSubsets(subsets, 2));
  size_t ready = 0, not_ready = 0;
  for (const auto& s : subsets) {
    ready += s.addresses.size();
    not_ready += s.not_ready_addresses.size();
  }
  EXPECT_EQ(ready, 2u);
  EXPECT_EQ(not_ready, 0u);
}

TEST(TruncateSubsetsTest, ReadyCutProportionallyAcrossSubsets) {
  std::vector<PodEndpoint> pods;
  for (int i = 0; i < 30; ++i) pods.push_back(Pod("10.0.1." + std::to_string(i), true, {80}));
  for (int i = 0; i < 10; ++i) pods.push_back(Pod("10.0.2." + std::to_string(i), true, {81}));
  pods.push_back(Pod("10.0.3.1", false, {80}));
  auto subsets = RepackSubsets(pods);
  EXPECT_TRUE(TruncateSubsets(subsets, 20));
  std::map<int32_t, size_t> ready;
  size_t not_ready = 0;
  for (const auto& s : subsets) {
    ready[s.ports[0].port] = s.addresses.size();
    not_ready += s.not_ready_addresses.size();
  }
  EXPECT_EQ(ready, (std::map<int32_t, size_t>{{80, 15}, {81, 5}}));
  EXPECT_EQ(not_ready, 0u);
}

}  // namespace
}  // namespace knet::controllers::endpoints_internal
