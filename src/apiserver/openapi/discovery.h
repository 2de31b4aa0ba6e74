// File: apiserver/openapi/discovery.h
//
// The discovery documents kubectl reads before anything else, generated from the served resource
// table (apiserver/resources.h), in the shapes kube-apiserver 1.32 serves:
//
//   GET /version                 VersionJson(knet_version)
//   GET /api                     ApiVersionsJson(addr)      or AggregatedDiscoveryJson(true)
//   GET /apis                    ApiGroupListJson()         or AggregatedDiscoveryJson(false)
//   GET /api/v1, /apis/apps/v1   ApiResourceListJson("apps", "v1")
//
// kubectl 1.32 asks /api and /apis for the aggregated form (apidiscovery.k8s.io/v2) first:
//
//   DiscoveryForm form = NegotiateDiscovery(request.Header("Accept"));
//   if (form == DiscoveryForm::kLegacy) { body = ApiGroupListJson(); }
//   else { body = AggregatedDiscoveryJson(false, form); }
//   response.SetHeader("Content-Type", DiscoveryContentType(form));
//
// All functions are pure and thread-safe; the documents are built once and cached where they do
// not depend on arguments.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::apiserver::openapi {

// The Kubernetes release whose API knet serves; /version reports it (kubectl warns on skew
// computed from major/minor).
inline constexpr std::string_view kKubernetesVersion = "v1.32.0";

// /version: version.Info {major, minor, gitVersion, gitCommit, gitTreeState, buildDate,
// goVersion, compiler, platform}. gitVersion is "v1.32.0+knet.<knet_version>" (semver build
// metadata, characters outside [0-9A-Za-z.-] replaced by '-'), or "v1.32.0" when knet_version is
// empty; gitCommit carries knet_version unchanged.
std::string VersionJson(std::string_view knet_version);

// /api (legacy form): APIVersions {versions: ["v1"], serverAddressByClientCIDRs}.
// `server_address` is "host:port" as clients reach the server.
std::string ApiVersionsJson(std::string_view server_address);

// /apis (legacy form): APIGroupList of every named group served, preferredVersion the first.
std::string ApiGroupListJson();

// /api/<v> and /apis/<group>/<v>: APIResourceList with one entry per resource and one per
// subresource ("pods/status", "deployments/scale" with group autoscaling, version v1, kind Scale).
// NotFound when the group-version is not served.
base::StatusOr<std::string> ApiResourceListJson(std::string_view group, std::string_view version);

enum class DiscoveryForm { kAggregatedV2, kAggregatedV2Beta1, kLegacy };

// Which discovery form an Accept header asks for. Media ranges are weighed by q (default 1, ties
// go to the earlier range); an aggregated range is
//   application/json;g=apidiscovery.k8s.io;v=v2|v2beta1;as=APIGroupDiscoveryList
// and anything else (application/json, */*, protobuf we do not serve, garbage) means legacy.
DiscoveryForm NegotiateDiscovery(std::string_view accept_header);

// The response Content-Type for a form: "application/json;g=apidiscovery.k8s.io;v=v2;
// as=APIGroupDiscoveryList" (no spaces), the v2beta1 variant, or "application/json".
std::string_view DiscoveryContentType(DiscoveryForm form);

// /api (legacy_core = true: the core group only) or /apis (every named group) as an
// APIGroupDiscoveryList of apiVersion apidiscovery.k8s.io/v2 (or v2beta1 when asked; the shape is
// the same). `form` must be an aggregated form; kLegacy is treated as kAggregatedV2.
std::string AggregatedDiscoveryJson(bool legacy_core,
                                    DiscoveryForm form = DiscoveryForm::kAggregatedV2);

}  // namespace knet::apiserver::openapi
