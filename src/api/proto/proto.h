// File: api/proto/proto.h
//
// Kubernetes protobuf request bodies (Content-Type application/vnd.kubernetes.protobuf), as
// kubectl sends them for `kubectl create namespace|deployment|service|configmap ...`: the magic
// "k8s\0", then a runtime.Unknown envelope whose typeMeta names the kind and whose raw field holds
// the object's own protobuf serialization. DecodeProtobuf turns such a body into the JSON document
// the same object has in Kubernetes' JSON form, so the server runs its normal JSON decoder next:
//
//   if (content_type == api::proto::kProtobufContentType) {
//     ASSIGN_OR_RETURN(nlohmann::json doc, api::proto::DecodeProtobuf(body));
//     ASSIGN_OR_RETURN(api::Object obj, api::DecodeObject(doc));
//   }
//
// Kinds: v1 Namespace, Node, Pod, Service, Endpoints, Event, ConfigMap, Binding;
// discovery.k8s.io/v1 EndpointSlice; networking.k8s.io/v1 NetworkPolicy; apps/v1 Deployment,
// ReplicaSet; coordination.k8s.io/v1 Lease; autoscaling/v1 Scale; DeleteOptions in meta.k8s.io/v1
// and in every group version above (upstream registers it in each). Only the fields knet models
// are decoded; other field numbers are skipped, as protobuf does. Thread-safe (no shared state).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::api::proto {

inline constexpr std::string_view kProtobufContentType = "application/vnd.kubernetes.protobuf";

// Decodes a Kubernetes protobuf body (with the k8s\0 envelope) into the object's JSON document:
// apiVersion and kind from the envelope's typeMeta; fields named as in JSON; Time as RFC 3339
// (seconds, as upstream's protobuf Time carries), MicroTime with microseconds; IntOrString as int
// or string; Quantity as its string; bytes (ConfigMap binaryData) as base64; Probe's handler
// inlined. A field present on the wire is written even when empty (the JSON decoder treats "" and
// 0 like absence); absent fields, empty lists and zero Times are left out.
// Errors (InvalidArgument, naming what and where): missing or wrong magic, a truncated or malformed
// envelope or message, a known field sent with the wrong wire type, invalid UTF-8 in a string,
// an unknown apiVersion/kind ("no kind \"Foo\" is registered for version \"v1\""), a non-empty
// contentEncoding, an out-of-range time, a bad IntOrString type or Quantity.
base::StatusOr<nlohmann::json> DecodeProtobuf(std::string_view body);

// The inverse envelope: "k8s\0" + runtime.Unknown{typeMeta{api_version, kind}, raw}. For tests and
// clients that already hold an object's protobuf serialization.
std::string WrapEnvelope(std::string_view api_version, std::string_view kind, std::string_view raw);

}  // namespace knet::api::proto
