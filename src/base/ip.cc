#include "base/ip.h"

#include <arpa/inet.h>

#include <cassert>
#include <cstdio>
#include <cstring>
#include <ostream>

#include "base/ip_internal.h"

namespace knet::base {
namespace ip_internal {
namespace {

// Untrusted input goes into error messages quoted, with unprintable bytes escaped and long input
// cut.
void AppendEscaped(std::string* out, char c) {
  if (c == '"' || c == '\\') {
    out->push_back('\\');
    out->push_back(c);
  } else if (c >= 0x20 && c < 0x7f) {
    out->push_back(c);
  } else {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "\\x%02x",
                  static_cast<unsigned>(static_cast<unsigned char>(c)));
    out->append(buf);
  }
}

}  // namespace

std::string Quote(std::string_view s) {
  constexpr size_t kMaxShown = 64;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) AppendEscaped(&out, s[i]);
  if (s.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

namespace {

std::string UnexpectedChar(char c) {
  std::string out = "unexpected character '";
  AppendEscaped(&out, c);
  out += "'";
  return out;
}

// The parsers below return "" on success or the reason the input is invalid.

std::string ParseV4(std::string_view s, std::array<uint8_t, IPAddress::kV4Bytes>* out) {
  size_t i = 0;
  for (int octet = 1; octet <= 4; ++octet) {
    if (octet > 1) {
      if (i == s.size()) return "expected 4 octets, got " + std::to_string(octet - 1);
      if (s[i] != '.') return UnexpectedChar(s[i]);
      ++i;
    }
    const size_t start = i;
    int value = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (value <= 255) value = value * 10 + (s[i] - '0');
    }
    const std::string name = "octet " + std::to_string(octet);
    if (i == start) {
      if (i == s.size() || s[i] == '.') return name + " is empty";
      return UnexpectedChar(s[i]);
    }
    if (i - start > 1 && s[start] == '0') return name + " has a leading zero";
    if (value > 255) return name + " out of range";
    (*out)[static_cast<size_t>(octet - 1)] = static_cast<uint8_t>(value);
  }
  if (i != s.size()) return s[i] == '.' ? "more than 4 octets" : UnexpectedChar(s[i]);
  return "";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string ParseV6(std::string_view s, std::array<uint8_t, IPAddress::kV6Bytes>* out) {
  std::array<uint16_t, 8> groups{};
  size_t n = 0;       // groups parsed
  int ellipsis = -1;  // index in `groups` where "::" stands, or -1
  size_t i = 0;
  if (s.starts_with("::")) {
    ellipsis = 0;
    i = 2;
  } else if (s.starts_with(":")) {
    return "starts with a single ':'";
  }
  while (i < s.size()) {
    const size_t start = i;
    uint32_t value = 0;
    for (; i < s.size() && HexValue(s[i]) >= 0; ++i) {
      if (i - start < 4) value = value * 16 + static_cast<uint32_t>(HexValue(s[i]));
    }
    if (i < s.size() && s[i] == '.') {  // a trailing dotted quad is the last 32 bits
      if (n > 6) return "more than 8 groups";
      if (ellipsis < 0 && n < 6) return "fewer than 6 groups before the embedded IPv4 address";
      std::array<uint8_t, IPAddress::kV4Bytes> v4;
      const std::string_view tail = s.substr(start);
      if (std::string reason = ParseV4(tail, &v4); !reason.empty()) {
        return "embedded IPv4 address " + Quote(tail) + ": " + reason;
      }
      groups[n++] = static_cast<uint16_t>((v4[0] << 8) | v4[1]);
      groups[n++] = static_cast<uint16_t>((v4[2] << 8) | v4[3]);
      i = s.size();
      break;
    }
    if (i == start) return UnexpectedChar(s[i]);
    if (i - start > 4) return "group " + std::to_string(n + 1) + " has more than 4 hex digits";
    if (n == 8) return "more than 8 groups";
    groups[n++] = static_cast<uint16_t>(value);
    if (i == s.size()) break;
    if (s[i] != ':') return UnexpectedChar(s[i]);
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (ellipsis >= 0) return "more than one '::'";
      ellipsis = static_cast<int>(n);
      ++i;
    } else if (i == s.size()) {
      return "ends with a single ':'";
    }
  }
  if (ellipsis < 0 && n != 8) return "expected 8 groups, got " + std::to_string(n);
  if (ellipsis >= 0 && n == 8) return "'::' must stand for at least one zero group";
  std::array<uint16_t, 8> expanded{};
  if (ellipsis < 0) {
    expanded = groups;
  } else {
    const size_t e = static_cast<size_t>(ellipsis);
    const size_t after = n - e;  // groups written after the "::"
    for (size_t g = 0; g < e; ++g) expanded[g] = groups[g];
    for (size_t g = 0; g < after; ++g) expanded[8 - after + g] = groups[e + g];
  }
  for (size_t g = 0; g < 8; ++g) {
    (*out)[2 * g] = static_cast<uint8_t>(expanded[g] >> 8);
    (*out)[2 * g + 1] = static_cast<uint8_t>(expanded[g] & 0xff);
  }
  return "";
}

}  // namespace

std::string ParseAddress(std::string_view s, IPAddress* out) {
  if (s.empty()) return "empty string";
  if (s.find('%') != std::string_view::npos) return "zone suffix ('%...') not allowed";
  if (s.find(':') != std::string_view::npos) {
    std::array<uint8_t, IPAddress::kV6Bytes> b{};
    std::string reason = ParseV6(s, &b);
    if (reason.empty()) *out = IPAddress::FromV6(b);
    return reason;
  }
  std::array<uint8_t, IPAddress::kV4Bytes> b;
  std::string reason = ParseV4(s, &b);
  if (reason.empty()) *out = IPAddress::FromV4(b);
  return reason;
}

namespace {

std::string FormatV4(std::span<const uint8_t> b) {
  return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
         std::to_string(b[3]);
}

// RFC 5952 section 4: lowercase, no leading zeros in a group, the longest run (leftmost on a
// tie) of two or more zero groups shortened to "::".
std::string FormatV6(std::span<const uint8_t> b) {
  std::array<uint16_t, 8> g;
  for (size_t i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>((b[2 * i] << 8) | b[2 * i + 1]);
  size_t best_start = 8;
  size_t best_len = 1;  // a lone zero group is never shortened
  for (size_t i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned digit = (g[i] >> shift) & 0xfu;
      if (digit != 0 || started || shift == 0) {
        out += kHex[digit];
        started = true;
      }
    }
  }
  return out;
}

uint64_t HashBytes(uint64_t h, std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) {  // FNV-1a
    h ^= b;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace
}  // namespace ip_internal

using ip_internal::FromU128;
using ip_internal::kMax64;
using ip_internal::Quote;
using ip_internal::ToU128;
using ip_internal::U128;

std::string_view IPFamilyName(IPFamily family) { return family == IPFamily::kV4 ? "IPv4" : "IPv6"; }

// ---- IPAddress ----

StatusOr<IPAddress> IPAddress::Parse(std::string_view text) {
  IPAddress addr;
  if (std::string reason = ip_internal::ParseAddress(text, &addr); !reason.empty()) {
    return InvalidArgumentError("invalid IP address " + Quote(text) + ": " + reason);
  }
  return addr;
}

IPAddress IPAddress::FromV4(uint32_t value) {
  return FromV4({static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
                 static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)});
}

IPAddress IPAddress::FromV4(const std::array<uint8_t, kV4Bytes>& bytes) {
  IPAddress addr;
  std::memcpy(addr.bytes_.data(), bytes.data(), kV4Bytes);
  return addr;
}

IPAddress IPAddress::FromV6(const std::array<uint8_t, kV6Bytes>& bytes) {
  IPAddress addr;
  addr.family_ = IPFamily::kV6;
  addr.bytes_ = bytes;
  return addr;
}

StatusOr<IPAddress> IPAddress::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() == kV4Bytes) return FromV4({bytes[0], bytes[1], bytes[2], bytes[3]});
  if (bytes.size() == kV6Bytes) {
    std::array<uint8_t, kV6Bytes> b{};
    std::memcpy(b.data(), bytes.data(), kV6Bytes);
    return FromV6(b);
  }
  return InvalidArgumentError("invalid IP address: " + std::to_string(bytes.size()) +
                              " bytes, want 4 (IPv4) or 16 (IPv6)");
}

