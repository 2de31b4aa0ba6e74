// File: apiserver/patch/patch.h
//
// The three PATCH flavours the API server accepts, applied to an object already converted to JSON.
// The server decodes, validates and stores the result; these functions only transform JSON.
//
//   application/json-patch+json           ApplyJsonPatch           (RFC 6902)
//   application/merge-patch+json          ApplyMergePatch          (RFC 7386)
//   application/strategic-merge-patch+json ApplyStrategicMergePatch (Kubernetes)
//
//   ASSIGN_OR_RETURN(nlohmann::json patched,
//                    ApplyStrategicMergePatch(stored, patch, "Deployment"));
//
// All functions are pure (no state, thread-safe), never throw, and leave `doc` untouched: on error
// nothing is half-applied. Errors are InvalidArgument with a message that names the operation or
// field path at fault. Documents and patches nested deeper than kMaxPatchDepth are rejected.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace knet::apiserver::patch {

// Nesting limit for documents and patches (objects and arrays both count one level).
inline constexpr int kMaxPatchDepth = 100;

// Most operations one JSON patch may hold (upstream's maxJSONPatchOperations).
inline constexpr size_t kMaxJsonPatchOperations = 10000;

// RFC 6902 JSON Patch: `patch` is an array of operations (add, remove, replace, move, copy, test),
// applied in order; paths are JSON Pointers (RFC 6901: ~0 and ~1 escapes, "-" appends to an array
// in add/move/copy targets). Errors name the 0-based operation index, the op and its path:
//   "operation 2 (replace /spec/replicas): path not found"
// A failed test is an error: "operation 0 (test /a): test failed: value is 1, test expects 2".
// More than kMaxJsonPatchOperations operations is ResourceExhausted (upstream answers 413).
// Copy operations may copy at most 16 MiB (estimated) in total per patch.
base::StatusOr<nlohmann::json> ApplyJsonPatch(const nlohmann::json& doc,
                                              const nlohmann::json& patch);

// RFC 7386 JSON Merge Patch: objects merge recursively, null deletes a member, anything else
// (arrays included) replaces. A non-object patch replaces the whole document, as the RFC says; the
// caller's decoding of the result rejects that for Kubernetes objects.
base::StatusOr<nlohmann::json> ApplyMergePatch(const nlohmann::json& doc,
                                               const nlohmann::json& patch);

// Kubernetes strategic merge patch for the built-in kind `kind` ("Pod", "Deployment", ...), as in
// k8s.io/apimachinery/pkg/util/strategicpatch (server side, null values for absent fields are
// ignored). `patch` must be a JSON object. Maps merge as in a merge patch; for lists the field's
// patch strategy (see patch_meta.h) decides:
//   - merge with a merge key (containers by "name"): elements with equal keys merge, new ones are
//     added; a patch element {"$patch": "delete", "<key>": v} removes the element with key v;
//     an element {"$patch": "replace"} makes the list exactly the patch's other elements;
//   - merge without key (finalizers): union of values; "$deleteFromPrimitiveList/<field>": [...]
//     removes values;
//   - no strategy (or an unknown kind): the patch list replaces the list.
// Merged lists keep the patch's order, with the server-only elements placed as in the live list;
// "$setElementOrder/<field>": [...] imposes an explicit order (what kubectl apply and edit send).
// In maps, "$patch": "replace" replaces the map with the patch, "$patch": "delete" empties it, and
// "$retainKeys": [...] drops every live field not listed (Deployment spec.strategy, volumes).
base::StatusOr<nlohmann::json> ApplyStrategicMergePatch(const nlohmann::json& doc,
                                                        const nlohmann::json& patch,
                                                        std::string_view kind);

}  // namespace knet::apiserver::patch
