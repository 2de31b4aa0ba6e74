// File: agent/pod/pod_files.cc
#include "agent/pod/pod_files.h"

#include <map>
#include <sstream>

namespace knet::agent::pod {
namespace {

struct ResolvConf {
  std::vector<std::string> nameservers;
  std::vector<std::string> searches;
  std::vector<std::pair<std::string, std::string>> options;  // name, value ("" = none)
};

std::vector<std::string> Words(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

ResolvConf ParseResolvConf(std::string_view text) {
  ResolvConf rc;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find_first_of("#;"); hash != std::string::npos) line.resize(hash);
    std::vector<std::string> w = Words(line);
    if (w.empty()) continue;
    if (w[0] == "nameserver" && w.size() > 1) {
      rc.nameservers.push_back(w[1]);
    } else if ((w[0] == "search" || w[0] == "domain") && w.size() > 1) {
      rc.searches.assign(w.begin() + 1, w.end());  // the last search/domain line wins, as in glibc
    } else if (w[0] == "options") {
      for (size_t i = 1; i < w.size(); ++i) {
        auto colon = w[i].find(':');
        if (colon == std::string::npos) {
          rc.options.emplace_back(w[i], "");
        } else {
          rc.options.emplace_back(w[i].substr(0, colon), w[i].substr(colon + 1));
        }
      }
    }
  }
  return rc;
}

void SetOption(ResolvConf& rc, const std::string& name, const std::string& value) {
  for (auto& [n, v] : rc.options) {
    if (n == name) {
      v = value;
      return;
    }
  }
  rc.options.emplace_back(name, value);
}

void AppendUnique(std::vector<std::string>& to, const std::vector<std::string>& from) {
  for (const std::string& s : from) {
    bool seen = false;
    for (const std::string& t : to) seen = seen || t == s;
    if (!seen) to.push_back(s);
  }
}

std::string Format(const ResolvConf& rc) {
  std::string out;
  for (size_t i = 0; i < rc.nameservers.size() && i < 3; ++i) {
    out += "nameserver " + rc.nameservers[i] + "\n";
  }
  if (!rc.searches.empty()) {
    out += "search";
    for (size_t i = 0; i < rc.searches.size() && i < 32; ++i) out += " " + rc.searches[i];
    out += "\n";
  }
  if (!rc.options.empty()) {
    out += "options";
    for (const auto& [n, v] : rc.options) out += " " + (v.empty() ? n : n + ":" + v);
    out += "\n";
  }
  return out;
}

}  // namespace

std::string PodHostname(const api::Pod& pod) {
  std::string h = pod.spec.hostname.empty() ? pod.metadata.name : pod.spec.hostname;
  if (h.size() > 63) {
    h.resize(63);
    while (!h.empty() && (h.back() == '-' || h.back() == '.')) h.pop_back();
  }
  return h;
}

std::string PodFqdn(const api::Pod& pod, std::string_view cluster_domain) {
  if (pod.spec.subdomain.empty()) return "";
  return PodHostname(pod) + "." + pod.spec.subdomain + "." + pod.metadata.namespace_ + ".svc." +
         std::string(cluster_domain);
}

std::string RenderHosts(const api::Pod& pod, const std::vector<std::string>& pod_ips,
                        std::string_view cluster_domain) {
  std::string out =
      "# Kubernetes-managed hosts file.\n"
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n";
  std::string hostname = PodHostname(pod);
  std::string fqdn = PodFqdn(pod, cluster_domain);
  for (const std::string& ip : pod_ips) {
    out += ip + "\t" + (fqdn.empty() ? hostname : fqdn + "\t" + hostname) + "\n";
  }
  if (!pod.spec.host_aliases.empty()) {
    out += "\n# Entries added by HostAliases.\n";
    for (const api::HostAlias& a : pod.spec.host_aliases) {
      out += a.ip;
      for (const std::string& h : a.hostnames) out += "\t" + h;
      out += "\n";
    }
  }
  return out;
}

base::StatusOr<std::string> RenderResolvConf(const api::Pod& pod, const ClusterDns& dns,
                                             std::string_view host_resolv_conf) {
  std::string policy = pod.spec.dns_policy.empty() ? "ClusterFirst" : pod.spec.dns_policy;
  ResolvConf rc;
  if (policy == "ClusterFirst" || policy == "ClusterFirstWithHostNet") {
    if (dns.servers.empty()) {
      rc = ParseResolvConf(host_resolv_conf);  // the kubelet's fallback without --cluster-dns
    } else {
      ResolvConf host = ParseResolvConf(host_resolv_conf);
      rc.nameservers = dns.servers;
      rc.searches = {pod.metadata.namespace_ + ".svc." + dns.domain, "svc." + dns.domain,
                     dns.domain};
      AppendUnique(rc.searches, host.searches);
      rc.options = {{"ndots", "5"}};
    }
  } else if (policy == "Default") {
    rc = ParseResolvConf(host_resolv_conf);
  } else if (policy == "None") {
    if (!pod.spec.dns_config || pod.spec.dns_config->nameservers.empty()) {
      return base::InvalidArgumentError("pod " + pod.metadata.namespace_ + "/" + pod.metadata.name +
                                        ": dnsPolicy None needs spec.dnsConfig.nameservers");
    }
  } else {
    return base::InvalidArgumentError("pod " + pod.metadata.namespace_ + "/" + pod.metadata.name +
                                      ": unknown spec.dnsPolicy \"" + policy + "\"");
  }
  if (pod.spec.dns_config) {
    AppendUnique(rc.nameservers, pod.spec.dns_config->nameservers);
    AppendUnique(rc.searches, pod.spec.dns_config->searches);
    for (const api::PodDNSConfigOption& o : pod.spec.dns_config->options) {
      SetOption(rc, o.name, o.value.value_or(""));
    }
  }
  return Format(rc);
}

}  // namespace knet::agent::pod
