// File: cmd/controller_flags.h
//
// The controller flags shared by `knet server` (controllers in-process) and
// `knet controller-manager` (the same controllers against any Kubernetes API), with
// kube-controller-manager's names and defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "base/status.h"
#include "controllers/manager.h"

namespace knet::cmd {

struct ControllerFlags {
  std::string controllers = "*";
  std::string cluster_cidr = "10.244.0.0/16";
  std::string endpoint_updates_batch_period = "0s";
  std::string node_monitor_grace_period = "40s";
  std::string node_monitor_period = "5s";
  int node_cidr_mask_size = 0;  // 0: not given
  controllers::ControllerManagerOptions opts;

  // Adds the flags to `cmd`. `with_cluster_cidr`: false where the command already has
  // --cluster-cidr (knet server) and passes it to Resolve.
  void Register(CLI::App* cmd, bool with_cluster_cidr);
  // Turns the flag strings into `opts`; errors name the flag.
  base::Status Resolve(const std::string& cluster_cidr_value);
};

}  // namespace knet::cmd
