// File: api/pod.h
//
// core/v1 Pod and what it is made of: containers with command/args/env/ports/probes/lifecycle,
// scheduling fields, DNS settings, and status with conditions, IPs and container states. Every
// field a networking implementation reads is modelled; others are dropped with a warning.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/field.h"
#include "api/meta.h"
#include "api/values.h"

namespace knet::api {

struct ContainerPort {
  std::string name;
  int32_t host_port = 0;
  int32_t container_port = 0;
  std::string protocol;  // TCP (default), UDP, SCTP
  std::string host_ip;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("hostPort", s.host_port);
    v("containerPort", s.container_port, kAlways);
    v("protocol", s.protocol);
    v("hostIP", s.host_ip);
  }
  bool operator==(const ContainerPort&) const = default;
};

struct ObjectFieldSelector {
  std::string api_version;
  std::string field_path;  // e.g. status.podIP
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("apiVersion", s.api_version);
    v("fieldPath", s.field_path, kAlways);
  }
  bool operator==(const ObjectFieldSelector&) const = default;
};

struct EnvVarSource {
  std::optional<ObjectFieldSelector> field_ref;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("fieldRef", s.field_ref);
  }
  bool operator==(const EnvVarSource&) const = default;
};

struct EnvVar {
  std::string name;
  std::string value;
  std::optional<EnvVarSource> value_from;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name, kAlways);
    v("value", s.value);
    v("valueFrom", s.value_from);
  }
  bool operator==(const EnvVar&) const = default;
};

struct ExecAction {
  std::vector<std::string> command;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("command", s.command);
  }
  bool operator==(const ExecAction&) const = default;
};

struct HTTPHeader {
  std::string name;
  std::string value;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name, kAlways);
    v("value", s.value, kAlways);
  }
  bool operator==(const HTTPHeader&) const = default;
};

struct HTTPGetAction {
  std::string path;
  IntOrString port;
  std::string host;
  std::string scheme;  // HTTP (default) or HTTPS
  std::vector<HTTPHeader> http_headers;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("path", s.path);
    v("port", s.port, kAlways);
    v("host", s.host);
    v("scheme", s.scheme);
    v("httpHeaders", s.http_headers);
  }
  bool operator==(const HTTPGetAction&) const = default;
};

struct TCPSocketAction {
  IntOrString port;
  std::string host;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("port", s.port, kAlways);
    v("host", s.host);
  }
  bool operator==(const TCPSocketAction&) const = default;
};

struct GRPCAction {
  int32_t port = 0;
  std::optional<std::string> service;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("port", s.port, kAlways);
    v("service", s.service);
  }
  bool operator==(const GRPCAction&) const = default;
};

struct Probe {
  std::optional<ExecAction> exec;
  std::optional<HTTPGetAction> http_get;
  std::optional<TCPSocketAction> tcp_socket;
  std::optional<GRPCAction> grpc;
  int32_t initial_delay_seconds = 0;
  int32_t timeout_seconds = 0;    // defaulted to 1
  int32_t period_seconds = 0;     // defaulted to 10
  int32_t success_threshold = 0;  // defaulted to 1
  int32_t failure_threshold = 0;  // defaulted to 3
  std::optional<int64_t> termination_grace_period_seconds;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("exec", s.exec);
    v("httpGet", s.http_get);
    v("tcpSocket", s.tcp_socket);
    v("grpc", s.grpc);
    v("initialDelaySeconds", s.initial_delay_seconds);
    v("timeoutSeconds", s.timeout_seconds);
    v("periodSeconds", s.period_seconds);
    v("successThreshold", s.success_threshold);
    v("failureThreshold", s.failure_threshold);
    v("terminationGracePeriodSeconds", s.termination_grace_period_seconds);
  }
  bool operator==(const Probe&) const = default;
};

struct SleepAction {
  int64_t seconds = 0;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("seconds", s.seconds, kAlways);
  }
  bool operator==(const SleepAction&) const = default;
};

struct LifecycleHandler {
  std::optional<ExecAction> exec;
  std::optional<HTTPGetAction> http_get;
  std::optional<TCPSocketAction> tcp_socket;
  std::optional<SleepAction> sleep;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("exec", s.exec);
    v("httpGet", s.http_get);
    v("tcpSocket", s.tcp_socket);
    v("sleep", s.sleep);
  }
  bool operator==(const LifecycleHandler&) const = default;
};

