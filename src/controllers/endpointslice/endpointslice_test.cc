#include "controllers/endpointslice/endpointslice.h"

#include <gtest/gtest.h>

#include <atomic>
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

class EndpointSliceTest : public testing::ControllerTest {
 protected:
  void TearDown() override {
    if (ctrl_) ctrl_->Stop();
    ctrl_.reset();
    ControllerTest::TearDown();
  }

  void StartController(EndpointSliceOptions opts = {}) {
    ctrl_ = std::make_unique<EndpointSliceController>(informers_.get(), opts);
    StartInformers();
    ctrl_->Start();
  }

  api::Service CreateService(const std::string& name, std::map<std::string, std::string> selector,
                             api::IntOrString target = api::IntOrString::FromString("http"),
                             const std::function<void(api::Service&)>& edit = nullptr) {
    api::Service s;
    s.metadata.name = name;
    s.metadata.namespace_ = "default";
    s.metadata.labels["team"] = "blue";
    s.spec.selector = std::move(selector);
    api::ServicePort p;
    p.name = "web";
    p.port = 80;
    p.target_port = target;
    s.spec.ports.push_back(p);
    if (edit) edit(s);
    auto got = client_->Create(s);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : s;
  }

  // Creates `n` pods "<prefix>-<i>" (labels app=<app>, named port http=<port>) and makes each
  // Ready with IP 10.<subnet>.<i/250>.<i%250+1>, from several threads.
  void CreateReadyPods(int n, const std::string& prefix, const std::string& app, int port = 8080,
                       int subnet = 244, bool ready = true) {
    constexpr int kThreads = 8;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < n; i += kThreads) {
          api::Pod p = MakePod(prefix + "-" + std::to_string(i), app);
          p.spec.containers[0].ports[0].container_port = port;
          auto c = client_->Create(p);
          ASSERT_TRUE(c.ok()) << c.status().ToString();
          auto r = SetPodReady("default", p.metadata.name, PodIP(subnet, i), ready);
          ASSERT_TRUE(r.ok()) << r.status().ToString();
        }
      });
    }
    for (auto& th : threads) th.join();
  }

  static std::string PodIP(int subnet, int i) {
    return "10." + std::to_string(subnet) + "." + std::to_string(i / 250) + "." +
           std::to_string(i % 250 + 1);
  }

  std::vector<api::EndpointSlice> Slices(const std::string& svc) {
    auto l = client_->List<api::EndpointSlice>(
        "default", {.label_selector = std::string(kLabelServiceName) + "=" + svc});
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? l->items : std::vector<api::EndpointSlice>{};
  }

  // Endpoints of all slices of `svc` with `family`, by address.
  std::map<std::string, api::Endpoint> EndpointsOf(const std::string& svc,
                                                   const std::string& family = "IPv4") {
    std::map<std::string, api::Endpoint> out;
    for (const api::EndpointSlice& s : Slices(svc)) {
      if (s.address_type != family) continue;
      for (const api::Endpoint& ep : s.endpoints) out[ep.addresses.at(0)] = ep;
    }
    return out;
  }

  size_t ReadyCount(const std::string& svc) {
    size_t n = 0;
    for (const auto& [ip, ep] : EndpointsOf(svc)) n += ep.conditions.ready.value_or(false);
    return n;
  }

  std::unique_ptr<EndpointSliceController> ctrl_;
};

