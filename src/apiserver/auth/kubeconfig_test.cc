#include "apiserver/auth/kubeconfig.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "apiserver/auth/pki.h"

namespace knet::apiserver::auth {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs a shell command, returns its stdout (and sets *rc).
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

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_kubeconfig_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(KubeconfigTest, RoundTrip) {
  auto pki = EnsurePki(dir_ + "/pki", {"127.0.0.1"});
  ASSERT_TRUE(pki.ok());
  KubeconfigSpec spec;
  spec.server = "https://127.0.0.1:6443";
  spec.ca_pem = Slurp(pki->ca_cert);
  spec.token = "0123abcd";
  std::string path = dir_ + "/home/.kube/config";  // parent directories do not exist yet
  ASSERT_TRUE(WriteKubeconfig(path, spec).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto kc = LoadKubeconfig(path);
  ASSERT_TRUE(kc.ok()) << kc.status().ToString();
  EXPECT_EQ(kc->context, "knet");
  EXPECT_EQ(kc->cluster, "knet");
  EXPECT_EQ(kc->user, "admin");
  EXPECT_EQ(kc->server, spec.server);
  EXPECT_EQ(kc->ca_pem, spec.ca_pem);
  EXPECT_EQ(kc->token, spec.token);
  EXPECT_FALSE(kc->insecure_skip_tls_verify);
}

TEST_F(KubeconfigTest, KubectlReadsIt) {
  int rc = 0;
  RunCommand("kubectl version --client >/dev/null 2>&1", &rc);
  if (rc != 0) GTEST_SKIP() << "kubectl is not installed";
  KubeconfigSpec spec;
  spec.server = "https://127.0.0.1:6443";
  spec.ca_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  spec.token = "tok-123";
  std::string path = dir_ + "/config";
  ASSERT_TRUE(WriteKubeconfig(path, spec).ok());
  auto view = [&](const std::string& jsonpath) {
    return RunCommand(
        "kubectl --kubeconfig " + path + " config view --raw -o jsonpath='" + jsonpath + "' 2>&1",
        &rc);
  };
  EXPECT_EQ(view("{.clusters[0].cluster.server}"), spec.server);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(view("{.users[0].user.token}"), spec.token);
  EXPECT_EQ(view("{.current-context}"), "knet");
  EXPECT_EQ(view("{.contexts[0].context.cluster}/{.contexts[0].context.user}"), "knet/admin");
  // kubectl decodes certificate-authority-data back to our PEM.
  std::string b64 = view("{.clusters[0].cluster.certificate-authority-data}");
  std::string decoded = RunCommand("echo " + b64 + " | base64 -d", &rc);
  EXPECT_EQ(decoded, spec.ca_pem);
  EXPECT_EQ(RunCommand("kubectl --kubeconfig " + path + " config current-context", &rc), "knet\n");
}

TEST_F(KubeconfigTest, ReadsFilesRelativeToTheKubeconfig) {
  std::ofstream(dir_ + "/ca.pem") << "PEM DATA\n";
  std::ofstream(dir_ + "/token") << "file-token\n";
  std::ofstream(dir_ + "/config") << R"(apiVersion: v1
kind: Config
clusters:
- name: one
  cluster:
    server: https://one:6443
    certificate-authority: ca.pem
- name: two
  cluster:
    server: https://two:6443
    insecure-skip-tls-verify: true
users:
- name: u1
  user:
    tokenFile: token
- name: u2
  user: {}
contexts:
- name: c1
  context: {cluster: one, user: u1}
- name: c2
  context: {cluster: two, user: u2}
current-context: c1
)";
  auto c1 = LoadKubeconfig(dir_ + "/config");
  ASSERT_TRUE(c1.ok()) << c1.status().ToString();
  EXPECT_EQ(c1->server, "https://one:6443");
  EXPECT_EQ(c1->ca_pem, "PEM DATA\n");
  EXPECT_EQ(c1->token, "file-token");
  auto c2 = LoadKubeconfig(dir_ + "/config", "c2");
  ASSERT_TRUE(c2.ok()) << c2.status().ToString();
  EXPECT_EQ(c2->server, "https://two:6443");
  EXPECT_TRUE(c2->insecure_skip_tls_verify);
  EXPECT_EQ(c2->token, "");
  EXPECT_EQ(c2->ca_pem, "");
}

TEST_F(KubeconfigTest, ErrorsNameTheFileAndWhatIsMissing) {
  std::string path = dir_ + "/config";
  auto missing = LoadKubeconfig(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(path), std::string::npos);

  std::ofstream(path) << "clusters: [\n";
  auto bad = LoadKubeconfig(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), base::StatusCode::kInvalidArgument);

  std::ofstream(path) << "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"
                         "current-context: c\n";
  auto no_cluster = LoadKubeconfig(path);
  ASSERT_FALSE(no_cluster.ok());
  EXPECT_NE(no_cluster.status().message().find("no clusters entry named \"k\""), std::string::npos)
      << no_cluster.status().ToString();

  auto no_context = LoadKubeconfig(path, "other");
  ASSERT_FALSE(no_context.ok());
  EXPECT_NE(no_context.status().message().find("\"other\""), std::string::npos);

  std::ofstream(path) << "clusters:\n- name: k\n  cluster: {certificate-authority-data: x}\n"
                         "contexts:\n- name: c\n  context: {cluster: k}\ncurrent-context: c\n";
  auto no_server = LoadKubeconfig(path);
  ASSERT_FALSE(no_server.ok());
  EXPECT_NE(no_server.status().message().find("has no server"), std::string::npos);

  std::ofstream(path) << "clusters:\n- name: k\n  cluster: {server: 'https://k', "
                         "certificate-authority-data: '!!notbase64'}\n"
                         "contexts:\n- name: c\n  context: {cluster: k}\ncurrent-context: c\n";
  auto bad_b64 = LoadKubeconfig(path);
  ASSERT_FALSE(bad_b64.ok());
  EXPECT_NE(bad_b64.status().message().find("base64"), std::string::npos);

  KubeconfigSpec spec;
  EXPECT_FALSE(WriteKubeconfig(path, spec).ok());  // no server
}

}  // namespace
}  // namespace knet::apiserver::auth
