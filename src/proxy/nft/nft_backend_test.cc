#include "proxy/nft/nft_backend.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <variant>

#include "kernel/nft/fake_nft.h"

namespace knet::proxy::nft {
namespace {

using kernel::nft::Element;
using kernel::nft::FakeNftables;
using kernel::nft::Transaction;

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

// Records every transaction, applies it to a FakeNftables.
class RecordingNft final : public kernel::nft::Nftables {
 public:
  base::Status Apply(const Transaction& tx) override {
    txs.push_back(tx);
    return fake.Apply(tx);
  }
  base::StatusOr<std::vector<kernel::nft::ListedRule>> ListRules(
      const kernel::nft::ChainRef& c) override {
    return fake.ListRules(c);
  }
  FakeNftables fake;
  std::vector<Transaction> txs;
};

std::string ElementText(const Element& e) {
  std::string out = KeyText(e);
  if (!e.data.empty()) {
    out += " : ";
    for (size_t i = 0; i < e.data.size(); ++i) {
      if (i > 0) out += " . ";
      const kernel::nft::Value& v = e.data[i];
      out +=
          v.type == kernel::nft::DataType::kIpv4Addr || v.type == kernel::nft::DataType::kIpv6Addr
              ? v.addr.ToString()
              : std::to_string(v.number);
    }
  }
  if (e.verdict) {
    static const char* kKinds[] = {"accept", "drop", "jump", "goto", "return"};
    out += std::string(" : ") + kKinds[e.verdict->kind];
    if (!e.verdict->chain.empty()) out += " " + e.verdict->chain;
  }
  return out;
}

// One line per operation (elements one per line), e.g. "+ ip services 10.96.0.10 . 6 . 80 : ...".
std::string TxText(const Transaction& tx) {
  std::string out;
  for (const kernel::nft::Operation& op : tx.ops()) {
    if (const auto* a = std::get_if<kernel::nft::AddElementsOp>(&op)) {
      for (const Element& e : a->elements) {
        out += "+ " + std::string(FamilyName(a->ref.family)) + " " + a->ref.set + " " +
               ElementText(e) + "\n";
      }
    } else if (const auto* d = std::get_if<kernel::nft::DeleteElementsOp>(&op)) {
      for (const Element& e : d->elements) {
        out += "- " + std::string(FamilyName(d->ref.family)) + " " + d->ref.set + " " +
               ElementText(e) + "\n";
      }
    } else if (const auto* r = std::get_if<kernel::nft::AddRuleOp>(&op)) {
      out += "rule " + r->ref.chain + ": " + ToString(r->rule, r->ref.family) + "\n";
    } else {
      out += kernel::nft::Describe(op) + "\n";
    }
  }
  return out;
}

ServicePortName Spn(const char* name, uint8_t proto = IPPROTO_TCP, const char* port = "") {
  return {"default", name, port, proto};
}

ServicePortInfo ClusterIP(const char* ip, uint16_t port, uint8_t proto = IPPROTO_TCP) {
  ServicePortInfo s;
  s.cluster_ips = {Ip(ip)};
  s.port = port;
  s.protocol = proto;
  return s;
}

EndpointInfo Ep(const char* ip, uint16_t port, bool local = false, bool ready = true) {
  return {.ip = Ip(ip),
          .port = port,
          .ready = ready,
          .serving = true,
          .terminating = !ready,
          .is_local = local,
          .node_name = local ? "node-1" : "node-2"};
}

class NftBackendTest : public ::testing::Test {
 protected:
  Config config_{.families = {base::IPFamily::kV4, base::IPFamily::kV6},
                 .cluster_cidrs = {Net("10.244.0.0/16"), Net("fd00:244::/48")},
                 .node_ips = {Ip("192.168.1.10"), Ip("fd00:1::10")}};
  RecordingNft nft_;
  NftBackend backend_{nft_, config_};
  ServicePortMap services_;
  EndpointsMap endpoints_;

  void SetUp() override { ASSERT_TRUE(backend_.FullSync(services_, endpoints_).ok()); }

