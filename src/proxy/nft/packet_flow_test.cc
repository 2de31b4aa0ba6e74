// Packet-flow tests (as kube-proxy's runPacketFlowTests): a small interpreter evaluates a packet
// against the ruleset NftBackend programmed (rebuilt from the transactions it applied to a
// FakeNftables) through the hooks a real packet crosses: nat prerouting (or nat output for the
// node's own packets), then filter input / forward / output, then nat postrouting. numgen is
// enumerated, so a result lists every endpoint the packet can be sent to.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "kernel/nft/fake_nft.h"
#include "proxy/endpoints_change_tracker.h"
#include "proxy/nft/nft_backend.h"
#include "proxy/service_change_tracker.h"

namespace knet::proxy::nft {
namespace {

namespace knft = kernel::nft;

base::IPAddress Ip(const char* s) { return *base::IPAddress::Parse(s); }
base::Cidr Net(const char* s) { return *base::Cidr::Parse(s); }

// The ruleset as data, maintained from applied transactions.
class Model {
 public:
  void Apply(const knft::Transaction& tx) {
    for (const knft::Operation& op : tx.ops()) {
      std::visit([&](const auto& o) { ApplyOne(o); }, op);
    }
  }

  struct Packet {
    base::IPAddress src;
    base::IPAddress dst;
    uint8_t proto = IPPROTO_TCP;
    uint16_t dport = 0;
    bool from_node = false;  // sent by the node itself (nat output / filter output)
  };

  // Every distinct outcome over all numgen values: "DNAT 10.244.1.5:8080 MASQUERADE", "REJECT",
  // "DROP", "ACCEPT" (untouched), joined by " | ".
  // Dynamic sets (affinity) are updated only for the run and restored after each.
  std::string Run(Packet p, const std::vector<base::IPAddress>& local_ips) {
    std::set<std::string> outs;
    for (uint32_t n = 0; n < 64; ++n) {
      auto saved = tables_;
      outs.insert(RunOnce(p, local_ips, n));
      tables_ = std::move(saved);
    }
    std::string s;
    for (const std::string& o : outs) s += (s.empty() ? "" : " | ") + o;
    return s;
  }

  // One packet with random value `n`, keeping what it writes into dynamic sets (a connection
  // actually made).
  std::string Send(Packet p, const std::vector<base::IPAddress>& local_ips, uint32_t n) {
    return RunOnce(p, local_ips, n);
  }

 private:
  struct Table {
    std::map<std::string, std::pair<std::optional<knft::BaseChain>, std::vector<knft::Rule>>>
        chains;
    std::map<std::string, std::map<std::string, knft::Element>> sets;
  };
  struct Result {
    enum Kind { kContinue, kAccept, kDrop, kReject, kDnat, kMasquerade } kind = kContinue;
    base::IPAddress addr;
    uint16_t port = 0;
  };

  Table& T(knft::Family f, const std::string& t) { return tables_[{f, t}]; }
  void ApplyOne(const knft::AddTableOp& o) { T(o.family, o.table); }
  void ApplyOne(const knft::DeleteTableOp& o) { tables_.erase({o.family, o.table}); }
  void ApplyOne(const knft::AddChainOp& o) {
    auto& c = T(o.ref.family, o.ref.table).chains[o.ref.chain];
    if (o.base) c.first = o.base;
  }
  void ApplyOne(const knft::AddRuleOp& o) {
    T(o.ref.family, o.ref.table).chains[o.ref.chain].second.push_back(o.rule);
  }
  void ApplyOne(const knft::FlushChainOp& o) {
    T(o.ref.family, o.ref.table).chains[o.ref.chain].second.clear();
  }
  void ApplyOne(const knft::DeleteChainOp& o) {
    T(o.ref.family, o.ref.table).chains.erase(o.ref.chain);
  }
  void ApplyOne(const knft::DeleteRuleOp&) { ADD_FAILURE() << "rules deleted by handle"; }
  void ApplyOne(const knft::AddSetOp& o) { T(o.ref.family, o.ref.table).sets[o.ref.set]; }
  void ApplyOne(const knft::DeleteSetOp& o) { T(o.ref.family, o.ref.table).sets.erase(o.ref.set); }
  void ApplyOne(const knft::AddElementsOp& o) {
    auto& s = T(o.ref.family, o.ref.table).sets[o.ref.set];
    for (const knft::Element& e : o.elements) s[KeyText(e)] = e;
  }
  void ApplyOne(const knft::DeleteElementsOp& o) {
    auto& s = T(o.ref.family, o.ref.table).sets[o.ref.set];
    for (const knft::Element& e : o.elements) s.erase(KeyText(e));
  }

