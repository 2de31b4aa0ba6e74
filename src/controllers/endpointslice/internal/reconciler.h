// File: controllers/endpointslice/internal/reconciler.h
//
// The EndpointSlice reconciler as plain data (upstream pkg/controller/endpointslice
// reconciler.go): given a Service, one address family, the endpoints it should have (grouped by
// their resolved port list) and the slices the controller already manages for that family,
// decide which slices to create, update and delete with the least churn:
//  - an endpoint stays in the slice it is in; a slice is rewritten only when one of its
//    endpoints changed or went away, or its labels/owner are out of date;
//  - new endpoints first fill slices that are being rewritten anyway, then unchanged slices with
//    room (fullest first, each taking what fits; upstream only uses one that takes a whole last
//    partial batch), and only then go into new slices;
//  - slices left empty are deleted (rewritten in place when a new slice is needed at the same
//    time); nothing is rebalanced;
//  - a Service with no endpoints keeps one empty placeholder slice per address family;
//  - slices not controlled by this Service (by uid; e.g. left by a deleted Service of the same
//    name) are deleted, never adopted.
// Pure functions, no I/O; thread-compatible.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/endpoint_slice.h"
#include "api/service.h"

namespace knet::controllers::endpointslice_internal {

// The endpoints that share one resolved port list.
struct EndpointGroup {
  std::vector<api::EndpointSlicePort> ports;
  std::vector<api::Endpoint> endpoints;  // each with exactly one address, unique
};

struct SlicePlan {
  std::vector<api::EndpointSlice> to_create;  // generateName set, name empty
  std::vector<api::EndpointSlice> to_update;  // copies of existing slices with new content
  std::vector<api::EndpointSlice> to_delete;
};

// Identity of a port list (names, protocols, numbers, appProtocols, in order).
std::string PortsKey(const std::vector<api::EndpointSlicePort>& ports);

// The labels every slice of `svc` carries: the Service's own (minus the two reserved keys),
// kubernetes.io/service-name, managed-by, and service.kubernetes.io/headless when headless.
std::map<std::string, std::string> SliceLabels(const api::Service& svc);

// The controller ownerReference to `svc` (controller and blockOwnerDeletion true).
api::OwnerReference ServiceOwnerRef(const api::Service& svc);

// REQUIRES: every slice in `existing` is labelled for `svc`, is managed by this controller and
// has addressType `address_type`; max_per_slice > 0. `desired` is keyed by PortsKey(group.ports).
SlicePlan PlanSlices(const api::Service& svc, const std::string& address_type,
                     const std::map<std::string, EndpointGroup>& desired,
                     const std::vector<std::shared_ptr<const api::EndpointSlice>>& existing,
                     size_t max_per_slice);

}  // namespace knet::controllers::endpointslice_internal
