// File: apiserver/apiserver.h
//
// `knet server` as a library: the store, watch cache, allocators, registry, garbage collector,
// PKI, tokens and the HTTPS server, wired together and started in the right order.
//
//   ServerConfig cfg;
//   cfg.data_dir = "/var/lib/knet";
//   ASSIGN_OR_RETURN(std::unique_ptr<ApiServer> s, ApiServer::Start(cfg));
//   // kubectl --kubeconfig <s->kubeconfig_path()> get pods
//   s->Stop();
//
// A restart with the same data dir keeps the CA, the tokens and all state.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace knet::apiserver {

struct ServerConfig {
  std::string data_dir = "/var/lib/knet";
  std::string listen = "0.0.0.0:6443";        // host:port; port 0 picks a free one (tests)
  std::string store_url;                      // default sqlite://<data_dir>/state.db
  std::string kubeconfig_out;                 // default <data_dir>/admin.kubeconfig
  std::string service_cidr = "10.96.0.0/12";  // "v4,v6" for dual-stack
  std::string cluster_cidr = "10.244.0.0/16";
  std::string node_port_range = "30000-32767";
  // The address clients and the `kubernetes` Service use; default: the listen host, or
  // 127.0.0.1 when listening on every address.
  std::string advertise_address;
  std::string knet_version;
  int handler_threads = 16;
  // Watch-cache events kept for watches that resume from a revision (older: 410 Gone).
  size_t watch_cache_window = 100000;
  int watch_bookmark_interval_seconds = 30;  // allowWatchBookmarks watches get one this often
  // The store keeps at least this much history (then a continue token or an old revision is 410).
  int compaction_interval_seconds = 300;
};

class ApiServer {
 public:
  // Starts everything; errors say which part failed (bad flag, store, certificates, bind).
  static base::StatusOr<std::unique_ptr<ApiServer>> Start(const ServerConfig& config);
  ~ApiServer();  // Stop()

  uint16_t port() const;
  const std::string& kubeconfig_path() const;
  const std::string& url() const;  // https://host:port
  const std::string& admin_token() const;
  // Stops serving and closes the store. Idempotent.
  void Stop();

  struct Parts;  // internal

 private:
  explicit ApiServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace knet::apiserver
