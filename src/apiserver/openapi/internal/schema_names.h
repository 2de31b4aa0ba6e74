// File: apiserver/openapi/internal/schema_names.h
//
// The OpenAPI component name of every struct the api types are made of, as upstream names them
// (Go package path with dots, then the Go type name): io.k8s.api.core.v1.PodSpec,
// io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta, ... A struct reachable from a served kind
// without an entry here fails to compile (SchemaName<T> has no primary definition), so a field
// added to src/api can never be silently missing from the documents.
#pragma once

#include <string>
#include <string_view>

#include "api/object.h"
#include "apiserver/openapi/internal/extra_types.h"

namespace knet::apiserver::openapi::internal {

template <class T>
struct SchemaName;

#define KNET_SCHEMA_NAME(pkg, ns, type)                   \
  template <>                                             \
  struct SchemaName<ns::type> {                           \
    static constexpr std::string_view kValue = pkg #type; \
  }

#define KNET_CORE(type) KNET_SCHEMA_NAME("io.k8s.api.core.v1.", api, type)
#define KNET_META(type) KNET_SCHEMA_NAME("io.k8s.apimachinery.pkg.apis.meta.v1.", api, type)
#define KNET_APPS(type) KNET_SCHEMA_NAME("io.k8s.api.apps.v1.", api, type)
#define KNET_NETWORKING(type) KNET_SCHEMA_NAME("io.k8s.api.networking.v1.", api, type)
#define KNET_DISCOVERY(type) KNET_SCHEMA_NAME("io.k8s.api.discovery.v1.", api, type)

// meta/v1
KNET_META(OwnerReference);
KNET_META(ObjectMeta);
KNET_META(ListMeta);
KNET_META(LabelSelectorRequirement);
KNET_META(LabelSelector);
KNET_META(Condition);
KNET_META(StatusCause);
KNET_META(StatusDetails);
KNET_META(Status);
KNET_META(WatchEvent);
KNET_SCHEMA_NAME("io.k8s.apimachinery.pkg.apis.meta.v1.", internal, Preconditions);
KNET_SCHEMA_NAME("io.k8s.apimachinery.pkg.apis.meta.v1.", internal, DeleteOptions);

// core/v1
KNET_CORE(ObjectReference);
KNET_CORE(NamespaceSpec);
KNET_CORE(NamespaceCondition);
KNET_CORE(NamespaceStatus);
KNET_CORE(Namespace);
KNET_CORE(EndpointAddress);
KNET_CORE(EndpointPort);
KNET_CORE(EndpointSubset);
KNET_CORE(Endpoints);
KNET_CORE(EventSource);
KNET_CORE(Event);
KNET_CORE(ContainerPort);
KNET_CORE(ObjectFieldSelector);
KNET_CORE(EnvVarSource);
KNET_CORE(EnvVar);
KNET_CORE(ExecAction);
KNET_CORE(HTTPHeader);
KNET_CORE(HTTPGetAction);
KNET_CORE(TCPSocketAction);
KNET_CORE(GRPCAction);
KNET_CORE(Probe);
KNET_CORE(SleepAction);
KNET_CORE(LifecycleHandler);
KNET_CORE(Lifecycle);
KNET_CORE(ResourceRequirements);
KNET_CORE(Container);
KNET_CORE(PodDNSConfigOption);
KNET_CORE(PodDNSConfig);
KNET_CORE(HostAlias);
KNET_CORE(Toleration);
KNET_CORE(PodSpec);
KNET_CORE(PodCondition);
KNET_CORE(PodIP);
KNET_CORE(ContainerStateWaiting);
KNET_CORE(ContainerStateRunning);
KNET_CORE(ContainerStateTerminated);
KNET_CORE(ContainerState);
KNET_CORE(ContainerStatus);
KNET_CORE(PodStatus);
KNET_CORE(Pod);
KNET_CORE(PodTemplateSpec);
KNET_CORE(ServicePort);
KNET_CORE(ClientIPConfig);
KNET_CORE(SessionAffinityConfig);
KNET_CORE(ServiceSpec);
KNET_CORE(PortStatus);
KNET_CORE(LoadBalancerIngress);
KNET_CORE(LoadBalancerStatus);
KNET_CORE(ServiceStatus);
KNET_CORE(Service);
KNET_CORE(Taint);
KNET_CORE(NodeSpec);
KNET_CORE(NodeCondition);
KNET_CORE(NodeAddress);
KNET_CORE(DaemonEndpoint);
KNET_CORE(NodeDaemonEndpoints);
KNET_CORE(NodeSystemInfo);
KNET_CORE(NodeStatus);
KNET_CORE(Node);
KNET_SCHEMA_NAME("io.k8s.api.core.v1.", internal, Binding);

// apps/v1
KNET_APPS(RollingUpdateDeployment);
KNET_APPS(DeploymentStrategy);
KNET_APPS(DeploymentSpec);
KNET_APPS(DeploymentCondition);
KNET_APPS(DeploymentStatus);
KNET_APPS(Deployment);
KNET_APPS(ReplicaSetSpec);
KNET_APPS(ReplicaSetCondition);
KNET_APPS(ReplicaSetStatus);
KNET_APPS(ReplicaSet);

// autoscaling/v1
KNET_SCHEMA_NAME("io.k8s.api.autoscaling.v1.", internal, Scale);
KNET_SCHEMA_NAME("io.k8s.api.autoscaling.v1.", internal, ScaleSpec);
KNET_SCHEMA_NAME("io.k8s.api.autoscaling.v1.", internal, ScaleStatus);

// coordination.k8s.io/v1
KNET_SCHEMA_NAME("io.k8s.api.coordination.v1.", api, LeaseSpec);
KNET_SCHEMA_NAME("io.k8s.api.coordination.v1.", api, Lease);

// discovery.k8s.io/v1 (EndpointSlicePort is upstream's discovery/v1 EndpointPort).
KNET_DISCOVERY(EndpointConditions);
KNET_DISCOVERY(ForZone);
KNET_DISCOVERY(EndpointHints);
KNET_DISCOVERY(Endpoint);
KNET_DISCOVERY(EndpointSlice);
template <>
struct SchemaName<api::EndpointSlicePort> {
  static constexpr std::string_view kValue = "io.k8s.api.discovery.v1.EndpointPort";
};

// networking.k8s.io/v1
KNET_NETWORKING(IPBlock);
KNET_NETWORKING(NetworkPolicyPeer);
KNET_NETWORKING(NetworkPolicyPort);
KNET_NETWORKING(NetworkPolicyIngressRule);
KNET_NETWORKING(NetworkPolicyEgressRule);
KNET_NETWORKING(NetworkPolicySpec);
KNET_NETWORKING(NetworkPolicy);

#undef KNET_CORE
#undef KNET_META
#undef KNET_APPS
#undef KNET_NETWORKING
#undef KNET_DISCOVERY
#undef KNET_SCHEMA_NAME

// List<T> is named after T: io.k8s.api.core.v1.PodList.
template <class T>
struct SchemaName<api::List<T>> {
  static std::string Value() { return std::string(SchemaName<T>::kValue) + "List"; }
};

template <class T>
std::string SchemaNameOf() {
  if constexpr (requires { SchemaName<T>::Value(); }) {
    return SchemaName<T>::Value();
  } else {
    return std::string(SchemaName<T>::kValue);
  }
}

}  // namespace knet::apiserver::openapi::internal
