// File: api/node.h
//
// core/v1 Node: podCIDR(s) handed out by node IPAM, taints, and status with addresses
// (InternalIP), capacity and the Ready condition that the node agent keeps fresh.
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

struct Taint {
  std::string key;
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule, NoExecute
  Time time_added;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("key", s.key, kAlways);
    v("value", s.value);
    v("effect", s.effect, kAlways);
    v("timeAdded", s.time_added);
  }
  bool operator==(const Taint&) const = default;
};

struct NodeSpec {
  std::string pod_cidr;
  std::vector<std::string> pod_cidrs;
  std::string provider_id;
  bool unschedulable = false;
  std::vector<Taint> taints;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("podCIDR", s.pod_cidr);
    v("podCIDRs", s.pod_cidrs);
    v("providerID", s.provider_id);
    v("unschedulable", s.unschedulable);
    v("taints", s.taints);
  }
  bool operator==(const NodeSpec&) const = default;
};

struct NodeCondition {
  std::string type;  // Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable
  std::string status;
  Time last_heartbeat_time;
  Time last_transition_time;
  std::string reason;
  std::string message;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type, kAlways);
    v("status", s.status, kAlways);
    v("lastHeartbeatTime", s.last_heartbeat_time);
    v("lastTransitionTime", s.last_transition_time);
    v("reason", s.reason);
    v("message", s.message);
  }
  bool operator==(const NodeCondition&) const = default;
};

struct NodeAddress {
  std::string type;  // InternalIP, ExternalIP, Hostname
  std::string address;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type, kAlways);
    v("address", s.address, kAlways);
  }
  bool operator==(const NodeAddress&) const = default;
};

struct DaemonEndpoint {
  int32_t port = 0;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("Port", s.port, kAlways);  // upstream's JSON name is capitalised
  }
  bool operator==(const DaemonEndpoint&) const = default;
};

struct NodeDaemonEndpoints {
  DaemonEndpoint kubelet_endpoint;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("kubeletEndpoint", s.kubelet_endpoint);
  }
  bool operator==(const NodeDaemonEndpoints&) const = default;
};

struct NodeSystemInfo {
  std::string machine_id;
  std::string system_uuid;
  std::string boot_id;
  std::string kernel_version;
  std::string os_image;
  std::string container_runtime_version;
  std::string kubelet_version;
  std::string kube_proxy_version;
  std::string operating_system;
  std::string architecture;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("machineID", s.machine_id, kAlways);
    v("systemUUID", s.system_uuid, kAlways);
    v("bootID", s.boot_id, kAlways);
    v("kernelVersion", s.kernel_version, kAlways);
    v("osImage", s.os_image, kAlways);
    v("containerRuntimeVersion", s.container_runtime_version, kAlways);
    v("kubeletVersion", s.kubelet_version, kAlways);
    v("kubeProxyVersion", s.kube_proxy_version, kAlways);
    v("operatingSystem", s.operating_system, kAlways);
    v("architecture", s.architecture, kAlways);
  }
  bool operator==(const NodeSystemInfo&) const = default;
};

struct NodeStatus {
  std::map<std::string, Quantity> capacity;
  std::map<std::string, Quantity> allocatable;
  std::string phase;
  std::vector<NodeCondition> conditions;
  std::vector<NodeAddress> addresses;
  NodeDaemonEndpoints daemon_endpoints;
  std::optional<NodeSystemInfo> node_info;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("capacity", s.capacity);
    v("allocatable", s.allocatable);
    v("phase", s.phase);
    v("conditions", s.conditions);
    v("addresses", s.addresses);
    v("daemonEndpoints", s.daemon_endpoints);
    v("nodeInfo", s.node_info);
  }
  bool operator==(const NodeStatus&) const = default;
};

struct Node {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "Node";
  static constexpr const char* kListKind = "NodeList";
  ObjectMeta metadata;
  NodeSpec spec;
  NodeStatus status;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
    v("status", s.status);
  }
  bool operator==(const Node&) const = default;
};

}  // namespace knet::api
