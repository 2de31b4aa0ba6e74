#include "apiserver/registry.h"

#include <gtest/gtest.h>

#include "apiserver/bootstrap.h"
#include "apiserver/garbage_collector.h"

namespace knet::apiserver {
namespace {

using namespace std::chrono_literals;

const ResourceInfo& R(const char* group, const char* resource) {
  return *FindResource(group, "v1", resource);
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    if (!store_) store_ = *store::OpenStore("memory://");
    cache_ = std::make_unique<WatchCache>(store_.get());
    ASSERT_TRUE(cache_->Start().ok());
    ips_.emplace(*ServiceIpAllocator::Create({*base::Cidr::Parse("10.96.0.0/24")}));
    ports_.emplace(*PortAllocator::Create(30000, 30010));
    reg_ = std::make_unique<Registry>(store_.get(), cache_.get(), &*ips_, &*ports_);
    ASSERT_TRUE(reg_->RebuildAllocations().ok());
    BootstrapConfig boot{*base::IPAddress::Parse("10.96.0.1"),
                         *base::IPAddress::Parse("192.0.2.10"), 6443};
    base::Status booted = Bootstrap(*reg_, boot);
    ASSERT_TRUE(booted.ok()) << booted.message();
  }
  void Restart() {
    reg_.reset();
    cache_.reset();
    Open();
  }
  void Sync() { ASSERT_TRUE(cache_->WaitForRevision(*store_->CurrentRevision(), 5s).ok()); }
  api::Service Svc(const std::string& name, const std::string& type = "ClusterIP") {
    api::Service s;
    s.metadata.name = name;
    s.spec.type = type;
    api::ServicePort p;
    p.port = 80;
    s.spec.ports.push_back(p);
    return s;
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<WatchCache> cache_;
  std::optional<ServiceIpAllocator> ips_;
  std::optional<PortAllocator> ports_;
  std::unique_ptr<Registry> reg_;
};

TEST_F(RegistryTest, BootstrapMakesNamespacesAndTheKubernetesService) {
  auto svc = reg_->Get(R("", "services"), "default", "kubernetes");
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ(std::get<api::Service>(svc->object).spec.cluster_ip, "10.96.0.1");
  EXPECT_TRUE(reg_->Get(R("", "namespaces"), "", "kube-system").ok());
  auto ep = reg_->Get(R("", "endpoints"), "default", "kubernetes");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(std::get<api::Endpoints>(ep->object).subsets[0].addresses[0].ip, "192.0.2.10");
}

TEST_F(RegistryTest, CreateFillsSystemFieldsAndRefusesDuplicates) {
  api::Service s = Svc("");
  s.metadata.generate_name = "web-";
  auto made = reg_->Create(R("", "services"), "default", s, {});
  ASSERT_TRUE(made.ok()) << made.error().message;
  const auto& got = std::get<api::Service>(made->object);
  EXPECT_EQ(got.metadata.name.size(), 9u);
  EXPECT_EQ(got.metadata.uid.size(), 36u);
  EXPECT_FALSE(got.metadata.creation_timestamp.IsZero());
  EXPECT_EQ(got.metadata.resource_version, std::to_string(made->revision));
  EXPECT_EQ(got.spec.cluster_ip.rfind("10.96.0.", 0), 0u);
  EXPECT_EQ(got.spec.ip_families, std::vector<std::string>{"IPv4"});
  auto dup = reg_->Create(R("", "services"), "default", got, {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, 409);
  EXPECT_EQ(dup.error().reason, "AlreadyExists");
  auto no_ns = reg_->Create(R("", "services"), "nope", Svc("x"), {});
  EXPECT_EQ(no_ns.error().code, 404);
  EXPECT_EQ(no_ns.error().message, "namespaces \"nope\" not found");
}

TEST_F(RegistryTest, GenerateNameIsCutSoTheNameStaysADnsLabel) {
  // A ReplicaSet name near the limit, as a Deployment's pods would use it.
  api::Pod p;
  p.metadata.generate_name = std::string(62, 'a') + "-";
  api::Container c;
  c.name = "c";
  c.image = "busybox";
  p.spec.containers.push_back(c);
  auto made = reg_->Create(R("", "pods"), "default", p, {});
  ASSERT_TRUE(made.ok()) << made.error().message;
  const std::string& name = std::get<api::Pod>(made->object).metadata.name;
  EXPECT_EQ(name.size(), 63u);
  EXPECT_EQ(name.substr(0, 58), std::string(58, 'a'));
}

TEST_F(RegistryTest, InvalidObjectsAre422WithCauses) {
  api::Service s = Svc("web");
  s.spec.ports[0].port = 70000;
  auto out = reg_->Create(R("", "services"), "default", s, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, 422);
  ASSERT_TRUE(out.error().details.has_value());
  EXPECT_EQ(out.error().details->causes[0].field, "spec.ports[0].port");
  EXPECT_NE(out.error().message.find("Service \"web\" is invalid"), std::string::npos);
}

TEST_F(RegistryTest, ClusterIpsAndNodePortsAreUniqueReleasedAndSurviveARestart) {
  api::Service a = Svc("a", "NodePort");
  a.spec.cluster_ip = "10.96.0.50";
  a.spec.ports[0].node_port = 30005;
  ASSERT_TRUE(reg_->Create(R("", "services"), "default", a, {}).ok());
  api::Service b = Svc("b", "NodePort");
  b.spec.cluster_ip = "10.96.0.50";
  auto clash = reg_->Create(R("", "services"), "default", b, {});
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message.find("provided IP is already allocated"), std::string::npos);
  b.spec.cluster_ip.clear();
  b.spec.ports[0].node_port = 30005;
  clash = reg_->Create(R("", "services"), "default", b, {});
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.error().message.find("provided port is already allocated"), std::string::npos);
  // A failed create gave back its ClusterIP: a dry run of the same IP works.
  b.spec.ports[0].node_port = 0;
  b.spec.cluster_ip = "10.96.0.51";
  ASSERT_TRUE(reg_->Create(R("", "services"), "default", b, {true, ""}).ok());
  Sync();
  Restart();
  b.spec.cluster_ip = "10.96.0.50";
  EXPECT_FALSE(reg_->Create(R("", "services"), "default", b, {}).ok());  // still taken
  ASSERT_TRUE(reg_->Delete(R("", "services"), "default", "a", {}).ok());
  EXPECT_TRUE(reg_->Create(R("", "services"), "default", b, {}).ok());  // released
}

TEST_F(RegistryTest, StaleUpdatesConflictAndSpecChangesBumpGeneration) {
  api::Deployment d;
  d.metadata.name = "web";
  d.spec.selector.emplace().match_labels["app"] = "web";
  d.spec.template_.metadata.labels["app"] = "web";
  api::Container c;
  c.name = "web";
  c.image = "nginx";
  d.spec.template_.spec.containers.push_back(c);
  auto made = reg_->Create(R("apps", "deployments"), "default", d, {});
  ASSERT_TRUE(made.ok()) << made.error().message;
  auto cur = std::get<api::Deployment>(made->object);
  EXPECT_EQ(cur.metadata.generation, 1);
  cur.spec.replicas = 3;
  cur.status.replicas = 99;  // ignored: status changes only through /status
  auto up = reg_->Update(R("apps", "deployments"), "default", "web", cur, {});
  ASSERT_TRUE(up.ok()) << up.error().message;
  const auto& d2 = std::get<api::Deployment>(up->object);
  EXPECT_EQ(d2.metadata.generation, 2);
  EXPECT_EQ(d2.status.replicas, 0);
  auto stale = reg_->Update(R("apps", "deployments"), "default", "web", cur, {});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, 409);
  EXPECT_EQ(stale.error().reason, "Conflict");
  api::Deployment st = d2;
  st.status.replicas = 3;
  st.spec.replicas = 7;  // ignored by a status write
  auto status = reg_->Update(R("apps", "deployments"), "default", "web", st, {false, "status"});
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(std::get<api::Deployment>(status->object).status.replicas, 3);
  EXPECT_EQ(std::get<api::Deployment>(status->object).spec.replicas, 3);
}

