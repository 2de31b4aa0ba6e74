// File: proxy/nft/nft_backend.h
//
// NftBackend: proxy::Backend on nftables with the "c2" structure measured in
// bench/results/nft.md. Each family has its own table (`ip knet-proxy`, `ip6 knet-proxy`): a
// verdict map @services (daddr . l4proto . dport) sends a packet to a shared chain pick-E whose
// one rule DNATs through the data map @endpoints (daddr . l4proto . dport . numgen random mod E),
// so a Service or endpoint change is only element adds/deletes (and, for services that need one,
// their own chain). The backend keeps what it installed per service port (render.h Fragments) and
// turns each Sync into one transaction proportional to the change; FullSync (the first sync, a
// periodic resync, or after a failed sync) deletes and rebuilds the tables inside ONE transaction,
// so working rules are never flushed before their replacement is in place. It only ever touches
// its own tables. README.md beside this file has the packet path and what is not done.
//
//   kernel::nft::LinuxNftables nft;   // (cmd only; tests use FakeNftables)
//   NftBackend backend(nft, {.cluster_cidrs = {pod_cidr}, .node_ips = {node_ip}});
//   RETURN_IF_ERROR(backend.FullSync(services, endpoints));
//   RETURN_IF_ERROR(backend.Sync(services, endpoints, changed));
//
// Not thread-safe: call from one sync thread.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernel/nft/nft.h"
#include "proxy/backend.h"
#include "proxy/nft/render.h"

namespace knet::proxy::nft {

class NftBackend final : public Backend {
 public:
  NftBackend(kernel::nft::Nftables& nft, Config config);

  base::Status Sync(const ServicePortMap& services, const EndpointsMap& endpoints,
                    const std::set<ServicePortName>& changed) override;
  base::Status FullSync(const ServicePortMap& services, const EndpointsMap& endpoints) override;

  // Counters for metrics.
  struct Stats {
    int full_syncs = 0;
    int partial_syncs = 0;
    int failed_syncs = 0;
    size_t last_operations = 0;  // operations in the last transaction applied
    size_t elements = 0;         // map/set elements installed (all families)
    int conflicts = 0;           // elements skipped: another service port owns that key
  };
  const Stats& stats() const { return stats_; }

  // The transaction Sync / FullSync would apply, without applying it or changing any state (for
  // tests and benchmarks).
  kernel::nft::Transaction BuildFullSync(const ServicePortMap& services,
                                         const EndpointsMap& endpoints) const;

 private:
  // An element as installed, with the service ports that want it (several for shared set entries,
  // e.g. the same endpoint in two services' hairpin set). A user is the address of its key in
  // FamilyState::fragments (stable while that entry exists; released before it is erased).
  struct Installed {
    kernel::nft::Element element;
    std::vector<const ServicePortName*> users;
  };
  // set -> binary key -> element
  using InstalledSets = std::unordered_map<std::string, std::unordered_map<std::string, Installed>>;
  struct FamilyState {
    std::map<ServicePortName, Fragment> fragments;
    InstalledSets installed;
    std::set<uint32_t> picks;
    std::set<uint32_t> nodeport_picks;
  };
  // Element operations of one transaction, per set.
  struct Books {
    std::map<std::string, std::vector<kernel::nft::Element>> deletes;
    // Into `installed` (stable: nothing is erased between acquiring and emitting).
    std::map<std::string, std::vector<const kernel::nft::Element*>> adds;
    int conflicts = 0;
  };
  static void Release(InstalledSets& installed, const std::string& set,
                      const kernel::nft::Element& el, const ServicePortName* user, Books& books);
  static void Acquire(InstalledSets& installed, const std::string& set,
                      const kernel::nft::Element& el, const ServicePortName* user, Books& books);

  Fragment Render(base::IPFamily f, const ServicePortName& spn, const ServicePortMap& services,
                  const EndpointsMap& endpoints) const;
  void BuildFull(const ServicePortMap& services, const EndpointsMap& endpoints,
                 std::map<base::IPFamily, FamilyState>& states, kernel::nft::Transaction& tx) const;

  kernel::nft::Nftables& nft_;
  const Config config_;
  std::map<base::IPFamily, FamilyState> state_;
  bool needs_full_ = true;
  Stats stats_;
};

}  // namespace knet::proxy::nft
