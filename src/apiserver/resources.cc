#include "apiserver/resources.h"

#include <algorithm>

namespace knet::apiserver {

namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};
const std::vector<std::string> kStatusVerbs = {"get", "patch", "update"};

SubresourceInfo Status(const std::string& group, const std::string& kind) {
  return {"status", group, "v1", kind, kStatusVerbs};
}

std::vector<ResourceInfo> Build() {
  std::vector<ResourceInfo> r;
  r.push_back({"",
               "v1",
               "namespaces",
               "namespace",
               "Namespace",
               "NamespaceList",
               false,
               {"ns"},
               {},
               {"create", "delete", "get", "list", "patch", "update", "watch"},
               {Status("", "Namespace")}});
  r.push_back({"",
               "v1",
               "nodes",
               "node",
               "Node",
               "NodeList",
               false,
               {"no"},
               {},
               kAllVerbs,
               {Status("", "Node")}});
  r.push_back({"",
               "v1",
               "pods",
               "pod",
               "Pod",
               "PodList",
               true,
               {"po"},
               {"all"},
               kAllVerbs,
               {Status("", "Pod"), {"binding", "", "v1", "Binding", {"create"}}}});
  r.push_back({"",
               "v1",
               "services",
               "service",
               "Service",
               "ServiceList",
               true,
               {"svc"},
               {"all"},
               {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
               {Status("", "Service")}});
  r.push_back({"",
               "v1",
               "endpoints",
               "endpoints",
               "Endpoints",
               "EndpointsList",
               true,
               {"ep"},
               {},
               kAllVerbs,
               {}});
  r.push_back({"", "v1", "events", "event", "Event", "EventList", true, {"ev"}, {}, kAllVerbs, {}});
  r.push_back({"apps",
               "v1",
               "deployments",
               "deployment",
               "Deployment",
               "DeploymentList",
               true,
               {"deploy"},
               {"all"},
               kAllVerbs,
               {Status("apps", "Deployment"),
                {"scale", "autoscaling", "v1", "Scale", {"get", "patch", "update"}}}});
  r.push_back({"apps",
               "v1",
               "replicasets",
               "replicaset",
               "ReplicaSet",
               "ReplicaSetList",
               true,
               {"rs"},
               {"all"},
               kAllVerbs,
               {Status("apps", "ReplicaSet"),
                {"scale", "autoscaling", "v1", "Scale", {"get", "patch", "update"}}}});
  r.push_back({"coordination.k8s.io",
               "v1",
               "leases",
               "lease",
               "Lease",
               "LeaseList",
               true,
               {},
               {},
               kAllVerbs,
               {}});
  r.push_back({"discovery.k8s.io",
               "v1",
               "endpointslices",
               "endpointslice",
               "EndpointSlice",
               "EndpointSliceList",
               true,
               {},
               {},
               kAllVerbs,
               {}});
  r.push_back({"networking.k8s.io",
               "v1",
               "networkpolicies",
               "networkpolicy",
               "NetworkPolicy",
               "NetworkPolicyList",
               true,
               {"netpol"},
               {},
               kAllVerbs,
               {}});
  return r;
}

}  // namespace

std::string ResourceInfo::ApiVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceInfo::PathPrefix() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

bool ResourceInfo::HasSubresource(std::string_view name) const {
  return std::any_of(subresources.begin(), subresources.end(),
                     [&](const SubresourceInfo& s) { return s.name == name; });
}

bool ResourceInfo::HasVerb(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

std::string GroupVersion::ToString() const {
  return group.empty() ? version : group + "/" + version;
}

const std::vector<ResourceInfo>& Resources() {
  static const std::vector<ResourceInfo> resources = Build();
  return resources;
}

const std::vector<GroupVersion>& GroupVersions() {
  static const std::vector<GroupVersion> gvs = [] {
    std::vector<GroupVersion> out;
    for (const ResourceInfo& r : Resources()) {
      bool seen = std::any_of(out.begin(), out.end(), [&](const GroupVersion& gv) {
        return gv.group == r.group && gv.version == r.version;
      });
      if (!seen) out.push_back({r.group, r.version});
    }
    return out;
  }();
  return gvs;
}

const ResourceInfo* FindResource(std::string_view group, std::string_view version,
                                 std::string_view resource) {
  for (const ResourceInfo& r : Resources()) {
    if (r.group == group && r.version == version && r.resource == resource) return &r;
  }
  return nullptr;
}

const ResourceInfo* FindResourceByKind(std::string_view group, std::string_view version,
                                       std::string_view kind) {
  for (const ResourceInfo& r : Resources()) {
    if (r.group == group && r.version == version && r.kind == kind) return &r;
  }
  return nullptr;
}

}  // namespace knet::apiserver
