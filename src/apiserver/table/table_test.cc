#include "apiserver/table/table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "apiserver/table/internal/printers.h"

namespace knet::apiserver::table {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Json = nlohmann::json;

// 2024-05-01T10:00:00Z.
constexpr int64_t kNowUnix = 1714557600;
constexpr std::chrono::system_clock::time_point kNow{seconds(kNowUnix)};

api::Time Ago(seconds d) { return api::Time::FromUnixSeconds(kNowUnix - d.count()); }

api::ObjectMeta Meta(std::string name, seconds age = minutes(5)) {
  api::ObjectMeta m;
  m.name = std::move(name);
  m.namespace_ = "default";
  m.creation_timestamp = Ago(age);
  return m;
}

std::vector<std::string> ColumnNames(std::string_view kind, int priority) {
  std::vector<std::string> names;
  for (const Json& c : ColumnDefinitions(kind)) {
    if (c["priority"] == priority) names.push_back(c["name"]);
  }
  return names;
}

// ---- HumanDuration ----

TEST(HumanDurationTest, AgeOfAnExtremeTimestampSaturatesInsteadOfOverflowing) {
  // Found by the table fuzzer: a creationTimestamp near year -270 against a present "now".
  const int64_t now = int64_t{1714557600} * 1'000'000'000;
  EXPECT_EQ(table_internal::Since(api::Time::FromUnixNanos(INT64_MIN + 1), now), "292y");
  EXPECT_EQ(table_internal::Since(api::Time::FromUnixNanos(INT64_MAX), -now), "<invalid>");
}

TEST(HumanDurationTest, MatchesApimachinery) {
  const std::vector<std::pair<seconds, std::string>> cases = {
      {seconds(-2), "<invalid>"},
      {seconds(-1), "0s"},
      {seconds(0), "0s"},
      {seconds(1), "1s"},
      {seconds(70), "70s"},
      {seconds(119), "119s"},
      {seconds(120), "2m"},
      {seconds(190), "3m10s"},
      {minutes(9) + seconds(59), "9m59s"},
      {minutes(10) + seconds(59), "10m"},
      {minutes(70), "70m"},
      {minutes(179), "179m"},
      {minutes(180), "3h"},
      {hours(7) + minutes(59), "7h59m"},
      {hours(8) + minutes(59), "8h"},
      {hours(47), "47h"},
      {hours(48), "2d"},
      {hours(49), "2d1h"},
      {hours(24 * 3), "3d"},
      {hours(24 * 7 + 23), "7d23h"},
      {hours(24 * 8 + 2), "8d"},
      {hours(24 * 367), "367d"},
      {hours(24 * 400), "400d"},
      {hours(24 * 729), "729d"},
      {hours(24 * 730), "2y"},
      {hours(24 * (365 * 2 + 25)), "2y25d"},
      {hours(24 * (365 * 8 - 1)), "7y364d"},
      {hours(24 * 365 * 8), "8y"},
      {hours(24 * 365 * 20 + 100), "20y"},
  };
  for (const auto& [d, want] : cases) {
    EXPECT_EQ(HumanDuration(d), want) << d.count() << "s";
  }
}

// ---- includeObject ----

TEST(ParseIncludeObjectTest, UpstreamValues) {
  EXPECT_EQ(*ParseIncludeObject(""), IncludeObject::kMetadata);
  EXPECT_EQ(*ParseIncludeObject("Metadata"), IncludeObject::kMetadata);
  EXPECT_EQ(*ParseIncludeObject("None"), IncludeObject::kNone);
  EXPECT_EQ(*ParseIncludeObject("Object"), IncludeObject::kObject);
  base::StatusOr<IncludeObject> bad = ParseIncludeObject("object");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "includeObject: Invalid value: \"object\": must be 'Metadata', 'Object', 'None', or "
            "empty");
}

// ---- Column definitions ----

