// File: controllers/endpoints/internal/subsets.h
//
// The core/v1 Endpoints subsets as plain data (upstream endpoints.RepackSubsets and the endpoints
// controller's truncation): every pod address with its resolved ports, repacked so that addresses
// with the same port set share one subset, sorted so that the same input always gives the same
// object (and so no write), and capped at a maximum number of addresses with ready ones kept
// first. Pure functions; thread-compatible.
#pragma once

#include <cstddef>
#include <vector>

#include "api/core.h"

namespace knet::controllers::endpoints_internal {

// One pod's address in a Service's Endpoints.
struct PodEndpoint {
  api::EndpointAddress address;
  bool ready = false;
  std::vector<api::EndpointPort> ports;
};

// Groups addresses by their port set: one subset per distinct set, ready addresses in
// `addresses` and the others in `notReadyAddresses`. Addresses sort by IP (then pod uid), ports
// by name, number and protocol, subsets by their ports.
std::vector<api::EndpointSubset> RepackSubsets(std::vector<PodEndpoint> pods);

// Keeps at most `max_addresses` addresses in total (upstream truncateEndpoints): not-ready
// addresses go first; if the ready ones alone are too many, they are cut too, each subset keeping
// a share proportional to its size. Subsets left empty are dropped. Returns whether anything was
// dropped.
bool TruncateSubsets(std::vector<api::EndpointSubset>& subsets, size_t max_addresses);

}  // namespace knet::controllers::endpoints_internal