  // Adds/changes one service port and returns the text of the incremental transaction.
  std::string Change(const ServicePortName& spn) {
    size_t before = nft_.txs.size();
    base::Status st = backend_.Sync(services_, endpoints_, {spn});
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (nft_.txs.size() == before) return "";
    return TxText(nft_.txs.back());
  }
};

TEST_F(NftBackendTest, FullSyncReplacesTablesInOneTransaction) {
  ASSERT_EQ(nft_.txs.size(), 1u);
  std::string text = TxText(nft_.txs[0]);
  // Each table: added (so the delete is valid on the first run), deleted and rebuilt atomically.
  EXPECT_EQ(text.find("adding table ip knet-proxy\ndeleting table ip knet-proxy\nadding table ip "
                      "knet-proxy\n"),
            0u)
      << text;
  EXPECT_NE(text.find("adding table ip6 knet-proxy\ndeleting table ip6 knet-proxy\n"),
            std::string::npos);
  EXPECT_EQ(nft_.fake.Dump(), R"(table ip knet-proxy {
  map endpoints {
    elements = { }
  }
  set hairpin {
    elements = { }
  }
  set masq-endpoints {
    elements = { }
  }
  map no-endpoint-nodeports {
    elements = { }
  }
  map no-endpoints {
    elements = { }
  }
  set node-ips {
    elements = { 192.168.1.10 }
  }
  map nodeport-endpoints {
    elements = { }
  }
  map nodeports {
    elements = { }
  }
  map services {
    elements = { }
  }
  chain filter-forward {
    type filter hook forward priority -5; policy accept;
    ct state new ip daddr . meta l4proto . th dport vmap @no-endpoints # handle 11
  }
  chain filter-input {
    type filter hook input priority -5; policy accept;
    ct state new ip daddr . meta l4proto . th dport vmap @no-endpoints # handle 9
    ct state new ip daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports # handle 10
  }
  chain filter-output {
    type filter hook output priority -5; policy accept;
    ct state new ip daddr . meta l4proto . th dport vmap @no-endpoints # handle 12
    ct state new ip daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports # handle 13
  }
  chain nat-output {
    type nat hook output priority -100; policy accept;
    ip daddr . meta l4proto . th dport vmap @services # handle 5
    ip daddr @node-ips meta l4proto . th dport vmap @nodeports # handle 6
  }
  chain nat-postrouting {
    type nat hook postrouting priority 100; policy accept;
    ip saddr . ip daddr . meta l4proto . th dport @hairpin masquerade comment "hairpin" # handle 7
    ip saddr != 10.244.0.0/16 ip daddr . meta l4proto . th dport @masq-endpoints masquerade comment "from outside the cluster" # handle 8
  }
  chain nat-prerouting {
    type nat hook prerouting priority -100; policy accept;
    ip daddr . meta l4proto . th dport vmap @services # handle 3
    ip daddr @node-ips meta l4proto . th dport vmap @nodeports # handle 4
  }
  chain reject {
    reject with tcp reset # handle 1
    reject # handle 2
  }
}
table ip6 knet-proxy {
  map endpoints {
    elements = { }
  }
  set hairpin {
    elements = { }
  }
  set masq-endpoints {
    elements = { }
  }
  map no-endpoint-nodeports {
    elements = { }
  }
  map no-endpoints {
    elements = { }
  }
  set node-ips {
    elements = { fd00:1::10 }
  }
  map nodeport-endpoints {
    elements = { }
  }
  map nodeports {
    elements = { }
  }
  map services {
    elements = { }
  }
  chain filter-forward {
    type filter hook forward priority -5; policy accept;
    ct state new ip6 daddr . meta l4proto . th dport vmap @no-endpoints # handle 11
  }
  chain filter-input {
    type filter hook input priority -5; policy accept;
    ct state new ip6 daddr . meta l4proto . th dport vmap @no-endpoints # handle 9
    ct state new ip6 daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports # handle 10
  }
  chain filter-output {
    type filter hook output priority -5; policy accept;
    ct state new ip6 daddr . meta l4proto . th dport vmap @no-endpoints # handle 12
    ct state new ip6 daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports # handle 13
  }
  chain nat-output {
    type nat hook output priority -100; policy accept;
    ip6 daddr . meta l4proto . th dport vmap @services # handle 5
    ip6 daddr @node-ips meta l4proto . th dport vmap @nodeports # handle 6
  }
  chain nat-postrouting {
    type nat hook postrouting priority 100; policy accept;
    ip6 saddr . ip6 daddr . meta l4proto . th dport @hairpin masquerade comment "hairpin" # handle 7
    ip6 saddr != fd00:244::/48 ip6 daddr . meta l4proto . th dport @masq-endpoints masquerade comment "from outside the cluster" # handle 8
  }
  chain nat-prerouting {
    type nat hook prerouting priority -100; policy accept;
    ip6 daddr . meta l4proto . th dport vmap @services # handle 3
    ip6 daddr @node-ips meta l4proto . th dport vmap @nodeports # handle 4
  }
  chain reject {
    reject with tcp reset # handle 1
    reject # handle 2
  }
}
)");
}

TEST_F(NftBackendTest, ClusterIP) {
  services_[Spn("web")] = ClusterIP("10.96.0.10", 80);
  endpoints_[Spn("web")] = {Ep("10.244.1.5", 8080, true), Ep("10.244.2.5", 8080)};
  EXPECT_EQ(Change(Spn("web")), R"(adding chain ip knet-proxy pick-2
rule pick-2: dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @endpoints
+ ip endpoints 10.96.0.10 . 6 . 80 . 0 : 10.244.1.5 . 8080
+ ip endpoints 10.96.0.10 . 6 . 80 . 1 : 10.244.2.5 . 8080
+ ip hairpin 10.244.1.5 . 10.244.1.5 . 6 . 8080
+ ip masq-endpoints 10.244.1.5 . 6 . 8080
+ ip masq-endpoints 10.244.2.5 . 6 . 8080
+ ip services 10.96.0.10 . 6 . 80 : goto pick-2
)");
}

TEST_F(NftBackendTest, NodePort) {
  ServicePortInfo s = ClusterIP("10.96.0.11", 80);
  s.node_port = 30080;
  services_[Spn("np")] = s;
  endpoints_[Spn("np")] = {Ep("10.244.2.6", 8080)};
  EXPECT_EQ(Change(Spn("np")), R"(adding chain ip knet-proxy pick-1
rule pick-1: dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
adding chain ip knet-proxy nodeport-pick-1
rule nodeport-pick-1: dnat ip to meta l4proto . th dport . numgen random mod 1 map @nodeport-endpoints
+ ip endpoints 10.96.0.11 . 6 . 80 . 0 : 10.244.2.6 . 8080
+ ip masq-endpoints 10.244.2.6 . 6 . 8080
+ ip nodeport-endpoints 6 . 30080 . 0 : 10.244.2.6 . 8080
+ ip nodeports 6 . 30080 : goto nodeport-pick-1
+ ip services 10.96.0.11 . 6 . 80 : goto pick-1
)");
}

TEST_F(NftBackendTest, NoEndpointsRejectsThenEndpointsReplaceTheReject) {
  ServicePortInfo s = ClusterIP("10.96.0.12", 80);
  s.node_port = 30081;
  services_[Spn("empty")] = s;
  EXPECT_EQ(Change(Spn("empty")), R"(+ ip no-endpoint-nodeports 6 . 30081 : goto reject
+ ip no-endpoints 10.96.0.12 . 6 . 80 : goto reject
)");
  // Not ready endpoints are not usable either.
  endpoints_[Spn("empty")] = {{.ip = Ip("10.244.2.7"), .port = 8080}};
  EXPECT_EQ(Change(Spn("empty")), "");
  endpoints_[Spn("empty")] = {Ep("10.244.2.7", 8080)};
  EXPECT_EQ(Change(Spn("empty")), R"(adding chain ip knet-proxy pick-1
rule pick-1: dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
adding chain ip knet-proxy nodeport-pick-1
rule nodeport-pick-1: dnat ip to meta l4proto . th dport . numgen random mod 1 map @nodeport-endpoints
- ip no-endpoint-nodeports 6 . 30081 : goto reject
- ip no-endpoints 10.96.0.12 . 6 . 80 : goto reject
+ ip endpoints 10.96.0.12 . 6 . 80 . 0 : 10.244.2.7 . 8080
+ ip masq-endpoints 10.244.2.7 . 6 . 8080
+ ip nodeport-endpoints 6 . 30081 . 0 : 10.244.2.7 . 8080
+ ip nodeports 6 . 30081 : goto nodeport-pick-1
+ ip services 10.96.0.12 . 6 . 80 : goto pick-1
)");
}

TEST_F(NftBackendTest, TerminatingEndpointsOnlyWhenNoneIsReady) {
  services_[Spn("t")] = ClusterIP("10.96.0.13", 80);
  endpoints_[Spn("t")] = {Ep("10.244.2.8", 8080, false, /*ready=*/false)};
  EXPECT_EQ(Change(Spn("t")), R"(adding chain ip knet-proxy pick-1
rule pick-1: dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
+ ip endpoints 10.96.0.13 . 6 . 80 . 0 : 10.244.2.8 . 8080
+ ip masq-endpoints 10.244.2.8 . 6 . 8080
+ ip services 10.96.0.13 . 6 . 80 : goto pick-1
)");
  endpoints_[Spn("t")].push_back(Ep("10.244.2.9", 8080));
  EXPECT_EQ(Change(Spn("t")), R"(- ip endpoints 10.96.0.13 . 6 . 80 . 0 : 10.244.2.8 . 8080
- ip masq-endpoints 10.244.2.8 . 6 . 8080
+ ip endpoints 10.96.0.13 . 6 . 80 . 0 : 10.244.2.9 . 8080
+ ip masq-endpoints 10.244.2.9 . 6 . 8080
)");
}

TEST_F(NftBackendTest, SessionAffinityGetsPerServiceChainsAndAffinitySets) {
  // sessionAffinity ClientIP: its own chains and one dynamic set per endpoint (kube-proxy's
  // nftables mode); the shared maps only send the destination to the service chain.
  ServicePortInfo s = ClusterIP("10.96.0.15", 80);
  s.session_affinity_seconds = 600;
  services_[Spn("sticky")] = s;
  endpoints_[Spn("sticky")] = {Ep("10.244.1.10", 8080, true), Ep("10.244.2.10", 8080)};
  EXPECT_EQ(Change(Spn("sticky")),
            R"(adding set ip knet-proxy affinity-default/sticky/tcp-10.244.1.10:8080
adding set ip knet-proxy affinity-default/sticky/tcp-10.244.2.10:8080
adding chain ip knet-proxy endpoint-default/sticky/tcp-10.244.1.10:8080
adding chain ip knet-proxy endpoint-default/sticky/tcp-10.244.2.10:8080
adding chain ip knet-proxy service-default/sticky/tcp
rule endpoint-default/sticky/tcp-10.244.1.10:8080: update @affinity-default/sticky/tcp-10.244.1.10:8080 { ip saddr } dnat ip to 10.244.1.10:8080
rule endpoint-default/sticky/tcp-10.244.2.10:8080: update @affinity-default/sticky/tcp-10.244.2.10:8080 { ip saddr } dnat ip to 10.244.2.10:8080
rule service-default/sticky/tcp: ip saddr @affinity-default/sticky/tcp-10.244.1.10:8080 goto endpoint-default/sticky/tcp-10.244.1.10:8080
rule service-default/sticky/tcp: ip saddr @affinity-default/sticky/tcp-10.244.2.10:8080 goto endpoint-default/sticky/tcp-10.244.2.10:8080
rule service-default/sticky/tcp: numgen random mod 2 0 goto endpoint-default/sticky/tcp-10.244.1.10:8080
rule service-default/sticky/tcp: goto endpoint-default/sticky/tcp-10.244.2.10:8080
+ ip hairpin 10.244.1.10 . 10.244.1.10 . 6 . 8080
+ ip masq-endpoints 10.244.1.10 . 6 . 8080
+ ip masq-endpoints 10.244.2.10 . 6 . 8080
+ ip services 10.96.0.15 . 6 . 80 : goto service-default/sticky/tcp
)");

  // An endpoint goes away: the pick chain is refilled, the endpoint's chain and set deleted; the
  // other endpoint's set (its clients) stays.
  endpoints_[Spn("sticky")] = {Ep("10.244.1.10", 8080, true)};
  EXPECT_EQ(Change(Spn("sticky")), R"(flushing chain ip knet-proxy service-default/sticky/tcp
rule service-default/sticky/tcp: ip saddr @affinity-default/sticky/tcp-10.244.1.10:8080 goto endpoint-default/sticky/tcp-10.244.1.10:8080
rule service-default/sticky/tcp: goto endpoint-default/sticky/tcp-10.244.1.10:8080
- ip masq-endpoints 10.244.2.10 . 6 . 8080
flushing chain ip knet-proxy endpoint-default/sticky/tcp-10.244.2.10:8080
deleting chain ip knet-proxy endpoint-default/sticky/tcp-10.244.2.10:8080
deleting set ip knet-proxy affinity-default/sticky/tcp-10.244.2.10:8080
)");

  // The service goes away: everything of it is deleted.
  services_.erase(Spn("sticky"));
  EXPECT_EQ(Change(Spn("sticky")), R"(- ip hairpin 10.244.1.10 . 10.244.1.10 . 6 . 8080
- ip masq-endpoints 10.244.1.10 . 6 . 8080
- ip services 10.96.0.15 . 6 . 80 : goto service-default/sticky/tcp
flushing chain ip knet-proxy endpoint-default/sticky/tcp-10.244.1.10:8080
flushing chain ip knet-proxy service-default/sticky/tcp
deleting chain ip knet-proxy endpoint-default/sticky/tcp-10.244.1.10:8080
deleting chain ip knet-proxy service-default/sticky/tcp
deleting set ip knet-proxy affinity-default/sticky/tcp-10.244.1.10:8080
)");
  EXPECT_EQ(nft_.fake.Dump().find("sticky"), std::string::npos) << nft_.fake.Dump();
}

TEST_F(NftBackendTest, SessionAffinityTimeoutChangeResyncsAndLocalPolicyGetsItsOwnChain) {
  ServicePortInfo s = ClusterIP("10.96.0.15", 80);
  s.session_affinity_seconds = 600;
  s.node_port = 30080;
  s.external_policy_local = true;
  services_[Spn("sticky")] = s;
  endpoints_[Spn("sticky")] = {Ep("10.244.1.10", 8080, true), Ep("10.244.2.10", 8080)};
  EXPECT_EQ(Change(Spn("sticky")),
            R"(adding set ip knet-proxy affinity-default/sticky/tcp-10.244.1.10:8080
adding set ip knet-proxy affinity-default/sticky/tcp-10.244.2.10:8080
adding chain ip knet-proxy endpoint-default/sticky/tcp-10.244.1.10:8080
adding chain ip knet-proxy endpoint-default/sticky/tcp-10.244.2.10:8080
adding chain ip knet-proxy external-default/sticky/tcp
adding chain ip knet-proxy service-default/sticky/tcp
rule endpoint-default/sticky/tcp-10.244.1.10:8080: update @affinity-default/sticky/tcp-10.244.1.10:8080 { ip saddr } dnat ip to 10.244.1.10:8080
rule endpoint-default/sticky/tcp-10.244.2.10:8080: update @affinity-default/sticky/tcp-10.244.2.10:8080 { ip saddr } dnat ip to 10.244.2.10:8080
rule external-default/sticky/tcp: ip saddr @affinity-default/sticky/tcp-10.244.1.10:8080 goto endpoint-default/sticky/tcp-10.244.1.10:8080
rule external-default/sticky/tcp: goto endpoint-default/sticky/tcp-10.244.1.10:8080
rule service-default/sticky/tcp: ip saddr @affinity-default/sticky/tcp-10.244.1.10:8080 goto endpoint-default/sticky/tcp-10.244.1.10:8080
rule service-default/sticky/tcp: ip saddr @affinity-default/sticky/tcp-10.244.2.10:8080 goto endpoint-default/sticky/tcp-10.244.2.10:8080
rule service-default/sticky/tcp: numgen random mod 2 0 goto endpoint-default/sticky/tcp-10.244.1.10:8080
rule service-default/sticky/tcp: goto endpoint-default/sticky/tcp-10.244.2.10:8080
+ ip hairpin 10.244.1.10 . 10.244.1.10 . 6 . 8080
+ ip nodeports 6 . 30080 : goto external-default/sticky/tcp
+ ip services 10.96.0.15 . 6 . 80 : goto service-default/sticky/tcp
)");
  // A new timeout cannot be set on a live set: the backend rebuilds the table.
  int full = backend_.stats().full_syncs;
  services_[Spn("sticky")].session_affinity_seconds = 60;
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {Spn("sticky")}).ok());
  EXPECT_EQ(backend_.stats().full_syncs, full + 1);
  EXPECT_NE(nft_.fake.Dump().find("timeout 60s"), std::string::npos) << nft_.fake.Dump();
}

