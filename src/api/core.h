// File: api/core.h
//
// The smaller core/v1 kinds: Namespace, Endpoints (the legacy endpoint model that
// `kubectl get endpoints` shows), Event, and ObjectReference, which several kinds embed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/field.h"
#include "api/meta.h"
#include "api/values.h"

namespace knet::api {

struct ObjectReference {
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string api_version;
  std::string resource_version;
  std::string field_path;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("kind", s.kind);
    v("namespace", s.namespace_);
    v("name", s.name);
    v("uid", s.uid);
    v("apiVersion", s.api_version);
    v("resourceVersion", s.resource_version);
    v("fieldPath", s.field_path);
  }
  bool operator==(const ObjectReference&) const = default;
};

struct NamespaceSpec {
  std::vector<std::string> finalizers;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("finalizers", s.finalizers);
  }
  bool operator==(const NamespaceSpec&) const = default;
};

struct NamespaceCondition {
  std::string type;
  std::string status;
  Time last_transition_time;
  std::string reason;
  std::string message;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type, kAlways);
    v("status", s.status, kAlways);
    v("lastTransitionTime", s.last_transition_time);
    v("reason", s.reason);
    v("message", s.message);
  }
  bool operator==(const NamespaceCondition&) const = default;
};

struct NamespaceStatus {
  std::string phase;  // Active or Terminating
  std::vector<NamespaceCondition> conditions;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("phase", s.phase);
    v("conditions", s.conditions);
  }
  bool operator==(const NamespaceStatus&) const = default;
};

struct Namespace {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "Namespace";
  static constexpr const char* kListKind = "NamespaceList";
  ObjectMeta metadata;
  NamespaceSpec spec;
  NamespaceStatus status;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
    v("status", s.status);
  }
  bool operator==(const Namespace&) const = default;
};

struct EndpointAddress {
  std::string ip;
  std::string hostname;
  std::optional<std::string> node_name;
  std::optional<ObjectReference> target_ref;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ip", s.ip, kAlways);
    v("hostname", s.hostname);
    v("nodeName", s.node_name);
    v("targetRef", s.target_ref);
  }
  bool operator==(const EndpointAddress&) const = default;
};

// core/v1 EndpointPort.
struct EndpointPort {
  std::string name;
  int32_t port = 0;
  std::string protocol;
  std::optional<std::string> app_protocol;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("port", s.port, kAlways);
    v("protocol", s.protocol);
    v("appProtocol", s.app_protocol);
  }
  bool operator==(const EndpointPort&) const = default;
};

struct EndpointSubset {
  std::vector<EndpointAddress> addresses;
  std::vector<EndpointAddress> not_ready_addresses;
  std::vector<EndpointPort> ports;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("addresses", s.addresses);
    v("notReadyAddresses", s.not_ready_addresses);
    v("ports", s.ports);
  }
  bool operator==(const EndpointSubset&) const = default;
};

struct Endpoints {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "Endpoints";
  static constexpr const char* kListKind = "EndpointsList";
  ObjectMeta metadata;
  std::vector<EndpointSubset> subsets;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("subsets", s.subsets);
  }
  bool operator==(const Endpoints&) const = default;
};

struct EventSource {
  std::string component;
  std::string host;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("component", s.component);
    v("host", s.host);
  }
  bool operator==(const EventSource&) const = default;
};

struct Event {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "Event";
  static constexpr const char* kListKind = "EventList";
  ObjectMeta metadata;
  ObjectReference involved_object;
  std::string reason;
  std::string message;
  EventSource source;
  Time first_timestamp;
  Time last_timestamp;
  int32_t count = 0;
  std::string type;  // Normal or Warning
  MicroTime event_time;
  std::string action;
  std::string reporting_component;
  std::string reporting_instance;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata, kAlways);
    v("involvedObject", s.involved_object, kAlways);
    v("reason", s.reason);
    v("message", s.message);
    v("source", s.source);
    v("firstTimestamp", s.first_timestamp);
    v("lastTimestamp", s.last_timestamp);
    v("count", s.count);
    v("type", s.type);
    v("eventTime", s.event_time, kAlways);
    v("action", s.action);
    v("reportingComponent", s.reporting_component, kAlways);
    v("reportingInstance", s.reporting_instance, kAlways);
  }
  bool operator==(const Event&) const = default;
};

}  // namespace knet::api