  static knft::Value FieldValue(const knft::KeyPart& k, const Packet& p, uint32_t n) {
    if (const auto* f = std::get_if<knft::Field>(&k)) {
      switch (*f) {
        case knft::Field::kIpSaddr:
        case knft::Field::kIp6Saddr:
          return knft::Value::Addr(p.src);
        case knft::Field::kIpDaddr:
        case knft::Field::kIp6Daddr:
          return knft::Value::Addr(p.dst);
        case knft::Field::kL4proto:
          return knft::Value::Proto(p.proto);
        case knft::Field::kThSport:
          return knft::Value::Port(40000);
        case knft::Field::kThDport:
          return knft::Value::Port(p.dport);
      }
    }
    if (const auto* g = std::get_if<knft::NumgenRandom>(&k))
      return knft::Value::Integer(n % g->mod);
    return std::get<knft::Value>(k);
  }
  static std::string Key(const std::vector<knft::KeyPart>& key, const Packet& p, uint32_t n) {
    knft::Element e;
    for (const knft::KeyPart& k : key) e.key.push_back(FieldValue(k, p, n));
    return KeyText(e);
  }
  const knft::Element* Lookup(Table& t, const std::string& set, const std::string& key) {
    auto& s = t.sets[set];
    auto it = s.find(key);
    return it == s.end() ? nullptr : &it->second;
  }

  Result RunChain(Table& t, const std::string& chain, const Packet& p, uint32_t n, int depth) {
    EXPECT_LT(depth, 16) << "chain loop at " << chain;
    auto c = t.chains.find(chain);
    EXPECT_NE(c, t.chains.end()) << "no chain " << chain;
    if (c == t.chains.end() || depth >= 16) return {Result::kDrop};
    for (const knft::Rule& rule : c->second.second) {
      Result r = RunRule(t, rule, p, n, depth);
      if (r.kind != Result::kContinue) return r;
    }
    return {};
  }

  Result Verdict(Table& t, const knft::Verdict& v, const Packet& p, uint32_t n, int depth) {
    switch (v.kind) {
      case knft::Verdict::kAccept:
        return {Result::kAccept};
      case knft::Verdict::kDrop:
        return {Result::kDrop};
      case knft::Verdict::kJump:
      case knft::Verdict::kGoto:  // our chains never return to their caller
        return RunChain(t, v.chain, p, n, depth + 1);
      case knft::Verdict::kReturn:
        return {};
    }
    return {};
  }

