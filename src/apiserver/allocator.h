// File: apiserver/allocator.h
//
// The Service allocators of the API server: ClusterIPs from the service CIDR(s) and NodePorts
// from the NodePort range. Both are in-memory bitmaps; the server rebuilds them from the stored
// Services on start (Mark), so allocations survive a restart without a separate record.
//
//   ASSIGN_OR_RETURN(auto ips, ServiceIpAllocator::Create({v4_cidr}));
//   ASSIGN_OR_RETURN(base::IPAddress ip, ips.AllocateNext(base::IPFamily::kV4));   // 10.96.0.2
//   RETURN_IF_ERROR(ips.Allocate(*base::IPAddress::Parse("10.96.0.10")));           // a chosen one
//   ips.Release(ip);
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "base/ip.h"
#include "base/status.h"

namespace knet::apiserver {

// A bitmap over [0, size) with a rotating cursor, so that a released item is not handed out again
// at once (upstream allocates at random for the same reason). Not thread-safe.
class AllocationBitmap {
 public:
  explicit AllocationBitmap(uint64_t size = 0) : used_(size, false) {}
  uint64_t size() const { return used_.size(); }
  uint64_t used() const { return count_; }
  bool Has(uint64_t i) const { return i < used_.size() && used_[i]; }
  // False if already taken.
  bool Set(uint64_t i);
  void Clear(uint64_t i);
  // The next free index at or after the cursor (wrapping), or size() when full.
  uint64_t NextFree();

 private:
  std::vector<bool> used_;
  uint64_t count_ = 0;
  uint64_t cursor_ = 0;
};

// ClusterIP allocation from one service CIDR per IP family. Thread-safe.
// The network address (and, for IPv4, the broadcast address) are never handed out.
class ServiceIpAllocator {
 public:
  // InvalidArgument for two CIDRs of one family, or a range too large for a bitmap (more than
  // 2^20 addresses: for IPv6 the prefix must be /108 or longer, as kube-apiserver requires).
  static base::StatusOr<ServiceIpAllocator> Create(const std::vector<base::Cidr>& cidrs);

  ServiceIpAllocator(ServiceIpAllocator&& other) noexcept;
  ServiceIpAllocator& operator=(ServiceIpAllocator&& other) noexcept;

  // The next free address of that family. FailedPrecondition if the family is not configured;
  // ResourceExhausted when the range is full.
  base::StatusOr<base::IPAddress> AllocateNext(base::IPFamily family);
  // Takes a specific address. InvalidArgument outside the range (upstream's message: "provided IP
  // is not in the valid range. The range of valid IPs is 10.96.0.0/12"); AlreadyExists if taken.
  base::Status Allocate(const base::IPAddress& ip);
  // Takes the address whatever its state (rebuilding from stored Services). Addresses outside the
  // range are ignored and reported as false.
  bool Mark(const base::IPAddress& ip);
  // Frees an address; addresses outside the range or not taken are ignored.
  void Release(const base::IPAddress& ip);

  bool HasFamily(base::IPFamily family) const;
  bool InRange(const base::IPAddress& ip) const;
  // The CIDR of a family (for messages), or nullptr.
  const base::Cidr* CidrFor(base::IPFamily family) const;
  uint64_t Used(base::IPFamily family) const;

 private:
  struct Range {
    base::Cidr cidr;
    AllocationBitmap bitmap;
  };
  explicit ServiceIpAllocator(std::vector<Range> ranges) : ranges_(std::move(ranges)) {}
  Range* RangeFor(base::IPFamily family);
  const Range* RangeFor(base::IPFamily family) const;
  // Index into the bitmap, or nullopt when outside the usable part of the range.
  static std::optional<uint64_t> IndexOf(const Range& range, const base::IPAddress& ip);

  mutable std::mutex mu_;
  std::vector<Range> ranges_;  // GUARDED_BY(mu_)
};

// NodePort allocation from a port range (default 30000-32767). Thread-safe.
class PortAllocator {
 public:
  // InvalidArgument unless 1 <= first <= last <= 65535.
  static base::StatusOr<PortAllocator> Create(int first, int last);
  // Parses "30000-32767".
  static base::StatusOr<PortAllocator> Parse(std::string_view range);

  PortAllocator(PortAllocator&& other) noexcept;
  PortAllocator& operator=(PortAllocator&& other) noexcept;

  base::StatusOr<int> AllocateNext();  // ResourceExhausted when full
  // InvalidArgument outside the range ("provided port is not in the valid range. The range of
  // valid ports is 30000-32767"); AlreadyExists if taken ("provided port is already allocated").
  base::Status Allocate(int port);
  bool Mark(int port);
  void Release(int port);
  std::string RangeString() const;
  uint64_t Used() const;

 private:
  PortAllocator(int first, int last)
      : first_(first), last_(last), bitmap_(static_cast<uint64_t>(last - first + 1)) {}
  mutable std::mutex mu_;
  int first_ = 0;
  int last_ = 0;
  AllocationBitmap bitmap_;  // GUARDED_BY(mu_)
};

}  // namespace knet::apiserver
