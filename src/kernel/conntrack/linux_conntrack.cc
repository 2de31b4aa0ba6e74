#include "kernel/conntrack/linux_conntrack.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "kernel/conntrack/message.h"

namespace knet::kernel::conntrack {
namespace {

constexpr size_t kReceiveBuffer = size_t{64} * 1024;
// A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is retried this often.
constexpr int kDumpAttempts = 5;

struct DumpState {
  std::vector<Entry>* out;
  base::Status status;
  bool interrupted = false;
};

int OnEntry(const nlmsghdr* h, void* data) {
  auto* st = static_cast<DumpState*>(data);
  if (h->nlmsg_flags & NLM_F_DUMP_INTR) st->interrupted = true;
  auto e = ParseEntry(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(h), h->nlmsg_len));
  if (!e.ok()) {
    st->status = e.status();
    return MNL_CB_ERROR;
  }
  st->out->push_back(*std::move(e));
  return MNL_CB_OK;
}

}  // namespace

base::StatusOr<std::unique_ptr<LinuxConntrack>> LinuxConntrack::Open() {
  mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (s == nullptr) return base::ErrnoError(errno, "opening a ctnetlink socket");
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(s);
    return base::ErrnoError(err, "binding a ctnetlink socket");
  }
  return std::unique_ptr<LinuxConntrack>(new LinuxConntrack(s));
}

base::StatusOr<std::unique_ptr<LinuxConntrack>> LinuxConntrack::Open(const netns::Netns& ns) {
  std::unique_ptr<LinuxConntrack> ct;
  // A netlink socket belongs to the namespace it was created in, whichever thread uses it later.
  RETURN_IF_ERROR(netns::RunIn(ns, [&]() -> base::Status {
                    ASSIGN_OR_RETURN(ct, Open());
                    return base::OkStatus();
                  }).WithContext("in network namespace " + ns.path()));
  return ct;
}

LinuxConntrack::LinuxConntrack(mnl_socket* socket)
    : socket_(socket), portid_(mnl_socket_get_portid(socket)) {}

LinuxConntrack::~LinuxConntrack() { mnl_socket_close(socket_); }

base::StatusOr<std::vector<Entry>> LinuxConntrack::List(uint8_t family) {
  std::lock_guard<std::mutex> l(mu_);
  return ListLocked(family);
}

base::StatusOr<std::vector<Entry>> LinuxConntrack::ListLocked(uint8_t family) {
  const std::string what =
      std::string("dumping the ") + (family == AF_INET ? "IPv4" : "IPv6") + " conntrack table";
  std::vector<uint8_t> buf(kReceiveBuffer);
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    uint32_t seq = ++seq_;
    std::vector<uint8_t> req = BuildDumpRequest(family, seq);
    if (mnl_socket_sendto(socket_, req.data(), req.size()) < 0) {
      return base::ErrnoError(errno, what + ": sending");
    }
    std::vector<Entry> entries;
    DumpState st{&entries, base::OkStatus()};
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return base::ErrnoError(errno, what + ": receiving");
      int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid_, OnEntry, &st);
      if (r == MNL_CB_STOP) break;
      if (r < 0) {
        if (!st.status.ok()) return st.status.WithContext(what);
        // A dump the kernel aborted as inconsistent: retry it.
        if (errno == EINTR) {
          st.interrupted = true;
          break;
        }
        return base::ErrnoError(errno, what);
      }
    }
    if (!st.interrupted) return entries;
  }
  return base::UnavailableError(what + ": interrupted by concurrent changes " +
                                std::to_string(kDumpAttempts) + " times");
}

base::Status LinuxConntrack::Transact(const std::vector<uint8_t>& request, uint32_t seq,
                                      const std::string& what) {
  if (mnl_socket_sendto(socket_, request.data(), request.size()) < 0) {
    return base::ErrnoError(errno, what + ": sending");
  }
  std::vector<uint8_t> buf(kReceiveBuffer);
  int r = MNL_CB_OK;
  while (r > 0) {
    ssize_t n = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoError(errno, what + ": receiving");
    r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid_, nullptr, nullptr);
  }
  if (r < 0) return base::ErrnoError(errno, what);
  return base::OkStatus();
}

base::Status LinuxConntrack::Create(const Entry& e, uint32_t timeout_seconds) {
  std::lock_guard<std::mutex> l(mu_);
  uint32_t seq = ++seq_;
  return Transact(BuildCreateRequest(e, timeout_seconds, seq), seq,
                  "creating conntrack entry to " + e.orig.dst.ToString());
}

base::StatusOr<size_t> LinuxConntrack::Delete(const Filter& filter) {
  RETURN_IF_ERROR(filter.Validate());
  std::lock_guard<std::mutex> l(mu_);
  auto listed = ListLocked(filter.Family());
  if (!listed.ok()) {
    return listed.status().WithContext("deleting conntrack entries " + filter.String());
  }
  const std::vector<Entry>& entries = *listed;
  size_t deleted = 0;
  for (const Entry& e : entries) {
    if (!filter.Matches(e)) continue;
    uint32_t seq = ++seq_;
    base::Status st =
        Transact(BuildDeleteRequest(e, seq), seq, "deleting conntrack entries " + filter.String());
    if (st.code() == base::StatusCode::kNotFound) continue;  // expired meanwhile
    RETURN_IF_ERROR(st);
    ++deleted;
  }
  return deleted;
}

}  // namespace knet::kernel::conntrack
