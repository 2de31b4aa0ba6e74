// File: agent/agent.cc
#include "agent/agent.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "agent/cniexec/cniexec.h"
#include "agent/node/host_info.h"
#include "agent/node/node_agent.h"
#include "agent/pod/pod_manager.h"
#include "agent/pod/sandbox.h"
#include "agent/proxy/proxy_runner.h"
#include "agent/runtime/runtime.h"
#include "agent/server/server.h"
#include "client/rest_client.h"
#include "overlay/manager/manager.h"

namespace knet::agent {
namespace {

std::string SelfDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

// The local address the kernel would use to reach `server` ("https://host:port"): a UDP socket
// connect() picks the route and source address without sending anything.
base::StatusOr<std::string> AddressTowards(const std::string& server) {
  std::string rest =
      server.substr(server.find("://") == std::string::npos ? 0 : server.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  std::string host, port = "443";
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return base::InvalidArgumentError("resolving the API server host " + host + ": " +
                                      gai_strerror(rc));
  }
  std::string out;
  int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    char buf[INET6_ADDRSTRLEN] = {};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      if (local.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&local)->sin_addr, buf, sizeof(buf));
      } else {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr, buf, sizeof(buf));
      }
      out = buf;
    }
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(res);
  if (out.empty()) {
    return base::UnavailableError("finding the local address towards the API server " + host +
                                  ": no route; pass --node-ip");
  }
  return out;
}

}  // namespace

base::StatusOr<std::string> DefaultNodeIP(const std::string& kubeconfig,
                                          const std::string& context) {
  auto client = client::RestClient::FromKubeconfig(kubeconfig, context);
  if (!client.ok()) {
    return base::Status(client.status().code(),
                        "--kubeconfig " + kubeconfig + ": " + client.status().message());
  }
  return AddressTowards((*client)->config().server);
}

struct Agent::Parts {
  std::unique_ptr<client::RestClient> client;
  std::unique_ptr<runtime::Runtime> runtime;
  std::unique_ptr<cniexec::CniExec> cni;
  std::unique_ptr<pod::Sandboxes> sandboxes;
  std::unique_ptr<pod::PodManager> pods;
  std::unique_ptr<server::AgentServer> server;
  std::unique_ptr<node::NodeAgent> node;
  // The podCIDR callback runs on the node agent's thread, possibly before Start has stored `node`.
  std::atomic<node::NodeAgent*> node_ptr{nullptr};
  std::unique_ptr<overlay::Manager> overlay;
  std::string overlay_backend_name;
  std::thread overlay_starter;
  std::unique_ptr<proxy::ProxyRunner> proxy;

  // The CNI config is written once both the podCIDR(s) and the pod MTU are known.
  std::mutex cni_mu;
  node::CniConfigOptions cni_config;
  std::vector<std::string> pod_cidrs;
  bool mtu_known = false;
  void WriteCniConfig();

  ~Parts() {
    if (proxy) proxy->Stop();
    if (overlay) overlay->Stop();
    if (overlay_starter.joinable()) overlay_starter.join();
  }
};

void Agent::Parts::WriteCniConfig() {
  std::lock_guard<std::mutex> l(cni_mu);
  if (pod_cidrs.empty() || !mtu_known) return;
  node::NodeAgent* n = node_ptr.load();
  auto written = node::WriteCniConfig(cni_config, pod_cidrs);
  if (!written.ok()) {
    std::cerr << "knet agent: writing the CNI config: " << written.status().message() << "\n";
    if (n) {
      n->SetReady(false, "KubeletNotReady",
                  "container runtime network not ready: " + written.status().message());
    }
    return;
  }
  if (n) n->SetReady(true, "KubeletReady", "knet agent is posting ready status");
}

