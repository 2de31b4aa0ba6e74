#include "cmd/controller_flags.h"

#include <chrono>
#include <string>
#include <tuple>

#include "base/duration.h"

namespace knet::cmd {

void ControllerFlags::Register(CLI::App* cmd, bool with_cluster_cidr) {
  cmd->add_option("--controllers", controllers,
                  "Controllers to run: * (all), NAME to enable, -NAME to disable, comma-separated "
                  "(deployment, endpoints, endpointslice, nodeipam, nodelifecycle, replicaset, "
                  "scheduler)")
      ->capture_default_str();
  if (with_cluster_cidr) {
    cmd->add_option("--cluster-cidr", cluster_cidr,
                    "Pod address range the node podCIDRs come from; \"v4,v6\" for dual-stack")
        ->capture_default_str();
  }
  cmd->add_option("--max-endpoints-per-slice", opts.endpointslice.max_endpoints_per_slice,
                  "Most endpoints in one EndpointSlice")
      ->capture_default_str();
  cmd->add_option("--endpoint-updates-batch-period", endpoint_updates_batch_period,
                  "Batch pod-triggered endpoint updates over this period (0s: send at once)")
      ->capture_default_str();
  for (auto [flag, workers, what] :
       {std::tuple{"--concurrent-deployment-syncs", &opts.deployment.workers, "Deployments"},
        std::tuple{"--concurrent-replicaset-syncs", &opts.replicaset.workers, "ReplicaSets"},
        std::tuple{"--concurrent-service-endpoint-syncs", &opts.endpointslice.workers,
                   "Services' EndpointSlices"},
        std::tuple{"--concurrent-endpoint-syncs", &opts.endpoints.workers,
                   "Services' Endpoints"}}) {
    cmd->add_option(flag, *workers, std::string(what) + " synced at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
  }
  cmd->add_option("--node-cidr-mask-size", node_cidr_mask_size,
                  "Prefix length of each node's IPv4 podCIDR (default 24)");
  cmd->add_option("--node-cidr-mask-size-ipv4", opts.nodeipam.node_cidr_mask_size_ipv4,
                  "Prefix length of each node's IPv4 podCIDR")
      ->capture_default_str();
  cmd->add_option("--node-cidr-mask-size-ipv6", opts.nodeipam.node_cidr_mask_size_ipv6,
                  "Prefix length of each node's IPv6 podCIDR")
      ->capture_default_str();
  cmd->add_option("--node-monitor-grace-period", node_monitor_grace_period,
                  "A node whose Lease is not renewed for this long becomes NotReady")
      ->capture_default_str();
  cmd->add_option("--node-monitor-period", node_monitor_period, "How often node health is checked")
      ->capture_default_str();
}

base::Status ControllerFlags::Resolve(const std::string& cluster_cidr_value) {
  RETURN_IF_ERROR(opts.SetControllers(controllers));
  auto duration = [](const char* flag,
                     const std::string& text) -> base::StatusOr<std::chrono::milliseconds> {
    base::StatusOr<std::chrono::nanoseconds> d = base::ParseDuration(text);
    if (!d.ok()) return d.status().WithContext(flag);
    if (d->count() < 0) {
      return base::InvalidArgumentError(std::string(flag) + " \"" + text + "\": negative");
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  };
  ASSIGN_OR_RETURN(auto batch,
                   duration("--endpoint-updates-batch-period", endpoint_updates_batch_period));
  opts.endpointslice.batch_period = batch;
  opts.endpoints.batch_period = batch;
  ASSIGN_OR_RETURN(auto grace, duration("--node-monitor-grace-period", node_monitor_grace_period));
  ASSIGN_OR_RETURN(auto period, duration("--node-monitor-period", node_monitor_period));
  if (grace.count() <= 0) {
    return base::InvalidArgumentError("--node-monitor-grace-period \"" + node_monitor_grace_period +
                                      "\": must be positive");
  }
  if (period.count() <= 0) {
    return base::InvalidArgumentError("--node-monitor-period \"" + node_monitor_period +
                                      "\": must be positive");
  }
  opts.nodelifecycle.grace_period = grace;
  opts.nodelifecycle.monitor_period = period;
  opts.nodeipam.cluster_cidr = cluster_cidr_value;
  if (node_cidr_mask_size != 0) opts.nodeipam.node_cidr_mask_size_ipv4 = node_cidr_mask_size;
  if (opts.endpointslice.max_endpoints_per_slice < 1 ||
      opts.endpointslice.max_endpoints_per_slice > 1000) {
    return base::InvalidArgumentError("--max-endpoints-per-slice " +
                                      std::to_string(opts.endpointslice.max_endpoints_per_slice) +
                                      ": must be between 1 and 1000");
  }
  return base::OkStatus();
}

}  // namespace knet::cmd
