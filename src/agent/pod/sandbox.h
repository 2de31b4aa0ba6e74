// File: agent/pod/sandbox.h
//
// Sandboxes: each pod's network sandbox, as a container runtime makes it for the kubelet. A named
// network namespace (/run/netns/knet-<uid8>-<name>), CNI ADD through the node's conflist (exec of
// the plugins, as containerd does), then the pod's hosts, resolv.conf and hostname files under
// <root>/pods/<uid>/. The record (sandbox.json) is written before anything is made, so a crash
// half-way is finished or undone by the next Ensure/Teardown: nothing leaks across agent restarts.
//
//   ASSIGN_OR_RETURN(SandboxRecord sb, sandboxes.Ensure(pod, host_ips));   // idempotent
//   ... containers join sb.netns_path and bind-mount sb.hosts_path over /etc/hosts ...
//   RETURN_IF_ERROR(sandboxes.Teardown(uid));   // CNI DEL + netns removed; record kept
//   RETURN_IF_ERROR(sandboxes.Remove(uid));     // the pod dir is gone
//
// Thread-safe for different pods; the pod manager never works on one pod from two threads.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/cniexec/cniexec.h"
#include "agent/pod/pod_files.h"
#include "api/pod.h"
#include "base/status.h"

namespace knet::agent::pod {

struct SandboxRecord {
  std::string uid, pod_namespace, pod_name;
  std::string netns_name;  // under /run/netns
  std::string netns_path;
  std::vector<std::string> pod_ips;  // from the CNI result, IPv4 first
  bool network_ready = false;        // CNI ADD finished (false while being made or after Teardown)
  bool torn_down = false;            // Teardown finished: nothing of the network is left
  bool host_network = false;         // spec.hostNetwork: the node's namespace, no CNI
  std::string hosts_path, resolv_path;
  std::string hostname;
};

struct SandboxOptions {
  std::string root_dir;  // <agent root>; pods live in <root>/pods/<uid>
  cniexec::CniExec* cni = nullptr;
  std::string conf_dir = cniexec::kDefaultConfDir;  // the node's CNI conflist dir
  ClusterDns dns;
  std::string host_resolv_conf = "/etc/resolv.conf";
  std::vector<std::string> host_ips;  // the node's IPs: a hostNetwork pod's IPs
};

class Sandboxes {
 public:
  explicit Sandboxes(SandboxOptions opts) : opts_(std::move(opts)) {}

  // Makes (or finds) the pod's sandbox. A record left half-made by a crash is torn down and made
  // again. On failure everything made by this call is undone (CNI DEL, netns deleted) and the
  // error says which step failed.
  base::StatusOr<SandboxRecord> Ensure(const api::Pod& pod);
  // CNI DEL (with the cached result) and the network namespace removed. Idempotent; the record
  // stays with network_ready=false so the pod's files remain until Remove.
  base::Status Teardown(const std::string& uid);
  // Teardown, then the pod dir removed. Idempotent.
  base::Status Remove(const std::string& uid);
  std::optional<SandboxRecord> Get(const std::string& uid) const;
  // Every record on disk (adoption after a restart).
  std::vector<SandboxRecord> List() const;

  static std::string NetnsNameFor(const api::Pod& pod);

 private:
  std::string PodDir(const std::string& uid) const;
  base::Status Save(const SandboxRecord& r) const;
  base::StatusOr<SandboxRecord> Load(const std::string& uid) const;
  base::Status WriteFiles(const api::Pod& pod, SandboxRecord& r) const;

  SandboxOptions opts_;
};

}  // namespace knet::agent::pod
