#include "base/ip.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/un.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace knet::base {
namespace {

IPAddress Ip(std::string_view text) {
  StatusOr<IPAddress> ip = IPAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << ip.status().ToString();
  return ip.ok() ? *ip : IPAddress();
}

TEST(IPAddress, ParsesAndPrintsCanonically) {
  struct Case {
    std::string_view input;
    std::string_view canonical;
    IPFamily family;
  };
  const Case cases[] = {
      {"0.0.0.0", "0.0.0.0", IPFamily::kV4},
      {"1.2.3.4", "1.2.3.4", IPFamily::kV4},
      {"10.244.0.1", "10.244.0.1", IPFamily::kV4},
      {"255.255.255.255", "255.255.255.255", IPFamily::kV4},
      {"::", "::", IPFamily::kV6},
      {"0:0:0:0:0:0:0:0", "::", IPFamily::kV6},
      {"::1", "::1", IPFamily::kV6},
      {"0:0:0:0:0:0:0:1", "::1", IPFamily::kV6},
      {"1::", "1::", IPFamily::kV6},
      {"2001:db8::1", "2001:db8::1", IPFamily::kV6},
      // RFC 5952 4.3: lowercase. 4.1: no leading zeros.
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1", IPFamily::kV6},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", IPFamily::kV6},
      // 4.2.2: a single zero group is not shortened.
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1", IPFamily::kV6},
      {"1::3:4:5:6:7:8", "1:0:3:4:5:6:7:8", IPFamily::kV6},
      // 4.2.3: the longest run is shortened; the first one on a tie.
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1", IPFamily::kV6},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", IPFamily::kV6},
      {"0:0:1:0:0:0:0:0", "0:0:1::", IPFamily::kV6},
      {"a:b:c:d:e:f:0:0", "a:b:c:d:e:f::", IPFamily::kV6},
      {"1:0:0:0:0:0:0:8", "1::8", IPFamily::kV6},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", IPFamily::kV6},
      {"fe80::1:2:3:4", "fe80::1:2:3:4", IPFamily::kV6},
      {"FD00:10:244::", "fd00:10:244::", IPFamily::kV6},
      {"ff02::1", "ff02::1", IPFamily::kV6},
      // Embedded IPv4. Only IPv4-mapped addresses print in mixed notation (as Go's netip).
      {"::ffff:1.2.3.4", "::ffff:1.2.3.4", IPFamily::kV6},
      {"::FFFF:0102:0304", "::ffff:1.2.3.4", IPFamily::kV6},
      {"0:0:0:0:0:ffff:10.0.0.1", "::ffff:10.0.0.1", IPFamily::kV6},
      {"::1.2.3.4", "::102:304", IPFamily::kV6},
      {"64:ff9b::10.0.0.1", "64:ff9b::a00:1", IPFamily::kV6},
      {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304", IPFamily::kV6},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    StatusOr<IPAddress> ip = IPAddress::Parse(c.input);
    ASSERT_TRUE(ip.ok()) << ip.status().ToString();
    EXPECT_EQ(ip->ToString(), c.canonical);
    EXPECT_EQ(ip->family(), c.family);
    EXPECT_EQ(ip->is_v4(), c.family == IPFamily::kV4);
    EXPECT_EQ(ip->is_v6(), c.family == IPFamily::kV6);
    EXPECT_EQ(IPAddress::Parse(ip->ToString()).value(), *ip);  // the canonical form round-trips
  }
}

