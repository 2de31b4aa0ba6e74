// File: agent/pod/container_env_test.cc
#include "agent/pod/container_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace knet::agent::pod {
namespace {

using ::testing::Contains;
using ::testing::Not;

api::Service MakeService(std::string ns, std::string name, std::string ip,
                         std::vector<std::pair<std::string, int32_t>> ports) {
  api::Service s;
  s.metadata.namespace_ = std::move(ns);
  s.metadata.name = std::move(name);
  s.spec.cluster_ip = std::move(ip);
  for (auto& [n, port] : ports) {
    api::ServicePort p;
    p.name = n;
    p.port = port;
    s.spec.ports.push_back(p);
  }
  return s;
}

api::Pod MakePod() {
  api::Pod p;
  p.metadata.name = "web-0";
  p.metadata.namespace_ = "shop";
  p.metadata.uid = "u-1";
  p.metadata.labels["app"] = "web";
  p.spec.node_name = "n1";
  return p;
}

TEST(ContainerEnvTest, ServiceLinksAsTheKubeletWritesThem) {
  auto env = ServiceEnv(MakeService("shop", "redis-primary", "10.0.0.11", {{"", 6379}}));
  EXPECT_EQ(env,
            (std::vector<std::string>{
                "REDIS_PRIMARY_SERVICE_HOST=10.0.0.11", "REDIS_PRIMARY_SERVICE_PORT=6379",
                "REDIS_PRIMARY_PORT=tcp://10.0.0.11:6379",
                "REDIS_PRIMARY_PORT_6379_TCP=tcp://10.0.0.11:6379",
                "REDIS_PRIMARY_PORT_6379_TCP_PROTO=tcp", "REDIS_PRIMARY_PORT_6379_TCP_PORT=6379",
                "REDIS_PRIMARY_PORT_6379_TCP_ADDR=10.0.0.11"}));
  EXPECT_TRUE(ServiceEnv(MakeService("shop", "headless", "None", {{"", 80}})).empty());
  auto named = ServiceEnv(MakeService("shop", "api", "fd00::1", {{"https", 443}}));
  EXPECT_THAT(named, Contains("API_SERVICE_PORT_HTTPS=443"));
  EXPECT_THAT(named, Contains("API_PORT=tcp://[fd00::1]:443"));
}

TEST(ContainerEnvTest, EnvHasPathHostnameLinksFieldRefsAndExpansion) {
  api::Pod pod = MakePod();
  api::Container c;
  c.name = "app";
  c.env.push_back({"GREETING", "hello", std::nullopt});
  c.env.push_back({"MSG", "$(GREETING) from $(MY_POD)", std::nullopt});  // MY_POD not yet defined
  api::EnvVar ip{"MY_IP", "", api::EnvVarSource{api::ObjectFieldSelector{"v1", "status.podIP"}}};
  c.env.push_back(ip);
  api::EnvVar app{"APP", "",
                  api::EnvVarSource{api::ObjectFieldSelector{"v1", "metadata.labels['app']"}}};
  c.env.push_back(app);
  c.env.push_back({"PATH", "/opt/bin", std::nullopt});
  std::vector<api::Service> svcs = {
      MakeService("default", "kubernetes", "10.96.0.1", {{"https", 443}}),
      MakeService("shop", "db", "10.96.0.7", {{"", 5432}}),
      MakeService("other", "cache", "10.96.0.8", {{"", 11211}})};
  auto env = BuildEnv(pod, c, {{"10.244.1.5"}, {"192.0.2.1"}}, svcs);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_THAT(*env, Contains("HOSTNAME=web-0"));
  EXPECT_THAT(*env, Contains("PATH=/opt/bin"));  // the container's own value wins
  EXPECT_THAT(*env, Contains("KUBERNETES_SERVICE_HOST=10.96.0.1"));
  EXPECT_THAT(*env, Contains("DB_SERVICE_PORT=5432"));
  EXPECT_THAT(*env, Not(Contains("CACHE_SERVICE_HOST=10.96.0.8")));  // another namespace
  EXPECT_THAT(*env, Contains("MSG=hello from $(MY_POD)"));
  EXPECT_THAT(*env, Contains("MY_IP=10.244.1.5"));
  EXPECT_THAT(*env, Contains("APP=web"));

  pod.spec.enable_service_links = false;
  env = BuildEnv(pod, c, {{"10.244.1.5"}, {}}, svcs);
  ASSERT_TRUE(env.ok());
  EXPECT_THAT(*env, Contains("KUBERNETES_SERVICE_HOST=10.96.0.1"));  // always present
  EXPECT_THAT(*env, Not(Contains("DB_SERVICE_PORT=5432")));
}

TEST(ContainerEnvTest, UnsupportedValueFromNamesTheVariable) {
  api::Pod pod = MakePod();
  api::Container c;
  c.name = "app";
  c.env.push_back(
      {"X", "", api::EnvVarSource{api::ObjectFieldSelector{"v1", "spec.somethingElse"}}});
  auto env = BuildEnv(pod, c, {}, {});
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.status().message().find("env X"), std::string::npos);
  EXPECT_NE(env.status().message().find("spec.somethingElse"), std::string::npos);
}

TEST(ContainerEnvTest, ArgvExpandsAndNeedsACommand) {
  api::Pod pod = MakePod();
  api::Container c;
  c.name = "app";
  EXPECT_FALSE(BuildArgv(pod, c, {}).ok());
  c.command = {"/bin/sh", "-c"};
  c.args = {"echo $(NAME) $$(NAME) $(MISSING)"};
  auto argv = BuildArgv(pod, c, {"NAME=x"});
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(*argv, (std::vector<std::string>{"/bin/sh", "-c", "echo x $(NAME) $(MISSING)"}));
}

TEST(ContainerEnvTest, ExpandVarsEdgeCases) {
  EXPECT_EQ(ExpandVars("$", {}), "$");
  EXPECT_EQ(ExpandVars("$(", {}), "$(");
  EXPECT_EQ(ExpandVars("a$$b", {}), "a$b");
  EXPECT_EQ(ExpandVars("$(A)$(A)", {"A=1", "A=2"}), "22");  // the later definition wins
}

}  // namespace
}  // namespace knet::agent::pod
