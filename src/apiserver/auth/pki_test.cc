#include "apiserver/auth/pki.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace knet::apiserver::auth {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

X509* ReadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return x;
}

mode_t Mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/knet_pki_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/pki";  // does not exist yet: EnsurePki creates it
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Verifies server.crt against ca.crt with OpenSSL's chain verifier, for `host`.
  bool ChainVerifies(const PkiFiles& f, const std::string& host) {
    X509* ca = ReadCert(f.ca_cert);
    X509* leaf = ReadCert(f.server_cert);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, nullptr);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    if (host.find_first_not_of("0123456789.:") == std::string::npos) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    }
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
    X509_free(ca);
    return ok;
  }

  std::string root_, dir_;
};

TEST_F(PkiTest, CreatesCaAndServingCertificateThatVerify) {
  auto files = EnsurePki(dir_, {"localhost", "127.0.0.1", "[::1]", "api.example.test"});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->ca_cert, dir_ + "/ca.crt");
  EXPECT_EQ(files->server_key, dir_ + "/server.key");
  EXPECT_EQ(Mode(files->ca_key), 0600u);
  EXPECT_EQ(Mode(files->server_key), 0600u);
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_TRUE(ChainVerifies(*files, "localhost"));
  EXPECT_TRUE(ChainVerifies(*files, "127.0.0.1"));
  EXPECT_TRUE(ChainVerifies(*files, "::1"));
  EXPECT_TRUE(ChainVerifies(*files, "api.example.test"));
  EXPECT_FALSE(ChainVerifies(*files, "other.example.test"));
  EXPECT_FALSE(ChainVerifies(*files, "10.0.0.1"));

  X509* ca = ReadCert(files->ca_cert);
  ASSERT_NE(ca, nullptr);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "knet-ca");
  EXPECT_EQ(X509_check_ca(ca), 1);
  EVP_PKEY* pub = X509_get0_pubkey(ca);
  EXPECT_EQ(EVP_PKEY_get_id(pub), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(pub), 256);
  // About ten years.
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca), X509_get0_notAfter(ca)), 1);
  EXPECT_GE(days, 3649);
  X509_free(ca);
  X509* leaf = ReadCert(files->server_cert);
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf), X509_get0_notAfter(leaf)), 1);
  EXPECT_GE(days, 365);
  EXPECT_LE(days, 366);
  X509_free(leaf);
}

TEST_F(PkiTest, SecondCallReusesEverything) {
  ASSERT_TRUE(EnsurePki(dir_, {"localhost"}).ok());
  std::string ca = Slurp(dir_ + "/ca.crt"), cert = Slurp(dir_ + "/server.crt");
  auto again = EnsurePki(dir_, {"localhost"});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Slurp(dir_ + "/ca.crt"), ca);
  EXPECT_EQ(Slurp(dir_ + "/server.crt"), cert);
}

TEST_F(PkiTest, NewHostRegeneratesOnlyTheServingCertificate) {
  ASSERT_TRUE(EnsurePki(dir_, {"localhost"}).ok());
  std::string ca = Slurp(dir_ + "/ca.crt"), ca_key = Slurp(dir_ + "/ca.key");
  std::string cert = Slurp(dir_ + "/server.crt");
  auto files = EnsurePki(dir_, {"localhost", "192.168.7.7"});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(Slurp(dir_ + "/ca.crt"), ca);
  EXPECT_EQ(Slurp(dir_ + "/ca.key"), ca_key);
  EXPECT_NE(Slurp(dir_ + "/server.crt"), cert);
  EXPECT_TRUE(ChainVerifies(*files, "192.168.7.7"));
}

TEST_F(PkiTest, MissingServingKeyIsRepaired) {
  ASSERT_TRUE(EnsurePki(dir_, {"localhost"}).ok());
  std::string ca = Slurp(dir_ + "/ca.crt");
  std::filesystem::remove(dir_ + "/server.key");
  auto files = EnsurePki(dir_, {"localhost"});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(Slurp(dir_ + "/ca.crt"), ca);
  EXPECT_TRUE(ChainVerifies(*files, "localhost"));
}

TEST_F(PkiTest, ServingCertificateFromAnotherCaIsReplaced) {
  std::string other = root_ + "/other";
  ASSERT_TRUE(EnsurePki(dir_, {"localhost"}).ok());
  ASSERT_TRUE(EnsurePki(other, {"localhost"}).ok());
  std::filesystem::copy_file(other + "/server.crt", dir_ + "/server.crt",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(other + "/server.key", dir_ + "/server.key",
                             std::filesystem::copy_options::overwrite_existing);
  auto files = EnsurePki(dir_, {"localhost"});
  ASSERT_TRUE(files.ok());
  EXPECT_NE(Slurp(dir_ + "/server.crt"), Slurp(other + "/server.crt"));
  EXPECT_TRUE(ChainVerifies(*files, "localhost"));
}

TEST_F(PkiTest, CorruptCaIsReportedNotReplaced) {
  ASSERT_TRUE(EnsurePki(dir_, {"localhost"}).ok());
  std::ofstream(dir_ + "/ca.crt") << "not a certificate";
  auto files = EnsurePki(dir_, {"localhost"});
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find(dir_ + "/ca.crt"), std::string::npos)
      << files.status().ToString();
}

