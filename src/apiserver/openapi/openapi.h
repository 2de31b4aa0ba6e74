// File: apiserver/openapi/openapi.h
//
// The OpenAPI v3 documents kube-apiserver serves under /openapi/v3, generated from the resource
// table (apiserver/resources.h), the api types' Fields() lists and the strategic-merge-patch
// metadata (apiserver/patch/patch_meta.h). kubectl 1.32 reads them to check that the server
// validates fields (the fieldValidation query parameter on PATCH), for `kubectl explain`, and for
// the patch strategies `kubectl apply` merges lists with.
//
//   GET /openapi/v3                -> OpenApiV3IndexJson()
//   GET /openapi/v3/apis/apps/v1   -> OpenApiV3DocumentJson("apis/apps/v1")
//
// Documents are built once, on first use, and cached; every function is thread-safe. The hash in
// each serverRelativeURL is a digest of the document's bytes, so clients may cache a document for
// as long as its URL stays the same (kube-apiserver answers such URLs with
// Cache-Control: public, immutable).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace knet::apiserver::openapi {

// {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=<HEX>"}, ...}}
std::string OpenApiV3IndexJson();

// "api/v1" or "apis/<group>/<version>" (a leading '/' is accepted): the OpenAPI 3.0 document
// {openapi: "3.0.0", info, paths, components: {schemas}} for that group-version. NotFound for a
// group-version knet does not serve.
base::StatusOr<std::string> OpenApiV3DocumentJson(std::string_view gv_path);

// The hash OpenApiV3IndexJson() advertises for `gv_path` (upper-case hex), NotFound as above. A
// server compares it with the request's ?hash= to decide whether the response is immutable.
base::StatusOr<std::string> OpenApiV3DocumentHash(std::string_view gv_path);

// "api/v1", "apis/apps/v1", ... in the order of the index.
std::vector<std::string> OpenApiV3Paths();

}  // namespace knet::apiserver::openapi
