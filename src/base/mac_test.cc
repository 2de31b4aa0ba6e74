#include "base/mac.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <unordered_set>

namespace knet::base {
namespace {

MacAddress Mac(std::string_view text) {
  StatusOr<MacAddress> mac = MacAddress::Parse(text);
  EXPECT_TRUE(mac.ok()) << mac.status().ToString();
  return mac.ok() ? *mac : MacAddress();
}

TEST(MacAddress, ParsesColonAndHyphenFormsInEitherCase) {
  struct Case {
    std::string_view input, canonical;
  };
  const Case cases[] = {
      {"aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff"}, {"AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"},
      {"aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff"}, {"AA-bb-Cc-dD-01-23", "aa:bb:cc:dd:01:23"},
      {"00:00:00:00:00:00", "00:00:00:00:00:00"}, {"02:42:ac:11:00:02", "02:42:ac:11:00:02"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    StatusOr<MacAddress> mac = MacAddress::Parse(c.input);
    ASSERT_TRUE(mac.ok()) << mac.status().ToString();
    EXPECT_EQ(mac->ToString(), c.canonical);
    EXPECT_EQ(MacAddress::Parse(mac->ToString()).value(), *mac);
  }
  EXPECT_EQ(Mac("02:42:ac:11:00:02").bytes(),
            (std::array<uint8_t, 6>{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}));
}

TEST(MacAddress, RejectsInvalidTextNamingInputAndReason) {
  struct Case {
    std::string_view input, reason;
  };
  const Case cases[] = {
      {"", "empty string"},
      {"aa:bb:cc:dd:ee",
       "expected 6 two-digit hex octets separated by ':' or '-' (17 characters), got 14 "
       "characters"},
      {"aa:bb:cc:dd:ee:ff:00",
       "expected 6 two-digit hex octets separated by ':' or '-' (17 characters), got 20 "
       "characters"},
      {"aabb.ccdd.eeff",
       "expected 6 two-digit hex octets separated by ':' or '-' (17 characters), got 14 "
       "characters"},
      {"aa.bb.cc.dd.ee.ff", "expected ':' or '-' after octet 1, got \".\""},
      {"aa:bb-cc:dd:ee:ff", "expected ':' after octet 2 (separators must not be mixed), got \"-\""},
      {"gg:bb:cc:dd:ee:ff", "octet 1 \"gg\" is not two hex digits"},
      {"aa:bb:cc:dd:ee:f ", "octet 6 \"f \" is not two hex digits"},
      {"a:bb:cc:dd:ee:fff", "expected ':' or '-' after octet 1, got \"b\""},
      {"aa:b:ccc:dd:ee:ff", "octet 2 \"b:\" is not two hex digits"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    StatusOr<MacAddress> mac = MacAddress::Parse(c.input);
    ASSERT_FALSE(mac.ok()) << "parsed as " << *mac;
    EXPECT_EQ(mac.status(), InvalidArgumentError("invalid MAC address \"" + std::string(c.input) +
                                                 "\": " + std::string(c.reason)));
  }
}

TEST(MacAddress, Classifies) {
  struct Case {
    std::string_view mac;
    bool zero, broadcast, multicast, local;
  };
  const Case cases[] = {
      {"00:00:00:00:00:00", true, false, false, false},
      {"ff:ff:ff:ff:ff:ff", false, true, true, true},
      {"01:00:5e:00:00:fb", false, false, true, false},  // IPv4 mDNS multicast
      {"33:33:00:00:00:01", false, false, true, true},   // IPv6 all-nodes multicast
      {"02:42:ac:11:00:02", false, false, false, true},  // Docker's locally administered range
      {"00:1b:21:3a:4f:5e", false, false, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mac);
    const MacAddress mac = Mac(c.mac);
    EXPECT_EQ(mac.IsZero(), c.zero);
    EXPECT_EQ(mac.IsBroadcast(), c.broadcast);
    EXPECT_EQ(mac.IsMulticast(), c.multicast);
    EXPECT_EQ(mac.IsUnicast(), !c.multicast);
    EXPECT_EQ(mac.IsLocallyAdministered(), c.local);
  }
  EXPECT_EQ(MacAddress::Broadcast(), Mac("ff:ff:ff:ff:ff:ff"));
  EXPECT_TRUE(MacAddress().IsZero());
}

TEST(MacAddress, FromBytes) {
  constexpr MacAddress kMac({0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x01});
  EXPECT_EQ(kMac.ToString(), "0a:58:0a:f4:00:01");
  const uint8_t six[6] = {0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x01};
  EXPECT_EQ(MacAddress::FromBytes(six).value(), kMac);
  const uint8_t eight[8] = {};
  EXPECT_EQ(MacAddress::FromBytes(eight).status(),
            InvalidArgumentError("invalid MAC address: 8 bytes, want 6"));
}

TEST(MacAddress, DeriveLocalIsStableUnicastAndLocal) {
  // Pinned: the derivation must not change between releases, or every veth would get a new MAC.
  EXPECT_EQ(MacAddress::DeriveLocal("pod-uid/eth0").ToString(), "82:d8:d7:ca:eb:81");
  EXPECT_EQ(MacAddress::DeriveLocal("pod-uid/eth0"), MacAddress::DeriveLocal("pod-uid/eth0"));
  std::unordered_set<MacAddress> seen;
  for (int i = 0; i < 1000; ++i) {
    const MacAddress mac = MacAddress::DeriveLocal("seed-" + std::to_string(i));
    EXPECT_TRUE(mac.IsUnicast()) << mac;
    EXPECT_TRUE(mac.IsLocallyAdministered()) << mac;
    seen.insert(mac);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(MacAddress, OrdersAndHashes) {
  EXPECT_LT(Mac("00:00:00:00:00:01"), Mac("00:00:00:00:01:00"));
  EXPECT_LT(Mac("aa:00:00:00:00:00"), Mac("ab:00:00:00:00:00"));
  std::unordered_set<MacAddress> set = {Mac("aa:bb:cc:dd:ee:ff"), Mac("AA-BB-CC-DD-EE-FF"),
                                        Mac("aa:bb:cc:dd:ee:fe")};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace knet::base
