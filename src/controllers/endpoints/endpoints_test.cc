#include "controllers/endpoints/endpoints.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "controllers/endpointslice/endpoint_util.h"
#include "controllers/internal/test_env.h"

namespace knet::controllers {
namespace {

class EndpointsTest : public testing::ControllerTest {
 protected:
  void TearDown() override {
    if (ctrl_) ctrl_->Stop();
    ctrl_.reset();
    ControllerTest::TearDown();
  }

  void StartController(EndpointsOptions opts = {}) {
    ctrl_ = std::make_unique<EndpointsController>(informers_.get(), opts);
    StartInformers();
    ctrl_->Start();
  }

  api::Service CreateService(const std::string& name, std::map<std::string, std::string> selector,
                             const std::function<void(api::Service&)>& edit = nullptr) {
    api::Service s;
    s.metadata.name = name;
    s.metadata.namespace_ = "default";
    s.metadata.labels["team"] = "blue";
    s.spec.selector = std::move(selector);
    api::ServicePort p;
    p.name = "web";
    p.port = 80;
    p.target_port = api::IntOrString::FromString("http");
    s.spec.ports.push_back(p);
    if (edit) edit(s);
    auto got = client_->Create(s);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : s;
  }

  // Pods "<prefix>-<i>" with app=<app> and port http=<port>, IP 10.<subnet>.<i/250>.<i%250+1>,
  // Ready when `ready(i)`; created from several threads.
  void CreatePods(int n, const std::string& prefix, const std::string& app,
                  const std::function<bool(int)>& ready, int port = 8080, int subnet = 244) {
    constexpr int kThreads = 8;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < n; i += kThreads) {
          api::Pod p = MakePod(prefix + "-" + std::to_string(i), app);
          p.spec.containers[0].ports[0].container_port = port;
          auto c = client_->Create(p);
          ASSERT_TRUE(c.ok()) << c.status().ToString();
          std::string ip = "10." + std::to_string(subnet) + "." + std::to_string(i / 250) + "." +
                           std::to_string(i % 250 + 1);
          auto r = SetPodReady("default", p.metadata.name, ip, ready(i));
          ASSERT_TRUE(r.ok()) << r.status().ToString();
        }
      });
    }
    for (auto& th : threads) th.join();
  }

  std::optional<api::Endpoints> Get(const std::string& name) {
    auto e = client_->Get<api::Endpoints>("default", name);
    if (!e.ok()) return std::nullopt;
    return *e;
  }

  static size_t Count(const api::Endpoints& e, bool ready) {
    size_t n = 0;
    for (const api::EndpointSubset& s : e.subsets) {
      n += ready ? s.addresses.size() : s.not_ready_addresses.size();
    }
    return n;
  }

  bool Has(const std::string& name, size_t ready, size_t not_ready) {
    auto e = Get(name);
    return e && Count(*e, true) == ready && Count(*e, false) == not_ready;
  }

  std::unique_ptr<EndpointsController> ctrl_;
};

TEST_F(EndpointsTest, ReadyAndNotReadyPods) {
  StartController();
  CreateService("web", {{"app", "web"}});
  CreatePods(5, "web", "web", [](int i) { return i < 3; });
  CreatePods(
      2, "other", "other", [](int) { return true; }, 8080, 245);
  ASSERT_TRUE(Eventually([&] { return Has("web", 3, 2); }));
  api::Endpoints e = *Get("web");
  EXPECT_EQ(e.metadata.labels, (std::map<std::string, std::string>{{"team", "blue"}}));
  EXPECT_EQ(e.metadata.annotations.count(kAnnotationLastChangeTriggerTime), 1u);
  EXPECT_EQ(e.metadata.annotations.count(kAnnotationOverCapacity), 0u);
  ASSERT_EQ(e.subsets.size(), 1u);
  ASSERT_EQ(e.subsets[0].ports.size(), 1u);
  EXPECT_EQ(e.subsets[0].ports[0].name, "web");
  EXPECT_EQ(e.subsets[0].ports[0].port, 8080);
  EXPECT_EQ(e.subsets[0].ports[0].protocol, "TCP");
  const api::EndpointAddress& a = e.subsets[0].addresses[0];
  EXPECT_EQ(a.ip, "10.244.0.1");  // sorted by IP
  ASSERT_TRUE(a.target_ref.has_value());
  EXPECT_EQ(a.target_ref->kind, "Pod");
  EXPECT_EQ(a.target_ref->name, "web-0");
  EXPECT_EQ(e.subsets[0].not_ready_addresses[0].target_ref->name, "web-3");
}