TEST_F(RegistryTest, FinalizersHoldDeletionUntilRemoved) {
  api::Service s = Svc("held");
  s.metadata.finalizers = {"example.com/hold"};
  ASSERT_TRUE(reg_->Create(R("", "services"), "default", s, {}).ok());
  auto del = reg_->Delete(R("", "services"), "default", "held", {});
  ASSERT_TRUE(del.ok());
  ASSERT_TRUE(del->remaining.has_value());
  EXPECT_FALSE(api::MetaOf(del->remaining->object).deletion_timestamp.IsZero());
  auto done = reg_->GuaranteedUpdate(R("", "services"), "default", "held",
                                     [](api::Object& o) -> std::optional<ApiError> {
                                       api::MetaOf(o).finalizers.clear();
                                       return std::nullopt;
                                     },
                                     {});
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(reg_->Get(R("", "services"), "default", "held").error().code, 404);
}

TEST_F(RegistryTest, GarbageCollectorCascadesAndEmptiesNamespaces) {
  api::Namespace ns;
  ns.metadata.name = "team";
  ASSERT_TRUE(reg_->Create(R("", "namespaces"), "", ns, {}).ok());
  api::Service owner = Svc("owner");
  auto o = reg_->Create(R("", "services"), "team", owner, {});
  ASSERT_TRUE(o.ok());
  api::Endpoints dep;
  dep.metadata.name = "dep";
  api::OwnerReference ref;
  ref.api_version = "v1";
  ref.kind = "Service";
  ref.name = "owner";
  ref.uid = api::MetaOf(o->object).uid;
  dep.metadata.owner_references.push_back(ref);
  ASSERT_TRUE(reg_->Create(R("", "endpoints"), "team", dep, {}).ok());
  GarbageCollector gc(reg_.get(), cache_.get());
  ASSERT_TRUE(reg_->Delete(R("", "services"), "team", "owner", {}).ok());
  Sync();
  gc.RunOnce();
  EXPECT_EQ(reg_->Get(R("", "endpoints"), "team", "dep").error().code, 404);

  ASSERT_TRUE(reg_->Create(R("", "services"), "team", Svc("left"), {}).ok());
  auto del = reg_->Delete(R("", "namespaces"), "", "team", {});
  ASSERT_TRUE(del.ok());
  ASSERT_TRUE(del->remaining.has_value());
  EXPECT_EQ(std::get<api::Namespace>(del->remaining->object).status.phase, "Terminating");
  auto blocked = reg_->Create(R("", "services"), "team", Svc("new"), {});
  EXPECT_EQ(blocked.error().code, 403);
  for (int i = 0; i < 5; ++i) {
    Sync();
    gc.RunOnce();
  }
  EXPECT_EQ(reg_->Get(R("", "services"), "team", "left").error().code, 404);
  EXPECT_EQ(reg_->Get(R("", "namespaces"), "", "team").error().code, 404);
  EXPECT_EQ(reg_->Delete(R("", "namespaces"), "", "default", {}).error().code, 403);
}

}  // namespace
}  // namespace knet::apiserver
