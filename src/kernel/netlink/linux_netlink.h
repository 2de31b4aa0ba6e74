// File: kernel/netlink/linux_netlink.h
//
// LinuxNetlink: Netlink over an NETLINK_ROUTE socket (libmnl) bound in one network namespace for
// its whole life. Requests get sequence numbers from the socket; a batch goes out in one sendmsg
// and every ACK is read and matched by sequence number (large batches go in windows of 128
// requests, so unread ACKs never overflow the receive buffer). Extended ACKs are on, so kernel
// reasons appear in errors ("... : Invalid argument (kernel: Unknown device type)").
//
//   ASSIGN_OR_RETURN(netns::Netns pod_ns, netns::Netns::Open(netns_path));
//   ASSIGN_OR_RETURN(std::unique_ptr<LinuxNetlink> nl, LinuxNetlink::Open(pod_ns));
//
// Thread-safe: a mutex serialises requests on the socket. Only src/cmd and tests construct it.
#pragma once

#include <memory>
#include <mutex>

#include "kernel/netlink/netlink.h"
#include "kernel/netns/netns.h"

struct mnl_socket;

namespace knet::kernel::netlink {

class LinuxNetlink final : public Netlink {
 public:
  // A socket in the calling thread's network namespace.
  static base::StatusOr<std::unique_ptr<LinuxNetlink>> Open();
  // A socket in `ns` (created on a helper thread that joins `ns`; the caller's thread does not
  // move).
  static base::StatusOr<std::unique_ptr<LinuxNetlink>> Open(const netns::Netns& ns);
  ~LinuxNetlink() override;

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
  explicit LinuxNetlink(mnl_socket* socket);
  // Sends one request and collects every reply message of its sequence up to the final ACK
  // (non-dump) or NLMSG_DONE (dump). The reply bytes are the concatenated messages.
  base::StatusOr<std::vector<uint8_t>> Query(const Request& request);
  // Sends up to kWindow requests and reads their ACKs into `results`. REQUIRES: mu_ held.
  base::Status ExecuteWindow(std::span<const Request> requests, std::span<base::Status> results);
  base::Status Send(std::span<const uint8_t> bytes, const std::string& what);

  std::mutex mu_;
  mnl_socket* socket_;  // owned
  uint32_t portid_;
  uint32_t seq_;  // GUARDED_BY(mu_)
};

}  // namespace knet::kernel::netlink
