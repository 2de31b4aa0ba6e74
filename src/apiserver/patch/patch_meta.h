// File: apiserver/patch/patch_meta.h
//
// Strategic-merge-patch metadata for the built-in kinds knet serves: which lists are merged (and by
// which key) instead of replaced. The table mirrors the `patchStrategy` / `patchMergeKey` Go struct
// tags of k8s.io/api (core/v1, apps/v1, meta/v1). The strategic merge patch and the OpenAPI
// generator (x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key) both read it.
//
//   const ListPatchMeta* m = LookupPatchMeta("Deployment", "spec.template.spec.containers");
//   m->merge_key == "name"; m->strategy == "merge"
#pragma once

#include <span>
#include <string_view>

namespace knet::apiserver::patch {

struct ListPatchMeta {
  std::string_view merge_key;  // "" for primitive lists (and for retainKeys-only maps)
  std::string_view strategy;   // "merge", "retainKeys" or "merge,retainKeys"
};

// `path` is the JSON field path from the object root with "[]" marking list elements, e.g.
// "spec.template.spec.containers[].ports" for a Deployment. Returns nullptr when the field has no
// patch strategy (lists are then replaced, maps merged). The pointer stays valid forever.
const ListPatchMeta* LookupPatchMeta(std::string_view kind, std::string_view path);

struct PatchMetaEntry {
  std::string_view kind;
  std::string_view path;
  ListPatchMeta meta;
};

// Every (kind, path, meta) entry, for the OpenAPI generator. Static storage.
std::span<const PatchMetaEntry> AllPatchMeta();

}  // namespace knet::apiserver::patch
