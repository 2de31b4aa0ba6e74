#include "api/validation.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "api/defaults.h"
#include "api/manifest.h"

namespace knet::api {
namespace {

std::vector<std::string> Strings(const std::vector<FieldError>& errs) {
  std::vector<std::string> out;
  for (const auto& e : errs) out.push_back(e.ToString());
  return out;
}

Service GoodService() {
  Service s;
  s.metadata.name = "web";
  s.metadata.namespace_ = "default";
  ServicePort p;
  p.name = "http";
  p.port = 80;
  s.spec.ports.push_back(p);
  s.spec.selector = {{"app", "web"}};
  SetServiceDefaults(s);
  return s;
}

Container GoodContainer(std::string name = "app") {
  Container c;
  c.name = std::move(name);
  c.image = "nginx:1.25";
  ContainerPort p;
  p.name = "http";
  p.container_port = 8080;
  c.ports.push_back(p);
  return c;
}

Pod GoodPod() {
  Pod p;
  p.metadata.name = "web-0";
  p.metadata.namespace_ = "default";
  p.spec.containers.push_back(GoodContainer());
  SetPodDefaults(p);
  return p;
}

Deployment GoodDeployment() {
  Deployment d;
  d.metadata.name = "web";
  d.spec.selector = LabelSelector{};
  d.spec.selector->match_labels = {{"app", "web"}};
  d.spec.template_.metadata.labels = {{"app", "web"}, {"tier", "fe"}};
  d.spec.template_.spec.containers.push_back(GoodContainer());
  SetDeploymentDefaults(d);
  return d;
}

struct Case {
  std::string name;
  std::function<void(Service&)> mutate;
  std::vector<std::string> want;  // exact, in order; empty means valid
};

constexpr const char* kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
constexpr const char* kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
constexpr const char* kDNS1035Msg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

TEST(ValidateService, Table) {
  const std::vector<Case> cases = {
      {"good", [](Service&) {}, {}},
      {"port too big",
       [](Service& s) { s.spec.ports[0].port = 70000; },
       {"spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
      {"port zero",
       [](Service& s) { s.spec.ports[0].port = 0; },
       {"spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
      {"bad protocol",
       [](Service& s) { s.spec.ports[0].protocol = "SCTPX"; },
       {"spec.ports[0].protocol: Unsupported value: \"SCTPX\": supported values: \"SCTP\", "
        "\"TCP\", \"UDP\""}},
      {"udp and sctp ok",
       [](Service& s) {
         s.spec.ports[0].protocol = "UDP";
         s.spec.ports.push_back(s.spec.ports[0]);
         s.spec.ports[1].name = "sctp";
         s.spec.ports[1].protocol = "SCTP";
       },
       {}},
      {"duplicate port name",
       [](Service& s) {
         s.spec.ports.push_back(s.spec.ports[0]);
         s.spec.ports[1].port = 81;
       },
       {"spec.ports[1].name: Duplicate value: \"http\""}},
      {"name required with two ports",
       [](Service& s) {
         s.spec.ports.push_back(s.spec.ports[0]);
         s.spec.ports[1].name = "";
         s.spec.ports[1].port = 81;
       },
       {"spec.ports[1].name: Required value"}},
      {"single unnamed port ok", [](Service& s) { s.spec.ports[0].name = ""; }, {}},
      {"duplicate protocol+port",
       [](Service& s) {
         s.spec.ports.push_back(s.spec.ports[0]);
         s.spec.ports[1].name = "http2";
       },
       {"spec.ports[1]: Duplicate value: "
        "{\"Name\":\"\",\"Protocol\":\"TCP\",\"AppProtocol\":null,\"Port\":80,\"TargetPort\":0,"
        "\"NodePort\":0}"}},
      {"bad port name",
       [](Service& s) { s.spec.ports[0].name = "HTTP"; },
       {std::string("spec.ports[0].name: Invalid value: \"HTTP\": ") + kLabelMsg}},
      {"service name must start with a letter",
       [](Service& s) { s.metadata.name = "1web"; },
       {std::string("metadata.name: Invalid value: \"1web\": ") + kDNS1035Msg}},
      {"name required",
       [](Service& s) { s.metadata.name = ""; },
       {"metadata.name: Required value: name or generateName is required"}},
      {"bad namespace",
       [](Service& s) { s.metadata.namespace_ = "Prod"; },
       {std::string("metadata.namespace: Invalid value: \"Prod\": ") + kLabelMsg}},
      {"no ports", [](Service& s) { s.spec.ports.clear(); }, {"spec.ports: Required value"}},
      {"headless without ports ok",
       [](Service& s) {
         s.spec.ports.clear();
         s.spec.cluster_ip = "None";
       },
       {}},
      {"targetPort too big",
       [](Service& s) { s.spec.ports[0].target_port = IntOrString::FromInt(65536); },
       {"spec.ports[0].targetPort: Invalid value: 65536: must be between 1 and 65535, "
        "inclusive"}},
      {"targetPort name ok",
       [](Service& s) { s.spec.ports[0].target_port = IntOrString::FromString("http-alt"); },
       {}},
      {"targetPort bad name",
       [](Service& s) { s.spec.ports[0].target_port = IntOrString::FromString("a--b"); },
       {"spec.ports[0].targetPort: Invalid value: \"a--b\": must not contain consecutive "
        "hyphens"}},
      {"targetPort name too long, no letter",
       [](Service& s) {
         s.spec.ports[0].target_port = IntOrString::FromString("1234567890123456");
       },
       {"spec.ports[0].targetPort: Invalid value: \"1234567890123456\": must be no more than 15 "
        "characters",
        "spec.ports[0].targetPort: Invalid value: \"1234567890123456\": must contain at least one "
        "letter (a-z)"}},
      {"nodePort on ClusterIP",
       [](Service& s) { s.spec.ports[0].node_port = 30080; },
       {"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"}},
      {"nodePort outside the default range is fine",
       [](Service& s) {
         s.spec.type = "NodePort";
         s.spec.external_traffic_policy = "Cluster";
         s.spec.ports[0].node_port = 8080;
       },
       {}},
      {"nodePort too big",
       [](Service& s) {
         s.spec.type = "NodePort";
         s.spec.external_traffic_policy = "Cluster";
         s.spec.ports[0].node_port = 65536;
       },
       {"spec.ports[0].nodePort: Invalid value: 65536: must be between 1 and 65535, inclusive"}},
      {"bad type",
       [](Service& s) { s.spec.type = "Magic"; },
       {"spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", "
        "\"ExternalName\", \"LoadBalancer\", \"NodePort\""}},
      {"externalName ok",
       [](Service& s) {
         s.spec.type = "ExternalName";
         s.spec.external_name = "db.example.com.";
         s.spec.internal_traffic_policy.reset();
       },
       {}},
      {"externalName missing",
       [](Service& s) {
         s.spec.type = "ExternalName";
         s.spec.internal_traffic_policy.reset();
       },
       {"spec.externalName: Required value"}},
      {"externalName with clusterIP",
       [](Service& s) {
         s.spec.type = "ExternalName";
         s.spec.external_name = "db.example.com";
         s.spec.cluster_ip = "10.0.0.1";
         s.spec.internal_traffic_policy.reset();
       },
       {"spec.clusterIP: Forbidden: may not be set for ExternalName services"}},
      {"clusterIP invalid",
       [](Service& s) { s.spec.cluster_ip = "10.0.0.300"; },
       {"spec.clusterIP: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. "
        "10.9.8.7 or 2001:db8::ffff)"}},
      {"clusterIPs[0] must match",
       [](Service& s) {
         s.spec.cluster_ip = "10.0.0.1";
         s.spec.cluster_ips = {"10.0.0.2"};
       },
       {"spec.clusterIPs: Invalid value: [\"10.0.0.2\"]: first value must match `clusterIP`"}},
      {"dual-stack clusterIPs ok",
       [](Service& s) {
         s.spec.cluster_ip = "10.0.0.1";
         s.spec.cluster_ips = {"10.0.0.1", "fd00::1"};
         s.spec.ip_families = {"IPv4", "IPv6"};
       },
       {}},
      {"headless NodePort",
       [](Service& s) {
         s.spec.type = "NodePort";
         s.spec.external_traffic_policy = "Cluster";
         s.spec.cluster_ip = "None";
         s.spec.cluster_ips = {"None"};
       },
       {"spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort "
        "services"}},
      {"bad ip family",
       [](Service& s) { s.spec.ip_families = {"IPv5"}; },
       {"spec.ipFamilies[0]: Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\""}},
      {"bad session affinity",
       [](Service& s) { s.spec.session_affinity = "Sticky"; },
       {"spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", "
        "\"None\""}},
      {"affinity timeout too big",
       [](Service& s) {
         s.spec.session_affinity = "ClientIP";
         s.spec.session_affinity_config = SessionAffinityConfig{ClientIPConfig{86401}};
       },
       {"spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be "
        "greater than 0 and less than 86400"}},
      {"affinity timeout max ok",
       [](Service& s) {
         s.spec.session_affinity = "ClientIP";
         s.spec.session_affinity_config = SessionAffinityConfig{ClientIPConfig{86400}};
       },
       {}},
      {"affinity config with None",
       [](Service& s) { s.spec.session_affinity_config = SessionAffinityConfig{}; },
       {"spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"}},
      {"externalTrafficPolicy on ClusterIP",
       [](Service& s) { s.spec.external_traffic_policy = "Local"; },
       {"spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for "
        "externally-accessible services"}},
      {"externalTrafficPolicy bad value",
       [](Service& s) {
         s.spec.type = "LoadBalancer";
         s.spec.external_traffic_policy = "Nearest";
         s.spec.allocate_load_balancer_node_ports = true;
       },
       {"spec.externalTrafficPolicy: Unsupported value: \"Nearest\": supported values: "
        "\"Cluster\", \"Local\""}},
      {"loadBalancerSourceRanges ok",
       [](Service& s) {
         s.spec.type = "LoadBalancer";
         s.spec.external_traffic_policy = "Local";
         s.spec.load_balancer_source_ranges = {"10.0.0.0/8", " 192.168.0.0/16 "};
       },
       {}},
      {"loadBalancerSourceRanges bad",
       [](Service& s) {
         s.spec.type = "LoadBalancer";
         s.spec.external_traffic_policy = "Local";
         s.spec.load_balancer_source_ranges = {"10.0.0.0/33"};
       },
       {"spec.LoadBalancerSourceRanges[0]: Invalid value: \"10.0.0.0/33\": must be a valid CIDR "
        "value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"}},
      {"loadBalancerSourceRanges on ClusterIP",
       [](Service& s) { s.spec.load_balancer_source_ranges = {"10.0.0.0/8"}; },
       {"spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is "
        "'LoadBalancer'"}},
      {"externalIPs bad",
       [](Service& s) {
         s.spec.external_ips = {"1.2.3"};
         s.spec.external_traffic_policy = "Cluster";
       },
       {"spec.externalIPs[0]: Invalid value: \"1.2.3\": must be a valid IP address, (e.g. "
        "10.9.8.7 or 2001:db8::ffff)"}},
      {"externalIPs loopback",
       [](Service& s) {
         s.spec.external_ips = {"127.0.0.1"};
         s.spec.external_traffic_policy = "Cluster";
       },
       {"spec.externalIPs[0]: Invalid value: \"127.0.0.1\": may not be in the loopback range "
        "(127.0.0.0/8, ::1/128)"}},
      {"healthCheckNodePort ok",
       [](Service& s) {
         s.spec.type = "LoadBalancer";
         s.spec.external_traffic_policy = "Local";
         s.spec.health_check_node_port = 32000;
         s.spec.allocate_load_balancer_node_ports = true;
       },
       {}},
      {"healthCheckNodePort with Cluster policy",
       [](Service& s) {
         s.spec.type = "LoadBalancer";
         s.spec.external_traffic_policy = "Cluster";
         s.spec.health_check_node_port = 32000;
       },
       {"spec.healthCheckNodePort: Invalid value: 32000: may only be set when `type` is "
        "'LoadBalancer' and `externalTrafficPolicy` is 'Local'"}},
      {"internalTrafficPolicy bad",
       [](Service& s) { s.spec.internal_traffic_policy = "Node"; },
       {"spec.internalTrafficPolicy: Unsupported value: \"Node\": supported values: "
        "\"Cluster\", \"Local\""}},
  };
  for (const Case& c : cases) {
    Service s = GoodService();
    c.mutate(s);
    EXPECT_EQ(Strings(ValidateService(s)), c.want) << c.name;
  }
}

TEST(ValidateService, NotDefaultedReportsMissingFields) {
  Service s;
  s.metadata.name = "web";
  s.spec.ports.push_back(ServicePort{});
  s.spec.ports[0].port = 80;
  auto got = Strings(ValidateService(s));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0],
            "spec.type: Unsupported value: \"\": supported values: \"ClusterIP\", "
            "\"ExternalName\", \"LoadBalancer\", \"NodePort\"");
}

TEST(ToStatus, OneAndSeveralErrors) {
  EXPECT_TRUE(ToStatus({}, "Service", "web").ok());
  Service s = GoodService();
  s.spec.ports[0].port = 70000;
  base::Status one = ToStatus(ValidateService(s), "Service", "web");
  EXPECT_EQ(one.code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(one.message(),
            "Service \"web\" is invalid: spec.ports[0].port: Invalid value: 70000: must be between "
            "1 and 65535, inclusive");
  s.spec.ports[0].protocol = "";
  EXPECT_EQ(ToStatus(ValidateService(s), "Service", "web").message(),
            "Service \"web\" is invalid: [spec.ports[0].port: Invalid value: 70000: must be "
            "between 1 and 65535, inclusive, spec.ports[0].protocol: Required value]");
}

TEST(FieldError, ToStringForms) {
  EXPECT_EQ((FieldError{FieldError::kRequired, "spec.containers", "", ""}).ToString(),
            "spec.containers: Required value");
  EXPECT_EQ((FieldError{FieldError::kTooLong, "metadata.annotations", "", "x"}).ToString(),
            "metadata.annotations: Too long: x");
  EXPECT_EQ((FieldError{FieldError::kForbidden, "a", "\"v\"", "no"}).ToString(),
            "a: Forbidden: no");
}

TEST(Names, Helpers) {
  EXPECT_TRUE(IsDNS1123Label("a-1").empty());
  EXPECT_FALSE(IsDNS1123Label("-a").empty());
  EXPECT_EQ(IsDNS1123Label(std::string(64, 'a')),
            std::vector<std::string>{"must be no more than 63 characters"});
  EXPECT_TRUE(IsDNS1123Subdomain("a.b-c.d").empty());
  EXPECT_FALSE(IsDNS1123Subdomain("a..b").empty());
  EXPECT_FALSE(IsDNS1123Subdomain("a.").empty());
  EXPECT_EQ(IsDNS1123Subdomain(std::string(254, 'a')).size(), 1u);
  EXPECT_TRUE(IsDNS1035Label("web").empty());
  EXPECT_FALSE(IsDNS1035Label("9web").empty());
  EXPECT_TRUE(IsValidPortName("http").empty());
  EXPECT_EQ(IsValidPortName("-http"),
            std::vector<std::string>{"must not begin or end with a hyphen"});
  EXPECT_EQ(IsValidPortName("HTTP"),
            (std::vector<std::string>{
                "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "must contain at least one letter (a-z)"}));
}

TEST(ValidateMeta, SubdomainNameAndAnnotations) {
  Pod p = GoodPod();
  p.metadata.name = "Web_1";
  EXPECT_EQ(Strings(ValidatePod(p)),
            std::vector<std::string>{std::string("metadata.name: Invalid value: \"Web_1\": ") +
                                     kSubdomainMsg});
  p = GoodPod();
  p.metadata.name = "";
  p.metadata.generate_name = "web-";
  EXPECT_TRUE(ValidatePod(p).empty());
  p = GoodPod();
  p.metadata.annotations["big"] = std::string(256 * 1024, 'x');
  EXPECT_EQ(Strings(ValidatePod(p)),
            std::vector<std::string>{
                "metadata.annotations: Too long: may not be more than 262144 bytes"});
}

TEST(ValidateMeta, LabelsAndAnnotations) {
  Pod p = GoodPod();
  p.metadata.labels = {{"app.kubernetes.io/name", "web"}, {"tier", ""}};
  p.metadata.annotations = {{"Example.com/Note", "anything goes: {}"}};
  EXPECT_TRUE(ValidatePod(p).empty());
  p.metadata.labels = {{"-bad", "ok"}};
  EXPECT_EQ(Strings(ValidatePod(p)),
            std::vector<std::string>{
                "metadata.labels: Invalid value: \"-bad\": name part must consist of alphanumeric "
                "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"});
  p.metadata.labels = {{"app", "web!"}};
  EXPECT_EQ(Strings(ValidatePod(p)),
            std::vector<std::string>{
                "metadata.labels: Invalid value: \"web!\": a valid label must be an empty string "
                "or consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"});
  p = GoodPod();
  p.metadata.annotations = {{"a b", "x"}};
  EXPECT_EQ(ValidatePod(p).size(), 1u);
}

struct PodCase {
  std::string name;
  std::function<void(Pod&)> mutate;
  std::vector<std::string> want;
};

TEST(ValidatePod, Table) {
  Probe http_probe;
  http_probe.http_get = HTTPGetAction{};
  http_probe.http_get->port = IntOrString::FromString("http");
  const std::vector<PodCase> cases = {
      {"good", [](Pod&) {}, {}},
      {"no containers",
       [](Pod& p) { p.spec.containers.clear(); },
       {"spec.containers: Required value"}},
      {"duplicate container",
       [](Pod& p) { p.spec.containers.push_back(p.spec.containers[0]); },
       {"spec.containers[1].name: Duplicate value: \"app\""}},
      {"container name",
       [](Pod& p) { p.spec.containers[0].name = "App"; },
       {std::string("spec.containers[0].name: Invalid value: \"App\": ") + kLabelMsg}},
      {"image required",
       [](Pod& p) { p.spec.containers[0].image = ""; },
       {"spec.containers[0].image: Required value"}},
      {"containerPort",
       [](Pod& p) { p.spec.containers[0].ports[0].container_port = 65536; },
       {"spec.containers[0].ports[0].containerPort: Invalid value: 65536: must be between 1 and "
        "65535, inclusive"}},
      {"containerPort required",
       [](Pod& p) { p.spec.containers[0].ports[0].container_port = 0; },
       {"spec.containers[0].ports[0].containerPort: Required value"}},
      {"hostPort",
       [](Pod& p) { p.spec.containers[0].ports[0].host_port = -1; },
       {"spec.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, "
        "inclusive"}},
      {"hostPort ok", [](Pod& p) { p.spec.containers[0].ports[0].host_port = 80; }, {}},
      {"hostNetwork defaults hostPort",
       [](Pod& p) {
         p.spec.host_network = true;
         SetPodDefaults(p);
       },
       {}},
      {"hostNetwork hostPort mismatch",
       [](Pod& p) {
         p.spec.host_network = true;
         p.spec.containers[0].ports[0].host_port = 80;
       },
       {"spec.containers[0].ports[0].hostPort: Invalid value: 80: must match `containerPort` "
        "when `hostNetwork` is true"}},
      {"port name",
       [](Pod& p) { p.spec.containers[0].ports[0].name = "http-alternative"; },
       {"spec.containers[0].ports[0].name: Invalid value: \"http-alternative\": must be no more "
        "than 15 characters"}},
      {"port protocol",
       [](Pod& p) { p.spec.containers[0].ports[0].protocol = "tcp"; },
       {"spec.containers[0].ports[0].protocol: Unsupported value: \"tcp\": supported values: "
        "\"SCTP\", \"TCP\", \"UDP\""}},
      {"restartPolicy",
       [](Pod& p) { p.spec.restart_policy = "Sometimes"; },
       {"spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
        "\"OnFailure\", \"Never\""}},
      {"dnsPolicy",
       [](Pod& p) { p.spec.dns_policy = "Cluster"; },
       {"spec.dnsPolicy: Unsupported value: \"Cluster\": supported values: "
        "\"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\""}},
      {"dnsPolicy None needs dnsConfig",
       [](Pod& p) { p.spec.dns_policy = "None"; },
       {"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"}},
      {"grace period",
       [](Pod& p) { p.spec.termination_grace_period_seconds = -1; },
       {"spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to "
        "0"}},
      {"env name",
       [](Pod& p) {
         p.spec.containers[0].env.push_back(EnvVar{"1ABC", "x", {}});
       },
       {"spec.containers[0].env[0].name: Invalid value: \"1ABC\": a valid environment variable "
        "name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start "
        "with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for "
        "validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"}},
      {"env name ok",
       [](Pod& p) {
         p.spec.containers[0].env.push_back(EnvVar{"MY_VAR.x-1", "x", {}});
       },
       {}},
      {"probe ok",
       [&](Pod& p) {
         p.spec.containers[0].readiness_probe = http_probe;
         SetPodDefaults(p);
       },
       {}},
      {"probe without handler",
       [](Pod& p) {
         p.spec.containers[0].readiness_probe = Probe{};
         SetPodDefaults(p);
       },
       {"spec.containers[0].readinessProbe: Required value: must specify a handler type"}},
      {"probe with two handlers",
       [&](Pod& p) {
         Probe pr = http_probe;
         pr.tcp_socket = TCPSocketAction{IntOrString::FromInt(80), ""};
         p.spec.containers[0].readiness_probe = pr;
         SetPodDefaults(p);
       },
       {"spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 "
        "handler type"}},
      {"probe negative threshold",
       [&](Pod& p) {
         p.spec.containers[0].readiness_probe = http_probe;
         SetPodDefaults(p);
         p.spec.containers[0].readiness_probe->failure_threshold = -1;
       },
       {"spec.containers[0].readinessProbe.failureThreshold: Invalid value: -1: must be greater "
        "than or equal to 0"}},
      {"liveness successThreshold",
       [&](Pod& p) {
         p.spec.containers[0].liveness_probe = http_probe;
         p.spec.containers[0].liveness_probe->success_threshold = 2;
         SetPodDefaults(p);
       },
       {"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
      {"probe scheme",
       [&](Pod& p) {
         p.spec.containers[0].readiness_probe = http_probe;
         p.spec.containers[0].readiness_probe->http_get->scheme = "FTP";
         SetPodDefaults(p);
       },
       {"spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: \"FTP\": supported "
        "values: \"HTTP\", \"HTTPS\""}},
  };
  for (const PodCase& c : cases) {
    Pod p = GoodPod();
    c.mutate(p);
    EXPECT_EQ(Strings(ValidatePod(p)), c.want) << c.name;
  }
}

TEST(ValidateDeployment, Rules) {
  EXPECT_TRUE(ValidateDeployment(GoodDeployment()).empty());

  Deployment d = GoodDeployment();
  d.spec.selector.reset();
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{"spec.selector: Required value"});

  d = GoodDeployment();
  d.spec.selector = LabelSelector{};
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{
                "spec.selector: Invalid value: {}: empty selector is invalid for deployment"});

  d = GoodDeployment();
  d.spec.selector->match_labels = {{"app", "db"}};
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{"spec.template.metadata.labels: Invalid value: "
                                     "{\"app\":\"web\",\"tier\":\"fe\"}: `selector` does not "
                                     "match template `labels`"});

  d = GoodDeployment();
  d.spec.selector->match_expressions = {{"tier", "In", {"fe", "be"}}};
  EXPECT_TRUE(ValidateDeployment(d).empty());
  d.spec.selector->match_expressions = {{"tier", "NotIn", {"fe"}}};
  EXPECT_EQ(ValidateDeployment(d).size(), 1u);
  d.spec.selector->match_expressions = {{"canary", "DoesNotExist", {}}};
  EXPECT_TRUE(ValidateDeployment(d).empty());

  d = GoodDeployment();
  d.spec.replicas = -1;
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0"});

  d = GoodDeployment();
  d.spec.strategy.type = "BlueGreen";
  d.spec.strategy.rolling_update.reset();
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{"spec.strategy: Unsupported value: \"BlueGreen\": supported "
                                     "values: \"Recreate\", \"RollingUpdate\""});

  d = GoodDeployment();
  d.spec.strategy.type = "Recreate";
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{"spec.strategy.rollingUpdate: Forbidden: may not be specified "
                                     "when strategy `type` is 'Recreate'"});

  d = GoodDeployment();
  d.spec.strategy.rolling_update->max_surge = IntOrString::FromInt(0);
  d.spec.strategy.rolling_update->max_unavailable = IntOrString::FromString("0%");
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
                                     "\"0%\": may not be 0 when `maxSurge` is 0"});

  d = GoodDeployment();
  d.spec.strategy.rolling_update->max_unavailable = IntOrString::FromString("150%");
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
                                     "\"150%\": must not be greater than 100%"});

