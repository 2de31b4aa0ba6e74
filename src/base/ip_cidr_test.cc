// Tests for Cidr (base/ip.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <ranges>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/ip.h"

namespace knet::base {
namespace {

IPAddress Ip(std::string_view text) {
  StatusOr<IPAddress> ip = IPAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << ip.status().ToString();
  return ip.ok() ? *ip : IPAddress();
}

Cidr Net(std::string_view text) {
  StatusOr<Cidr> cidr = Cidr::Parse(text);
  EXPECT_TRUE(cidr.ok()) << cidr.status().ToString();
  return cidr.ok() ? *cidr : Cidr();
}

constexpr uint64_t kMax = UINT64_MAX;

TEST(Cidr, ParsesValidPrefixes) {
  struct Case {
    std::string_view input;
    std::string_view canonical;
    int prefix_len;
    uint64_t size;
  };
  const Case cases[] = {
      {"10.244.0.0/16", "10.244.0.0/16", 16, 65536},
      {"0.0.0.0/0", "0.0.0.0/0", 0, uint64_t{1} << 32},
      {"10.0.0.1/32", "10.0.0.1/32", 32, 1},
      {"10.96.0.0/12", "10.96.0.0/12", 12, 1u << 20},
      {"2001:DB8::/32", "2001:db8::/32", 32, kMax},
      {"fd00::/48", "fd00::/48", 48, kMax},
      {"::/0", "::/0", 0, kMax},
      {"fd00::/64", "fd00::/64", 64, kMax},  // 2^64 saturates
      {"fd00::/65", "fd00::/65", 65, uint64_t{1} << 63},
      {"fd00:10:96::/112", "fd00:10:96::/112", 112, 65536},
      {"::1/128", "::1/128", 128, 1},
      {"::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104", 104, 1u << 24},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    StatusOr<Cidr> cidr = Cidr::Parse(c.input);
    ASSERT_TRUE(cidr.ok()) << cidr.status().ToString();
    EXPECT_EQ(cidr->ToString(), c.canonical);
    EXPECT_EQ(cidr->prefix_len(), c.prefix_len);
    EXPECT_EQ(cidr->Size(), c.size);
    EXPECT_EQ(cidr->HostBits(), cidr->network().BitLen() - c.prefix_len);
    EXPECT_EQ(Cidr::ParseLoose(c.input).value(), *cidr);
  }
  EXPECT_TRUE(Net("10.0.0.0/8").is_v4());
  EXPECT_TRUE(Net("fd00::/8").is_v6());
  EXPECT_EQ(Net("fd00::/8").family(), IPFamily::kV6);
}

TEST(Cidr, RejectsInvalidTextNamingInputAndReason) {
  struct Case {
    std::string_view input;
    std::string_view reason;
  };
  const Case cases[] = {
      {"10.244.0.1/16", "host bits set (did you mean 10.244.0.0/16?)"},
      {"10.244.0.0/8", "host bits set (did you mean 10.0.0.0/8?)"},
      {"fd00::1/64", "host bits set (did you mean fd00::/64?)"},
      {"", "empty string"},
      {"10.0.0.0", "missing /prefix-length"},
      {"/8", "missing address before '/'"},
      {"10.0.0.0/", "missing prefix length after '/'"},
      {"10.0.0.0/33", "prefix length 33 exceeds 32 bits"},
      {"fd00::/129", "prefix length 129 exceeds 128 bits"},
      {"10.0.0.0/99999999999999999999", "prefix length 99999999999999999999 exceeds 32 bits"},
      {"10.0.0.0/08", "prefix length \"08\" has a leading zero"},
      {"10.0.0.0/+8", "prefix length \"+8\" is not a decimal number"},
      {"10.0.0.0/-1", "prefix length \"-1\" is not a decimal number"},
      {"10.0.0.0/ 8", "prefix length \" 8\" is not a decimal number"},
      {"10.0.0.0/8/8", "prefix length \"8/8\" is not a decimal number"},
      {"1.2.3.256/16", "octet 4 out of range"},
      {"010.0.0.0/8", "octet 1 has a leading zero"},
      {"fe80::%eth0/64", "zone suffix ('%...') not allowed"},
      {"fd00::/64%eth0", "prefix length \"64%eth0\" is not a decimal number"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    StatusOr<Cidr> cidr = Cidr::Parse(c.input);
    ASSERT_FALSE(cidr.ok()) << "parsed as " << *cidr;
    EXPECT_EQ(cidr.status(), InvalidArgumentError("invalid CIDR \"" + std::string(c.input) +
                                                  "\": " + std::string(c.reason)));
  }
}

TEST(Cidr, ParseLooseMasksHostBits) {
  EXPECT_EQ(Cidr::ParseLoose("10.244.0.1/16").value(), Net("10.244.0.0/16"));
  EXPECT_EQ(Cidr::ParseLoose("fd00::1:2/64").value(), Net("fd00::/64"));
  EXPECT_EQ(Cidr::ParseLoose("255.255.255.255/0").value(), Net("0.0.0.0/0"));
  EXPECT_FALSE(Cidr::ParseLoose("10.0.0.0/33").ok());
  EXPECT_FALSE(Cidr::ParseLoose("10.0.0.0").ok());
}

TEST(Cidr, MakeChecksPrefixLengthAndHostBits) {
  EXPECT_EQ(Cidr::Make(Ip("10.0.0.0"), 8).value(), Net("10.0.0.0/8"));
  EXPECT_EQ(Cidr::Make(Ip("10.0.0.1"), 8).status(),
            InvalidArgumentError("invalid CIDR 10.0.0.1/8: host bits set (did you mean "
                                 "10.0.0.0/8?)"));
  EXPECT_EQ(Cidr::MakeMasked(Ip("10.0.0.1"), 8).value(), Net("10.0.0.0/8"));
  EXPECT_EQ(Cidr::MakeMasked(Ip("10.0.0.1"), 33).status(),
            InvalidArgumentError("invalid CIDR 10.0.0.1/33: prefix length must be 0-32 for IPv4"));
  EXPECT_EQ(Cidr::Make(Ip("fd00::"), -1).status(),
            InvalidArgumentError("invalid CIDR fd00::/-1: prefix length must be 0-128 for IPv6"));
  EXPECT_EQ(Cidr::HostPrefix(Ip("10.0.0.1")), Net("10.0.0.1/32"));
  EXPECT_EQ(Cidr::HostPrefix(Ip("fd00::1")), Net("fd00::1/128"));
  // The default never means "every address".
  EXPECT_EQ(Cidr().ToString(), "0.0.0.0/32");
  EXPECT_FALSE(Cidr().Contains(Ip("10.0.0.1")));
}

TEST(Cidr, LastAndNetmask) {
  struct Case {
    std::string_view cidr, last, netmask;
  };
  const Case cases[] = {
      {"10.244.0.0/16", "10.244.255.255", "255.255.0.0"},
      {"10.244.0.0/23", "10.244.1.255", "255.255.254.0"},
      {"0.0.0.0/0", "255.255.255.255", "0.0.0.0"},
      {"10.0.0.5/32", "10.0.0.5", "255.255.255.255"},
      {"fd00::/48", "fd00::ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff::"},
      {"fd00::/64", "fd00::ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::"},
      {"fd00::/63", "fd00::1:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:fffe::"},
      {"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::"},
      {"2001:db8::/127", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"},
      {"::1/128", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.cidr);
    EXPECT_EQ(Net(c.cidr).last().ToString(), c.last);
    EXPECT_EQ(Net(c.cidr).Netmask().ToString(), c.netmask);
  }
}

TEST(Cidr, ContainsAddress) {
  struct Case {
    std::string_view cidr, ip;
    bool want;
  };
  const Case cases[] = {
      {"10.244.0.0/16", "10.244.0.0", true},
      {"10.244.0.0/16", "10.244.255.255", true},
      {"10.244.0.0/16", "10.245.0.0", false},
      {"10.244.0.0/16", "10.243.255.255", false},
      {"10.244.0.0/16", "::ffff:10.244.0.1", false},  // families never mix
      {"0.0.0.0/0", "255.255.255.255", true},
      {"0.0.0.0/0", "::", false},
      {"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"::/0", "0.0.0.0", false},
      {"fd00::/48", "fd00:0:0:ffff::1", true},
      {"fd00::/48", "fd00:0:1::", false},
      {"10.0.0.7/32", "10.0.0.7", true},
      {"10.0.0.7/32", "10.0.0.6", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.cidr) + " contains " + std::string(c.ip));
    EXPECT_EQ(Net(c.cidr).Contains(Ip(c.ip)), c.want);
  }
}

TEST(Cidr, ContainsAndOverlapsPrefixes) {
  struct Case {
    std::string_view a, b;
    bool a_contains_b, b_contains_a;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.244.0.0/16", true, false},
      {"10.244.0.0/16", "10.244.0.0/16", true, true},
      {"10.244.0.0/24", "10.244.1.0/24", false, false},
      {"10.244.0.0/16", "10.245.0.0/16", false, false},
      {"10.244.0.0/15", "10.245.0.0/16", true, false},
      {"10.244.0.0/16", "10.243.255.0/24", false, false},
      {"0.0.0.0/0", "::/0", false, false},
      {"::/0", "fd00::/48", true, false},
      {"fd00::/48", "fd00:0:0:1::/64", true, false},
      {"fd00::/64", "fd00:0:0:1::/64", false, false},
      {"::ffff:10.0.0.0/104", "10.0.0.0/8", false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.a) + " vs " + std::string(c.b));
    const Cidr a = Net(c.a), b = Net(c.b);
    EXPECT_EQ(a.Contains(b), c.a_contains_b);
    EXPECT_EQ(b.Contains(a), c.b_contains_a);
    EXPECT_EQ(a.Overlaps(b), c.a_contains_b || c.b_contains_a);
    EXPECT_EQ(b.Overlaps(a), c.a_contains_b || c.b_contains_a);
  }
}

TEST(Cidr, NthAndIndexOf) {
  const Cidr node = Net("10.244.3.0/24");
  EXPECT_EQ(node.Nth(0).value(), Ip("10.244.3.0"));
  EXPECT_EQ(node.Nth(1).value(), Ip("10.244.3.1"));
  EXPECT_EQ(node.Nth(255).value(), Ip("10.244.3.255"));
  EXPECT_EQ(node.Nth(256).status(),
            OutOfRangeError("address index 256 out of range for 10.244.3.0/24 (256 addresses)"));
  EXPECT_EQ(node.IndexOf(Ip("10.244.3.200")).value(), 200u);
  EXPECT_EQ(node.IndexOf(Ip("10.244.4.0")).status(),
            InvalidArgumentError("IP address 10.244.4.0 is not in 10.244.3.0/24"));
  EXPECT_EQ(node.IndexOf(Ip("::ffff:10.244.3.1")).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(Net("10.0.0.5/32").Nth(0).value(), Ip("10.0.0.5"));
  EXPECT_FALSE(Net("10.0.0.5/32").Nth(1).ok());
  EXPECT_EQ(Net("0.0.0.0/0").Nth(0xffffffffu).value(), Ip("255.255.255.255"));
  EXPECT_EQ(Net("0.0.0.0/0").Nth(uint64_t{1} << 32).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Net("fd00::/120").Nth(255).value(), Ip("fd00::ff"));
  EXPECT_FALSE(Net("fd00::/120").Nth(256).ok());
  EXPECT_EQ(Net("fd00::/64").Nth(kMax).value(), Ip("fd00::ffff:ffff:ffff:ffff"));
  EXPECT_EQ(Net("::/0").Nth(kMax).value(), Ip("::ffff:ffff:ffff:ffff"));
  EXPECT_EQ(Net("::/0").IndexOf(Ip("::ffff:ffff:ffff:ffff")).value(), kMax);
  EXPECT_EQ(Net("::/0").IndexOf(Ip("0:0:0:1::")).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Net("fd00::/48").IndexOf(Ip("fd00:0:0:1::5")).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(Net("fd00::/48").IndexOf(Ip("fd00::5")).value(), 5u);
}

TEST(Cidr, NthAndIndexOfRoundTrip) {
  for (std::string_view text : {"10.244.0.0/16", "0.0.0.0/0", "192.168.1.128/25", "10.0.0.1/32",
                                "fd00::/48", "fd00:10:96::/112", "::/0", "2001:db8::/127"}) {
    SCOPED_TRACE(text);
    const Cidr cidr = Net(text);
    const uint64_t size = cidr.Size();
    for (uint64_t index : {uint64_t{0}, uint64_t{1}, size / 3, size / 2, size - 2, size - 1}) {
      if (index >= size) continue;
      StatusOr<IPAddress> ip = cidr.Nth(index);
      ASSERT_TRUE(ip.ok()) << ip.status().ToString();
      EXPECT_TRUE(cidr.Contains(*ip));
      EXPECT_EQ(cidr.IndexOf(*ip).value(), index) << *ip;
    }
    if (cidr.HostBits() < 64) {
      EXPECT_EQ(cidr.Nth(size - 1).value(), cidr.last());
    }
  }
}

TEST(Cidr, SplitsIntoSubnets) {
  const Cidr cluster = Net("10.244.0.0/16");
  EXPECT_EQ(cluster.SubnetCount(24), 256u);
  EXPECT_EQ(cluster.SubnetCount(16), 1u);
  EXPECT_EQ(cluster.SubnetCount(32), 65536u);
  EXPECT_EQ(cluster.SubnetCount(15), 0u);
  EXPECT_EQ(cluster.SubnetCount(33), 0u);
  EXPECT_EQ(cluster.Subnet(24, 0).value(), Net("10.244.0.0/24"));
  EXPECT_EQ(cluster.Subnet(24, 3).value(), Net("10.244.3.0/24"));
  EXPECT_EQ(cluster.Subnet(24, 255).value(), Net("10.244.255.0/24"));
  EXPECT_EQ(cluster.Subnet(26, 5).value(), Net("10.244.1.64/26"));
  EXPECT_EQ(cluster.Subnet(24, 256).status(),
            OutOfRangeError("subnet index 256 out of range: 10.244.0.0/16 has 256 /24 subnets"));
  EXPECT_EQ(cluster.Subnet(16, 0).value(), cluster);
  EXPECT_FALSE(cluster.Subnet(16, 1).ok());
  EXPECT_EQ(cluster.Subnet(15, 0).status(),
            InvalidArgumentError("cannot split 10.244.0.0/16 into /15 subnets: the prefix length "
                                 "must be 16-32"));
  EXPECT_EQ(cluster.Subnet(33, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Net("0.0.0.0/0").Subnet(32, 0xffffffffu).value(), Net("255.255.255.255/32"));

  const Cidr v6 = Net("fd00::/48");
  EXPECT_EQ(v6.SubnetCount(64), 65536u);
  EXPECT_EQ(v6.Subnet(64, 0).value(), Net("fd00::/64"));
  EXPECT_EQ(v6.Subnet(64, 1).value(), Net("fd00:0:0:1::/64"));
  EXPECT_EQ(v6.Subnet(64, 65535).value(), Net("fd00:0:0:ffff::/64"));
  EXPECT_EQ(v6.Subnet(64, 65536).status().code(), StatusCode::kOutOfRange);
  // 72 subnet bits: the index straddles the 64-bit boundary.
  EXPECT_EQ(v6.SubnetCount(120), kMax);
  EXPECT_EQ(v6.Subnet(120, kMax).value(), Net("fd00:0:0:ff:ffff:ffff:ffff:ff00/120"));

  const Cidr all = Net("::/0");
  EXPECT_EQ(all.SubnetCount(63), uint64_t{1} << 63);
  EXPECT_EQ(all.SubnetCount(64), kMax);  // 2^64 saturates
  EXPECT_EQ(all.SubnetCount(128), kMax);
  EXPECT_EQ(all.Subnet(64, kMax).value(), Net("ffff:ffff:ffff:ffff::/64"));
  EXPECT_EQ(all.Subnet(128, kMax).value(), Net("::ffff:ffff:ffff:ffff/128"));
  EXPECT_EQ(all.Subnet(0, 0).value(), all);
  EXPECT_FALSE(all.Subnet(0, 1).ok());
}

TEST(Cidr, SubnetsTileTheParent) {
  const Cidr parent = Net("10.244.0.0/22");
  std::vector<Cidr> subnets;
  for (uint64_t i = 0; i < parent.SubnetCount(24); ++i) subnets.push_back(*parent.Subnet(24, i));
  ASSERT_EQ(subnets.size(), 4u);
  for (size_t i = 0; i < subnets.size(); ++i) {
    EXPECT_TRUE(parent.Contains(subnets[i]));
    for (size_t j = i + 1; j < subnets.size(); ++j) EXPECT_FALSE(subnets[i].Overlaps(subnets[j]));
    if (i > 0) {
      EXPECT_EQ(subnets[i - 1].last().Next().value(), subnets[i].network());
    }
  }
  EXPECT_EQ(subnets.front().network(), parent.network());
  EXPECT_EQ(subnets.back().last(), parent.last());
}

std::vector<std::string> Collect(const Cidr& cidr, size_t limit) {
  std::vector<std::string> out;
  for (const IPAddress& ip : cidr.Addresses()) {
    if (out.size() == limit) break;
    out.push_back(ip.ToString());
  }
  return out;
}

TEST(Cidr, IteratesAddresses) {
  static_assert(std::forward_iterator<Cidr::AddressIterator>);
  static_assert(std::ranges::forward_range<Cidr::AddressRange>);
  using V = std::vector<std::string>;
  EXPECT_EQ(Collect(Net("10.0.0.0/30"), 10), (V{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"}));
  EXPECT_EQ(Collect(Net("10.0.0.7/32"), 10), (V{"10.0.0.7"}));
  EXPECT_EQ(Collect(Net("255.255.255.254/31"), 10), (V{"255.255.255.254", "255.255.255.255"}));
  EXPECT_EQ(
      Collect(Net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"), 10),
      (V{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}));
  EXPECT_EQ(Collect(Net("fd00::/64"), 3), (V{"fd00::", "fd00::1", "fd00::2"}));
  EXPECT_EQ(Collect(Net("::ffff:ffff:ffff:fffe/127"), 3),
            (V{"::ffff:ffff:ffff:fffe", "::ffff:ffff:ffff:ffff"}));
  const Cidr::AddressRange range = Net("10.1.0.0/24").Addresses();
  EXPECT_EQ(std::distance(range.begin(), range.end()), 256);
  auto it = range.begin();
  EXPECT_EQ(*it++, Ip("10.1.0.0"));
  EXPECT_EQ(it->ToString(), "10.1.0.1");
  EXPECT_NE(it, range.end());
}

TEST(Cidr, OrdersAndHashes) {
  std::vector<Cidr> cidrs = {Net("fd00::/48"), Net("10.0.0.0/16"), Net("10.0.0.0/8"),
                             Net("9.0.0.0/8"), Net("::/0")};
  std::sort(cidrs.begin(), cidrs.end());
  std::vector<std::string> got;
  for (const Cidr& c : cidrs) got.push_back(c.ToString());
  EXPECT_EQ(got, (std::vector<std::string>{"9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "::/0",
                                           "fd00::/48"}));
  std::unordered_set<Cidr> set = {Net("10.0.0.0/8"), Net("10.0.0.0/16"),
                                  *Cidr::ParseLoose("10.1.2.3/8"), Net("FD00::/48"),
                                  Net("fd00::/48")};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_NE(Net("10.0.0.0/8").Hash(), Net("10.0.0.0/16").Hash());
}

}  // namespace
}  // namespace knet::base
