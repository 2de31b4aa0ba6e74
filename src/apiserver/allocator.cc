#include "apiserver/allocator.h"

#include <charconv>

namespace knet::apiserver {

using base::Cidr;
using base::IPAddress;
using base::IPFamily;
using base::Status;
using base::StatusOr;

namespace {
constexpr uint64_t kMaxRangeSize = uint64_t{1} << 20;

std::string FamilyName(IPFamily f) { return f == IPFamily::kV4 ? "IPv4" : "IPv6"; }
}  // namespace

bool AllocationBitmap::Set(uint64_t i) {
  if (i >= used_.size() || used_[i]) return false;
  used_[i] = true;
  ++count_;
  return true;
}

void AllocationBitmap::Clear(uint64_t i) {
  if (i >= used_.size() || !used_[i]) return;
  used_[i] = false;
  --count_;
}

uint64_t AllocationBitmap::NextFree() {
  const uint64_t n = used_.size();
  if (count_ >= n) return n;
  for (uint64_t step = 0; step < n; ++step) {
    uint64_t i = (cursor_ + step) % n;
    if (!used_[i]) {
      cursor_ = (i + 1) % n;
      return i;
    }
  }
  return n;
}

StatusOr<ServiceIpAllocator> ServiceIpAllocator::Create(const std::vector<Cidr>& cidrs) {
  std::vector<Range> ranges;
  for (const Cidr& c : cidrs) {
    for (const Range& r : ranges) {
      if (r.cidr.family() == c.family()) {
        return base::InvalidArgumentError("service CIDRs " + r.cidr.ToString() + " and " +
                                          c.ToString() + ": at most one per IP family");
      }
    }
    if (c.HostBits() > 20) {
      return base::InvalidArgumentError("service CIDR " + c.ToString() +
                                        " is too large: at most 2^20 addresses (" +
                                        (c.is_v4() ? "a /12 or longer" : "a /108 or longer") + ")");
    }
    if (c.Size() < 4) {
      return base::InvalidArgumentError("service CIDR " + c.ToString() +
                                        " is too small: it needs at least 4 addresses");
    }
    ranges.push_back({c, AllocationBitmap(c.Size())});
    // Never hand out the network address, nor the IPv4 broadcast address.
    ranges.back().bitmap.Set(0);
    if (c.is_v4()) ranges.back().bitmap.Set(c.Size() - 1);
  }
  if (ranges.empty()) return base::InvalidArgumentError("no service CIDR given");
  return ServiceIpAllocator(std::move(ranges));
}

ServiceIpAllocator::ServiceIpAllocator(ServiceIpAllocator&& other) noexcept {
  std::lock_guard<std::mutex> lock(other.mu_);
  ranges_ = std::move(other.ranges_);
}

ServiceIpAllocator& ServiceIpAllocator::operator=(ServiceIpAllocator&& other) noexcept {
  if (this != &other) {
    std::scoped_lock lock(mu_, other.mu_);
    ranges_ = std::move(other.ranges_);
  }
  return *this;
}

ServiceIpAllocator::Range* ServiceIpAllocator::RangeFor(IPFamily family) {
  for (Range& r : ranges_) {
    if (r.cidr.family() == family) return &r;
  }
  return nullptr;
}

const ServiceIpAllocator::Range* ServiceIpAllocator::RangeFor(IPFamily family) const {
  for (const Range& r : ranges_) {
    if (r.cidr.family() == family) return &r;
  }
  return nullptr;
}

std::optional<uint64_t> ServiceIpAllocator::IndexOf(const Range& range, const IPAddress& ip) {
  if (!range.cidr.Contains(ip)) return std::nullopt;
  auto index = range.cidr.IndexOf(ip);
  if (!index.ok()) return std::nullopt;
  return *index;
}

StatusOr<IPAddress> ServiceIpAllocator::AllocateNext(IPFamily family) {
  std::lock_guard<std::mutex> lock(mu_);
  Range* r = RangeFor(family);
  if (r == nullptr) {
    return base::FailedPreconditionError("no " + FamilyName(family) +
                                         " service CIDR is configured");
  }
  uint64_t i = r->bitmap.NextFree();
  if (i >= r->bitmap.size()) {
    return base::ResourceExhaustedError("no ClusterIP left in " + r->cidr.ToString() +
                                        ": the range is full");
  }
  r->bitmap.Set(i);
  return r->cidr.Nth(i);
}

Status ServiceIpAllocator::Allocate(const IPAddress& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  Range* r = RangeFor(ip.family());
  auto index = r ? IndexOf(*r, ip) : std::nullopt;
  bool reserved = index && (*index == 0 || (ip.is_v4() && *index == r->cidr.Size() - 1));
  if (!index || reserved) {
    std::string valid = r ? r->cidr.ToString() : "(no " + FamilyName(ip.family()) + " range)";
    return base::InvalidArgumentError(
        "failed to allocate IP " + ip.ToString() +
        ": provided IP is not in the valid range. The range of valid IPs is " + valid);
  }
  if (!r->bitmap.Set(*index)) {
    return base::AlreadyExistsError("failed to allocate IP " + ip.ToString() +
                                    ": provided IP is already allocated");
  }
  return base::OkStatus();
}

bool ServiceIpAllocator::Mark(const IPAddress& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  Range* r = RangeFor(ip.family());
  auto index = r ? IndexOf(*r, ip) : std::nullopt;
  if (!index) return false;
  r->bitmap.Set(*index);
  return true;
}

void ServiceIpAllocator::Release(const IPAddress& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  Range* r = RangeFor(ip.family());
  auto index = r ? IndexOf(*r, ip) : std::nullopt;
  if (!index || *index == 0 || (ip.is_v4() && *index == r->cidr.Size() - 1)) return;
  r->bitmap.Clear(*index);
}

bool ServiceIpAllocator::HasFamily(IPFamily family) const {
  std::lock_guard<std::mutex> lock(mu_);
  return RangeFor(family) != nullptr;
}

bool ServiceIpAllocator::InRange(const IPAddress& ip) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Range* r = RangeFor(ip.family());
  return r != nullptr && IndexOf(*r, ip).has_value();
}

