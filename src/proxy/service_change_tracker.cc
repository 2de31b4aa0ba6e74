#include "proxy/service_change_tracker.h"

#include <netinet/in.h>

#include <algorithm>

namespace knet::proxy {
namespace {

constexpr uint32_t kDefaultAffinitySeconds =
    10800;  // core/v1 DefaultClientIPServiceAffinitySeconds

std::optional<uint8_t> ProtocolNumber(const std::string& protocol) {
  if (protocol.empty() || protocol == "TCP") return IPPROTO_TCP;
  if (protocol == "UDP") return IPPROTO_UDP;
  if (protocol == "SCTP") return IPPROTO_SCTP;
  return std::nullopt;
}

void AddIps(const std::vector<std::string>& texts, std::vector<base::IPAddress>& out) {
  for (const std::string& t : texts) {
    auto ip = base::IPAddress::Parse(t);
    if (ip.ok() && std::find(out.begin(), out.end(), *ip) == out.end()) out.push_back(*ip);
  }
}

}  // namespace

ServicePortMap ServicePortsOf(const api::Service& svc) {
  ServicePortMap out;
  const api::ServiceSpec& spec = svc.spec;
  if (spec.type == "ExternalName") return out;
  std::vector<std::string> cluster_ip_texts = spec.cluster_ips;
  if (cluster_ip_texts.empty() && !spec.cluster_ip.empty()) cluster_ip_texts = {spec.cluster_ip};
  std::vector<base::IPAddress> cluster_ips;
  AddIps(cluster_ip_texts, cluster_ips);
  if (cluster_ips.empty()) return out;  // headless ("None") or not allocated yet

  bool node_ports = spec.type == "NodePort" || spec.type == "LoadBalancer";
  std::vector<base::IPAddress> external_ips;
  AddIps(spec.external_ips, external_ips);
  std::vector<base::IPAddress> lb_ips;
  if (spec.type == "LoadBalancer") {
    for (const api::LoadBalancerIngress& ing : svc.status.load_balancer.ingress) {
      if (ing.ip_mode && *ing.ip_mode == "Proxy") continue;  // the LB proxies: not a VIP here
      AddIps({ing.ip}, lb_ips);
    }
  }
  std::vector<base::Cidr> ranges;
  for (const std::string& r : spec.load_balancer_source_ranges) {
    std::string t = r;
    t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
    auto c = base::Cidr::ParseLoose(t);
    if (c.ok()) ranges.push_back(*c);
  }
  uint32_t affinity = 0;
  if (spec.session_affinity == "ClientIP") {
    affinity = kDefaultAffinitySeconds;
    if (spec.session_affinity_config && spec.session_affinity_config->client_ip &&
        spec.session_affinity_config->client_ip->timeout_seconds &&
        *spec.session_affinity_config->client_ip->timeout_seconds > 0) {
      affinity = static_cast<uint32_t>(*spec.session_affinity_config->client_ip->timeout_seconds);
    }
  }
  for (const api::ServicePort& p : spec.ports) {
    std::optional<uint8_t> proto = ProtocolNumber(p.protocol);
    if (!proto || p.port <= 0 || p.port > 65535) continue;
    ServicePortInfo info;
    info.cluster_ips = cluster_ips;
    info.port = static_cast<uint16_t>(p.port);
    info.protocol = *proto;
    if (node_ports && p.node_port > 0 && p.node_port <= 65535) {
      info.node_port = static_cast<uint16_t>(p.node_port);
    }
    info.external_ips = external_ips;
    info.load_balancer_ips = lb_ips;
    if (!lb_ips.empty()) info.load_balancer_source_ranges = ranges;
    info.session_affinity_seconds = affinity;
    info.external_policy_local = spec.external_traffic_policy == "Local" && info.HasExternal();
    info.internal_policy_local =
        spec.internal_traffic_policy && *spec.internal_traffic_policy == "Local";
    if (spec.type == "LoadBalancer" && info.external_policy_local &&
        spec.health_check_node_port > 0 && spec.health_check_node_port <= 65535) {
      info.health_check_node_port = static_cast<uint16_t>(spec.health_check_node_port);
    }
    out[ServicePortName{svc.metadata.namespace_, svc.metadata.name, p.name, *proto}] = info;
  }
  return out;
}

void ServiceChangeTracker::Update(const api::Service* previous, const api::Service* current) {
  const api::Service* any = current != nullptr ? current : previous;
  if (any == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  Key key{any->metadata.namespace_, any->metadata.name};
  if (current != nullptr) {
    pending_[key] = *current;
  } else {
    pending_[key] = std::nullopt;
  }
}

bool ServiceChangeTracker::HasPending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !pending_.empty();
}

std::set<ServicePortName> ServiceChangeTracker::Apply(ServicePortMap& map) {
  std::map<Key, std::optional<api::Service>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.swap(pending_);
  }
  std::set<ServicePortName> changed;
  for (const auto& [key, svc] : pending) {
    ServicePortMap now;
    if (svc) now = ServicePortsOf(*svc);
    // The service's current entries are contiguous in the map: (namespace, name, ...).
    auto it = map.lower_bound(ServicePortName{key.first, key.second, "", 0});
    while (it != map.end() && it->first.namespace_ == key.first && it->first.name == key.second) {
      auto n = now.find(it->first);
      if (n == now.end()) {
        changed.insert(it->first);
        it = map.erase(it);
        continue;
      }
      if (!(n->second == it->second)) {
        changed.insert(it->first);
        it->second = n->second;
      }
      now.erase(n);
      ++it;
    }
    for (auto& [spn, info] : now) {
      changed.insert(spn);
      map[spn] = std::move(info);
    }
  }
  return changed;
}

}  // namespace knet::proxy
