// File: apiserver/openapi/internal/extra_types.h
//
// Kinds the OpenAPI documents describe that have no type in src/api because no knet code stores
// them: meta/v1 DeleteOptions (the body of DELETE), core/v1 Binding (pods/binding) and
// autoscaling/v1 Scale (deployments/scale). They are declared here with Fields() lists in the
// same form as the api types, so their schemas come out of the same generator. Field names and
// JSON names follow upstream; if src/api grows one of these kinds, use it instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/core.h"
#include "api/field.h"
#include "api/meta.h"

namespace knet::apiserver::openapi::internal {

struct Preconditions {
  std::optional<std::string> uid;
  std::optional<std::string> resource_version;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("uid", s.uid);
    v("resourceVersion", s.resource_version);
  }
};

struct DeleteOptions {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "DeleteOptions";
  std::optional<int64_t> grace_period_seconds;
  std::optional<Preconditions> preconditions;
  std::optional<bool> orphan_dependents;
  std::optional<std::string> propagation_policy;
  std::vector<std::string> dry_run;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("gracePeriodSeconds", s.grace_period_seconds);
    v("preconditions", s.preconditions);
    v("orphanDependents", s.orphan_dependents);
    v("propagationPolicy", s.propagation_policy);
    v("dryRun", s.dry_run);
  }
};

struct Binding {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "Binding";
  api::ObjectMeta metadata;
  api::ObjectReference target;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("target", s.target, api::kAlways);
  }
};

struct ScaleSpec {
  int32_t replicas = 0;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("replicas", s.replicas);
  }
};

struct ScaleStatus {
  int32_t replicas = 0;
  std::string selector;  // label query in string form, e.g. "app=web"
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("replicas", s.replicas, api::kAlways);
    v("selector", s.selector);
  }
};

struct Scale {
  static constexpr const char* kApiVersion = "autoscaling/v1";
  static constexpr const char* kKind = "Scale";
  api::ObjectMeta metadata;
  ScaleSpec spec;
  ScaleStatus status;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
    v("status", s.status);
  }
};

}  // namespace knet::apiserver::openapi::internal
