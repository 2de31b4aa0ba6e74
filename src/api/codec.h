// File: api/codec.h
//
// JSON encoding and decoding of the API types in the Kubernetes wire format.
//
//   std::string body = api::EncodeJson(pod);        // {"apiVersion":"v1","kind":"Pod",...}
//   std::vector<std::string> warnings;               // unknown field "spec.foo"
//   ASSIGN_OR_RETURN(api::Pod p, api::DecodeJson<api::Pod>(body, {}, &warnings));
//
// Decoding follows Kubernetes: JSON null is the zero value; a wrong type is an error naming the
// field path ("spec.ports[0].port: expected integer, got string \"http\""); unknown and duplicate
// fields are dropped with a warning, or are errors with DecodeOptions{.strict = true}.
// EncodeJson/DecodeJson are defined for every top-level kind in api/object.h, their List types,
// and meta types (ObjectMeta, LabelSelector, Status, WatchEvent). Thread-safe (no shared state).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/field.h"
#include "base/status.h"

namespace knet::api {

// Decoding stops collecting after this many errors.
inline constexpr size_t kMaxDecodeErrors = 20;

struct DecodeOptions {
  // Unknown or duplicate fields are errors instead of warnings (fieldValidation=Strict).
  bool strict = false;
};

// Compact JSON. Top-level kinds carry apiVersion and kind.
template <class T>
std::string EncodeJson(const T& obj);

// Decodes from a parsed document.
template <class T>
base::StatusOr<T> DecodeJson(const nlohmann::json& doc, const DecodeOptions& opts = {},
                             std::vector<std::string>* warnings = nullptr);

// Parses then decodes. Duplicate keys are reported like unknown fields.
template <class T>
base::StatusOr<T> DecodeJson(std::string_view text, const DecodeOptions& opts = {},
                             std::vector<std::string>* warnings = nullptr);

// The status for a list of "path: reason" decode errors (InvalidArgument, joined by "; ").
base::Status DecodeErrorStatus(const std::vector<std::string>& errors);

}  // namespace knet::api