TEST_F(NftBackendTest, ExternalTrafficPolicyLocalWithLoadBalancerSourceRanges) {
  ServicePortInfo s = ClusterIP("10.96.0.16", 443);
  s.node_port = 30443;
  s.load_balancer_ips = {Ip("192.0.2.100")};
  s.external_ips = {Ip("192.0.2.7")};
  s.load_balancer_source_ranges = {Net("198.51.100.0/24"), Net("fd00:aa::/64")};
  s.external_policy_local = true;
  s.health_check_node_port = 32000;
  services_[Spn("lb")] = s;
  endpoints_[Spn("lb")] = {Ep("10.244.1.20", 8443, true), Ep("10.244.2.20", 8443)};
  EXPECT_EQ(Change(Spn("lb")), R"(adding chain ip knet-proxy pick-1
rule pick-1: dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
adding chain ip knet-proxy pick-2
rule pick-2: dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @endpoints
adding chain ip knet-proxy nodeport-pick-1
rule nodeport-pick-1: dnat ip to meta l4proto . th dport . numgen random mod 1 map @nodeport-endpoints
adding chain ip knet-proxy firewall-default/lb/tcp
rule firewall-default/lb/tcp: ip saddr 198.51.100.0/24 goto pick-1
rule firewall-default/lb/tcp: drop comment "not in loadBalancerSourceRanges"
+ ip endpoints 10.96.0.16 . 6 . 443 . 0 : 10.244.1.20 . 8443
+ ip endpoints 10.96.0.16 . 6 . 443 . 1 : 10.244.2.20 . 8443
+ ip endpoints 192.0.2.7 . 6 . 443 . 0 : 10.244.1.20 . 8443
+ ip endpoints 192.0.2.100 . 6 . 443 . 0 : 10.244.1.20 . 8443
+ ip hairpin 10.244.1.20 . 10.244.1.20 . 6 . 8443
+ ip nodeport-endpoints 6 . 30443 . 0 : 10.244.1.20 . 8443
+ ip nodeports 6 . 30443 : goto nodeport-pick-1
+ ip services 10.96.0.16 . 6 . 443 : goto pick-2
+ ip services 192.0.2.7 . 6 . 443 : goto pick-1
+ ip services 192.0.2.100 . 6 . 443 : goto firewall-default/lb/tcp
)");
  // The local endpoint goes away: external traffic is dropped, cluster traffic still served.
  endpoints_[Spn("lb")] = {Ep("10.244.2.20", 8443)};
  EXPECT_EQ(Change(Spn("lb")), R"(- ip endpoints 10.96.0.16 . 6 . 443 . 0 : 10.244.1.20 . 8443
- ip endpoints 10.96.0.16 . 6 . 443 . 1 : 10.244.2.20 . 8443
- ip endpoints 192.0.2.7 . 6 . 443 . 0 : 10.244.1.20 . 8443
- ip endpoints 192.0.2.100 . 6 . 443 . 0 : 10.244.1.20 . 8443
- ip hairpin 10.244.1.20 . 10.244.1.20 . 6 . 8443
- ip nodeport-endpoints 6 . 30443 . 0 : 10.244.1.20 . 8443
- ip nodeports 6 . 30443 : goto nodeport-pick-1
- ip services 10.96.0.16 . 6 . 443 : goto pick-2
- ip services 192.0.2.7 . 6 . 443 : goto pick-1
- ip services 192.0.2.100 . 6 . 443 : goto firewall-default/lb/tcp
+ ip endpoints 10.96.0.16 . 6 . 443 . 0 : 10.244.2.20 . 8443
+ ip nodeports 6 . 30443 : drop
+ ip services 10.96.0.16 . 6 . 443 : goto pick-1
+ ip services 192.0.2.7 . 6 . 443 : drop
+ ip services 192.0.2.100 . 6 . 443 : drop
flushing chain ip knet-proxy firewall-default/lb/tcp
deleting chain ip knet-proxy firewall-default/lb/tcp
)");
}