TEST_F(EndpointsTest, AddressCarriesHostnameAndNode) {
  StartController();
  CreateService("web", {{"app", "web"}});
  api::Pod p = MakePod("web-0", "web");
  p.spec.hostname = "h0";
  p.spec.subdomain = "web";
  p.spec.node_name = "n1";
  ASSERT_TRUE(client_->Create(p).ok());
  ASSERT_TRUE(SetPodReady("default", "web-0", "10.244.0.1").ok());
  ASSERT_TRUE(Eventually([&] { return Has("web", 1, 0); }));
  const api::EndpointAddress a = Get("web")->subsets.at(0).addresses.at(0);
  EXPECT_EQ(a.hostname, "h0");
  EXPECT_EQ(a.node_name, "n1");
  EXPECT_EQ(a.target_ref->uid, client_->Get<api::Pod>("default", "web-0")->metadata.uid);
}

TEST_F(EndpointsTest, NamedTargetPortGroupsPodsBySubset) {
  StartController();
  CreateService("web", {{"app", "web"}});
  CreatePods(
      3, "a", "web", [](int) { return true; }, 8080, 244);
  CreatePods(
      2, "b", "web", [](int) { return true; }, 9090, 245);
  ASSERT_TRUE(Eventually([&] { return Has("web", 5, 0); }));
  std::map<int32_t, size_t> by_port;
  api::Endpoints e = *Get("web");
  for (const api::EndpointSubset& s : e.subsets) {
    ASSERT_EQ(s.ports.size(), 1u);
    by_port[s.ports[0].port] += s.addresses.size();
  }
  EXPECT_EQ(by_port, (std::map<int32_t, size_t>{{8080, 3}, {9090, 2}}));
}

TEST_F(EndpointsTest, PublishNotReadyAddressesListsAllAsReady) {
  StartController();
  CreateService("web", {{"app", "web"}},
                [](api::Service& s) { s.spec.publish_not_ready_addresses = true; });
  CreatePods(3, "web", "web", [](int i) { return i == 0; });
  ASSERT_TRUE(Eventually([&] { return Has("web", 3, 0); }));
}

TEST_F(EndpointsTest, TerminatingPodIsLeftOut) {
  StartController();
  CreateService("web", {{"app", "web"}});
  CreatePods(1, "web", "web", [](int) { return true; });
  api::Pod held = MakePod("held", "web");
  held.metadata.finalizers = {"example.com/hold"};
  ASSERT_TRUE(client_->Create(held).ok());
  ASSERT_TRUE(SetPodReady("default", "held", "10.244.9.9").ok());
  ASSERT_TRUE(Eventually([&] { return Has("web", 2, 0); }));
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "held").ok());
  ASSERT_TRUE(Eventually([&] { return Has("web", 1, 0); }));
  EXPECT_EQ(Get("web")->subsets.at(0).addresses.at(0).ip, "10.244.0.1");
}

