// libFuzzer target for the IP, CIDR and MAC parsers (shared/style.md section 7: fuzz every parser
// of untrusted input). Checks, for any input:
//   - a successful parse round-trips through ToString(), and ToString() is a fixed point;
//   - IPAddress::Parse agrees with glibc inet_pton on both acceptance and bytes;
//   - Cidr::Parse accepts exactly the inputs ParseLoose accepts unchanged;
//   - Nth/IndexOf are inverses on a parsed prefix.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "base/ip.h"
#include "base/mac.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void FuzzIP(std::string_view text) {
  knet::base::StatusOr<knet::base::IPAddress> ip = knet::base::IPAddress::Parse(text);
  // glibc's inet_pton has the same grammar minus zones (also rejected here) and leading-zero
  // octets (also rejected there).
  const std::string cstr(text);
  unsigned char buf[16];
  const bool has_nul = cstr.find('\0') != std::string::npos;
  const int af = cstr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  const bool glibc_ok = !has_nul && inet_pton(af, cstr.c_str(), buf) == 1;
  Check(ip.ok() == glibc_ok);
  if (!ip.ok()) return;
  Check(std::memcmp(ip->bytes().data(), buf, ip->bytes().size()) == 0);
  const std::string canonical = ip->ToString();
  knet::base::StatusOr<knet::base::IPAddress> again = knet::base::IPAddress::Parse(canonical);
  Check(again.ok() && *again == *ip && again->ToString() == canonical);
}

void FuzzCidr(std::string_view text) {
  knet::base::StatusOr<knet::base::Cidr> strict = knet::base::Cidr::Parse(text);
  knet::base::StatusOr<knet::base::Cidr> loose = knet::base::Cidr::ParseLoose(text);
  if (strict.ok()) Check(loose.ok() && *loose == *strict);
  if (!loose.ok()) return;
  const knet::base::Cidr& cidr = *loose;
  knet::base::StatusOr<knet::base::Cidr> again = knet::base::Cidr::Parse(cidr.ToString());
  Check(again.ok() && *again == cidr);
  Check(cidr.Contains(cidr.network()) && cidr.Contains(cidr.last()));
  for (uint64_t index : {uint64_t{0}, cidr.Size() / 2, cidr.Size() - 1}) {
    knet::base::StatusOr<knet::base::IPAddress> nth = cidr.Nth(index);
    Check(nth.ok());
    knet::base::StatusOr<uint64_t> back = cidr.IndexOf(*nth);
    Check(back.ok() && *back == index);
  }
}

void FuzzMac(std::string_view text) {
  knet::base::StatusOr<knet::base::MacAddress> mac = knet::base::MacAddress::Parse(text);
  if (!mac.ok()) return;
  knet::base::StatusOr<knet::base::MacAddress> again =
      knet::base::MacAddress::Parse(mac->ToString());
  Check(again.ok() && *again == *mac);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzIP(text);
  FuzzCidr(text);
  FuzzMac(text);
  return 0;
}