TEST(ColumnDefinitionsTest, PodColumnsAndWideColumns) {
  EXPECT_THAT(ColumnNames("Pod", 0),
              testing::ElementsAre("Name", "Ready", "Status", "Restarts", "Age"));
  EXPECT_THAT(ColumnNames("Pod", 1),
              testing::ElementsAre("IP", "Node", "Nominated Node", "Readiness Gates"));
  const Json cols = ColumnDefinitions("Pod");
  EXPECT_EQ(cols[0]["format"], "name");
  EXPECT_EQ(cols[0]["type"], "string");
  EXPECT_EQ(cols[1]["format"], "");
  EXPECT_EQ(cols[3]["type"], "string");  // RESTARTS is "3 (5m ago)" in newer versions.
  EXPECT_THAT(cols[4]["description"].get<std::string>(),
              testing::StartsWith("CreationTimestamp is a timestamp"));
  for (const Json& c : cols) {
    for (const char* field : {"name", "type", "format", "description", "priority"}) {
      EXPECT_TRUE(c.contains(field)) << c.dump() << " lacks " << field;
    }
  }
}

TEST(ColumnDefinitionsTest, EveryKind) {
  EXPECT_THAT(ColumnNames("Service", 0),
              testing::ElementsAre("Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"));
  EXPECT_THAT(ColumnNames("Service", 1), testing::ElementsAre("Selector"));
  EXPECT_THAT(ColumnNames("Endpoints", 0), testing::ElementsAre("Name", "Endpoints", "Age"));
  EXPECT_THAT(ColumnNames("EndpointSlice", 0),
              testing::ElementsAre("Name", "AddressType", "Ports", "Endpoints", "Age"));
  EXPECT_THAT(ColumnNames("Node", 0),
              testing::ElementsAre("Name", "Status", "Roles", "Age", "Version"));
  EXPECT_THAT(ColumnNames("Node", 1), testing::ElementsAre("Internal-IP", "External-IP", "OS-Image",
                                                           "Kernel-Version", "Container-Runtime"));
  EXPECT_THAT(ColumnNames("Namespace", 0), testing::ElementsAre("Name", "Status", "Age"));
  EXPECT_THAT(ColumnNames("Deployment", 0),
              testing::ElementsAre("Name", "Ready", "Up-to-date", "Available", "Age"));
  EXPECT_THAT(ColumnNames("Deployment", 1),
              testing::ElementsAre("Containers", "Images", "Selector"));
  EXPECT_THAT(ColumnNames("ReplicaSet", 0),
              testing::ElementsAre("Name", "Desired", "Current", "Ready", "Age"));
  EXPECT_THAT(ColumnNames("ReplicaSet", 1),
              testing::ElementsAre("Containers", "Images", "Selector"));
  EXPECT_EQ(ColumnDefinitions("ReplicaSet")[1]["type"], "integer");
  EXPECT_THAT(ColumnNames("NetworkPolicy", 0), testing::ElementsAre("Name", "Pod-Selector", "Age"));
  EXPECT_THAT(ColumnNames("Lease", 0), testing::ElementsAre("Name", "Holder", "Age"));
  EXPECT_THAT(ColumnNames("Event", 0),
              testing::ElementsAre("Last Seen", "Type", "Reason", "Object", "Message"));
  EXPECT_THAT(ColumnNames("Event", 1),
              testing::ElementsAre("Subobject", "Source", "First Seen", "Count", "Name"));
  EXPECT_EQ(ColumnDefinitions("Event")[9]["format"], "name");
  EXPECT_THAT(ColumnNames("ConfigMap", 0), testing::ElementsAre("Name", "Age"));
  EXPECT_TRUE(ColumnNames("ConfigMap", 1).empty());
}

api::Pod MakePod(std::string phase) {
  api::Pod p;
  p.metadata = Meta("web");
  p.spec.containers = {api::Container{.name = "c0", .image = "nginx"}};
  p.status.phase = std::move(phase);
  return p;
}

// ---- Service ----

api::Service MakeService(std::string type) {
  api::Service s;
  s.metadata = Meta("web", hours(50));
  s.spec.type = std::move(type);
  s.spec.cluster_ip = "10.96.0.10";
  s.spec.cluster_ips = {"10.96.0.10"};
  s.spec.selector = {{"tier", "fe"}, {"app", "web"}};
  s.spec.ports = {{.protocol = "TCP", .port = 80}};
  return s;
}

