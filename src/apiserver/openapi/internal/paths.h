// File: apiserver/openapi/internal/paths.h
//
// The `paths` object of a group-version's OpenAPI v3 document: for every served resource its
// collection, item and subresource paths (namespaced and across namespaces), each operation with
// x-kubernetes-action, x-kubernetes-group-version-kind, the query parameters kube-apiserver takes
// (dryRun, fieldManager, fieldValidation on writes; labelSelector, watch, ... on lists) and the
// request bodies (the four patch content types on PATCH).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "apiserver/openapi/internal/schema.h"
#include "apiserver/resources.h"

namespace knet::apiserver::openapi::internal {

// Component name of the schema for (apiVersion, kind), e.g. ("apps/v1", "DeploymentList");
// empty when no schema is registered (the operation then says so in a description instead of
// referring to a missing component).
using SchemaNameFn =
    std::function<std::string(std::string_view api_version, std::string_view kind)>;

// Component names the operations refer to besides the kinds: they must be in the document.
inline constexpr std::string_view kStatusSchema = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
inline constexpr std::string_view kDeleteOptionsSchema =
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
inline constexpr std::string_view kWatchEventSchema =
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
inline constexpr std::string_view kPatchSchema = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";

// Every path of the resources served at (group, version).
Json PathsFor(std::string_view group, std::string_view version, const SchemaNameFn& schema_name);

}  // namespace knet::apiserver::openapi::internal
