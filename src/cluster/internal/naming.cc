#include "cluster/internal/naming.h"

#include <cstdio>

namespace knet::cluster::internal {

base::Status ValidateName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return base::InvalidArgumentError("invalid cluster name \"" + std::string(name) +
                                      "\": " + std::string(why));
  };
  if (name.empty() || name.size() > 32) return bad("must be 1 to 32 characters");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return bad("only lower-case letters, digits and '-' are allowed");
    }
  }
  if (name.front() == '-' || name.back() == '-')
    return bad("must start and end with a letter or digit");
  return base::OkStatus();
}

uint32_t StableHash(std::string_view s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

std::string ShortId(std::string_view name) {
  if (name.size() <= 8) return std::string(name);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", StableHash(name));
  return std::string(name.substr(0, 3)) + std::string(hex, 5);
}

std::string BridgeName(std::string_view name) { return "kn-" + ShortId(name); }

std::string HostVethName(std::string_view name, int index) {
  return "kn-" + ShortId(name) + "-" + std::to_string(index);
}

std::string NodeNetnsName(std::string_view name, int index) {
  return "kc-" + std::string(name) + "-" + NodeName(index);
}

std::string NodeName(int index) { return "node-" + std::to_string(index); }

base::StatusOr<base::Cidr> DefaultUnderlay(std::string_view name,
                                           const std::vector<base::Cidr>& taken) {
  uint32_t start = StableHash(name) % 256;
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t k = (start + i) % 256;
    ASSIGN_OR_RETURN(
        base::Cidr c,
        base::Cidr::Make(base::IPAddress::FromV4((10u << 24) | (250u << 16) | (k << 8)), 24));
    bool clash = false;
    for (const base::Cidr& t : taken) {
      // A default route (/0) overlaps everything and says nothing about the subnet being used.
      if (t.prefix_len() > 0 && t.Overlaps(c)) clash = true;
    }
    if (!clash) return c;
  }
  return base::ResourceExhaustedError(
      "no free underlay subnet in 10.250.0.0/16 (every /24 overlaps a host address or route); "
      "pass --underlay-cidr");
}

base::Status CheckUnderlay(const base::Cidr& cidr, int nodes) {
  if (cidr.network().family() != base::IPFamily::kV4) {
    return base::InvalidArgumentError("underlay " + cidr.ToString() + ": only IPv4 is supported");
  }
  // Usable hosts: 2^(32-len) - 2; one is the gateway on the bridge.
  int host_bits = 32 - cidr.prefix_len();
  uint64_t usable = host_bits >= 2 ? (uint64_t{1} << host_bits) - 2 : 0;
  if (usable < static_cast<uint64_t>(nodes) + 1) {
    return base::InvalidArgumentError("underlay " + cidr.ToString() + " has room for " +
                                      std::to_string(usable == 0 ? 0 : usable - 1) +
                                      " node address(es) besides the gateway; " +
                                      std::to_string(nodes) + " needed");
  }
  return base::OkStatus();
}

}  // namespace knet::cluster::internal
