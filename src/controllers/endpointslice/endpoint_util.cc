#include "controllers/endpointslice/endpoint_util.h"

#include <charconv>
#include <limits>

#include "base/ip.h"
#include "controllers/informers.h"

namespace knet::controllers {

namespace {

bool SelectorMatches(const std::map<std::string, std::string>& selector,
                     const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

bool ServiceHasSelector(const api::Service& svc) {
  return !svc.spec.selector.empty() && svc.spec.type != "ExternalName";
}

bool ServiceIsHeadless(const api::Service& svc) { return svc.spec.cluster_ip == "None"; }

std::vector<std::shared_ptr<const api::Pod>> PodsForService(const client::Informer<api::Pod>& pods,
                                                            const api::Service& svc) {
  std::vector<std::shared_ptr<const api::Pod>> out;
  if (svc.spec.selector.empty()) return out;
  // The smallest bucket bounds the work; the full selector filters it.
  std::string best;
  size_t best_size = std::numeric_limits<size_t>::max();
  for (const auto& [k, v] : svc.spec.selector) {
    std::string pair = PodLabelKey(svc.metadata.namespace_, k, v);
    size_t n = pods.IndexSize(kPodsByLabel, pair);
    if (n < best_size) {
      best_size = n;
      best = std::move(pair);
    }
    if (n == 0) return out;
  }
  out = pods.ByIndexShared(kPodsByLabel, best);
  std::erase_if(out, [&](const std::shared_ptr<const api::Pod>& p) {
    return !SelectorMatches(svc.spec.selector, p->metadata.labels);
  });
  return out;
}

std::optional<int32_t> FindPort(const api::Pod& pod, const api::ServicePort& port) {
  if (!port.target_port.is_string()) return port.target_port.int_value();
  const std::string& name = port.target_port.string_value();
  const std::string protocol = port.protocol.empty() ? "TCP" : port.protocol;
  for (const api::Container& c : pod.spec.containers) {
    for (const api::ContainerPort& cp : c.ports) {
      const std::string& cproto = cp.protocol.empty() ? std::string("TCP") : cp.protocol;
      if (cp.name == name && cproto == protocol) return cp.container_port;
    }
  }
  return std::nullopt;
}

bool ShouldPodBeInEndpoints(const api::Pod& pod, bool include_terminating) {
  if (pod.status.phase == "Succeeded" || pod.status.phase == "Failed") return false;
  if (pod.status.pod_ip.empty() && pod.status.pod_ips.empty()) return false;
  if (!include_terminating && !pod.metadata.deletion_timestamp.IsZero()) return false;
  return true;
}

std::string PodIPForFamily(const api::Pod& pod, const std::string& family) {
  const bool want_v6 = family == "IPv6";
  auto matches = [&](const std::string& ip) {
    auto parsed = base::IPAddress::Parse(ip);
    return parsed.ok() && parsed->is_v6() == want_v6;
  };
  for (const api::PodIP& ip : pod.status.pod_ips) {
    if (matches(ip.ip)) return ip.ip;
  }
  if (!pod.status.pod_ip.empty() && matches(pod.status.pod_ip)) return pod.status.pod_ip;
  return "";
}

std::string EndpointHostname(const api::Pod& pod, const api::Service& svc) {
  if (!pod.spec.hostname.empty() && pod.spec.subdomain == svc.metadata.name &&
      pod.metadata.namespace_ == svc.metadata.namespace_) {
    return pod.spec.hostname;
  }
  return "";
}

bool PodEndpointsChanged(const api::Pod& old_pod, const api::Pod& new_pod) {
  if (old_pod.metadata.resource_version == new_pod.metadata.resource_version &&
      old_pod.metadata.uid == new_pod.metadata.uid) {
    return false;  // a resync
  }
  return old_pod.metadata.labels != new_pod.metadata.labels ||
         old_pod.metadata.deletion_timestamp != new_pod.metadata.deletion_timestamp ||
         old_pod.metadata.uid != new_pod.metadata.uid ||
         old_pod.status.pod_ip != new_pod.status.pod_ip ||
         old_pod.status.pod_ips != new_pod.status.pod_ips ||
         old_pod.status.phase != new_pod.status.phase ||
         IsPodReady(old_pod) != IsPodReady(new_pod) ||
         old_pod.spec.hostname != new_pod.spec.hostname ||
         old_pod.spec.subdomain != new_pod.spec.subdomain ||
         old_pod.spec.node_name != new_pod.spec.node_name ||
         old_pod.spec.containers != new_pod.spec.containers;
}

api::Time PodTriggerTime(const api::Pod* old_pod, const api::Pod& pod) {
  const api::PodCondition* c = ReadyCondition(pod);
  // Added or deleted (old_pod null), terminating, or without a Ready time: observed just now.
  if (old_pod == nullptr || c == nullptr || c->last_transition_time.IsZero() ||
      !pod.metadata.deletion_timestamp.IsZero()) {
    return api::Time::Now();
  }
  const api::PodCondition* before = ReadyCondition(*old_pod);
  if (before != nullptr && before->last_transition_time == c->last_transition_time) {
    return api::Time::Now();  // readiness did not move: something else changed, just now
  }
  return c->last_transition_time;
}

uint64_t ParseResourceVersion(const std::string& rv) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), v);
  if (ec != std::errc() || p != rv.data() + rv.size()) return 0;
  return v;
}

}  // namespace knet::controllers