TEST_F(NftBackendTest, InternalTrafficPolicyLocal) {
  ServicePortInfo s = ClusterIP("10.96.0.17", 80);
  s.internal_policy_local = true;
  services_[Spn("itp")] = s;
  endpoints_[Spn("itp")] = {Ep("10.244.1.30", 8080, true), Ep("10.244.2.30", 8080)};
  EXPECT_EQ(Change(Spn("itp")), R"(adding chain ip knet-proxy pick-1
rule pick-1: dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
+ ip endpoints 10.96.0.17 . 6 . 80 . 0 : 10.244.1.30 . 8080
+ ip hairpin 10.244.1.30 . 10.244.1.30 . 6 . 8080
+ ip masq-endpoints 10.244.1.30 . 6 . 8080
+ ip services 10.96.0.17 . 6 . 80 : goto pick-1
)");
  endpoints_[Spn("itp")] = {Ep("10.244.2.30", 8080)};
  EXPECT_EQ(Change(Spn("itp")), R"(- ip endpoints 10.96.0.17 . 6 . 80 . 0 : 10.244.1.30 . 8080
- ip hairpin 10.244.1.30 . 10.244.1.30 . 6 . 8080
- ip masq-endpoints 10.244.1.30 . 6 . 8080
- ip services 10.96.0.17 . 6 . 80 : goto pick-1
+ ip services 10.96.0.17 . 6 . 80 : drop
)");
}

