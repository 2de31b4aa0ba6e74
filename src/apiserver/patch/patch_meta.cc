#include "apiserver/patch/patch_meta.h"

namespace knet::apiserver::patch {
namespace {

// Tags verified against k8s.io/api core/v1/types.go, apps/v1/types.go and
// k8s.io/apimachinery meta/v1/types.go.
constexpr ListPatchMeta kMergeNoKey{"", "merge"};
constexpr ListPatchMeta kRetainKeys{"", "retainKeys"};
constexpr ListPatchMeta MergeBy(std::string_view key) { return {key, "merge"}; }
constexpr ListPatchMeta MergeRetainBy(std::string_view key) { return {key, "merge,retainKeys"}; }

// ObjectMeta, at `prefix` ("metadata." or "spec.template.metadata.").
#define KNET_OBJECT_META(kind, prefix) \
  {kind, prefix "finalizers", kMergeNoKey}, { kind, prefix "ownerReferences", MergeBy("uid") }

// Container (and EphemeralContainerCommon), at `prefix` ending in "[].".
#define KNET_CONTAINER(kind, prefix)                                                       \
  {kind, prefix "ports", MergeBy("containerPort")}, {kind, prefix "env", MergeBy("name")}, \
      {kind, prefix "volumeMounts", MergeBy("mountPath")}, {                               \
    kind, prefix "volumeDevices", MergeBy("devicePath")                                    \
  }

// PodSpec, at `prefix` ("spec." or "spec.template.spec.").
#define KNET_POD_SPEC(kind, prefix)                                       \
  {kind, prefix "volumes", MergeRetainBy("name")},                        \
      {kind, prefix "initContainers", MergeBy("name")},                   \
      {kind, prefix "containers", MergeBy("name")},                       \
      {kind, prefix "ephemeralContainers", MergeBy("name")},              \
      {kind, prefix "imagePullSecrets", MergeBy("name")},                 \
      {kind, prefix "hostAliases", MergeBy("ip")},                        \
      {kind, prefix "topologySpreadConstraints", MergeBy("topologyKey")}, \
      {kind, prefix "schedulingGates", MergeBy("name")},                  \
      {kind, prefix "resourceClaims", MergeRetainBy("name")},             \
      KNET_CONTAINER(kind, prefix "initContainers[]."),                   \
      KNET_CONTAINER(kind, prefix "containers[]."),                       \
      KNET_CONTAINER(kind, prefix "ephemeralContainers[].")

constexpr PatchMetaEntry kEntries[] = {
    // core/v1 Pod
    KNET_OBJECT_META("Pod", "metadata."),
    KNET_POD_SPEC("Pod", "spec."),
    {"Pod", "status.conditions", MergeBy("type")},
    {"Pod", "status.podIPs", MergeBy("ip")},
    {"Pod", "status.hostIPs", MergeBy("ip")},
    {"Pod", "status.resourceClaimStatuses", MergeRetainBy("name")},
    // core/v1 Service
    KNET_OBJECT_META("Service", "metadata."),
    {"Service", "spec.ports", MergeBy("port")},
    {"Service", "status.conditions", MergeBy("type")},
    // core/v1 Node
    KNET_OBJECT_META("Node", "metadata."),
    {"Node", "spec.podCIDRs", kMergeNoKey},
    {"Node", "status.conditions", MergeBy("type")},
    {"Node", "status.addresses", MergeBy("type")},
    // core/v1 Namespace
    KNET_OBJECT_META("Namespace", "metadata."),
    {"Namespace", "status.conditions", MergeBy("type")},
    // Kinds without list strategies beyond ObjectMeta.
    KNET_OBJECT_META("Endpoints", "metadata."),
    KNET_OBJECT_META("Event", "metadata."),
    KNET_OBJECT_META("Binding", "metadata."),
    KNET_OBJECT_META("Scale", "metadata."),
    KNET_OBJECT_META("Lease", "metadata."),
    KNET_OBJECT_META("EndpointSlice", "metadata."),
    KNET_OBJECT_META("NetworkPolicy", "metadata."),
    // apps/v1 Deployment
    KNET_OBJECT_META("Deployment", "metadata."),
    {"Deployment", "spec.strategy", kRetainKeys},
    KNET_OBJECT_META("Deployment", "spec.template.metadata."),
    KNET_POD_SPEC("Deployment", "spec.template.spec."),
    {"Deployment", "status.conditions", MergeBy("type")},
    // apps/v1 ReplicaSet
    KNET_OBJECT_META("ReplicaSet", "metadata."),
    KNET_OBJECT_META("ReplicaSet", "spec.template.metadata."),
    KNET_POD_SPEC("ReplicaSet", "spec.template.spec."),
    {"ReplicaSet", "status.conditions", MergeBy("type")},
};

#undef KNET_POD_SPEC
#undef KNET_CONTAINER
#undef KNET_OBJECT_META

}  // namespace

const ListPatchMeta* LookupPatchMeta(std::string_view kind, std::string_view path) {
  for (const PatchMetaEntry& e : kEntries) {
    if (e.kind == kind && e.path == path) return &e.meta;
  }
  return nullptr;
}

std::span<const PatchMetaEntry> AllPatchMeta() { return kEntries; }

}  // namespace knet::apiserver::patch
