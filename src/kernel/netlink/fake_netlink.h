// File: kernel/netlink/fake_netlink.h
//
// FakeNetlink: an in-memory Netlink for unit tests of the modules above the kernel seam (CNI,
// overlay backends). It executes the same request bytes LinuxNetlink would send (decoded with
// parse.h), keeps links, addresses, routes and neighbours, and enforces the kernel's basic rules:
//   - creating a link whose name is taken: EEXIST (AlreadyExists)
//   - changing, deleting or using a missing link: ENODEV (NotFound)
//   - adding an address, route or neighbour that exists with NLM_F_EXCL: EEXIST; replace updates
//   - deleting a missing address (EADDRNOTAVAIL), route (ESRCH) or neighbour (ENOENT): NotFound
//   - a master must be a bridge (EOPNOTSUPP); hairpin needs a bridge port (EOPNOTSUPP)
//   - deleting a link deletes its addresses, routes and neighbours, and its veth peer
// Not modelled: kernel-generated routes (connected subnets, local table), gateway reachability,
// DAD, carrier, route metrics beyond equality, neighbour states other than what was set.
//
//   FakeNetlink host, pod;
//   host.AddNamespace(pod_ns_fd, &pod);   // a veth end with IFLA_NET_NS_FD pod_ns_fd lands in pod
//   cni::Add(host, ...);
//   EXPECT_TRUE(pod.GetLink("eth0").ok());
//
// Thread-safe: every fake shares one process-wide mutex, so a veth pair spanning two fakes is
// created atomically without lock ordering.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/netlink/netlink.h"
#include "kernel/netlink/parse.h"

namespace knet::kernel::netlink {

class FakeNetlink final : public Netlink {
 public:
  // Starts with `lo` (index 1, up, MTU 65536), as a new network namespace does.
  FakeNetlink();

  // Requests whose link is in namespace `netns_fd` (IFLA_NET_NS_FD) go to `other`, which must
  // outlive this fake. A request without IFLA_NET_NS_FD stays here; one naming this fake's own
  // namespace needs AddNamespace(fd, this). An unregistered descriptor fails with EBADF.
  void AddNamespace(int netns_fd, FakeNetlink* other);
  // The next request whose description contains `substring` fails with `err` without effect
  // (fault injection, e.g. for rollback tests). Each call arms one failure.
  void FailNext(std::string substring, int err);
  // Every request executed so far, in order (failed ones included).
  std::vector<Request> requests() const;

  using Netlink::Execute;
  base::Status Execute(std::span<const Request> requests) override;
  base::StatusOr<std::vector<Link>> ListLinks() override;
  base::StatusOr<Link> GetLink(std::string_view name) override;
  base::StatusOr<Link> GetLink(int index) override;
  using Netlink::ListAddresses;
  base::StatusOr<std::vector<Address>> ListAddresses(uint8_t family) override;
  base::StatusOr<std::vector<Route>> ListRoutes(uint8_t family) override;
  base::StatusOr<std::vector<Neighbor>> ListNeighbors(NeighborKind kind) override;

 private:
  struct State {
    int next_index = 2;
    std::map<int, Link> links;
    std::vector<Address> addresses;
    std::vector<Route> routes;
    std::vector<Neighbor> neighbors;
    std::map<int, FakeNetlink*> peer_namespace;  // veth index → the fake holding its peer
  };

  // errno of applying one request, 0 on success. REQUIRES: Mu() held (for every method below).
  int Apply(const Request& request);
  int ApplyLink(const Request& request);
  int CreateLink(const LinkMessage& m);
  int ChangeLink(const LinkMessage& m);
  int ApplyAddress(const Request& request);
  int ApplyRoute(const Request& request);
  int ApplyNeighbor(const Request& request);
  // Removes a link and everything on it, and its veth peer.
  void RemoveLink(int index);
  // this for -1; nullptr for an unknown descriptor.
  FakeNetlink* NamespaceFor(int netns_fd);
  Link* FindLink(std::string_view name);
  Link* FindLink(int index);
  int AddLink(Link link);

  static std::mutex& Mu();

  State state_;                                        // GUARDED_BY(Mu())
  std::map<int, FakeNetlink*> namespaces_;             // GUARDED_BY(Mu())
  std::vector<std::pair<std::string, int>> failures_;  // GUARDED_BY(Mu())
  std::vector<Request> log_;                           // GUARDED_BY(Mu())
};

}  // namespace knet::kernel::netlink
