// File: agent/runtime/spec.h
//
// ContainerSpec: what the runtime needs to start one container (a command from the node's
// filesystem, run inside the pod's network namespace). Kept free of the API types so the lean
// knet-shim binary can read it; runtime.h is the interface to use. Thread-compatible value type.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace knet::agent::runtime {

struct ContainerSpec {
  std::string pod_uid, pod_namespace, pod_name, container_name;
  int attempt = 0;                // = restartCount
  std::vector<std::string> argv;  // command + args, already expanded; argv[0] looked up in PATH
  std::vector<std::string> env;   // "K=V", exactly (PATH from here is used for the lookup)
  std::string working_dir;        // "" = "/"
  std::string netns_path;         // the pod's network namespace ("" = the host's)
  std::string hostname;           // the pod's hostname ("" = keep the node's)
  // {host file, path inside}: bind mounts in the container's own mount namespace. The target
  // must already exist (the container's root is the node's root: nothing is created on the host).
  std::vector<std::pair<std::string, std::string>> file_mounts;
  std::string log_path;  // absolute; created with parent dirs; CRI log format, appended to

  friend bool operator==(const ContainerSpec&, const ContainerSpec&) = default;
};

}  // namespace knet::agent::runtime
