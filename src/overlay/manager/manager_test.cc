#include "overlay/manager/manager.h"

#include <future>
#include <mutex>

#include "controllers/internal/test_env.h"
#include "gtest/gtest.h"
#include "kernel/nft/fake_nft.h"

namespace knet::overlay {
namespace {

// Records what the Manager asks of a backend.
class FakeBackend final : public Backend {
 public:
  std::string Name() const override { return "fake"; }
  base::StatusOr<std::map<std::string, std::string>> Init(const NodeInfo& self) override {
    std::lock_guard<std::mutex> l(mu_);
    inits_.push_back(self);
    return std::map<std::string, std::string>{{"knet.io/vtep-mac", mac_},
                                              {"knet.io/backend-type", "fake"}};
  }
  base::Status Sync(const std::vector<NodeInfo>& others) override {
    std::lock_guard<std::mutex> l(mu_);
    calls_.push_back(others);
    if (failures_ > 0) {
      --failures_;
      return base::UnavailableError("node n2: injected failure");
    }
    last_ok_ = others;
    return base::OkStatus();
  }
  uint32_t PodMtu() const override { return 1450; }
  base::Status Teardown() override { return base::OkStatus(); }

  void FailNext(int n) {
    std::lock_guard<std::mutex> l(mu_);
    failures_ = n;
  }
  std::vector<NodeInfo> inits() {
    std::lock_guard<std::mutex> l(mu_);
    return inits_;
  }
  std::vector<std::vector<NodeInfo>> calls() {
    std::lock_guard<std::mutex> l(mu_);
    return calls_;
  }
  // Names (and podCIDRs) the last successful Sync got: "n2=10.244.2.0/24,n3=...".
  std::string LastOk() {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (const NodeInfo& n : last_ok_) {
      out += (out.empty() ? "" : ",") + n.name + "=" +
             (n.pod_cidrs.empty() ? std::string("-") : n.pod_cidrs[0]);
      auto it = n.annotations.find("knet.io/vtep-mac");
      if (it != n.annotations.end()) out += "/" + it->second;
    }
    return out;
  }

  std::string mac_ = "aa:bb:cc:00:00:01";

 private:
  std::mutex mu_;
  std::vector<NodeInfo> inits_;
  std::vector<std::vector<NodeInfo>> calls_;
  std::vector<NodeInfo> last_ok_;
  int failures_ = 0;
};

class OverlayManagerTest : public controllers::testing::ControllerTest {
 protected:
  ManagerOptions Options() {
    return {.client = client_.get(),
            .node_name = "n1",
            .backend = &backend_,
            .debounce = std::chrono::milliseconds(20),
            .min_backoff = std::chrono::milliseconds(20),
            .max_backoff = std::chrono::milliseconds(100),
            .start_timeout = std::chrono::seconds(10)};
  }
  void SetPodCidr(const std::string& node, const std::string& cidr) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto n = client_->Get<api::Node>("", node);
      ASSERT_TRUE(n.ok()) << n.status().ToString();
      n->spec.pod_cidr = cidr;
      n->spec.pod_cidrs = {cidr};
      auto u = client_->Update(*n);
      if (u.ok()) return;
      ASSERT_TRUE(client::IsConflict(u.status())) << u.status().ToString();
    }
    FAIL() << "could not set the podCIDR of " << node;
  }
  void Annotate(const std::string& node, const std::string& key, const std::string& value) {
    auto p = client_->Patch<api::Node>(
        "", node, client::PatchType::kMerge,
        R"({"metadata":{"annotations":{")" + key + R"(":")" + value + R"("}}})");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
  }
  std::string Annotation(const std::string& node, const std::string& key) {
    auto n = client_->Get<api::Node>("", node);
    if (!n.ok()) return "";
    auto it = n->metadata.annotations.find(key);
    return it == n->metadata.annotations.end() ? "" : it->second;
  }

  FakeBackend backend_;
};