TEST(ServiceRowTest, ClusterIP) {
  EXPECT_EQ(RowCells(MakeService("ClusterIP"), kNow),
            Json::parse(R"(["web","ClusterIP","10.96.0.10","<none>","80/TCP","2d2h",
                "app=web,tier=fe"])"));
}

TEST(ServiceRowTest, NodePortWithSeveralPortsAndExternalIPs) {
  api::Service s = MakeService("NodePort");
  s.spec.ports = {{.protocol = "TCP", .port = 80, .node_port = 30080},
                  {.protocol = "UDP", .port = 53, .node_port = 30053}};
  s.spec.external_ips = {"192.0.2.1", "192.0.2.2"};
  s.spec.selector.clear();
  const Json cells = RowCells(s, kNow);
  EXPECT_EQ(cells[3], "192.0.2.1,192.0.2.2");
  EXPECT_EQ(cells[4], "80:30080/TCP,53:30053/UDP");
  EXPECT_EQ(cells[6], "<none>");
}

TEST(ServiceRowTest, LoadBalancerPendingThenWithIngress) {
  api::Service s = MakeService("LoadBalancer");
  EXPECT_EQ(RowCells(s, kNow)[3], "<pending>");
  s.status.load_balancer.ingress = {{.ip = "203.0.113.9"}, {.hostname = "lb.example.com"}};
  EXPECT_EQ(RowCells(s, kNow)[3], "203.0.113.9,lb.example.com");
  s.spec.external_ips = {"192.0.2.1"};
  EXPECT_EQ(RowCells(s, kNow)[3], "203.0.113.9,lb.example.com,192.0.2.1");
}

TEST(ServiceRowTest, ExternalNameHeadlessAndNoPorts) {
  api::Service s = MakeService("ExternalName");
  s.spec.cluster_ip.clear();
  s.spec.cluster_ips.clear();
  s.spec.external_name = "db.example.com";
  s.spec.ports.clear();
  const Json cells = RowCells(s, kNow);
  EXPECT_EQ(cells[2], "<none>");
  EXPECT_EQ(cells[3], "db.example.com");
  EXPECT_EQ(cells[4], "<none>");

  api::Service headless = MakeService("ClusterIP");
  headless.spec.cluster_ip = "None";
  headless.spec.cluster_ips = {"None"};
  EXPECT_EQ(RowCells(headless, kNow)[2], "None");
}

// ---- Endpoints and EndpointSlice ----

api::EndpointSubset Subset(std::vector<std::string> ips, const std::vector<int32_t>& ports) {
  api::EndpointSubset ss;
  for (std::string& ip : ips) ss.addresses.push_back({.ip = std::move(ip)});
  for (int32_t p : ports) ss.ports.push_back({.port = p, .protocol = "TCP"});
  return ss;
}