TEST(IPAddress, RejectsInvalidTextNamingInputAndReason) {
  struct Case {
    std::string_view input;
    std::string_view reason;
  };
  const Case cases[] = {
      {"", "empty string"},
      {"1.2.3.256", "octet 4 out of range"},
      {"1.2.3.99999999999999999999", "octet 4 out of range"},
      {"010.1.1.1", "octet 1 has a leading zero"},
      {"1.2.3.00", "octet 4 has a leading zero"},
      {"1.2.3", "expected 4 octets, got 3"},
      {"1", "expected 4 octets, got 1"},
      {"1.2.3.4.5", "more than 4 octets"},
      {"1.2.3.4.", "more than 4 octets"},
      {"1..3.4", "octet 2 is empty"},
      {".1.2.3", "octet 1 is empty"},
      {"1.2.3.-4", "unexpected character '-'"},
      {" 1.2.3.4", "unexpected character ' '"},
      {"1.2.3.4 ", "unexpected character ' '"},
      {"1.2.3.4/24", "unexpected character '/'"},
      {"localhost", "unexpected character 'l'"},
      {"0x7f.0.0.1", "unexpected character 'x'"},
      {"fe80::1%eth0", "zone suffix ('%...') not allowed"},
      {"1.2.3.4%eth0", "zone suffix ('%...') not allowed"},
      {":", "starts with a single ':'"},
      {":1::", "starts with a single ':'"},
      {":::", "unexpected character ':'"},
      {"1:", "ends with a single ':'"},
      {"1::2::3", "more than one '::'"},
      {"1:2:3:4:5:6:7", "expected 8 groups, got 7"},
      {"1:2:3:4:5:6:7:8:9", "more than 8 groups"},
      {"1:2:3:4:5:6:7:8::", "'::' must stand for at least one zero group"},
      {"::1:2:3:4:5:6:7:8", "'::' must stand for at least one zero group"},
      {"1:2:3:4::5:6:7:8", "'::' must stand for at least one zero group"},
      {"12345::", "group 1 has more than 4 hex digits"},
      {"1:00000::", "group 2 has more than 4 hex digits"},
      {"g::", "unexpected character 'g'"},
      {"[::1]", "unexpected character '['"},
      {"2001:db8::1 ", "unexpected character ' '"},
      {"::1.2.3.256", "embedded IPv4 address \"1.2.3.256\": octet 4 out of range"},
      {"::ffff:010.0.0.1", "embedded IPv4 address \"010.0.0.1\": octet 1 has a leading zero"},
      {"::1.2.3.4:5", "embedded IPv4 address \"1.2.3.4:5\": unexpected character ':'"},
      {"1:2:3:4:5:6:7:1.2.3.4", "more than 8 groups"},
      {"1:2:3:1.2.3.4", "fewer than 6 groups before the embedded IPv4 address"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    StatusOr<IPAddress> ip = IPAddress::Parse(c.input);
    ASSERT_FALSE(ip.ok()) << "parsed as " << *ip;
    EXPECT_EQ(ip.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ip.status().message(),
              "invalid IP address \"" + std::string(c.input) + "\": " + std::string(c.reason));
  }
}

TEST(IPAddress, ErrorMessagesEscapeAndTruncateInput) {
  EXPECT_EQ(IPAddress::Parse(std::string_view("\x01::", 3)).status().message(),
            "invalid IP address \"\\x01::\": unexpected character '\\x01'");
  const std::string long_input(100, '1');
  EXPECT_EQ(IPAddress::Parse(long_input).status().message(),
            "invalid IP address \"" + std::string(64, '1') + "...\": octet 1 out of range");
}

// Differential test against glibc: inet_pton must agree on the bytes, and inet_ntop (which follows
// RFC 5952 except for printing ::a.b.c.d) on the canonical text.
TEST(IPAddress, AgreesWithInetPtonAndNtop) {
  std::mt19937_64 rng(42);
  for (int iter = 0; iter < 5000; ++iter) {
    std::array<uint8_t, 16> bytes;
    const uint64_t zero_mask = rng();  // favour runs of zero groups
    for (size_t g = 0; g < 8; ++g) {
      const bool zero = ((zero_mask >> (g % 4)) & 1) != 0 || (zero_mask >> (8 + g)) % 3 == 0;
      const uint64_t r = zero ? 0 : rng();
      bytes[2 * g] = static_cast<uint8_t>(r >> 8);
      bytes[2 * g + 1] = static_cast<uint8_t>(r);
    }
    const IPAddress ip = IPAddress::FromV6(bytes);
    char buf[INET6_ADDRSTRLEN];
    ASSERT_NE(inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf)), nullptr);
    const std::string glibc = buf;
    SCOPED_TRACE(glibc);
    if (glibc.find('.') == std::string::npos) {
      EXPECT_EQ(ip.ToString(), glibc);
    }
    EXPECT_EQ(IPAddress::Parse(glibc).value(), ip);
    in6_addr parsed;
    ASSERT_EQ(inet_pton(AF_INET6, ip.ToString().c_str(), &parsed), 1);
    EXPECT_EQ(IPAddress::FromIn6Addr(parsed), ip);
  }
}

