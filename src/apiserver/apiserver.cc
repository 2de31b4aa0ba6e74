#include "apiserver/apiserver.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apiserver/allocator.h"
#include "apiserver/auth/kubeconfig.h"
#include "apiserver/auth/pki.h"
#include "apiserver/auth/tokens.h"
#include "apiserver/bootstrap.h"
#include "apiserver/garbage_collector.h"
#include "apiserver/http/server.h"
#include "apiserver/pod_proxy.h"
#include "apiserver/registry.h"
#include "apiserver/rest.h"
#include "apiserver/watch_cache.h"
#include "store/store.h"

namespace knet::apiserver {

struct ApiServer::Parts {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<WatchCache> cache;
  std::optional<ServiceIpAllocator> ips;
  std::optional<PortAllocator> ports;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<GarbageCollector> gc;
  std::optional<auth::TokenAuthenticator> tokens;
  std::unique_ptr<PodProxy> pod_proxy;
  std::unique_ptr<RestHandler> rest;
  std::unique_ptr<http::Server> http;
  std::string kubeconfig;
  std::string url;
  std::string admin_token;
  bool stopped = false;
};

namespace {

struct HostPort {
  std::string host;
  int port = 0;
};

base::StatusOr<HostPort> SplitHostPort(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return base::InvalidArgumentError("--listen \"" + listen + "\": want HOST:PORT, e.g. :6443");
  }
  HostPort hp;
  hp.host = listen.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  try {
    size_t used = 0;
    hp.port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || hp.port < 0 || hp.port > 65535) throw 0;
  } catch (...) {
    return base::InvalidArgumentError("--listen \"" + listen + "\": the port must be 0-65535");
  }
  return hp;
}

base::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::ErrnoError(errno, "reading " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string UrlHost(const std::string& ip) {
  return ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
}

}  // namespace

ApiServer::ApiServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

ApiServer::~ApiServer() { Stop(); }

uint16_t ApiServer::port() const { return parts_->http->port(); }
const std::string& ApiServer::kubeconfig_path() const { return parts_->kubeconfig; }
const std::string& ApiServer::url() const { return parts_->url; }
const std::string& ApiServer::admin_token() const { return parts_->admin_token; }

void ApiServer::Stop() {
  if (!parts_ || parts_->stopped) return;
  parts_->stopped = true;
  // Outside in: no new requests, then no background writers, then the cache and the store.
  if (parts_->http) parts_->http->Stop();
  if (parts_->gc) parts_->gc->Stop();
  if (parts_->cache) parts_->cache->Stop();
  parts_->http.reset();
  parts_->rest.reset();
  parts_->gc.reset();
  parts_->registry.reset();
  parts_->cache.reset();
  parts_->store.reset();
}

