// RestClient against a real in-process ApiServer (memory store, port 0, temp data dir).
#include "client/rest_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "api/lease.h"
#include "api/pod.h"
#include "apiserver/apiserver.h"
#include "apiserver/auth/kubeconfig.h"
#include "client/internal/test_server.h"

namespace knet::client {
namespace {

TEST(ErrorHelpersTest, ParseTheDocumentedPrefix) {
  base::Status s(base::StatusCode::kAborted, "PUT /x: HTTP 409 Conflict: stale");
  EXPECT_EQ(HttpCodeOf(s), 0);  // context goes first: only a bare prefix counts
  base::Status t(base::StatusCode::kAborted, "HTTP 409 Conflict: stale");
  EXPECT_EQ(HttpCodeOf(t), 409);
  EXPECT_EQ(ReasonOf(t), "Conflict");
  EXPECT_TRUE(IsConflict(t));
  EXPECT_FALSE(IsAlreadyExists(t));
  EXPECT_FALSE(IsNotFound(base::NotFoundError("no such file")));
  EXPECT_EQ(HttpCodeOf(base::OkStatus()), 0);
}

TEST(PathForKindTest, UsesTheResourceTable) {
  auto p = PathForKind("v1", "Pod");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->prefix, "/api/v1");
  EXPECT_EQ(p->resource, "pods");
  EXPECT_TRUE(p->namespaced);
  auto d = PathForKind("apps/v1", "Deployment");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->prefix, "/apis/apps/v1");
  auto n = PathForKind("v1", "Namespace");
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->namespaced);
  EXPECT_FALSE(PathForKind("v1", "Frobnicator").ok());
}

TEST(RestClientConfigTest, RejectsBadUrls) {
  EXPECT_FALSE(RestClient::Create({.server = "ftp://x"}).ok());
  EXPECT_FALSE(RestClient::Create({.server = "https://"}).ok());
  EXPECT_FALSE(RestClient::Create({.server = "https://1.2.3.4", .ca_pem = "not a pem"}).ok());
}

TEST(RestClientTimeoutTest, SilentPeerIsDeadlineExceeded) {
  // A listening socket nobody accepts on: TCP connects (backlog), the TLS handshake never ends.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto c = RestClient::Create({.server = url, .timeout = std::chrono::milliseconds(300)});
  ASSERT_TRUE(c.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*c)->Get<api::Pod>("default", "x");
  EXPECT_EQ(r.status().code(), base::StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  close(fd);
}

TEST_F(ServerFixture, CrudRoundTripAndErrorMapping) {
  auto created = client_->Create(MakePod("p1"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE(created->metadata.uid.empty());
  EXPECT_FALSE(created->metadata.resource_version.empty());

  // 409 AlreadyExists.
  auto again = client_->Create(MakePod("p1"));
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(IsAlreadyExists(again.status())) << again.status().ToString();
  EXPECT_FALSE(IsConflict(again.status()));
  EXPECT_EQ(again.status().code(), base::StatusCode::kAlreadyExists);

  // 422 Invalid: a pod without containers.
  api::Pod bad = MakePod("bad");
  bad.spec.containers.clear();
  auto invalid = client_->Create(bad);
  ASSERT_FALSE(invalid.ok());
  EXPECT_TRUE(IsInvalid(invalid.status())) << invalid.status().ToString();
  EXPECT_EQ(ReasonOf(invalid.status()), "Invalid");
  EXPECT_EQ(invalid.status().code(), base::StatusCode::kInvalidArgument);

  auto got = client_->Get<api::Pod>("default", "p1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->metadata.uid, created->metadata.uid);
  EXPECT_EQ(got->spec.containers.at(0).image, "busybox");

  // Update, then 409 Conflict with the stale resourceVersion.
  api::Pod upd = *got;
  upd.metadata.labels["tier"] = "front";
  auto updated = client_->Update(upd);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ(updated->metadata.labels.at("tier"), "front");
  EXPECT_NE(updated->metadata.resource_version, got->metadata.resource_version);
  upd.metadata.labels["tier"] = "back";
  auto stale = client_->Update(upd);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(IsConflict(stale.status())) << stale.status().ToString();
  EXPECT_EQ(HttpCodeOf(stale.status()), 409);
  EXPECT_EQ(ReasonOf(stale.status()), "Conflict");

  // Status subresource.
  api::Pod st = *updated;
  st.status.phase = "Running";
  auto with_status = client_->UpdateStatus(st);
  ASSERT_TRUE(with_status.ok()) << with_status.status().ToString();
  EXPECT_EQ(with_status->status.phase, "Running");

  // Merge and strategic merge patches.
  auto merged = client_->Patch<api::Pod>("default", "p1", PatchType::kMerge,
                                         R"({"metadata":{"labels":{"m":"1"}}})");
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(merged->metadata.labels.at("m"), "1");
  EXPECT_EQ(merged->metadata.labels.at("tier"), "front");
  auto strategic =
      client_->Patch<api::Pod>("default", "p1", PatchType::kStrategicMerge,
                               R"({"spec":{"containers":[{"name":"c","image":"nginx"}]}})");
  ASSERT_TRUE(strategic.ok()) << strategic.status().ToString();
  EXPECT_EQ(strategic->spec.containers.at(0).image, "nginx");
  EXPECT_EQ(strategic->status.phase, "Running");

  // 404 on a missing object.
  auto missing = client_->Get<api::Pod>("default", "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(IsNotFound(missing.status())) << missing.status().ToString();
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);

  // Delete, then 404.
  DeleteOptions del;
  del.grace_period_seconds = 0;
  del.propagation_policy = "Background";
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "p1", del).ok());
  EXPECT_TRUE(IsNotFound(client_->Get<api::Pod>("default", "p1").status()));
  EXPECT_TRUE(IsNotFound(client_->Delete<api::Pod>("default", "p1", del)));
}

TEST_F(ServerFixture, ListWithSelectorsAndPaging) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client_->Create(MakePod("p" + std::to_string(i), i % 2 ? "odd" : "even")).ok());
  }
  auto all = client_->List<api::Pod>("default");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->items.size(), 5u);
  EXPECT_FALSE(all->resource_version.empty());

  auto odd = client_->List<api::Pod>("default", {.label_selector = "app=odd"});
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->items.size(), 2u);
  for (const auto& p : odd->items) EXPECT_EQ(p.metadata.labels.at("app"), "odd");

  auto by_name = client_->List<api::Pod>("default", {.field_selector = "metadata.name=p3"});
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  ASSERT_EQ(by_name->items.size(), 1u);
  EXPECT_EQ(by_name->items[0].metadata.name, "p3");

  std::vector<std::string> names;
  ListOptions page{.limit = 2};
  for (int guard = 0; guard < 10; ++guard) {
    auto l = client_->List<api::Pod>("default", page);
    ASSERT_TRUE(l.ok()) << l.status().ToString();
    EXPECT_LE(l->items.size(), 2u);
    for (const auto& p : l->items) names.push_back(p.metadata.name);
    if (l->continue_token.empty()) break;
    page.continue_token = l->continue_token;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"}));

  // All namespaces.
  auto everywhere = client_->List<api::Pod>("");
  ASSERT_TRUE(everywhere.ok());
  EXPECT_EQ(everywhere->items.size(), 5u);
}

