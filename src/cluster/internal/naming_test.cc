#include "cluster/internal/naming.h"

#include <gtest/gtest.h>

#include "cluster/internal/manifest.h"

namespace knet::cluster::internal {
namespace {

base::Cidr C(const char* s) { return *base::Cidr::Parse(s); }

TEST(ClusterNamingTest, ValidatesClusterNames) {
  for (const char* ok : {"knet", "a", "dev-2", "abcdefghijklmnopqrstuvwxyz012345"}) {
    EXPECT_TRUE(ValidateName(ok).ok()) << ok;
  }
  for (const char* bad :
       {"", "-a", "a-", "Knet", "a_b", "a/b", "a.b", "abcdefghijklmnopqrstuvwxyz0123456"}) {
    base::Status s = ValidateName(bad);
    EXPECT_EQ(s.code(), base::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ClusterNamingTest, LinkNamesFitInFifteenBytesAndDifferPerCluster) {
  EXPECT_EQ(BridgeName("knet"), "kn-knet");
  EXPECT_EQ(HostVethName("knet", 3), "kn-knet-3");
  EXPECT_EQ(NodeNetnsName("knet", 2), "kc-knet-node-2");
  EXPECT_EQ(NodeName(2), "node-2");
  std::string a = "long-cluster-name-one", b = "long-cluster-name-two";
  EXPECT_NE(BridgeName(a), BridgeName(b));
  EXPECT_LE(BridgeName(a).size(), 15u);
  EXPECT_LE(HostVethName(a, kMaxNodes).size(), 15u);
  EXPECT_EQ(BridgeName(a), BridgeName(a));  // stable
}

TEST(ClusterNamingTest, DefaultUnderlaySkipsSubnetsInUse) {
  base::Cidr first = *DefaultUnderlay("knet", {});
  EXPECT_TRUE(C("10.250.0.0/16").Contains(first));
  EXPECT_EQ(first.prefix_len(), 24);
  // A default route says nothing; a covering route or an address in it does.
  EXPECT_EQ(*DefaultUnderlay("knet", {C("0.0.0.0/0")}), first);
  base::Cidr second = *DefaultUnderlay("knet", {first});
  EXPECT_NE(second, first);
  EXPECT_FALSE(second.Overlaps(first));
  EXPECT_EQ(DefaultUnderlay("knet", {C("10.250.0.0/16")}).status().code(),
            base::StatusCode::kResourceExhausted);
  // Different names mostly land on different subnets.
  EXPECT_NE(*DefaultUnderlay("one", {}), *DefaultUnderlay("two", {}));
}

TEST(ClusterNamingTest, UnderlayMustHoldTheGatewayAndEveryNode) {
  EXPECT_TRUE(CheckUnderlay(C("10.1.0.0/29"), 5).ok());  // .1 gateway, .2-.6 nodes
  EXPECT_EQ(CheckUnderlay(C("10.1.0.0/29"), 6).code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckUnderlay(C("10.1.0.0/31"), 1).code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckUnderlay(C("fd00::/64"), 1).code(), base::StatusCode::kInvalidArgument);
}

TEST(ClusterManifestTest, RoundTripsThroughJson) {
  Manifest m;
  m.name = "demo";
  m.state_dir = "/var/lib/knet/clusters/demo";
  m.store = "etcd";
  m.bridge = "kn-demo";
  m.nodes.push_back({"node-1", "kc-demo-node-1", "kn-demo-1", "10.250.3.2", "/x/nodes/node-1"});
  m.processes.push_back({"agent", "node-1", 42, 123456789012, "/x/logs/node-1.log"});
  m.files = {"/root/demo.kubeconfig"};
  m.complete = true;
  auto back = DecodeManifest(EncodeManifest(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, "demo");
  EXPECT_EQ(back->store, "etcd");
  ASSERT_EQ(back->nodes.size(), 1u);
  EXPECT_EQ(back->nodes[0].host_veth, "kn-demo-1");
  EXPECT_EQ(back->nodes[0].root_dir, "/x/nodes/node-1");
  ASSERT_EQ(back->processes.size(), 1u);
  EXPECT_EQ(back->processes[0].pid, 42);
  EXPECT_EQ(back->processes[0].start_time, 123456789012u);
  EXPECT_EQ(back->files, m.files);
  EXPECT_TRUE(back->complete);
  EXPECT_EQ(DecodeManifest("{not json").status().code(), base::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeManifest("[1]").status().code(), base::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace knet::cluster::internal