  // kContinue with `matched` false: the rule did not match.
  Result RunRule(Table& t, const knft::Rule& rule, const Packet& p, uint32_t n, int depth) {
    for (const knft::Expr& e : rule.exprs) {
      if (const auto* m = std::get_if<knft::MatchL4proto>(&e)) {
        if (p.proto != m->proto) return {};
      } else if (const auto* a = std::get_if<knft::MatchAddr>(&e)) {
        bool in = a->prefix.Contains(a->dir == knft::Dir::kSource ? p.src : p.dst);
        if (in != (a->op == knft::Op::kEq)) return {};
      } else if (const auto* pt = std::get_if<knft::MatchPort>(&e)) {
        bool eq = p.proto == pt->proto && pt->dir == knft::Dir::kDestination && p.dport == pt->port;
        if (eq != (pt->op == knft::Op::kEq)) return {};
      } else if (const auto* ct = std::get_if<knft::MatchCtState>(&e)) {
        if ((ct->states & knft::kCtNew) == 0) return {};  // every packet here opens a connection
      } else if (const auto* s = std::get_if<knft::MatchSet>(&e)) {
        bool in = Lookup(t, s->set, Key(s->key, p, n)) != nullptr;
        if (in != (s->op == knft::Op::kEq)) return {};
      } else if (const auto* v = std::get_if<knft::Vmap>(&e)) {
        const knft::Element* el = Lookup(t, v->set, Key(v->key, p, n));
        if (el == nullptr || !el->verdict) return {};
        return Verdict(t, *el->verdict, p, n, depth);
      } else if (const auto* mn = std::get_if<knft::MatchNumgen>(&e)) {
        uint32_t r = n % mn->mod;
        if (mn->less ? !(r < mn->value) : r != mn->value) return {};
      } else if (const auto* u = std::get_if<knft::UpdateSet>(&e)) {
        knft::Element el;
        for (const knft::KeyPart& k : u->key) el.key.push_back(FieldValue(k, p, n));
        auto& set = t.sets[u->set];
        if (!u->add || set.count(KeyText(el)) == 0) set[KeyText(el)] = el;
      } else if (const auto* nat = std::get_if<knft::Nat>(&e)) {
        if (nat->map.empty()) return {Result::kDnat, nat->addr, nat->port};
        const knft::Element* el = Lookup(t, nat->map, Key(nat->key, p, n));
        if (el == nullptr) return {};
        return {Result::kDnat, el->data.at(0).addr, static_cast<uint16_t>(el->data.at(1).number)};
      } else if (const auto* rj = std::get_if<knft::Reject>(&e)) {
        if (rj->tcp_reset && p.proto != IPPROTO_TCP) return {};
        return {Result::kReject};
      } else if (std::holds_alternative<knft::Masquerade>(e)) {
        return {Result::kMasquerade};
      } else if (const auto* vd = std::get_if<knft::Verdict>(&e)) {
        return Verdict(t, *vd, p, n, depth);
      }
    }
    return {};
  }

  // The base chains of `hook` and `type` in every table of the packet's family, by priority.
  Result RunHook(knft::Hook hook, knft::ChainType type, const Packet& p, uint32_t n) {
    std::multimap<int32_t, std::pair<Table*, std::string>> chains;
    knft::Family fam = p.dst.is_v4() ? knft::Family::kIp : knft::Family::kIp6;
    for (auto& [key, table] : tables_) {
      if (key.first != fam) continue;
      for (auto& [name, chain] : table.chains) {
        if (chain.first && chain.first->hook == hook && chain.first->type == type) {
          chains.emplace(chain.first->priority, std::make_pair(&table, name));
        }
      }
    }
    for (auto& [prio, tc] : chains) {
      Result r = RunChain(*tc.first, tc.second, p, n, 0);
      if (r.kind != Result::kContinue && r.kind != Result::kAccept) return r;
    }
    return {};
  }

  std::string RunOnce(Packet p, const std::vector<base::IPAddress>& local_ips, uint32_t n) {
    std::string out;
    Result nat = RunHook(p.from_node ? knft::Hook::kOutput : knft::Hook::kPrerouting,
                         knft::ChainType::kNat, p, n);
    if (nat.kind == Result::kDrop) return "DROP";
    if (nat.kind == Result::kDnat) {
      p.dst = nat.addr;
      p.dport = nat.port;
      out = "DNAT " + (nat.addr.is_v4() ? nat.addr.ToString() : "[" + nat.addr.ToString() + "]") +
            ":" + std::to_string(nat.port);
    }
    bool local = false;
    for (const base::IPAddress& ip : local_ips) local = local || ip == p.dst;
    knft::Hook filter = p.from_node ? knft::Hook::kOutput
                        : local     ? knft::Hook::kInput
                                    : knft::Hook::kForward;
    Result f = RunHook(filter, knft::ChainType::kFilter, p, n);
    if (f.kind == Result::kReject) return "REJECT";
    if (f.kind == Result::kDrop) return "DROP";
    if (!local) {
      Result post = RunHook(knft::Hook::kPostrouting, knft::ChainType::kNat, p, n);
      if (post.kind == Result::kMasquerade) out += out.empty() ? "MASQUERADE" : " MASQUERADE";
      if (post.kind == Result::kDrop) return "DROP";
    }
    return out.empty() ? "ACCEPT" : out;
  }

