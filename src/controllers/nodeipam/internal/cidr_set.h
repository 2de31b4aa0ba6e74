// File: controllers/nodeipam/internal/cidr_set.h
//
// CidrSet: the per-node ranges of one cluster CIDR (upstream pkg/controller/nodeipam/ipam/cidrset)
// as a bitmap: 10.244.0.0/16 with mask /24 is 256 ranges. Hands out the next free range after
// the last one given (so a just-released range is not reused at once while others are free),
// marks ranges that nodes already hold, and releases them.
//
// Thread-compatible: the controller serialises access.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/ip.h"
#include "base/status.h"

namespace knet::controllers::nodeipam_internal {

// Upstream's clusterSubnetMaxDiff: at most 2^16 ranges per cluster CIDR.
inline constexpr int kMaxSubnetBits = 16;

class CidrSet {
 public:
  // InvalidArgument when mask_size is shorter than the cluster prefix, longer than the family
  // allows, or more than kMaxSubnetBits longer than the cluster prefix.
  static base::StatusOr<CidrSet> Create(const base::Cidr& cluster, int mask_size);

  const base::Cidr& cluster() const { return cluster_; }
  int mask_size() const { return mask_size_; }
  uint64_t size() const { return used_.size(); }
  uint64_t used() const { return count_; }

  // The next free range; ResourceExhausted naming the cluster CIDR when none is left.
  base::StatusOr<base::Cidr> AllocateNext();
  // Marks `range` used. InvalidArgument if it is not one of this set's ranges (outside the
  // cluster CIDR or of another size).
  base::Status Occupy(const base::Cidr& range);
  // Frees `range`; a range outside the set is ignored.
  void Release(const base::Cidr& range);
  // True if `range` is one of this set's ranges.
  bool Holds(const base::Cidr& range) const;

 private:
  CidrSet(const base::Cidr& cluster, int mask_size);
  uint64_t IndexOf(const base::Cidr& range) const;  // REQUIRES: Holds(range)

  base::Cidr cluster_;
  int mask_size_ = 0;
  std::vector<bool> used_;
  uint64_t count_ = 0;
  uint64_t next_ = 0;  // where the search for a free range starts
};

}  // namespace knet::controllers::nodeipam_internal
