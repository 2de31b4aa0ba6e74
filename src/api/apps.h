// File: api/apps.h
//
// apps/v1 Deployment and ReplicaSet: replicas of a pod template, rolled out with maxSurge and
// maxUnavailable, with the status fields and conditions kubectl's rollout commands read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/field.h"
#include "api/meta.h"
#include "api/pod.h"
#include "api/values.h"

namespace knet::api {

struct RollingUpdateDeployment {
  std::optional<IntOrString> max_unavailable;  // defaulted to 25%
  std::optional<IntOrString> max_surge;        // defaulted to 25%
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("maxUnavailable", s.max_unavailable);
    v("maxSurge", s.max_surge);
  }
  bool operator==(const RollingUpdateDeployment&) const = default;
};

struct DeploymentStrategy {
  std::string type;  // RollingUpdate (default) or Recreate
  std::optional<RollingUpdateDeployment> rolling_update;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type);
    v("rollingUpdate", s.rolling_update);
  }
  bool operator==(const DeploymentStrategy&) const = default;
};

struct DeploymentSpec {
  std::optional<int32_t> replicas;  // defaulted to 1
  std::optional<LabelSelector> selector;
  PodTemplateSpec template_;
  DeploymentStrategy strategy;
  int32_t min_ready_seconds = 0;
  std::optional<int32_t> revision_history_limit;  // defaulted to 10
  bool paused = false;
  std::optional<int32_t> progress_deadline_seconds;  // defaulted to 600
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("replicas", s.replicas);
    v("selector", s.selector);
    v("template", s.template_, kAlways);
    v("strategy", s.strategy);
    v("minReadySeconds", s.min_ready_seconds);
    v("revisionHistoryLimit", s.revision_history_limit);
    v("paused", s.paused);
    v("progressDeadlineSeconds", s.progress_deadline_seconds);
  }
  bool operator==(const DeploymentSpec&) const = default;
};

struct DeploymentCondition {
  std::string type;  // Available, Progressing, ReplicaFailure
  std::string status;
  Time last_update_time;
  Time last_transition_time;
  std::string reason;
  std::string message;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type, kAlways);
    v("status", s.status, kAlways);
    v("lastUpdateTime", s.last_update_time);
    v("lastTransitionTime", s.last_transition_time);
    v("reason", s.reason);
    v("message", s.message);
  }
  bool operator==(const DeploymentCondition&) const = default;
};

struct DeploymentStatus {
  int64_t observed_generation = 0;
  int32_t replicas = 0;
  int32_t updated_replicas = 0;
  int32_t ready_replicas = 0;
  int32_t available_replicas = 0;
  int32_t unavailable_replicas = 0;
  std::vector<DeploymentCondition> conditions;
  std::optional<int32_t> collision_count;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("observedGeneration", s.observed_generation);
    v("replicas", s.replicas);
    v("updatedReplicas", s.updated_replicas);
    v("readyReplicas", s.ready_replicas);
    v("availableReplicas", s.available_replicas);
    v("unavailableReplicas", s.unavailable_replicas);
    v("conditions", s.conditions);
    v("collisionCount", s.collision_count);
  }
  bool operator==(const DeploymentStatus&) const = default;
};

struct Deployment {
  static constexpr const char* kApiVersion = "apps/v1";
  static constexpr const char* kKind = "Deployment";
  static constexpr const char* kListKind = "DeploymentList";
  ObjectMeta metadata;
  DeploymentSpec spec;
  DeploymentStatus status;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
    v("status", s.status);
  }
  bool operator==(const Deployment&) const = default;
};

struct ReplicaSetSpec {
  std::optional<int32_t> replicas;  // defaulted to 1
  int32_t min_ready_seconds = 0;
  std::optional<LabelSelector> selector;
  PodTemplateSpec template_;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("replicas", s.replicas);
    v("minReadySeconds", s.min_ready_seconds);
    v("selector", s.selector);
    v("template", s.template_);
  }
  bool operator==(const ReplicaSetSpec&) const = default;
};

struct ReplicaSetCondition {
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
  bool operator==(const ReplicaSetCondition&) const = default;
};

struct ReplicaSetStatus {
  int32_t replicas = 0;
  int32_t fully_labeled_replicas = 0;
  int32_t ready_replicas = 0;
  int32_t available_replicas = 0;
  int64_t observed_generation = 0;
  std::vector<ReplicaSetCondition> conditions;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("replicas", s.replicas, kAlways);
    v("fullyLabeledReplicas", s.fully_labeled_replicas);
    v("readyReplicas", s.ready_replicas);
    v("availableReplicas", s.available_replicas);
    v("observedGeneration", s.observed_generation);
    v("conditions", s.conditions);
  }
  bool operator==(const ReplicaSetStatus&) const = default;
};

struct ReplicaSet {
  static constexpr const char* kApiVersion = "apps/v1";
  static constexpr const char* kKind = "ReplicaSet";
  static constexpr const char* kListKind = "ReplicaSetList";
  ObjectMeta metadata;
  ReplicaSetSpec spec;
  ReplicaSetStatus status;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata);
    v("spec", s.spec);
    v("status", s.status);
  }
  bool operator==(const ReplicaSet&) const = default;
};

}  // namespace knet::api