TEST_F(ServerFixture, WatchSeesAddedModifiedDeleted) {
  auto list = client_->List<api::Pod>("default");
  ASSERT_TRUE(list.ok());
  std::vector<std::pair<std::string, std::string>> events;  // type, name
  std::mutex mu;
  WatchCanceller cancel;
  base::Status watch_status;
  std::thread watcher([&] {
    watch_status = client_->Watch<api::Pod>(
        "default", {.resource_version = list->resource_version},
        [&](const WatchEvent<api::Pod>& ev) {
          std::lock_guard<std::mutex> l(mu);
          events.emplace_back(ev.type, ev.object.metadata.name + "/" +
                                           (ev.object.metadata.labels.count("tier")
                                                ? ev.object.metadata.labels.at("tier")
                                                : std::string()));
          return events.size() < 3;
        },
        &cancel);
  });
  auto p = client_->Create(MakePod("w1"));
  ASSERT_TRUE(p.ok());
  p->metadata.labels["tier"] = "t";
  ASSERT_TRUE(client_->Update(*p).ok());
  ASSERT_TRUE(client_->Delete<api::Pod>("default", "w1", {.grace_period_seconds = 0}).ok());
  watcher.join();
  EXPECT_TRUE(watch_status.ok()) << watch_status.ToString();
  std::vector<std::pair<std::string, std::string>> want = {
      {"ADDED", "w1/"}, {"MODIFIED", "w1/t"}, {"DELETED", "w1/t"}};
  EXPECT_EQ(events, want);
}

