// The real kubectl against an in-process API server that proxies pods/log and pods/exec to an
// AgentServer on 127.0.0.1 (the Node's InternalIP and kubeletEndpoint port), whose container is
// a real `sleep` process and a CRI log file written here. Root (exec joins the container's
// namespaces); skipped without kubectl.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "agent/server/server.h"
#include "api/node.h"
#include "api/pod.h"
#include "apiserver/apiserver.h"
#include "client/rest_client.h"

namespace knet::agent::server {
namespace {

class Pods : public PodLookup {
 public:
  base::StatusOr<ContainerRef> Find(std::string_view ns, std::string_view pod,
                                    std::string_view container) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = refs.find(std::string(ns) + "/" + std::string(pod) + "/" + std::string(container));
    if (it == refs.end()) {
      return base::NotFoundError("container \"" + std::string(container) + "\" in pod \"" +
                                 std::string(pod) + "\" not found");
    }
    return it->second;
  }
  std::mutex mu;
  std::map<std::string, ContainerRef> refs;
};

struct CommandResult {
  int rc = -1;
  std::string out, err;
};

class KubectlExecLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (exec joins a container's namespaces)";
    if (std::system("kubectl version --client >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "kubectl is not installed";
    }
    char tmpl[] = "/tmp/knet_kubectl_exec_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    apiserver::ServerConfig cfg;
    cfg.data_dir = dir_ + "/server";
    cfg.store_url = "memory://";
    cfg.listen = "127.0.0.1:0";
    cfg.handler_threads = 8;
    auto s = apiserver::ApiServer::Start(cfg);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    api_ = std::move(*s);
    kubeconfig_ = api_->kubeconfig_path();
    auto c = client::RestClient::FromKubeconfig(kubeconfig_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);

    sleeper_ = ::fork();
    ASSERT_GE(sleeper_, 0);
    if (sleeper_ == 0) {
      ::execl("/bin/sleep", "sleep", "60", nullptr);
      ::_exit(127);
    }
    log_ = dir_ + "/app.log";
    std::ofstream(log_) << "2026-11-25T01:00:00.5Z stdout F hello\n"
                           "2026-11-25T01:00:01Z stderr P wor\n"
                           "2026-11-25T01:00:01Z stderr F ld\n";
    ContainerRef app;
    app.name = "app";
    app.log_path = log_;
    app.pid = sleeper_;
    app.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "WHO=knet"};
    app.working_dir = "/";
    pods_.refs["default/web/app"] = app;
    ContainerRef side = app;
    side.name = "side";
    pods_.refs["default/web/side"] = side;

    std::ifstream ca_in(cfg.data_dir + "/pki/ca.crt");
    AgentServerOptions o;
    o.listen = "127.0.0.1:0";
    o.cert_dir = dir_ + "/agent";
    o.client_ca_pem.assign(std::istreambuf_iterator<char>(ca_in), {});
    ASSERT_FALSE(o.client_ca_pem.empty());
    auto a = AgentServer::Start(o, &pods_);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);

    api::Node node;
    node.metadata.name = "node-1";
    auto created = client_->Create(node);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    base::StatusOr<api::Node> updated = *created;
    for (int i = 0; i < 20; ++i) {
      updated->status.addresses = {{"InternalIP", "127.0.0.1"}, {"Hostname", "node-1"}};
      updated->status.daemon_endpoints.kubelet_endpoint.port = agent_->port();
      updated = client_->UpdateStatus(*updated);
      if (updated.ok() || !client::IsConflict(updated.status())) break;
      updated = client_->Get<api::Node>("", "node-1");
    }
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();

