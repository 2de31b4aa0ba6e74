// RFC 7386 JSON Merge Patch.
#include <string>
#include <utility>

#include "apiserver/patch/internal/limits.h"
#include "apiserver/patch/patch.h"

namespace knet::apiserver::patch {
namespace {

using nlohmann::json;

// RFC 7386 section 2, MergePatch(Target, Patch), applied in place. Depth is bounded by the
// CheckDepth of the patch done by the caller.
void MergeInto(json& target, const json& patch) {
  if (!patch.is_object()) {
    target = patch;
    return;
  }
  if (!target.is_object()) target = json::object();
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      target.erase(key);
    } else {
      MergeInto(target[key], value);
    }
  }
}

}  // namespace

base::StatusOr<json> ApplyMergePatch(const json& doc, const json& patch) {
  RETURN_IF_ERROR(patch_internal::CheckDepth(doc, kMaxPatchDepth, "document"));
  RETURN_IF_ERROR(patch_internal::CheckDepth(patch, kMaxPatchDepth, "merge patch"));
  try {
    json result = doc;
    MergeInto(result, patch);
    return result;
  } catch (const json::exception& e) {
    return base::InternalError(std::string("applying merge patch: ") + e.what());
  }
}

}  // namespace knet::apiserver::patch
