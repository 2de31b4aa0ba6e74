// File: api/endpoint_slice.h
//
// discovery.k8s.io/v1 EndpointSlice: a bounded set of endpoints of one Service and address
// family, each with ready/serving/terminating conditions. The service proxy programs from these.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/core.h"
#include "api/field.h"
#include "api/meta.h"

namespace knet::api {

struct EndpointConditions {
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ready", s.ready);
    v("serving", s.serving);
    v("terminating", s.terminating);
  }
  bool operator==(const EndpointConditions&) const = default;
};

struct ForZone {
  std::string name;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name, kAlways);
  }
  bool operator==(const ForZone&) const = default;
};

struct EndpointHints {
  std::vector<ForZone> for_zones;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("forZones", s.for_zones);
  }
  bool operator==(const EndpointHints&) const = default;
};

// discovery/v1 Endpoint.
struct Endpoint {
  std::vector<std::string> addresses;
  EndpointConditions conditions;
  std::optional<std::string> hostname;
  std::optional<ObjectReference> target_ref;
  std::map<std::string, std::string> deprecated_topology;
  std::optional<std::string> node_name;
  std::optional<std::string> zone;
  std::optional<EndpointHints> hints;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("addresses", s.addresses, kAlways);
    v("conditions", s.conditions);
    v("hostname", s.hostname);
    v("targetRef", s.target_ref);
    v("deprecatedTopology", s.deprecated_topology);
    v("nodeName", s.node_name);
    v("zone", s.zone);
    v("hints", s.hints);
  }
  bool operator==(const Endpoint&) const = default;
};

// discovery/v1 EndpointPort: every field is optional upstream.
struct EndpointSlicePort {
  std::optional<std::string> name;
  std::optional<std::string> protocol;
  std::optional<int32_t> port;
  std::optional<std::string> app_protocol;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("protocol", s.protocol);
    v("port", s.port);
    v("appProtocol", s.app_protocol);
  }
  bool operator==(const EndpointSlicePort&) const = default;
};

struct EndpointSlice {
  static constexpr const char* kApiVersion = "discovery.k8s.io/v1";
  static constexpr const char* kKind = "EndpointSlice";
  static constexpr const char* kListKind = "EndpointSliceList";
  ObjectMeta metadata;
  std::string address_type;  // IPv4, IPv6, FQDN
  std::vector<Endpoint> endpoints;
  std::vector<EndpointSlicePort> ports;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("addressType", s.address_type, kAlways);
    v("endpoints", s.endpoints, kAlways);
    v("ports", s.ports);
  }
  bool operator==(const EndpointSlice&) const = default;
};

}  // namespace knet::api