  d = GoodDeployment();
  d.spec.strategy.rolling_update->max_surge = IntOrString::FromString("lots");
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{
                "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent "
                "string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
                "regex used for validation is '[0-9]+%')"});

  d = GoodDeployment();
  d.spec.template_.spec.restart_policy = "Never";
  EXPECT_EQ(Strings(ValidateDeployment(d)),
            std::vector<std::string>{"spec.template.spec.restartPolicy: Unsupported value: "
                                     "\"Never\": supported values: \"Always\""});
}

TEST(ValidateReplicaSet, Rules) {
  ReplicaSet rs;
  rs.metadata.name = "web-abc";
  rs.spec.selector = LabelSelector{{{"app", "web"}}, {}};
  rs.spec.template_.metadata.labels = {{"app", "web"}};
  rs.spec.template_.spec.containers.push_back(GoodContainer());
  SetReplicaSetDefaults(rs);
  EXPECT_TRUE(ValidateReplicaSet(rs).empty());
  rs.spec.template_.metadata.labels = {};
  EXPECT_EQ(Strings(ValidateReplicaSet(rs)),
            std::vector<std::string>{"spec.template.metadata.labels: Invalid value: {}: "
                                     "`selector` does not match template `labels`"});
}

TEST(ValidateNetworkPolicy, Rules) {
  auto make = [] {
    NetworkPolicy np;
    np.metadata.name = "allow-web";
    np.metadata.namespace_ = "default";
    NetworkPolicyIngressRule r;
    NetworkPolicyPort p;
    p.port = IntOrString::FromInt(8000);
    p.end_port = 9000;
    r.ports.push_back(p);
    NetworkPolicyPeer peer;
    peer.ip_block = IPBlock{"10.0.0.0/8", {"10.1.0.0/16"}};
    r.from.push_back(peer);
    np.spec.ingress.push_back(r);
    SetNetworkPolicyDefaults(np);
    return np;
  };
  EXPECT_TRUE(ValidateNetworkPolicy(make()).empty());

  NetworkPolicy np = make();
  np.spec.ingress[0].ports[0].end_port = 7000;
  EXPECT_EQ(Strings(ValidateNetworkPolicy(np)),
            std::vector<std::string>{"spec.ingress[0].ports[0].endPort: Invalid value: 8000: must "
                                     "be greater than or equal to `port`"});

  np = make();
  np.spec.ingress[0].ports[0].port = IntOrString::FromString("http");
  EXPECT_EQ(Strings(ValidateNetworkPolicy(np)),
            std::vector<std::string>{"spec.ingress[0].ports[0].endPort: Invalid value: 9000: may "
                                     "not be specified when `port` is non-numeric"});

  np = make();
  np.spec.ingress[0].ports[0].protocol = "ICMP";
  EXPECT_EQ(Strings(ValidateNetworkPolicy(np)),
            std::vector<std::string>{"spec.ingress[0].ports[0].protocol: Unsupported value: "
                                     "\"ICMP\": supported values: \"TCP\", \"UDP\", \"SCTP\""});

  np = make();
  np.spec.ingress[0].from[0].ip_block->cidr = "10.0.0.0/40";
  EXPECT_EQ(Strings(ValidateNetworkPolicy(np)),
            std::vector<std::string>{"spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "
                                     "\"10.0.0.0/40\": must be a valid CIDR value, (e.g. "
                                     "10.9.8.0/24 or 2001:db8::/64)"});

  np = make();
  np.spec.ingress[0].from[0].ip_block->except = {"192.168.0.0/24"};
  EXPECT_EQ(Strings(ValidateNetworkPolicy(np)),
            std::vector<std::string>{"spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "
                                     "\"192.168.0.0/24\": must be a strict subset of `cidr`"});

  np = make();
  np.spec.ingress[0].from[0].pod_selector = LabelSelector{};
  EXPECT_EQ(Strings(ValidateNetworkPolicy(np)),
            std::vector<std::string>{"spec.ingress[0].from[0]: Forbidden: may not specify both "
                                     "ipBlock and another peer"});

  np = make();
  np.spec.ingress[0].from[0] = NetworkPolicyPeer{};
  EXPECT_EQ(
      Strings(ValidateNetworkPolicy(np)),
      std::vector<std::string>{"spec.ingress[0].from[0]: Required value: must specify a peer"});

  np = make();
  np.spec.policy_types = {"Ingress", "Sideways"};
  EXPECT_EQ(Strings(ValidateNetworkPolicy(np)),
            std::vector<std::string>{"spec.policyTypes[1]: Unsupported value: \"Sideways\": "
                                     "supported values: \"Ingress\", \"Egress\""});
}