    api::Pod pod;
    pod.metadata.name = "web";
    pod.metadata.namespace_ = "default";
    pod.spec.node_name = "node-1";
    for (const char* n : {"app", "side"}) {
      api::Container container;
      container.name = n;
      container.image = "busybox";
      pod.spec.containers.push_back(container);
    }
    ASSERT_TRUE(client_->Create(pod).ok());
    pod.metadata.name = "pending";
    pod.spec.node_name.clear();
    ASSERT_TRUE(client_->Create(pod).ok());
  }

  void TearDown() override {
    if (agent_) agent_->Stop();
    client_.reset();
    if (api_) api_->Stop();
    if (sleeper_ > 0) {
      ::kill(sleeper_, SIGKILL);
      ::waitpid(sleeper_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  // Runs `kubectl --kubeconfig K <args>` through sh with `stdin_text` on its stdin.
  CommandResult Kubectl(const std::string& args, const std::string& stdin_text = "") {
    std::string in = dir_ + "/stdin", out = dir_ + "/stdout", err = dir_ + "/stderr";
    std::ofstream(in) << stdin_text;
    std::string cmd = "timeout 30 kubectl --kubeconfig " + kubeconfig_ + " --request-timeout=0 " +
                      args + " <" + in + " >" + out + " 2>" + err;
    CommandResult r;
    int status = std::system(cmd.c_str());
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }

  std::string dir_, kubeconfig_, log_;
  std::unique_ptr<apiserver::ApiServer> api_;
  std::unique_ptr<client::RestClient> client_;
  Pods pods_;
  std::unique_ptr<AgentServer> agent_;
  pid_t sleeper_ = -1;
};

TEST_F(KubectlExecLogsTest, Logs) {
  CommandResult r = Kubectl("logs web -c app");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "hello\nworld\n");
  r = Kubectl("logs web -c app --tail=1");
  EXPECT_EQ(r.out, "world\n") << r.err;
  r = Kubectl("logs web -c app --timestamps");
  EXPECT_EQ(r.out, "2026-11-25T01:00:00.500000000Z hello\n2026-11-25T01:00:01.000000000Z world\n")
      << r.err;
  r = Kubectl("logs web -c app --limit-bytes=3");
  EXPECT_EQ(r.out, "hel") << r.err;
  // Without -c kubectl picks the first container itself (and says so).
  r = Kubectl("logs web");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "hello\nworld\n");
}

TEST_F(KubectlExecLogsTest, LogErrors) {
  CommandResult r = Kubectl("logs web -c nope");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("container nope is not valid for pod web"), std::string::npos) << r.err;
  r = Kubectl("logs pending -c app");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("pod pending does not have a host assigned"), std::string::npos) << r.err;
  r = Kubectl("logs nosuchpod");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("pods \"nosuchpod\" not found"), std::string::npos) << r.err;
  // The API server itself refuses a request without a container on a two-container pod.
  r = Kubectl("get --raw /api/v1/namespaces/default/pods/web/log");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("a container name must be specified for pod web, choose one of: [app side]"),
            std::string::npos)
      << r.err;
  // A node agent that cannot be reached.
  agent_->Stop();
  r = Kubectl("logs web -c app");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("error dialing backend"), std::string::npos) << r.err;
}

TEST_F(KubectlExecLogsTest, LogsFollow) {
  std::string cmd = "timeout 30 kubectl --kubeconfig " + kubeconfig_ + " logs -f web -c app 2>" +
                    dir_ + "/follow.err";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  auto line = [&] {
    char buf[256];
    return std::fgets(buf, sizeof(buf), p) != nullptr ? std::string(buf) : std::string();
  };
  EXPECT_EQ(line(), "hello\n");
  EXPECT_EQ(line(), "world\n");
  std::ofstream(log_, std::ios::app) << "2026-11-25T01:00:02Z stdout F more\n";
  EXPECT_EQ(line(), "more\n");
  std::ofstream(log_, std::ios::app) << "2026-11-25T01:00:03Z stdout F last\n";
  EXPECT_EQ(line(), "last\n");
  {
    // The container stops: the stream ends and kubectl exits 0.
    std::lock_guard<std::mutex> lock(pods_.mu);
    pods_.refs["default/web/app"].pid = 0;
  }
  EXPECT_EQ(line(), "");
  int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << status << " " << Slurp(dir_ + "/follow.err");
}

