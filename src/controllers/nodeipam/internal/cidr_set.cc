#include "controllers/nodeipam/internal/cidr_set.h"

namespace knet::controllers::nodeipam_internal {

base::StatusOr<CidrSet> CidrSet::Create(const base::Cidr& cluster, int mask_size) {
  const int bits = cluster.network().BitLen();
  if (mask_size < cluster.prefix_len() || mask_size > bits) {
    return base::InvalidArgumentError("node CIDR mask size " + std::to_string(mask_size) +
                                      " must be between the cluster CIDR's prefix length " +
                                      std::to_string(cluster.prefix_len()) + " and " +
                                      std::to_string(bits));
  }
  if (mask_size - cluster.prefix_len() > kMaxSubnetBits) {
    return base::InvalidArgumentError(
        "node CIDR mask size " + std::to_string(mask_size) + " splits " + cluster.ToString() +
        " into more than 2^" + std::to_string(kMaxSubnetBits) +
        " ranges (the mask may be at most " + std::to_string(kMaxSubnetBits) +
        " bits longer than the cluster prefix)");
  }
  return CidrSet(cluster, mask_size);
}

CidrSet::CidrSet(const base::Cidr& cluster, int mask_size)
    : cluster_(cluster),
      mask_size_(mask_size),
      used_(uint64_t{1} << (mask_size - cluster.prefix_len()), false) {}

bool CidrSet::Holds(const base::Cidr& range) const {
  return range.prefix_len() == mask_size_ && cluster_.Contains(range);
}

uint64_t CidrSet::IndexOf(const base::Cidr& range) const {
  // The bits between the cluster prefix and the mask, read from the address bytes (Cidr::IndexOf
  // would overflow for an IPv6 cluster prefix shorter than /64).
  std::span<const uint8_t> b = range.network().bytes();
  uint64_t index = 0;
  for (int bit = cluster_.prefix_len(); bit < mask_size_; ++bit) {
    index = (index << 1) | ((b[static_cast<size_t>(bit / 8)] >> (7 - bit % 8)) & 1u);
  }
  return index;
}

base::StatusOr<base::Cidr> CidrSet::AllocateNext() {
  const uint64_t n = used_.size();
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t idx = (next_ + i) % n;
    if (used_[idx]) continue;
    ASSIGN_OR_RETURN(base::Cidr range, cluster_.Subnet(mask_size_, idx));
    used_[idx] = true;
    ++count_;
    next_ = (idx + 1) % n;
    return range;
  }
  return base::ResourceExhaustedError("no remaining /" + std::to_string(mask_size_) +
                                      " ranges in cluster CIDR " + cluster_.ToString());
}

base::Status CidrSet::Occupy(const base::Cidr& range) {
  if (!Holds(range)) {
    return base::InvalidArgumentError(range.ToString() + " is not a /" +
                                      std::to_string(mask_size_) + " range of " +
                                      cluster_.ToString());
  }
  const uint64_t idx = IndexOf(range);
  if (!used_[idx]) {
    used_[idx] = true;
    ++count_;
  }
  return base::OkStatus();
}

void CidrSet::Release(const base::Cidr& range) {
  if (!Holds(range)) return;
  const uint64_t idx = IndexOf(range);
  if (used_[idx]) {
    used_[idx] = false;
    --count_;
  }
}

}  // namespace knet::controllers::nodeipam_internal
