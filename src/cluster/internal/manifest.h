// File: cluster/internal/manifest.h
//
// The manifest: everything `knet cluster up` made for one cluster, recorded in
// <state-dir>/manifest.json BEFORE it is made (a name is written, then the object created), so
// `knet cluster down` — and a failed `up` — remove exactly that, even after a crash. Saved
// atomically (write to a temp file, fsync, rename).
//
//   ASSIGN_OR_RETURN(Manifest m, LoadManifest(dir));
//   m.nodes.push_back({...});
//   RETURN_IF_ERROR(SaveManifest(m));
//
// Thread-compatible value types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace knet::cluster::internal {

// A process started detached. start_time is field 22 of /proc/<pid>/stat (clock ticks since boot),
// so a recycled pid is never mistaken for it.
struct ProcessRecord {
  std::string role;  // "server", "etcd", "agent"
  std::string name;  // "server", "etcd-0", "node-1"
  int pid = 0;
  uint64_t start_time = 0;
  std::string log;
};

struct NodeRecord {
  std::string name;       // the Node name
  std::string netns;      // under /run/netns
  std::string host_veth;  // host end on the bridge
  std::string ip;         // node address on the underlay
  std::string root_dir;   // the agent's --root-dir
};

struct Manifest {
  std::string name;
  std::string state_dir;
  std::string backend;  // the agents' --backend
  std::string store;    // "sqlite" or "etcd"
  std::string underlay_cidr;
  std::string gateway;  // the bridge's address (.1), where the API server listens
  std::string bridge;
  std::string pod_cidr;
  std::string service_cidr;
  std::string api_server;        // https://<gateway>:6443
  std::string kubeconfig;        // the copy handed to the user
  std::string admin_kubeconfig;  // the server's own
  std::vector<NodeRecord> nodes;
  std::vector<ProcessRecord> processes;
  std::vector<std::string> files;  // made outside the state dir (e.g. --kubeconfig-out)
  bool complete = false;           // set once `up` finished
};

std::string ManifestPath(const std::string& state_dir);
// NotFound if there is no manifest; DataLoss if it cannot be parsed.
base::StatusOr<Manifest> LoadManifest(const std::string& state_dir);
base::Status SaveManifest(const Manifest& m);

std::string EncodeManifest(const Manifest& m);
base::StatusOr<Manifest> DecodeManifest(const std::string& text);

}  // namespace knet::cluster::internal