IPAddress IPAddress::FromInAddr(const in_addr& addr) {
  std::array<uint8_t, kV4Bytes> b;
  std::memcpy(b.data(), &addr.s_addr, kV4Bytes);
  return FromV4(b);
}

IPAddress IPAddress::FromIn6Addr(const in6_addr& addr) {
  std::array<uint8_t, kV6Bytes> b{};
  std::memcpy(b.data(), addr.s6_addr, kV6Bytes);
  return FromV6(b);
}

StatusOr<IPAddress> IPAddress::FromSockaddr(const sockaddr* addr, socklen_t len, uint16_t* port) {
  if (addr == nullptr || len < sizeof(sa_family_t)) {
    return InvalidArgumentError("invalid socket address: " + std::to_string(len) + " bytes");
  }
  if (addr->sa_family == AF_INET) {
    if (len < sizeof(sockaddr_in)) {
      return InvalidArgumentError("invalid AF_INET socket address: " + std::to_string(len) +
                                  " bytes, want " + std::to_string(sizeof(sockaddr_in)));
    }
    sockaddr_in sin;
    std::memcpy(&sin, addr, sizeof(sin));
    if (port != nullptr) *port = ntohs(sin.sin_port);
    return FromInAddr(sin.sin_addr);
  }
  if (addr->sa_family == AF_INET6) {
    if (len < sizeof(sockaddr_in6)) {
      return InvalidArgumentError("invalid AF_INET6 socket address: " + std::to_string(len) +
                                  " bytes, want " + std::to_string(sizeof(sockaddr_in6)));
    }
    sockaddr_in6 sin6;
    std::memcpy(&sin6, addr, sizeof(sin6));
    if (port != nullptr) *port = ntohs(sin6.sin6_port);
    return FromIn6Addr(sin6.sin6_addr);
  }
  return InvalidArgumentError("invalid socket address: address family " +
                              std::to_string(addr->sa_family) + " is not AF_INET or AF_INET6");
}