TEST(ValidateEndpointSlice, Rules) {
  auto make = [] {
    EndpointSlice s;
    s.metadata.name = "web-abc12";
    s.metadata.namespace_ = "default";
    s.address_type = "IPv4";
    Endpoint ep;
    ep.addresses = {"10.244.1.5"};
    s.endpoints.push_back(ep);
    EndpointSlicePort p;
    p.name = "http";
    p.port = 8080;
    s.ports.push_back(p);
    SetEndpointSliceDefaults(s);
    return s;
  };
  EXPECT_TRUE(ValidateEndpointSlice(make()).empty());

  EndpointSlice s = make();
  s.address_type = "IPv6";
  EXPECT_EQ(Strings(ValidateEndpointSlice(s)),
            std::vector<std::string>{
                "endpoints[0].addresses[0]: Invalid value: \"10.244.1.5\": must be a valid IPv6 "
                "address"});

  s = make();
  s.address_type = "IPX";
  EXPECT_EQ(Strings(ValidateEndpointSlice(s)),
            std::vector<std::string>{"addressType: Unsupported value: \"IPX\": supported values: "
                                     "\"FQDN\", \"IPv4\", \"IPv6\""});

  s = make();
  s.endpoints[0].addresses.clear();
  EXPECT_EQ(Strings(ValidateEndpointSlice(s)),
            std::vector<std::string>{
                "endpoints[0].addresses: Required value: must contain at least 1 address"});

  s = make();
  s.endpoints[0].addresses.assign(101, "10.0.0.1");
  EXPECT_EQ(Strings(ValidateEndpointSlice(s)),
            std::vector<std::string>{
                "endpoints[0].addresses: Too many: 101: must have at most 100 items"});

  s = make();
  s.address_type = "FQDN";
  s.endpoints[0].addresses = {"db.example.com"};
  EXPECT_TRUE(ValidateEndpointSlice(s).empty());

  s = make();
  s.ports.push_back(s.ports[0]);
  s.ports[1].protocol = "ICMP";
  EXPECT_EQ(Strings(ValidateEndpointSlice(s)),
            (std::vector<std::string>{
                "ports[1].name: Duplicate value: \"http\"",
                "ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", "
                "\"TCP\", \"UDP\""}));
}

