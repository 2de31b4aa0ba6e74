#include "apiserver/auth/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/auth/internal/file_util.h"

namespace knet::apiserver::auth {
namespace {

using auth_internal::ReadFile;
using auth_internal::WriteFileAtomic;

struct BioFree {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

constexpr long kDay = 24L * 60 * 60;
constexpr int kCaDays = 3650;
constexpr int kServerDays = 365;
constexpr long kRenewBefore = 30 * kDay;

// "<what>: <OpenSSL error queue>", clearing the queue.
base::Status SslError(std::string_view what) {
  std::string msg(what);
  unsigned long e;
  bool first = true;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += first ? ": " : "; ";
    msg += buf;
    first = false;
  }
  if (first) msg += ": unknown OpenSSL error";
  return base::InternalError(std::move(msg));
}

std::string StripBrackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

bool IsIp(const std::string& host) {
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
  if (ip == nullptr) {
    ERR_clear_error();
    return false;
  }
  ASN1_OCTET_STRING_free(ip);
  return true;
}

bool IsDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '*' || c == '_';
    if (!ok) return false;
  }
  return true;
}

base::StatusOr<PkeyPtr> GenerateKey() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("generating an ECDSA P-256 key");
  return key;
}

base::StatusOr<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError("encoding a private key as PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

base::StatusOr<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return SslError("encoding a certificate as PEM");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

base::StatusOr<PkeyPtr> LoadKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return SslError("parsing the private key in " + path);
  return key;
}

base::StatusOr<X509Ptr> LoadCert(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return SslError("parsing the certificate in " + path);
  return cert;
}

base::Status AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return SslError(std::string("building extension ") + value);
  int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (rc != 1) return SslError(std::string("adding extension ") + value);
  return base::OkStatus();
}

base::Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& hosts) {
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(GENERAL_NAMES_new());
  for (const std::string& raw : hosts) {
    std::string host = StripBrackets(raw);
    GENERAL_NAME* gen = GENERAL_NAME_new();
    if (gen == nullptr) return SslError("allocating a subjectAltName");
    if (ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str()); ip != nullptr) {
      GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
    } else {
      ERR_clear_error();
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(gen);
        return SslError("encoding DNS name " + host);
      }
      GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
    }
    sk_GENERAL_NAME_push(names.get(), gen);
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, 0) != 1) {
    return SslError("adding the subjectAltName extension");
  }
  return base::OkStatus();
}

// A new certificate for `key`, signed by `issuer_key` (self-signed when issuer is null).
// `hosts` become subjectAltNames (serving certificates only).
// `ext_key_usage` ("serverAuth", "clientAuth") marks a leaf; without it the certificate is a CA.
base::StatusOr<X509Ptr> MakeCert(EVP_PKEY* key, const std::string& common_name, int days,
                                 X509* issuer, EVP_PKEY* issuer_key,
                                 const std::vector<std::string>& hosts,
                                 const char* ext_key_usage = "serverAuth") {
  X509Ptr cert(X509_new());
  if (!cert) return SslError("allocating a certificate");
  X509_set_version(cert.get(), 2);  // v3
  std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
  // 127 random bits: positive and at most 16 bytes, as RFC 5280 and Go's x509 want.
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return SslError("choosing a serial number");
  }
  // Backdate by an hour so small clock differences between machines do not matter.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr) {
    return SslError("setting the validity period");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return SslError("setting the subject CN=" + common_name);
  }
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return SslError("setting the issuer and public key");
  }
  if (issuer == nullptr && ext_key_usage == nullptr) {
    RETURN_IF_ERROR(AddExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
    RETURN_IF_ERROR(AddExt(cert.get(), cert.get(), NID_key_usage,
                           "critical,digitalSignature,keyCertSign,cRLSign"));
    RETURN_IF_ERROR(AddExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  } else {
    X509* ext_issuer = issuer != nullptr ? issuer : cert.get();
    RETURN_IF_ERROR(AddExt(cert.get(), ext_issuer, NID_basic_constraints, "critical,CA:FALSE"));
    RETURN_IF_ERROR(AddExt(cert.get(), ext_issuer, NID_key_usage, "critical,digitalSignature"));
    RETURN_IF_ERROR(AddExt(cert.get(), ext_issuer, NID_ext_key_usage, ext_key_usage));
    if (issuer != nullptr) {
      RETURN_IF_ERROR(AddExt(cert.get(), issuer, NID_authority_key_identifier, "keyid:always"));
    }
    if (!hosts.empty()) RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), hosts));
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return SslError("signing the certificate for CN=" + common_name);
  }
  return cert;
}

base::Status WritePair(EVP_PKEY* key, X509* cert, const std::string& key_path,
                       const std::string& cert_path) {
  ASSIGN_OR_RETURN(std::string key_pem, KeyToPem(key));
  ASSIGN_OR_RETURN(std::string cert_pem, CertToPem(cert));
  // Key first: a crash in between leaves a key that matches no certificate, which the next
  // EnsurePki notices and repairs.
  RETURN_IF_ERROR(WriteFileAtomic(key_path, key_pem, 0600));
  return WriteFileAtomic(cert_path, cert_pem, 0644);
}

bool CoversHost(X509* cert, const std::string& raw) {
  std::string host = StripBrackets(raw);
  int rc = IsIp(host) ? X509_check_ip_asc(cert, host.c_str(), 0)
                      : X509_check_host(cert, host.data(), host.size(), 0, nullptr);
  ERR_clear_error();
  return rc == 1;
}

