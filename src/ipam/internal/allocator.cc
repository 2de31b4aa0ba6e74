#include "ipam/internal/allocator.h"

#include <cstddef>
#include <vector>

namespace knet::ipam::ipam_internal {
namespace {

using base::Cidr;
using base::IPAddress;

struct Segment {
  const Range* range;
  IPAddress first;
  IPAddress last;  // inclusive
};

// The first usable address in [seg.first, seg.last], or nullopt.
std::optional<IPAddress> ScanSegment(const IpamConfig& config, const Segment& seg,
                                     const std::function<bool(const IPAddress&)>& taken) {
  IPAddress ip = seg.first;
  while (true) {
    const Cidr* excluded = nullptr;
    for (const Cidr& c : config.excluded) {
      if (c.Contains(ip)) {
        excluded = &c;
        break;
      }
    }
    if (excluded != nullptr) {
      // Skip the whole excluded prefix.
      if (excluded->last() >= seg.last) return std::nullopt;
      ip = excluded->last();
    } else if (ip != seg.range->gateway && !taken(ip)) {
      return ip;
    }
    if (ip >= seg.last) return std::nullopt;
    ip = *ip.Next();  // ip < seg.last, so it has a successor
  }
}

}  // namespace

std::optional<IPAddress> NextFree(const IpamConfig& config, const RangeSet& set,
                                  const std::optional<IPAddress>& last_reserved,
                                  const std::function<bool(const IPAddress&)>& taken) {
  const size_t n = set.ranges.size();
  if (n == 0) return std::nullopt;
  size_t start_idx = 0;
  IPAddress start = set.ranges[0].range_start;
  if (last_reserved) {
    for (size_t i = 0; i < n; ++i) {
      const Range& r = set.ranges[i];
      if (!r.Contains(*last_reserved)) continue;
      if (*last_reserved == r.range_end) {
        start_idx = (i + 1) % n;
        start = set.ranges[start_idx].range_start;
      } else {
        start_idx = i;
        start = *last_reserved->Next();
      }
      break;
    }
  }
  std::vector<Segment> segments;
  const Range& first = set.ranges[start_idx];
  segments.push_back({&first, start, first.range_end});
  for (size_t k = 1; k < n; ++k) {
    const Range& r = set.ranges[(start_idx + k) % n];
    segments.push_back({&r, r.range_start, r.range_end});
  }
  if (start > first.range_start) segments.push_back({&first, first.range_start, *start.Prev()});
  for (const Segment& seg : segments) {
    if (std::optional<IPAddress> ip = ScanSegment(config, seg, taken)) return ip;
  }
  return std::nullopt;
}

}  // namespace knet::ipam::ipam_internal