base::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const ServerConfig& config) {
  auto parts = std::make_unique<Parts>();
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    return base::InternalError("creating data dir " + config.data_dir + ": " + ec.message());
  }
  ASSIGN_OR_RETURN(HostPort listen, SplitHostPort(config.listen));

  // Flags that name ranges.
  std::vector<base::Cidr> service_cidrs;
  {
    std::stringstream ss(config.service_cidr);
    std::string part;
    while (std::getline(ss, part, ',')) {
      auto c = base::Cidr::Parse(part);
      if (!c.ok()) {
        return base::InvalidArgumentError("--service-cidr \"" + config.service_cidr +
                                          "\": " + std::string(c.status().message()));
      }
      service_cidrs.push_back(*c);
    }
  }
  auto ips = ServiceIpAllocator::Create(service_cidrs);
  if (!ips.ok()) {
    return base::InvalidArgumentError("--service-cidr: " + std::string(ips.status().message()));
  }
  parts->ips.emplace(std::move(*ips));
  auto ports = PortAllocator::Parse(config.node_port_range);
  if (!ports.ok()) {
    return base::InvalidArgumentError("--service-node-port-range: " +
                                      std::string(ports.status().message()));
  }
  parts->ports.emplace(std::move(*ports));
  // One CIDR, or "v4,v6" for dual-stack (the node IPAM controller allocates from each).
  for (size_t pos = 0; !config.cluster_cidr.empty() && pos <= config.cluster_cidr.size();) {
    size_t comma = std::min(config.cluster_cidr.find(',', pos), config.cluster_cidr.size());
    std::string one = config.cluster_cidr.substr(pos, comma - pos);
    pos = comma + 1;
    if (auto c = base::Cidr::Parse(one); !c.ok()) {
      return base::InvalidArgumentError("--cluster-cidr \"" + config.cluster_cidr + "\": \"" + one +
                                        "\": " + std::string(c.status().message()));
    }
  }
  std::string advertise = config.advertise_address;
  if (advertise.empty()) {
    advertise = (listen.host.empty() || listen.host == "0.0.0.0" || listen.host == "::")
                    ? "127.0.0.1"
                    : listen.host;
  }
  auto advertise_ip = base::IPAddress::Parse(advertise);
  if (!advertise_ip.ok()) {
    return base::InvalidArgumentError("--advertise-address \"" + advertise +
                                      "\": must be an IP address");
  }

  // State.
  std::string url =
      config.store_url.empty() ? "sqlite://" + config.data_dir + "/state.db" : config.store_url;
  store::StoreOptions store_opts;
  store_opts.compaction_interval = std::chrono::seconds(config.compaction_interval_seconds);
  auto st = store::OpenStore(url, store_opts);
  if (!st.ok()) {
    return base::UnavailableError("opening store " + url + ": " +
                                  std::string(st.status().message()));
  }
  parts->store = std::move(*st);
  WatchCache::Options cache_opts;
  cache_opts.event_window = config.watch_cache_window;
  cache_opts.bookmark_interval = std::chrono::seconds(config.watch_bookmark_interval_seconds);
  parts->cache = std::make_unique<WatchCache>(parts->store.get(), cache_opts);
  RETURN_IF_ERROR(parts->cache->Start());
  parts->registry = std::make_unique<Registry>(parts->store.get(), parts->cache.get(), &*parts->ips,
                                               &*parts->ports);
  RETURN_IF_ERROR(parts->registry->RebuildAllocations());
  const base::Cidr& first_range = service_cidrs[0];
  ASSIGN_OR_RETURN(base::IPAddress kubernetes_ip, first_range.Nth(1));
  BootstrapConfig boot{kubernetes_ip, *advertise_ip, listen.port};

  // Identity: CA, serving certificate, tokens.
  char hostname[256] = {0};
  gethostname(hostname, sizeof hostname - 1);
  std::vector<std::string> hosts = {"localhost",
                                    "127.0.0.1",
                                    "::1",
                                    "kubernetes",
                                    "kubernetes.default",
                                    "kubernetes.default.svc",
                                    "kubernetes.default.svc.cluster.local",
                                    kubernetes_ip.ToString(),
                                    advertise_ip->ToString()};
  if (hostname[0] != '\0') hosts.push_back(hostname);
  if (!listen.host.empty() && listen.host != "0.0.0.0" && listen.host != "::") {
    hosts.push_back(listen.host);
  }
  ASSIGN_OR_RETURN(auth::PkiFiles pki, auth::EnsurePki(config.data_dir + "/pki", hosts));
  ASSIGN_OR_RETURN(auth::TokenAuthenticator tokens,
                   auth::TokenAuthenticator::Load(config.data_dir + "/tokens.csv"));
  ASSIGN_OR_RETURN(parts->admin_token, tokens.EnsureToken("admin", {"system:masters"}));
  RETURN_IF_ERROR(tokens.EnsureToken("viewer", {"knet:read-only"}).status());
  parts->tokens.emplace(std::move(tokens));

  // Serving.
  RestOptions rest_opts;
  rest_opts.knet_version = config.knet_version;
  parts->rest = std::make_unique<RestHandler>(parts->registry.get(), parts->cache.get(),
                                              parts->store.get(), &*parts->tokens, rest_opts);
  parts->pod_proxy = std::make_unique<PodProxy>(
      parts->registry.get(), PodProxyOptions{pki.kubelet_client_cert, pki.kubelet_client_key});
  parts->rest->SetPodProxy(parts->pod_proxy.get());
  http::ServerOptions http_opts;
  http_opts.listen = config.listen;
  if (listen.host.empty()) http_opts.listen = "0.0.0.0:" + std::to_string(listen.port);
  http_opts.cert_file = pki.server_cert;
  http_opts.key_file = pki.server_key;
  http_opts.handler_threads = config.handler_threads;
  RestHandler* rest = parts->rest.get();
  ASSIGN_OR_RETURN(parts->http, http::Server::Start(http_opts, [rest](const http::Request& req,
                                                                      http::Exchange& ex) {
                     rest->Handle(req, ex);
                   }));
  int port = parts->http->port();
  // Now that the port is known (it may have been 0), the kubernetes Service points at it.
  boot.port = port;
  RETURN_IF_ERROR(Bootstrap(*parts->registry, boot));
  parts->gc = std::make_unique<GarbageCollector>(parts->registry.get(), parts->cache.get());
  parts->gc->Start();

  parts->url = "https://" + UrlHost(advertise_ip->ToString()) + ":" + std::to_string(port);
  ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(pki.ca_cert));
  parts->kubeconfig =
      config.kubeconfig_out.empty() ? config.data_dir + "/admin.kubeconfig" : config.kubeconfig_out;
  auth::KubeconfigSpec kc;
  kc.server = parts->url;
  kc.ca_pem = ca_pem;
  kc.token = parts->admin_token;
  RETURN_IF_ERROR(auth::WriteKubeconfig(parts->kubeconfig, kc));
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(parts)));
}

}  // namespace knet::apiserver