std::array<uint8_t, IPAddress::kV6Bytes> IPAddress::As16() const { return AsV4Mapped().bytes_; }

uint32_t IPAddress::V4Value() const {
  assert(is_v4());
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         uint32_t{bytes_[3]};
}

in_addr IPAddress::ToInAddr() const {
  assert(is_v4());
  in_addr out;
  std::memcpy(&out.s_addr, bytes_.data(), kV4Bytes);
  return out;
}

in6_addr IPAddress::ToIn6Addr() const {
  const std::array<uint8_t, kV6Bytes> b = As16();
  in6_addr out;
  std::memcpy(out.s6_addr, b.data(), kV6Bytes);
  return out;
}

socklen_t IPAddress::ToSockaddr(uint16_t port, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof(*out));
  if (is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr = ToInAddr();
    std::memcpy(out, &sin, sizeof(sin));
    return static_cast<socklen_t>(sizeof(sin));
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  sin6.sin6_addr = ToIn6Addr();
  std::memcpy(out, &sin6, sizeof(sin6));
  return static_cast<socklen_t>(sizeof(sin6));
}

bool IPAddress::IsV4Mapped() const {
  if (!is_v6()) return false;
  for (size_t i = 0; i < 10; ++i) {
    if (bytes_[i] != 0) return false;
  }
  return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

IPAddress IPAddress::Unmap() const {
  if (!IsV4Mapped()) return *this;
  return FromV4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

IPAddress IPAddress::AsV4Mapped() const {
  if (!is_v4()) return *this;
  std::array<uint8_t, kV6Bytes> b{};
  b[10] = b[11] = 0xff;
  std::memcpy(&b[12], bytes_.data(), kV4Bytes);
  return FromV6(b);
}

bool IPAddress::IsUnspecified() const { return bytes_ == std::array<uint8_t, kV6Bytes>{}; }

bool IPAddress::IsLoopback() const {
  const IPAddress a = Unmap();
  if (a.is_v4()) return a.bytes_[0] == 127;
  return a == FromV6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
}

bool IPAddress::IsLinkLocalUnicast() const {
  const IPAddress a = Unmap();
  if (a.is_v4()) return a.bytes_[0] == 169 && a.bytes_[1] == 254;
  return a.bytes_[0] == 0xfe && (a.bytes_[1] & 0xc0) == 0x80;
}

bool IPAddress::IsLinkLocalMulticast() const {
  const IPAddress a = Unmap();
  if (a.is_v4()) return a.bytes_[0] == 224 && a.bytes_[1] == 0 && a.bytes_[2] == 0;
  return a.bytes_[0] == 0xff && a.bytes_[1] == 0x02;
}

bool IPAddress::IsInterfaceLocalMulticast() const {
  return is_v6() && !IsV4Mapped() && bytes_[0] == 0xff && bytes_[1] == 0x01;
}

bool IPAddress::IsMulticast() const {
  const IPAddress a = Unmap();
  if (a.is_v4()) return (a.bytes_[0] & 0xf0) == 0xe0;
  return a.bytes_[0] == 0xff;
}

bool IPAddress::IsPrivate() const {
  const IPAddress a = Unmap();
  if (a.is_v4()) {
    return a.bytes_[0] == 10 || (a.bytes_[0] == 172 && (a.bytes_[1] & 0xf0) == 16) ||
           (a.bytes_[0] == 192 && a.bytes_[1] == 168);
  }
  return (a.bytes_[0] & 0xfe) == 0xfc;
}

bool IPAddress::IsGlobalUnicast() const {
  const IPAddress a = Unmap();
  if (a.IsUnspecified() || a == FromV4(0xffffffffu)) return false;
  return !a.IsLoopback() && !a.IsMulticast() && !a.IsLinkLocalUnicast();
}

StatusOr<IPAddress> IPAddress::Add(uint64_t offset) const {
  U128 v = ToU128(*this);
  bool overflow;
  if (is_v4()) {
    overflow = offset > 0xffffffffu - v.lo;
    v.lo += offset;
  } else {
    const uint64_t lo = v.lo + offset;
    const uint64_t carry = lo < v.lo ? 1 : 0;
    overflow = carry == 1 && v.hi == kMax64;
    v.hi += carry;
    v.lo = lo;
  }
  if (overflow) {
    return OutOfRangeError("IP address " + ToString() + " + " + std::to_string(offset) +
                           " overflows the " + std::string(IPFamilyName(family_)) +
                           " address space");
  }
  return FromU128(family_, v);
}

StatusOr<IPAddress> IPAddress::Subtract(uint64_t offset) const {
  U128 v = ToU128(*this);
  const uint64_t borrow = offset > v.lo ? 1 : 0;
  if (borrow == 1 && v.hi == 0) {
    return OutOfRangeError("IP address " + ToString() + " - " + std::to_string(offset) +
                           " underflows the " + std::string(IPFamilyName(family_)) +
                           " address space");
  }
  v.lo -= offset;
  v.hi -= borrow;
  return FromU128(family_, v);
}

StatusOr<IPAddress> IPAddress::Next() const { return Add(1); }
StatusOr<IPAddress> IPAddress::Prev() const { return Subtract(1); }

std::string IPAddress::ToString() const {
  if (is_v4()) return ip_internal::FormatV4(bytes());
  if (IsV4Mapped()) {
    return "::ffff:" + ip_internal::FormatV4(std::span<const uint8_t>(bytes_).subspan(12));
  }
  return ip_internal::FormatV6(bytes());
}

size_t IPAddress::Hash() const noexcept {
  const uint8_t family = static_cast<uint8_t>(family_);
  return static_cast<size_t>(ip_internal::HashBytes(
      ip_internal::HashBytes(0xcbf29ce484222325ull, std::span<const uint8_t>(&family, 1)),
      bytes()));
}

std::strong_ordering operator<=>(const IPAddress& a, const IPAddress& b) {
  if (a.family_ != b.family_) return a.family_ <=> b.family_;
  return a.bytes_ <=> b.bytes_;
}

std::ostream& operator<<(std::ostream& os, const IPAddress& addr) { return os << addr.ToString(); }

}  // namespace knet::base