TEST_F(EndpointSliceTest, FiveReadyPodsMakeOneSlice) {
  StartController();
  api::Service svc = CreateService("web", {{"app", "web"}});
  CreateReadyPods(5, "web", "web");
  CreateReadyPods(2, "other", "other");  // not selected
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 5; }));
  std::vector<api::EndpointSlice> slices = Slices("web");
  ASSERT_EQ(slices.size(), 1u);
  const api::EndpointSlice& s = slices[0];
  EXPECT_EQ(s.address_type, "IPv4");
  EXPECT_EQ(s.metadata.generate_name, "web-");
  EXPECT_EQ(s.metadata.name.rfind("web-", 0), 0u);
  EXPECT_EQ(s.metadata.labels.at(kLabelManagedBy), kControllerName);
  EXPECT_EQ(s.metadata.labels.at("team"), "blue");
  EXPECT_EQ(s.metadata.labels.count(kLabelHeadless), 0u);
  ASSERT_EQ(s.metadata.annotations.count(kAnnotationLastChangeTriggerTime), 1u);
  EXPECT_TRUE(api::Time::Parse(s.metadata.annotations.at(kAnnotationLastChangeTriggerTime)).ok());
  ASSERT_EQ(s.metadata.owner_references.size(), 1u);
  const api::OwnerReference& o = s.metadata.owner_references[0];
  EXPECT_EQ(o.kind, "Service");
  EXPECT_EQ(o.name, "web");
  EXPECT_EQ(o.uid, svc.metadata.uid);
  EXPECT_EQ(o.controller, true);
  EXPECT_EQ(o.block_owner_deletion, true);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0].name, "web");
  EXPECT_EQ(s.ports[0].protocol, "TCP");
  EXPECT_EQ(s.ports[0].port, 8080);
  ASSERT_EQ(s.endpoints.size(), 5u);
  for (const api::Endpoint& ep : s.endpoints) {
    EXPECT_EQ(ep.conditions.ready, true);
    EXPECT_EQ(ep.conditions.serving, true);
    EXPECT_EQ(ep.conditions.terminating, false);
    ASSERT_TRUE(ep.target_ref.has_value());
    EXPECT_EQ(ep.target_ref->kind, "Pod");
    EXPECT_EQ(ep.target_ref->name.rfind("web-", 0), 0u);
    EXPECT_FALSE(ep.target_ref->uid.empty());
  }
}

TEST_F(EndpointSliceTest, EndpointCarriesHostnameNodeAndZone) {
  CreateNode("n1", {{"topology.kubernetes.io/zone", "zone-a"}});
  StartController();
  CreateService("web", {{"app", "web"}}, api::IntOrString::FromInt(8080));
  for (int i = 0; i < 2; ++i) {
    api::Pod p = MakePod("web-" + std::to_string(i), "web");
    p.spec.hostname = "h" + std::to_string(i);
    p.spec.subdomain = i == 0 ? "web" : "other";  // only a subdomain naming the Service counts
    p.spec.node_name = "n1";
    ASSERT_TRUE(client_->Create(p).ok());
    ASSERT_TRUE(SetPodReady("default", p.metadata.name, "10.244.0." + std::to_string(i + 1)).ok());
  }
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 2; }));
  auto eps = EndpointsOf("web");
  const api::Endpoint& named = eps.at("10.244.0.1");
  EXPECT_EQ(named.hostname, "h0");
  EXPECT_EQ(named.node_name, "n1");
  EXPECT_EQ(named.zone, "zone-a");
  EXPECT_FALSE(eps.at("10.244.0.2").hostname.has_value());
}

TEST_F(EndpointSliceTest, ControllerMayGoBeforeTheInformers) {
  StartController();
  CreateService("web", {{"app", "web"}});
  ctrl_.reset();  // the shared informers keep running and delivering to its handlers
  CreateReadyPods(3, "web", "web");
  EXPECT_TRUE(Eventually([&] {
    auto p = informers_->pods().GetShared("default", "web-2");
    return p != nullptr && IsPodReady(*p);
  }));
}

TEST_F(EndpointSliceTest, ServiceWithoutEndpointsHasOnePlaceholderSlice) {
  StartController();
  CreateService("web", {{"app", "web"}});
  ASSERT_TRUE(Eventually([&] { return Slices("web").size() == 1; }));
  api::EndpointSlice placeholder = Slices("web")[0];
  EXPECT_TRUE(placeholder.endpoints.empty());
  EXPECT_TRUE(placeholder.ports.empty());
  // The first endpoint reuses it.
  CreateReadyPods(1, "web", "web");
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 1; }));
  std::vector<api::EndpointSlice> slices = Slices("web");
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(slices[0].metadata.name, placeholder.metadata.name);
  EXPECT_EQ(slices[0].ports.size(), 1u);
}