TEST(IPAddress, OrdersV4BeforeV6ThenNumerically) {
  std::vector<IPAddress> ips = {Ip("::"),
                                Ip("10.0.0.2"),
                                Ip("2001:db8::1"),
                                Ip("10.0.0.10"),
                                Ip("::ffff:0.0.0.1"),
                                Ip("255.255.255.255"),
                                Ip("0.0.0.0"),
                                Ip("::1")};
  std::sort(ips.begin(), ips.end());
  std::vector<std::string> got;
  for (const IPAddress& ip : ips) got.push_back(ip.ToString());
  EXPECT_EQ(got, (std::vector<std::string>{"0.0.0.0", "10.0.0.2", "10.0.0.10", "255.255.255.255",
                                           "::", "::1", "::ffff:0.0.0.1", "2001:db8::1"}));
  EXPECT_LT(Ip("255.255.255.255"), Ip("::"));
  EXPECT_GT(Ip("::"), Ip("255.255.255.255"));
  EXPECT_EQ(Ip("2001:DB8::1"), Ip("2001:db8:0:0:0:0:0:1"));
  EXPECT_NE(Ip("1.2.3.4"), Ip("::ffff:1.2.3.4"));
  EXPECT_EQ(IPAddress(), Ip("0.0.0.0"));
}

TEST(IPAddress, HashesEqualAddressesEqually) {
  std::unordered_set<IPAddress> set = {Ip("10.0.0.1"), Ip("::ffff:10.0.0.1"), Ip("fd00::1"),
                                       Ip("FD00:0:0:0:0:0:0:1"), Ip("10.0.0.1")};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(set.contains(Ip("fd00::0001")));
  EXPECT_EQ(std::hash<IPAddress>()(Ip("fd00::1")), std::hash<IPAddress>()(Ip("fd00:0::1")));
  EXPECT_NE(Ip("0.0.0.0").Hash(), Ip("::").Hash());
}

TEST(IPAddress, BytesAndConstructors) {
  const IPAddress v4 = Ip("10.244.0.1");
  EXPECT_EQ(std::vector<uint8_t>(v4.bytes().begin(), v4.bytes().end()),
            (std::vector<uint8_t>{10, 244, 0, 1}));
  EXPECT_EQ(v4.V4Value(), 0x0af40001u);
  EXPECT_EQ(v4.BitLen(), 32);
  EXPECT_EQ(IPAddress::FromV4(0x0af40001u), v4);
  EXPECT_EQ(IPAddress::FromV4({10, 244, 0, 1}), v4);
  EXPECT_EQ(IPAddress::FromBytes(v4.bytes()).value(), v4);

  const IPAddress v6 = Ip("2001:db8::ff");
  EXPECT_EQ(v6.bytes().size(), 16u);
  EXPECT_EQ(v6.bytes()[0], 0x20);
  EXPECT_EQ(v6.bytes()[15], 0xff);
  EXPECT_EQ(v6.BitLen(), 128);
  EXPECT_EQ(IPAddress::FromBytes(v6.bytes()).value(), v6);
  EXPECT_EQ(IPAddress::FromV6(v6.As16()), v6);

  const uint8_t five[5] = {1, 2, 3, 4, 5};
  EXPECT_EQ(IPAddress::FromBytes(five).status().message(),
            "invalid IP address: 5 bytes, want 4 (IPv4) or 16 (IPv6)");
}

TEST(IPAddress, V4Mapping) {
  const IPAddress v4 = Ip("192.0.2.1");
  const IPAddress mapped = Ip("::ffff:192.0.2.1");
  EXPECT_FALSE(v4.IsV4Mapped());
  EXPECT_TRUE(mapped.IsV4Mapped());
  EXPECT_FALSE(Ip("::192.0.2.1").IsV4Mapped());
  EXPECT_FALSE(Ip("1::ffff:192.0.2.1").IsV4Mapped());
  EXPECT_EQ(v4.AsV4Mapped(), mapped);
  EXPECT_EQ(mapped.Unmap(), v4);
  EXPECT_EQ(mapped.AsV4Mapped(), mapped);
  EXPECT_EQ(v4.Unmap(), v4);
  EXPECT_EQ(Ip("fd00::1").Unmap(), Ip("fd00::1"));
  EXPECT_EQ(IPAddress::FromV6(v4.As16()), mapped);
}

