// Every kind knet serves, built with the generated classes, wrapped in the envelope, decoded to
// JSON and then through the strict typed decoder (so a JSON name we got wrong is an error).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <variant>

#include "api/object.h"
#include "api/proto/proto.h"
#include "k8s.io/api/apps/v1/generated.pb.h"
#include "k8s.io/api/coordination/v1/generated.pb.h"
#include "k8s.io/api/core/v1/generated.pb.h"
#include "k8s.io/api/discovery/v1/generated.pb.h"
#include "k8s.io/api/networking/v1/generated.pb.h"

namespace knet::api::proto {
namespace {

namespace core = k8s::io::api::core::v1;
namespace pbmeta = k8s::io::apimachinery::pkg::apis::meta::v1;

constexpr int64_t kMay1 = 1714557600;  // 2024-05-01T10:00:00Z

template <class T, class M>
T Decode(std::string_view api_version, std::string_view kind, const M& msg) {
  auto doc = DecodeProtobuf(WrapEnvelope(api_version, kind, msg.SerializeAsString()));
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  if (!doc.ok()) return T{};
  auto obj = DecodeObject(*doc, {.strict = true});
  EXPECT_TRUE(obj.ok()) << obj.status().ToString() << "\n" << doc->dump();
  if (!obj.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*obj));
  return std::holds_alternative<T>(*obj) ? std::get<T>(*obj) : T{};
}

void SetTime(pbmeta::Time* t, int64_t seconds) { t->set_seconds(seconds); }

TEST(DecodeProtobufKinds, Namespace) {
  core::Namespace ns;
  ns.mutable_metadata()->set_name("team-a");
  (*ns.mutable_metadata()->mutable_labels())["env"] = "prod";
  ns.mutable_metadata()->add_finalizers("example.com/cleanup");
  ns.mutable_spec()->add_finalizers("kubernetes");
  ns.mutable_status()->set_phase("Active");
  auto c = ns.mutable_status()->add_conditions();
  c->set_type("NamespaceDeletionDiscoveryFailure");
  c->set_status("False");
  SetTime(c->mutable_lasttransitiontime(), kMay1);
  const auto got = Decode<Namespace>("v1", "Namespace", ns);
  EXPECT_EQ(got.metadata.name, "team-a");
  EXPECT_EQ(got.metadata.labels.at("env"), "prod");
  EXPECT_EQ(got.metadata.finalizers, std::vector<std::string>{"example.com/cleanup"});
  EXPECT_EQ(got.spec.finalizers, std::vector<std::string>{"kubernetes"});
  EXPECT_EQ(got.status.phase, "Active");
  ASSERT_EQ(got.status.conditions.size(), 1u);
  EXPECT_EQ(got.status.conditions[0].last_transition_time.unix_seconds(), kMay1);
}

TEST(DecodeProtobufKinds, PodWithProbesStatusAndOwner) {
  core::Pod pod;
  auto* m = pod.mutable_metadata();
  m->set_name("web-1");
  m->set_namespace_("default");
  m->set_generation(3);
  SetTime(m->mutable_creationtimestamp(), kMay1);
  auto* owner = m->add_ownerreferences();
  owner->set_apiversion("apps/v1");
  owner->set_kind("ReplicaSet");
  owner->set_name("web-abc");
  owner->set_uid("u-1");
  owner->set_controller(true);
  auto* spec = pod.mutable_spec();
  auto* c = spec->add_containers();
  c->set_name("nginx");
  c->set_image("nginx:1.27");
  c->add_command("nginx");
  c->add_args("-g");
  auto* port = c->add_ports();
  port->set_name("http");
  port->set_containerport(80);
  port->set_protocol("TCP");
  auto* env = c->add_env();
  env->set_name("POD_IP");
  env->mutable_valuefrom()->mutable_fieldref()->set_fieldpath("status.podIP");
  (*c->mutable_resources()->mutable_limits())["cpu"].set_string("500m");
  (*c->mutable_resources()->mutable_requests())["memory"].set_string("64Mi");
  auto* ready = c->mutable_readinessprobe();
  ready->mutable_handler()->mutable_httpget()->set_path("/healthz");
  ready->mutable_handler()->mutable_httpget()->mutable_port()->set_type(1);
  ready->mutable_handler()->mutable_httpget()->mutable_port()->set_strval("http");
  ready->set_periodseconds(5);
  auto* live = c->mutable_livenessprobe();
  live->mutable_handler()->mutable_tcpsocket()->mutable_port()->set_intval(80);
  live->set_terminationgraceperiodseconds(7);
  c->mutable_startupprobe()->mutable_handler()->mutable_grpc()->set_port(9000);
  c->mutable_lifecycle()->mutable_prestop()->mutable_sleep()->set_seconds(3);
  c->set_stdin(true);
  spec->set_restartpolicy("Always");
  spec->set_terminationgraceperiodseconds(30);
  spec->set_nodename("node-1");
  spec->set_hostnetwork(false);
  (*spec->mutable_nodeselector())["disk"] = "ssd";
  auto* tol = spec->add_tolerations();
  tol->set_key("node.kubernetes.io/not-ready");
  tol->set_operator_("Exists");
  tol->set_effect("NoExecute");
  tol->set_tolerationseconds(300);
  spec->mutable_dnsconfig()->add_nameservers("10.96.0.10");
  spec->set_sethostnameasfqdn(true);
  auto* st = pod.mutable_status();
  st->set_phase("Running");
  st->set_podip("10.244.1.5");
  st->add_podips()->set_ip("10.244.1.5");
  st->add_hostips()->set_ip("192.168.0.2");
  auto* cond = st->add_conditions();
  cond->set_type("Ready");
  cond->set_status("True");
  SetTime(cond->mutable_lasttransitiontime(), kMay1 + 10);
  auto* cs = st->add_containerstatuses();
  cs->set_name("nginx");
  cs->set_ready(true);
  cs->set_restartcount(2);
  SetTime(cs->mutable_state()->mutable_running()->mutable_startedat(), kMay1 + 5);
  cs->mutable_laststate()->mutable_terminated()->set_exitcode(137);
  cs->set_started(true);

  const auto got = Decode<Pod>("v1", "Pod", pod);
  EXPECT_EQ(got.metadata.creation_timestamp.unix_seconds(), kMay1);
  EXPECT_EQ(got.metadata.generation, 3);
  ASSERT_EQ(got.metadata.owner_references.size(), 1u);
  EXPECT_EQ(got.metadata.owner_references[0].controller, std::optional<bool>(true));
  ASSERT_EQ(got.spec.containers.size(), 1u);
  const Container& gc = got.spec.containers[0];
  EXPECT_EQ(gc.ports[0].container_port, 80);
  ASSERT_TRUE(gc.env[0].value_from && gc.env[0].value_from->field_ref);
  EXPECT_EQ(gc.env[0].value_from->field_ref->field_path, "status.podIP");
  EXPECT_EQ(gc.resources.limits.at("cpu").MilliValue(), 500);
  EXPECT_EQ(gc.resources.requests.at("memory").ToString(), "64Mi");
  // Probe.handler is inlined: httpGet sits directly in readinessProbe.
  ASSERT_TRUE(gc.readiness_probe && gc.readiness_probe->http_get);
  EXPECT_EQ(gc.readiness_probe->http_get->port, IntOrString::FromString("http"));
  EXPECT_EQ(gc.readiness_probe->period_seconds, 5);
  ASSERT_TRUE(gc.liveness_probe && gc.liveness_probe->tcp_socket);
  EXPECT_EQ(gc.liveness_probe->tcp_socket->port, IntOrString::FromInt(80));
  EXPECT_EQ(gc.liveness_probe->termination_grace_period_seconds, std::optional<int64_t>(7));
  ASSERT_TRUE(gc.startup_probe && gc.startup_probe->grpc);
  EXPECT_EQ(gc.startup_probe->grpc->port, 9000);
  ASSERT_TRUE(gc.lifecycle && gc.lifecycle->pre_stop && gc.lifecycle->pre_stop->sleep);
  EXPECT_EQ(gc.lifecycle->pre_stop->sleep->seconds, 3);
  EXPECT_TRUE(gc.std_in);
  EXPECT_EQ(got.spec.termination_grace_period_seconds, std::optional<int64_t>(30));
  EXPECT_EQ(got.spec.node_name, "node-1");
  EXPECT_EQ(got.spec.node_selector.at("disk"), "ssd");
  EXPECT_EQ(got.spec.tolerations[0].toleration_seconds, std::optional<int64_t>(300));
  ASSERT_TRUE(got.spec.dns_config);
  EXPECT_EQ(got.spec.dns_config->nameservers[0], "10.96.0.10");
  EXPECT_EQ(got.spec.set_hostname_as_fqdn, std::optional<bool>(true));
  EXPECT_EQ(got.status.phase, "Running");
  EXPECT_EQ(got.status.pod_ips[0].ip, "10.244.1.5");
  EXPECT_EQ(got.status.host_ips[0].ip, "192.168.0.2");
  EXPECT_EQ(got.status.conditions[0].last_transition_time.unix_seconds(), kMay1 + 10);
  const ContainerStatus& gs = got.status.container_statuses[0];
  EXPECT_EQ(gs.restart_count, 2);
  ASSERT_TRUE(gs.state.running);
  EXPECT_EQ(gs.state.running->started_at.unix_seconds(), kMay1 + 5);
  ASSERT_TRUE(gs.last_state.terminated);
  EXPECT_EQ(gs.last_state.terminated->exit_code, 137);
}

TEST(DecodeProtobufKinds, ServiceLoadBalancer) {
  core::Service svc;
  svc.mutable_metadata()->set_name("web");
  auto* spec = svc.mutable_spec();
  auto* p = spec->add_ports();
  p->set_name("http");
  p->set_protocol("TCP");
  p->set_port(80);
  p->mutable_targetport()->set_intval(8080);
  p->set_nodeport(30080);
  p->set_appprotocol("http");
  (*spec->mutable_selector())["app"] = "web";
  spec->set_clusterip("10.96.0.20");
  spec->add_clusterips("10.96.0.20");
  spec->set_type("LoadBalancer");
  spec->add_externalips("203.0.113.7");
  spec->set_sessionaffinity("ClientIP");
  spec->mutable_sessionaffinityconfig()->mutable_clientip()->set_timeoutseconds(600);
  spec->set_externaltrafficpolicy("Local");
  spec->set_healthchecknodeport(31000);
  spec->add_ipfamilies("IPv4");
  spec->set_ipfamilypolicy("SingleStack");
  spec->set_allocateloadbalancernodeports(true);
  spec->set_loadbalancerclass("example.com/lb");
  spec->set_internaltrafficpolicy("Cluster");
  spec->add_loadbalancersourceranges("10.0.0.0/8");
  auto* ing = svc.mutable_status()->mutable_loadbalancer()->add_ingress();
  ing->set_ip("198.51.100.1");
  ing->set_ipmode("VIP");
  auto* ps = ing->add_ports();
  ps->set_port(80);
  ps->set_protocol("TCP");
  auto* cond = svc.mutable_status()->add_conditions();
  cond->set_type("Ready");
  cond->set_status("True");
  cond->set_observedgeneration(4);
  SetTime(cond->mutable_lasttransitiontime(), kMay1);
  cond->set_reason("Provisioned");
  cond->set_message("ok");

  const auto got = Decode<Service>("v1", "Service", svc);
  ASSERT_EQ(got.spec.ports.size(), 1u);
  EXPECT_EQ(got.spec.ports[0].target_port, IntOrString::FromInt(8080));
  EXPECT_EQ(got.spec.ports[0].node_port, 30080);
  EXPECT_EQ(got.spec.ports[0].app_protocol, std::optional<std::string>("http"));
  EXPECT_EQ(got.spec.selector.at("app"), "web");
  EXPECT_EQ(got.spec.cluster_ips, std::vector<std::string>{"10.96.0.20"});
  EXPECT_EQ(got.spec.type, "LoadBalancer");
  ASSERT_TRUE(got.spec.session_affinity_config && got.spec.session_affinity_config->client_ip);
  EXPECT_EQ(got.spec.session_affinity_config->client_ip->timeout_seconds,
            std::optional<int32_t>(600));
  EXPECT_EQ(got.spec.health_check_node_port, 31000);
  EXPECT_EQ(got.spec.ip_family_policy, std::optional<std::string>("SingleStack"));
  EXPECT_EQ(got.spec.allocate_load_balancer_node_ports, std::optional<bool>(true));
  EXPECT_EQ(got.spec.load_balancer_class, std::optional<std::string>("example.com/lb"));
  EXPECT_EQ(got.spec.load_balancer_source_ranges, std::vector<std::string>{"10.0.0.0/8"});
  ASSERT_EQ(got.status.load_balancer.ingress.size(), 1u);
  EXPECT_EQ(got.status.load_balancer.ingress[0].ip_mode, std::optional<std::string>("VIP"));
  EXPECT_EQ(got.status.load_balancer.ingress[0].ports[0].port, 80);
  ASSERT_EQ(got.status.conditions.size(), 1u);
  EXPECT_EQ(got.status.conditions[0].observed_generation, 4);
  EXPECT_EQ(got.status.conditions[0].last_transition_time.unix_seconds(), kMay1);
}

TEST(DecodeProtobufKinds, EndpointsAndEvent) {
  core::Endpoints ep;
  ep.mutable_metadata()->set_name("web");
  auto* sub = ep.add_subsets();
  auto* a = sub->add_addresses();
  a->set_ip("10.244.1.5");
  a->set_nodename("node-1");
  a->mutable_targetref()->set_kind("Pod");
  a->mutable_targetref()->set_name("web-1");
  sub->add_notreadyaddresses()->set_ip("10.244.2.9");
  auto* port = sub->add_ports();
  port->set_port(8080);
  port->set_protocol("TCP");
  const auto got = Decode<Endpoints>("v1", "Endpoints", ep);
  ASSERT_EQ(got.subsets.size(), 1u);
  EXPECT_EQ(got.subsets[0].addresses[0].node_name, std::optional<std::string>("node-1"));
  ASSERT_TRUE(got.subsets[0].addresses[0].target_ref);
  EXPECT_EQ(got.subsets[0].addresses[0].target_ref->name, "web-1");
  EXPECT_EQ(got.subsets[0].not_ready_addresses[0].ip, "10.244.2.9");
  EXPECT_EQ(got.subsets[0].ports[0].port, 8080);

  core::Event ev;
  ev.mutable_metadata()->set_name("web-1.17c");
  ev.mutable_involvedobject()->set_kind("Pod");
  ev.set_reason("Started");
  ev.mutable_source()->set_component("kubelet");
  SetTime(ev.mutable_firsttimestamp(), kMay1);
  ev.set_count(2);
  ev.set_type("Normal");
  ev.mutable_eventtime()->set_seconds(kMay1);
  ev.mutable_eventtime()->set_nanos(123456789);
  ev.set_reportingcomponent("kubelet");
  ev.set_reportinginstance("node-1");
  const auto e = Decode<Event>("v1", "Event", ev);
  EXPECT_EQ(e.involved_object.kind, "Pod");
  EXPECT_EQ(e.source.component, "kubelet");
  EXPECT_EQ(e.first_timestamp.unix_seconds(), kMay1);
  EXPECT_EQ(e.count, 2);
  // MicroTime keeps microseconds (the JSON form's precision).
  EXPECT_EQ(e.event_time.time.unix_nanos(), kMay1 * 1'000'000'000 + 123456000);
  EXPECT_EQ(e.reporting_instance, "node-1");
}

TEST(DecodeProtobufKinds, Node) {
  core::Node node;
  node.mutable_metadata()->set_name("node-1");
  node.mutable_spec()->set_podcidr("10.244.1.0/24");
  node.mutable_spec()->add_podcidrs("10.244.1.0/24");
  node.mutable_spec()->set_unschedulable(true);
  auto* taint = node.mutable_spec()->add_taints();
  taint->set_key("node.kubernetes.io/unreachable");
  taint->set_effect("NoExecute");
  SetTime(taint->mutable_timeadded(), kMay1);
  auto* st = node.mutable_status();
  (*st->mutable_capacity())["cpu"].set_string("4");
  (*st->mutable_allocatable())["pods"].set_string("110");
  auto* nc = st->add_conditions();
  nc->set_type("Ready");
  nc->set_status("True");
  SetTime(nc->mutable_lastheartbeattime(), kMay1);
  auto* addr = st->add_addresses();
  addr->set_type("InternalIP");
  addr->set_address("192.168.0.2");
  st->mutable_daemonendpoints()->mutable_kubeletendpoint()->set_port(10250);
  st->mutable_nodeinfo()->set_kubeletversion("v1.32.0");
  st->mutable_nodeinfo()->set_architecture("amd64");
  const auto got = Decode<Node>("v1", "Node", node);
  EXPECT_EQ(got.spec.pod_cidrs, std::vector<std::string>{"10.244.1.0/24"});
  EXPECT_TRUE(got.spec.unschedulable);
  EXPECT_EQ(got.spec.taints[0].time_added.unix_seconds(), kMay1);
  EXPECT_EQ(got.status.capacity.at("cpu").MilliValue(), 4000);
  EXPECT_EQ(got.status.allocatable.at("pods").ToString(), "110");
  EXPECT_EQ(got.status.conditions[0].last_heartbeat_time.unix_seconds(), kMay1);
  EXPECT_EQ(got.status.addresses[0].address, "192.168.0.2");
  EXPECT_EQ(got.status.daemon_endpoints.kubelet_endpoint.port, 10250);  // JSON "Port"
  ASSERT_TRUE(got.status.node_info);
  EXPECT_EQ(got.status.node_info->kubelet_version, "v1.32.0");
}

TEST(DecodeProtobufKinds, EndpointSlice) {
  k8s::io::api::discovery::v1::EndpointSlice es;
  es.mutable_metadata()->set_name("web-abc");
  es.set_addresstype("IPv4");
  auto* ep = es.add_endpoints();
  ep->add_addresses("10.244.1.5");
  ep->mutable_conditions()->set_ready(false);
  ep->mutable_conditions()->set_serving(true);
  ep->set_nodename("node-1");
  ep->set_zone("z1");
  ep->mutable_hints()->add_forzones()->set_name("z1");
  ep->mutable_targetref()->set_name("web-1");
  auto* port = es.add_ports();
  port->set_name("http");
  port->set_port(8080);
  port->set_protocol("TCP");
  const auto got = Decode<EndpointSlice>("discovery.k8s.io/v1", "EndpointSlice", es);
  EXPECT_EQ(got.address_type, "IPv4");
  ASSERT_EQ(got.endpoints.size(), 1u);
  // A present false differs from an absent condition.
  EXPECT_EQ(got.endpoints[0].conditions.ready, std::optional<bool>(false));
  EXPECT_EQ(got.endpoints[0].conditions.serving, std::optional<bool>(true));
  EXPECT_EQ(got.endpoints[0].conditions.terminating, std::nullopt);
  EXPECT_EQ(got.endpoints[0].zone, std::optional<std::string>("z1"));
  ASSERT_TRUE(got.endpoints[0].hints);
  EXPECT_EQ(got.endpoints[0].hints->for_zones[0].name, "z1");
  EXPECT_EQ(got.ports[0].port, std::optional<int32_t>(8080));
}

TEST(DecodeProtobufKinds, NetworkPolicy) {
  k8s::io::api::networking::v1::NetworkPolicy np;
  np.mutable_metadata()->set_name("allow-web");
  auto* spec = np.mutable_spec();
  (*spec->mutable_podselector()->mutable_matchlabels())["app"] = "web";
  auto* in = spec->add_ingress();
  auto* peer = in->add_from();
  peer->mutable_ipblock()->set_cidr("10.0.0.0/8");
  peer->mutable_ipblock()->add_except("10.1.0.0/16");
  auto* sel = in->add_from()->mutable_namespaceselector()->add_matchexpressions();
  sel->set_key("team");
  sel->set_operator_("In");
  sel->add_values("a");
  auto* port = in->add_ports();
  port->set_protocol("TCP");
  port->mutable_port()->set_intval(8000);
  port->set_endport(8100);
  in->add_ports()->mutable_port()->set_type(1);
  in->mutable_ports(1)->mutable_port()->set_strval("http");
  spec->add_egress()->add_to()->mutable_podselector();
  spec->add_policytypes("Ingress");
  spec->add_policytypes("Egress");
  const auto got = Decode<NetworkPolicy>("networking.k8s.io/v1", "NetworkPolicy", np);
  EXPECT_EQ(got.spec.pod_selector.match_labels.at("app"), "web");
  ASSERT_EQ(got.spec.ingress.size(), 1u);
  ASSERT_EQ(got.spec.ingress[0].from.size(), 2u);
  ASSERT_TRUE(got.spec.ingress[0].from[0].ip_block);
  EXPECT_EQ(got.spec.ingress[0].from[0].ip_block->except[0], "10.1.0.0/16");
  ASSERT_TRUE(got.spec.ingress[0].from[1].namespace_selector);
  EXPECT_EQ(got.spec.ingress[0].from[1].namespace_selector->match_expressions[0].operator_, "In");
  EXPECT_EQ(got.spec.ingress[0].ports[0].port, std::optional(IntOrString::FromInt(8000)));
  EXPECT_EQ(got.spec.ingress[0].ports[0].end_port, std::optional<int32_t>(8100));
  EXPECT_EQ(got.spec.ingress[0].ports[1].port, std::optional(IntOrString::FromString("http")));
  ASSERT_EQ(got.spec.egress.size(), 1u);
  // An empty podSelector message is still a present (match-all) selector.
  ASSERT_EQ(got.spec.egress[0].to.size(), 1u);
  EXPECT_TRUE(got.spec.egress[0].to[0].pod_selector.has_value());
  EXPECT_EQ(got.spec.policy_types, (std::vector<std::string>{"Ingress", "Egress"}));
}

TEST(DecodeProtobufKinds, DeploymentAndReplicaSet) {
  k8s::io::api::apps::v1::Deployment d;
  d.mutable_metadata()->set_name("web");
  auto* spec = d.mutable_spec();
  spec->set_replicas(3);
  (*spec->mutable_selector()->mutable_matchlabels())["app"] = "web";
  (*spec->mutable_template_()->mutable_metadata()->mutable_labels())["app"] = "web";
  spec->mutable_template_()->mutable_spec()->add_containers()->set_name("nginx");
  spec->mutable_strategy()->set_type("RollingUpdate");
  spec->mutable_strategy()->mutable_rollingupdate()->mutable_maxsurge()->set_type(1);
  spec->mutable_strategy()->mutable_rollingupdate()->mutable_maxsurge()->set_strval("25%");
  spec->mutable_strategy()->mutable_rollingupdate()->mutable_maxunavailable()->set_intval(0);
  spec->set_revisionhistorylimit(5);
  spec->set_progressdeadlineseconds(600);
  auto* st = d.mutable_status();
  st->set_observedgeneration(7);
  st->set_replicas(3);
  st->set_readyreplicas(2);
  st->set_collisioncount(1);
  auto* cond = st->add_conditions();
  cond->set_type("Available");
  cond->set_status("True");
  SetTime(cond->mutable_lastupdatetime(), kMay1);
  SetTime(cond->mutable_lasttransitiontime(), kMay1 + 1);
  const auto got = Decode<Deployment>("apps/v1", "Deployment", d);
  EXPECT_EQ(got.spec.replicas, std::optional<int32_t>(3));
  ASSERT_TRUE(got.spec.selector);
  EXPECT_EQ(got.spec.selector->match_labels.at("app"), "web");
  EXPECT_EQ(got.spec.template_.spec.containers[0].name, "nginx");
  ASSERT_TRUE(got.spec.strategy.rolling_update);
  EXPECT_EQ(got.spec.strategy.rolling_update->max_surge,
            std::optional(IntOrString::FromString("25%")));
  EXPECT_EQ(got.spec.strategy.rolling_update->max_unavailable,
            std::optional(IntOrString::FromInt(0)));
  EXPECT_EQ(got.spec.revision_history_limit, std::optional<int32_t>(5));
  EXPECT_EQ(got.status.observed_generation, 7);
  EXPECT_EQ(got.status.ready_replicas, 2);
  EXPECT_EQ(got.status.collision_count, std::optional<int32_t>(1));
  EXPECT_EQ(got.status.conditions[0].last_update_time.unix_seconds(), kMay1);
  EXPECT_EQ(got.status.conditions[0].last_transition_time.unix_seconds(), kMay1 + 1);

  k8s::io::api::apps::v1::ReplicaSet rs;
  rs.mutable_metadata()->set_name("web-abc");
  rs.mutable_spec()->set_replicas(2);
  rs.mutable_spec()->set_minreadyseconds(4);
  rs.mutable_spec()->mutable_template_()->mutable_spec()->add_containers()->set_name("c");
  rs.mutable_status()->set_replicas(2);
  rs.mutable_status()->set_fullylabeledreplicas(2);
  rs.mutable_status()->set_availablereplicas(1);
  rs.mutable_status()->set_observedgeneration(3);
  const auto r = Decode<ReplicaSet>("apps/v1", "ReplicaSet", rs);
  EXPECT_EQ(r.spec.replicas, std::optional<int32_t>(2));
  EXPECT_EQ(r.spec.min_ready_seconds, 4);
  EXPECT_EQ(r.status.fully_labeled_replicas, 2);
  EXPECT_EQ(r.status.available_replicas, 1);
  EXPECT_EQ(r.status.observed_generation, 3);
}

TEST(DecodeProtobufKinds, Lease) {
  k8s::io::api::coordination::v1::Lease lease;
  lease.mutable_metadata()->set_name("node-1");
  lease.mutable_metadata()->set_namespace_("kube-node-lease");
  auto* spec = lease.mutable_spec();
  spec->set_holderidentity("node-1");
  spec->set_leasedurationseconds(40);
  spec->mutable_renewtime()->set_seconds(kMay1);
  spec->mutable_renewtime()->set_nanos(250000000);
  spec->set_leasetransitions(1);
  spec->set_strategy("OldestEmulationVersion");
  spec->set_preferredholder("node-2");
  const auto got = Decode<Lease>("coordination.k8s.io/v1", "Lease", lease);
  EXPECT_EQ(got.spec.holder_identity, std::optional<std::string>("node-1"));
  EXPECT_EQ(got.spec.lease_duration_seconds, std::optional<int32_t>(40));
  EXPECT_EQ(got.spec.renew_time.time.unix_nanos(), kMay1 * 1'000'000'000 + 250000000);
  EXPECT_TRUE(got.spec.acquire_time.IsZero());
  EXPECT_EQ(got.spec.lease_transitions, std::optional<int32_t>(1));
  EXPECT_EQ(got.spec.preferred_holder, std::optional<std::string>("node-2"));
}

}  // namespace
}  // namespace knet::api::proto
