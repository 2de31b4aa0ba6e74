// File: base/mac.h
//
// MacAddress: a 48-bit IEEE 802 MAC address (EUI-48), as used for veth, bridge and VXLAN FDB
// entries. Parses colon or hyphen form in either case and prints lowercase colon form.
//
//   ASSIGN_OR_RETURN(MacAddress mac, MacAddress::Parse("AA-BB-CC-DD-EE-FF"));
//   mac.ToString();                                          // "aa:bb:cc:dd:ee:ff"
//   MacAddress veth = MacAddress::DeriveLocal("pod-uid/eth0");  // stable across restarts
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::base {

// A 6-byte MAC address. Ordered bytewise.
//
// A value type: thread-compatible (const methods may be called concurrently).
class MacAddress {
 public:
  static constexpr size_t kBytes = 6;

  // 00:00:00:00:00:00.
  constexpr MacAddress() = default;
  // The address with exactly these bytes, in wire order.
  constexpr explicit MacAddress(const std::array<uint8_t, kBytes>& bytes) : bytes_(bytes) {}

  // Parses six two-digit hex octets separated all by ':' or all by '-', in either case
  // ("aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF"). InvalidArgument, naming the input and the reason,
  // for anything else (other lengths, mixed separators, single-digit octets, EUI-64, dotted
  // Cisco form).
  static StatusOr<MacAddress> Parse(std::string_view text);
  // `bytes` must hold exactly 6 bytes (a netlink IFLA_ADDRESS); any other length is
  // InvalidArgument.
  static StatusOr<MacAddress> FromBytes(std::span<const uint8_t> bytes);
  // A locally administered unicast address derived deterministically from `seed` (a 64-bit FNV-1a
  // hash), so the same seed yields the same address in every process and on every machine.
  // Distinct seeds may collide (48-bit space, 46 bits of it free): callers that need uniqueness
  // must check for it.
  static MacAddress DeriveLocal(std::string_view seed);
  // ff:ff:ff:ff:ff:ff.
  static constexpr MacAddress Broadcast() {
    return MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  }

  const std::array<uint8_t, kBytes>& bytes() const { return bytes_; }

  bool IsZero() const { return bytes_ == std::array<uint8_t, kBytes>{}; }
  bool IsBroadcast() const { return *this == Broadcast(); }
  // The I/G bit (least significant bit of the first octet); broadcast is multicast.
  bool IsMulticast() const { return (bytes_[0] & 0x01) != 0; }
  bool IsUnicast() const { return !IsMulticast(); }
  // The U/L bit (second least significant bit of the first octet).
  bool IsLocallyAdministered() const { return (bytes_[0] & 0x02) != 0; }

  // Lowercase colon form: "aa:bb:cc:dd:ee:ff".
  std::string ToString() const;

  size_t Hash() const noexcept;

  friend bool operator==(const MacAddress& a, const MacAddress& b) = default;
  friend std::strong_ordering operator<=>(const MacAddress& a, const MacAddress& b) = default;

 private:
  std::array<uint8_t, kBytes> bytes_{};
};

std::ostream& operator<<(std::ostream& os, const MacAddress& mac);

}  // namespace knet::base

template <>
struct std::hash<knet::base::MacAddress> {
  size_t operator()(const knet::base::MacAddress& mac) const noexcept { return mac.Hash(); }
};