TEST(IPAddress, Classifies) {
  struct Case {
    std::string_view ip;
    bool unspecified, loopback, link_local, link_local_mcast, multicast, is_private, global;
  };
  const Case cases[] = {
      // ip                      unspec loop   ll     llmc   mcast  priv   global
      {"0.0.0.0", true, false, false, false, false, false, false},
      {"127.0.0.1", false, true, false, false, false, false, false},
      {"127.255.255.254", false, true, false, false, false, false, false},
      {"169.254.169.254", false, false, true, false, false, false, false},
      {"224.0.0.251", false, false, false, true, true, false, false},
      {"239.1.1.1", false, false, false, false, true, false, false},
      {"10.1.2.3", false, false, false, false, false, true, true},
      {"172.16.0.1", false, false, false, false, false, true, true},
      {"172.31.255.255", false, false, false, false, false, true, true},
      {"172.32.0.1", false, false, false, false, false, false, true},
      {"192.168.1.1", false, false, false, false, false, true, true},
      {"8.8.8.8", false, false, false, false, false, false, true},
      {"255.255.255.255", false, false, false, false, false, false, false},
      {"::", true, false, false, false, false, false, false},
      {"::1", false, true, false, false, false, false, false},
      {"fe80::1", false, false, true, false, false, false, false},
      {"febf::1", false, false, true, false, false, false, false},
      {"fec0::1", false, false, false, false, false, false, true},
      {"ff02::1", false, false, false, true, true, false, false},
      {"ff05::2", false, false, false, false, true, false, false},
      {"fd00::1", false, false, false, false, false, true, true},
      {"fc00::1", false, false, false, false, false, true, true},
      {"2001:db8::1", false, false, false, false, false, false, true},
      {"::ffff:127.0.0.1", false, true, false, false, false, false, false},
      {"::ffff:10.0.0.1", false, false, false, false, false, true, true},
      {"::ffff:0.0.0.0", false, false, false, false, false, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ip);
    const IPAddress ip = Ip(c.ip);
    EXPECT_EQ(ip.IsUnspecified(), c.unspecified);
    EXPECT_EQ(ip.IsLoopback(), c.loopback);
    EXPECT_EQ(ip.IsLinkLocalUnicast(), c.link_local);
    EXPECT_EQ(ip.IsLinkLocalMulticast(), c.link_local_mcast);
    EXPECT_EQ(ip.IsMulticast(), c.multicast);
    EXPECT_EQ(ip.IsPrivate(), c.is_private);
    EXPECT_EQ(ip.IsGlobalUnicast(), c.global);
  }
  EXPECT_TRUE(Ip("ff01::1").IsInterfaceLocalMulticast());
  EXPECT_FALSE(Ip("ff02::1").IsInterfaceLocalMulticast());
  EXPECT_FALSE(Ip("255.1.0.0").IsInterfaceLocalMulticast());
}

TEST(IPAddress, ArithmeticWithinTheFamily) {
  struct Case {
    std::string_view start;
    bool add;
    uint64_t offset;
    std::string_view want;  // "" for an error
  };
  const Case cases[] = {
      {"10.0.0.255", true, 1, "10.0.1.0"},
      {"10.0.1.0", false, 256, "10.0.0.0"},
      {"0.0.0.0", true, 0xffffffffu, "255.255.255.255"},
      {"0.0.0.0", true, 0x100000000u, ""},
      {"0.0.0.1", true, UINT64_MAX, ""},
      {"255.255.255.255", true, 0, "255.255.255.255"},
      {"255.255.255.255", false, 0xffffffffu, "0.0.0.0"},
      {"255.255.255.255", false, 0x100000000u, ""},
      {"::ffff:ffff:ffff:ffff", true, 1, "0:0:0:1::"},   // carry into the high 64 bits
      {"0:0:0:1::", false, 1, "::ffff:ffff:ffff:ffff"},  // borrow from them
      {"::", true, UINT64_MAX, "::ffff:ffff:ffff:ffff"},
      {"::ffff:ffff:ffff:ffff", true, UINT64_MAX, "::1:ffff:ffff:ffff:fffe"},
      {"::ffff:255.255.255.255", true, 1, "::1:0:0:0"},  // stays IPv6
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", true, 1,
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", true, 2, ""},
      {"ffff:ffff:ffff:ffff::", true, UINT64_MAX, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"ffff:ffff:ffff:ffff::1", true, UINT64_MAX, ""},
      {"::1", false, 1, "::"},
      {"::1", false, 2, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.start) + (c.add ? " + " : " - ") + std::to_string(c.offset));
    StatusOr<IPAddress> got = c.add ? Ip(c.start).Add(c.offset) : Ip(c.start).Subtract(c.offset);
    if (c.want.empty()) {
      ASSERT_FALSE(got.ok()) << *got;
      EXPECT_EQ(got.status().code(), StatusCode::kOutOfRange);
    } else {
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(got->ToString(), c.want);
      EXPECT_EQ(got->family(), Ip(c.start).family());
    }
  }
}