TEST_F(NftBackendTest, TcpAndUdpPortsAndIPv6) {
  ServicePortInfo tcp;
  tcp.cluster_ips = {Ip("10.96.0.10"), Ip("fd00:96::10")};
  tcp.port = 53;
  tcp.protocol = IPPROTO_TCP;
  ServicePortInfo udp = tcp;
  udp.protocol = IPPROTO_UDP;
  services_[Spn("dns", IPPROTO_TCP, "dns-tcp")] = tcp;
  services_[Spn("dns", IPPROTO_UDP, "dns")] = udp;
  std::vector<EndpointInfo> eps = {Ep("10.244.1.2", 53, true), Ep("fd00:244:0:1::2", 53, true)};
  endpoints_[Spn("dns", IPPROTO_TCP, "dns-tcp")] = eps;
  endpoints_[Spn("dns", IPPROTO_UDP, "dns")] = eps;
  ASSERT_TRUE(backend_
                  .Sync(services_, endpoints_,
                        {Spn("dns", IPPROTO_TCP, "dns-tcp"), Spn("dns", IPPROTO_UDP, "dns")})
                  .ok());
  EXPECT_EQ(TxText(nft_.txs.back()), R"(adding chain ip knet-proxy pick-1
rule pick-1: dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
adding chain ip6 knet-proxy pick-1
rule pick-1: dnat ip6 to ip6 daddr . meta l4proto . th dport . numgen random mod 1 map @endpoints
+ ip endpoints 10.96.0.10 . 17 . 53 . 0 : 10.244.1.2 . 53
+ ip endpoints 10.96.0.10 . 6 . 53 . 0 : 10.244.1.2 . 53
+ ip hairpin 10.244.1.2 . 10.244.1.2 . 17 . 53
+ ip hairpin 10.244.1.2 . 10.244.1.2 . 6 . 53
+ ip masq-endpoints 10.244.1.2 . 17 . 53
+ ip masq-endpoints 10.244.1.2 . 6 . 53
+ ip services 10.96.0.10 . 17 . 53 : goto pick-1
+ ip services 10.96.0.10 . 6 . 53 : goto pick-1
+ ip6 endpoints fd00:96::10 . 17 . 53 . 0 : fd00:244:0:1::2 . 53
+ ip6 endpoints fd00:96::10 . 6 . 53 . 0 : fd00:244:0:1::2 . 53
+ ip6 hairpin fd00:244:0:1::2 . fd00:244:0:1::2 . 17 . 53
+ ip6 hairpin fd00:244:0:1::2 . fd00:244:0:1::2 . 6 . 53
+ ip6 masq-endpoints fd00:244:0:1::2 . 17 . 53
+ ip6 masq-endpoints fd00:244:0:1::2 . 6 . 53
+ ip6 services fd00:96::10 . 17 . 53 : goto pick-1
+ ip6 services fd00:96::10 . 6 . 53 : goto pick-1
)");
}

