#include <gtest/gtest.h>
#include <netinet/in.h>

#include "proxy/endpoints_change_tracker.h"
#include "proxy/service_change_tracker.h"

namespace knet::proxy {
namespace {

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }

api::Service MakeService(const std::string& name, const std::string& ip) {
  api::Service s;
  s.metadata.namespace_ = "default";
  s.metadata.name = name;
  s.spec.type = "ClusterIP";
  s.spec.cluster_ip = ip;
  s.spec.cluster_ips = {ip};
  api::ServicePort p;
  p.name = "http";
  p.protocol = "TCP";
  p.port = 80;
  s.spec.ports.push_back(p);
  return s;
}

api::EndpointSlice MakeSlice(const std::string& svc, const std::string& name,
                             std::vector<std::pair<std::string, bool>> ips,
                             const std::string& type = "IPv4") {
  api::EndpointSlice es;
  es.metadata.namespace_ = "default";
  es.metadata.name = name;
  es.metadata.labels[kLabelServiceName] = svc;
  es.address_type = type;
  api::EndpointSlicePort p;
  p.name = "http";
  p.protocol = "TCP";
  p.port = 8080;
  es.ports.push_back(p);
  for (const auto& [ip, ready] : ips) {
    api::Endpoint ep;
    ep.addresses = {ip};
    ep.conditions.ready = ready;
    ep.node_name = ip == "10.244.1.5" ? "node-1" : "node-2";
    es.endpoints.push_back(ep);
  }
  return es;
}

const ServicePortName kWeb{"default", "web", "http", IPPROTO_TCP};

TEST(ServiceChangeTrackerTest, AddUpdateDeleteReportOnlyChangedPorts) {
  ServiceChangeTracker tracker;
  ServicePortMap map;
  api::Service web = MakeService("web", "10.96.0.10");
  api::Service db = MakeService("db", "10.96.0.11");
  tracker.Update(nullptr, &web);
  tracker.Update(nullptr, &db);
  EXPECT_TRUE(tracker.HasPending());
  std::set<ServicePortName> changed = tracker.Apply(map);
  EXPECT_EQ(changed.size(), 2u);
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map.at(kWeb).cluster_ips, std::vector<base::IPAddress>{Ip("10.96.0.10")});
  EXPECT_EQ(map.at(kWeb).port, 80);
  EXPECT_FALSE(tracker.HasPending());

  // A resync (same object) changes nothing.
  tracker.Update(&web, &web);
  EXPECT_TRUE(tracker.Apply(map).empty());

  // A second port and a type change on web only.
  api::Service web2 = web;
  api::ServicePort dns;
  dns.name = "dns";
  dns.protocol = "UDP";
  dns.port = 53;
  web2.spec.ports.push_back(dns);
  web2.spec.type = "NodePort";
  web2.spec.ports[0].node_port = 30080;
  tracker.Update(&web, &web2);
  changed = tracker.Apply(map);
  ServicePortName web_dns{"default", "web", "dns", IPPROTO_UDP};
  EXPECT_EQ(changed, (std::set<ServicePortName>{kWeb, web_dns}));
  EXPECT_EQ(map.at(kWeb).node_port, 30080);
  EXPECT_EQ(map.at(web_dns).protocol, IPPROTO_UDP);

  tracker.Update(&web2, nullptr);
  changed = tracker.Apply(map);
  EXPECT_EQ(changed, (std::set<ServicePortName>{kWeb, web_dns}));
  EXPECT_EQ(map.size(), 1u);  // db stays
}

TEST(ServiceChangeTrackerTest, SctpKeptUnknownProtocolSkipped) {
  api::Service s = MakeService("sctp", "10.96.0.13");
  s.spec.ports[0].protocol = "SCTP";
  api::ServicePort bad = s.spec.ports[0];
  bad.name = "bad";
  bad.protocol = "ICMP";
  s.spec.ports.push_back(bad);
  ServicePortMap m = ServicePortsOf(s);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m.begin()->first.String(), "default/sctp:http/sctp");
  EXPECT_EQ(m.begin()->second.protocol, IPPROTO_SCTP);
}

TEST(ServiceChangeTrackerTest, HeadlessAndExternalNameAreIgnored) {
  api::Service headless = MakeService("h", "None");
  EXPECT_TRUE(ServicePortsOf(headless).empty());
  api::Service ext = MakeService("e", "");
  ext.spec.type = "ExternalName";
  ext.spec.external_name = "example.com";
  EXPECT_TRUE(ServicePortsOf(ext).empty());
}