TEST(IPAddress, NextAndPrevReportOverflow) {
  EXPECT_EQ(Ip("10.0.0.1").Next().value(), Ip("10.0.0.2"));
  EXPECT_EQ(Ip("10.0.0.1").Prev().value(), Ip("10.0.0.0"));
  EXPECT_EQ(Ip("fd00::ffff").Next().value(), Ip("fd00::1:0"));
  EXPECT_EQ(Ip("fd00::1:0").Prev().value(), Ip("fd00::ffff"));

  EXPECT_EQ(Ip("255.255.255.255").Next().status(),
            OutOfRangeError("IP address 255.255.255.255 + 1 overflows the IPv4 address space"));
  EXPECT_EQ(Ip("0.0.0.0").Prev().status(),
            OutOfRangeError("IP address 0.0.0.0 - 1 underflows the IPv4 address space"));
  EXPECT_EQ(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").Next().status(),
            OutOfRangeError("IP address ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff + 1 overflows the "
                            "IPv6 address space"));
  EXPECT_EQ(Ip("::").Prev().status(),
            OutOfRangeError("IP address :: - 1 underflows the IPv6 address space"));
}

TEST(IPAddress, SocketAddresses) {
  sockaddr_storage ss;
  const IPAddress v4 = Ip("192.0.2.7");
  ASSERT_EQ(v4.ToSockaddr(8080, &ss), sizeof(sockaddr_in));
  sockaddr_in sin;
  std::memcpy(&sin, &ss, sizeof(sin));
  EXPECT_EQ(sin.sin_family, AF_INET);
  EXPECT_EQ(ntohs(sin.sin_port), 8080);
  in_addr want4;
  ASSERT_EQ(inet_pton(AF_INET, "192.0.2.7", &want4), 1);
  EXPECT_EQ(sin.sin_addr.s_addr, want4.s_addr);
  EXPECT_EQ(v4.ToInAddr().s_addr, want4.s_addr);
  EXPECT_EQ(IPAddress::FromInAddr(want4), v4);
  uint16_t port = 0;
  EXPECT_EQ(IPAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), sizeof(ss), &port).value(),
            v4);
  EXPECT_EQ(port, 8080);

  const IPAddress v6 = Ip("2001:db8::7");
  ASSERT_EQ(v6.ToSockaddr(53, &ss), sizeof(sockaddr_in6));
  sockaddr_in6 sin6;
  std::memcpy(&sin6, &ss, sizeof(sin6));
  EXPECT_EQ(sin6.sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(sin6.sin6_port), 53);
  in6_addr want6;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::7", &want6), 1);
  EXPECT_EQ(std::memcmp(&sin6.sin6_addr, &want6, sizeof(want6)), 0);
  EXPECT_EQ(IPAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), sizeof(sin6), &port).value(),
            v6);
  EXPECT_EQ(port, 53);

  // An IPv4 address becomes IPv4-mapped in an in6_addr.
  in6_addr mapped = v4.ToIn6Addr();
  EXPECT_EQ(IPAddress::FromIn6Addr(mapped), Ip("::ffff:192.0.2.7"));

  EXPECT_EQ(IPAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in), nullptr)
                .status()
                .message(),
            "invalid AF_INET6 socket address: 16 bytes, want 28");
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  EXPECT_EQ(
      IPAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sun), sizeof(sun)).status(),
      InvalidArgumentError("invalid socket address: address family 1 is not AF_INET or AF_INET6"));
  EXPECT_FALSE(IPAddress::FromSockaddr(nullptr, 0).ok());
}

}  // namespace
}  // namespace knet::base