  std::map<std::pair<knft::Family, std::string>, Table> tables_;
};

// Applies to a FakeNftables (which checks what the kernel would refuse) and to the Model.
class ModelNft final : public knft::Nftables {
 public:
  base::Status Apply(const knft::Transaction& tx) override {
    RETURN_IF_ERROR(fake.Apply(tx));
    model.Apply(tx);
    return base::OkStatus();
  }
  base::StatusOr<std::vector<knft::ListedRule>> ListRules(const knft::ChainRef& c) override {
    return fake.ListRules(c);
  }
  knft::FakeNftables fake;
  Model model;
};

ServicePortName Spn(const char* name, uint8_t proto = IPPROTO_TCP) {
  return {"default", name, "", proto};
}
EndpointInfo Ep(const char* ip, uint16_t port, bool local) {
  return {.ip = Ip(ip), .port = port, .ready = true, .serving = true, .is_local = local};
}

class PacketFlowTest : public ::testing::Test {
 protected:
  // This node: 192.168.1.10, pods 10.244.1.0/24; node-2's pods 10.244.2.0/24.
  Config config_{.families = {base::IPFamily::kV4, base::IPFamily::kV6},
                 .cluster_cidrs = {Net("10.244.0.0/16"), Net("fd00:244::/48")},
                 .node_ips = {Ip("192.168.1.10"), Ip("fd00:1::10")}};
  ModelNft nft_;
  NftBackend backend_{nft_, config_};
  ServicePortMap services_;
  EndpointsMap endpoints_;

  void SetUp() override {
    ServicePortInfo web;  // ClusterIP + NodePort, one local and one remote endpoint
    web.cluster_ips = {Ip("10.96.0.10"), Ip("fd00:96::10")};
    web.port = 80;
    web.node_port = 30080;
    services_[Spn("web")] = web;
    endpoints_[Spn("web")] = {Ep("10.244.1.5", 8080, true), Ep("10.244.2.5", 8080, false),
                              Ep("fd00:244:0:1::5", 8080, true)};

    ServicePortInfo empty;
    empty.cluster_ips = {Ip("10.96.0.12")};
    empty.port = 53;
    empty.protocol = IPPROTO_UDP;
    empty.node_port = 30053;
    services_[Spn("empty", IPPROTO_UDP)] = empty;

    ServicePortInfo lb;  // LoadBalancer, ETP Local, source ranges
    lb.cluster_ips = {Ip("10.96.0.16")};
    lb.port = 443;
    lb.node_port = 30443;
    lb.load_balancer_ips = {Ip("192.0.2.100")};
    lb.load_balancer_source_ranges = {Net("198.51.100.0/24")};
    lb.external_policy_local = true;
    services_[Spn("lb")] = lb;
    endpoints_[Spn("lb")] = {Ep("10.244.1.20", 8443, true), Ep("10.244.2.20", 8443, false)};

    ServicePortInfo itp;
    itp.cluster_ips = {Ip("10.96.0.17")};
    itp.port = 80;
    itp.internal_policy_local = true;
    services_[Spn("itp")] = itp;
    endpoints_[Spn("itp")] = {Ep("10.244.1.30", 8080, true), Ep("10.244.2.30", 8080, false)};

    ServicePortInfo remote_only = itp;  // ITP Local, no local endpoint
    remote_only.cluster_ips = {Ip("10.96.0.18")};
    services_[Spn("itp-remote")] = remote_only;
    endpoints_[Spn("itp-remote")] = {Ep("10.244.2.31", 8080, false)};

    ASSERT_TRUE(backend_.FullSync(services_, endpoints_).ok());
  }

