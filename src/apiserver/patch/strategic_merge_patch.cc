// Kubernetes strategic merge patch (server side), after the semantics of
// k8s.io/apimachinery/pkg/util/strategicpatch: mergeMap, mergeSlice and the $-directives.
// Intentional differences: elements and fields new to the live object are merged into an empty
// value, so directives and nulls inside them are processed rather than copied verbatim, and
// "$patch": "merge" in a map is accepted as a no-op.
#include <string>
#include <utility>
#include <vector>

#include "apiserver/patch/internal/limits.h"
#include "apiserver/patch/internal/list_order.h"
#include "apiserver/patch/patch.h"
#include "apiserver/patch/patch_meta.h"

namespace knet::apiserver::patch {
namespace {

using nlohmann::json;
using patch_internal::NormalizeElementOrder;
using patch_internal::SameElement;

constexpr std::string_view kPatchDirective = "$patch";
constexpr std::string_view kRetainKeysDirective = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList/";
constexpr std::string_view kSetElementOrderPrefix = "$setElementOrder/";

bool IsDirective(std::string_view key) {
  return key == kPatchDirective || key == kRetainKeysDirective ||
         key.starts_with(kDeleteFromPrimitiveListPrefix) || key.starts_with(kSetElementOrderPrefix);
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

base::Status Error(const std::string& path, std::string message) {
  return base::InvalidArgumentError(
      "strategic merge patch: " + (path.empty() ? std::string("<root>") : path) + ": " +
      std::move(message));
}

// The $patch directive of an object, "" when absent.
base::StatusOr<std::string> PatchDirective(const json& obj, const std::string& path) {
  auto it = obj.find(kPatchDirective);
  if (it == obj.end()) return std::string();
  if (!it->is_string()) return Error(path, "$patch must be a string");
  return it->get<std::string>();
}

class Merger {
 public:
  explicit Merger(std::string_view kind) : kind_(kind) {}

  // Merges `patch` (an object) into `target` (made an object if it is not one).
  base::Status MergeMap(json& target, const json& patch, const std::string& path, int depth);

 private:
  base::Status ApplyRetainKeys(json& target, const json& patch, const std::string& path);
  base::Status MergeField(json& target, const std::string& key, const json& value,
                          const std::string& path, int depth);
  // Merges the patch list into `live` (nullptr when the field is absent) for field `path`.
  base::StatusOr<json> MergeList(const json* live, const json& patch, const std::string& path,
                                 int depth);
  base::StatusOr<json> MergeObjectList(const json& live, const json& patch,
                                       std::string_view merge_key, const std::string& path,
                                       int depth);
  // The merge key of list field `path` if its strategy merges; nullptr if the list is replaced.
  const ListPatchMeta* MergeMeta(const std::string& path) const;

  std::string_view kind_;
};

const ListPatchMeta* Merger::MergeMeta(const std::string& path) const {
  const ListPatchMeta* meta = LookupPatchMeta(kind_, path);
  if (meta == nullptr) return nullptr;
  if (meta->strategy == "merge" || meta->strategy.starts_with("merge,")) return meta;
  return nullptr;
}

base::Status Merger::ApplyRetainKeys(json& target, const json& patch, const std::string& path) {
  auto it = patch.find(kRetainKeysDirective);
  if (it == patch.end()) return base::OkStatus();
  if (!it->is_array()) return Error(path, "$retainKeys must be a list of field names");
  for (const json& k : *it) {
    if (!k.is_string()) return Error(path, "$retainKeys must be a list of field names");
  }
  auto retained = [&](const std::string& key) {
    for (const json& k : *it) {
      if (k.get_ref<const std::string&>() == key) return true;
    }
    return false;
  };
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null() || IsDirective(key)) continue;
    if (!retained(key)) {
      return Error(path, "field \"" + key + "\" is set by the patch but not listed in $retainKeys");
    }
  }
  std::vector<std::string> drop;
  for (const auto& [key, value] : target.items()) {
    if (!retained(key)) drop.push_back(key);
  }
  for (const std::string& key : drop) target.erase(key);
  return base::OkStatus();
}

base::Status Merger::MergeMap(json& target, const json& patch, const std::string& path, int depth) {
  if (depth > kMaxPatchDepth) {
    return Error(path, "nested deeper than " + std::to_string(kMaxPatchDepth) + " levels");
  }
  if (!target.is_object()) target = json::object();
  ASSIGN_OR_RETURN(std::string directive, PatchDirective(patch, path));
  if (directive == "delete") {
    target = json::object();
    return base::OkStatus();
  }
  if (directive == "replace") {
    target = json::object();
  } else if (!directive.empty() && directive != "merge") {
    return Error(path,
                 "unknown $patch directive \"" + directive + "\" (want replace, delete or merge)");
  }
  RETURN_IF_ERROR(ApplyRetainKeys(target, patch, path));

  // The live lists that $setElementOrder directives order against, before anything changes them.
  std::vector<std::pair<std::string, json>> live_lists;
  for (const auto& [key, value] : patch.items()) {
    if (!std::string_view(key).starts_with(kSetElementOrderPrefix)) continue;
    std::string field = key.substr(kSetElementOrderPrefix.size());
    if (!value.is_array()) return Error(Join(path, key), "must be a list");
    auto it = target.find(field);
    live_lists.emplace_back(field, it != target.end() && it->is_array() ? *it : json::array());
  }

  for (const auto& [key, value] : patch.items()) {
    if (!std::string_view(key).starts_with(kDeleteFromPrimitiveListPrefix)) continue;
    std::string field = key.substr(kDeleteFromPrimitiveListPrefix.size());
    if (!value.is_array()) return Error(Join(path, key), "must be a list");
    auto it = target.find(field);
    if (it == target.end() || !it->is_array()) continue;
    json kept = json::array();
    for (const json& e : *it) {
      bool deleted = false;
      for (const json& d : value) deleted = deleted || d == e;
      if (!deleted) kept.push_back(e);
    }
    *it = std::move(kept);
  }

  for (const auto& [key, value] : patch.items()) {
    if (IsDirective(key)) continue;
    RETURN_IF_ERROR(MergeField(target, key, value, path, depth));
  }

  for (auto& [field, live] : live_lists) {
    const json& order = patch[std::string(kSetElementOrderPrefix) + field];
    auto it = target.find(field);
    if (it == target.end() || !it->is_array()) continue;
    const std::string field_path = Join(path, field);
    const ListPatchMeta* meta = MergeMeta(field_path);
    std::string_view merge_key = meta != nullptr ? meta->merge_key : std::string_view();
    bool objects = false;
    for (const json& e : *it) objects = objects || e.is_object();
    if (objects && merge_key.empty()) continue;  // No key to identify elements by.
    for (const json& e : order) {
      if (!merge_key.empty() && (!e.is_object() || !e.contains(std::string(merge_key)))) {
        return Error(field_path, "$setElementOrder element " + e.dump() + " has no merge key \"" +
                                     std::string(merge_key) + "\"");
      }
    }
    *it = NormalizeElementOrder(*it, order, live, merge_key);
  }
  return base::OkStatus();
}

base::Status Merger::MergeField(json& target, const std::string& key, const json& value,
                                const std::string& path, int depth) {
  const std::string field_path = Join(path, key);
  auto it = target.find(key);
  if (value.is_null()) {
    if (it != target.end()) target.erase(it);
    return base::OkStatus();
  }
  if (value.is_object()) {
    if (it == target.end()) {
      ASSIGN_OR_RETURN(std::string directive, PatchDirective(value, field_path));
      if (directive == "delete") return base::OkStatus();  // Nothing to delete.
      json fresh = json::object();
      RETURN_IF_ERROR(MergeMap(fresh, value, field_path, depth + 1));
      target[key] = std::move(fresh);
      return base::OkStatus();
    }
    return MergeMap(*it, value, field_path, depth + 1);
  }
  if (value.is_array()) {
    const json* live = it != target.end() && it->is_array() ? &*it : nullptr;
    ASSIGN_OR_RETURN(json merged, MergeList(live, value, field_path, depth + 1));
    target[key] = std::move(merged);
    return base::OkStatus();
  }
  target[key] = value;
  return base::OkStatus();
}

base::StatusOr<json> Merger::MergeList(const json* live, const json& patch, const std::string& path,
                                       int depth) {
  if (depth > kMaxPatchDepth) {
    return Error(path, "nested deeper than " + std::to_string(kMaxPatchDepth) + " levels");
  }
  const ListPatchMeta* meta = MergeMeta(path);
  if (meta == nullptr) return patch;  // Lists without a merge strategy are replaced.
  const json empty = json::array();
  const json& original = live != nullptr ? *live : empty;
  bool objects = false;
  bool scalars = false;
  for (const json* list : {&original, &patch}) {
    for (const json& e : *list) (e.is_object() ? objects : scalars) = true;
  }
  if (objects && scalars) return Error(path, "list mixes objects and other values");
  if (objects) return MergeObjectList(original, patch, meta->merge_key, path, depth);
  // A primitive list with strategy merge: the union, without duplicates.
  json merged = json::array();
  for (const json* list : {&original, &patch}) {
    for (const json& e : *list) {
      bool seen = false;
      for (const json& m : merged) seen = seen || m == e;
      if (!seen) merged.push_back(e);
    }
  }
  return NormalizeElementOrder(merged, patch, original, "");
}

base::StatusOr<json> Merger::MergeObjectList(const json& live, const json& patch,
                                             std::string_view merge_key, const std::string& path,
                                             int depth) {
  if (merge_key.empty()) return Error(path, "cannot merge a list of objects without a merge key");
  const std::string key(merge_key);
  const std::string element_path = path + "[]";
  json merged = live;
  json plain = json::array();
  bool replace = false;
  size_t index = 0;
  for (const json& e : patch) {
    const std::string where = "element " + std::to_string(index++);
    ASSIGN_OR_RETURN(std::string directive, PatchDirective(e, path));
    if (directive.empty()) {
      if (!e.contains(key)) return Error(path, where + " has no merge key \"" + key + "\"");
      plain.push_back(e);
    } else if (directive == "delete") {
      if (!e.contains(key)) {
        return Error(path, where + ": $patch delete needs the merge key \"" + key + "\"");
      }
      json kept = json::array();
      for (const json& m : merged) {
        if (!SameElement(m, e, merge_key)) kept.push_back(m);
      }
      merged = std::move(kept);
    } else if (directive == "replace") {
      replace = true;
    } else {
      return Error(path, where + ": unknown $patch directive \"" + directive +
                             "\" in a list (want delete or replace)");
    }
  }
  if (replace) merged = json::array();
  const json before_merge = merged;
  for (const json& e : plain) {
    json* match = nullptr;
    for (json& m : merged) {
      if (SameElement(m, e, merge_key)) {
        match = &m;
        break;
      }
    }
    if (match != nullptr) {
      RETURN_IF_ERROR(MergeMap(*match, e, element_path, depth + 1));
    } else {
      json fresh = json::object();
      RETURN_IF_ERROR(MergeMap(fresh, e, element_path, depth + 1));
      merged.push_back(std::move(fresh));
    }
  }
  return NormalizeElementOrder(merged, plain, before_merge, merge_key);
}

}  // namespace

base::StatusOr<json> ApplyStrategicMergePatch(const json& doc, const json& patch,
                                              std::string_view kind) {
  if (!patch.is_object()) {
    return base::InvalidArgumentError(
        std::string("strategic merge patch must be a JSON object, got ") + patch.type_name());
  }
  RETURN_IF_ERROR(patch_internal::CheckDepth(doc, kMaxPatchDepth, "document"));
  RETURN_IF_ERROR(patch_internal::CheckDepth(patch, kMaxPatchDepth, "strategic merge patch"));
  try {
    json result = doc;
    RETURN_IF_ERROR(Merger(kind).MergeMap(result, patch, "", 1));
    return result;
  } catch (const json::exception& e) {
    return base::InternalError(std::string("applying strategic merge patch: ") + e.what());
  }
}

}  // namespace knet::apiserver::patch
