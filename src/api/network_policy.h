// File: api/network_policy.h
//
// networking.k8s.io/v1 NetworkPolicy, the full v1 spec. Note the pointer semantics that matter:
// an absent podSelector/namespaceSelector in a peer differs from an empty one (which selects
// all), so they are std::optional here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/field.h"
#include "api/meta.h"
#include "api/values.h"

namespace knet::api {

struct IPBlock {
  std::string cidr;
  std::vector<std::string> except;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("cidr", s.cidr, kAlways);
    v("except", s.except);
  }
  bool operator==(const IPBlock&) const = default;
};

struct NetworkPolicyPeer {
  std::optional<LabelSelector> pod_selector;
  std::optional<LabelSelector> namespace_selector;
  std::optional<IPBlock> ip_block;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("podSelector", s.pod_selector);
    v("namespaceSelector", s.namespace_selector);
    v("ipBlock", s.ip_block);
  }
  bool operator==(const NetworkPolicyPeer&) const = default;
};

struct NetworkPolicyPort {
  std::optional<std::string> protocol;  // defaulted to TCP
  std::optional<IntOrString> port;
  std::optional<int32_t> end_port;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("protocol", s.protocol);
    v("port", s.port);
    v("endPort", s.end_port);
  }
  bool operator==(const NetworkPolicyPort&) const = default;
};

struct NetworkPolicyIngressRule {
  std::vector<NetworkPolicyPort> ports;
  std::vector<NetworkPolicyPeer> from;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ports", s.ports);
    v("from", s.from);
  }
  bool operator==(const NetworkPolicyIngressRule&) const = default;
};

struct NetworkPolicyEgressRule {
  std::vector<NetworkPolicyPort> ports;
  std::vector<NetworkPolicyPeer> to;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("ports", s.ports);
    v("to", s.to);
  }
  bool operator==(const NetworkPolicyEgressRule&) const = default;
};

struct NetworkPolicySpec {
  LabelSelector pod_selector;  // empty selects every pod in the namespace
  std::vector<NetworkPolicyIngressRule> ingress;
  std::vector<NetworkPolicyEgressRule> egress;
  std::vector<std::string> policy_types;  // Ingress, Egress
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("podSelector", s.pod_selector, kAlways);
    v("ingress", s.ingress);
    v("egress", s.egress);
    v("policyTypes", s.policy_types);
  }
  bool operator==(const NetworkPolicySpec&) const = default;
};

struct NetworkPolicy {
  static constexpr const char* kApiVersion = "networking.k8s.io/v1";
  static constexpr const char* kKind = "NetworkPolicy";
  static constexpr const char* kListKind = "NetworkPolicyList";
  ObjectMeta metadata;
  NetworkPolicySpec spec;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
  }
  bool operator==(const NetworkPolicy&) const = default;
};

}  // namespace knet::api