TEST(ServiceChangeTrackerTest, LoadBalancerFieldsAndPolicies) {
  api::Service s = MakeService("lb", "10.96.0.12");
  s.spec.type = "LoadBalancer";
  s.spec.cluster_ips = {"10.96.0.12", "fd00:96::12"};
  s.spec.ports[0].node_port = 31000;
  s.spec.external_ips = {"192.0.2.7"};
  s.spec.load_balancer_source_ranges = {"198.51.100.0/24", " 203.0.113.0/24 "};
  s.spec.external_traffic_policy = "Local";
  s.spec.health_check_node_port = 32000;
  s.spec.internal_traffic_policy = "Local";
  s.spec.session_affinity = "ClientIP";
  api::LoadBalancerIngress ing;
  ing.ip = "192.0.2.100";
  s.status.load_balancer.ingress.push_back(ing);
  api::LoadBalancerIngress proxied;
  proxied.ip = "192.0.2.101";
  proxied.ip_mode = "Proxy";
  s.status.load_balancer.ingress.push_back(proxied);
  ServicePortMap m = ServicePortsOf(s);
  ASSERT_EQ(m.size(), 1u);
  const ServicePortInfo& info = m.begin()->second;
  EXPECT_EQ(info.cluster_ips.size(), 2u);
  EXPECT_EQ(info.node_port, 31000);
  EXPECT_EQ(info.external_ips, std::vector<base::IPAddress>{Ip("192.0.2.7")});
  EXPECT_EQ(info.load_balancer_ips, std::vector<base::IPAddress>{Ip("192.0.2.100")});
  ASSERT_EQ(info.load_balancer_source_ranges.size(), 2u);
  EXPECT_EQ(info.load_balancer_source_ranges[1].ToString(), "203.0.113.0/24");
  EXPECT_TRUE(info.external_policy_local);
  EXPECT_TRUE(info.internal_policy_local);
  EXPECT_EQ(info.health_check_node_port, 32000);
  EXPECT_EQ(info.session_affinity_seconds, 10800u);
}

TEST(EndpointsChangeTrackerTest, MergesSlicesAndReportsChangedServices) {
  EndpointsChangeTracker tracker("node-1");
  EndpointsMap map;
  tracker.EndpointSliceUpdate(MakeSlice("web", "web-a", {{"10.244.1.5", true}}), false);
  tracker.EndpointSliceUpdate(
      MakeSlice("web", "web-b", {{"10.244.2.5", true}, {"10.244.1.5", true}}), false);
  tracker.EndpointSliceUpdate(MakeSlice("db", "db-a", {{"10.244.2.9", false}}), false);
  tracker.EndpointSliceUpdate(MakeSlice("web", "web-fqdn", {{"x", true}}, "FQDN"), false);
  std::set<ServicePortName> changed = tracker.Apply(map);
  EXPECT_EQ(changed.size(), 2u);
  ASSERT_EQ(map.at(kWeb).size(), 2u);  // 10.244.1.5 listed twice counts once
  EXPECT_EQ(map.at(kWeb)[0].ip, Ip("10.244.1.5"));
  EXPECT_TRUE(map.at(kWeb)[0].is_local);
  EXPECT_FALSE(map.at(kWeb)[1].is_local);
  EXPECT_EQ(map.at(kWeb)[0].port, 8080);
  ServicePortName db{"default", "db", "http", IPPROTO_TCP};
  EXPECT_FALSE(map.at(db)[0].ready);

  // Same content again: nothing changed.
  tracker.EndpointSliceUpdate(MakeSlice("db", "db-a", {{"10.244.2.9", false}}), false);
  EXPECT_TRUE(tracker.Apply(map).empty());

  // Removing one slice of web keeps the other's endpoints: web-b still lists both.
  tracker.EndpointSliceUpdate(MakeSlice("web", "web-a", {}), true);
  EXPECT_TRUE(tracker.Apply(map).empty());
  EXPECT_EQ(map.at(kWeb).size(), 2u);
  tracker.EndpointSliceUpdate(MakeSlice("web", "web-b", {}), true);
  EXPECT_EQ(tracker.Apply(map), std::set<ServicePortName>{kWeb});
  EXPECT_EQ(map.count(kWeb), 0u);
}

TEST(EndpointsChangeTrackerTest, UsableEndpointsFallBackToTerminating) {
  EndpointInfo ready{.ip = Ip("10.0.0.1"), .port = 1, .ready = true, .serving = true};
  EndpointInfo term{.ip = Ip("10.0.0.2"),
                    .port = 1,
                    .ready = false,
                    .serving = true,
                    .terminating = true,
                    .is_local = true};
  EndpointInfo dead{.ip = Ip("10.0.0.3"), .port = 1, .terminating = true, .is_local = true};
  EXPECT_EQ(UsableEndpoints({ready, term, dead}, false), std::vector<EndpointInfo>{ready});
  EXPECT_EQ(UsableEndpoints({term, dead}, false), std::vector<EndpointInfo>{term});
  EXPECT_EQ(UsableEndpoints({ready, term}, true), std::vector<EndpointInfo>{term});
  EXPECT_TRUE(UsableEndpoints({ready, dead}, true).empty());
}

}  // namespace
}  // namespace knet::proxy
