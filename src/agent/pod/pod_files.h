// File: agent/pod/pod_files.h
//
// The files the agent writes for each pod, as the kubelet does: the managed /etc/hosts, the
// pod's resolv.conf (from dnsPolicy, dnsConfig and the agent's --cluster-dns/--cluster-domain)
// and the pod's hostname. Pure functions; the pod manager writes the results under
// <root>/pods/<uid>/ and the runtime bind-mounts them over /etc/hosts and /etc/resolv.conf in
// each container's own mount namespace.
//
//   std::string hosts = RenderHosts(pod, {"10.244.1.5"}, "cluster.local");
//   ASSIGN_OR_RETURN(std::string resolv, RenderResolvConf(pod, dns, host_resolv_conf_text));
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/pod.h"
#include "base/status.h"

namespace knet::agent::pod {

// The agent's DNS settings (kubelet's --cluster-dns and --cluster-domain).
struct ClusterDns {
  std::vector<std::string> servers;  // empty: ClusterFirst falls back to the host's file
  std::string domain = "cluster.local";
};

// The pod's hostname: spec.hostname, else the pod name, cut to 63 characters (trailing '-' and
// '.' removed, as the kubelet does).
std::string PodHostname(const api::Pod& pod);

// The pod's fully qualified name when spec.subdomain is set ("web-0.web.default.svc.<domain>"),
// else "".
std::string PodFqdn(const api::Pod& pod, std::string_view cluster_domain);

// The kubelet's managed hosts file: localhost entries, one line per pod IP with the FQDN (if
// any) and the hostname, then spec.hostAliases.
std::string RenderHosts(const api::Pod& pod, const std::vector<std::string>& pod_ips,
                        std::string_view cluster_domain);

// resolv.conf for the pod. `host_resolv_conf` is the node's /etc/resolv.conf text (used by
// dnsPolicy Default, and by ClusterFirst when no cluster DNS server is configured, as the kubelet
// falls back). ClusterFirst: nameservers = cluster DNS, search "<ns>.svc.<domain> svc.<domain>
// <domain>" + the host's searches, options ndots:5. None: dnsConfig only. dnsConfig is merged
// in every policy (nameservers appended, searches appended, options by name overriding).
// InvalidArgument for an unknown dnsPolicy or dnsPolicy None without dnsConfig.nameservers.
// The result keeps at most 3 nameservers and 32 search domains (glibc's limits; extras dropped).
base::StatusOr<std::string> RenderResolvConf(const api::Pod& pod, const ClusterDns& dns,
                                             std::string_view host_resolv_conf);

}  // namespace knet::agent::pod
