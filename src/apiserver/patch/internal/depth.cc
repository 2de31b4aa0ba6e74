#include "apiserver/patch/internal/depth.h"

#include <string>
#include <utility>
#include <vector>

namespace knet::apiserver::patch::patch_internal {

int NestingDepth(const nlohmann::json& v, int limit) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> stack = {{&v, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return limit + 1;
    if (node->is_object() || node->is_array()) {
      for (const nlohmann::json& child : *node) {
        if (child.is_object() || child.is_array()) {
          stack.emplace_back(&child, depth + 1);
        } else if (depth + 1 > deepest) {
          deepest = depth + 1;
        }
      }
    }
  }
  return deepest > limit ? limit + 1 : deepest;
}

base::Status CheckDepth(const nlohmann::json& v, int limit, std::string_view what) {
  if (NestingDepth(v, limit) > limit) {
    return base::InvalidArgumentError(std::string(what) + " is nested deeper than " +
                                      std::to_string(limit) + " levels");
  }
  return base::OkStatus();
}

}  // namespace knet::apiserver::patch::patch_internal
