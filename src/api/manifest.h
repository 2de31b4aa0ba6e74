// File: api/manifest.h
//
// Reading and writing manifests as kubectl does: JSON or multi-document YAML, `kind: List`
// unwrapped into its items, every object decoded by its apiVersion/kind. Errors say where:
//
//   web.yaml: document 2 (Service "web-svc"): spec.ports[0].port: expected integer, got string "x"
//
//   std::vector<std::string> warnings;
//   ASSIGN_OR_RETURN(auto objects, api::DecodeManifest(text, "web.yaml", {}, &warnings));
//   std::string yaml = api::EncodeManifestYaml(objects);
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/object.h"
#include "base/status.h"

namespace knet::api {

// Decodes every object in `text`. `source` names the input in messages (a file name, "stdin").
// Warnings (unknown or duplicate fields) are prefixed the same way.
base::StatusOr<std::vector<Object>> DecodeManifest(std::string_view text, std::string_view source,
                                                   const DecodeOptions& opts = {},
                                                   std::vector<std::string>* warnings = nullptr);

// One YAML document per object, separated by ---.
std::string EncodeManifestYaml(const std::vector<Object>& objects);

// The object as a YAML document (what `kubectl get -o yaml` shows).
std::string EncodeYaml(const Object& object);

}  // namespace knet::api