// Whether an existing pair signed by `ca_key` can be kept.
bool PairUsable(X509* cert, EVP_PKEY* key, EVP_PKEY* ca_key,
                const std::vector<std::string>& hosts) {
  bool ok = X509_check_private_key(cert, key) == 1 && X509_verify(cert, ca_key) == 1;
  if (ok) {
    time_t renew_at = std::time(nullptr) + kRenewBefore;
    ok = X509_cmp_time(X509_get0_notAfter(cert), &renew_at) > 0;
  }
  for (size_t i = 0; ok && i < hosts.size(); ++i) ok = CoversHost(cert, hosts[i]);
  ERR_clear_error();
  return ok;
}

}  // namespace

base::StatusOr<PkiFiles> EnsurePki(const std::string& dir,
                                   const std::vector<std::string>& hosts_in) {
  std::vector<std::string> hosts = hosts_in;
  if (hosts.empty()) hosts = {"localhost", "127.0.0.1", "::1"};
  for (const std::string& h : hosts) {
    std::string host = StripBrackets(h);
    if (!IsIp(host) && !IsDnsName(host)) {
      return base::InvalidArgumentError("serving certificate host \"" + h +
                                        "\" is neither an IP address nor a DNS name");
    }
  }
  RETURN_IF_ERROR(auth_internal::MakeDirs(dir, 0700));
  PkiFiles files{dir + "/ca.crt",
                 dir + "/ca.key",
                 dir + "/server.crt",
                 dir + "/server.key",
                 dir + "/apiserver-kubelet-client.crt",
                 dir + "/apiserver-kubelet-client.key"};

  // The CA: reuse when both files load, otherwise (first start, or a partial write) recreate.
  PkeyPtr ca_key;
  X509Ptr ca_cert;
  {
    auto key = LoadKey(files.ca_key);
    auto cert = LoadCert(files.ca_cert);
    if (key.ok() && cert.ok()) {
      ca_key = std::move(*key);
      ca_cert = std::move(*cert);
      if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
        ERR_clear_error();
        return base::FailedPreconditionError("CA certificate " + files.ca_cert +
                                             " does not match the key " + files.ca_key +
                                             "; remove both to create a new CA");
      }
    } else {
      // Both missing (first start) or one missing (a crash between the two writes): recreate.
      // Anything else (unreadable, corrupt) is reported rather than silently replaced.
      for (const base::Status& st : {key.status(), cert.status()}) {
        if (!st.ok() && st.code() != base::StatusCode::kNotFound) return st;
      }
    }
  }
  bool new_ca = false;
  if (!ca_key) {
    ASSIGN_OR_RETURN(ca_key, GenerateKey());
    ASSIGN_OR_RETURN(ca_cert,
                     MakeCert(ca_key.get(), "knet-ca", kCaDays, nullptr, nullptr, {}, nullptr));
    RETURN_IF_ERROR(WritePair(ca_key.get(), ca_cert.get(), files.ca_key, files.ca_cert)
                        .WithContext("writing the CA"));
    new_ca = true;
  }

  bool serving_ok = false;
  if (!new_ca) {
    auto key = LoadKey(files.server_key);
    auto cert = LoadCert(files.server_cert);
    serving_ok = key.ok() && cert.ok() && PairUsable(cert->get(), key->get(), ca_key.get(), hosts);
    ERR_clear_error();
  }
  if (!serving_ok) {
    ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
    ASSIGN_OR_RETURN(X509Ptr cert, MakeCert(key.get(), "knet-apiserver", kServerDays, ca_cert.get(),
                                            ca_key.get(), hosts));
    RETURN_IF_ERROR(WritePair(key.get(), cert.get(), files.server_key, files.server_cert)
                        .WithContext("writing the serving certificate"));
  }

  // The client certificate the API server shows to agents (pods/log, pods/exec).
  bool client_ok = false;
  if (!new_ca) {
    auto key = LoadKey(files.kubelet_client_key);
    auto cert = LoadCert(files.kubelet_client_cert);
    client_ok = key.ok() && cert.ok() && PairUsable(cert->get(), key->get(), ca_key.get(), {});
    ERR_clear_error();
  }
  if (!client_ok) {
    ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
    ASSIGN_OR_RETURN(X509Ptr cert, MakeCert(key.get(), kKubeletClientCommonName, kServerDays,
                                            ca_cert.get(), ca_key.get(), {}, "clientAuth"));
    RETURN_IF_ERROR(
        WritePair(key.get(), cert.get(), files.kubelet_client_key, files.kubelet_client_cert)
            .WithContext("writing the kubelet client certificate"));
  }
  return files;
}

base::StatusOr<SelfSignedFiles> EnsureSelfSignedCert(const std::string& dir,
                                                     const std::string& name,
                                                     const std::vector<std::string>& hosts) {
  for (const std::string& h : hosts) {
    std::string host = StripBrackets(h);
    if (!IsIp(host) && !IsDnsName(host)) {
      return base::InvalidArgumentError("serving certificate host \"" + h +
                                        "\" is neither an IP address nor a DNS name");
    }
  }
  RETURN_IF_ERROR(auth_internal::MakeDirs(dir, 0700));
  SelfSignedFiles files{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  {
    auto key = LoadKey(files.key);
    auto cert = LoadCert(files.cert);
    bool ok = key.ok() && cert.ok() && PairUsable(cert->get(), key->get(), key->get(), hosts);
    ERR_clear_error();
    if (ok) return files;
  }
  ASSIGN_OR_RETURN(PkeyPtr key, GenerateKey());
  ASSIGN_OR_RETURN(X509Ptr cert,
                   MakeCert(key.get(), name, kServerDays, nullptr, nullptr, hosts, "serverAuth"));
  RETURN_IF_ERROR(WritePair(key.get(), cert.get(), files.key, files.cert)
                      .WithContext("writing the self-signed certificate " + files.cert));
  return files;
}

}  // namespace knet::apiserver::auth