struct Lifecycle {
  std::optional<LifecycleHandler> post_start;
  std::optional<LifecycleHandler> pre_stop;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("postStart", s.post_start);
    v("preStop", s.pre_stop);
  }
  bool operator==(const Lifecycle&) const = default;
};

struct ResourceRequirements {
  std::map<std::string, Quantity> limits;
  std::map<std::string, Quantity> requests;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("limits", s.limits);
    v("requests", s.requests);
  }
  bool operator==(const ResourceRequirements&) const = default;
};

struct Container {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string working_dir;
  std::vector<ContainerPort> ports;
  std::vector<EnvVar> env;
  ResourceRequirements resources;
  std::optional<Probe> liveness_probe;
  std::optional<Probe> readiness_probe;
  std::optional<Probe> startup_probe;
  std::optional<Lifecycle> lifecycle;
  std::string termination_message_path;
  std::string termination_message_policy;
  std::string image_pull_policy;
  bool std_in = false;  // JSON "stdin" (the C name is a macro)
  bool std_in_once = false;
  bool tty = false;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name, kAlways);
    v("image", s.image);
    v("command", s.command);
    v("args", s.args);
    v("workingDir", s.working_dir);
    v("ports", s.ports);
    v("env", s.env);
    v("resources", s.resources);
    v("livenessProbe", s.liveness_probe);
    v("readinessProbe", s.readiness_probe);
    v("startupProbe", s.startup_probe);
    v("lifecycle", s.lifecycle);
    v("terminationMessagePath", s.termination_message_path);
    v("terminationMessagePolicy", s.termination_message_policy);
    v("imagePullPolicy", s.image_pull_policy);
    v("stdin", s.std_in);
    v("stdinOnce", s.std_in_once);
    v("tty", s.tty);
  }
  bool operator==(const Container&) const = default;
};

struct PodDNSConfigOption {
  std::string name;
  std::optional<std::string> value;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("value", s.value);
  }
  bool operator==(const PodDNSConfigOption&) const = default;
};

struct PodDNSConfig {
  std::vector<std::string> nameservers;
  std::vector<std::string> searches;
  std::vector<PodDNSConfigOption> options;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("nameservers", s.nameservers);
    v("searches", s.searches);
    v("options", s.options);
  }
  bool operator==(const PodDNSConfig&) const = default;
};

struct HostAlias {
  std::string ip;
  std::vector<std::string> hostnames;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ip", s.ip, kAlways);
    v("hostnames", s.hostnames);
  }
  bool operator==(const HostAlias&) const = default;
};

struct Toleration {
  std::string key;
  std::string operator_;  // Exists or Equal
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule, NoExecute
  std::optional<int64_t> toleration_seconds;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("key", s.key);
    v("operator", s.operator_);
    v("value", s.value);
    v("effect", s.effect);
    v("tolerationSeconds", s.toleration_seconds);
  }
  bool operator==(const Toleration&) const = default;
};

struct PodSpec {
  std::vector<Container> init_containers;
  std::vector<Container> containers;
  std::string restart_policy;  // Always (default), OnFailure, Never
  std::optional<int64_t> termination_grace_period_seconds;
  std::optional<int64_t> active_deadline_seconds;
  std::string dns_policy;  // ClusterFirst (default), ClusterFirstWithHostNet, Default, None
  std::map<std::string, std::string> node_selector;
  std::string service_account_name;
  std::optional<bool> automount_service_account_token;
  std::string node_name;
  bool host_network = false;
  std::string hostname;
  std::string subdomain;
  std::optional<bool> set_hostname_as_fqdn;
  std::string scheduler_name;
  std::vector<Toleration> tolerations;
  std::vector<HostAlias> host_aliases;
  std::string priority_class_name;
  std::optional<int32_t> priority;
  std::optional<PodDNSConfig> dns_config;
  std::optional<bool> enable_service_links;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("initContainers", s.init_containers);
    v("containers", s.containers, kAlways);
    v("restartPolicy", s.restart_policy);
    v("terminationGracePeriodSeconds", s.termination_grace_period_seconds);
    v("activeDeadlineSeconds", s.active_deadline_seconds);
    v("dnsPolicy", s.dns_policy);
    v("nodeSelector", s.node_selector);
    v("serviceAccountName", s.service_account_name);
    v("automountServiceAccountToken", s.automount_service_account_token);
    v("nodeName", s.node_name);
    v("hostNetwork", s.host_network);
    v("hostname", s.hostname);
    v("subdomain", s.subdomain);
    v("setHostnameAsFQDN", s.set_hostname_as_fqdn);
    v("schedulerName", s.scheduler_name);
    v("tolerations", s.tolerations);
    v("hostAliases", s.host_aliases);
    v("priorityClassName", s.priority_class_name);
    v("priority", s.priority);
    v("dnsConfig", s.dns_config);
    v("enableServiceLinks", s.enable_service_links);
  }
  bool operator==(const PodSpec&) const = default;
};

