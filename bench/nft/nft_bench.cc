// nft_bench: how long the kernel takes to program the service proxy's nftables ruleset, for each
// candidate rule structure (issue 8, "design the rule structure for the kernel's own costs").
//
//   sudo nft_bench [--services 1000,3000,10000] [--endpoints 10] [--structures a,b,b2,c,c2]
//
// For every structure and service count it creates a fresh network namespace (removed again,
// also on failure), programs all services in ONE transaction through LinuxNftables, and prints
// one line of JSON per run: our time to fill the Transaction and to turn it into a netlink batch,
// the wall time of Apply (batch building again + the kernel), Apply minus batch (the kernel), the
// batch size, then the cost of two incremental transactions on top of the full ruleset: adding one
// service, and replacing all endpoints of one service. No packets are sent.
//
// Structures (service dispatch is the same shared named verdict map in all of them:
// `ip daddr . meta l4proto . th dport vmap @services` -> goto svc-<i>):
//   a  kube-proxy's nftables mode: svc-<i> holds `numgen random mod E vmap { 0 : goto ep-<i>-0,
//      ... }` (an anonymous map per service), each ep-<i>-<j> chain a `dnat to ip:port`.
//   b  no sets per service: svc-<i> holds E rules `numgen random mod (E-j) 0 dnat to ep_j`
//      (each rule takes 1/(E-j) of what is left, so the pick is uniform), the last unconditional.
//   b2 as b, but each rule does `goto ep-<i>-<j>` (endpoint chains as in a, without the vmap).
//   c  shared named maps: svc-<i> holds one rule `dnat ip to <i> . numgen random mod E map
//      @endpoints`, where @endpoints maps (service id . slot) -> address . port.
//   c2 as c, but @endpoints is keyed by the service tuple itself (daddr . proto . port . slot), and
//      @services sends each service straight to a shared chain pick-<E> whose one rule does
//      `dnat ip to ip daddr . meta l4proto . th dport . numgen random mod E map @endpoints`; so
//      only one rule per endpoint count binds @endpoints, and a service is only map elements.
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/ip.h"
#include "base/status.h"
#include "kernel/netns/netns.h"
#include "kernel/nft/linux_nft.h"
#include "kernel/nft/message.h"
#include "kernel/nft/nft.h"

