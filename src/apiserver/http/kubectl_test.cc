// The real kubectl (a Go client: HTTP/2-preferring ALPN, strict TLS verification) against the
// server with the PKI, token file and kubeconfig of apiserver/auth. Skipped without kubectl.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "apiserver/auth/kubeconfig.h"
#include "apiserver/auth/pki.h"
#include "apiserver/auth/tokens.h"
#include "apiserver/http/server.h"

namespace knet::apiserver::http {
namespace {

std::string RunCommand(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *rc = -1;
    return out;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  *rc = ::pclose(p);
  return out;
}

TEST(KubectlTest, KubectlTalksToTheServerWithTokenAndCa) {
  int rc = 0;
  RunCommand("kubectl version --client >/dev/null 2>&1", &rc);
  if (rc != 0) GTEST_SKIP() << "kubectl is not installed";
  char tmpl[] = "/tmp/knet_kubectl_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;

  auto pki = auth::EnsurePki(dir + "/pki", {"127.0.0.1", "localhost"});
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();
  auto tokens = auth::TokenAuthenticator::Load(dir + "/tokens.csv");
  ASSERT_TRUE(tokens.ok());
  auto admin = tokens->EnsureToken("admin", {"system:masters"});
  ASSERT_TRUE(admin.ok());

  std::mutex mu;
  std::vector<std::string> seen;  // "user agent | path"
  ServerOptions opts;
  opts.listen = "127.0.0.1:0";
  opts.cert_file = pki->server_cert;
  opts.key_file = pki->server_key;
  auto server = Server::Start(opts, [&](const Request& req, Exchange& ex) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(std::string(req.Header("user-agent")) + " | " + req.path);
    }
    auto user = tokens->Authenticate(req.Header("authorization"));
    if (!user) {
      ex.Respond({401,
                  {{"Content-Type", "application/json"}},
                  R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
                  R"("message":"Unauthorized","reason":"Unauthorized","code":401})"});
      return;
    }
    if (req.path == "/healthz") {
      ex.Respond({200, {{"Content-Type", "text/plain"}}, "ok"});
      return;
    }
    ex.Respond({404, {{"Content-Type", "text/plain"}}, "not found"});
  });
  ASSERT_TRUE(server.ok()) << server.status().ToString();

  std::ifstream ca_in(pki->ca_cert);
  std::string ca_pem((std::istreambuf_iterator<char>(ca_in)), {});
  auth::KubeconfigSpec spec;
  spec.server = "https://127.0.0.1:" + std::to_string((*server)->port());
  spec.ca_pem = ca_pem;
  spec.token = *admin;
  std::string kubeconfig = dir + "/kubeconfig";
  ASSERT_TRUE(auth::WriteKubeconfig(kubeconfig, spec).ok());

  std::string out = RunCommand(
      "kubectl --kubeconfig " + kubeconfig + " get --raw /healthz --request-timeout=20s 2>&1", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "ok");

  // A wrong token is refused with kubectl's own message for 401.
  spec.token = "wrong";
  ASSERT_TRUE(auth::WriteKubeconfig(kubeconfig, spec).ok());
  out = RunCommand(
      "kubectl --kubeconfig " + kubeconfig + " get --raw /healthz --request-timeout=20s 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("Unauthorized"), std::string::npos) << out;

  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_FALSE(seen.empty());
    EXPECT_NE(seen.front().find("kubectl"), std::string::npos) << seen.front();
  }
  (*server)->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace knet::apiserver::http
