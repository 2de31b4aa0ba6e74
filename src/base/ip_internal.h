// File: base/ip_internal.h
//
// Helpers shared by ip.cc, ip_cidr.cc and mac.cc; not part of the public API (use base/ip.h).
// Addresses as 128-bit numbers for prefix arithmetic, the reason-returning address parser, and
// input quoting for error messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/ip.h"

namespace knet::base::ip_internal {

inline constexpr uint64_t kMax64 = ~uint64_t{0};

// `s` quoted for an error message: unprintable bytes escaped as \xNN, input past 64 bytes cut.
std::string Quote(std::string_view s);

// Parses an address into *out. Returns "" on success, else why `s` is invalid (no input echo).
std::string ParseAddress(std::string_view s, IPAddress* out);

// An address as a 128-bit unsigned number; IPv4 uses the low 32 bits.
struct U128 {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend bool operator==(const U128&, const U128&) = default;
};
inline U128 operator&(U128 a, U128 b) { return {a.hi & b.hi, a.lo & b.lo}; }
inline U128 operator|(U128 a, U128 b) { return {a.hi | b.hi, a.lo | b.lo}; }
inline U128 operator~(U128 a) { return {~a.hi, ~a.lo}; }

inline U128 ToU128(const IPAddress& addr) {
  if (addr.is_v4()) return {0, addr.V4Value()};
  std::span<const uint8_t> b = addr.bytes();
  U128 v;
  for (size_t i = 0; i < 8; ++i) {
    v.hi = (v.hi << 8) | b[i];
    v.lo = (v.lo << 8) | b[i + 8];
  }
  return v;
}

// REQUIRES: v < 2^32 for IPv4 (higher bits are dropped).
inline IPAddress FromU128(IPFamily family, U128 v) {
  if (family == IPFamily::kV4) return IPAddress::FromV4(static_cast<uint32_t>(v.lo));
  std::array<uint8_t, IPAddress::kV6Bytes> b;
  for (size_t i = 0; i < 8; ++i) {
    b[7 - i] = static_cast<uint8_t>(v.hi >> (8 * i));
    b[15 - i] = static_cast<uint8_t>(v.lo >> (8 * i));
  }
  return IPAddress::FromV6(b);
}

// The low `host_bits` bits set (none for host_bits <= 0, all for >= 128).
inline U128 HostMask(int host_bits) {
  if (host_bits <= 0) return {};
  if (host_bits >= 128) return {kMax64, kMax64};
  if (host_bits >= 64) return {host_bits == 64 ? 0 : kMax64 >> (128 - host_bits), kMax64};
  return {0, (uint64_t{1} << host_bits) - 1};
}

// v << shift for shift in [0, 128]; bits shifted past bit 127 are lost.
inline U128 ShiftLeft(uint64_t v, int shift) {
  if (shift >= 128) return {};
  if (shift >= 64) return {v << (shift - 64), 0};
  if (shift == 0) return {0, v};
  return {v >> (64 - shift), v << shift};
}

// 2^bits, saturating at UINT64_MAX.
inline uint64_t SaturatingPow2(int bits) { return bits >= 64 ? kMax64 : uint64_t{1} << bits; }

// `addr` with the bits after the first `prefix_len` cleared.
inline IPAddress Mask(const IPAddress& addr, int prefix_len) {
  return FromU128(addr.family(), ToU128(addr) & ~HostMask(addr.BitLen() - prefix_len));
}

}  // namespace knet::base::ip_internal
