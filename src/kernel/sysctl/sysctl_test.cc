// File: kernel/sysctl/sysctl_test.cc
#include "kernel/sysctl/sysctl.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "kernel/netns/netns.h"

namespace knet::kernel::sysctl {
namespace {

TEST(SysctlTest, ReadsAKnownKeyAndNamesAMissingOne) {
  auto v = Get("net/ipv4/ip_forward");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(*v == "0" || *v == "1") << *v;
  auto missing = Get("net/ipv4/no_such_key");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("net/ipv4/no_such_key"), std::string::npos);
}

TEST(SysctlTest, SetsForwardingInsideANamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace)";
  std::string name = "knet-sysctl-" + std::to_string(getpid());
  auto ns = netns::Create(name);
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  base::Status s = netns::RunIn(*ns, [] {
    RETURN_IF_ERROR(Set("net/ipv4/ip_forward", "0"));
    ASSIGN_OR_RETURN(std::string off, Get("net/ipv4/ip_forward"));
    if (off != "0") return base::InternalError("still " + off);
    RETURN_IF_ERROR(Set("net/ipv4/ip_forward", "1"));
    RETURN_IF_ERROR(Set("net/ipv4/ip_forward", "1"));  // already so: no write
    ASSIGN_OR_RETURN(std::string on, Get("net/ipv4/ip_forward"));
    if (on != "1") return base::InternalError("not set: " + on);
    return base::OkStatus();
  });
  (void)netns::Delete(name);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

}  // namespace
}  // namespace knet::kernel::sysctl
