#include "cni/config.h"

#include <gtest/gtest.h>

#include <map>

namespace knet::cni {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view k) -> std::optional<std::string> {
    auto it = vars.find(std::string(k));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::map<std::string, std::string> AddEnv() {
  return {{"CNI_COMMAND", "ADD"},
          {"CNI_CONTAINERID", "abc-123"},
          {"CNI_NETNS", "/run/netns/p"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", "/opt/cni/bin"}};
}

TEST(CniEnvironment, ParsesAdd) {
  Outcome<Environment> e = ParseEnvironment(Env(AddEnv()));
  ASSERT_TRUE(e.ok()) << e.error().msg;
  EXPECT_EQ(e.value().command, Command::kAdd);
  EXPECT_EQ(e.value().container_id, "abc-123");
  EXPECT_EQ(e.value().netns, "/run/netns/p");
  EXPECT_EQ(e.value().ifname, "eth0");
}

TEST(CniEnvironment, EachMissingVariableIsCodeFourNamingIt) {
  for (const char* var : {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}) {
    auto vars = AddEnv();
    vars.erase(var);
    Outcome<Environment> e = ParseEnvironment(Env(vars));
    ASSERT_FALSE(e.ok()) << var;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidEnvironment);
    EXPECT_NE(e.error().msg.find(var), std::string::npos) << e.error().msg;
  }
}

TEST(CniEnvironment, DelWithoutNetnsIsAllowed) {
  auto vars = AddEnv();
  vars["CNI_COMMAND"] = "DEL";
  vars.erase("CNI_NETNS");
  Outcome<Environment> e = ParseEnvironment(Env(vars));
  ASSERT_TRUE(e.ok()) << e.error().msg;
  EXPECT_EQ(e.value().netns, "");
}

TEST(CniEnvironment, RejectsBadValues) {
  for (auto [var, value] : std::vector<std::pair<std::string, std::string>>{
           {"CNI_COMMAND", "FROB"},
           {"CNI_CONTAINERID", "a/b"},
           {"CNI_CONTAINERID", "-x"},
           {"CNI_IFNAME", "a-very-long-interface-name"},
           {"CNI_IFNAME", "eth/0"},
           {"CNI_IFNAME", ".."}}) {
    auto vars = AddEnv();
    vars[var] = value;
    Outcome<Environment> e = ParseEnvironment(Env(vars));
    ASSERT_FALSE(e.ok()) << var << "=" << value;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidEnvironment);
  }
}

TEST(CniEnvironment, StatusAndGcNeedNoContainer) {
  for (const char* c : {"STATUS", "GC", "VERSION"}) {
    Outcome<Environment> e = ParseEnvironment(Env({{"CNI_COMMAND", c}}));
    EXPECT_TRUE(e.ok()) << c;
  }
}

constexpr const char* kConf = R"({
  "cniVersion": "1.0.0", "name": "net1", "type": "knet-cni", "bridge": "kb0",
  "isDefaultGateway": true, "hairpinMode": true, "mtu": 1400,
  "ipam": {"type": "host-local", "subnet": "10.1.0.0/24"},
  "runtimeConfig": {"ips": ["10.1.0.9"]}, "args": {}, "somethingElse": 1})";

TEST(CniNetConf, ParsesBridgeFields) {
  Outcome<NetConf> c = ParseNetConf(kConf, Command::kAdd);
  ASSERT_TRUE(c.ok()) << c.error().msg;
  EXPECT_EQ(c.value().cni_version, "1.0.0");
  EXPECT_EQ(c.value().name, "net1");
  EXPECT_EQ(c.value().bridge, "kb0");
  EXPECT_TRUE(c.value().is_default_gateway);
  EXPECT_TRUE(c.value().is_gateway);  // implied
  EXPECT_TRUE(c.value().hairpin_mode);
  EXPECT_FALSE(c.value().force_address);
  EXPECT_EQ(c.value().mtu, 1400u);
  EXPECT_EQ(c.value().ipam["subnet"], "10.1.0.0/24");
  EXPECT_EQ(c.value().runtime_config["ips"][0], "10.1.0.9");
  EXPECT_TRUE(c.value().prev_result.is_null());
}

TEST(CniNetConf, DefaultsBridgeToCni0) {
  Outcome<NetConf> c = ParseNetConf(
      R"({"cniVersion":"1.1.0","name":"n","ipam":{"subnet":"10.1.0.0/24"}})", Command::kAdd);
  ASSERT_TRUE(c.ok()) << c.error().msg;
  EXPECT_EQ(c.value().bridge, "cni0");
}

struct BadCase {
  const char* json;
  ErrorCode code;
  const char* names;  // the message mentions this
};

