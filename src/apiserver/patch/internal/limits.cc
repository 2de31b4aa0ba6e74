#include "apiserver/patch/internal/limits.h"

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

size_t ApproxSize(const nlohmann::json& v, size_t limit) {
  size_t total = 0;
  std::vector<const nlohmann::json*> stack = {&v};
  while (!stack.empty() && total <= limit) {
    const nlohmann::json* node = stack.back();
    stack.pop_back();
    total += 16;
    if (node->is_string()) {
      total += node->get_ref<const std::string&>().size();
    } else if (node->is_object()) {
      for (const auto& [key, child] : node->items()) {
        total += key.size();
        stack.push_back(&child);
      }
    } else if (node->is_array()) {
      for (const nlohmann::json& child : *node) stack.push_back(&child);
    }
  }
  return total;
}

}  // namespace knet::apiserver::patch::patch_internal