const Cidr* ServiceIpAllocator::CidrFor(IPFamily family) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Range* r = RangeFor(family);
  return r ? &r->cidr : nullptr;
}

uint64_t ServiceIpAllocator::Used(IPFamily family) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Range* r = RangeFor(family);
  if (r == nullptr) return 0;
  return r->bitmap.used() - (r->cidr.is_v4() ? 2 : 1);
}

StatusOr<PortAllocator> PortAllocator::Create(int first, int last) {
  if (first < 1 || last > 65535 || first > last) {
    return base::InvalidArgumentError("port range " + std::to_string(first) + "-" +
                                      std::to_string(last) +
                                      " is invalid: want FIRST-LAST within 1-65535");
  }
  return PortAllocator(first, last);
}

StatusOr<PortAllocator> PortAllocator::Parse(std::string_view range) {
  auto dash = range.find('-');
  int first = 0;
  int last = 0;
  auto parse = [](std::string_view s, int& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty();
  };
  if (dash == std::string_view::npos || !parse(range.substr(0, dash), first) ||
      !parse(range.substr(dash + 1), last)) {
    return base::InvalidArgumentError("port range \"" + std::string(range) +
                                      "\" is invalid: want FIRST-LAST, e.g. 30000-32767");
  }
  return Create(first, last);
}

PortAllocator::PortAllocator(PortAllocator&& other) noexcept {
  std::lock_guard<std::mutex> lock(other.mu_);
  first_ = other.first_;
  last_ = other.last_;
  bitmap_ = std::move(other.bitmap_);
}

PortAllocator& PortAllocator::operator=(PortAllocator&& other) noexcept {
  if (this != &other) {
    std::scoped_lock lock(mu_, other.mu_);
    first_ = other.first_;
    last_ = other.last_;
    bitmap_ = std::move(other.bitmap_);
  }
  return *this;
}

std::string PortAllocator::RangeString() const {
  return std::to_string(first_) + "-" + std::to_string(last_);
}

StatusOr<int> PortAllocator::AllocateNext() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t i = bitmap_.NextFree();
  if (i >= bitmap_.size()) {
    return base::ResourceExhaustedError("no NodePort left in " + RangeString() +
                                        ": the range is full");
  }
  bitmap_.Set(i);
  return first_ + static_cast<int>(i);
}

Status PortAllocator::Allocate(int port) {
  std::lock_guard<std::mutex> lock(mu_);
  if (port < first_ || port > last_) {
    return base::InvalidArgumentError(
        "provided port is not in the valid range. The range of valid ports is " + RangeString());
  }
  if (!bitmap_.Set(static_cast<uint64_t>(port - first_))) {
    return base::AlreadyExistsError("provided port is already allocated");
  }
  return base::OkStatus();
}

bool PortAllocator::Mark(int port) {
  std::lock_guard<std::mutex> lock(mu_);
  if (port < first_ || port > last_) return false;
  bitmap_.Set(static_cast<uint64_t>(port - first_));
  return true;
}

void PortAllocator::Release(int port) {
  std::lock_guard<std::mutex> lock(mu_);
  if (port < first_ || port > last_) return;
  bitmap_.Clear(static_cast<uint64_t>(port - first_));
}

uint64_t PortAllocator::Used() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bitmap_.used();
}

}  // namespace knet::apiserver