TEST(CniNetConf, ErrorsCarryTheSpecCodeAndNameTheField) {
  const BadCase cases[] = {
      {"{not json", ErrorCode::kDecodeFailure, "decoding"},
      {"[1,2]", ErrorCode::kDecodeFailure, "decoding"},
      {R"({"name":"n","ipam":{}})", ErrorCode::kInvalidNetworkConfig, "cniVersion"},
      {R"({"cniVersion":"0.3.1","name":"n","ipam":{}})", ErrorCode::kIncompatibleVersion, "0.3.1"},
      {R"({"cniVersion":7,"name":"n","ipam":{}})", ErrorCode::kInvalidNetworkConfig, "cniVersion"},
      {R"({"cniVersion":"1.0.0","ipam":{}})", ErrorCode::kInvalidNetworkConfig, "name"},
      {R"({"cniVersion":"1.0.0","name":"n"})", ErrorCode::kInvalidNetworkConfig, "ipam"},
      {R"({"cniVersion":"1.0.0","name":"n","ipam":{},"mtu":"x"})", ErrorCode::kInvalidNetworkConfig,
       "mtu"},
      {R"({"cniVersion":"1.0.0","name":"n","ipam":{},"mtu":20})", ErrorCode::kInvalidNetworkConfig,
       "mtu"},
      {R"({"cniVersion":"1.0.0","name":"n","ipam":{},"isGateway":"yes"})",
       ErrorCode::kInvalidNetworkConfig, "isGateway"},
      {R"({"cniVersion":"1.0.0","name":"n","ipam":{},"bridge":"a/b"})",
       ErrorCode::kInvalidNetworkConfig, "bridge"},
      {R"({"cniVersion":"1.0.0","name":"n","ipam":{"type":"dhcp"}})",
       ErrorCode::kInvalidNetworkConfig, "dhcp"},
      {R"({"cniVersion":"1.0.0","name":"n","ipam":{},"prevResult":[]})",
       ErrorCode::kInvalidNetworkConfig, "prevResult"},
      {R"({"cniVersion":"1.0.0","name":"n","ipam":{},"ipMasq":"yes"})",
       ErrorCode::kInvalidNetworkConfig, "ipMasq"},
  };
  for (const BadCase& c : cases) {
    Outcome<NetConf> r = ParseNetConf(c.json, Command::kAdd);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.error().code, c.code) << c.json;
    EXPECT_NE((r.error().msg + r.error().details).find(c.names), std::string::npos)
        << c.json << " -> " << r.error().msg;
  }
}

TEST(CniNetConf, StatusAndGcNeedOneOneZero) {
  const char* conf = R"({"cniVersion":"1.0.0","name":"n","ipam":{}})";
  EXPECT_EQ(ParseNetConf(conf, Command::kStatus).error().code, ErrorCode::kIncompatibleVersion);
  EXPECT_EQ(ParseNetConf(conf, Command::kGc).error().code, ErrorCode::kIncompatibleVersion);
  EXPECT_TRUE(ParseNetConf(conf, Command::kDel).ok());
}

TEST(CniNetConf, GcAcceptsBothAttachmentKeys) {
  Outcome<NetConf> c = ParseNetConf(
      R"({"cniVersion":"1.1.0","name":"n","ipam":{},
          "cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}],
          "cni.dev/attachments":[{"containerID":"b","ifname":"net1"}]})",
      Command::kGc);
  ASSERT_TRUE(c.ok()) << c.error().msg;
  ASSERT_EQ(c.value().valid_attachments.size(), 2u);
  EXPECT_EQ(c.value().valid_attachments[0].container_id, "a");
  EXPECT_EQ(c.value().valid_attachments[1].ifname, "net1");
  Outcome<NetConf> bad = ParseNetConf(
      R"({"cniVersion":"1.1.0","name":"n","ipam":{},"cni.dev/attachments":[{"ifname":"x"}]})",
      Command::kGc);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().msg.find("containerID"), std::string::npos);
}

TEST(CniNetConf, ResponseVersionFollowsTheConfig) {
  EXPECT_EQ(ResponseVersion(R"({"cniVersion":"0.4.0"})"), "0.4.0");
  EXPECT_EQ(ResponseVersion(R"({"cniVersion":"9.9.9"})"), "1.1.0");
  EXPECT_EQ(ResponseVersion("garbage"), "1.1.0");
}

TEST(ConfigTest, AcceptsIpMasq) {
  Outcome<NetConf> r =
      ParseNetConf(R"({"cniVersion":"1.0.0","name":"n","ipam":{},"ipMasq":true})", Command::kAdd);
  ASSERT_TRUE(r.ok()) << r.error().msg;
  EXPECT_TRUE(r.value().ip_masq);
  r = ParseNetConf(R"({"cniVersion":"1.0.0","name":"n","ipam":{}})", Command::kAdd);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().ip_masq);
}

}  // namespace
}  // namespace knet::cni
