#include "base/mac.h"

#include <ostream>

#include "base/ip_internal.h"

namespace knet::base {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Returns "" on success, else why `s` is not a MAC address.
std::string ParseMac(std::string_view s, std::array<uint8_t, MacAddress::kBytes>* out) {
  constexpr size_t kTextLen = 3 * MacAddress::kBytes - 1;  // "aa:bb:cc:dd:ee:ff"
  if (s.empty()) return "empty string";
  if (s.size() != kTextLen) {
    return "expected 6 two-digit hex octets separated by ':' or '-' (17 characters), got " +
           std::to_string(s.size()) + " characters";
  }
  const char sep = s[2];
  if (sep != ':' && sep != '-') {
    return "expected ':' or '-' after octet 1, got " + ip_internal::Quote(s.substr(2, 1));
  }
  for (size_t i = 0; i < MacAddress::kBytes; ++i) {
    const size_t pos = 3 * i;
    const int high = HexValue(s[pos]);
    const int low = HexValue(s[pos + 1]);
    if (high < 0 || low < 0) {
      return "octet " + std::to_string(i + 1) + " " + ip_internal::Quote(s.substr(pos, 2)) +
             " is not two hex digits";
    }
    (*out)[i] = static_cast<uint8_t>(high * 16 + low);
    if (i + 1 < MacAddress::kBytes && s[pos + 2] != sep) {
      return "expected '" + std::string(1, sep) + "' after octet " + std::to_string(i + 1) +
             " (separators must not be mixed), got " + ip_internal::Quote(s.substr(pos + 2, 1));
    }
  }
  return "";
}

uint64_t Fnv1a(std::span<const uint8_t> bytes) {
  uint64_t h = kFnvOffset;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= kFnvPrime;
  }
  return h;
}

}  // namespace

StatusOr<MacAddress> MacAddress::Parse(std::string_view text) {
  std::array<uint8_t, kBytes> bytes{};
  if (std::string reason = ParseMac(text, &bytes); !reason.empty()) {
    return InvalidArgumentError("invalid MAC address " + ip_internal::Quote(text) + ": " + reason);
  }
  return MacAddress(bytes);
}

StatusOr<MacAddress> MacAddress::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kBytes) {
    return InvalidArgumentError("invalid MAC address: " + std::to_string(bytes.size()) +
                                " bytes, want 6");
  }
  return MacAddress({bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]});
}

MacAddress MacAddress::DeriveLocal(std::string_view seed) {
  const uint64_t h =
      Fnv1a(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(seed.data()), seed.size()));
  std::array<uint8_t, kBytes> b;
  for (size_t i = 0; i < kBytes; ++i) b[i] = static_cast<uint8_t>(h >> (8 * (kBytes - 1 - i)));
  b[0] = static_cast<uint8_t>((b[0] & 0xfc) | 0x02);  // unicast, locally administered
  return MacAddress(b);
}

std::string MacAddress::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(3 * kBytes - 1);
  for (size_t i = 0; i < kBytes; ++i) {
    if (i > 0) out += ':';
    out += kHex[bytes_[i] >> 4];
    out += kHex[bytes_[i] & 0xf];
  }
  return out;
}

size_t MacAddress::Hash() const noexcept { return static_cast<size_t>(Fnv1a(bytes_)); }

std::ostream& operator<<(std::ostream& os, const MacAddress& mac) { return os << mac.ToString(); }

}  // namespace knet::base