TEST_F(EndpointSliceTest, SplitsAtMaxAndTouchesOnlyTheChangedSlice) {
  StartController({.max_endpoints_per_slice = 100});
  CreateService("web", {{"app", "web"}});
  CreateReadyPods(250, "web", "web");
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 250; }, std::chrono::seconds(20)));
  std::vector<api::EndpointSlice> before = Slices("web");
  ASSERT_EQ(before.size(), 3u);
  std::string changed_slice;
  for (const api::EndpointSlice& s : before) {
    EXPECT_LE(s.endpoints.size(), 100u);
    for (const api::Endpoint& ep : s.endpoints) {
      if (ep.target_ref->name == "web-7") changed_slice = s.metadata.name;
    }
  }
  ASSERT_FALSE(changed_slice.empty());

  ASSERT_TRUE(SetPodReady("default", "web-7", PodIP(244, 7), false).ok());
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 249; }));
  std::vector<api::EndpointSlice> after = Slices("web");
  ASSERT_EQ(after.size(), 3u);
  std::map<std::string, std::string> rv_before;
  for (const api::EndpointSlice& s : before)
    rv_before[s.metadata.name] = s.metadata.resource_version;
  for (const api::EndpointSlice& s : after) {
    ASSERT_EQ(rv_before.count(s.metadata.name), 1u) << s.metadata.name;
    if (s.metadata.name == changed_slice) {
      EXPECT_NE(s.metadata.resource_version, rv_before[s.metadata.name]);
    } else {
      EXPECT_EQ(s.metadata.resource_version, rv_before[s.metadata.name]) << s.metadata.name;
    }
  }
  EXPECT_EQ(EndpointsOf("web").at(PodIP(244, 7)).conditions.ready, false);
}

TEST_F(EndpointSliceTest, NamedTargetPortResolvedPerPod) {
  StartController();
  CreateService("web", {{"app", "web"}});
  CreateReadyPods(3, "a", "web", 8080, 244);
  CreateReadyPods(2, "b", "web", 9090, 245);
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 5; }));
  std::map<int32_t, size_t> by_port;
  for (const api::EndpointSlice& s : Slices("web")) {
    ASSERT_EQ(s.ports.size(), 1u);
    by_port[s.ports[0].port.value_or(0)] += s.endpoints.size();
  }
  EXPECT_EQ(by_port, (std::map<int32_t, size_t>{{8080, 3}, {9090, 2}}));
}

TEST_F(EndpointSliceTest, TerminatingPodIsServingButNotReady) {
  StartController();
  CreateService("web", {{"app", "web"}}, api::IntOrString::FromInt(8080));
  api::Pod p = MakePod("held", "web");
  p.metadata.finalizers = {"example.com/hold"};
  ASSERT_TRUE(client_->Create(p).ok());
  ASSERT_TRUE(SetPodReady("default", "held", "10.244.0.9").ok());
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 1; }));
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "held").ok());
  ASSERT_TRUE(Eventually([&] {
    auto eps = EndpointsOf("web");
    return eps.count("10.244.0.9") && eps["10.244.0.9"].conditions.terminating == true;
  }));
  api::Endpoint ep = EndpointsOf("web").at("10.244.0.9");
  EXPECT_EQ(ep.conditions.ready, false);
  EXPECT_EQ(ep.conditions.serving, true);
  EXPECT_EQ(ep.conditions.terminating, true);
}

TEST_F(EndpointSliceTest, PublishNotReadyAddressesMarksAllReady) {
  StartController();
  CreateService("web", {{"app", "web"}}, api::IntOrString::FromString("http"),
                [](api::Service& s) { s.spec.publish_not_ready_addresses = true; });
  CreateReadyPods(2, "web", "web", 8080, 244, /*ready=*/false);
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 2; }));
  for (const auto& [ip, ep] : EndpointsOf("web")) EXPECT_EQ(ep.conditions.serving, true);
}