  std::string Flow(const char* src, const char* dst, uint16_t dport, uint8_t proto = IPPROTO_TCP,
                   bool from_node = false) {
    return nft_.model.Run({Ip(src), Ip(dst), proto, dport, from_node},
                          {Ip("192.168.1.10"), Ip("fd00:1::10")});
  }
};

TEST_F(PacketFlowTest, ClusterIP) {
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.10", 80), "DNAT 10.244.1.5:8080 | DNAT 10.244.2.5:8080");
  EXPECT_EQ(Flow("fd00:244:0:1::9", "fd00:96::10", 80), "DNAT [fd00:244:0:1::5]:8080");
  // Wrong port or protocol: untouched.
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.10", 81), "ACCEPT");
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.10", 80, IPPROTO_UDP), "ACCEPT");
  // From the node itself (outside the cluster CIDR): masqueraded.
  EXPECT_EQ(Flow("192.168.1.10", "10.96.0.10", 80, IPPROTO_TCP, true),
            "DNAT 10.244.1.5:8080 MASQUERADE | DNAT 10.244.2.5:8080 MASQUERADE");
}

TEST_F(PacketFlowTest, Hairpin) {
  EXPECT_EQ(Flow("10.244.1.5", "10.96.0.10", 80),
            "DNAT 10.244.1.5:8080 MASQUERADE | DNAT 10.244.2.5:8080");
}

TEST_F(PacketFlowTest, NodePortFromOutside) {
  EXPECT_EQ(Flow("203.0.113.9", "192.168.1.10", 30080),
            "DNAT 10.244.1.5:8080 MASQUERADE | DNAT 10.244.2.5:8080 MASQUERADE");
  // Not a node address: no NodePort there.
  EXPECT_EQ(Flow("203.0.113.9", "192.168.1.11", 30080), "ACCEPT");
}

TEST_F(PacketFlowTest, NoEndpointsRejected) {
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.12", 53, IPPROTO_UDP), "REJECT");
  EXPECT_EQ(Flow("192.168.1.10", "10.96.0.12", 53, IPPROTO_UDP, true), "REJECT");
  EXPECT_EQ(Flow("203.0.113.9", "192.168.1.10", 30053, IPPROTO_UDP), "REJECT");
}

TEST_F(PacketFlowTest, ExternalTrafficPolicyLocalAndSourceRanges) {
  // Allowed source: local endpoint only, source kept (no masquerade).
  EXPECT_EQ(Flow("198.51.100.7", "192.0.2.100", 443), "DNAT 10.244.1.20:8443");
  // Not in loadBalancerSourceRanges.
  EXPECT_EQ(Flow("203.0.113.9", "192.0.2.100", 443), "DROP");
  // NodePort: local only, source kept.
  EXPECT_EQ(Flow("203.0.113.9", "192.168.1.10", 30443), "DNAT 10.244.1.20:8443");
  // The ClusterIP still reaches every endpoint.
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.16", 443), "DNAT 10.244.1.20:8443 | DNAT 10.244.2.20:8443");
}

TEST_F(PacketFlowTest, InternalTrafficPolicyLocal) {
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.17", 80), "DNAT 10.244.1.30:8080");
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.18", 80), "DROP");
}

TEST_F(PacketFlowTest, IncrementalChangesFollowThrough) {
  endpoints_[Spn("web")] = {Ep("10.244.2.6", 8080, false)};
  endpoints_[Spn("empty", IPPROTO_UDP)] = {Ep("10.244.1.53", 53, true)};
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {Spn("web"), Spn("empty", IPPROTO_UDP)}).ok());
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.10", 80), "DNAT 10.244.2.6:8080");
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.12", 53, IPPROTO_UDP), "DNAT 10.244.1.53:53");
  services_.erase(Spn("web"));
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {Spn("web")}).ok());
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.10", 80), "ACCEPT");
}

