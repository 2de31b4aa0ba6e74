#include "api/defaults.h"

#include <type_traits>

namespace knet::api {
namespace {

void DefaultProbe(Probe& p) {
  if (p.timeout_seconds == 0) p.timeout_seconds = 1;
  if (p.period_seconds == 0) p.period_seconds = 10;
  if (p.success_threshold == 0) p.success_threshold = 1;
  if (p.failure_threshold == 0) p.failure_threshold = 3;
  if (p.http_get) {
    if (p.http_get->path.empty()) p.http_get->path = "/";
    if (p.http_get->scheme.empty()) p.http_get->scheme = "HTTP";
  }
}

void DefaultLifecycleHandler(std::optional<LifecycleHandler>& h) {
  if (h && h->http_get) {
    if (h->http_get->path.empty()) h->http_get->path = "/";
    if (h->http_get->scheme.empty()) h->http_get->scheme = "HTTP";
  }
}

void DefaultContainer(Container& c) {
  for (ContainerPort& p : c.ports) {
    if (p.protocol.empty()) p.protocol = "TCP";
  }
  for (std::optional<Probe>* p : {&c.liveness_probe, &c.readiness_probe, &c.startup_probe}) {
    if (*p) DefaultProbe(**p);
  }
  if (c.lifecycle) {
    DefaultLifecycleHandler(c.lifecycle->post_start);
    DefaultLifecycleHandler(c.lifecycle->pre_stop);
  }
  if (c.image_pull_policy.empty()) {
    // SetDefaults_Container: Always for an untagged or :latest image, IfNotPresent otherwise.
    std::string_view image = c.image;
    size_t slash = image.rfind('/');
    std::string_view last = slash == std::string_view::npos ? image : image.substr(slash + 1);
    bool digest = image.find('@') != std::string_view::npos;
    size_t colon = last.find(':');
    bool latest =
        !digest && (colon == std::string_view::npos || last.substr(colon + 1) == "latest");
    c.image_pull_policy = latest ? "Always" : "IfNotPresent";
  }
  if (c.termination_message_path.empty()) c.termination_message_path = "/dev/termination-log";
  if (c.termination_message_policy.empty()) c.termination_message_policy = "File";
}

}  // namespace

void SetServiceDefaults(Service& svc) {
  ServiceSpec& s = svc.spec;
  if (s.session_affinity.empty()) s.session_affinity = "None";
  if (s.type.empty()) s.type = "ClusterIP";
  for (ServicePort& p : s.ports) {
    if (p.protocol.empty()) p.protocol = "TCP";
    if (p.target_port.IsZero()) p.target_port = IntOrString::FromInt(p.port);
  }
  if (s.session_affinity == "ClientIP") {
    if (!s.session_affinity_config) s.session_affinity_config.emplace();
    auto& cfg = *s.session_affinity_config;
    if (!cfg.client_ip) cfg.client_ip.emplace();
    if (!cfg.client_ip->timeout_seconds) cfg.client_ip->timeout_seconds = 10800;
  }
  const bool externally_accessible = s.type == "NodePort" || s.type == "LoadBalancer" ||
                                     (s.type == "ClusterIP" && !s.external_ips.empty());
  if (externally_accessible && s.external_traffic_policy.empty()) {
    s.external_traffic_policy = "Cluster";
  }
  if (s.type != "ExternalName" && !s.internal_traffic_policy) s.internal_traffic_policy = "Cluster";
  if (s.type == "LoadBalancer" && !s.allocate_load_balancer_node_ports) {
    s.allocate_load_balancer_node_ports = true;
  }
}

void SetPodSpecDefaults(PodSpec& s) {
  if (s.restart_policy.empty()) s.restart_policy = "Always";
  if (s.dns_policy.empty()) s.dns_policy = "ClusterFirst";
  if (!s.termination_grace_period_seconds) s.termination_grace_period_seconds = 30;
  if (s.scheduler_name.empty()) s.scheduler_name = "default-scheduler";
  if (!s.enable_service_links) s.enable_service_links = true;
  // SetDefaults_Pod: with hostNetwork, a container port is also the host port.
  if (s.host_network) {
    for (auto* cs : {&s.init_containers, &s.containers}) {
      for (Container& c : *cs) {
        for (ContainerPort& p : c.ports) {
          if (p.host_port == 0) p.host_port = p.container_port;
        }
      }
    }
  }
  for (Container& c : s.init_containers) DefaultContainer(c);
  for (Container& c : s.containers) DefaultContainer(c);
}

void SetPodDefaults(Pod& pod) { SetPodSpecDefaults(pod.spec); }

void SetDeploymentDefaults(Deployment& d) {
  DeploymentSpec& s = d.spec;
  if (!s.replicas) s.replicas = 1;
  if (s.strategy.type.empty()) s.strategy.type = "RollingUpdate";
  if (s.strategy.type == "RollingUpdate") {
    if (!s.strategy.rolling_update) s.strategy.rolling_update.emplace();
    auto& ru = *s.strategy.rolling_update;
    if (!ru.max_unavailable) ru.max_unavailable = IntOrString::FromString("25%");
    if (!ru.max_surge) ru.max_surge = IntOrString::FromString("25%");
  }
  if (!s.revision_history_limit) s.revision_history_limit = 10;
  if (!s.progress_deadline_seconds) s.progress_deadline_seconds = 600;
  SetPodSpecDefaults(s.template_.spec);
}

void SetReplicaSetDefaults(ReplicaSet& rs) {
  if (!rs.spec.replicas) rs.spec.replicas = 1;
  SetPodSpecDefaults(rs.spec.template_.spec);
}

void SetNetworkPolicyDefaults(NetworkPolicy& np) {
  NetworkPolicySpec& s = np.spec;
  for (auto& rule : s.ingress) {
    for (auto& p : rule.ports) {
      if (!p.protocol) p.protocol = "TCP";
    }
  }
  for (auto& rule : s.egress) {
    for (auto& p : rule.ports) {
      if (!p.protocol) p.protocol = "TCP";
    }
  }
  if (s.policy_types.empty()) {
    s.policy_types.push_back("Ingress");
    if (!s.egress.empty()) s.policy_types.push_back("Egress");
  }
}

void SetEndpointSliceDefaults(EndpointSlice& slice) {
  for (EndpointSlicePort& p : slice.ports) {
    if (!p.name) p.name = "";
    if (!p.protocol) p.protocol = "TCP";
  }
}

void SetDefaults(Object& obj) {
  std::visit(
      [](auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Service>)
          SetServiceDefaults(o);
        else if constexpr (std::is_same_v<T, Pod>)
          SetPodDefaults(o);
        else if constexpr (std::is_same_v<T, Deployment>)
          SetDeploymentDefaults(o);
        else if constexpr (std::is_same_v<T, ReplicaSet>)
          SetReplicaSetDefaults(o);
        else if constexpr (std::is_same_v<T, NetworkPolicy>)
          SetNetworkPolicyDefaults(o);
        else if constexpr (std::is_same_v<T, EndpointSlice>)
          SetEndpointSliceDefaults(o);
      },
      obj);
}

}  // namespace knet::api
