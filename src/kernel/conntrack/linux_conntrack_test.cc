// Root tests: LinuxConntrack against the real kernel inside a fresh, uniquely named network
// namespace (deleted even when a test fails; its conntrack table goes with it). Entries are made
// through ctnetlink (as `conntrack -I`), so no traffic is needed.
#include "kernel/conntrack/linux_conntrack.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>

#include "gtest/gtest.h"
#include "kernel/netns/netns.h"

namespace knet::kernel::conntrack {
namespace {

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }

class ScopedNetns {
 public:
  ScopedNetns() {
    static std::atomic<int> counter{0};
    name_ = "knet-ct-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    auto ns = netns::Create(name_);
    status_ = ns.status();
    if (ns.ok()) ns_ = std::move(ns).value();
  }
  ~ScopedNetns() {
    if (ns_.valid()) (void)netns::Delete(name_);
  }
  const base::Status& status() const { return status_; }
  const netns::Netns& ns() const { return ns_; }

 private:
  std::string name_;
  netns::Netns ns_;
  base::Status status_;
};

Entry Udp(const char* client, uint16_t sport, const char* vip, uint16_t vport, const char* ep,
          uint16_t eport) {
  Entry e;
  e.orig = {Ip(client), Ip(vip), 17, sport, vport};
  e.reply = {Ip(ep), Ip(client), 17, eport, sport};
  return e;
}

bool Has(const std::vector<Entry>& all, const Entry& e) {
  return std::any_of(all.begin(), all.end(),
                     [&](const Entry& x) { return x.orig == e.orig && x.reply == e.reply; });
}

class LinuxConntrackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces (label: root)";
    ASSERT_TRUE(ns_.status().ok()) << ns_.status().message();
    auto ct = LinuxConntrack::Open(ns_.ns());
    ASSERT_TRUE(ct.ok()) << ct.status().message();
    ct_ = std::move(ct).value();
  }
  ScopedNetns ns_;
  std::unique_ptr<LinuxConntrack> ct_;
};

TEST_F(LinuxConntrackTest, DeletesByOriginalDestinationAndPort) {
  Entry to_vip = Udp("10.0.0.5", 40000, "10.96.0.10", 53, "10.244.1.7", 5353);
  Entry other_port = Udp("10.0.0.5", 40001, "10.96.0.10", 54, "10.244.1.7", 5353);
  Entry other_vip = Udp("10.0.0.5", 40002, "10.96.0.11", 53, "10.244.1.9", 5353);
  Entry tcp = to_vip;
  tcp.orig.protocol = tcp.reply.protocol = 6;
  for (const Entry& e : {to_vip, other_port, other_vip, tcp}) {
    ASSERT_TRUE(ct_->Create(e, 60).ok()) << ct_->Create(e, 60).message();
  }
  auto listed = ct_->List(AF_INET);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_TRUE(Has(*listed, to_vip));

  auto n = ct_->Delete({.orig_dst = Ip("10.96.0.10"), .orig_dst_port = 53});
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1u);
  listed = ct_->List(AF_INET);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 3u);
  EXPECT_FALSE(Has(*listed, to_vip));
  EXPECT_TRUE(Has(*listed, other_port));  // until the port-only delete below
  EXPECT_TRUE(Has(*listed, other_vip));
  EXPECT_TRUE(Has(*listed, tcp));  // only UDP is flushed
  // A port-only filter (NodePort) of the family.
  n = ct_->Delete({.orig_dst_port = 54, .family = AF_INET});
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1u);
  // Nothing left to match: 0, not an error.
  n = ct_->Delete({.orig_dst = Ip("10.96.0.10"), .orig_dst_port = 53});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_F(LinuxConntrackTest, DeletesByReplySourceInBothFamilies) {
  Entry a = Udp("10.0.0.5", 40000, "10.96.0.10", 53, "10.244.1.7", 5353);
  Entry b = Udp("10.0.0.6", 40000, "10.96.0.12", 80, "10.244.1.7", 8080);
  Entry c = Udp("10.0.0.5", 40003, "10.96.0.10", 53, "10.244.1.8", 5353);
  Entry v6 = Udp("fd00::5", 40000, "fd00:96::10", 53, "fd00:244::7", 5353);
  for (const Entry& e : {a, b, c, v6}) ASSERT_TRUE(ct_->Create(e, 60).ok());
  auto n = ct_->Delete({.reply_src = Ip("10.244.1.7")});
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 2u);
  auto listed = ct_->List(AF_INET);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(Has(*listed, c));
  n = ct_->Delete({.reply_src = Ip("fd00:244::7")});
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, 1u);
  auto listed6 = ct_->List(AF_INET6);
  ASSERT_TRUE(listed6.ok());
  EXPECT_TRUE(listed6->empty());
}

TEST_F(LinuxConntrackTest, CreatingTwiceIsAnError) {
  Entry a = Udp("10.0.0.5", 40000, "10.96.0.10", 53, "10.244.1.7", 5353);
  ASSERT_TRUE(ct_->Create(a, 60).ok());
  base::Status s = ct_->Create(a, 60);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("creating conntrack entry to 10.96.0.10"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace knet::kernel::conntrack
