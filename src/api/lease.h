// File: api/lease.h
//
// coordination.k8s.io/v1 Lease: the node heartbeat (one per node in kube-node-lease) and the
// leader-election lock. Times are MicroTime on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/field.h"
#include "api/meta.h"
#include "api/values.h"

namespace knet::api {

struct LeaseSpec {
  std::optional<std::string> holder_identity;
  std::optional<int32_t> lease_duration_seconds;
  MicroTime acquire_time;
  MicroTime renew_time;
  std::optional<int32_t> lease_transitions;
  std::optional<std::string> strategy;
  std::optional<std::string> preferred_holder;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("holderIdentity", s.holder_identity);
    v("leaseDurationSeconds", s.lease_duration_seconds);
    v("acquireTime", s.acquire_time);
    v("renewTime", s.renew_time);
    v("leaseTransitions", s.lease_transitions);
    v("strategy", s.strategy);
    v("preferredHolder", s.preferred_holder);
  }
  bool operator==(const LeaseSpec&) const = default;
};

struct Lease {
  static constexpr const char* kApiVersion = "coordination.k8s.io/v1";
  static constexpr const char* kKind = "Lease";
  static constexpr const char* kListKind = "LeaseList";
  ObjectMeta metadata;
  LeaseSpec spec;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
  }
  bool operator==(const Lease&) const = default;
};

}  // namespace knet::api
