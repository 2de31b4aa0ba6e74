// File: api/service.h
//
// core/v1 Service: a virtual IP (ClusterIP) and ports that load-balance to the ready endpoints
// of the pods its selector matches; NodePort, LoadBalancer and ExternalName types; traffic
// policies and session affinity, as kube-proxy reads them.
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

struct ServicePort {
  std::string name;
  std::string protocol;  // TCP (default), UDP, SCTP
  std::optional<std::string> app_protocol;
  int32_t port = 0;
  IntOrString target_port;  // defaulted to port
  int32_t node_port = 0;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("protocol", s.protocol);
    v("appProtocol", s.app_protocol);
    v("port", s.port, kAlways);
    v("targetPort", s.target_port);
    v("nodePort", s.node_port);
  }
  bool operator==(const ServicePort&) const = default;
};

struct ClientIPConfig {
  std::optional<int32_t> timeout_seconds;  // defaulted to 10800
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("timeoutSeconds", s.timeout_seconds);
  }
  bool operator==(const ClientIPConfig&) const = default;
};

struct SessionAffinityConfig {
  std::optional<ClientIPConfig> client_ip;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("clientIP", s.client_ip);
  }
  bool operator==(const SessionAffinityConfig&) const = default;
};

struct ServiceSpec {
  std::vector<ServicePort> ports;
  std::map<std::string, std::string> selector;
  std::string cluster_ip;
  std::vector<std::string> cluster_ips;
  std::string type;  // ClusterIP (default), NodePort, LoadBalancer, ExternalName
  std::vector<std::string> external_ips;
  std::string session_affinity;  // None (default) or ClientIP
  std::string load_balancer_ip;
  std::vector<std::string> load_balancer_source_ranges;
  std::string external_name;
  std::string external_traffic_policy;  // Cluster or Local
  int32_t health_check_node_port = 0;
  bool publish_not_ready_addresses = false;
  std::optional<SessionAffinityConfig> session_affinity_config;
  std::vector<std::string> ip_families;         // IPv4, IPv6
  std::optional<std::string> ip_family_policy;  // SingleStack, PreferDualStack, RequireDualStack
  std::optional<bool> allocate_load_balancer_node_ports;
  std::optional<std::string> load_balancer_class;
  std::optional<std::string> internal_traffic_policy;  // Cluster or Local
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ports", s.ports);
    v("selector", s.selector);
    v("clusterIP", s.cluster_ip);
    v("clusterIPs", s.cluster_ips);
    v("type", s.type);
    v("externalIPs", s.external_ips);
    v("sessionAffinity", s.session_affinity);
    v("loadBalancerIP", s.load_balancer_ip);
    v("loadBalancerSourceRanges", s.load_balancer_source_ranges);
    v("externalName", s.external_name);
    v("externalTrafficPolicy", s.external_traffic_policy);
    v("healthCheckNodePort", s.health_check_node_port);
    v("publishNotReadyAddresses", s.publish_not_ready_addresses);
    v("sessionAffinityConfig", s.session_affinity_config);
    v("ipFamilies", s.ip_families);
    v("ipFamilyPolicy", s.ip_family_policy);
    v("allocateLoadBalancerNodePorts", s.allocate_load_balancer_node_ports);
    v("loadBalancerClass", s.load_balancer_class);
    v("internalTrafficPolicy", s.internal_traffic_policy);
  }
  bool operator==(const ServiceSpec&) const = default;
};

struct PortStatus {
  int32_t port = 0;
  std::string protocol;
  std::optional<std::string> error;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("port", s.port, kAlways);
    v("protocol", s.protocol, kAlways);
    v("error", s.error);
  }
  bool operator==(const PortStatus&) const = default;
};

struct LoadBalancerIngress {
  std::string ip;
  std::string hostname;
  std::optional<std::string> ip_mode;  // VIP or Proxy
  std::vector<PortStatus> ports;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ip", s.ip);
    v("hostname", s.hostname);
    v("ipMode", s.ip_mode);
    v("ports", s.ports);
  }
  bool operator==(const LoadBalancerIngress&) const = default;
};

struct LoadBalancerStatus {
  std::vector<LoadBalancerIngress> ingress;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ingress", s.ingress);
  }
  bool operator==(const LoadBalancerStatus&) const = default;
};

struct ServiceStatus {
  LoadBalancerStatus load_balancer;
  std::vector<Condition> conditions;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("loadBalancer", s.load_balancer);
    v("conditions", s.conditions);
  }
  bool operator==(const ServiceStatus&) const = default;
};

struct Service {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "Service";
  static constexpr const char* kListKind = "ServiceList";
  ObjectMeta metadata;
  ServiceSpec spec;
  ServiceStatus status;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
    v("status", s.status);
  }
  bool operator==(const Service&) const = default;
};

}  // namespace knet::api
