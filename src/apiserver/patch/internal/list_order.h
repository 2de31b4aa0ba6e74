// Element ordering of merged lists in a strategic merge patch, after upstream's
// normalizeElementOrder (k8s.io/apimachinery/pkg/util/strategicpatch): elements named by `order`
// come in that order, the others keep the relative order they had in the live list, and the two
// groups are interleaved by their positions in the live list.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace knet::apiserver::patch::patch_internal {

// True when `a` and `b` are the same list element: equal values for a primitive list
// (merge_key ""), or objects with equal `merge_key` members.
bool SameElement(const nlohmann::json& a, const nlohmann::json& b, std::string_view merge_key);

// Reorders `merged` (an array). `order` is the patch list or a $setElementOrder list; `live` is the
// list before patching. Elements not found anywhere go last, in their current order.
// REQUIRES: merged, order and live are arrays.
nlohmann::json NormalizeElementOrder(const nlohmann::json& merged, const nlohmann::json& order,
                                     const nlohmann::json& live, std::string_view merge_key);

}  // namespace knet::apiserver::patch::patch_internal