TEST_F(OverlayManagerTest, WaitsForPodCidrThenInitsPublishesAndSyncs) {
  CreateNode("n1");
  Manager manager(Options());
  auto started = std::async(std::launch::async, [&] { return manager.Start(); });
  // No podCIDR yet: Start keeps waiting.
  EXPECT_EQ(started.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  EXPECT_TRUE(backend_.inits().empty());
  EXPECT_EQ(manager.PodMtu(), 0u);
  SetPodCidr("n1", "10.244.1.0/24");
  ASSERT_TRUE(started.get().ok());
  ASSERT_EQ(backend_.inits().size(), 1u);
  EXPECT_EQ(backend_.inits()[0].pod_cidrs, std::vector<std::string>{"10.244.1.0/24"});
  EXPECT_EQ(backend_.inits()[0].internal_ips, std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(manager.PodMtu(), 1450u);
  EXPECT_TRUE(Eventually([&] { return Annotation("n1", "knet.io/vtep-mac") == backend_.mac_; }));
  EXPECT_EQ(Annotation("n1", "knet.io/backend-type"), "fake");
  // The first Sync: no other node.
  EXPECT_TRUE(Eventually([&] { return manager.syncs() == 1; }));
  EXPECT_TRUE(backend_.calls().at(0).empty());

  // A node joins (without a podCIDR first: the backend sees it and skips it).
  CreateNode("n2");
  EXPECT_TRUE(Eventually([&] { return backend_.LastOk() == "n2=-"; })) << backend_.LastOk();
  SetPodCidr("n2", "10.244.2.0/24");
  EXPECT_TRUE(Eventually([&] { return backend_.LastOk() == "n2=10.244.2.0/24"; }))
      << backend_.LastOk();
  Annotate("n2", "knet.io/vtep-mac", "aa:00:00:00:00:02");
  EXPECT_TRUE(Eventually([&] { return backend_.LastOk() == "n2=10.244.2.0/24/aa:00:00:00:00:02"; }))
      << backend_.LastOk();
  CreateNode("n3");
  SetPodCidr("n3", "10.244.3.0/24");
  EXPECT_TRUE(Eventually([&] {
    return backend_.LastOk() == "n2=10.244.2.0/24/aa:00:00:00:00:02,n3=10.244.3.0/24";
  })) << backend_.LastOk();
  // A heartbeat (a condition's time) changes nothing the backend sees: no Sync for it.
  const int before = manager.syncs();
  {
    auto n3 = client_->Get<api::Node>("", "n3");
    ASSERT_TRUE(n3.ok());
    n3->status.conditions[0].message = "heartbeat";
    ASSERT_TRUE(client_->UpdateStatus(*n3).ok());
  }
  // ...but the deletion after it does (exactly one more Sync in all).
  ASSERT_TRUE(client_->Delete<api::Node>("", "n2").ok());
  EXPECT_TRUE(Eventually([&] { return backend_.LastOk() == "n3=10.244.3.0/24"; }))
      << backend_.LastOk();
  EXPECT_EQ(manager.syncs(), before + 1);
  // Self is never in the list.
  for (const auto& call : backend_.calls()) {
    for (const NodeInfo& n : call) EXPECT_NE(n.name, "n1");
  }
  manager.Stop();
  // Stop leaves the annotations (and the kernel) alone.
  EXPECT_EQ(Annotation("n1", "knet.io/vtep-mac"), backend_.mac_);
}

TEST_F(OverlayManagerTest, FailedSyncIsRetriedWithBackoff) {
  CreateNode("n1");
  SetPodCidr("n1", "10.244.1.0/24");
  CreateNode("n2");
  SetPodCidr("n2", "10.244.2.0/24");
  backend_.FailNext(3);
  Manager manager(Options());
  ASSERT_TRUE(manager.Start().ok());
  EXPECT_TRUE(Eventually([&] { return manager.syncs() == 1; }));
  auto calls = backend_.calls();
  ASSERT_EQ(calls.size(), 4u);  // three failures, then success with the same list
  for (const auto& c : calls) {
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].name, "n2");
  }
  EXPECT_EQ(backend_.LastOk(), "n2=10.244.2.0/24");
}

TEST_F(OverlayManagerTest, RepublishesLostAnnotationsAndReinitsOnChange) {
  CreateNode("n1");
  SetPodCidr("n1", "10.244.1.0/24");
  Manager manager(Options());
  ASSERT_TRUE(manager.Start().ok());
  EXPECT_TRUE(Eventually([&] { return Annotation("n1", "knet.io/vtep-mac") == backend_.mac_; }));
  // Someone removes the annotation: published again.
  {
    auto p = client_->Patch<api::Node>("", "n1", client::PatchType::kMerge,
                                       R"({"metadata":{"annotations":{"knet.io/vtep-mac":null}}})");
    ASSERT_TRUE(p.ok()) << p.status().ToString();
  }
  EXPECT_TRUE(Eventually([&] { return Annotation("n1", "knet.io/vtep-mac") == backend_.mac_; }));
  // The node's InternalIP changes: Init runs again with it.
  {
    auto n = client_->Get<api::Node>("", "n1");
    ASSERT_TRUE(n.ok());
    n->status.addresses = {{"InternalIP", "192.0.2.77"}};
    ASSERT_TRUE(client_->UpdateStatus(*n).ok());
  }
  EXPECT_TRUE(Eventually([&] {
    auto inits = backend_.inits();
    return inits.size() == 2 && inits[1].internal_ips == std::vector<std::string>{"192.0.2.77"};
  }));
  // The Node is deleted and registered again (without annotations): they are published again.
  ASSERT_TRUE(client_->Delete<api::Node>("", "n1").ok());
  CreateNode("n1");
  EXPECT_TRUE(Eventually([&] { return Annotation("n1", "knet.io/vtep-mac") == backend_.mac_; }));
}

TEST_F(OverlayManagerTest, MasqueradeTableApplied) {
  CreateNode("n1");
  SetPodCidr("n1", "10.244.1.0/24");
  kernel::nft::FakeNftables nft;
  masq::Masq masq(&nft);
  ManagerOptions o = Options();
  o.cluster_cidrs = {*base::Cidr::Parse("10.244.0.0/16")};
  o.masq = &masq;
  Manager manager(o);
  ASSERT_TRUE(manager.Start().ok());
  EXPECT_TRUE(Eventually([&] { return nft.Dump().find("masquerade") != std::string::npos; }))
      << nft.Dump();
  EXPECT_NE(nft.Dump().find("ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16"), std::string::npos);
}

TEST_F(OverlayManagerTest, StartTimesOutOrIsCancelled) {
  CreateNode("n1");  // never gets a podCIDR
  ManagerOptions o = Options();
  o.start_timeout = std::chrono::milliseconds(300);
  Manager timed(o);
  auto s = timed.Start();
  EXPECT_EQ(s.code(), base::StatusCode::kDeadlineExceeded) << s.ToString();
  EXPECT_NE(s.message().find("node n1"), std::string::npos) << s.message();

  o.start_timeout = std::chrono::milliseconds(0);
  Manager waiting(o);
  auto started = std::async(std::launch::async, [&] { return waiting.Start(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  waiting.Stop();
  EXPECT_EQ(started.get().code(), base::StatusCode::kCancelled);
  EXPECT_TRUE(backend_.inits().empty());

  Manager bad(ManagerOptions{});
  EXPECT_EQ(bad.Start().code(), base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace knet::overlay