struct PodCondition {
  std::string type;    // PodScheduled, Initialized, ContainersReady, Ready
  std::string status;  // True, False, Unknown
  Time last_probe_time;
  Time last_transition_time;
  std::string reason;
  std::string message;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type, kAlways);
    v("status", s.status, kAlways);
    v("lastProbeTime", s.last_probe_time);
    v("lastTransitionTime", s.last_transition_time);
    v("reason", s.reason);
    v("message", s.message);
  }
  bool operator==(const PodCondition&) const = default;
};

struct PodIP {
  std::string ip;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ip", s.ip, kAlways);
  }
  bool operator==(const PodIP&) const = default;
};

struct ContainerStateWaiting {
  std::string reason;
  std::string message;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("reason", s.reason);
    v("message", s.message);
  }
  bool operator==(const ContainerStateWaiting&) const = default;
};

struct ContainerStateRunning {
  Time started_at;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("startedAt", s.started_at);
  }
  bool operator==(const ContainerStateRunning&) const = default;
};

struct ContainerStateTerminated {
  int32_t exit_code = 0;
  int32_t signal = 0;
  std::string reason;
  std::string message;
  Time started_at;
  Time finished_at;
  std::string container_id;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("exitCode", s.exit_code, kAlways);
    v("signal", s.signal);
    v("reason", s.reason);
    v("message", s.message);
    v("startedAt", s.started_at);
    v("finishedAt", s.finished_at);
    v("containerID", s.container_id);
  }
  bool operator==(const ContainerStateTerminated&) const = default;
};

struct ContainerState {
  std::optional<ContainerStateWaiting> waiting;
  std::optional<ContainerStateRunning> running;
  std::optional<ContainerStateTerminated> terminated;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("waiting", s.waiting);
    v("running", s.running);
    v("terminated", s.terminated);
  }
  bool operator==(const ContainerState&) const = default;
};

struct ContainerStatus {
  std::string name;
  ContainerState state;
  ContainerState last_state;
  bool ready = false;
  int32_t restart_count = 0;
  std::string image;
  std::string image_id;
  std::string container_id;
  std::optional<bool> started;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name, kAlways);
    v("state", s.state);
    v("lastState", s.last_state);
    v("ready", s.ready, kAlways);
    v("restartCount", s.restart_count, kAlways);
    v("image", s.image, kAlways);
    v("imageID", s.image_id, kAlways);
    v("containerID", s.container_id);
    v("started", s.started);
  }
  bool operator==(const ContainerStatus&) const = default;
};

struct PodStatus {
  std::string phase;  // Pending, Running, Succeeded, Failed, Unknown
  std::vector<PodCondition> conditions;
  std::string message;
  std::string reason;
  std::string nominated_node_name;
  std::string host_ip;
  std::vector<PodIP> host_ips;
  std::string pod_ip;
  std::vector<PodIP> pod_ips;
  Time start_time;
  std::vector<ContainerStatus> init_container_statuses;
  std::vector<ContainerStatus> container_statuses;
  std::string qos_class;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("phase", s.phase);
    v("conditions", s.conditions);
    v("message", s.message);
    v("reason", s.reason);
    v("nominatedNodeName", s.nominated_node_name);
    v("hostIP", s.host_ip);
    v("hostIPs", s.host_ips);
    v("podIP", s.pod_ip);
    v("podIPs", s.pod_ips);
    v("startTime", s.start_time);
    v("initContainerStatuses", s.init_container_statuses);
    v("containerStatuses", s.container_statuses);
    v("qosClass", s.qos_class);
  }
  bool operator==(const PodStatus&) const = default;
};

struct Pod {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "Pod";
  static constexpr const char* kListKind = "PodList";
  ObjectMeta metadata;
  PodSpec spec;
  PodStatus status;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
    v("status", s.status);
  }
  bool operator==(const Pod&) const = default;
};

struct PodTemplateSpec {
  ObjectMeta metadata;
  PodSpec spec;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
  }
  bool operator==(const PodTemplateSpec&) const = default;
};

}  // namespace knet::api
