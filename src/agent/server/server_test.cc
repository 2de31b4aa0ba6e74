// The agent's server end to end over HTTPS with a client certificate: logs and exec (WebSocket,
// v5 and v4) into a real process's namespaces. Root: exec joins the container's namespaces.
#include "agent/server/server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/server/websocket.h"
#include "apiserver/auth/pki.h"
#include "apiserver/http/client.h"

namespace knet::agent::server {
namespace {

namespace http = apiserver::http;

class FakePods : public PodLookup {
 public:
  base::StatusOr<ContainerRef> Find(std::string_view ns, std::string_view pod,
                                    std::string_view container) override {
    std::lock_guard<std::mutex> lock(mu);
    std::string key = std::string(ns) + "/" + std::string(pod);
    auto it = pods.find(key);
    if (it == pods.end()) return base::NotFoundError("pod \"" + std::string(pod) + "\" not found");
    for (const ContainerRef& c : it->second) {
      if (c.name == container) return c;
    }
    return base::NotFoundError("container \"" + std::string(container) + "\" not found in pod \"" +
                               std::string(pod) + "\"");
  }
  std::mutex mu;
  std::map<std::string, std::vector<ContainerRef>> pods;
};

struct ExecResult {
  std::string out, err, status;
  bool closed = false;
};

class AgentServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (exec joins a container's namespaces)";
    char tmpl[] = "/tmp/knet_agent_server_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto pki = apiserver::auth::EnsurePki(dir_ + "/cluster", {"127.0.0.1"});
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
    std::ifstream in(pki_.ca_cert);
    std::string ca((std::istreambuf_iterator<char>(in)), {});
    // The "container": a process in our own namespaces.
    sleeper_ = ::fork();
    ASSERT_GE(sleeper_, 0);
    if (sleeper_ == 0) {
      ::execl("/bin/sleep", "sleep", "60", nullptr);
      ::_exit(127);
    }
    log_ = dir_ + "/0.log";
    std::ofstream(log_) << "2026-11-25T01:00:00Z stdout F hello\n"
                           "2026-11-25T01:00:01Z stderr F world\n";
    ContainerRef c;
    c.name = "app";
    c.log_path = log_;
    c.pid = sleeper_;
    c.env = {"PATH=/usr/bin:/bin", "GREETING=hi there"};
    c.working_dir = "/tmp";
    ContainerRef stopped;
    stopped.name = "done";
    stopped.log_path = log_;
    pods_.pods["default/web"] = {c, stopped};

    AgentServerOptions o;
    o.listen = "127.0.0.1:0";
    o.cert_dir = dir_ + "/agent";
    o.client_ca_pem = ca;
    auto s = AgentServer::Start(o, &pods_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    dial_.cert_file = pki_.kubelet_client_cert;
    dial_.key_file = pki_.kubelet_client_key;
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (sleeper_ > 0) {
      ::kill(sleeper_, SIGKILL);
      ::waitpid(sleeper_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // GET `target`; returns status and the whole body.
  std::pair<int, std::string> Get(const std::string& target) {
    auto conn = dialer_.Dial("127.0.0.1", server_->port(), dial_);
    if (!conn.ok()) return {0, conn.status().ToString()};
    (*conn)->Write("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    http::ResponseReader r(conn->get());
    auto head = r.ReadHead();
    if (!head.ok()) return {0, head.status().ToString()};
    std::string body;
    while (true) {
      auto piece = r.ReadBody();
      if (!piece.ok() || piece->empty()) break;
      body += *piece;
    }
    return {head->status, body};
  }

  // Opens an exec WebSocket; returns the connection (nullptr and the HTTP status on refusal).
  std::unique_ptr<WebSocketConn> OpenExec(const std::string& query, const std::string& protocols,
                                          int* status, std::string* body = nullptr) {
    auto conn = dialer_.Dial("127.0.0.1", server_->port(), dial_);
    if (!conn.ok()) return nullptr;
    std::shared_ptr<http::Tunnel> t(std::move(*conn));
    t->Write("GET /exec/default/web/app?" + query +
             " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Protocol: " +
             protocols + "\r\n\r\n");
    http::ResponseReader r(t.get());
    auto head = r.ReadHead();
    *status = head.ok() ? head->status : 0;
    if (!head.ok() || head->status != 101) {
      if (body != nullptr && head.ok()) {
        while (true) {
          auto piece = r.ReadBody();
          if (!piece.ok() || piece->empty()) break;
          *body += *piece;
        }
      }
      return nullptr;
    }
    EXPECT_EQ(head->Header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    protocol_ = std::string(head->Header("sec-websocket-protocol"));
    EXPECT_TRUE(r.TakeBuffered().empty());
    return std::make_unique<WebSocketConn>(t, /*server=*/false);
  }

  static ExecResult Collect(WebSocketConn& ws) {
    ExecResult r;
    while (true) {
      auto m = ws.ReadMessage();
      if (!m.ok() || !m->has_value()) {
        r.closed = m.ok();
        break;
      }
      const std::string& d = (*m)->data;
      if (d.empty()) continue;
      if (d[0] == 1) r.out += d.substr(1);
      if (d[0] == 2) r.err += d.substr(1);
      if (d[0] == 3) r.status += d.substr(1);
    }
    return r;
  }

  std::string dir_, log_;
  apiserver::auth::PkiFiles pki_;
  pid_t sleeper_ = -1;
  FakePods pods_;
  std::unique_ptr<AgentServer> server_;
  http::Dialer dialer_;
  http::DialOptions dial_;
  std::string protocol_;
};

TEST_F(AgentServerTest, HealthzNeedsAClientCertificateFromTheClusterCa) {
  EXPECT_EQ(Get("/healthz"), (std::pair<int, std::string>{200, "ok"}));
  dial_ = http::DialOptions();
  EXPECT_EQ(Get("/healthz").first, 0);
  auto other = apiserver::auth::EnsurePki(dir_ + "/other", {"127.0.0.1"});
  ASSERT_TRUE(other.ok());
  dial_.cert_file = other->kubelet_client_cert;
  dial_.key_file = other->kubelet_client_key;
  EXPECT_EQ(Get("/healthz").first, 0);
}

TEST_F(AgentServerTest, ContainerLogs) {
  EXPECT_EQ(Get("/containerLogs/default/web/app"),
            (std::pair<int, std::string>{200, "hello\nworld\n"}));
  EXPECT_EQ(Get("/containerLogs/default/web/app?tailLines=1&timestamps=true"),
            (std::pair<int, std::string>{200, "2026-11-25T01:00:01.000000000Z world\n"}));
  EXPECT_EQ(Get("/containerLogs/default/web/app?limitBytes=3"),
            (std::pair<int, std::string>{200, "hel"}));
  auto missing = Get("/containerLogs/default/web/nope");
  EXPECT_EQ(missing.first, 404);
  EXPECT_NE(missing.second.find("container \\\"nope\\\" not found"), std::string::npos)
      << missing.second;
  auto previous = Get("/containerLogs/default/web/app?previous=true");
  EXPECT_EQ(previous.first, 400);
  EXPECT_NE(previous.second.find("previous terminated container"), std::string::npos);
  EXPECT_EQ(Get("/containerLogs/default/web/app?tailLines=x").first, 400);
}

TEST_F(AgentServerTest, ExecSeparatesStdoutAndStderrAndReportsTheExitCode) {
  int status = 0;
  auto ws = OpenExec(
      "command=sh&command=-c&command=echo+out;+echo+err+>%262;+echo+$GREETING;+pwd;+exit+3"
      "&stdout=true&stderr=true",
      "v5.channel.k8s.io, v4.channel.k8s.io", &status);
  ASSERT_NE(ws, nullptr) << status;
  EXPECT_EQ(protocol_, "v5.channel.k8s.io");
  ExecResult r = Collect(*ws);
  EXPECT_EQ(r.out, "out\nhi there\n/tmp\n");
  EXPECT_EQ(r.err, "err\n");
  auto j = nlohmann::json::parse(r.status);
  EXPECT_EQ(j["status"], "Failure");
  EXPECT_EQ(j["reason"], "NonZeroExitCode");
  EXPECT_EQ(j["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(j["details"]["causes"][0]["message"], "3");
  EXPECT_TRUE(r.closed);
}

TEST_F(AgentServerTest, ExecStdinEndsWithTheV5CloseSignal) {
  int status = 0;
  auto ws = OpenExec("command=cat&stdin=true&stdout=true", "v5.channel.k8s.io", &status);
  ASSERT_NE(ws, nullptr) << status;
  ASSERT_TRUE(ws->WriteMessage(Opcode::kBinary, std::string("\0line one\n", 10)));
  ASSERT_TRUE(ws->WriteMessage(Opcode::kBinary, std::string("\0line two\n", 10)));
  ASSERT_TRUE(ws->WriteMessage(Opcode::kBinary, std::string("\xff\0", 2)));
  ExecResult r = Collect(*ws);
  EXPECT_EQ(r.out, "line one\nline two\n");
  EXPECT_EQ(r.status, R"({"metadata":{},"status":"Success"})");
}

TEST_F(AgentServerTest, ExecOnATerminalWithResize) {
  int status = 0;
  auto ws = OpenExec(
      "command=sh&command=-c&command=read+x;+stty+size;+tty+>/dev/null+%26%26+exit+4"
      "&stdin=true&stdout=true&tty=true",
      "v4.channel.k8s.io", &status);
  ASSERT_NE(ws, nullptr) << status;
  EXPECT_EQ(protocol_, "v4.channel.k8s.io");
  ASSERT_TRUE(
      ws->WriteMessage(Opcode::kBinary, std::string("\x04") + R"({"Width":123,"Height":45})"));
  ASSERT_TRUE(ws->WriteMessage(Opcode::kBinary, std::string("\0go\n", 4)));
  ExecResult r = Collect(*ws);
  EXPECT_NE(r.out.find("45 123\r\n"), std::string::npos) << r.out;
  EXPECT_NE(r.status.find("\"message\":\"4\""), std::string::npos) << r.status;
}

TEST_F(AgentServerTest, ExecRefusals) {
  int status = 0;
  std::string body;
  // Not a known subprotocol.
  EXPECT_EQ(OpenExec("command=true&stdout=true", "channel.k8s.io", &status, &body), nullptr);
  EXPECT_EQ(status, 400);
  EXPECT_NE(body.find("v5.channel.k8s.io"), std::string::npos) << body;
  // No command.
  body.clear();
  EXPECT_EQ(OpenExec("stdout=true", "v5.channel.k8s.io", &status, &body), nullptr);
  EXPECT_EQ(status, 400);
  // A container that is not running.
  auto r = Get("/exec/default/web/done?command=true&stdout=true");
  EXPECT_EQ(r.first, 400);
  EXPECT_NE(r.second.find("is not running"), std::string::npos) << r.second;
  // A command that does not exist: the error on stderr and exit code 127.
  auto ws =
      OpenExec("command=/no/such/binary&stdout=true&stderr=true", "v5.channel.k8s.io", &status);
  ASSERT_NE(ws, nullptr);
  ExecResult res = Collect(*ws);
  EXPECT_NE(res.err.find("/no/such/binary"), std::string::npos) << res.err;
  EXPECT_NE(res.status.find("\"message\":\"127\""), std::string::npos) << res.status;
}

TEST_F(AgentServerTest, ClientGoingAwayKillsTheCommand) {
  int status = 0;
  auto ws = OpenExec("command=sh&command=-c&command=echo+$$;+exec+sleep+30&stdout=true",
                     "v5.channel.k8s.io", &status);
  ASSERT_NE(ws, nullptr);
  auto m = ws->ReadMessage();
  ASSERT_TRUE(m.ok() && m->has_value());
  pid_t pid = std::stoi((*m)->data.substr(1));
  ASSERT_EQ(::kill(pid, 0), 0);
  ws->Close();
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = ::kill(pid, 0) != 0;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
}

TEST_F(AgentServerTest, StopEndsSessionsAndKillsTheirCommands) {
  int status = 0;
  auto ws = OpenExec("command=sh&command=-c&command=echo+$$;+exec+sleep+30&stdout=true",
                     "v5.channel.k8s.io", &status);
  ASSERT_NE(ws, nullptr);
  auto m = ws->ReadMessage();
  ASSERT_TRUE(m.ok() && m->has_value());
  pid_t pid = std::stoi((*m)->data.substr(1));
  // A follower too.
  auto conn = dialer_.Dial("127.0.0.1", server_->port(), dial_);
  ASSERT_TRUE(conn.ok());
  (*conn)->Write("GET /containerLogs/default/web/app?follow=true HTTP/1.1\r\nHost: x\r\n\r\n");
  http::ResponseReader r(conn->get());
  ASSERT_TRUE(r.ReadHead().ok());
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(::kill(pid, 0), 0);  // killed and reaped
  ws.reset();
}

}  // namespace
}  // namespace knet::agent::server
