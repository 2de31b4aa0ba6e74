#include "kernel/nft/linux_nft.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "kernel/nft/message.h"

namespace knet::kernel::nft {
namespace {

using base::Status;
using base::StatusOr;

static_assert(!std::is_abstract_v<LinuxNftables>, "LinuxNftables implements Nftables");

// Room for the answers of a batch: only failing messages and the last one are answered, but a
// batch can fail in many messages. Best effort.
constexpr int kRcvBuf = 16 << 20;
// One recv's buffer: larger than any dump message the kernel sizes for us (it sizes them after
// the buffer we read with, starting from about a page).
constexpr size_t kRecvBuffer = 65536;

StatusOr<mnl_socket*> OpenSocket() {
  mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (s == nullptr) return base::ErrnoError(errno, "opening an nfnetlink socket");
  int one = 1;
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
  int size = kRcvBuf;
  if (setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
    (void)setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(s);
    return base::ErrnoError(err, "binding an nfnetlink socket");
  }
  return s;
}

// The kernel's reason from an extended ACK, if any ("" otherwise).
std::string ExtackMessage(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  size_t off = sizeof(*err);
  if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - sizeof(nlmsghdr);
  std::string msg;
  const auto* start = reinterpret_cast<const uint8_t*>(err) + off;
  const auto* end = reinterpret_cast<const uint8_t*>(nlh) + nlh->nlmsg_len;
  if (start >= end) return "";
  auto remaining = static_cast<int>(end - start);
  for (const auto* attr = reinterpret_cast<const nlattr*>(start); mnl_attr_ok(attr, remaining);
       attr = mnl_attr_next(attr)) {
    remaining -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG) msg = mnl_attr_get_str(attr);
  }
  return msg;
}

Status Failure(int err, const std::string& what, const std::string& extack) {
  Status s = base::ErrnoError(err, what);
  if (extack.empty()) return s;
  return Status(s.code(), s.message() + " (kernel: " + extack + ")").set_sys_errno(err);
}

}  // namespace

StatusOr<std::unique_ptr<LinuxNftables>> LinuxNftables::Open() {
  ASSIGN_OR_RETURN(mnl_socket * s, OpenSocket());
  return std::unique_ptr<LinuxNftables>(new LinuxNftables(s));
}

StatusOr<std::unique_ptr<LinuxNftables>> LinuxNftables::Open(const netns::Netns& ns) {
  mnl_socket* s = nullptr;
  RETURN_IF_ERROR(netns::RunIn(ns, [&]() -> Status {
    ASSIGN_OR_RETURN(s, OpenSocket());
    return base::OkStatus();
  }));
  return std::unique_ptr<LinuxNftables>(new LinuxNftables(s));
}

LinuxNftables::LinuxNftables(mnl_socket* socket)
    : socket_(socket),
      portid_(mnl_socket_get_portid(socket)),
      seq_(static_cast<uint32_t>(std::time(nullptr))) {}

LinuxNftables::~LinuxNftables() { mnl_socket_close(socket_); }

Status LinuxNftables::Send(std::span<const uint8_t> bytes, const std::string& what) {
  // A netlink message larger than the socket's send buffer fails with EMSGSIZE; a batch is one
  // message to the socket layer, so grow the buffer to fit it (as nft does).
  if (bytes.size() + 4096 > sndbuf_) {
    int size = static_cast<int>(bytes.size() + 4096);
    int fd = mnl_socket_get_fd(socket_);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0) {
      (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    }
    sndbuf_ = bytes.size() + 4096;
  }
  ssize_t n = mnl_socket_sendto(socket_, bytes.data(), bytes.size());
  if (n < 0) return base::ErrnoError(errno, what);
  if (static_cast<size_t>(n) != bytes.size()) return base::InternalError(what + ": short send");
  return base::OkStatus();
}

