// File: apiserver/auth/kubeconfig.h
//
// Writing the kubeconfig that `knet server` / `knet cluster up` hand to kubectl, and reading a
// kubeconfig back for knet's own clients.
//
//   RETURN_IF_ERROR(auth::WriteKubeconfig(home + "/.kube/config",
//                                         {.server = "https://127.0.0.1:6443",
//                                          .ca_pem = ca_pem, .token = admin_token}));
//   ASSIGN_OR_RETURN(auth::Kubeconfig kc, auth::LoadKubeconfig(path));
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::apiserver::auth {

struct KubeconfigSpec {
  std::string cluster_name = "knet";
  std::string server;  // "https://127.0.0.1:6443"
  std::string ca_pem;  // the CA certificate, PEM
  std::string user = "admin";
  std::string token;
  std::string context = "knet";
};

// Writes a kubeconfig with one cluster, user and context (the current one), the CA embedded as
// certificate-authority-data. Mode 0600, atomic (temp + rename); the parent directory is created
// (0700) if missing. InvalidArgument if server is empty.
base::Status WriteKubeconfig(const std::string& path, const KubeconfigSpec& spec);

// What a client needs from a kubeconfig context.
struct Kubeconfig {
  std::string context, cluster, user;  // names
  std::string server;
  std::string ca_pem;  // empty if the cluster names no CA (use the system roots)
  std::string token;   // empty if the user has none
  bool insecure_skip_tls_verify = false;
};

// Reads the context `context` (the file's current-context if empty) of the kubeconfig at `path`.
// The CA comes from certificate-authority-data (base64) or the certificate-authority file; the
// token from token or tokenFile; relative file names are relative to the kubeconfig's directory.
// Errors name the file and what is missing or malformed: NotFound for a missing file, context,
// cluster or user entry; InvalidArgument for bad YAML, bad base64 or a cluster without server.
base::StatusOr<Kubeconfig> LoadKubeconfig(const std::string& path, std::string_view context = "");

}  // namespace knet::apiserver::auth
