// File: controllers/replicaset/controller_ref.h
//
// Controller references (metav1.GetControllerOf / NewControllerRef) and the merge patches that
// adopt or release an object, shared by the ReplicaSet controller (pods) and the Deployment
// controller (ReplicaSets), as upstream's ControllerRefManager does for both.
//
//   const api::OwnerReference* ref = GetControllerOf(pod.metadata);
//   if (!ref) client->Patch<api::Pod>(ns, name, client::PatchType::kMerge,
//                                     AdoptPatch(pod.metadata, ControllerRefTo(rs)));
//
// Free functions on values; thread-compatible.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api/meta.h"

namespace knet::controllers {

// The owner reference with controller: true, or nullptr.
inline const api::OwnerReference* GetControllerOf(const api::ObjectMeta& m) {
  for (const api::OwnerReference& r : m.owner_references) {
    if (r.controller.value_or(false)) return &r;
  }
  return nullptr;
}

// {apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true} for `owner`.
template <class T>
api::OwnerReference ControllerRefTo(const T& owner) {
  api::OwnerReference r;
  r.api_version = T::kApiVersion;
  r.kind = T::kKind;
  r.name = owner.metadata.name;
  r.uid = owner.metadata.uid;
  r.controller = true;
  r.block_owner_deletion = true;
  return r;
}

namespace internal {
inline nlohmann::json RefJson(const api::OwnerReference& r) {
  nlohmann::json j = {
      {"apiVersion", r.api_version}, {"kind", r.kind}, {"name", r.name}, {"uid", r.uid}};
  if (r.controller) j["controller"] = *r.controller;
  if (r.block_owner_deletion) j["blockOwnerDeletion"] = *r.block_owner_deletion;
  return j;
}
// A merge patch replaces the whole list, so the resourceVersion precondition makes sure no
// concurrent change to the object's owner references is overwritten (a Conflict is retried).
inline std::string RefsPatch(const api::ObjectMeta& m, const nlohmann::json& refs) {
  nlohmann::json p = {
      {"metadata",
       {{"ownerReferences", refs}, {"uid", m.uid}, {"resourceVersion", m.resource_version}}}};
  return p.dump();
}
}  // namespace internal

// Merge patch adding `ref` to the object's owner references.
inline std::string AdoptPatch(const api::ObjectMeta& m, const api::OwnerReference& ref) {
  nlohmann::json refs = nlohmann::json::array();
  for (const api::OwnerReference& r : m.owner_references) refs.push_back(internal::RefJson(r));
  refs.push_back(internal::RefJson(ref));
  return internal::RefsPatch(m, refs);
}

// Merge patch removing the reference to owner `uid` (null clears the list when none remain).
inline std::string ReleasePatch(const api::ObjectMeta& m, const std::string& uid) {
  nlohmann::json refs = nlohmann::json::array();
  for (const api::OwnerReference& r : m.owner_references) {
    if (r.uid != uid) refs.push_back(internal::RefJson(r));
  }
  return internal::RefsPatch(m, refs.empty() ? nlohmann::json(nullptr) : refs);
}

}  // namespace knet::controllers
