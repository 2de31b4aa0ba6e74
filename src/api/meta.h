// File: api/meta.h
//
// meta/v1: ObjectMeta, OwnerReference, ListMeta, LabelSelector, Status, WatchEvent, and the
// generic List<T> every list response uses. Field names and JSON names follow upstream exactly.
// Plain structs (thread-compatible), compared with ==.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/field.h"
#include "api/values.h"

namespace knet::api {

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> block_owner_deletion;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("apiVersion", s.api_version, kAlways);
    v("kind", s.kind, kAlways);
    v("name", s.name, kAlways);
    v("uid", s.uid, kAlways);
    v("controller", s.controller);
    v("blockOwnerDeletion", s.block_owner_deletion);
  }
  bool operator==(const OwnerReference&) const = default;
};

struct ObjectMeta {
  std::string name;
  std::string generate_name;
  std::string namespace_;
  std::string self_link;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  Time creation_timestamp;
  Time deletion_timestamp;
  std::optional<int64_t> deletion_grace_period_seconds;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<OwnerReference> owner_references;
  std::vector<std::string> finalizers;
  // Server-side apply bookkeeping; kept opaque so objects from real clusters round-trip.
  nlohmann::json managed_fields;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("generateName", s.generate_name);
    v("namespace", s.namespace_);
    v("selfLink", s.self_link);
    v("uid", s.uid);
    v("resourceVersion", s.resource_version);
    v("generation", s.generation);
    v("creationTimestamp", s.creation_timestamp);
    v("deletionTimestamp", s.deletion_timestamp);
    v("deletionGracePeriodSeconds", s.deletion_grace_period_seconds);
    v("labels", s.labels);
    v("annotations", s.annotations);
    v("ownerReferences", s.owner_references);
    v("finalizers", s.finalizers);
    v("managedFields", s.managed_fields);
  }
  bool operator==(const ObjectMeta&) const = default;
};

struct ListMeta {
  std::string self_link;
  std::string resource_version;
  std::string continue_;
  std::optional<int64_t> remaining_item_count;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("selfLink", s.self_link);
    v("resourceVersion", s.resource_version);
    v("continue", s.continue_);
    v("remainingItemCount", s.remaining_item_count);
  }
  bool operator==(const ListMeta&) const = default;
};

struct LabelSelectorRequirement {
  std::string key;
  std::string operator_;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("key", s.key, kAlways);
    v("operator", s.operator_, kAlways);
    v("values", s.values);
  }
  bool operator==(const LabelSelectorRequirement&) const = default;
};

struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("matchLabels", s.match_labels);
    v("matchExpressions", s.match_expressions);
  }
  bool operator==(const LabelSelector&) const = default;
};

// metav1.Condition (used by Service status and newer APIs).
struct Condition {
  std::string type;
  std::string status;  // True, False, Unknown
  int64_t observed_generation = 0;
  Time last_transition_time;
  std::string reason;
  std::string message;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type, kAlways);
    v("status", s.status, kAlways);
    v("observedGeneration", s.observed_generation);
    v("lastTransitionTime", s.last_transition_time, kAlways);
    v("reason", s.reason, kAlways);
    v("message", s.message, kAlways);
  }
  bool operator==(const Condition&) const = default;
};

struct StatusCause {
  std::string reason;  // e.g. FieldValueInvalid
  std::string message;
  std::string field;  // e.g. spec.ports[0].port
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("reason", s.reason);
    v("message", s.message);
    v("field", s.field);
  }
  bool operator==(const StatusCause&) const = default;
};

struct StatusDetails {
  std::string name;
  std::string group;
  std::string kind;
  std::string uid;
  std::vector<StatusCause> causes;
  int32_t retry_after_seconds = 0;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("name", s.name);
    v("group", s.group);
    v("kind", s.kind);
    v("uid", s.uid);
    v("causes", s.causes);
    v("retryAfterSeconds", s.retry_after_seconds);
  }
  bool operator==(const StatusDetails&) const = default;
};

// metav1.Status: the body of every API error.
struct Status {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "Status";
  ListMeta metadata;
  std::string status;  // Success or Failure
  std::string message;
  std::string reason;  // NotFound, AlreadyExists, Conflict, Invalid, ...
  std::optional<StatusDetails> details;
  int32_t code = 0;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata, kAlways);
    v("status", s.status);
    v("message", s.message);
    v("reason", s.reason);
    v("details", s.details);
    v("code", s.code);
  }
  bool operator==(const Status&) const = default;
};

// metav1.WatchEvent: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, with the object as JSON.
struct WatchEvent {
  static constexpr const char* kApiVersion = "v1";
  static constexpr const char* kKind = "WatchEvent";
  std::string type;
  nlohmann::json object;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("type", s.type, kAlways);
    v("object", s.object, kAlways);
  }
  bool operator==(const WatchEvent&) const = default;
};

// The list type of a kind: PodList, ServiceList, ... (kind = T::kKind + "List").
template <class T>
struct List {
  static constexpr const char* kApiVersion = T::kApiVersion;
  static constexpr const char* kKind = T::kListKind;
  ListMeta metadata;
  std::vector<T> items;
  template <class S, class V>
  static void Fields(S& s, V& v) {
    v("metadata", s.metadata, kAlways);
    v("items", s.items, kAlways);
  }
  bool operator==(const List&) const = default;
};

}  // namespace knet::api
