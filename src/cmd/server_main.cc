// `knet server`: the Kubernetes-compatible API server and the controllers (scheduler,
// ReplicaSet, Deployment, EndpointSlice, Endpoints, node IPAM, node lifecycle), which reach the API
// over HTTPS through the admin kubeconfig like any other client.
#include <csignal>
#include <iostream>

#include "apiserver/apiserver.h"
#include "client/rest_client.h"
#include "cmd/controller_flags.h"
#include "cmd/roles.h"
#include "cmd/stop_signals.h"
#include "cmd/version.h"
#include "controllers/manager.h"

namespace knet::cmd {

namespace {

int RunServer(const apiserver::ServerConfig& config, ControllerFlags& flags) {
  if (base::Status s = flags.Resolve(config.cluster_cidr); !s.ok()) {
    std::cerr << "knet server: " << s.message() << "\n";
    return 2;
  }
  StopSignals stop;
  auto server = apiserver::ApiServer::Start(config);
  if (!server.ok()) {
    std::cerr << "knet server: " << server.status().message() << "\n";
    return 1;
  }
  std::cerr << "knet server: serving the Kubernetes API at " << (*server)->url() << "\n"
            << "knet server: kubeconfig written to " << (*server)->kubeconfig_path() << "\n"
            << "knet server: try: kubectl --kubeconfig " << (*server)->kubeconfig_path()
            << " get namespaces\n";
  std::unique_ptr<client::RestClient> client;
  std::unique_ptr<controllers::ControllerManager> manager;
  if (!flags.opts.enabled.empty()) {
    auto c = client::RestClient::FromKubeconfig((*server)->kubeconfig_path());
    base::StatusOr<std::unique_ptr<controllers::ControllerManager>> m =
        c.ok() ? controllers::ControllerManager::Start(c->get(), flags.opts)
               : base::StatusOr<std::unique_ptr<controllers::ControllerManager>>(c.status());
    if (!m.ok()) {
      std::cerr << "knet server: starting the controllers: " << m.status().message() << "\n";
      (*server)->Stop();
      return 1;
    }
    client = std::move(*c);
    manager = std::move(*m);
    std::string names;
    for (const std::string& n : manager->running()) names += (names.empty() ? "" : ", ") + n;
    std::cerr << "knet server: controllers running: " << names << "\n";
  }
  int sig = stop.Wait();
  std::cerr << "knet server: " << (sig == SIGINT ? "interrupted" : "terminated")
            << ", shutting down\n";
  if (manager) manager->Stop();
  (*server)->Stop();
  return 0;
}

}  // namespace

void RegisterServer(CLI::App& app) {
  auto* cmd = app.add_subcommand("server", "Run the Kubernetes API server (kubectl talks to it)");
  auto config = std::make_shared<apiserver::ServerConfig>();
  auto flags = std::make_shared<ControllerFlags>();
  cmd->add_option("--data-dir", config->data_dir,
                  "State, certificates, tokens and the kubeconfig live here")
      ->capture_default_str();
  cmd->add_option("--listen", config->listen, "HTTPS address, HOST:PORT")->capture_default_str();
  cmd->add_option("--store", config->store_url,
                  "Store URL: sqlite:///path.db, etcd://host:port[,host:port], memory:// "
                  "(default sqlite://DATA-DIR/state.db)");
  cmd->add_option("--kubeconfig-out", config->kubeconfig_out,
                  "Where to write the admin kubeconfig (default DATA-DIR/admin.kubeconfig)");
  cmd->add_option("--service-cidr", config->service_cidr,
                  "ClusterIP range; \"v4,v6\" for dual-stack")
      ->capture_default_str();
  cmd->add_option("--cluster-cidr", config->cluster_cidr,
                  "Pod address range the node podCIDRs come from; \"v4,v6\" for dual-stack")
      ->capture_default_str();
  cmd->add_option("--service-node-port-range", config->node_port_range, "NodePort range")
      ->capture_default_str();
  cmd->add_option("--advertise-address", config->advertise_address,
                  "The IP clients and the kubernetes Service use (default: the listen host, or "
                  "127.0.0.1)");
  // Hidden, for tests: a small window reaches 410 Gone on an old watch quickly; a short interval
  // makes bookmarks arrive within a test's timeout.
  cmd->add_option("--watch-cache-window", config->watch_cache_window,
                  "Watch-cache events kept for resuming watches")
      ->group("");
  cmd->add_option("--watch-bookmark-interval", config->watch_bookmark_interval_seconds,
                  "Seconds between BOOKMARK events on allowWatchBookmarks watches")
      ->group("")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--compaction-interval", config->compaction_interval_seconds,
                  "Seconds of store history kept (then continue tokens expire); 0: never compact")
      ->group("")
      ->check(CLI::NonNegativeNumber);
  flags->Register(cmd, /*with_cluster_cidr=*/false);
  cmd->callback([config, flags] {
    config->knet_version = kGitVersion;
    int rc = RunServer(*config, *flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace knet::cmd
