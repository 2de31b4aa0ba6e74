// File: kernel/conntrack/linux_conntrack.h
//
// LinuxConntrack: Conntrack over a NETLINK_NETFILTER socket (libmnl) in the network namespace it
// was opened in. Delete dumps the filter family's table, matches entries in user space and sends
// one IPCTNL_MSG_CT_DELETE per match (ENOENT, an entry that expired meanwhile, is not an error).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<LinuxConntrack> ct, LinuxConntrack::Open());
//
// Thread-safe: a mutex serialises requests on the socket. Only src/cmd and tests construct it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/conntrack/conntrack.h"
#include "kernel/netns/netns.h"

struct mnl_socket;

namespace knet::kernel::conntrack {

class LinuxConntrack final : public Conntrack {
 public:
  // A socket in the calling thread's network namespace.
  static base::StatusOr<std::unique_ptr<LinuxConntrack>> Open();
  // A socket in `ns` (created on a helper thread that joins `ns`).
  static base::StatusOr<std::unique_ptr<LinuxConntrack>> Open(const netns::Netns& ns);
  ~LinuxConntrack() override;

  base::StatusOr<size_t> Delete(const Filter& filter) override;
  // Creates `e` (as `conntrack -I`); for tests and tools.
  base::Status Create(const Entry& e, uint32_t timeout_seconds);
  // Every entry of `family` (AF_INET or AF_INET6).
  base::StatusOr<std::vector<Entry>> List(uint8_t family);

 private:
  explicit LinuxConntrack(mnl_socket* socket);
  base::StatusOr<std::vector<Entry>> ListLocked(uint8_t family);
  // Sends a request that expects an ACK and waits for it. REQUIRES: mu_ held.
  base::Status Transact(const std::vector<uint8_t>& request, uint32_t seq, const std::string& what);

  std::mutex mu_;
  mnl_socket* socket_;  // owned
  uint32_t portid_;
  uint32_t seq_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace knet::kernel::conntrack