TEST(EndpointsRowTest, FormatsUpToThreeThenMore) {
  api::Endpoints ep;
  ep.metadata = Meta("web", seconds(42));
  EXPECT_EQ(RowCells(ep, kNow), Json::parse(R"(["web","<none>","42s"])"));

  ep.subsets = {Subset({"10.0.0.1", "10.0.0.2"}, {80})};
  EXPECT_EQ(RowCells(ep, kNow)[1], "10.0.0.1:80,10.0.0.2:80");

  ep.subsets = {Subset({"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}, {80})};
  EXPECT_EQ(RowCells(ep, kNow)[1], "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...");

  ep.subsets = {Subset({"10.0.0.1", "10.0.0.2"}, {80, 443}), Subset({"fd00::1"}, {8080})};
  EXPECT_EQ(RowCells(ep, kNow)[1], "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...");

  ep.subsets = {Subset({"fd00::1", "10.0.0.9"}, {8080})};
  EXPECT_EQ(RowCells(ep, kNow)[1], "[fd00::1]:8080,10.0.0.9:8080");

  ep.subsets = {Subset({"10.0.0.1", "10.0.0.2"}, {})};  // headless without ports
  EXPECT_EQ(RowCells(ep, kNow)[1], "10.0.0.1,10.0.0.2");
}

TEST(EndpointSliceRowTest, PortsAndEndpoints) {
  api::EndpointSlice slice;
  slice.metadata = Meta("web-abcde", minutes(3));
  slice.address_type = "IPv4";
  EXPECT_EQ(RowCells(slice, kNow), Json::parse(R"(["web-abcde","IPv4","<unset>","<unset>","3m"])"));

  slice.ports = {{.name = "http", .port = 80}, {.name = "dns"}, {}, {.port = 9090}};
  slice.endpoints = {{.addresses = {"10.0.0.1"}}, {.addresses = {"10.0.0.2", "10.0.0.3"}}};
  EXPECT_EQ(RowCells(slice, kNow), Json::parse(R"(["web-abcde","IPv4","80,dns,* + 1 more...",
                "10.0.0.1,10.0.0.2,10.0.0.3","3m"])"));
  slice.endpoints.push_back({.addresses = {"10.0.0.4"}});
  EXPECT_EQ(RowCells(slice, kNow)[3], "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...");
}

// ---- Node ----

TEST(NodeRowTest, StatusRolesAndWideColumns) {
  api::Node n;
  n.metadata = Meta("node-1", hours(24 * 10));
  n.metadata.labels = {{"node-role.kubernetes.io/control-plane", ""},
                       {"node-role.kubernetes.io/", ""},
                       {"kubernetes.io/role", "etcd"},
                       {"kubernetes.io/hostname", "node-1"}};
  n.status.conditions = {{.type = "MemoryPressure", .status = "False"},
                         {.type = "Ready", .status = "True"}};
  n.status.addresses = {{.type = "Hostname", .address = "node-1"},
                        {.type = "InternalIP", .address = "192.168.1.10"}};
  n.status.node_info = api::NodeSystemInfo{.kernel_version = "6.1.0",
                                           .os_image = "Debian GNU/Linux 12 (bookworm)",
                                           .container_runtime_version = "knet://0.1",
                                           .kubelet_version = "v1.32.0"};
  EXPECT_EQ(RowCells(n, kNow),
            Json::parse(R"j(["node-1","Ready","control-plane,etcd","10d","v1.32.0",
                "192.168.1.10","<none>","Debian GNU/Linux 12 (bookworm)","6.1.0","knet://0.1"])j"));

  n.spec.unschedulable = true;
  n.status.conditions = {{.type = "Ready", .status = "Unknown"}};
  EXPECT_EQ(RowCells(n, kNow)[1], "NotReady,SchedulingDisabled");
  n.status.conditions.clear();
  EXPECT_EQ(RowCells(n, kNow)[1], "Unknown,SchedulingDisabled");
}

TEST(NodeRowTest, BareNode) {
  api::Node n;
  n.metadata = Meta("bare", seconds(5));
  EXPECT_EQ(RowCells(n, kNow), Json::parse(R"(["bare","Unknown","<none>","5s","",
      "<none>","<none>","<unknown>","<unknown>","<unknown>"])"));
}

// ---- Namespace, workloads, policy, lease, event ----

TEST(NamespaceRowTest, Phase) {
  api::Namespace ns;
  ns.metadata = Meta("kube-system", hours(24 * 400));
  ns.status.phase = "Active";
  EXPECT_EQ(RowCells(ns, kNow), Json::parse(R"(["kube-system","Active","400d"])"));
}

api::PodTemplateSpec Template() {
  api::PodTemplateSpec t;
  t.spec.containers = {api::Container{.name = "web", .image = "nginx:1.27"},
                       api::Container{.name = "sidecar", .image = "busybox"}};
  return t;
}

TEST(DeploymentRowTest, ReadyCountsAndWideColumns) {
  api::Deployment d;
  d.metadata = Meta("web", minutes(20));
  d.spec.replicas = 3;
  d.spec.selector = api::LabelSelector{.match_labels = {{"app", "web"}}};
  d.spec.template_ = Template();
  d.status.ready_replicas = 2;
  d.status.updated_replicas = 3;
  d.status.available_replicas = 2;
  EXPECT_EQ(RowCells(d, kNow), Json::parse(R"(["web","2/3",3,2,"20m","web,sidecar",
      "nginx:1.27,busybox","app=web"])"));
  d.spec.selector = api::LabelSelector{};
  EXPECT_EQ(RowCells(d, kNow)[7], "");
}

TEST(ReplicaSetRowTest, IntegerCells) {
  api::ReplicaSet rs;
  rs.metadata = Meta("web-5d4f8", minutes(20));
  rs.spec.replicas = 3;
  rs.spec.template_ = Template();
  rs.spec.selector = api::LabelSelector{
      .match_labels = {{"app", "web"}},
      .match_expressions = {{.key = "tier", .operator_ = "In", .values = {"fe", "be"}}}};
  rs.status.replicas = 3;
  rs.status.ready_replicas = 1;
  EXPECT_EQ(RowCells(rs, kNow), Json::parse(R"j(["web-5d4f8",3,3,1,"20m","web,sidecar",
      "nginx:1.27,busybox","app=web,tier in (be,fe)"])j"));
  rs.spec.selector.reset();
  EXPECT_EQ(RowCells(rs, kNow)[7], "<none>");
}

TEST(NetworkPolicyRowTest, PodSelector) {
  api::NetworkPolicy np;
  np.metadata = Meta("deny-all", hours(2));
  EXPECT_EQ(RowCells(np, kNow), Json::parse(R"(["deny-all","<none>","120m"])"));
  np.spec.pod_selector.match_labels = {{"app", "db"}};
  EXPECT_EQ(RowCells(np, kNow)[1], "app=db");
}

TEST(LeaseRowTest, Holder) {
  api::Lease l;
  l.metadata = Meta("node-1", hours(1));
  EXPECT_EQ(RowCells(l, kNow), Json::parse(R"(["node-1","","60m"])"));
  l.spec.holder_identity = "node-1";
  EXPECT_EQ(RowCells(l, kNow)[1], "node-1");
}

TEST(EventRowTest, CoreEvent) {
  api::Event e;
  e.metadata = Meta("web.17c", minutes(10));
  e.involved_object = {.kind = "Pod", .name = "web", .field_path = "spec.containers{web}"};
  e.reason = "Pulled";
  e.message = "  Successfully pulled image \"nginx\"\n";
  e.source = {.component = "kubelet", .host = "node-1"};
  e.first_timestamp = Ago(minutes(10));
  e.last_timestamp = Ago(minutes(2));
  e.count = 4;
  e.type = "Normal";
  EXPECT_EQ(RowCells(e, kNow), Json::parse(R"(["2m","Normal","Pulled","pod/web",
      "spec.containers{web}","kubelet, node-1","Successfully pulled image \"nginx\"","10m",4,
      "web.17c"])"));
}

TEST(EventRowTest, NewStyleEventFallsBackToEventTimeAndReporter) {
  api::Event e;
  e.metadata = Meta("x", minutes(1));
  e.involved_object = {.kind = "Node"};
  e.event_time = api::MicroTime{Ago(seconds(30))};
  e.reporting_component = "knet-controller";
  e.type = "Warning";
  const Json cells = RowCells(e, kNow);
  EXPECT_EQ(cells[0], "30s");
  EXPECT_EQ(cells[3], "node");
  EXPECT_EQ(cells[5], "knet-controller");
  EXPECT_EQ(cells[7], "30s");
  EXPECT_EQ(cells[8], 1);

  api::Event none;
  none.metadata = Meta("y");
  EXPECT_EQ(RowCells(none, kNow)[0], "<unknown>");
}

// ---- EncodeTable ----

TEST(EncodeTableTest, EnvelopeListMetaAndPartialObjectMetadata) {
  api::Pod p = MakePod("Pending");
  p.metadata.uid = "u-1";
  p.metadata.labels = {{"app", "web"}};
  api::ListMeta lm{.resource_version = "42", .continue_ = "tok", .remaining_item_count = 7};
  const Json t = Json::parse(EncodeTable("Pod", std::vector<api::Object>{p}, lm, {.now = kNow}));
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(t["metadata"],
            Json::parse(R"({"resourceVersion":"42","continue":"tok","remainingItemCount":7})"));
  EXPECT_EQ(t["columnDefinitions"], ColumnDefinitions("Pod"));
  ASSERT_EQ(t["rows"].size(), 1u);
  const Json& row = t["rows"][0];
  EXPECT_EQ(row["cells"], RowCells(p, kNow));
  EXPECT_FALSE(row.contains("conditions"));
  EXPECT_EQ(row["object"]["kind"], "PartialObjectMetadata");
  EXPECT_EQ(row["object"]["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(row["object"]["metadata"]["name"], "web");
  EXPECT_EQ(row["object"]["metadata"]["namespace"], "default");
  EXPECT_EQ(row["object"]["metadata"]["uid"], "u-1");
  EXPECT_EQ(row["object"]["metadata"]["labels"]["app"], "web");
  EXPECT_FALSE(row["object"].contains("spec"));
}

TEST(EncodeTableTest, IncludeObjectAndNone) {
  api::Service s = MakeService("ClusterIP");
  std::vector<api::Object> objs{s};
  const Json full = Json::parse(
      EncodeTable("Service", objs, {}, {.include_object = IncludeObject::kObject, .now = kNow}));
  EXPECT_EQ(full["rows"][0]["object"]["kind"], "Service");
  EXPECT_EQ(full["rows"][0]["object"]["apiVersion"], "v1");
  EXPECT_EQ(full["rows"][0]["object"]["spec"]["clusterIP"], "10.96.0.10");
  EXPECT_EQ(full["metadata"], Json::object());

  const Json none = Json::parse(
      EncodeTable("Service", objs, {}, {.include_object = IncludeObject::kNone, .now = kNow}));
  EXPECT_FALSE(none["rows"][0].contains("object"));
  EXPECT_EQ(none["rows"][0]["cells"][0], "web");
}

TEST(EncodeTableTest, NoHeadersAndEmptyList) {
  const Json empty = Json::parse(EncodeTable("Node", {}, {.resource_version = "9"}, {}));
  EXPECT_EQ(empty["rows"], Json::array());
  EXPECT_EQ(empty["columnDefinitions"].size(), 10u);

  api::Namespace ns;
  ns.metadata = Meta("default");
  const Json t = Json::parse(EncodeTable("Namespace", std::vector<api::Object>{ns}, {},
                                         {.no_headers = true, .now = kNow}));
  EXPECT_TRUE(t["columnDefinitions"].is_null());
  EXPECT_EQ(t["rows"][0]["cells"], Json::parse(R"(["default","","5m"])"));
}

TEST(EncodeTableTest, KindWithoutPrinterUsesNameAndAge) {
  api::Namespace ns;
  ns.metadata = Meta("default", hours(3));
  const Json t =
      Json::parse(EncodeTable("ConfigMap", std::vector<api::Object>{ns}, {}, {.now = kNow}));
  EXPECT_EQ(t["columnDefinitions"].size(), 2u);
  EXPECT_EQ(t["rows"][0]["cells"], Json::parse(R"(["default","3h"])"));
}

TEST(EncodeTableTest, DefaultNowIsTheCurrentTime) {
  api::Namespace ns;
  ns.metadata.name = "fresh";
  ns.metadata.creation_timestamp = api::Time::Now();
  const Json t = Json::parse(EncodeTable("Namespace", std::vector<api::Object>{ns}, {}, {}));
  const std::string age = t["rows"][0]["cells"][2];
  EXPECT_TRUE(age == "0s" || age == "1s" || age == "2s") << age;
}

TEST(EncodeTableTest, InvalidUtf8InACellIsReplacedNotThrown) {
  api::Event e;
  e.metadata = Meta("bad");
  e.message = "bad \xff byte";
  std::string body;
  ASSERT_NO_THROW(body = EncodeTable("Event", std::vector<api::Object>{e}, {},
                                     {.include_object = IncludeObject::kNone, .now = kNow}));
  const Json t = Json::parse(body);
  EXPECT_EQ(t["rows"][0]["cells"][6], "bad \xEF\xBF\xBD byte");
}

}  // namespace
}  // namespace knet::apiserver::table
