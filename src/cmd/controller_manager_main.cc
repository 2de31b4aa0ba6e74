// `knet controller-manager`: knet's controllers (and scheduler) as their own process, against
// any Kubernetes API server named by a kubeconfig: knet's own (started with --controllers=-*) or a
// real kube-apiserver. The same controllers `knet server` runs in-process.
#include <csignal>
#include <iostream>

#include "client/rest_client.h"
#include "cmd/controller_flags.h"
#include "cmd/roles.h"
#include "cmd/stop_signals.h"
#include "controllers/manager.h"

namespace knet::cmd {

namespace {

struct ManagerFlags {
  std::string kubeconfig;
  std::string context;
  ControllerFlags controllers;
};

int RunControllerManager(ManagerFlags& flags) {
  if (base::Status s = flags.controllers.Resolve(flags.controllers.cluster_cidr); !s.ok()) {
    std::cerr << "knet controller-manager: " << s.message() << "\n";
    return 2;
  }
  if (flags.controllers.opts.enabled.empty()) {
    std::cerr << "knet controller-manager: --controllers \"" << flags.controllers.controllers
              << "\" enables no controller\n";
    return 2;
  }
  StopSignals stop;
  auto client = client::RestClient::FromKubeconfig(flags.kubeconfig, flags.context);
  if (!client.ok()) {
    std::cerr << "knet controller-manager: --kubeconfig " << flags.kubeconfig << ": "
              << client.status().message() << "\n";
    return 2;
  }
  auto manager = controllers::ControllerManager::Start(client->get(), flags.controllers.opts);
  if (!manager.ok()) {
    std::cerr << "knet controller-manager: " << manager.status().message() << "\n";
    return 1;
  }
  std::string names;
  for (const std::string& n : (*manager)->running()) names += (names.empty() ? "" : ", ") + n;
  std::cerr << "knet controller-manager: controllers running against " << (*client)->config().server
            << ": " << names << "\n";
  int sig = stop.Wait();
  std::cerr << "knet controller-manager: " << (sig == SIGINT ? "interrupted" : "terminated")
            << ", shutting down\n";
  (*manager)->Stop();
  return 0;
}

}  // namespace

void RegisterControllerManager(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "controller-manager",
      "Run the controllers and scheduler against a Kubernetes API server (as `knet server` does "
      "in-process)");
  auto flags = std::make_shared<ManagerFlags>();
  cmd->add_option("--kubeconfig", flags->kubeconfig, "The API server and credentials to use")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--context", flags->context, "The kubeconfig context (default: current)");
  flags->controllers.Register(cmd, /*with_cluster_cidr=*/true);
  cmd->callback([flags] {
    int rc = RunControllerManager(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace knet::cmd
