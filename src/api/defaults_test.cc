#include "api/defaults.h"

#include <gtest/gtest.h>

namespace knet::api {
namespace {

TEST(SetServiceDefaults, ClusterIP) {
  Service s;
  s.spec.ports.push_back(ServicePort{});
  s.spec.ports[0].port = 80;
  SetServiceDefaults(s);
  EXPECT_EQ(s.spec.type, "ClusterIP");
  EXPECT_EQ(s.spec.session_affinity, "None");
  EXPECT_EQ(s.spec.ports[0].protocol, "TCP");
  EXPECT_EQ(s.spec.ports[0].target_port, IntOrString::FromInt(80));
  EXPECT_EQ(s.spec.internal_traffic_policy, "Cluster");
  EXPECT_EQ(s.spec.external_traffic_policy, "");
  EXPECT_FALSE(s.spec.allocate_load_balancer_node_ports.has_value());
  EXPECT_FALSE(s.spec.session_affinity_config.has_value());
}

TEST(SetServiceDefaults, KeepsWhatIsSet) {
  Service s;
  s.spec.ports.push_back(ServicePort{});
  s.spec.ports[0].port = 80;
  s.spec.ports[0].protocol = "UDP";
  s.spec.ports[0].target_port = IntOrString::FromString("dns");
  s.spec.type = "LoadBalancer";
  s.spec.external_traffic_policy = "Local";
  s.spec.session_affinity = "ClientIP";
  SetServiceDefaults(s);
  EXPECT_EQ(s.spec.ports[0].protocol, "UDP");
  EXPECT_EQ(s.spec.ports[0].target_port, IntOrString::FromString("dns"));
  EXPECT_EQ(s.spec.external_traffic_policy, "Local");
  EXPECT_EQ(s.spec.allocate_load_balancer_node_ports, true);
  ASSERT_TRUE(s.spec.session_affinity_config && s.spec.session_affinity_config->client_ip);
  EXPECT_EQ(s.spec.session_affinity_config->client_ip->timeout_seconds, 10800);
  Service again = s;
  SetServiceDefaults(again);
  EXPECT_EQ(again, s);
}

TEST(SetServiceDefaults, NodePortAndExternalName) {
  Service np;
  np.spec.type = "NodePort";
  SetServiceDefaults(np);
  EXPECT_EQ(np.spec.external_traffic_policy, "Cluster");
  EXPECT_FALSE(np.spec.allocate_load_balancer_node_ports.has_value());
  Service en;
  en.spec.type = "ExternalName";
  SetServiceDefaults(en);
  EXPECT_FALSE(en.spec.internal_traffic_policy.has_value());
  EXPECT_EQ(en.spec.external_traffic_policy, "");
}

TEST(SetPodDefaults, SpecContainersProbes) {
  Pod p;
  Container c;
  c.name = "app";
  c.image = "nginx:1.25";
  c.ports.push_back(ContainerPort{});
  Probe pr;
  pr.http_get = HTTPGetAction{};
  c.readiness_probe = pr;
  p.spec.containers.push_back(c);
  c.name = "sidecar";
  c.image = "busybox";
  c.readiness_probe.reset();
  p.spec.containers.push_back(c);
  SetPodDefaults(p);
  EXPECT_EQ(p.spec.restart_policy, "Always");
  EXPECT_EQ(p.spec.dns_policy, "ClusterFirst");
  EXPECT_EQ(p.spec.termination_grace_period_seconds, 30);
  EXPECT_EQ(p.spec.scheduler_name, "default-scheduler");
  EXPECT_EQ(p.spec.enable_service_links, true);
  const Container& a = p.spec.containers[0];
  EXPECT_EQ(a.ports[0].protocol, "TCP");
  EXPECT_EQ(a.image_pull_policy, "IfNotPresent");
  EXPECT_EQ(a.termination_message_path, "/dev/termination-log");
  EXPECT_EQ(a.termination_message_policy, "File");
  const Probe& r = *a.readiness_probe;
  EXPECT_EQ(r.timeout_seconds, 1);
  EXPECT_EQ(r.period_seconds, 10);
  EXPECT_EQ(r.success_threshold, 1);
  EXPECT_EQ(r.failure_threshold, 3);
  EXPECT_EQ(r.http_get->path, "/");
  EXPECT_EQ(r.http_get->scheme, "HTTP");
  // Upstream: an untagged (or :latest) image is pulled Always.
  EXPECT_EQ(p.spec.containers[1].image_pull_policy, "Always");
}

TEST(SetDeploymentDefaults, StrategyAndTemplate) {
  Deployment d;
  d.spec.template_.spec.containers.push_back(Container{});
  SetDeploymentDefaults(d);
  EXPECT_EQ(d.spec.replicas, 1);
  EXPECT_EQ(d.spec.strategy.type, "RollingUpdate");
  ASSERT_TRUE(d.spec.strategy.rolling_update.has_value());
  EXPECT_EQ(d.spec.strategy.rolling_update->max_surge, IntOrString::FromString("25%"));
  EXPECT_EQ(d.spec.strategy.rolling_update->max_unavailable, IntOrString::FromString("25%"));
  EXPECT_EQ(d.spec.revision_history_limit, 10);
  EXPECT_EQ(d.spec.progress_deadline_seconds, 600);
  EXPECT_EQ(d.spec.template_.spec.restart_policy, "Always");

  Deployment r;
  r.spec.strategy.type = "Recreate";
  r.spec.replicas = 0;
  SetDeploymentDefaults(r);
  EXPECT_FALSE(r.spec.strategy.rolling_update.has_value());
  EXPECT_EQ(r.spec.replicas, 0);
}

TEST(SetReplicaSetDefaults, Replicas) {
  ReplicaSet rs;
  SetReplicaSetDefaults(rs);
  EXPECT_EQ(rs.spec.replicas, 1);
  EXPECT_EQ(rs.spec.template_.spec.dns_policy, "ClusterFirst");
}

TEST(SetNetworkPolicyDefaults, PolicyTypesAndProtocol) {
  NetworkPolicy np;
  SetNetworkPolicyDefaults(np);
  EXPECT_EQ(np.spec.policy_types, std::vector<std::string>{"Ingress"});

  NetworkPolicy eg;
  eg.spec.egress.push_back(NetworkPolicyEgressRule{});
  eg.spec.egress[0].ports.push_back(NetworkPolicyPort{});
  SetNetworkPolicyDefaults(eg);
  EXPECT_EQ(eg.spec.policy_types, (std::vector<std::string>{"Ingress", "Egress"}));
  EXPECT_EQ(eg.spec.egress[0].ports[0].protocol, "TCP");

  NetworkPolicy only_egress;
  only_egress.spec.policy_types = {"Egress"};
  SetNetworkPolicyDefaults(only_egress);
  EXPECT_EQ(only_egress.spec.policy_types, std::vector<std::string>{"Egress"});
}

TEST(SetDefaults, DispatchesOnKind) {
  Object obj = EndpointSlice{};
  std::get<EndpointSlice>(obj).ports.push_back(EndpointSlicePort{});
  SetDefaults(obj);
  EXPECT_EQ(std::get<EndpointSlice>(obj).ports[0].protocol, "TCP");
  EXPECT_EQ(std::get<EndpointSlice>(obj).ports[0].name, "");
  Object svc = Service{};
  SetDefaults(svc);
  EXPECT_EQ(std::get<Service>(svc).spec.type, "ClusterIP");
  Object ns = Namespace{};
  SetDefaults(ns);
  EXPECT_EQ(std::get<Namespace>(ns), Namespace{});
}

}  // namespace
}  // namespace knet::api
