// File: ipam/internal/allocator.h
//
// The pure part of host-local allocation: which address of a range set comes next. No I/O.
#pragma once

#include <functional>
#include <optional>

#include "base/ip.h"
#include "ipam/config.h"

namespace knet::ipam::ipam_internal {

// The first address Allocate may hand out from `set`, walking as host-local's RangeIter does:
// from the address after `last_reserved` (when that lies in a range of the set; at a range's end
// the walk moves to the next range's start), otherwise from the first range's rangeStart, through
// every range in order, wrapping around, until the walk is back where it began. Gateways,
// addresses in `config.excluded` (skipped a whole prefix at a time) and addresses for which
// `taken` returns true are passed over. nullopt when every address is passed over.
std::optional<base::IPAddress> NextFree(const IpamConfig& config, const RangeSet& set,
                                        const std::optional<base::IPAddress>& last_reserved,
                                        const std::function<bool(const base::IPAddress&)>& taken);

}  // namespace knet::ipam::ipam_internal
