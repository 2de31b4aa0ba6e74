// File: api/defaults.h
//
// Defaulting as the Kubernetes API server does it before validation
// (pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go, networking and discovery):
// only fields left empty are filled, so defaulting twice changes nothing.
//
//   Object obj = ...;             // decoded from a manifest
//   SetDefaults(obj);             // protocol TCP, type ClusterIP, restartPolicy Always, ...
//   auto errs = ValidateObject(obj);
#pragma once

#include "api/object.h"

namespace knet::api {

void SetServiceDefaults(Service& svc);
void SetPodSpecDefaults(PodSpec& spec);
void SetPodDefaults(Pod& pod);
void SetDeploymentDefaults(Deployment& d);
void SetReplicaSetDefaults(ReplicaSet& rs);
void SetNetworkPolicyDefaults(NetworkPolicy& np);
void SetEndpointSliceDefaults(EndpointSlice& slice);

// Dispatches on the kind; kinds without defaults are left as they are.
void SetDefaults(Object& obj);

}  // namespace knet::api