TEST_F(ServerFixture, WatchCancelFromAnotherThread) {
  WatchCanceller cancel;
  std::atomic<int> seen{0};
  base::Status s;
  std::thread watcher([&] {
    s = client_->Watch<api::Pod>(
        "default", {},
        [&](const WatchEvent<api::Pod>&) {
          ++seen;
          return true;
        },
        &cancel);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  cancel.Cancel();
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(s.code(), base::StatusCode::kCancelled) << s.ToString();
  EXPECT_EQ(seen.load(), 0);
  // The client still works afterwards.
  EXPECT_TRUE(client_->List<api::Pod>("default").ok());
}

TEST_F(ServerFixture, WatchMaxDurationEndsTheStreamOk) {
  auto start = std::chrono::steady_clock::now();
  base::Status s =
      client_->Watch<api::Pod>("default", {.max_duration = std::chrono::milliseconds(300)},
                               [](const WatchEvent<api::Pod>&) { return true; });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(ServerFixture, ConcurrentRequestsShareThePool) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string name = "c" + std::to_string(t) + "-" + std::to_string(i);
        if (!client_->Create(MakePod(name)).ok()) ++failures;
        if (!client_->Get<api::Pod>("default", name).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto l = client_->List<api::Pod>("default");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->items.size(), 60u);
}

TEST_F(ServerFixture, BadTokenIsUnauthenticated) {
  auto kc = apiserver::auth::LoadKubeconfig(server_->kubeconfig_path());
  ASSERT_TRUE(kc.ok());
  auto c = RestClient::Create({.server = kc->server, .ca_pem = kc->ca_pem, .token = "wrong"});
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Get<api::Pod>("default", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(HttpCodeOf(r.status()), 401) << r.status().ToString();
  EXPECT_EQ(r.status().code(), base::StatusCode::kUnauthenticated);
}

TEST_F(ServerFixture, WrongCaOrHostFailsVerification) {
  auto kc = apiserver::auth::LoadKubeconfig(server_->kubeconfig_path());
  ASSERT_TRUE(kc.ok());
  // Another server's CA.
  char tmpl[] = "/tmp/knet_client_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string other_dir = tmpl;
  {
    apiserver::ServerConfig cfg{
        .data_dir = other_dir, .listen = "127.0.0.1:0", .store_url = "memory://"};
    auto other = apiserver::ApiServer::Start(cfg);
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    auto okc = apiserver::auth::LoadKubeconfig((*other)->kubeconfig_path());
    ASSERT_TRUE(okc.ok());
    auto c = RestClient::Create({.server = kc->server, .ca_pem = okc->ca_pem, .token = kc->token});
    ASSERT_TRUE(c.ok());
    auto r = (*c)->Get<api::Pod>("default", "x");
    EXPECT_EQ(r.status().code(), base::StatusCode::kUnavailable) << r.status().ToString();
    EXPECT_EQ(HttpCodeOf(r.status()), 0);
    (*other)->Stop();
  }
  std::error_code ec;
  std::filesystem::remove_all(other_dir, ec);
  // The right CA but a name the certificate does not carry.
  std::string url = "https://localhost.invalid.knet:" + std::to_string(server_->port());
  auto c = RestClient::Create({.server = url, .ca_pem = kc->ca_pem, .token = kc->token});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE((*c)->Get<api::Pod>("default", "x").ok());
}

TEST_F(ServerFixture, HostNameIsVerifiedAgainstTheCertificate) {
  // The serving certificate names "localhost": the DNS-name path (SNI + host check) accepts it,
  // whichever address localhost resolves to first.
  auto kc = apiserver::auth::LoadKubeconfig(server_->kubeconfig_path());
  ASSERT_TRUE(kc.ok());
  std::string url = "https://localhost:" + std::to_string(server_->port());
  auto c = RestClient::Create({.server = url, .ca_pem = kc->ca_pem, .token = kc->token});
  ASSERT_TRUE(c.ok());
  auto l = (*c)->List<api::Pod>("default");
  EXPECT_TRUE(l.ok()) << l.status().ToString();
}

TEST_F(ServerFixture, PooledConnectionsReconnectAfterAServerRestart) {
  ASSERT_TRUE(client_->List<api::Pod>("default").ok());  // leaves a pooled connection
  uint16_t port = server_->port();
  server_->Stop();
  server_.reset();
  // Same data dir (same CA and token), same port.
  apiserver::ServerConfig cfg{
      .data_dir = dir_, .listen = "127.0.0.1:" + std::to_string(port), .store_url = "memory://"};
  auto s = apiserver::ApiServer::Start(cfg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  server_ = std::move(*s);
  auto l = client_->List<api::Pod>("default");
  EXPECT_TRUE(l.ok()) << l.status().ToString();
}

TEST_F(ServerFixture, ServerStoppedIsUnavailableNotAHang) {
  ASSERT_TRUE(client_->List<api::Pod>("default").ok());  // leaves a pooled connection
  server_->Stop();
  auto r = client_->List<api::Pod>("default");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::StatusCode::kUnavailable) << r.status().ToString();
}

class SmallWindowFixture : public ServerFixture {
 protected:
  void SetUp() override { StartServer(/*window=*/5); }
};

TEST_F(SmallWindowFixture, WatchFromAnExpiredRevisionIsGone) {
  auto list = client_->List<api::Pod>("default");
  ASSERT_TRUE(list.ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client_->Create(MakePod("g" + std::to_string(i))).ok());
  base::Status s = client_->Watch<api::Pod>(
      "default",
      {.resource_version = list->resource_version, .max_duration = std::chrono::seconds(5)},
      [](const WatchEvent<api::Pod>&) { return true; });
  EXPECT_TRUE(IsGone(s)) << s.ToString();
}

}  // namespace
}  // namespace knet::client