namespace knet::bench {
namespace {

using knet::kernel::nft::BaseChain;
using knet::kernel::nft::Batch;
using knet::kernel::nft::BuildBatch;
using knet::kernel::nft::ChainType;
using knet::kernel::nft::DataType;
using knet::kernel::nft::Element;
using knet::kernel::nft::Expr;
using knet::kernel::nft::Family;
using knet::kernel::nft::Field;
using knet::kernel::nft::Hook;
using knet::kernel::nft::kPriorityDstnat;
using knet::kernel::nft::LinuxNftables;
using knet::kernel::nft::MatchNumgen;
using knet::kernel::nft::Nat;
using knet::kernel::nft::Nftables;
using knet::kernel::nft::NumgenRandom;
using knet::kernel::nft::Rule;
using knet::kernel::nft::Transaction;
using knet::kernel::nft::Value;
using knet::kernel::nft::Verdict;
using knet::kernel::nft::Vmap;
using Clock = std::chrono::steady_clock;

constexpr Family kF = Family::kIp;
const std::string kTable = "knet-bench";
constexpr uint16_t kServicePort = 80;
constexpr uint16_t kTargetPort = 8080;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

base::IPAddress ServiceIp(uint32_t i) { return base::IPAddress::FromV4(0x0a600000u + i + 1); }
// `generation` moves the endpoints of a service to other addresses (an endpoint change).
base::IPAddress EndpointIp(uint32_t i, uint32_t j, uint32_t endpoints, uint32_t generation) {
  return base::IPAddress::FromV4(0x0a800000u + (i * endpoints + j) + generation * 0x100000u);
}
std::string Svc(uint32_t i) { return "svc-" + std::to_string(i); }
std::string Ep(uint32_t i, uint32_t j, uint32_t gen) {
  return "ep-" + std::to_string(i) + "-" + std::to_string(j) +
         (gen ? "-g" + std::to_string(gen) : "");
}

Element ServiceElement(uint32_t i, const std::string& target) {
  return {.key = {Value::Addr(ServiceIp(i)), Value::Proto(IPPROTO_TCP), Value::Port(kServicePort)},
          .verdict = Verdict{Verdict::kGoto, target}};
}

struct Structure {
  std::string name;
  bool direct_to_pick = false;  // @services jumps to pick-<E>, not to svc-<i>
  // Adds the per-structure shared objects (after the table and the dispatch map exist).
  std::function<void(Transaction&, uint32_t endpoints)> shared;
  // Adds service i (its chains, rules and elements; not the dispatch element).
  std::function<void(Transaction&, uint32_t i, uint32_t endpoints, uint32_t gen)> add_service;
  // Replaces the endpoints of service i (generation gen-1 -> gen).
  std::function<void(Transaction&, uint32_t i, uint32_t endpoints, uint32_t gen)> change_service;
};

Rule DnatTo(const base::IPAddress& ip) { return {.exprs = {Nat{.addr = ip, .port = kTargetPort}}}; }

void AddEndpointChains(Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
  for (uint32_t j = 0; j < e; ++j) {
    tx.AddChain(kF, kTable, Ep(i, j, gen));
    tx.AddRule(kF, kTable, Ep(i, j, gen), DnatTo(EndpointIp(i, j, e, gen)));
  }
}
void DeleteEndpointChains(Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
  for (uint32_t j = 0; j < e; ++j) {
    tx.FlushChain(kF, kTable, Ep(i, j, gen)).DeleteChain(kF, kTable, Ep(i, j, gen));
  }
}

Rule AnonymousVmapRule(uint32_t i, uint32_t e, uint32_t gen) {
  Vmap v{.key = {NumgenRandom{e}}};
  for (uint32_t j = 0; j < e; ++j) {
    v.elements.push_back(
        {.key = {Value::Integer(j)}, .verdict = Verdict{Verdict::kGoto, Ep(i, j, gen)}});
  }
  return {.exprs = {v}};
}

// Rule j of a cascade: taken with probability 1/(e-j) of what reached it; the last always.
std::vector<Expr> Cascade(uint32_t j, uint32_t e) {
  if (j + 1 == e) return {};
  return {MatchNumgen{.mod = e - j, .value = 0}};
}

std::vector<Structure> Structures() {
  std::vector<Structure> out;
  out.push_back({
      "a",
      false,
      [](Transaction&, uint32_t) {},
      [](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        AddEndpointChains(tx, i, e, gen);
        tx.AddChain(kF, kTable, Svc(i));
        tx.AddRule(kF, kTable, Svc(i), AnonymousVmapRule(i, e, gen));
      },
      // As kube-proxy: new endpoint chains, the service chain rewritten, old chains removed.
      [](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        AddEndpointChains(tx, i, e, gen);
        tx.FlushChain(kF, kTable, Svc(i));
        tx.AddRule(kF, kTable, Svc(i), AnonymousVmapRule(i, e, gen));
        DeleteEndpointChains(tx, i, e, gen - 1);
      },
  });
  auto cascade = [](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
    for (uint32_t j = 0; j < e; ++j) {
      Rule r{.exprs = Cascade(j, e)};
      r.exprs.push_back(Nat{.addr = EndpointIp(i, j, e, gen), .port = kTargetPort});
      tx.AddRule(kF, kTable, Svc(i), r);
    }
  };
  out.push_back({
      "b",
      false,
      [](Transaction&, uint32_t) {},
      [cascade](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        tx.AddChain(kF, kTable, Svc(i));
        cascade(tx, i, e, gen);
      },
      [cascade](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        tx.FlushChain(kF, kTable, Svc(i));
        cascade(tx, i, e, gen);
      },
  });
  auto cascade_goto = [](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
    for (uint32_t j = 0; j < e; ++j) {
      Rule r{.exprs = Cascade(j, e)};
      r.exprs.push_back(Verdict{Verdict::kGoto, Ep(i, j, gen)});
      tx.AddRule(kF, kTable, Svc(i), r);
    }
  };
  out.push_back({
      "b2",
      false,
      [](Transaction&, uint32_t) {},
      [cascade_goto](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        AddEndpointChains(tx, i, e, gen);
        tx.AddChain(kF, kTable, Svc(i));
        cascade_goto(tx, i, e, gen);
      },
      [cascade_goto](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        AddEndpointChains(tx, i, e, gen);
        tx.FlushChain(kF, kTable, Svc(i));
        cascade_goto(tx, i, e, gen);
        DeleteEndpointChains(tx, i, e, gen - 1);
      },
  });
  auto endpoint_elements = [](uint32_t i, uint32_t e, uint32_t gen) {
    std::vector<Element> els;
    for (uint32_t j = 0; j < e; ++j) {
      els.push_back({.key = {Value::Integer(i), Value::Integer(j)},
                     .data = {Value::Addr(EndpointIp(i, j, e, gen)), Value::Port(kTargetPort)}});
    }
    return els;
  };
  out.push_back({
      "c",
      false,
      [](Transaction& tx, uint32_t) {
        tx.AddSet(kF, kTable, "endpoints",
                  {.key = {DataType::kMark, DataType::kMark},
                   .data = {DataType::kIpv4Addr, DataType::kInetService}});
      },
      [endpoint_elements](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        tx.AddElements(kF, kTable, "endpoints", endpoint_elements(i, e, gen));
        tx.AddChain(kF, kTable, Svc(i));
        tx.AddRule(
            kF, kTable, Svc(i),
            {.exprs = {Nat{.key = {Value::Integer(i), NumgenRandom{e}}, .map = "endpoints"}}});
      },
      // Same keys, new data: delete and re-add in one transaction; the rule stays.
      [endpoint_elements](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        tx.DeleteElements(kF, kTable, "endpoints", endpoint_elements(i, e, gen - 1));
        tx.AddElements(kF, kTable, "endpoints", endpoint_elements(i, e, gen));
      },
  });
  // c2: as c, but only one rule (per endpoint count) binds @endpoints: the kernel walks every
  // element of a map for each rule that binds it, and every binding for each element added, so c
  // is quadratic. @endpoints is keyed by the service's own tuple, so no per-service chain is
  // needed: @services sends a service straight to pick-<E> (E = its endpoint count).
  // (Carrying the service id in a register to a shared chain is refused by this kernel: a rule
  // may only read registers it wrote, ENODATA.)
  auto tuple_elements = [](uint32_t i, uint32_t e, uint32_t gen) {
    std::vector<Element> els;
    for (uint32_t j = 0; j < e; ++j) {
      els.push_back({.key = {Value::Addr(ServiceIp(i)), Value::Proto(IPPROTO_TCP),
                             Value::Port(kServicePort), Value::Integer(j)},
                     .data = {Value::Addr(EndpointIp(i, j, e, gen)), Value::Port(kTargetPort)}});
    }
    return els;
  };
  out.push_back({
      "c2",
      true,
      [](Transaction& tx, uint32_t e) {
        tx.AddSet(kF, kTable, "endpoints",
                  {.key = {DataType::kIpv4Addr, DataType::kInetProto, DataType::kInetService,
                           DataType::kMark},
                   .data = {DataType::kIpv4Addr, DataType::kInetService}});
        std::string pick = "pick-" + std::to_string(e);
        tx.AddChain(kF, kTable, pick);
        tx.AddRule(kF, kTable, pick,
                   {.exprs = {Nat{
                        .key = {Field::kIpDaddr, Field::kL4proto, Field::kThDport, NumgenRandom{e}},
                        .map = "endpoints"}}});
      },
      [tuple_elements](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        tx.AddElements(kF, kTable, "endpoints", tuple_elements(i, e, gen));
      },
      [tuple_elements](Transaction& tx, uint32_t i, uint32_t e, uint32_t gen) {
        tx.DeleteElements(kF, kTable, "endpoints", tuple_elements(i, e, gen - 1));
        tx.AddElements(kF, kTable, "endpoints", tuple_elements(i, e, gen));
      },
  });
  return out;
}

// A namespace that is deleted when this goes away, whatever happened.
class ScopedNetns {
 public:
  static base::StatusOr<std::unique_ptr<ScopedNetns>> Create(std::string name) {
    ASSIGN_OR_RETURN(kernel::netns::Netns ns, kernel::netns::Create(name));
    return std::unique_ptr<ScopedNetns>(new ScopedNetns(std::move(name), std::move(ns)));
  }
  ~ScopedNetns() {
    ns_ = kernel::netns::Netns();
    base::Status s = kernel::netns::Delete(name_);
    if (!s.ok()) std::cerr << "deleting netns " << name_ << ": " << s.ToString() << "\n";
  }
  const kernel::netns::Netns& ns() const { return ns_; }

