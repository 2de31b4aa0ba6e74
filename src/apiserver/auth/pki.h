// File: apiserver/auth/pki.h
//
// The API server's small PKI: a self-signed CA, a serving certificate and the client certificate
// the API server shows to node agents, all signed by the CA, kept as
// PEM files in a data directory. `knet server` calls EnsurePki at start-up; the CA certificate
// goes into the kubeconfig it writes, the serving pair into http::ServerOptions.
//
//   ASSIGN_OR_RETURN(auth::PkiFiles pki, auth::EnsurePki("/var/lib/knet/pki",
//                                                        {"localhost", "127.0.0.1", "10.96.0.1"}));
//   options.cert_file = pki.server_cert;
//   options.key_file = pki.server_key;
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace knet::apiserver::auth {

// The CN of the API server's client certificate towards agents, as kubeadm names it.
inline constexpr char kKubeletClientCommonName[] = "kube-apiserver-kubelet-client";

// Paths of the PEM files inside the PKI directory.
struct PkiFiles {
  std::string ca_cert;              // <dir>/ca.crt
  std::string ca_key;               // <dir>/ca.key      (mode 0600)
  std::string server_cert;          // <dir>/server.crt
  std::string server_key;           // <dir>/server.key  (mode 0600)
  std::string kubelet_client_cert;  // <dir>/apiserver-kubelet-client.crt
  std::string kubelet_client_key;   // <dir>/apiserver-kubelet-client.key  (mode 0600)
};

// Makes sure `dir` holds a CA and a serving certificate for `hosts`, and returns their paths.
//
// - The CA (ca.crt/ca.key: ECDSA P-256, CN "knet-ca", valid 10 years) is created once and then
//   reused. If either file is missing both are recreated (and with them the serving pair).
// - The serving pair (server.crt/server.key: ECDSA P-256, CN "knet-apiserver", valid 1 year,
//   extended key usage serverAuth) carries one subjectAltName per entry of `hosts`: an IP address
//   (IPv4 or IPv6, optionally in [brackets]) or a DNS name. It is regenerated when it lacks one
//   of `hosts`, expires within 30 days, was not signed by the CA, or does not match its key.
// - The kubelet client pair (apiserver-kubelet-client.crt/.key: ECDSA P-256, CN
//   "kube-apiserver-kubelet-client", valid 1 year, extended key usage clientAuth, signed by the
//   CA) is what the API server presents to agents for pods/log and pods/exec. Regenerated under
//   the same rules as the serving pair (except hosts).
// - An empty `hosts` means {"localhost", "127.0.0.1", "::1"}.
// - Files are written atomically (temp file + rename); keys are mode 0600. `dir` is created
//   (0700) if missing.
//
// Errors: InvalidArgument for a host that is neither an IP address nor a DNS name; an I/O or
// OpenSSL error with the file it concerns otherwise. Not safe to call concurrently on one dir.
base::StatusOr<PkiFiles> EnsurePki(const std::string& dir, const std::vector<std::string>& hosts);

struct SelfSignedFiles {
  std::string cert;  // <dir>/<name>.crt
  std::string key;   // <dir>/<name>.key  (mode 0600)
};

// A self-signed serving pair (CN `name`, serverAuth, subjectAltNames `hosts`, valid 1 year), as
// kubelet makes for itself without --tls-cert-file. Kept while it matches its key, covers
// `hosts` and is valid for 30 more days; otherwise replaced.
base::StatusOr<SelfSignedFiles> EnsureSelfSignedCert(const std::string& dir,
                                                     const std::string& name,
                                                     const std::vector<std::string>& hosts);

}  // namespace knet::apiserver::auth