TEST_F(PacketFlowTest, SessionAffinityPinsEachClient) {
  ServicePortInfo sticky;  // ClusterIP + NodePort, ClientIP affinity, three endpoints
  sticky.cluster_ips = {Ip("10.96.0.20"), Ip("fd00:96::20")};
  sticky.port = 80;
  sticky.node_port = 30020;
  sticky.session_affinity_seconds = 10800;
  services_[Spn("sticky")] = sticky;
  endpoints_[Spn("sticky")] = {Ep("10.244.1.40", 8080, true), Ep("10.244.2.40", 8080, false),
                               Ep("10.244.2.41", 8080, false), Ep("fd00:244:0:1::40", 8080, true)};
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {Spn("sticky")}).ok());
  const std::string all = "DNAT 10.244.1.40:8080 | DNAT 10.244.2.40:8080 | DNAT 10.244.2.41:8080";
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.20", 80), all);  // a new client: any endpoint

  // Client A's first connection lands on some endpoint; from then on every pick sends A there.
  const std::vector<base::IPAddress> local = {Ip("192.168.1.10")};
  std::string first =
      nft_.model.Send({Ip("10.244.1.9"), Ip("10.96.0.20"), IPPROTO_TCP, 80}, local, 1);
  ASSERT_EQ(first.rfind("DNAT 10.244.", 0), 0u) << first;
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.20", 80), first);
  for (uint32_t n = 0; n < 8; ++n) {
    EXPECT_EQ(nft_.model.Send({Ip("10.244.1.9"), Ip("10.96.0.20"), IPPROTO_TCP, 80}, local, n),
              first);
  }
  // Client B is not pinned by A, and gets its own endpoint once it connects.
  EXPECT_EQ(Flow("10.244.1.8", "10.96.0.20", 80), all);
  std::string second =
      nft_.model.Send({Ip("10.244.1.8"), Ip("10.96.0.20"), IPPROTO_TCP, 80}, local, 0);
  EXPECT_EQ(Flow("10.244.1.8", "10.96.0.20", 80), second);
  // The NodePort shares the affinity sets (per endpoint of the service port, as kube-proxy).
  EXPECT_EQ(Flow("10.244.1.9", "192.168.1.10", 30020), first);
  EXPECT_EQ(Flow("fd00:244:0:1::9", "fd00:96::20", 80), "DNAT [fd00:244:0:1::40]:8080");

  // A's endpoint goes away: A picks again among the rest; B keeps its endpoint if it stays.
  std::vector<EndpointInfo> rest;
  for (const EndpointInfo& ep : endpoints_[Spn("sticky")]) {
    if (first.find(ep.ip.ToString() + ":") == std::string::npos) rest.push_back(ep);
  }
  ASSERT_EQ(rest.size(), 3u);
  endpoints_[Spn("sticky")] = rest;
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {Spn("sticky")}).ok());
  std::string after = Flow("10.244.1.9", "10.96.0.20", 80);
  EXPECT_EQ(after.find(first), std::string::npos) << after;
  EXPECT_NE(after.find(" | "), std::string::npos) << "A picks afresh: " << after;
  if (second != first) {
    EXPECT_EQ(Flow("10.244.1.8", "10.96.0.20", 80), second);
  }
}

