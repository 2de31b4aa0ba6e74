// File: agent/node/host_info.h
//
// What the node agent reports about the machine it runs on: capacity (cpu, memory, pods,
// ephemeral-storage) and the NodeSystemInfo fields, read the way the kubelet reads them
// (std::thread::hardware_concurrency, /proc/meminfo MemTotal, statvfs of the root directory, uname,
// /etc/os-release PRETTY_NAME, /etc/machine-id, /proc/sys/kernel/random/boot_id).
//
//   ASSIGN_OR_RETURN(node::HostInfo host, node::CollectHostInfo({.version = "v0.1.0"}));
//   host.capacity["pods"];  // "110"
//
// Free functions and value types: thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "api/node.h"
#include "api/values.h"
#include "base/status.h"

namespace knet::agent::node {

struct HostInfoOptions {
  std::string version;         // knet's version: kubeletVersion, and "knet://<version>"
  int32_t max_pods = 110;      // kubelet's --max-pods default
  std::string root_dir = "/";  // statvfs'ed for ephemeral-storage (kubelet: its root dir)
  // Where the files are read from (tests point these at fixtures).
  std::string meminfo_path = "/proc/meminfo";
  std::string os_release_path = "/etc/os-release";
  std::string machine_id_path = "/etc/machine-id";
  std::string boot_id_path = "/proc/sys/kernel/random/boot_id";
};

struct HostInfo {
  std::map<std::string, api::Quantity> capacity;  // cpu, memory, pods, ephemeral-storage
  api::NodeSystemInfo node_info;
};

// Reads everything above. Errors name the file that could not be read or parsed; a missing
// os-release, machine-id or boot_id is not an error (the field stays empty, as kubelet leaves it).
base::StatusOr<HostInfo> CollectHostInfo(const HostInfoOptions& opts);

// "amd64", "arm64", ... (Go's GOARCH names) for this build.
std::string GoArch();

}  // namespace knet::agent::node
