// File: agent/proxy/proxy_runner_test.cc
//
// ProxyRunner against knet's own API server (in-memory store) and a recording Backend: the first
// sync is full and sees what existed before Start, changes arrive as incremental Syncs naming the
// changed ports, a failing backend is retried with a full sync, /healthz /livez /metrics answer.
#include "agent/proxy/proxy_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

#include "controllers/internal/test_env.h"
#include "gtest/gtest.h"
#include "kernel/conntrack/fake_conntrack.h"

namespace knet::agent::proxy {
namespace {

using knet::proxy::EndpointsMap;
using knet::proxy::ServicePortMap;
using knet::proxy::ServicePortName;

class RecordingBackend : public knet::proxy::Backend {
 public:
  base::Status Sync(const ServicePortMap& services, const EndpointsMap& endpoints,
                    const std::set<ServicePortName>& changed) override {
    std::lock_guard<std::mutex> l(mu);
    if (fail > 0) {
      --fail;
      ++failures;
      return base::UnavailableError("injected");
    }
    ++partial;
    services_ = services;
    endpoints_ = endpoints;
    last_changed.insert(changed.begin(), changed.end());
    return base::OkStatus();
  }
  base::Status FullSync(const ServicePortMap& services, const EndpointsMap& endpoints) override {
    std::lock_guard<std::mutex> l(mu);
    if (fail > 0) {
      --fail;
      ++failures;
      return base::UnavailableError("injected");
    }
    ++full;
    services_ = services;
    endpoints_ = endpoints;
    return base::OkStatus();
  }
  size_t EndpointCount(const ServicePortName& spn) {
    std::lock_guard<std::mutex> l(mu);
    auto it = endpoints_.find(spn);
    return it == endpoints_.end() ? 0 : it->second.size();
  }
  bool HasService(const ServicePortName& spn) {
    std::lock_guard<std::mutex> l(mu);
    return services_.count(spn) > 0;
  }
  std::mutex mu;
  int full = 0, partial = 0, fail = 0, failures = 0;
  std::set<ServicePortName> last_changed;
  ServicePortMap services_;
  EndpointsMap endpoints_;
};

// GET http://127.0.0.1:port/path: status code and body ("" / 0 on error).
std::pair<int, std::string> Get(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return {0, ""};
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return {0, ""};
  }
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  if (resp.size() < 12) return {0, ""};
  auto body = resp.find("\r\n\r\n");
  return {std::stoi(resp.substr(9, 3)), body == std::string::npos ? "" : resp.substr(body + 4)};
}

class ProxyRunnerTest : public controllers::testing::ControllerTest {
 protected:
  api::Service MakeService(const std::string& name, const std::string& ip,
                           const std::string& protocol = "TCP") {
    api::Service s;
    s.metadata.name = name;
    s.metadata.namespace_ = "default";
    s.spec.cluster_ip = ip;
    s.spec.cluster_ips = {ip};
    api::ServicePort p;
    p.name = "http";
    p.protocol = protocol;
    p.port = 80;
    s.spec.ports.push_back(p);
    return s;
  }
  api::EndpointSlice MakeSlice(const std::string& svc, std::vector<std::string> ips,
                               const std::string& protocol = "TCP") {
    api::EndpointSlice sl;
    sl.metadata.name = svc + "-abc";
    sl.metadata.namespace_ = "default";
    sl.metadata.labels[knet::proxy::kLabelServiceName] = svc;
    sl.address_type = "IPv4";
    for (const auto& ip : ips) {
      api::Endpoint e;
      e.addresses = {ip};
      e.conditions.ready = true;
      e.node_name = "n1";
      sl.endpoints.push_back(e);
    }
    api::EndpointSlicePort port;
    port.name = "http";
    port.protocol = protocol;
    port.port = 8080;
    sl.ports.push_back(port);
    return sl;
  }
};

TEST_F(ProxyRunnerTest, FullSyncFirstThenIncrementalChanges) {
  ASSERT_TRUE(client_->Create(MakeService("a", "10.96.0.10")).ok());
  ASSERT_TRUE(client_->Create(MakeSlice("a", {"10.244.0.5"})).ok());
  RecordingBackend backend;
  ProxyRunner runner({.client = client_.get(),
                      .node_name = "n1",
                      .backend = &backend,
                      .healthz_address = "127.0.0.1:0"});
  ASSERT_EQ(Get(0, "/healthz").first, 0);  // sanity of the helper: nothing on port 0
  ASSERT_TRUE(runner.Start().ok());
  ServicePortName a{"default", "a", "http", 6};
  ASSERT_TRUE(Eventually([&] { return backend.EndpointCount(a) == 1; }));
  {
    std::lock_guard<std::mutex> l(backend.mu);
    EXPECT_EQ(backend.full, 1);
  }
  EXPECT_TRUE(runner.Healthy());

  // A second service and a new endpoint of the first: incremental syncs naming them.
  ASSERT_TRUE(client_->Create(MakeService("b", "10.96.0.11")).ok());
  auto slice = client_->Get<api::EndpointSlice>("default", "a-abc");
  ASSERT_TRUE(slice.ok());
  api::Endpoint e;
  e.addresses = {"10.244.1.7"};
  e.conditions.ready = true;
  slice->endpoints.push_back(e);
  ASSERT_TRUE(client_->Update(*slice).ok());
  ServicePortName b{"default", "b", "http", 6};
  ASSERT_TRUE(Eventually([&] { return backend.EndpointCount(a) == 2 && backend.HasService(b); }));
  {
    std::lock_guard<std::mutex> l(backend.mu);
    EXPECT_EQ(backend.full, 1);
    EXPECT_GE(backend.partial, 1);
    EXPECT_EQ(backend.last_changed, (std::set<ServicePortName>{a, b}));
  }

  // Deleting the service removes it.
  ASSERT_TRUE(client_->Delete<api::Service>("default", "b").ok());
  ASSERT_TRUE(Eventually([&] { return !backend.HasService(b); }));

  auto [code, body] = Get(runner.healthz_port(), "/healthz");
  EXPECT_EQ(code, 200);
  EXPECT_NE(body.find("\"lastUpdated\""), std::string::npos) << body;
  EXPECT_NE(body.find("\"currentTime\""), std::string::npos) << body;
  EXPECT_EQ(Get(runner.healthz_port(), "/livez").first, 200);
  auto metrics = Get(runner.healthz_port(), "/metrics");
  EXPECT_EQ(metrics.first, 200);
  EXPECT_NE(metrics.second.find("knet_proxy_sync_proxy_rules_duration_seconds_count "),
            std::string::npos);
  EXPECT_NE(metrics.second.find("knet_proxy_sync_full_total 1\n"), std::string::npos)
      << metrics.second;
  EXPECT_EQ(Get(runner.healthz_port(), "/nope").first, 404);
  runner.Stop();
  EXPECT_EQ(Get(runner.healthz_port(), "/healthz").first, 0);
}

TEST_F(ProxyRunnerTest, FailedSyncIsRetriedAsFullAndHealthReflectsIt) {
  RecordingBackend backend;
  backend.fail = 2;
  ProxyRunner runner({.client = client_.get(),
                      .node_name = "n1",
                      .backend = &backend,
                      .healthz_address = "127.0.0.1:0",
                      .retry_period = std::chrono::milliseconds(50)});
  ASSERT_TRUE(runner.Start().ok());
  // Before any successful sync: 503.
  EXPECT_EQ(Get(runner.healthz_port(), "/healthz").first, 503);
  ASSERT_TRUE(Eventually([&] { return runner.successful_syncs() == 1; }));
  {
    std::lock_guard<std::mutex> l(backend.mu);
    EXPECT_EQ(backend.failures, 2);
    EXPECT_EQ(backend.full, 1);  // the retries were full syncs
    EXPECT_EQ(backend.partial, 0);
  }
  EXPECT_EQ(Get(runner.healthz_port(), "/healthz").first, 200);
  auto metrics = Get(runner.healthz_port(), "/metrics");
  EXPECT_NE(metrics.second.find("knet_proxy_sync_errors_total 2\n"), std::string::npos)
      << metrics.second;
}

TEST_F(ProxyRunnerTest, NodeBeingDeletedMakesHealthzFail) {
  CreateNode("n1");
  RecordingBackend backend;
  ProxyRunner runner({.client = client_.get(),
                      .node_name = "n1",
                      .backend = &backend,
                      .healthz_address = "127.0.0.1:0"});
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(Eventually([&] { return runner.Healthy(); }));
  // A finalizer keeps the Node while it is being deleted.
  auto node = client_->Get<api::Node>("", "n1");
  ASSERT_TRUE(node.ok());
  node->metadata.finalizers = {"example.com/hold"};
  ASSERT_TRUE(client_->Update(*node).ok());
  ASSERT_TRUE(client_->Delete<api::Node>("", "n1").ok());
  ASSERT_TRUE(Eventually([&] { return !runner.Healthy(); }));
  EXPECT_EQ(Get(runner.healthz_port(), "/healthz").first, 503);
  EXPECT_EQ(Get(runner.healthz_port(), "/livez").first, 200);
  // Gone entirely: still unhealthy.
  node = client_->Get<api::Node>("", "n1");
  ASSERT_TRUE(node.ok());
  node->metadata.finalizers.clear();
  ASSERT_TRUE(client_->Update(*node).ok());
  ASSERT_TRUE(Eventually([&] { return !client_->Get<api::Node>("", "n1").ok(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(runner.Healthy());
  runner.Stop();
}

TEST_F(ProxyRunnerTest, StaleSyncMakesHealthzFail) {
  RecordingBackend backend;
  ProxyRunner runner({.client = client_.get(),
                      .node_name = "n1",
                      .backend = &backend,
                      .healthz_address = "127.0.0.1:0",
                      .sync_period = std::chrono::milliseconds(200),
                      .retry_period = std::chrono::milliseconds(50)});
  ASSERT_TRUE(runner.Start().ok());
  ASSERT_TRUE(Eventually([&] { return runner.Healthy(); }));
  // The periodic full sync keeps it healthy...
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(runner.Healthy());
  {
    std::lock_guard<std::mutex> l(backend.mu);
    EXPECT_GE(backend.full, 2);
    backend.fail = 1000;  // ...until every sync fails
  }
  ASSERT_TRUE(Eventually([&] { return !runner.Healthy(); }, std::chrono::seconds(3)));
  EXPECT_EQ(Get(runner.healthz_port(), "/healthz").first, 503);
  runner.Stop();
}

// kube-proxy's stale UDP flush: nothing on the first sync, entries to a removed endpoint when it
// goes, entries to the service IP and port when a service without endpoints gets one; TCP never.
TEST_F(ProxyRunnerTest, FlushesStaleUdpConntrackEntries) {
  using kernel::conntrack::Entry;
  using kernel::conntrack::Filter;
  auto ip = [](const char* s) { return *base::IPAddress::Parse(s); };
  ASSERT_TRUE(client_->Create(MakeService("dns", "10.96.0.10", "UDP")).ok());
  ASSERT_TRUE(client_->Create(MakeSlice("dns", {"10.244.0.5"}, "UDP")).ok());
  ASSERT_TRUE(client_->Create(MakeService("web", "10.96.0.11")).ok());
  ASSERT_TRUE(client_->Create(MakeSlice("web", {"10.244.0.6"})).ok());
  kernel::conntrack::FakeConntrack ct;
  // A flow to the first endpoint, one to another service, one of a client of the new service.
  Entry stale{.orig = {ip("10.0.0.1"), ip("10.96.0.10"), 17, 40000, 80},
              .reply = {ip("10.244.0.5"), ip("10.0.0.1"), 17, 8080, 40000}};
  Entry other{.orig = {ip("10.0.0.1"), ip("10.96.0.99"), 17, 40001, 80},
              .reply = {ip("10.244.0.9"), ip("10.0.0.1"), 17, 8080, 40001}};
  Entry rejected{.orig = {ip("10.0.0.1"), ip("10.96.0.12"), 17, 40002, 80},
                 .reply = {ip("10.96.0.12"), ip("10.0.0.1"), 17, 80, 40002}};
  for (const Entry& e : {stale, other, rejected}) ct.Add(e);
  RecordingBackend backend;
  ProxyRunner runner({.client = client_.get(),
                      .node_name = "n1",
                      .backend = &backend,
                      .healthz_address = "127.0.0.1:0",
                      .conntrack = &ct});
  ASSERT_TRUE(runner.Start().ok());
  ServicePortName dns{"default", "dns", "http", 17};
  ASSERT_TRUE(Eventually([&] { return backend.EndpointCount(dns) == 1; }));
  EXPECT_TRUE(ct.filters().empty());  // the first sync only records

  // The endpoint is replaced: entries from the service IP to the old one go.
  auto sl = client_->Get<api::EndpointSlice>("default", "dns-abc");
  ASSERT_TRUE(sl.ok());
  sl->endpoints[0].addresses = {"10.244.1.7"};
  ASSERT_TRUE(client_->Update(*sl).ok());
  ASSERT_TRUE(Eventually([&] { return ct.filters().size() == 1; }));
  Filter f = ct.filters()[0];
  EXPECT_EQ(f.orig_dst, ip("10.96.0.10"));
  EXPECT_EQ(f.reply_src, ip("10.244.0.5"));
  EXPECT_EQ(ct.entries(), (std::vector<Entry>{other, rejected}));

  // A UDP service that had no endpoint gets one: entries to its IP and port go.
  ct.ClearFilters();
  ASSERT_TRUE(client_->Create(MakeService("late", "10.96.0.12", "UDP")).ok());
  ServicePortName late{"default", "late", "http", 17};
  ASSERT_TRUE(Eventually([&] { return backend.HasService(late); }));
  ASSERT_TRUE(client_->Create(MakeSlice("late", {"10.244.2.2"}, "UDP")).ok());
  ASSERT_TRUE(Eventually([&] { return ct.filters().size() == 1; }));
  f = ct.filters()[0];
  EXPECT_EQ(f.orig_dst, ip("10.96.0.12"));
  EXPECT_EQ(f.orig_dst_port, 80);
  EXPECT_FALSE(f.reply_src.has_value());
  EXPECT_EQ(ct.entries(), (std::vector<Entry>{other}));

  // TCP endpoint changes flush nothing.
  ct.ClearFilters();
  auto web = client_->Get<api::EndpointSlice>("default", "web-abc");
  ASSERT_TRUE(web.ok());
  web->endpoints[0].addresses = {"10.244.3.3"};
  ASSERT_TRUE(client_->Update(*web).ok());
  ServicePortName webp{"default", "web", "http", 6};
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> l(backend.mu);
    auto it = backend.endpoints_.find(webp);
    return it != backend.endpoints_.end() && it->second.size() == 1 &&
           it->second[0].ip == *base::IPAddress::Parse("10.244.3.3");
  }));
  EXPECT_TRUE(ct.filters().empty());
  auto metrics = Get(runner.healthz_port(), "/metrics");
  EXPECT_NE(metrics.second.find("knet_proxy_conntrack_deleted_total 2\n"), std::string::npos)
      << metrics.second;
}

}  // namespace
}  // namespace knet::agent::proxy
