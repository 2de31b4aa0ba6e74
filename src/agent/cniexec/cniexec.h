// File: agent/cniexec/cniexec.h
//
// A CNI caller as a container runtime uses libcni: load the node's network configuration from the
// CNI conf dir, then ADD / DEL / CHECK / GC / STATUS a pod's attachment by exec'ing each plugin
// binary of the list with the CNI_* environment and its configuration on stdin.
//
//   ASSIGN_OR_RETURN(cniexec::NetworkConfigList net,
//   cniexec::LoadNetworkConfigList("/etc/cni/net.d")); cniexec::CniExec cni({.bin_dirs =
//   {"/opt/cni/bin"}, .cache_dir = root + "/cni"}); cniexec::RuntimeConf rt{.container_id =
//   sandbox_id, .netns_path = "/run/netns/knet-...",
//                           .args = cniexec::KubernetesArgs("default", "web-1", sandbox_id, uid)};
//   ASSIGN_OR_RETURN(cniexec::AddResult r, cni.AddNetworkList(net, rt));   // r.ips: pod IPs
//   ...
//   RETURN_IF_ERROR(cni.DelNetworkList(net, rt));
//
// Semantics follow libcni (containernetworking/cni) and containerd:
//   - Config: the lexically first *.conflist, *.conf or *.json in the dir (a single-plugin *.conf /
//     *.json is wrapped as a list of one). Each plugin gets the list's "name" and "cniVersion"
//     injected, "prevResult" chained from the previous plugin (ADD) or from the cached result (DEL,
//     CHECK), and "runtimeConfig" holding the capability args it asks for in "capabilities".
//   - Environment: the agent's own environment (minus CNI_*) plus CNI_COMMAND, CNI_CONTAINERID,
//     CNI_NETNS, CNI_IFNAME, CNI_ARGS, CNI_PATH (the bin dirs, ':'-joined).
//   - ADD: plugins in order; the final result is cached as libcni's cniCacheV1 document in
//     <cache_dir>/results/<network>-<containerID>-<ifname>. If a plugin fails, DEL runs for the
//     whole list (as containerd does) so nothing is left behind, and the error is returned:
//     "CNI plugin knet-cni ADD failed (code 11): <msg>: <details>".
//   - DEL: plugins in reverse order with the cached result as prevResult (none is fine); the cache
//     entry is removed after success. CHECK (cniVersion >= 0.4.0) needs the cached result.
//     GC and STATUS need cniVersion 1.1.0 (older lists: no-ops, as libcni); GC passes both
//     "cni.dev/valid-attachments" and "cni.dev/attachments" and drops stale cache entries.
//
// CniExec is thread-safe (it holds no mutable state besides files; concurrent calls for the same
// attachment must be serialised by the caller, as kubelet serialises a pod's sandbox operations).
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/ip.h"
#include "base/status.h"

namespace knet::agent::cniexec {

inline constexpr const char* kDefaultConfDir = "/etc/cni/net.d";

struct NetworkConfigList {
  std::string name;
  std::string cni_version;
  bool disable_check = false;
  bool disable_gc = false;
  std::vector<nlohmann::json> plugins;  // each an object with a string "type"
  std::string bytes;                    // the list as JSON (the file's bytes for a .conflist)
  std::string source;                   // the file it came from ("" when parsed from bytes)
};

// Parses a network configuration list; errors (InvalidArgument) name `source` and the field.
base::StatusOr<NetworkConfigList> ParseNetworkConfigList(std::string_view bytes,
                                                         std::string source = "");
// Parses a single-plugin network configuration (*.conf) and wraps it as a list.
base::StatusOr<NetworkConfigList> ParseNetworkConfig(std::string_view bytes,
                                                     std::string source = "");
// Loads the lexically first *.conflist / *.conf / *.json of `conf_dir`. NotFound if there is none.
base::StatusOr<NetworkConfigList> LoadNetworkConfigList(const std::string& conf_dir);

// One hostPort mapping ("portMappings" capability, as the portmap plugin reads it).
struct PortMapping {
  int32_t host_port = 0;
  int32_t container_port = 0;
  std::string protocol = "tcp";  // lower case: tcp, udp, sctp
  std::string host_ip;           // "" = any
};
nlohmann::json PortMappingsJson(const std::vector<PortMapping>& mappings);

struct RuntimeConf {
  std::string container_id;  // the sandbox ID
  std::string netns_path;    // "/run/netns/knet-..."; may be "" for DEL
  std::string if_name = "eth0";
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS, in order
  // Capability args by capability name, e.g. {"portMappings": PortMappingsJson(...)}; a plugin
  // gets runtimeConfig.<name> only if its "capabilities" has <name>: true.
  nlohmann::json capability_args = nlohmann::json::object();
};

// The CNI_ARGS a kubelet passes: IgnoreUnknown=1, K8S_POD_NAMESPACE, K8S_POD_NAME,
// K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID.
std::vector<std::pair<std::string, std::string>> KubernetesArgs(const std::string& pod_namespace,
                                                                const std::string& pod_name,
                                                                const std::string& sandbox_id,
                                                                const std::string& pod_uid);

struct AddResult {
  nlohmann::json result;             // the final plugin's result, as printed (list's version)
  std::vector<base::IPAddress> ips;  // addresses on the sandbox interface(s): IPv4 first, then IPv6
};

struct GcAttachment {
  std::string container_id;
  std::string if_name;
};

struct CniExecOptions {
  std::vector<std::string> bin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  std::string cache_dir = "/var/lib/cni";          // the agent passes <root>/cni
  std::chrono::milliseconds exec_timeout{60'000};  // per plugin call
};

class CniExec {
 public:
  explicit CniExec(CniExecOptions options);

  base::StatusOr<AddResult> AddNetworkList(const NetworkConfigList& net, const RuntimeConf& rt);
  base::Status DelNetworkList(const NetworkConfigList& net, const RuntimeConf& rt);
  base::Status CheckNetworkList(const NetworkConfigList& net, const RuntimeConf& rt);
  base::Status GcNetworkList(const NetworkConfigList& net, const std::vector<GcAttachment>& valid);
  base::Status GetStatusNetworkList(const NetworkConfigList& net);

  // The cached result of an attachment (NotFound if none), e.g. to recover pod IPs after an
  // agent restart.
  base::StatusOr<AddResult> GetCachedResult(const NetworkConfigList& net, const RuntimeConf& rt);

  // Where the result of an attachment is cached.
  std::string CachePath(const std::string& network, const std::string& container_id,
                        const std::string& if_name) const;

 private:
  struct Call;
  base::StatusOr<nlohmann::json> Exec(const Call& call);
  base::StatusOr<std::string> FindPlugin(const std::string& type) const;
  base::Status WriteCache(const NetworkConfigList& net, const RuntimeConf& rt,
                          const nlohmann::json& result);
  base::StatusOr<nlohmann::json> ReadCachedResult(const NetworkConfigList& net,
                                                  const RuntimeConf& rt);
  base::Status DelPlugins(const NetworkConfigList& net, const RuntimeConf& rt);

  const CniExecOptions opts_;
};

// The sandbox addresses of a result (any supported version): IPv4 first, then IPv6.
base::StatusOr<std::vector<base::IPAddress>> ResultIps(const nlohmann::json& result);

}  // namespace knet::agent::cniexec