Agent::Agent(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Agent::~Agent() { Stop(); }

uint16_t Agent::port() const { return parts_->server ? parts_->server->port() : 0; }

void Agent::Stop() {
  if (!parts_) return;
  if (parts_->proxy) parts_->proxy->Stop();
  if (parts_->overlay) parts_->overlay->Stop();
  if (parts_->overlay_starter.joinable()) parts_->overlay_starter.join();
  if (parts_->node) parts_->node->Stop();
  if (parts_->server) parts_->server->Stop();
  if (parts_->pods) parts_->pods->Stop();
}

base::StatusOr<std::unique_ptr<Agent>> Agent::Start(AgentOptions o) {
  if (o.node_name.empty()) return base::InvalidArgumentError("--node is required");
  auto parts = std::make_unique<Parts>();
  auto client = client::RestClient::FromKubeconfig(o.kubeconfig, o.context);
  if (!client.ok()) {
    return base::Status(client.status().code(),
                        "--kubeconfig " + o.kubeconfig + ": " + client.status().message());
  }
  parts->client = std::move(*client);
  if (o.node_ips.empty()) {
    ASSIGN_OR_RETURN(std::string ip, AddressTowards(parts->client->config().server));
    o.node_ips.push_back(ip);
  }
  std::error_code ec;
  std::filesystem::create_directories(o.root_dir, ec);
  if (ec) return base::InternalError("creating --root-dir " + o.root_dir + ": " + ec.message());

  std::string self = SelfDir();
  auto rt =
      runtime::Runtime::Open({.root_dir = o.root_dir + "/containers", .shim_path = o.shim_path});
  if (!rt.ok()) {
    return base::Status(rt.status().code(), "container runtime: " + rt.status().message());
  }
  parts->runtime = std::move(*rt);

  cniexec::CniExecOptions cni_opts;
  cni_opts.bin_dirs = o.cni_bin_dirs;
  if (!self.empty()) cni_opts.bin_dirs.push_back(self);
  cni_opts.cache_dir = o.root_dir + "/cni";
  parts->cni = std::make_unique<cniexec::CniExec>(cni_opts);

  pod::SandboxOptions sb;
  sb.root_dir = o.root_dir;
  sb.cni = parts->cni.get();
  sb.conf_dir = o.cni.conf_dir;
  sb.dns = o.dns;
  sb.host_ips = o.node_ips;
  parts->sandboxes = std::make_unique<pod::Sandboxes>(sb);

  pod::PodManagerOptions pm;
  pm.node_name = o.node_name;
  pm.client = parts->client.get();
  pm.runtime = parts->runtime.get();
  pm.sandboxes = parts->sandboxes.get();
  pm.root_dir = o.root_dir;
  pm.host_ips = o.node_ips;
  pm.workers = o.pod_workers;
  parts->pods = std::make_unique<pod::PodManager>(pm);

  server::AgentServerOptions so;
  so.listen = (o.address.find(':') == std::string::npos ? o.address : "[" + o.address + "]") + ":" +
              std::to_string(o.port);
  so.cert_dir = o.root_dir + "/pki";
  so.hosts = o.node_ips;
  so.client_ca_pem = parts->client->config().ca_pem;
  auto srv = server::AgentServer::Start(so, parts->pods.get());
  if (!srv.ok()) {
    return base::Status(srv.status().code(), "agent server: " + srv.status().message());
  }
  parts->server = std::move(*srv);

  auto host = node::CollectHostInfo({.version = o.version, .root_dir = o.root_dir});
  if (!host.ok()) return host.status();
  Parts* p = parts.get();
  node::NodeAgentOptions no;
  no.node_name = o.node_name;
  no.client = parts->client.get();
  no.internal_ips = o.node_ips;
  no.agent_port = parts->server->port();
  no.host = *host;
  p->cni_config = o.cni;
  // Address reservations per agent, not host-local's shared /var/lib/cni/networks: several agents
  // on one machine (`knet cluster`) must not see, or garbage-collect, each other's.
  if (p->cni_config.ipam_data_dir.empty()) p->cni_config.ipam_data_dir = o.root_dir + "/ipam";
  p->mtu_known = o.backend == nullptr;  // else: the backend's pod MTU, once it is initialised
  no.on_pod_cidrs = [p](const std::vector<std::string>& cidrs) {
    {
      std::lock_guard<std::mutex> l(p->cni_mu);
      p->pod_cidrs = cidrs;
    }
    p->WriteCniConfig();
  };
  // Until the podCIDR arrives there is no network config: not Ready, as the kubelet reports it
  // (from the first status post on, so the scheduler never sees a Ready node without a network).
  if (!std::filesystem::exists(o.cni.conf_dir + "/" + node::kCniConfFileName) || o.backend) {
    no.initially_ready = false;
    no.initial_ready_reason = "KubeletNotReady";
    no.initial_ready_message =
        "container runtime network not ready: NetworkReady=false "
        "reason:NetworkPluginNotReady message:cni plugin not initialized";
  }
  auto na = node::NodeAgent::Start(std::move(no));
  if (!na.ok()) return base::Status(na.status().code(), "node: " + na.status().message());
  parts->node = std::move(*na);
  parts->node_ptr.store(parts->node.get());
  // The podCIDR may have arrived before node_ptr was set: write (and report Ready) now.
  p->WriteCniConfig();
  if (o.backend) {
    overlay::ManagerOptions mo;
    mo.client = p->client.get();
    mo.node_name = o.node_name;
    mo.backend = o.backend;
    mo.cluster_cidrs = o.cluster_cidrs;
    mo.masq = o.masq;
    p->overlay = std::make_unique<overlay::Manager>(mo);
    p->overlay_backend_name = o.backend->Name();
    // Start waits for this node's podCIDR (node IPAM assigns it after registration), so it runs
    // beside the pods; the CNI config follows with the backend's MTU.
    p->overlay_starter = std::thread([p, user_mtu = o.cni.mtu] {
      base::Status s = p->overlay->Start();
      if (!s.ok()) {
        if (s.code() != base::StatusCode::kCancelled) {
          std::cerr << "knet agent: pod network (" << p->overlay_backend_name
                    << "): " << s.message() << "\n";
          if (node::NodeAgent* n = p->node_ptr.load()) {
            n->SetReady(false, "KubeletNotReady",
                        "container runtime network not ready: " + s.message());
          }
        }
        return;
      }
      {
        std::lock_guard<std::mutex> l(p->cni_mu);
        if (user_mtu == 0) p->cni_config.mtu = p->overlay->PodMtu();
        p->mtu_known = true;
      }
      p->WriteCniConfig();
    });
  }
  if (o.proxy) {
    proxy::ProxyRunnerOptions po;
    po.client = p->client.get();
    po.node_name = o.node_name;
    po.backend = o.proxy;
    po.healthz_address = o.healthz_address;
    po.backend_metrics = o.proxy_metrics;
    po.conntrack = o.conntrack;
    po.sync_period = o.proxy_sync_period;
    po.min_sync_period = o.proxy_min_sync_period;
    p->proxy = std::make_unique<proxy::ProxyRunner>(po);
    base::Status s = p->proxy->Start();
    if (!s.ok()) return base::Status(s.code(), "service proxy: " + s.message());
  }
  RETURN_IF_ERROR(parts->pods->Start());
  return std::unique_ptr<Agent>(new Agent(std::move(parts)));
}

}  // namespace knet::agent