// More followers than the API server has handler threads (8 here): they must not hold them.
TEST_F(KubectlExecLogsTest, ManyFollowersDoNotBlockTheApiServer) {
  std::vector<FILE*> followers;
  for (int i = 0; i < 12; ++i) {
    std::string cmd = "timeout 30 kubectl --kubeconfig " + kubeconfig_ +
                      " logs -f --tail=1 web -c app 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    followers.push_back(p);
  }
  for (FILE* p : followers) {
    char buf[64];
    ASSERT_NE(std::fgets(buf, sizeof(buf), p), nullptr);
    EXPECT_STREQ(buf, "world\n");
  }
  CommandResult r = Kubectl("get pod web -o name");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "pod/web\n");
  {
    std::lock_guard<std::mutex> lock(pods_.mu);
    pods_.refs["default/web/app"].pid = 0;
  }
  for (FILE* p : followers) {
    int status = ::pclose(p);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
}

TEST_F(KubectlExecLogsTest, ExecExitCodeAndSeparateStreams) {
  CommandResult r = Kubectl("exec web -c app -- sh -c 'echo out; echo err >&2; echo $WHO; exit 3'");
  EXPECT_EQ(r.rc, 3) << r.err;
  EXPECT_EQ(r.out, "out\nknet\n");
  EXPECT_NE(r.err.find("err\n"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("out"), std::string::npos) << r.err;
  r = Kubectl("exec web -c app -- true");
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST_F(KubectlExecLogsTest, ExecWithStdin) {
  CommandResult r = Kubectl("exec -i web -c app -- sh -c 'cat; echo done'", "one\ntwo\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "one\ntwo\ndone\n");
}

TEST_F(KubectlExecLogsTest, ExecWithATerminal) {
  if (std::system("command -v script >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  // script(1) gives kubectl a terminal, so -t is honoured.
  std::string out = dir_ + "/tty.out";
  std::string cmd = "timeout 30 script -qec \"kubectl --kubeconfig " + kubeconfig_ +
                    " exec -it web -c app -- sh -c 'tty; exit 2'\" /dev/null </dev/null >" + out +
                    " 2>&1";
  int status = std::system(cmd.c_str());
  std::string text = Slurp(out);
  EXPECT_NE(text.find("/dev/pts/"), std::string::npos) << text;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status << " " << text;
}

TEST_F(KubectlExecLogsTest, ExecErrors) {
  CommandResult r = Kubectl("exec web -c nope -- true");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("container nope is not valid for pod web"), std::string::npos) << r.err;
  r = Kubectl("exec pending -c app -- true");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("does not have a host assigned"), std::string::npos) << r.err;
  {
    std::lock_guard<std::mutex> lock(pods_.mu);
    pods_.refs["default/web/side"].pid = 0;
  }
  r = Kubectl("exec web -c side -- true");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("is not running"), std::string::npos) << r.err;
}

TEST_F(KubectlExecLogsTest, AttachIsRefusedClearly) {
  CommandResult r = Kubectl("get --raw '/api/v1/namespaces/default/pods/web/attach?container=app'");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("pods/attach is not supported"), std::string::npos) << r.err;
}

// A read-only user may read logs but not exec (exec needs create, as upstream).
TEST_F(KubectlExecLogsTest, ReadOnlyUserCanReadLogsButNotExec) {
  std::ifstream in(dir_ + "/server/tokens.csv");
  std::string line, token;
  while (std::getline(in, line)) {
    size_t comma = line.find(',');
    if (comma != std::string::npos && line.compare(comma + 1, 7, "viewer,") == 0) {
      token = line.substr(0, comma);
    }
  }
  ASSERT_FALSE(token.empty());
  CommandResult r = Kubectl("--token " + token + " logs web -c app");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "hello\nworld\n");
  r = Kubectl("--token " + token + " exec web -c app -- true");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("cannot create pods/exec"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace knet::agent::server