// From API objects through both trackers to the kernel, as the agent will wire it.
TEST(PacketFlowFromApiTest, ServiceAndSlicesThroughTrackers) {
  Config config{.families = {base::IPFamily::kV4},
                .cluster_cidrs = {Net("10.244.0.0/16")},
                .node_ips = {Ip("192.168.1.10")}};
  ModelNft nft;
  NftBackend backend(nft, config);
  ServiceChangeTracker svc_tracker;
  EndpointsChangeTracker ep_tracker("node-1");
  ServicePortMap services;
  EndpointsMap endpoints;
  auto sync = [&] {
    std::set<ServicePortName> changed = svc_tracker.Apply(services);
    changed.merge(ep_tracker.Apply(endpoints));
    base::Status st = backend.Sync(services, endpoints, changed);
    EXPECT_TRUE(st.ok()) << st.ToString();
  };
  auto flow = [&](const char* src, const char* dst, uint16_t port) {
    return nft.model.Run({Ip(src), Ip(dst), IPPROTO_TCP, port, false}, {Ip("192.168.1.10")});
  };

  api::Service web;
  web.metadata.namespace_ = "shop";
  web.metadata.name = "web";
  web.spec.type = "NodePort";
  web.spec.cluster_ip = "10.96.0.50";
  api::ServicePort http;
  http.name = "http";
  http.port = 80;
  http.node_port = 30050;
  web.spec.ports = {http};
  svc_tracker.Update(nullptr, &web);
  sync();  // the first sync is a full one
  EXPECT_EQ(flow("10.244.1.9", "10.96.0.50", 80), "REJECT");

  api::EndpointSlice slice;
  slice.metadata.namespace_ = "shop";
  slice.metadata.name = "web-abc";
  slice.metadata.labels[kLabelServiceName] = "web";
  slice.address_type = "IPv4";
  api::EndpointSlicePort sp;
  sp.name = "http";
  sp.port = 8080;
  slice.ports = {sp};
  api::Endpoint a;
  a.addresses = {"10.244.1.5"};
  a.node_name = "node-1";
  api::Endpoint b;
  b.addresses = {"10.244.2.5"};
  b.node_name = "node-2";
  b.conditions.ready = false;  // not ready: not used while a ready one exists
  b.conditions.serving = true;
  b.conditions.terminating = true;
  slice.endpoints = {a, b};
  ep_tracker.EndpointSliceUpdate(slice, false);
  sync();
  EXPECT_EQ(flow("10.244.1.9", "10.96.0.50", 80), "DNAT 10.244.1.5:8080");
  EXPECT_EQ(flow("203.0.113.9", "192.168.1.10", 30050), "DNAT 10.244.1.5:8080 MASQUERADE");

  // The ready pod goes away: the terminating one takes over.
  api::EndpointSlice only_b = slice;
  only_b.endpoints = {b};
  ep_tracker.EndpointSliceUpdate(only_b, false);
  sync();
  EXPECT_EQ(flow("10.244.1.9", "10.96.0.50", 80), "DNAT 10.244.2.5:8080");

  // The Service is deleted: nothing is rewritten or rejected any more.
  svc_tracker.Update(&web, nullptr);
  sync();
  EXPECT_EQ(flow("10.244.1.9", "10.96.0.50", 80), "ACCEPT");
  EXPECT_EQ(flow("203.0.113.9", "192.168.1.10", 30050), "ACCEPT");
  EXPECT_EQ(backend.stats().full_syncs, 1);
  EXPECT_EQ(backend.stats().partial_syncs, 3);
}

TEST_F(PacketFlowTest, SharedExternalIPFirstComeFirstServed) {
  ServicePortInfo a;
  a.cluster_ips = {Ip("10.96.0.60")};
  a.port = 80;
  a.external_ips = {Ip("192.0.2.50")};
  ServicePortInfo b = a;
  b.cluster_ips = {Ip("10.96.0.61")};
  services_[Spn("a")] = a;
  services_[Spn("b")] = b;
  endpoints_[Spn("a")] = {Ep("10.244.1.60", 80, true)};
  endpoints_[Spn("b")] = {Ep("10.244.1.61", 80, true)};
  ASSERT_TRUE(backend_.Sync(services_, endpoints_, {Spn("a"), Spn("b")}).ok());
  EXPECT_EQ(Flow("203.0.113.9", "192.0.2.50", 80), "DNAT 10.244.1.60:80 MASQUERADE");
  EXPECT_GT(backend_.stats().conflicts, 0);
  EXPECT_EQ(Flow("10.244.1.9", "10.96.0.61", 80), "DNAT 10.244.1.61:80");
}

}  // namespace
}  // namespace knet::proxy::nft
