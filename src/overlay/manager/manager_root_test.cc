// Root test, end to end: two node namespaces on a test underlay
// (overlay/vxlan/internal/two_nodes.h), the in-process API server, and in each node a Manager
// feeding a real backend from the Node objects: the nodes learn each other's podCIDR and VTEP MAC
// only through the API, and then their pods reach each other; deleting a Node removes its entries
// from the other.
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

#include "controllers/internal/test_env.h"
#include "gtest/gtest.h"
#include "overlay/hostgw/hostgw.h"
#include "overlay/manager/manager.h"
#include "overlay/vxlan/internal/two_nodes.h"
#include "overlay/vxlan/vxlan.h"

namespace knet::overlay {
namespace {

namespace nl = kernel::netlink;

class OverlayManagerRootTest : public controllers::testing::ControllerTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
    ControllerTest::SetUp();
    base::Status s = env_.SetUp();
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (int i = 0; i < 2; ++i) RegisterNode(i);
  }
  void TearDown() override {
    for (auto& m : managers_) {
      if (m) m->Stop();
    }
    ControllerTest::TearDown();
  }

  // What the agent and node IPAM would do: the Node with its InternalIP and podCIDR.
  void RegisterNode(int i) {
    NodeInfo info = testing::TwoNodes::Info(i);
    api::Node n;
    n.metadata.name = info.name;
    n.spec.pod_cidr = info.pod_cidrs[0];
    n.spec.pod_cidrs = info.pod_cidrs;
    auto created = client_->Create(n);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    created->status.addresses = {{"InternalIP", info.internal_ips[0]}};
    auto updated = client_->UpdateStatus(*created);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  }

  void StartManagers(const std::function<std::unique_ptr<Backend>(nl::Netlink&)>& make) {
    for (int i = 0; i < 2; ++i) {
      backends_[i] = make(env_.nl(i));
      ASSERT_NE(backends_[i], nullptr);
      managers_[i] =
          std::make_unique<Manager>(ManagerOptions{.client = client_.get(),
                                                   .node_name = testing::TwoNodes::Info(i).name,
                                                   .backend = backends_[i].get(),
                                                   .debounce = std::chrono::milliseconds(20),
                                                   .min_backoff = std::chrono::milliseconds(20),
                                                   .max_backoff = std::chrono::milliseconds(200),
                                                   .start_timeout = std::chrono::seconds(10)});
      base::Status s = managers_[i]->Start();
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }

  size_t OverlayRoutes(int i) {
    auto routes = env_.nl(i).ListRoutes(AF_INET);
    size_t n = 0;
    if (!routes.ok()) return 0;
    for (const nl::Route& r : *routes) n += r.protocol == kRouteProtocol ? 1 : 0;
    return n;
  }

  testing::TwoNodes env_;
  std::unique_ptr<Backend> backends_[2];
  std::unique_ptr<Manager> managers_[2];
};

TEST_F(OverlayManagerRootTest, VxlanNodesFindEachOtherThroughTheApi) {
  StartManagers([](nl::Netlink& netlink) -> std::unique_ptr<Backend> {
    auto b = vxlan::VxlanBackend::Create({.netlink = &netlink});
    return b.ok() ? std::move(*b) : nullptr;
  });
  EXPECT_EQ(managers_[0]->PodMtu(), 1450u);
  EXPECT_TRUE(Eventually([&] { return env_.Probe(0, 1, 100).ok() && env_.Probe(1, 0, 100).ok(); }));
  auto tcp = env_.TcpPair(0, 1);
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  EXPECT_TRUE(testing::TwoNodes::Echo(tcp->first, tcp->second, "through the api").ok());
  close(tcp->first);
  close(tcp->second);
  // node2 is deleted: node1 forgets it.
  ASSERT_TRUE(client_->Delete<api::Node>("", "node2").ok());
  EXPECT_TRUE(Eventually([&] { return OverlayRoutes(0) == 0; }));
  EXPECT_FALSE(env_.Probe(0, 1, 200).ok());
}

TEST_F(OverlayManagerRootTest, HostGwNodesFindEachOtherThroughTheApi) {
  StartManagers([](nl::Netlink& netlink) -> std::unique_ptr<Backend> {
    auto b = hostgw::HostGwBackend::Create({.netlink = &netlink});
    return b.ok() ? std::move(*b) : nullptr;
  });
  EXPECT_EQ(managers_[0]->PodMtu(), 1500u);
  EXPECT_TRUE(Eventually([&] { return env_.Probe(0, 1, 100).ok() && env_.Probe(1, 0, 100).ok(); }));
  ASSERT_TRUE(client_->Delete<api::Node>("", "node1").ok());
  EXPECT_TRUE(Eventually([&] { return OverlayRoutes(1) == 0; }));
}

}  // namespace
}  // namespace knet::overlay
