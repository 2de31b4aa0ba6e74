#include "apiserver/pod_proxy.h"

#include <gtest/gtest.h>

namespace knet::apiserver {
namespace {

api::Pod PodWith(std::vector<std::string> containers, std::vector<std::string> init = {}) {
  api::Pod p;
  p.metadata.name = "web";
  p.metadata.namespace_ = "default";
  for (auto& n : containers) p.spec.containers.push_back(api::Container{.name = n});
  for (auto& n : init) p.spec.init_containers.push_back(api::Container{.name = n});
  return p;
}

TEST(PodProxyTest, ParsePodSubresource) {
  auto log = ParsePodSubresource("GET", "/api/v1/namespaces/default/pods/web/log");
  ASSERT_TRUE(log.has_value());
  EXPECT_EQ(log->namespace_, "default");
  EXPECT_EQ(log->name, "web");
  EXPECT_EQ(log->subresource, "log");
  EXPECT_EQ(log->verb, "get");
  auto exec = ParsePodSubresource("GET", "/api/v1/namespaces/ns/pods/web/exec");
  ASSERT_TRUE(exec.has_value());
  EXPECT_EQ(exec->verb, "create");
  EXPECT_EQ(ParsePodSubresource("POST", "/api/v1/namespaces/ns/pods/web/exec")->verb, "create");
  EXPECT_EQ(ParsePodSubresource("DELETE", "/api/v1/namespaces/ns/pods/web/log")->verb, "");
  EXPECT_FALSE(ParsePodSubresource("GET", "/api/v1/namespaces/ns/pods/web/status"));
  EXPECT_FALSE(ParsePodSubresource("GET", "/api/v1/namespaces/ns/pods/web"));
  EXPECT_FALSE(ParsePodSubresource("GET", "/api/v1/namespaces/ns/services/web/log"));
  EXPECT_FALSE(ParsePodSubresource("GET", "/apis/apps/v1/namespaces/ns/pods/web/log"));
}

TEST(PodProxyTest, ResolveContainerAsUpstream) {
  EXPECT_EQ(*ResolveContainer(PodWith({"app"}), ""), "app");
  EXPECT_EQ(*ResolveContainer(PodWith({"a", "b"}), "b"), "b");
  EXPECT_EQ(*ResolveContainer(PodWith({"a"}, {"setup"}), "setup"), "setup");
  auto many = ResolveContainer(PodWith({"a", "b"}), "");
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, 400);
  EXPECT_EQ(many.error().message,
            "a container name must be specified for pod web, choose one of: [a b]");
  auto with_init = ResolveContainer(PodWith({"a", "b"}, {"i"}), "");
  EXPECT_EQ(with_init.error().message,
            "a container name must be specified for pod web, choose one of: [a b] or one of the "
            "init containers: [i]");
  auto bad = ResolveContainer(PodWith({"a"}), "nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, 400);
  EXPECT_EQ(bad.error().message, "container nope is not valid for pod web");
}

TEST(PodProxyTest, AgentAddressPrefersInternalIp) {
  api::Node n;
  n.metadata.name = "node-a";
  n.status.addresses = {
      {"Hostname", "node-a"}, {"ExternalIP", "1.2.3.4"}, {"InternalIP", "10.0.0.5"}};
  n.status.daemon_endpoints.kubelet_endpoint.port = 12345;
  auto a = AgentAddress(n);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "10.0.0.5");
  EXPECT_EQ(a->second, 12345);
  n.status.addresses = {{"ExternalIP", "1.2.3.4"}};
  n.status.daemon_endpoints.kubelet_endpoint.port = 0;
  EXPECT_EQ(*AgentAddress(n), (std::pair<std::string, uint16_t>{"1.2.3.4", 10250}));
  n.status.addresses = {{"Hostname", "node-a"}};
  auto none = AgentAddress(n);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("Hostname:node-a"), std::string::npos);
}

TEST(PodProxyTest, EncodeQuery) {
  EXPECT_EQ(EncodeQuery({}), "");
  EXPECT_EQ(EncodeQuery({{"command", "sh"},
                         {"command", "echo a&b=c"},
                         {"sinceTime", "2026-11-25T01:00:00+01:00"}}),
            "?command=sh&command=echo%20a%26b%3Dc&sinceTime=2026-11-25T01%3A00%3A00%2B01%3A00");
}

}  // namespace
}  // namespace knet::apiserver
