#include "controllers/endpointslice/endpoint_util.h"

#include <gtest/gtest.h>

namespace knet::controllers {
namespace {

api::Pod PodWith(const std::string& phase, const std::vector<std::string>& ips) {
  api::Pod p;
  p.metadata.name = "p";
  p.metadata.namespace_ = "default";
  p.metadata.resource_version = "1";
  p.status.phase = phase;
  for (const std::string& ip : ips) p.status.pod_ips.push_back({ip});
  if (!ips.empty()) p.status.pod_ip = ips[0];
  api::Container c;
  c.name = "c";
  c.ports = {{.name = "http", .container_port = 8080},
             {.name = "dns", .container_port = 53, .protocol = "UDP"}};
  p.spec.containers = {c};
  return p;
}

api::ServicePort Port(api::IntOrString target, std::string protocol = "TCP") {
  api::ServicePort p;
  p.port = 80;
  p.protocol = std::move(protocol);
  p.target_port = std::move(target);
  return p;
}

TEST(EndpointUtilTest, FindPortByNumberOrNameAndProtocol) {
  api::Pod p = PodWith("Running", {"10.0.0.1"});
  EXPECT_EQ(FindPort(p, Port(api::IntOrString::FromInt(9000))), 9000);
  EXPECT_EQ(FindPort(p, Port(api::IntOrString::FromString("http"))), 8080);
  EXPECT_EQ(FindPort(p, Port(api::IntOrString::FromString("dns"), "UDP")), 53);
  EXPECT_EQ(FindPort(p, Port(api::IntOrString::FromString("dns"), "TCP")), std::nullopt);
  EXPECT_EQ(FindPort(p, Port(api::IntOrString::FromString("nope"))), std::nullopt);
}

TEST(EndpointUtilTest, WhichPodsBecomeEndpoints) {
  EXPECT_TRUE(ShouldPodBeInEndpoints(PodWith("Running", {"10.0.0.1"}), false));
  EXPECT_FALSE(ShouldPodBeInEndpoints(PodWith("Running", {}), true));
  EXPECT_FALSE(ShouldPodBeInEndpoints(PodWith("Succeeded", {"10.0.0.1"}), true));
  EXPECT_FALSE(ShouldPodBeInEndpoints(PodWith("Failed", {"10.0.0.1"}), true));
  api::Pod terminating = PodWith("Running", {"10.0.0.1"});
  terminating.metadata.deletion_timestamp = api::Time::FromUnixSeconds(1700000000);
  EXPECT_FALSE(ShouldPodBeInEndpoints(terminating, false));
  EXPECT_TRUE(ShouldPodBeInEndpoints(terminating, true));
}

TEST(EndpointUtilTest, PodIPPerFamily) {
  api::Pod p = PodWith("Running", {"10.0.0.1", "fd00::1"});
  EXPECT_EQ(PodIPForFamily(p, "IPv4"), "10.0.0.1");
  EXPECT_EQ(PodIPForFamily(p, "IPv6"), "fd00::1");
  EXPECT_EQ(PodIPForFamily(PodWith("Running", {"10.0.0.1"}), "IPv6"), "");
}

TEST(EndpointUtilTest, OnlyEndpointRelevantChangesCount) {
  api::Pod a = PodWith("Running", {"10.0.0.1"});
  EXPECT_FALSE(PodEndpointsChanged(a, a));  // a resync
  api::Pod b = a;
  b.metadata.resource_version = "2";
  b.metadata.annotations["x"] = "y";
  EXPECT_FALSE(PodEndpointsChanged(a, b));
  b.status.conditions = {{.type = "Ready", .status = "True"}};
  EXPECT_TRUE(PodEndpointsChanged(a, b));
  api::Pod c = a;
  c.metadata.resource_version = "3";
  c.metadata.labels["app"] = "other";
  EXPECT_TRUE(PodEndpointsChanged(a, c));
}

TEST(EndpointUtilTest, HostnameOnlyForTheServiceSubdomain) {
  api::Service svc;
  svc.metadata.name = "web";
  svc.metadata.namespace_ = "default";
  api::Pod p = PodWith("Running", {"10.0.0.1"});
  p.spec.hostname = "h";
  EXPECT_EQ(EndpointHostname(p, svc), "");
  p.spec.subdomain = "web";
  EXPECT_EQ(EndpointHostname(p, svc), "h");
}

}  // namespace
}  // namespace knet::controllers

namespace knet::controllers {
namespace {

TEST(EndpointUtilTest, TriggerTimeIsTheReadyTransitionOnlyWhenReadinessMoved) {
  const api::Time long_ago = api::Time::FromUnixSeconds(1'000'000'000);
  const api::Time just_now = api::Time::FromUnixSeconds(1'700'000'000);
  api::Pod before = PodWith("Running", {"10.0.0.1"});
  before.status.conditions = {
      {.type = "Ready", .status = "False", .last_transition_time = long_ago}};
  api::Pod after = before;
  after.status.conditions[0].status = "True";
  after.status.conditions[0].last_transition_time = just_now;
  EXPECT_EQ(PodTriggerTime(&before, after), just_now);

  // An IP change of a pod Ready for ages: the change is now, not when it became Ready.
  api::Pod moved = after;
  moved.status.pod_ip = "10.0.0.2";
  const api::Time t0 = api::Time::Now();
  EXPECT_GE(PodTriggerTime(&after, moved), t0);
  // Termination, deletion and additions are observed now too.
  api::Pod terminating = after;
  terminating.metadata.deletion_timestamp = api::Time::Now();
  EXPECT_GE(PodTriggerTime(&after, terminating), t0);
  EXPECT_GE(PodTriggerTime(nullptr, after), t0);
}

}  // namespace
}  // namespace knet::controllers