TEST(ValidateNode, PodCIDRs) {
  Node n;
  n.metadata.name = "node-1.example";
  n.spec.pod_cidr = "10.244.1.0/24";
  n.spec.pod_cidrs = {"10.244.1.0/24", "fd00:10:244:1::/64"};
  EXPECT_TRUE(ValidateNode(n).empty());
  n.spec.pod_cidrs = {"10.244.1.0/24", "10.244.2.0/24"};
  EXPECT_EQ(Strings(ValidateNode(n)),
            std::vector<std::string>{"spec.podCIDRs: Invalid value: "
                                     "[\"10.244.1.0/24\",\"10.244.2.0/24\"]: may specify no more "
                                     "than one CIDR for each IP family"});
  n.spec.pod_cidrs = {"10.244.1.0/99"};
  EXPECT_EQ(Strings(ValidateNode(n)),
            std::vector<std::string>{"spec.podCIDRs[0]: Invalid value: \"10.244.1.0/99\": must be "
                                     "a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"});
  n.spec.pod_cidrs.clear();
  n.metadata.namespace_ = "default";
  EXPECT_EQ(Strings(ValidateNode(n)),
            std::vector<std::string>{"metadata.namespace: Forbidden: not allowed on this type"});
}

TEST(ValidateNamespaceAndLease, Rules) {
  Namespace ns;
  ns.metadata.name = "kube-system";
  EXPECT_TRUE(ValidateNamespace(ns).empty());
  ns.metadata.name = "a.b";
  EXPECT_EQ(
      Strings(ValidateNamespace(ns)),
      std::vector<std::string>{std::string("metadata.name: Invalid value: \"a.b\": ") + kLabelMsg});
  Lease l;
  l.metadata.name = "kube-controller-manager";
  l.metadata.namespace_ = "kube-system";
  l.spec.lease_duration_seconds = 15;
  EXPECT_TRUE(ValidateLease(l).empty());
  l.spec.lease_duration_seconds = 0;
  EXPECT_EQ(Strings(ValidateLease(l)),
            std::vector<std::string>{
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"});
}

TEST(ValidateObject, Dispatches) {
  Service s = GoodService();
  s.spec.ports[0].port = 70000;
  EXPECT_EQ(ValidateObject(Object(s)).size(), 1u);
  EXPECT_TRUE(ValidateObject(Object(GoodPod())).empty());
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every manifest in testdata is something a real API server accepts.
TEST(ValidateObject, TestdataManifestsAreValidAfterDefaulting) {
  const std::filesystem::path dir = "tests/testdata/manifests";
  ASSERT_TRUE(std::filesystem::exists(dir)) << "run from the repository root";
  int objects = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string path = entry.path().string();
    auto decoded = DecodeManifest(ReadFile(entry.path()), path);
    ASSERT_TRUE(decoded.ok()) << path << ": " << decoded.status().ToString();
    for (Object& obj : *decoded) {
      SetDefaults(obj);
      base::Status st = ToStatus(ValidateObject(obj), KindOf(obj), MetaOf(obj).name);
      EXPECT_TRUE(st.ok()) << path << ": " << st.message();
      ++objects;
    }
  }
  EXPECT_GE(objects, 20);
}

}  // namespace
}  // namespace knet::api
