#include "controllers/manager.h"

#include <gtest/gtest.h>

#include "controllers/internal/test_env.h"

namespace knet::controllers {
namespace {

TEST(ControllerManagerOptionsTest, ControllersFlagSyntax) {
  ControllerManagerOptions o;
  EXPECT_EQ(o.enabled, ControllerManagerOptions::KnownControllers());
  ASSERT_TRUE(o.SetControllers("*,-scheduler").ok());
  EXPECT_EQ(o.enabled.count("scheduler"), 0u);
  EXPECT_EQ(o.enabled.size(), ControllerManagerOptions::KnownControllers().size() - 1);
  ASSERT_TRUE(o.SetControllers("endpointslice,endpoints").ok());
  EXPECT_EQ(o.enabled, (std::set<std::string>{"endpointslice", "endpoints"}));
  ASSERT_TRUE(o.SetControllers("-*").ok());
  EXPECT_TRUE(o.enabled.empty());
  base::Status bad = o.SetControllers("*,-schedular");
  EXPECT_EQ(bad.code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("\"schedular\""), std::string::npos) << bad.message();
  EXPECT_TRUE(o.enabled.empty());  // unchanged by the refused spec
}

using ControllerManagerTest = testing::ControllerTest;

// The whole chain in one process: a Deployment becomes a ReplicaSet and pods, the scheduler
// binds them to the node that node IPAM gave a podCIDR, and once Ready they are endpoints.
TEST_F(ControllerManagerTest, DeploymentToEndpoints) {
  ControllerManagerOptions opts;
  auto cm = ControllerManager::Start(client_.get(), opts);
  ASSERT_TRUE(cm.ok()) << cm.status().ToString();
  CreateNode("n1");
  api::Deployment d;
  d.metadata.name = "web";
  d.metadata.namespace_ = "default";
  d.spec.replicas = 2;
  api::LabelSelector sel;
  sel.match_labels["app"] = "web";
  d.spec.selector = sel;
  d.spec.template_.metadata.labels["app"] = "web";
  d.spec.template_.spec = MakePod("x").spec;
  ASSERT_TRUE(client_->Create(d).ok());
  api::Service svc;
  svc.metadata.name = "web";
  svc.metadata.namespace_ = "default";
  svc.spec.selector["app"] = "web";
  api::ServicePort port;
  port.port = 80;
  port.target_port = api::IntOrString::FromString("http");
  svc.spec.ports.push_back(port);
  ASSERT_TRUE(client_->Create(svc).ok());

  std::vector<api::Pod> pods;
  ASSERT_TRUE(Eventually([&] {
    auto l = client_->List<api::Pod>("default");
    if (!l.ok()) return false;
    pods = l->items;
    return pods.size() == 2 && pods[0].spec.node_name == "n1" && pods[1].spec.node_name == "n1";
  }));
  ASSERT_TRUE(Eventually([&] {
    auto n = client_->Get<api::Node>("", "n1");
    return n.ok() && n->spec.pod_cidr == "10.244.0.0/24";
  }));
  ASSERT_TRUE(SetPodReady("default", pods[0].metadata.name, "10.244.0.2").ok());
  ASSERT_TRUE(SetPodReady("default", pods[1].metadata.name, "10.244.0.3").ok());
  ASSERT_TRUE(Eventually([&] {
    auto l = client_->List<api::EndpointSlice>("default");
    if (!l.ok() || l->items.size() != 1) return false;
    int ready = 0;
    for (const auto& e : l->items[0].endpoints) ready += e.conditions.ready.value_or(false);
    return ready == 2 && l->items[0].ports.size() == 1 && l->items[0].ports[0].port == 8080;
  }));
  ASSERT_TRUE(Eventually([&] {
    auto e = client_->Get<api::Endpoints>("default", "web");
    return e.ok() && e->subsets.size() == 1 && e->subsets[0].addresses.size() == 2;
  }));
  ASSERT_TRUE(Eventually([&] {
    auto dep = client_->Get<api::Deployment>("default", "web");
    return dep.ok() && dep->status.available_replicas == 2;
  }));
  (*cm)->Stop();
}

}  // namespace
}  // namespace knet::controllers