 private:
  ScopedNetns(std::string name, kernel::netns::Netns ns)
      : name_(std::move(name)), ns_(std::move(ns)) {}
  std::string name_;
  kernel::netns::Netns ns_;
};

struct Timed {
  double fill_ms = 0;   // building the Transaction (ours)
  double batch_ms = 0;  // turning it into netlink bytes (ours; Apply does it again)
  double apply_ms = 0;  // Apply: batch building + sending + the kernel
  size_t bytes = 0;
  size_t messages = 0;
};

base::StatusOr<Timed> Run(Nftables& nft, const std::function<void(Transaction&)>& fill) {
  Timed t;
  auto t0 = Clock::now();
  Transaction tx;
  fill(tx);
  auto t_filled = Clock::now();
  t.fill_ms = Ms(t_filled - t0);
  ASSIGN_OR_RETURN(Batch batch, BuildBatch(tx, 1));
  t.batch_ms = Ms(Clock::now() - t_filled);
  t.bytes = batch.bytes.size();
  t.messages = batch.messages;
  auto t1 = Clock::now();
  RETURN_IF_ERROR(nft.Apply(tx));
  t.apply_ms = Ms(Clock::now() - t1);
  return t;
}

base::Status Measure(const Structure& st, uint32_t services, uint32_t endpoints) {
  std::string name =
      "knet-nftbench-" + std::to_string(getpid()) + "-" + st.name + "-" + std::to_string(services);
  ASSIGN_OR_RETURN(std::unique_ptr<ScopedNetns> ns, ScopedNetns::Create(name));
  ASSIGN_OR_RETURN(std::unique_ptr<LinuxNftables> nft, LinuxNftables::Open(ns->ns()));
  auto target = [&](uint32_t i) {
    return st.direct_to_pick ? "pick-" + std::to_string(endpoints) : Svc(i);
  };

  ASSIGN_OR_RETURN(
      Timed full, Run(*nft, [&](Transaction& tx) {
        tx.AddTable(kF, kTable);
        tx.AddChain(kF, kTable, "prerouting",
                    BaseChain{ChainType::kNat, Hook::kPrerouting, kPriorityDstnat});
        tx.AddSet(kF, kTable, "services",
                  {.key = {DataType::kIpv4Addr, DataType::kInetProto, DataType::kInetService},
                   .verdict_map = true});
        st.shared(tx, endpoints);
        std::vector<Element> dispatch;
        for (uint32_t i = 0; i < services; ++i) {
          st.add_service(tx, i, endpoints, 0);
          dispatch.push_back(ServiceElement(i, target(i)));
        }
        tx.AddElements(kF, kTable, "services", std::move(dispatch));
        tx.AddRule(
            kF, kTable, "prerouting",
            {.exprs = {Vmap{{Field::kIpDaddr, Field::kL4proto, Field::kThDport}, "services"}}});
      }));
  ASSIGN_OR_RETURN(Timed add_one, Run(*nft, [&](Transaction& tx) {
                     st.add_service(tx, services, endpoints, 0);
                     tx.AddElements(kF, kTable, "services",
                                    {ServiceElement(services, target(services))});
                   }));
  ASSIGN_OR_RETURN(Timed change_one, Run(*nft, [&](Transaction& tx) {
                     st.change_service(tx, services / 2, endpoints, 1);
                   }));
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << "{\"structure\":\"" << st.name << "\",\"services\":" << services
      << ",\"endpoints\":" << endpoints << ",\"messages\":" << full.messages
      << ",\"batch_mb\":" << static_cast<double>(full.bytes) / 1e6
      << ",\"fill_ms\":" << full.fill_ms << ",\"batch_ms\":" << full.batch_ms
      << ",\"apply_ms\":" << full.apply_ms << ",\"kernel_ms\":" << full.apply_ms - full.batch_ms
      << ",\"add_one_apply_ms\":" << add_one.apply_ms
      << ",\"change_one_apply_ms\":" << change_one.apply_ms
      << ",\"change_one_messages\":" << change_one.messages << "}";
  std::cout << out.str() << std::endl;
  return base::OkStatus();
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

int Main(int argc, char** argv) {
  std::vector<uint32_t> counts = {1000, 3000, 10000};
  uint32_t endpoints = 10;
  std::vector<std::string> wanted = {"a", "b", "b2", "c", "c2"};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--services") {
      counts.clear();
      for (const std::string& c : SplitComma(value)) {
        counts.push_back(static_cast<uint32_t>(std::stoul(c)));
      }
    } else if (flag == "--endpoints") {
      endpoints = static_cast<uint32_t>(std::stoul(value));
    } else if (flag == "--structures") {
      wanted = SplitComma(value);
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (geteuid() != 0) {
    std::cerr << "nft_bench needs root (it creates network namespaces)\n";
    return 2;
  }
  int failures = 0;
  for (uint32_t n : counts) {
    for (const Structure& st : Structures()) {
      bool want = false;
      for (const std::string& w : wanted) want = want || w == st.name;
      if (!want) continue;
      base::Status s = Measure(st, n, endpoints);
      if (!s.ok()) {
        std::cout << "{\"structure\":\"" << st.name << "\",\"services\":" << n << ",\"error\":\""
                  << s.ToString() << "\"}" << std::endl;
        ++failures;
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace knet::bench

int main(int argc, char** argv) { return knet::bench::Main(argc, argv); }
