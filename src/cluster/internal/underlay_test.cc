#include "cluster/internal/underlay.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "kernel/netlink/linux_netlink.h"

namespace knet::cluster::internal {
namespace {

namespace nl = kernel::netlink;
namespace netns = kernel::netns;

class ClusterUnderlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces and links)";
    auto host = nl::LinuxNetlink::Open();
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    host_ = std::move(*host);
    tag_ = std::to_string(getpid() % 100000);
    bridge_ = "kut" + tag_;
    veth_ = "kut" + tag_ + "-1";
    ns_ = "knet-underlay-test-" + tag_;
  }
  void TearDown() override {
    if (!host_) return;
    (void)netns::Delete(ns_);
    (void)host_->DeleteLink(veth_);
    (void)host_->DeleteLink(bridge_);
  }
  Underlay MakeUnderlay() {
    return Underlay(*host_,
                    [](const netns::Netns& ns) -> base::StatusOr<std::unique_ptr<nl::Netlink>> {
                      auto n = nl::LinuxNetlink::Open(ns);
                      if (!n.ok()) return n.status();
                      return std::unique_ptr<nl::Netlink>(std::move(*n));
                    });
  }

  std::unique_ptr<nl::LinuxNetlink> host_;
  std::string tag_, bridge_, veth_, ns_;
};

TEST_F(ClusterUnderlayTest, BuildsABridgeAndANodeThenRemovesThem) {
  Underlay u = MakeUnderlay();
  auto gw = *base::IPAddress::Parse("10.251.77.1");
  auto ip = *base::IPAddress::Parse("10.251.77.2");
  ASSERT_TRUE(u.CreateBridge(bridge_, gw, 24).ok());
  auto prefixes = u.HostPrefixes();
  ASSERT_TRUE(prefixes.ok()) << prefixes.status().ToString();
  bool seen = false;
  for (const base::Cidr& c : *prefixes) seen = seen || c == *base::Cidr::Parse("10.251.77.0/24");
  EXPECT_TRUE(seen) << "the bridge's subnet is reported as in use";

  base::Status s = u.CreateNode(ns_, veth_, bridge_, ip, 24, gw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto br = host_->GetLink(bridge_);
  auto port = host_->GetLink(veth_);
  ASSERT_TRUE(br.ok() && port.ok());
  EXPECT_EQ(port->master_index, br->index);
  EXPECT_TRUE(port->up());
  EXPECT_TRUE(br->up());

  auto ns = netns::Netns::Open(ns_);
  ASSERT_TRUE(ns.ok());
  auto node = nl::LinuxNetlink::Open(*ns);
  ASSERT_TRUE(node.ok());
  auto eth = (*node)->GetLink("eth0");
  ASSERT_TRUE(eth.ok()) << eth.status().ToString();
  EXPECT_TRUE(eth->up());
  EXPECT_TRUE((*node)->GetLink("lo")->up());
  auto addrs = (*node)->ListLinkAddresses(eth->index, AF_INET);
  ASSERT_TRUE(addrs.ok());
  ASSERT_EQ(addrs->size(), 1u);
  EXPECT_EQ((*addrs)[0].ToString(), "10.251.77.2/24");
  bool default_route = false;
  auto routes = (*node)->ListRoutes(AF_INET);
  ASSERT_TRUE(routes.ok());
  for (const nl::Route& r : *routes) {
    if (r.table == nl::kMainTable && r.dst.prefix_len() == 0 && r.gateway == gw) {
      default_route = true;
    }
  }
  EXPECT_TRUE(default_route);

  // Removal, twice (idempotent).
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(u.DeleteNode(ns_, veth_).ok());
    ASSERT_TRUE(u.DeleteLink(bridge_).ok());
  }
  EXPECT_EQ(host_->GetLink(veth_).status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(host_->GetLink(bridge_).status().code(), base::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists("/run/netns/" + ns_));
}

TEST_F(ClusterUnderlayTest, ANameInUseIsAlreadyExists) {
  Underlay u = MakeUnderlay();
  auto gw = *base::IPAddress::Parse("10.251.78.1");
  ASSERT_TRUE(u.CreateBridge(bridge_, gw, 24).ok());
  EXPECT_EQ(u.CreateBridge(bridge_, gw, 24).code(), base::StatusCode::kAlreadyExists);
  // A taken veth name: the namespace made for the node is removed again.
  ASSERT_TRUE(host_->CreateBridge({.name = veth_}).ok());
  EXPECT_EQ(
      u.CreateNode(ns_, veth_, bridge_, *base::IPAddress::Parse("10.251.78.2"), 24, gw).code(),
      base::StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists("/run/netns/" + ns_));
  ASSERT_TRUE(host_->DeleteLink(veth_).ok());
  // A taken namespace name.
  ASSERT_TRUE(netns::Create(ns_).ok());
  EXPECT_EQ(
      u.CreateNode(ns_, veth_, bridge_, *base::IPAddress::Parse("10.251.78.2"), 24, gw).code(),
      base::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace knet::cluster::internal
