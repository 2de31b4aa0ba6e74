// File: agent/pod/container_env.h
//
// What a container process gets from its pod spec, as the kubelet computes it: the environment
// (PATH and HOSTNAME, Docker-style service links, then the container's env with valueFrom
// fieldRef and $(VAR) references resolved) and the argv (command + args, $(VAR) expanded). knet
// runs commands from the node's filesystem, so a container must have a command: without an image
// there is no entrypoint to fall back on.
//
//   ASSIGN_OR_RETURN(auto env, BuildEnv(pod, container, {.pod_ips = ips, .host_ip = "10.0.0.2"},
//                                       services));
//   ASSIGN_OR_RETURN(auto argv, BuildArgv(pod, container, env));
#pragma once

#include <string>
#include <vector>

#include "api/pod.h"
#include "api/service.h"
#include "base/status.h"

namespace knet::agent::pod {

inline constexpr const char* kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Runtime facts that fieldRef can name.
struct PodRuntimeInfo {
  std::vector<std::string> pod_ips;
  std::vector<std::string> host_ips;
};

// The docker-links-style variables of one Service (FOO_SERVICE_HOST, FOO_PORT_80_TCP_ADDR, ...);
// empty for headless services or ones without a cluster IP.
std::vector<std::string> ServiceEnv(const api::Service& svc);

// "K=V" entries, each name once (later definitions win, as in the kubelet). `services` are the
// Services of the pod's namespace (plus default/kubernetes); with enableServiceLinks false only
// default/kubernetes contributes. InvalidArgument naming the variable for an unsupported
// valueFrom (only fieldRef is supported) or an unknown fieldPath.
base::StatusOr<std::vector<std::string>> BuildEnv(const api::Pod& pod, const api::Container& c,
                                                  const PodRuntimeInfo& info,
                                                  const std::vector<api::Service>& services);

// command + args with $(VAR) references expanded from `env`. InvalidArgument if the container
// has no command.
base::StatusOr<std::vector<std::string>> BuildArgv(const api::Pod& pod, const api::Container& c,
                                                   const std::vector<std::string>& env);

// Kubernetes' $(VAR) expansion: $(NAME) becomes the value when NAME is in `env`, "$$" is a
// literal '$', and anything else is kept as written.
std::string ExpandVars(const std::string& in, const std::vector<std::string>& env);

}  // namespace knet::agent::pod
