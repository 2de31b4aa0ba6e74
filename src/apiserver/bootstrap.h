// File: apiserver/bootstrap.h
//
// What a fresh cluster has before anyone writes to it, as kube-apiserver creates it: the
// namespaces default, kube-system, kube-public and kube-node-lease, and the `kubernetes` Service
// in default (the first address of the service CIDR, port 443) with Endpoints and an
// EndpointSlice pointing at the API server itself. Idempotent: a restart keeps what exists and
// corrects the endpoints if the server's address changed.
#pragma once

#include "apiserver/registry.h"
#include "base/ip.h"

namespace knet::apiserver {

struct BootstrapConfig {
  base::IPAddress kubernetes_service_ip;  // the first address of the service CIDR
  base::IPAddress advertise_ip;           // where the API server is reached
  int port = 6443;
};

base::Status Bootstrap(Registry& registry, const BootstrapConfig& config);

}  // namespace knet::apiserver