TEST_F(NftBackendTest, IncrementalSyncTouchesOnlyTheChangedService) {
  for (int i = 0; i < 50; ++i) {
    std::string name = "svc" + std::to_string(i);
    std::string vip = "10.96.1." + std::to_string(i);
    services_[Spn(name.c_str())] = ClusterIP(vip.c_str(), 80);
    for (int j = 0; j < 3; ++j) {
      std::string ep = "10.244." + std::to_string(j) + "." + std::to_string(i);
      endpoints_[Spn(name.c_str())].push_back(Ep(ep.c_str(), 8080));
    }
  }
  ASSERT_TRUE(backend_.FullSync(services_, endpoints_).ok());
  EXPECT_EQ(backend_.stats().elements, 50u * (1 + 3 + 3));  // services, endpoints, masq
  // One endpoint of svc7 replaced.
  endpoints_[Spn("svc7")][2] = Ep("10.244.9.7", 8080);
  EXPECT_EQ(Change(Spn("svc7")), R"(- ip endpoints 10.96.1.7 . 6 . 80 . 2 : 10.244.2.7 . 8080
- ip masq-endpoints 10.244.2.7 . 6 . 8080
+ ip endpoints 10.96.1.7 . 6 . 80 . 2 : 10.244.9.7 . 8080
+ ip masq-endpoints 10.244.9.7 . 6 . 8080
)");
  // svc8 removed.
  services_.erase(Spn("svc8"));
  endpoints_.erase(Spn("svc8"));
  EXPECT_EQ(Change(Spn("svc8")), R"(- ip endpoints 10.96.1.8 . 6 . 80 . 0 : 10.244.0.8 . 8080
- ip endpoints 10.96.1.8 . 6 . 80 . 1 : 10.244.1.8 . 8080
- ip endpoints 10.96.1.8 . 6 . 80 . 2 : 10.244.2.8 . 8080
- ip masq-endpoints 10.244.0.8 . 6 . 8080
- ip masq-endpoints 10.244.1.8 . 6 . 8080
- ip masq-endpoints 10.244.2.8 . 6 . 8080
- ip services 10.96.1.8 . 6 . 80 : goto pick-3
)");
  EXPECT_EQ(backend_.stats().partial_syncs, 2);
  EXPECT_EQ(backend_.stats().full_syncs, 2);
  // The incremental state equals a fresh full sync of the same maps.
  RecordingNft fresh;
  NftBackend other(fresh, config_);
  ASSERT_TRUE(other.FullSync(services_, endpoints_).ok());
  EXPECT_EQ(fresh.fake.Dump(), nft_.fake.Dump());
}

