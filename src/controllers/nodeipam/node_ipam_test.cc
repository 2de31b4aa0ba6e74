#include "controllers/nodeipam/node_ipam.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "api/core.h"
#include "controllers/internal/test_env.h"

namespace knet::controllers {
namespace {

class NodeIpamTest : public testing::ControllerTest {
 protected:
  void TearDown() override {
    if (ipam_) ipam_->Stop();
    ipam_.reset();
    ControllerTest::TearDown();
  }
  void StartIpam(NodeIpamOptions opts = {}) {
    auto c = NodeIpamController::Create(informers_.get(), opts);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ipam_ = std::move(*c);
    StartInformers();
    ipam_->Start();
  }
  api::Node GetNode(const std::string& name) {
    auto n = client_->Get<api::Node>("", name);
    return n.ok() ? *n : api::Node{};
  }
  std::vector<std::string> CidrsOf(const std::string& name) { return GetNode(name).spec.pod_cidrs; }
  bool WaitCidrs(const std::string& name) {
    return Eventually([&] { return !CidrsOf(name).empty(); });
  }
  std::optional<api::NodeCondition> NetworkUnavailable(const std::string& name) {
    for (const api::NodeCondition& c : GetNode(name).status.conditions) {
      if (c.type == "NetworkUnavailable") return c;
    }
    return std::nullopt;
  }
  bool HasEvent(const std::string& node, const std::string& reason) {
    auto list = client_->List<api::Event>("default");
    if (!list.ok()) return false;
    for (const api::Event& e : list->items) {
      if (e.involved_object.name == node && e.reason == reason) return true;
    }
    return false;
  }