TEST_F(EndpointsTest, OverCapacityIsTruncatedAndAnnotated) {
  // Batched, so the burst of 1001 pods is not 1001 rewrites of a 1000-address object.
  StartController({.batch_period = std::chrono::milliseconds(500)});
  CreateService("web", {{"app", "web"}});
  CreatePods(1001, "web", "web", [](int i) { return i != 5; });
  ASSERT_TRUE(Eventually(
      [&] {
        auto e = Get("web");
        return e && Count(*e, true) + Count(*e, false) == 1000 &&
               e->metadata.annotations.count(kAnnotationOverCapacity);
      },
      std::chrono::seconds(30)));
  api::Endpoints e = *Get("web");
  EXPECT_EQ(e.metadata.annotations.at(kAnnotationOverCapacity), "truncated");
  EXPECT_EQ(Count(e, true), 1000u);  // the ready ones win
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "web-5").ok());
  ASSERT_TRUE(Eventually([&] {
    auto got = Get("web");
    return got && !got->metadata.annotations.count(kAnnotationOverCapacity);
  }));
  EXPECT_TRUE(Has("web", 1000, 0));
}

TEST_F(EndpointsTest, UnchangedResultIsNotWritten) {
  StartController();
  CreateService("web", {{"app", "web"}});
  CreatePods(2, "web", "web", [](int) { return true; });
  ASSERT_TRUE(Eventually([&] { return Has("web", 2, 0); }));
  std::string rv = Get("web")->metadata.resource_version;
  // A Service change that does not change the endpoints: a sync, and no write.
  auto svc = client_->Get<api::Service>("default", "web");
  ASSERT_TRUE(svc.ok());
  svc->metadata.annotations["note"] = "x";
  ASSERT_TRUE(client_->Update(*svc).ok());
  // Once a later Service's Endpoints exist, the earlier update has been synced.
  CreateService("sentinel", {{"app", "web"}});
  ASSERT_TRUE(Eventually([&] { return Has("sentinel", 2, 0); }));
  EXPECT_EQ(Get("web")->metadata.resource_version, rv);
  // A real change is written.
  ASSERT_TRUE(SetPodReady("default", "web-1", "10.244.0.2", false).ok());
  EXPECT_TRUE(Eventually([&] { return Has("web", 1, 1); }));
}

TEST_F(EndpointsTest, SelectorlessServiceEndpointsUntouched) {
  StartController();
  CreatePods(2, "web", "web", [](int) { return true; });
  CreateService("manual", {});
  api::Endpoints mine;
  mine.metadata.name = "manual";
  mine.metadata.namespace_ = "default";
  api::EndpointSubset s;
  api::EndpointAddress a;
  a.ip = "192.0.2.10";
  s.addresses = {a};
  api::EndpointPort p;
  p.port = 80;
  p.protocol = "TCP";
  s.ports = {p};
  mine.subsets = {s};
  auto created = client_->Create(mine);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  CreateService("sentinel", {{"app", "web"}});
  ASSERT_TRUE(Eventually([&] { return Has("sentinel", 2, 0); }));
  auto now = Get("manual");
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->metadata.resource_version, created->metadata.resource_version);
}

TEST_F(EndpointsTest, LeftoverEndpointsWithoutServiceDeletedAtStart) {
  api::Endpoints orphan;
  orphan.metadata.name = "gone";
  orphan.metadata.namespace_ = "default";
  ASSERT_TRUE(client_->Create(orphan).ok());
  api::Endpoints leader = orphan;
  leader.metadata.name = "leader";
  leader.metadata.annotations["control-plane.alpha.kubernetes.io/leader"] = "{}";
  ASSERT_TRUE(client_->Create(leader).ok());
  StartController();
  EXPECT_TRUE(Eventually([&] { return !Get("gone").has_value(); }));
  EXPECT_TRUE(Get("leader").has_value());
}

TEST_F(EndpointsTest, ServiceDeletedDeletesEndpoints) {
  StartController();
  CreateService("web", {{"app", "web"}});
  CreatePods(2, "web", "web", [](int) { return true; });
  ASSERT_TRUE(Eventually([&] { return Has("web", 2, 0); }));
  ASSERT_TRUE(client_->Delete<api::Service>("default", "web").ok());
  EXPECT_TRUE(Eventually([&] { return !Get("web").has_value(); }));
}

}  // namespace
}  // namespace knet::controllers