TEST_F(EndpointSliceTest, DualStackServiceGetsSlicesPerFamily) {
  StartController();
  CreateService("web", {{"app", "web"}}, api::IntOrString::FromInt(8080), [](api::Service& s) {
    s.spec.cluster_ip = "None";
    s.spec.ip_families = {"IPv4", "IPv6"};
    s.spec.ip_family_policy = "PreferDualStack";
  });
  for (int i = 0; i < 2; ++i) {
    std::string name = "web-" + std::to_string(i);
    ASSERT_TRUE(client_->Create(MakePod(name, "web")).ok());
    ASSERT_TRUE(SetPodReady("default", name, "10.244.0." + std::to_string(i + 1)).ok());
    auto p = client_->Get<api::Pod>("default", name);
    ASSERT_TRUE(p.ok());
    p->status.pod_ips.push_back({"fd00::" + std::to_string(i + 1)});
    ASSERT_TRUE(client_->UpdateStatus(*p).ok());
  }
  ASSERT_TRUE(Eventually([&] {
    return EndpointsOf("web", "IPv4").size() == 2 && EndpointsOf("web", "IPv6").size() == 2;
  }));
  EXPECT_EQ(EndpointsOf("web", "IPv6").count("fd00::2"), 1u);
  for (const api::EndpointSlice& s : Slices("web")) {
    EXPECT_EQ(s.metadata.labels.count(kLabelHeadless), 1u);
  }
}

TEST_F(EndpointSliceTest, ServiceDeletedRemovesSlices) {
  StartController();
  CreateService("web", {{"app", "web"}});
  CreateReadyPods(3, "web", "web");
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 3; }));
  ASSERT_TRUE(client_->Delete<api::Service>("default", "web").ok());
  EXPECT_TRUE(Eventually([&] { return Slices("web").empty(); }));
}

TEST_F(EndpointSliceTest, SelectorlessServiceAndForeignSlicesUntouched) {
  StartController();
  CreateReadyPods(2, "web", "web");
  CreateService("manual", {});
  api::EndpointSlice mine;
  mine.metadata.name = "manual-1";
  mine.metadata.namespace_ = "default";
  mine.metadata.labels = {{kLabelServiceName, "manual"}, {kLabelManagedBy, "someone-else"}};
  mine.address_type = "IPv4";
  api::Endpoint ep;
  ep.addresses = {"192.0.2.10"};
  mine.endpoints = {ep};
  auto created = client_->Create(mine);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // A second Service, synced after the first: once its slice exists the first was seen too.
  CreateService("web", {{"app", "web"}});
  ASSERT_TRUE(Eventually([&] { return ReadyCount("web") == 2; }));
  std::vector<api::EndpointSlice> slices = Slices("manual");
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(slices[0].metadata.resource_version, created->metadata.resource_version);
}

TEST_F(EndpointSliceTest, BatchPeriodCoalescesABurst) {
  // Long enough that creating the ten ready pods (20 API writes) fits in one period even on a
  // loaded CI machine under ASan (1.5 s did not: two writes).
  StartController({.batch_period = std::chrono::milliseconds(5000)});
  CreateService("web", {{"app", "web"}});
  std::atomic<int> writes{0};
  std::atomic<size_t> last_size{0};
  client::WatchCanceller cancel;
  std::thread watcher([&] {
    (void)client_->Watch<api::EndpointSlice>(
        "default", {.label_selector = std::string(kLabelServiceName) + "=web"},
        [&](const client::WatchEvent<api::EndpointSlice>& ev) {
          // The placeholder written when the Service appeared has no endpoints.
          if ((ev.type == "ADDED" || ev.type == "MODIFIED") && !ev.object.endpoints.empty()) {
            ++writes;
            last_size = ev.object.endpoints.size();
          }
          return true;
        },
        &cancel);
  });
  CreateReadyPods(10, "web", "web");
  bool done = Eventually([&] { return last_size.load() == 10; });
  cancel.Cancel();
  watcher.join();
  ASSERT_TRUE(done);
  EXPECT_EQ(writes.load(), 1);
}

}  // namespace
}  // namespace knet::controllers
