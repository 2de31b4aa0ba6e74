// File: base/ip.h
//
// IPAddress (an IPv4 or IPv6 address) and Cidr (an address prefix such as 10.244.0.0/16), the value
// types every knet component uses for pod, service and node addresses. Parsing follows Go's
// net/netip, which Kubernetes validation is built on: IPv4 octets with leading zeros ("010.1.1.1")
// and zone suffixes ("fe80::1%eth0") are rejected, and printing is RFC 5952 canonical.
//
// Cidr is allocation-friendly: an allocator maps an index to an address and back.
//
//   ASSIGN_OR_RETURN(Cidr cluster, Cidr::Parse("10.244.0.0/16"));    // strict: no host bits set
//   ASSIGN_OR_RETURN(Cidr node, cluster.Subnet(24, 3));               // 10.244.3.0/24
//   ASSIGN_OR_RETURN(IPAddress gw, node.Nth(1));                      // 10.244.3.1
//   ASSIGN_OR_RETURN(uint64_t i, node.IndexOf(gw));                   // 1
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <iterator>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::base {

enum class IPFamily : uint8_t {
  kV4 = 4,
  kV6 = 6,
};

// "IPv4" or "IPv6".
std::string_view IPFamilyName(IPFamily family);

// An IPv4 or IPv6 address, without a zone. Ordered by family first (every IPv4 address sorts before
// every IPv6 address), then numerically. An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is an IPv6
// address distinct from 1.2.3.4; Unmap() converts it.
//
// A value type: thread-compatible (const methods may be called concurrently; mutation needs
// external synchronisation). Cheap to copy (17 bytes).
class IPAddress {
 public:
  static constexpr size_t kV4Bytes = 4;
  static constexpr size_t kV6Bytes = 16;

  // The IPv4 unspecified address, 0.0.0.0.
  IPAddress() = default;

  // Parses dotted-quad IPv4 ("10.0.0.1") or any RFC 4291 IPv6 text form ("fd00::1",
  // "2001:DB8:0:0:0:0:0:1", "::", "::ffff:1.2.3.4", "64:ff9b::10.0.0.1").
  // Errors (InvalidArgument, naming the input and the reason): empty input, leading zeros or
  // out-of-range IPv4 octets, wrong group counts, more than one "::", a zone suffix ("%eth0"),
  // surrounding whitespace, or any other character.
  static StatusOr<IPAddress> Parse(std::string_view text);

  // The IPv4 address whose value, in host byte order, is `value` (FromV4(0x0a000001) is 10.0.0.1).
  static IPAddress FromV4(uint32_t value);
  // Network byte order.
  static IPAddress FromV4(const std::array<uint8_t, kV4Bytes>& bytes);
  static IPAddress FromV6(const std::array<uint8_t, kV6Bytes>& bytes);
  // `bytes` must hold 4 (IPv4) or 16 (IPv6) bytes in network order, as in a netlink attribute;
  // any other length is InvalidArgument.
  static StatusOr<IPAddress> FromBytes(std::span<const uint8_t> bytes);

  static IPAddress FromInAddr(const in_addr& addr);
  static IPAddress FromIn6Addr(const in6_addr& addr);
  // Reads an AF_INET or AF_INET6 socket address, and its port (host byte order) if `port` is not
  // null. InvalidArgument on another family or when `len` is too short for the family.
  static StatusOr<IPAddress> FromSockaddr(const sockaddr* addr, socklen_t len,
                                          uint16_t* port = nullptr);

  IPFamily family() const { return family_; }
  bool is_v4() const { return family_ == IPFamily::kV4; }
  bool is_v6() const { return family_ == IPFamily::kV6; }
  // 32 or 128.
  int BitLen() const { return is_v4() ? 32 : 128; }

  // The address in network byte order: 4 bytes for IPv4, 16 for IPv6. The span points into *this.
  std::span<const uint8_t> bytes() const {
    return std::span<const uint8_t>(bytes_.data(), is_v4() ? kV4Bytes : kV6Bytes);
  }
  // The 16-byte form: an IPv4 address becomes IPv4-mapped (::ffff:a.b.c.d).
  std::array<uint8_t, kV6Bytes> As16() const;
  // REQUIRES: is_v4(). The address in host byte order.
  uint32_t V4Value() const;

  // REQUIRES: is_v4().
  in_addr ToInAddr() const;
  // An IPv4 address becomes IPv4-mapped, as for a dual-stack AF_INET6 socket.
  in6_addr ToIn6Addr() const;
  // Writes a sockaddr_in (IPv4) or sockaddr_in6 (IPv6) with `port` (host byte order) into *out and
  // returns its length, ready for bind(2)/connect(2)/sendto(2).
  socklen_t ToSockaddr(uint16_t port, sockaddr_storage* out) const;

  // ::ffff:0:0/96.
  bool IsV4Mapped() const;
  // The embedded IPv4 address of an IPv4-mapped address; any other address unchanged.
  IPAddress Unmap() const;
  // The IPv4-mapped form of an IPv4 address; an IPv6 address unchanged.
  IPAddress AsV4Mapped() const;

  // Address classes, as Go's net/netip defines them. Except for IsUnspecified and
  // IsInterfaceLocalMulticast, an IPv4-mapped address is classified by its embedded IPv4 address.
  bool IsUnspecified() const;              // 0.0.0.0, :: (not ::ffff:0.0.0.0)
  bool IsLoopback() const;                 // 127.0.0.0/8, ::1
  bool IsLinkLocalUnicast() const;         // 169.254.0.0/16, fe80::/10
  bool IsLinkLocalMulticast() const;       // 224.0.0.0/24, ff02::/16
  bool IsInterfaceLocalMulticast() const;  // ff01::/16 (IPv6 only)
  bool IsMulticast() const;                // 224.0.0.0/4, ff00::/8
  bool IsPrivate() const;                  // RFC 1918 and RFC 4193 (fc00::/7)
  // Not unspecified, loopback, multicast, link-local or the IPv4 limited broadcast.
  bool IsGlobalUnicast() const;

  // The address `offset` above this one. OutOfRange if that would pass 255.255.255.255 or
  // ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff (the family never changes).
  StatusOr<IPAddress> Add(uint64_t offset) const;
  // The address `offset` below this one. OutOfRange if that would pass 0.0.0.0 or ::.
  StatusOr<IPAddress> Subtract(uint64_t offset) const;
  // Add(1) and Subtract(1).
  StatusOr<IPAddress> Next() const;
  StatusOr<IPAddress> Prev() const;

  // "10.0.0.1"; IPv6 in RFC 5952 canonical form ("2001:db8::1", "::ffff:10.0.0.1").
  std::string ToString() const;

  size_t Hash() const noexcept;

  friend bool operator==(const IPAddress& a, const IPAddress& b) = default;
  friend std::strong_ordering operator<=>(const IPAddress& a, const IPAddress& b);

 private:
  // IPv4 addresses use bytes_[0..3]; the remaining bytes stay zero so defaulted == works.
  IPFamily family_ = IPFamily::kV4;
  std::array<uint8_t, kV6Bytes> bytes_{};
};

std::ostream& operator<<(std::ostream& os, const IPAddress& addr);

// An IP prefix: a network address and a prefix length, such as 10.244.0.0/16 or fd00::/48. The
// network address never has host bits set. Ordered by network address, then prefix length.
//
// Sizes and indexes are uint64_t. A prefix with more than 2^64 addresses (an IPv6 prefix shorter
// than /64) is still usable: Size() saturates at UINT64_MAX and only its first 2^64 addresses are
// reachable by index.
//
// A value type: thread-compatible.
class Cidr {
 public:
  class AddressIterator;
  class AddressRange;

  // 0.0.0.0/32, which holds only the unspecified address. Deliberately not 0.0.0.0/0, so that a
  // forgotten field never means "every address".
  Cidr() = default;

  // Parses "<address>/<prefix length>" strictly, as Kubernetes validates --service-cluster-ip-range
  // and --cluster-cidr: the address must have no host bits set. InvalidArgument for a bad address,
  // a missing, non-decimal, leading-zero or too large prefix length, or host bits set (the message
  // suggests the masked prefix).
  static StatusOr<Cidr> Parse(std::string_view text);
  // Like Parse, but clears host bits: "10.244.0.1/16" is 10.244.0.0/16 (like Go's net.ParseCIDR).
  static StatusOr<Cidr> ParseLoose(std::string_view text);

  // The prefix `addr`/`prefix_len`. InvalidArgument if prefix_len is outside [0, addr.BitLen()]
  // or if `addr` has host bits set.
  static StatusOr<Cidr> Make(const IPAddress& addr, int prefix_len);
  // Like Make, but clears host bits instead of failing.
  static StatusOr<Cidr> MakeMasked(const IPAddress& addr, int prefix_len);
  // addr/32 or addr/128.
  static Cidr HostPrefix(const IPAddress& addr);

  // The first address (all host bits zero).
  const IPAddress& network() const { return network_; }
  // The last address (all host bits one): the IPv4 broadcast address.
  IPAddress last() const;
  // The prefix as a mask: 255.255.0.0 for a /16, ffff:ffff:ffff::/48 for a /48.
  IPAddress Netmask() const;
  int prefix_len() const { return prefix_len_; }
  // BitLen() - prefix_len(): 8 for 10.0.0.0/24.
  int HostBits() const { return network_.BitLen() - prefix_len_; }
  IPFamily family() const { return network_.family(); }
  bool is_v4() const { return network_.is_v4(); }
  bool is_v6() const { return network_.is_v6(); }

  // False when the families differ (an IPv4-mapped address is not in an IPv4 prefix).
  bool Contains(const IPAddress& addr) const;
  // True if every address of `other` is in this prefix (a prefix contains itself).
  bool Contains(const Cidr& other) const;
  // True if the prefixes share an address, that is if one contains the other.
  bool Overlaps(const Cidr& other) const;

  // The number of addresses, 2^HostBits(), saturating at UINT64_MAX (so /64 and larger IPv6
  // prefixes report UINT64_MAX).
  uint64_t Size() const;
  // The address at `index` (network() is index 0). OutOfRange if index >= 2^HostBits().
  StatusOr<IPAddress> Nth(uint64_t index) const;
  // The inverse of Nth. InvalidArgument if `addr` is not in this prefix; OutOfRange if its index
  // does not fit in 64 bits (only possible for IPv6 prefixes shorter than /64).
  StatusOr<uint64_t> IndexOf(const IPAddress& addr) const;

  // How many /new_prefix_len subnets this prefix splits into: 2^(new_prefix_len - prefix_len()),
  // saturating at UINT64_MAX. 0 if new_prefix_len is shorter than prefix_len() or longer than
  // the family allows.
  uint64_t SubnetCount(int new_prefix_len) const;
  // The index-th subnet of length new_prefix_len, in address order: 10.244.0.0/16 split into /24s
  // has subnet 3 = 10.244.3.0/24. InvalidArgument if new_prefix_len is outside
  // [prefix_len(), BitLen()]; OutOfRange if index >= 2^(new_prefix_len - prefix_len()).
  StatusOr<Cidr> Subnet(int new_prefix_len, uint64_t index) const;

  // Every address from network() to last(), in order:
  //   for (const IPAddress& ip : cidr.Addresses()) ...
  // The range is lazy, but a large IPv6 prefix is effectively endless: bound the loop.
  AddressRange Addresses() const;

  // "10.244.0.0/16", "fd00::/48".
  std::string ToString() const;

  size_t Hash() const noexcept;

  friend bool operator==(const Cidr& a, const Cidr& b) = default;
  friend std::strong_ordering operator<=>(const Cidr& a, const Cidr& b);

 private:
  Cidr(const IPAddress& network, int prefix_len)
      : network_(network), prefix_len_(static_cast<uint8_t>(prefix_len)) {}

  IPAddress network_;
  uint8_t prefix_len_ = 32;
};

std::ostream& operator<<(std::ostream& os, const Cidr& cidr);

// A forward iterator over the addresses of a Cidr. A default-constructed iterator is the end.
class Cidr::AddressIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = IPAddress;
  using difference_type = std::ptrdiff_t;
  using pointer = const IPAddress*;
  using reference = const IPAddress&;

  AddressIterator() = default;

  reference operator*() const { return current_; }
  pointer operator->() const { return &current_; }
  // REQUIRES: not the end iterator.
  AddressIterator& operator++();
  AddressIterator operator++(int) {
    AddressIterator copy = *this;
    ++*this;
    return copy;
  }

  friend bool operator==(const AddressIterator& a, const AddressIterator& b) = default;

 private:
  friend class Cidr::AddressRange;
  AddressIterator(const IPAddress& first, const IPAddress& last)
      : current_(first), last_(last), done_(false) {}

  // The end iterator keeps all three at their defaults so that every end compares equal.
  IPAddress current_;
  IPAddress last_;
  bool done_ = true;
};

class Cidr::AddressRange {
 public:
  explicit AddressRange(const Cidr& cidr) : cidr_(cidr) {}
  AddressIterator begin() const { return AddressIterator(cidr_.network(), cidr_.last()); }
  AddressIterator end() const { return AddressIterator(); }

 private:
  Cidr cidr_;
};

inline Cidr::AddressRange Cidr::Addresses() const { return AddressRange(*this); }

}  // namespace knet::base

template <>
struct std::hash<knet::base::IPAddress> {
  size_t operator()(const knet::base::IPAddress& addr) const noexcept { return addr.Hash(); }
};

template <>
struct std::hash<knet::base::Cidr> {
  size_t operator()(const knet::base::Cidr& cidr) const noexcept { return cidr.Hash(); }
};
