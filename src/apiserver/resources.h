// File: apiserver/resources.h
//
// The table of resources knet serves: one row per REST resource, with what discovery, OpenAPI,
// the REST handlers and kubectl's short names need. Everything that lists resources reads it, so
// a new kind is served by adding one row here (plus its api type).
//
//   const ResourceInfo* r = FindResource("apps", "v1", "deployments");
//   r->kind == "Deployment"; r->namespaced == true; r->HasSubresource("scale")
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace knet::apiserver {

struct SubresourceInfo {
  std::string name;  // "status", "scale", "binding"
  // The kind the subresource reads and writes: "Pod" for status, "Scale" (autoscaling/v1) for
  // scale, "Binding" (core/v1) for pods/binding.
  std::string group;
  std::string version;
  std::string kind;
  std::vector<std::string> verbs;
};

struct ResourceInfo {
  std::string group;      // "" for the core (legacy) group
  std::string version;    // "v1"
  std::string resource;   // plural, lower case: "pods"
  std::string singular;   // "pod"
  std::string kind;       // "Pod"
  std::string list_kind;  // "PodList"
  bool namespaced = true;
  std::vector<std::string> short_names;  // "po"
  std::vector<std::string> categories;   // "all"
  std::vector<std::string> verbs;  // get list watch create update patch delete deletecollection
  std::vector<SubresourceInfo> subresources;

  // "v1" for core, "apps/v1" otherwise: the apiVersion objects of this resource carry.
  std::string ApiVersion() const;
  // "/api/v1" or "/apis/apps/v1".
  std::string PathPrefix() const;
  bool HasSubresource(std::string_view name) const;
  bool HasVerb(std::string_view verb) const;
};

// Every served resource, in a stable order (core first, then groups by name).
const std::vector<ResourceInfo>& Resources();

// The group-versions served, in preference order: {"", "v1"}, {"apps", "v1"}, ...
struct GroupVersion {
  std::string group;
  std::string version;
  std::string ToString() const;  // "v1" or "apps/v1"
};
const std::vector<GroupVersion>& GroupVersions();

// nullptr when not served.
const ResourceInfo* FindResource(std::string_view group, std::string_view version,
                                 std::string_view resource);
const ResourceInfo* FindResourceByKind(std::string_view group, std::string_view version,
                                       std::string_view kind);

}  // namespace knet::apiserver
