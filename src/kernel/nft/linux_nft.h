// File: kernel/nft/linux_nft.h
//
// LinuxNftables: the Nftables seam over a NETLINK_NETFILTER socket (libmnl) bound in one network
// namespace for its whole life. Apply sends the transaction as ONE nfnetlink batch (built by
// message.h) in one sendmsg; the kernel applies the batch in the sender's context and commits it
// only if every message succeeded, so all answers (one per failing message, and an ACK for the
// last message) are queued when sendmsg returns and are read
// without blocking. The first failing operation (in transaction order) is reported with its errno.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<LinuxNftables> nft, LinuxNftables::Open());
//   RETURN_IF_ERROR(nft->Apply(tx));
//
// Thread-safe: a mutex serialises requests on the socket. Only src/cmd and tests construct it.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "kernel/netns/netns.h"
#include "kernel/nft/nft.h"

struct mnl_socket;

namespace knet::kernel::nft {

class LinuxNftables final : public Nftables {
 public:
  // A socket in the calling thread's network namespace.
  static base::StatusOr<std::unique_ptr<LinuxNftables>> Open();
  // A socket in `ns` (created on a helper thread; the caller's thread does not move).
  static base::StatusOr<std::unique_ptr<LinuxNftables>> Open(const netns::Netns& ns);
  ~LinuxNftables() override;
  LinuxNftables(const LinuxNftables&) = delete;
  LinuxNftables& operator=(const LinuxNftables&) = delete;

  base::Status Apply(const Transaction& tx) override;
  base::StatusOr<std::vector<ListedRule>> ListRules(const ChainRef& chain) override;

 private:
  explicit LinuxNftables(mnl_socket* socket);
  base::Status Send(std::span<const uint8_t> bytes, const std::string& what);

  std::mutex mu_;
  mnl_socket* socket_;  // owned
  uint32_t portid_;
  uint32_t seq_;       // GUARDED_BY(mu_)
  size_t sndbuf_ = 0;  // GUARDED_BY(mu_): the send buffer size last asked for
};

}  // namespace knet::kernel::nft
