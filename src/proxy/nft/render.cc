#include "proxy/nft/render.h"

#include <algorithm>

namespace knet::proxy::nft {
namespace {

using kernel::nft::BaseChain;
using kernel::nft::ChainType;
using kernel::nft::DataType;
using kernel::nft::Dir;
using kernel::nft::Element;
using kernel::nft::Field;
using kernel::nft::Hook;
using kernel::nft::KeyPart;
using kernel::nft::MatchAddr;
using kernel::nft::MatchCtState;
using kernel::nft::MatchNumgen;
using kernel::nft::MatchSet;
using kernel::nft::Nat;
using kernel::nft::NumgenRandom;
using kernel::nft::Op;
using kernel::nft::Reject;
using kernel::nft::Rule;
using kernel::nft::UpdateSet;
using kernel::nft::Value;
using kernel::nft::Verdict;
using kernel::nft::Vmap;

bool V4(base::IPFamily f) { return f == base::IPFamily::kV4; }
DataType AddrType(base::IPFamily f) { return V4(f) ? DataType::kIpv4Addr : DataType::kIpv6Addr; }
Field Daddr(base::IPFamily f) { return V4(f) ? Field::kIpDaddr : Field::kIp6Daddr; }
Field Saddr(base::IPFamily f) { return V4(f) ? Field::kIpSaddr : Field::kIp6Saddr; }

std::vector<KeyPart> ServiceTuple(base::IPFamily f) {
  return {Daddr(f), Field::kL4proto, Field::kThDport};
}

std::vector<EndpointInfo> OfFamily(const std::vector<EndpointInfo>& eps, base::IPFamily f) {
  std::vector<EndpointInfo> out;
  for (const EndpointInfo& ep : eps) {
    if (ep.ip.family() == f) out.push_back(ep);
  }
  return out;
}

Verdict Goto(std::string chain) { return Verdict{Verdict::kGoto, std::move(chain)}; }
Verdict Drop() { return Verdict{Verdict::kDrop, ""}; }

}  // namespace

std::string PickChain(uint32_t endpoints) { return "pick-" + std::to_string(endpoints); }
std::string NodePortPickChain(uint32_t endpoints) {
  return "nodeport-pick-" + std::to_string(endpoints);
}
std::string FirewallChain(const ServicePortName& spn) { return "firewall-" + spn.String(); }
std::string AffinityServiceChain(const ServicePortName& spn) { return "service-" + spn.String(); }
std::string AffinityExternalChain(const ServicePortName& spn) { return "external-" + spn.String(); }
namespace {
std::string EndpointText(const EndpointInfo& ep) {
  std::string ip = ep.ip.ToString();
  return (ep.ip.is_v4() ? ip : "[" + ip + "]") + ":" + std::to_string(ep.port);
}
}  // namespace
std::string EndpointChain(const ServicePortName& spn, const EndpointInfo& ep) {
  return "endpoint-" + spn.String() + "-" + EndpointText(ep);
}
std::string AffinitySet(const ServicePortName& spn, const EndpointInfo& ep) {
  return "affinity-" + spn.String() + "-" + EndpointText(ep);
}

kernel::nft::Family TableFamily(base::IPFamily f) {
  return V4(f) ? kernel::nft::Family::kIp : kernel::nft::Family::kIp6;
}

Rule PickRule(base::IPFamily f, uint32_t endpoints) {
  return {
      .exprs = {Nat{.kind = Nat::kDnat,
                    .family = TableFamily(f),
                    .key = {Daddr(f), Field::kL4proto, Field::kThDport, NumgenRandom{endpoints}},
                    .map = kEndpointsMap}}};
}

Rule NodePortPickRule(base::IPFamily f, uint32_t endpoints) {
  return {.exprs = {Nat{.kind = Nat::kDnat,
                        .family = TableFamily(f),
                        .key = {Field::kL4proto, Field::kThDport, NumgenRandom{endpoints}},
                        .map = kNodePortEndpointsMap}}};
}

void RenderBase(base::IPFamily f, const Config& config, kernel::nft::Transaction& tx) {
  const kernel::nft::Family fam = TableFamily(f);
  const DataType addr = AddrType(f);
  auto set = [&](const char* name, kernel::nft::SetSpec spec) {
    tx.AddSet(fam, kTable, name, std::move(spec));
  };
  set(kServicesMap,
      {.key = {addr, DataType::kInetProto, DataType::kInetService}, .verdict_map = true});
  set(kEndpointsMap, {.key = {addr, DataType::kInetProto, DataType::kInetService, DataType::kMark},
                      .data = {addr, DataType::kInetService}});
  set(kNodePortsMap, {.key = {DataType::kInetProto, DataType::kInetService}, .verdict_map = true});
  set(kNodePortEndpointsMap,
      {.key = {DataType::kInetProto, DataType::kInetService, DataType::kMark},
       .data = {addr, DataType::kInetService}});
  set(kNodeIPsSet, {.key = {addr}});
  set(kNoEndpointsMap,
      {.key = {addr, DataType::kInetProto, DataType::kInetService}, .verdict_map = true});
  set(kNoEndpointNodePortsMap,
      {.key = {DataType::kInetProto, DataType::kInetService}, .verdict_map = true});
  set(kHairpinSet, {.key = {addr, addr, DataType::kInetProto, DataType::kInetService}});
  set(kMasqEndpointsSet, {.key = {addr, DataType::kInetProto, DataType::kInetService}});

  std::vector<Element> node_ips;
  for (const base::IPAddress& ip : config.node_ips) {
    if (ip.family() == f) node_ips.push_back({.key = {Value::Addr(ip)}});
  }
  if (!node_ips.empty()) tx.AddElements(fam, kTable, kNodeIPsSet, std::move(node_ips));

  // reject: TCP gets a reset, everything else ICMP(v6) port unreachable.
  tx.AddChain(fam, kTable, kRejectChain);
  tx.AddRule(fam, kTable, kRejectChain, {.exprs = {Reject{.tcp_reset = true}}});
  tx.AddRule(fam, kTable, kRejectChain, {.exprs = {Reject{.tcp_reset = false}}});

  // DNAT: services by (daddr . proto . port), node ports by (proto . port) on a node address.
  auto dnat_rules = [&](const char* chain) {
    tx.AddRule(fam, kTable, chain, {.exprs = {Vmap{ServiceTuple(f), kServicesMap, {}}}});
    tx.AddRule(fam, kTable, chain,
               {.exprs = {MatchSet{{Daddr(f)}, kNodeIPsSet, Op::kEq},
                          Vmap{{Field::kL4proto, Field::kThDport}, kNodePortsMap, {}}}});
  };
  tx.AddChain(fam, kTable, kNatPreroutingChain,
              BaseChain{ChainType::kNat, Hook::kPrerouting, kernel::nft::kPriorityDstnat});
  dnat_rules(kNatPreroutingChain);
  tx.AddChain(fam, kTable, kNatOutputChain,
              BaseChain{ChainType::kNat, Hook::kOutput, kernel::nft::kPriorityDstnat});
  dnat_rules(kNatOutputChain);

  // Masquerade: hairpin, and traffic from outside the cluster CIDR to a service endpoint.
  tx.AddChain(fam, kTable, kNatPostroutingChain,
              BaseChain{ChainType::kNat, Hook::kPostrouting, kernel::nft::kPrioritySrcnat});
  tx.AddRule(
      fam, kTable, kNatPostroutingChain,
      {.exprs = {MatchSet{
                     {Saddr(f), Daddr(f), Field::kL4proto, Field::kThDport}, kHairpinSet, Op::kEq},
                 kernel::nft::Masquerade{}},
       .comment = "hairpin"});
  for (const base::Cidr& cidr : config.cluster_cidrs) {
    if (cidr.family() != f) continue;
    tx.AddRule(fam, kTable, kNatPostroutingChain,
               {.exprs = {MatchAddr{Dir::kSource, cidr, Op::kNeq},
                          MatchSet{ServiceTuple(f), kMasqEndpointsSet, Op::kEq},
                          kernel::nft::Masquerade{}},
                .comment = "from outside the cluster"});
  }

  // Reject new connections to services without endpoints, before anything else filters them.
  auto check_rules = [&](const char* chain, bool node_ports) {
    tx.AddRule(
        fam, kTable, chain,
        {.exprs = {MatchCtState{kernel::nft::kCtNew}, Vmap{ServiceTuple(f), kNoEndpointsMap, {}}}});
    if (!node_ports) return;
    tx.AddRule(
        fam, kTable, chain,
        {.exprs = {MatchCtState{kernel::nft::kCtNew}, MatchSet{{Daddr(f)}, kNodeIPsSet, Op::kEq},
                   Vmap{{Field::kL4proto, Field::kThDport}, kNoEndpointNodePortsMap, {}}}});
  };
  tx.AddChain(fam, kTable, kFilterInputChain,
              BaseChain{ChainType::kFilter, Hook::kInput, kFilterPriority});
  check_rules(kFilterInputChain, true);
  tx.AddChain(fam, kTable, kFilterForwardChain,
              BaseChain{ChainType::kFilter, Hook::kForward, kFilterPriority});
  check_rules(kFilterForwardChain, false);
  tx.AddChain(fam, kTable, kFilterOutputChain,
              BaseChain{ChainType::kFilter, Hook::kOutput, kFilterPriority});
  check_rules(kFilterOutputChain, true);
}

std::string KeyText(const Element& e) {
  std::string out;
  for (const Value& v : e.key) {
    if (!out.empty()) out += " . ";
    if (v.type == DataType::kIpv4Addr || v.type == DataType::kIpv6Addr) {
      out += v.addr.ToString();
    } else {
      out += std::to_string(v.number);
    }
  }
  return out;
}

Fragment RenderService(base::IPFamily f, const ServicePortName& spn, const ServicePortInfo& info,
                       const std::vector<EndpointInfo>* endpoints, const Config& config) {
  (void)config;
  Fragment out;
  std::vector<base::IPAddress> cluster_ips;
  for (const base::IPAddress& ip : info.cluster_ips) {
    if (ip.family() == f) cluster_ips.push_back(ip);
  }
  if (cluster_ips.empty()) return out;  // the service does not exist in this family

  const std::vector<EndpointInfo> eps =
      endpoints != nullptr ? OfFamily(*endpoints, f) : std::vector<EndpointInfo>{};
  const bool any = !UsableEndpoints(eps, false).empty();
  const std::vector<EndpointInfo> internal = UsableEndpoints(eps, info.internal_policy_local);
  const std::vector<EndpointInfo> external = UsableEndpoints(eps, info.external_policy_local);
  const Value proto = Value::Proto(info.protocol);
  const Value port = Value::Port(info.port);

  auto key = [&](const base::IPAddress& ip) {
    return std::vector<Value>{Value::Addr(ip), proto, port};
  };
  // One destination (ip . proto . port) picking among `set`.
  // sessionAffinity ClientIP: the per-service chain that picks among `set` (creating it, its
  // endpoint chains and their affinity sets the first time): a client found in an endpoint's set
  // goes back to that endpoint, any other one picks at random (rule j matches with probability
  // 1/(E-j), so each endpoint gets 1/E), and the endpoint chain records the client.
  const bool affinity = info.session_affinity_seconds != 0;
  const bool same_sets = internal == external;
  auto affinity_chain = [&](const std::vector<EndpointInfo>& set, bool ext) -> std::string {
    std::string chain = ext && !same_sets ? AffinityExternalChain(spn) : AffinityServiceChain(spn);
    if (out.chains.count(chain) != 0) return chain;
    std::vector<Rule>& rules = out.chains[chain];
    for (const EndpointInfo& ep : set) {
      std::string aff = AffinitySet(spn, ep);
      std::string ep_chain = EndpointChain(spn, ep);
      rules.push_back({.exprs = {MatchSet{{Saddr(f)}, aff, Op::kEq}, Goto(ep_chain)}});
      if (out.sets.count(aff) != 0) continue;  // shared with the other pick chain
      out.sets[aff] = {
          .key = {AddrType(f)}, .dynamic = true, .timeout_s = info.session_affinity_seconds};
      out.chains[ep_chain] = {
          {.exprs = {
               UpdateSet{{Saddr(f)}, aff, false},
               Nat{.kind = Nat::kDnat, .family = TableFamily(f), .addr = ep.ip, .port = ep.port}}}};
    }
    const auto e = static_cast<uint32_t>(set.size());
    for (uint32_t j = 0; j + 1 < e; ++j) {
      rules.push_back(
          {.exprs = {MatchNumgen{.mod = e - j, .value = 0}, Goto(EndpointChain(spn, set[j]))}});
    }
    rules.push_back({.exprs = {Goto(EndpointChain(spn, set[e - 1]))}});
    return chain;
  };
  auto destination = [&](const base::IPAddress& ip, const std::vector<EndpointInfo>& set,
                         const std::vector<base::Cidr>* ranges, bool external_chain) {
    if (set.empty()) {
      if (any) {
        out.elements[kServicesMap].push_back({.key = key(ip), .verdict = Drop()});
      } else {
        out.elements[kNoEndpointsMap].push_back({.key = key(ip), .verdict = Goto(kRejectChain)});
      }
      return;
    }
    std::string target;
    if (affinity) {
      target = affinity_chain(set, external_chain);
    } else {
      const auto e = static_cast<uint32_t>(set.size());
      out.picks.insert(e);
      target = PickChain(e);
      for (uint32_t j = 0; j < e; ++j) {
        std::vector<Value> k = key(ip);
        k.push_back(Value::Integer(j));
        out.elements[kEndpointsMap].push_back(
            {.key = std::move(k), .data = {Value::Addr(set[j].ip), Value::Port(set[j].port)}});
      }
    }
    if (ranges != nullptr && !ranges->empty()) {
      std::string chain = FirewallChain(spn);
      if (out.chains.count(chain) == 0) {
        std::vector<Rule>& rules = out.chains[chain];
        for (const base::Cidr& r : *ranges) {
          rules.push_back({.exprs = {MatchAddr{Dir::kSource, r, Op::kEq}, Goto(target)}});
        }
        rules.push_back({.exprs = {Drop()}, .comment = "not in loadBalancerSourceRanges"});
      }
      out.elements[kServicesMap].push_back({.key = key(ip), .verdict = Goto(chain)});
    } else {
      out.elements[kServicesMap].push_back({.key = key(ip), .verdict = Goto(target)});
    }
  };

  for (const base::IPAddress& ip : cluster_ips) destination(ip, internal, nullptr, false);
  for (const base::IPAddress& ip : info.external_ips) {
    if (ip.family() == f) destination(ip, external, nullptr, true);
  }
  std::vector<base::Cidr> ranges;
  for (const base::Cidr& r : info.load_balancer_source_ranges) {
    if (r.family() == f) ranges.push_back(r);
  }
  for (const base::IPAddress& ip : info.load_balancer_ips) {
    if (ip.family() == f) destination(ip, external, &ranges, true);
  }
  if (info.node_port != 0) {
    std::vector<Value> np_key{proto, Value::Port(info.node_port)};
    if (external.empty()) {
      if (any) {
        out.elements[kNodePortsMap].push_back({.key = np_key, .verdict = Drop()});
      } else {
        out.elements[kNoEndpointNodePortsMap].push_back(
            {.key = np_key, .verdict = Goto(kRejectChain)});
      }
    } else if (affinity) {
      out.elements[kNodePortsMap].push_back(
          {.key = np_key, .verdict = Goto(affinity_chain(external, true))});
    } else {
      const auto e = static_cast<uint32_t>(external.size());
      out.nodeport_picks.insert(e);
      out.elements[kNodePortsMap].push_back({.key = np_key, .verdict = Goto(NodePortPickChain(e))});
      for (uint32_t j = 0; j < e; ++j) {
        std::vector<Value> k = np_key;
        k.push_back(Value::Integer(j));
        out.elements[kNodePortEndpointsMap].push_back(
            {.key = std::move(k),
             .data = {Value::Addr(external[j].ip), Value::Port(external[j].port)}});
      }
    }
  }

  // Masquerade sets: every endpoint traffic may reach.
  std::vector<EndpointInfo> reached = internal;
  if (info.HasExternal()) reached.insert(reached.end(), external.begin(), external.end());
  std::sort(reached.begin(), reached.end());
  reached.erase(std::unique(reached.begin(), reached.end(),
                            [](const EndpointInfo& a, const EndpointInfo& b) {
                              return a.ip == b.ip && a.port == b.port;
                            }),
                reached.end());
  for (const EndpointInfo& ep : reached) {
    // A pod reaching its own service is DNATed on its own node: only local endpoints hairpin here.
    if (ep.is_local) {
      out.elements[kHairpinSet].push_back(
          {.key = {Value::Addr(ep.ip), Value::Addr(ep.ip), proto, Value::Port(ep.port)}});
    }
    if (!info.external_policy_local) {
      out.elements[kMasqEndpointsSet].push_back(
          {.key = {Value::Addr(ep.ip), proto, Value::Port(ep.port)}});
    }
  }
  return out;
}

}  // namespace knet::proxy::nft