  std::unique_ptr<NodeIpamController> ipam_;
};

TEST_F(NodeIpamTest, AllocatesSequentially) {
  StartIpam();
  for (const char* n : {"n1", "n2", "n3"}) {
    CreateNode(n);
    ASSERT_TRUE(WaitCidrs(n)) << n;  // one at a time, so the order is known
  }
  EXPECT_EQ(CidrsOf("n1"), std::vector<std::string>{"10.244.0.0/24"});
  EXPECT_EQ(CidrsOf("n2"), std::vector<std::string>{"10.244.1.0/24"});
  EXPECT_EQ(CidrsOf("n3"), std::vector<std::string>{"10.244.2.0/24"});
  EXPECT_EQ(GetNode("n2").spec.pod_cidr, "10.244.1.0/24");
  EXPECT_TRUE(Eventually([&] { return HasEvent("n1", "CIDRAssigned"); }));
  // A normal node never gets a NetworkUnavailable condition from us.
  EXPECT_FALSE(NetworkUnavailable("n1").has_value());
}

TEST_F(NodeIpamTest, DualStackGivesOneRangePerFamilyInFlagOrder) {
  StartIpam({.cluster_cidr = "fd00:10:244::/56,10.244.0.0/16",
             .node_cidr_mask_size_ipv4 = 24,
             .node_cidr_mask_size_ipv6 = 64});
  CreateNode("n1");
  ASSERT_TRUE(WaitCidrs("n1"));
  CreateNode("n2");
  ASSERT_TRUE(WaitCidrs("n2"));
  EXPECT_EQ(CidrsOf("n1"), (std::vector<std::string>{"fd00:10:244::/64", "10.244.0.0/24"}));
  EXPECT_EQ(CidrsOf("n2"), (std::vector<std::string>{"fd00:10:244:1::/64", "10.244.1.0/24"}));
  EXPECT_EQ(GetNode("n2").spec.pod_cidr, "fd00:10:244:1::/64");
}

TEST_F(NodeIpamTest, ReleasesOnDeleteAndReuses) {
  StartIpam({.cluster_cidr = "10.244.0.0/22"});  // four /24s
  for (const char* n : {"n1", "n2", "n3", "n4"}) {
    CreateNode(n);
    ASSERT_TRUE(WaitCidrs(n)) << n;
  }
  ASSERT_TRUE(client_->Delete<api::Node>("", "n2").ok());
  // The only free range is n2's: the next node must get exactly it.
  CreateNode("n5");
  ASSERT_TRUE(WaitCidrs("n5"));
  EXPECT_EQ(CidrsOf("n5"), std::vector<std::string>{"10.244.1.0/24"});
}

TEST_F(NodeIpamTest, RestartNeverDuplicatesExistingRanges) {
  // Nodes that got their ranges from an earlier controller (or were registered with them).
  for (auto [name, cidr] : std::vector<std::pair<std::string, std::string>>{
           {"old1", "10.244.0.0/24"}, {"old2", "10.244.2.0/24"}, {"foreign", "192.168.7.0/24"}}) {
    api::Node n;
    n.metadata.name = name;
    n.spec.pod_cidr = cidr;
    n.spec.pod_cidrs = {cidr};
    ASSERT_TRUE(client_->Create(n).ok());
  }
  CreateNode("new1");
  CreateNode("new2");
  StartIpam();
  ASSERT_TRUE(WaitCidrs("new1"));
  ASSERT_TRUE(WaitCidrs("new2"));
  std::set<std::string> got{CidrsOf("new1")[0], CidrsOf("new2")[0]};
  EXPECT_EQ(got, (std::set<std::string>{"10.244.1.0/24", "10.244.3.0/24"}));
  // Out-of-range ranges are left as they are.
  EXPECT_EQ(CidrsOf("foreign"), std::vector<std::string>{"192.168.7.0/24"});
  EXPECT_EQ(CidrsOf("old2"), std::vector<std::string>{"10.244.2.0/24"});
}

TEST_F(NodeIpamTest, ExhaustionSetsConditionAndRetriesWhenARangeIsFreed) {
  StartIpam({.cluster_cidr = "10.244.0.0/23"});
  CreateNode("n1");
  ASSERT_TRUE(WaitCidrs("n1"));
  CreateNode("n2");
  ASSERT_TRUE(WaitCidrs("n2"));
  CreateNode("n3");
  ASSERT_TRUE(Eventually([&] {
    auto c = NetworkUnavailable("n3");
    return c && c->status == "True";
  }));
  auto c = NetworkUnavailable("n3");
  EXPECT_EQ(c->reason, "NoCIDRAvailable");
  EXPECT_NE(c->message.find("10.244.0.0/23"), std::string::npos) << c->message;
  // The agent's Ready condition is kept.
  bool ready = false;
  for (const api::NodeCondition& nc : GetNode("n3").status.conditions) {
    ready = ready || (nc.type == "Ready" && nc.status == "True");
  }
  EXPECT_TRUE(ready);
  EXPECT_TRUE(CidrsOf("n3").empty());
  ASSERT_TRUE(Eventually([&] { return HasEvent("n3", "CIDRNotAvailable"); }));

  ASSERT_TRUE(client_->Delete<api::Node>("", "n1").ok());
  ASSERT_TRUE(WaitCidrs("n3"));
  EXPECT_EQ(CidrsOf("n3"), std::vector<std::string>{"10.244.0.0/24"});
  ASSERT_TRUE(Eventually([&] {
    auto cond = NetworkUnavailable("n3");
    return cond && cond->status == "False" && cond->reason == "CIDRAssigned";
  }));
}

TEST_F(NodeIpamTest, RejectsBadOptionsNamingTheFlag) {
  auto bad = [&](NodeIpamOptions o) {
    auto c = NodeIpamController::Create(informers_.get(), o);
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), base::StatusCode::kInvalidArgument);
    return std::string(c.status().message());
  };
  EXPECT_EQ(bad({.cluster_cidr = "10.244.0.0/33"}).rfind("--cluster-cidr \"10.244.0.0/33\": ", 0),
            0u);
  EXPECT_NE(bad({.cluster_cidr = "10.244.0.0/16,10.245.0.0/16"}).find("one per IP family"),
            std::string::npos);
  EXPECT_NE(bad({.cluster_cidr = "10.244.0.0/16", .node_cidr_mask_size_ipv4 = 8})
                .find("--node-cidr-mask-size-ipv4 8"),
            std::string::npos);
  EXPECT_NE(bad({.cluster_cidr = "10.0.0.0/8", .node_cidr_mask_size_ipv4 = 28}).find("2^16"),
            std::string::npos);
  EXPECT_NE(bad({.cluster_cidr = "fd00::/48", .node_cidr_mask_size_ipv6 = 129})
                .find("--node-cidr-mask-size-ipv6 129"),
            std::string::npos);
  EXPECT_TRUE(NodeIpamController::Create(informers_.get(), {}).ok());
}

}  // namespace
}  // namespace knet::controllers