Status LinuxNftables::Apply(const Transaction& tx) {
  if (tx.empty()) return base::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  const uint32_t begin = seq_;
  ASSIGN_OR_RETURN(Batch batch, BuildBatch(tx, begin));
  seq_ += static_cast<uint32_t>(batch.messages + 2);
  RETURN_IF_ERROR(Send(batch.bytes, "sending an nf_tables batch"));

  // Only failing messages and the last one (which asks for an ACK) are answered; errors come in
  // message order. Done when the last one is answered.
  int first_err = 0;
  size_t first_err_message = 0;
  std::string first_extack;
  bool last_answered = false;
  int batch_err = 0;
  std::string batch_extack;
  const uint32_t last_seq = batch.first_op_seq + static_cast<uint32_t>(batch.messages) - 1;
  std::vector<uint8_t> buf(kRecvBuffer);
  while (!last_answered && batch_err == 0) {
    // The kernel processed the whole batch inside sendmsg: every answer is already queued, so a
    // read that would block means no more answers are coming.
    ssize_t n = recv(mnl_socket_get_fd(socket_), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return base::ErrnoError(errno, "reading nf_tables batch answers (outcome unknown)");
    }
    auto len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_pid != portid_ || nlh->nlmsg_type != NLMSG_ERROR) continue;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      uint32_t seq = nlh->nlmsg_seq;
      if (seq >= batch.first_op_seq && seq <= last_seq) {
        if (err->error != 0 && first_err == 0) {
          first_err = -err->error;
          first_err_message = seq - batch.first_op_seq;
          first_extack = ExtackMessage(nlh);
        }
        if (seq == last_seq) last_answered = true;
      } else if ((seq == batch.begin_seq || seq == last_seq + 1) && err->error != 0) {
        // The batch as a whole was refused (EPERM without CAP_NET_ADMIN, for one).
        batch_err = -err->error;
        batch_extack = ExtackMessage(nlh);
      }
    }
  }
  if (batch_err != 0) return Failure(batch_err, "applying an nf_tables batch", batch_extack);
  if (first_err != 0) {
    return Failure(first_err, Describe(tx.ops()[batch.op_of_message[first_err_message]]),
                   first_extack);
  }
  if (!last_answered) {
    return base::InternalError(
        "nf_tables did not answer the batch's last message (outcome "
        "unknown)");
  }
  return base::OkStatus();
}

StatusOr<std::vector<ListedRule>> LinuxNftables::ListRules(const ChainRef& chain) {
  const std::string what = "listing rules of " + std::string(FamilyName(chain.family)) + " " +
                           chain.table + " " + chain.chain;
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint8_t> buf(kRecvBuffer);
  // 1. The chain must exist (a filtered rule dump of a missing chain is merely empty).
  uint32_t seq = seq_++;
  RETURN_IF_ERROR(Send(GetChainRequest(chain, seq), what));
  for (bool done = false; !done;) {
    ssize_t n = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
    if (n < 0) return base::ErrnoError(errno, what);
    auto len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_type != NLMSG_ERROR) continue;
      const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (err->error != 0) return Failure(-err->error, what, ExtackMessage(nlh));
      done = true;
    }
  }
  // 2. Dump its rules.
  seq = seq_++;
  RETURN_IF_ERROR(Send(DumpRulesRequest(chain, seq), what));
  std::vector<ListedRule> out;
  for (bool done = false; !done;) {
    ssize_t n = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
    if (n < 0) return base::ErrnoError(errno, what);
    auto len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_seq != seq) continue;
      if (nlh->nlmsg_type == NLMSG_DONE) {
        done = true;
        break;
      }
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (err->error == -EINTR) return base::UnavailableError(what + ": dump interrupted");
        if (err->error != 0) return Failure(-err->error, what, ExtackMessage(nlh));
        done = true;
        break;
      }
      if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE) continue;
      ASSIGN_OR_RETURN(ParsedRule r, ParseRuleMessage(std::span<const uint8_t>(
                                         reinterpret_cast<const uint8_t*>(nlh), nlh->nlmsg_len)));
      if (r.chain == chain.chain) out.push_back(r.rule);
    }
  }
  return out;
}

}  // namespace knet::kernel::nft