TEST_F(PkiTest, RejectsBadHost) {
  auto files = EnsurePki(dir_, {"localhost", "bad host,name"});
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_NE(files.status().message().find("bad host,name"), std::string::npos);
}

TEST_F(PkiTest, EmptyHostsMeansLoopback) {
  auto files = EnsurePki(dir_, {});
  ASSERT_TRUE(files.ok());
  EXPECT_TRUE(ChainVerifies(*files, "localhost"));
  EXPECT_TRUE(ChainVerifies(*files, "127.0.0.1"));
}

// Verifies `leaf` against `ca` for `purpose` (X509_PURPOSE_SSL_CLIENT / _SERVER).
bool VerifiesFor(const std::string& ca_path, const std::string& leaf_path, int purpose) {
  X509* ca = ReadCert(ca_path);
  X509* leaf = ReadCert(leaf_path);
  X509_STORE* store = X509_STORE_new();
  if (ca != nullptr) X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx), purpose);
  bool ok = leaf != nullptr && X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(leaf);
  X509_free(ca);
  return ok;
}

TEST_F(PkiTest, KubeletClientCertificateIsAClientCertificateOfTheCa) {
  auto files = EnsurePki(dir_, {"localhost"});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->kubelet_client_cert, dir_ + "/apiserver-kubelet-client.crt");
  EXPECT_EQ(Mode(files->kubelet_client_key), 0600u);
  EXPECT_TRUE(VerifiesFor(files->ca_cert, files->kubelet_client_cert, X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(VerifiesFor(files->ca_cert, files->kubelet_client_cert, X509_PURPOSE_SSL_SERVER));
  X509* leaf = ReadCert(files->kubelet_client_cert);
  ASSERT_NE(leaf, nullptr);
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "kube-apiserver-kubelet-client");
  X509_free(leaf);

  // Kept on the next call; replaced when missing or signed by another CA; a new CA renews it.
  std::string client = Slurp(files->kubelet_client_cert);
  ASSERT_TRUE(EnsurePki(dir_, {"localhost"}).ok());
  EXPECT_EQ(Slurp(files->kubelet_client_cert), client);
  std::filesystem::remove(files->kubelet_client_key);
  ASSERT_TRUE(EnsurePki(dir_, {"localhost"}).ok());
  EXPECT_NE(Slurp(files->kubelet_client_cert), client);
  EXPECT_TRUE(VerifiesFor(files->ca_cert, files->kubelet_client_cert, X509_PURPOSE_SSL_CLIENT));
  std::string other = root_ + "/other";
  auto other_files = EnsurePki(other, {"localhost"});
  ASSERT_TRUE(other_files.ok());
  std::filesystem::copy_file(other_files->kubelet_client_cert, files->kubelet_client_cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(other_files->kubelet_client_key, files->kubelet_client_key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(EnsurePki(dir_, {"localhost"}).ok());
  EXPECT_TRUE(VerifiesFor(files->ca_cert, files->kubelet_client_cert, X509_PURPOSE_SSL_CLIENT));
}

TEST_F(PkiTest, SelfSignedCertificateIsMadeOnceAndCoversItsHosts) {
  auto files = EnsureSelfSignedCert(dir_, "agent", {"127.0.0.1", "node-a"});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->cert, dir_ + "/agent.crt");
  EXPECT_EQ(Mode(files->key), 0600u);
  // Self-signed: it verifies against itself as a server certificate.
  EXPECT_TRUE(VerifiesFor(files->cert, files->cert, X509_PURPOSE_SSL_SERVER));
  std::string first = Slurp(files->cert);
  ASSERT_TRUE(EnsureSelfSignedCert(dir_, "agent", {"127.0.0.1"}).ok());
  EXPECT_EQ(Slurp(files->cert), first);
  ASSERT_TRUE(EnsureSelfSignedCert(dir_, "agent", {"127.0.0.1", "10.1.2.3"}).ok());
  EXPECT_NE(Slurp(files->cert), first);
  X509* leaf = ReadCert(files->cert);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(X509_check_ip_asc(leaf, "10.1.2.3", 0), 1);
  X509_free(leaf);
  EXPECT_FALSE(EnsureSelfSignedCert(dir_, "agent", {"bad host"}).ok());
}

}  // namespace
}  // namespace knet::apiserver::auth
