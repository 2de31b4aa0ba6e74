// Cidr, declared in base/ip.h.
#include <ostream>

#include "base/ip.h"
#include "base/ip_internal.h"

namespace knet::base {

using ip_internal::FromU128;
using ip_internal::HostMask;
using ip_internal::Mask;
using ip_internal::Quote;
using ip_internal::SaturatingPow2;
using ip_internal::ShiftLeft;
using ip_internal::ToU128;
using ip_internal::U128;

namespace {

// Parses a decimal prefix length in [0, max_len] (no sign, no leading zeros, as Go's netip).
// Returns "" on success, else the reason.
std::string ParsePrefixLen(std::string_view s, int max_len, int* out) {
  if (s.empty()) return "missing prefix length after '/'";
  int value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return "prefix length " + Quote(s) + " is not a decimal number";
    if (value <= 128) value = value * 10 + (c - '0');
  }
  if (s.size() > 1 && s[0] == '0') return "prefix length " + Quote(s) + " has a leading zero";
  if (value > max_len) {
    return "prefix length " + std::string(s) + " exceeds " + std::to_string(max_len) + " bits";
  }
  *out = value;
  return "";
}

StatusOr<Cidr> ParseCidr(std::string_view text, bool strict) {
  auto invalid = [&](const std::string& reason) {
    return InvalidArgumentError("invalid CIDR " + Quote(text) + ": " + reason);
  };
  if (text.empty()) return invalid("empty string");
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return invalid("missing /prefix-length");
  if (slash == 0) return invalid("missing address before '/'");
  IPAddress addr;
  if (std::string reason = ip_internal::ParseAddress(text.substr(0, slash), &addr);
      !reason.empty()) {
    return invalid(reason);
  }
  int prefix_len = 0;
  if (std::string reason = ParsePrefixLen(text.substr(slash + 1), addr.BitLen(), &prefix_len);
      !reason.empty()) {
    return invalid(reason);
  }
  const IPAddress network = Mask(addr, prefix_len);
  if (strict && network != addr) {
    return invalid("host bits set (did you mean " + network.ToString() + "/" +
                   std::to_string(prefix_len) + "?)");
  }
  return Cidr::MakeMasked(network, prefix_len);
}

}  // namespace

StatusOr<Cidr> Cidr::Parse(std::string_view text) { return ParseCidr(text, /*strict=*/true); }

StatusOr<Cidr> Cidr::ParseLoose(std::string_view text) { return ParseCidr(text, /*strict=*/false); }

StatusOr<Cidr> Cidr::Make(const IPAddress& addr, int prefix_len) {
  ASSIGN_OR_RETURN(Cidr cidr, MakeMasked(addr, prefix_len));
  if (cidr.network_ != addr) {
    return InvalidArgumentError("invalid CIDR " + addr.ToString() + "/" +
                                std::to_string(prefix_len) + ": host bits set (did you mean " +
                                cidr.ToString() + "?)");
  }
  return cidr;
}

StatusOr<Cidr> Cidr::MakeMasked(const IPAddress& addr, int prefix_len) {
  if (prefix_len < 0 || prefix_len > addr.BitLen()) {
    return InvalidArgumentError("invalid CIDR " + addr.ToString() + "/" +
                                std::to_string(prefix_len) + ": prefix length must be 0-" +
                                std::to_string(addr.BitLen()) + " for " +
                                std::string(IPFamilyName(addr.family())));
  }
  return Cidr(Mask(addr, prefix_len), prefix_len);
}

Cidr Cidr::HostPrefix(const IPAddress& addr) { return Cidr(addr, addr.BitLen()); }

IPAddress Cidr::last() const { return FromU128(family(), ToU128(network_) | HostMask(HostBits())); }

IPAddress Cidr::Netmask() const { return FromU128(family(), ~HostMask(HostBits())); }

bool Cidr::Contains(const IPAddress& addr) const {
  return addr.family() == family() && Mask(addr, prefix_len_) == network_;
}

bool Cidr::Contains(const Cidr& other) const {
  return other.prefix_len_ >= prefix_len_ && Contains(other.network_);
}

bool Cidr::Overlaps(const Cidr& other) const {
  return Contains(other.network_) || other.Contains(network_);
}

uint64_t Cidr::Size() const { return SaturatingPow2(HostBits()); }

StatusOr<IPAddress> Cidr::Nth(uint64_t index) const {
  if (HostBits() < 64 && index >= Size()) {
    return OutOfRangeError("address index " + std::to_string(index) + " out of range for " +
                           ToString() + " (" + std::to_string(Size()) + " addresses)");
  }
  return FromU128(family(), ToU128(network_) | U128{0, index});
}

StatusOr<uint64_t> Cidr::IndexOf(const IPAddress& addr) const {
  if (!Contains(addr)) {
    return InvalidArgumentError("IP address " + addr.ToString() + " is not in " + ToString());
  }
  const U128 offset = ToU128(addr) & HostMask(HostBits());
  if (offset.hi != 0) {
    return OutOfRangeError("IP address " + addr.ToString() +
                           " is past the first 2^64 addresses of " + ToString() +
                           ", so its index does not fit in 64 bits");
  }
  return offset.lo;
}

uint64_t Cidr::SubnetCount(int new_prefix_len) const {
  if (new_prefix_len < prefix_len_ || new_prefix_len > network_.BitLen()) return 0;
  return SaturatingPow2(new_prefix_len - prefix_len_);
}

StatusOr<Cidr> Cidr::Subnet(int new_prefix_len, uint64_t index) const {
  if (new_prefix_len < prefix_len_ || new_prefix_len > network_.BitLen()) {
    return InvalidArgumentError(
        "cannot split " + ToString() + " into /" + std::to_string(new_prefix_len) +
        " subnets: the prefix length must be " + std::to_string(prefix_len_) + "-" +
        std::to_string(network_.BitLen()));
  }
  const int subnet_bits = new_prefix_len - prefix_len_;
  if (subnet_bits < 64 && index >= SaturatingPow2(subnet_bits)) {
    return OutOfRangeError("subnet index " + std::to_string(index) + " out of range: " +
                           ToString() + " has " + std::to_string(SaturatingPow2(subnet_bits)) +
                           " /" + std::to_string(new_prefix_len) + " subnets");
  }
  const U128 net = ToU128(network_) | ShiftLeft(index, network_.BitLen() - new_prefix_len);
  return Cidr(FromU128(family(), net), new_prefix_len);
}

std::string Cidr::ToString() const {
  return network_.ToString() + "/" + std::to_string(prefix_len_);
}

size_t Cidr::Hash() const noexcept {
  size_t h = network_.Hash();
  h ^= prefix_len_ + size_t{0x9e3779b97f4a7c15ull} + (h << 6) + (h >> 2);
  return h;
}

std::strong_ordering operator<=>(const Cidr& a, const Cidr& b) {
  if (a.network_ != b.network_) return a.network_ <=> b.network_;
  return a.prefix_len_ <=> b.prefix_len_;
}

std::ostream& operator<<(std::ostream& os, const Cidr& cidr) { return os << cidr.ToString(); }

Cidr::AddressIterator& Cidr::AddressIterator::operator++() {
  if (current_ == last_) {
    *this = AddressIterator();
  } else {
    // current_ < last_, so this cannot overflow.
    U128 v = ToU128(current_);
    v.lo += 1;
    if (v.lo == 0) v.hi += 1;
    current_ = FromU128(current_.family(), v);
  }
  return *this;
}

}  // namespace knet::base