TEST_F(NftBackendTest, SharedEndpointStaysWhileAnotherServiceUsesIt) {
  services_[Spn("a")] = ClusterIP("10.96.0.20", 80);
  services_[Spn("b")] = ClusterIP("10.96.0.21", 80);
  endpoints_[Spn("a")] = endpoints_[Spn("b")] = {Ep("10.244.1.40", 8080, true)};
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {Spn("a"), Spn("b")}).ok());
  services_.erase(Spn("a"));
  std::string text = Change(Spn("a"));
  EXPECT_EQ(text.find("hairpin"), std::string::npos) << text;
  EXPECT_EQ(text.find("masq-endpoints"), std::string::npos) << text;
  services_.erase(Spn("b"));
  text = Change(Spn("b"));
  EXPECT_NE(text.find("- ip hairpin 10.244.1.40 . 10.244.1.40 . 6 . 8080"), std::string::npos)
      << text;
}

TEST_F(NftBackendTest, FullResyncRepairsDrift) {
  services_[Spn("web")] = ClusterIP("10.96.0.10", 80);
  endpoints_[Spn("web")] = {Ep("10.244.1.5", 8080, true), Ep("10.244.2.5", 8080)};
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {Spn("web")}).ok());
  const std::string good = nft_.fake.Dump();
  // Someone deletes an endpoint element and adds a rule of their own to our chain.
  Transaction vandal;
  vandal.DeleteElements(
      kernel::nft::Family::kIp, kTable, kEndpointsMap,
      {{.key = {kernel::nft::Value::Addr(Ip("10.96.0.10")), kernel::nft::Value::Proto(IPPROTO_TCP),
                kernel::nft::Value::Port(80), kernel::nft::Value::Integer(1)}}});
  vandal.AddRule(kernel::nft::Family::kIp, kTable, kNatPreroutingChain,
                 {.exprs = {kernel::nft::Verdict{kernel::nft::Verdict::kAccept, ""}}});
  ASSERT_TRUE(nft_.fake.Apply(vandal).ok());
  ASSERT_NE(nft_.fake.Dump(), good);
  ASSERT_TRUE(backend_.FullSync(services_, endpoints_).ok());
  // Handles are never reused, so compare without them.
  auto strip = [](std::string s) {
    std::string out;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t nl = s.find('\n', pos);
      std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      size_t h = line.find(" # handle");
      out += line.substr(0, h) + "\n";
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    return out;
  };
  EXPECT_EQ(strip(nft_.fake.Dump()), strip(good));
}

TEST_F(NftBackendTest, FailedSyncMakesTheNextOneFull) {
  services_[Spn("web")] = ClusterIP("10.96.0.10", 80);
  endpoints_[Spn("web")] = {Ep("10.244.1.5", 8080)};
  nft_.fake.FailNext("elements to set ip knet-proxy endpoints", ENOMEM);
  base::Status st = backend_.Sync(services_, endpoints_, {Spn("web")});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("proxy sync of 1 changed service ports"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(backend_.stats().failed_syncs, 1);
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {}).ok());
  EXPECT_EQ(backend_.stats().full_syncs, 2);
  EXPECT_NE(nft_.fake.Dump().find("10.96.0.10"), std::string::npos);
}

}  // namespace
}  // namespace knet::proxy::nft
