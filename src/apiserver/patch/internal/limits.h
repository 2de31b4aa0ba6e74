// Resource guards shared by the patch functions. nlohmann::json copies and our merges recurse, so
// untrusted documents and patches are measured (without recursion) before they are touched, and
// JSON patch "copy" operations, which can double a document each time, are given a size budget.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/status.h"

namespace knet::apiserver::patch::patch_internal {

// 1 for a scalar, 1 + the deepest child for an array or object. Stops counting past `limit`
// (returns limit + 1 then), so the cost is bounded by the part of `v` within the limit.
int NestingDepth(const nlohmann::json& v, int limit);

// InvalidArgument "<what> is nested deeper than <limit> levels" when NestingDepth(v) > limit.
base::Status CheckDepth(const nlohmann::json& v, int limit, std::string_view what);

// A rough size in bytes (16 per value plus string and key lengths), counted without recursion and
// stopping once it passes `limit` (then some value > limit is returned).
size_t ApproxSize(const nlohmann::json& v, size_t limit);

}  // namespace knet::apiserver::patch::patch_internal
