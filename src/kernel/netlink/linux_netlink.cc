#include "kernel/netlink/linux_netlink.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "kernel/netlink/parse.h"

namespace knet::kernel::netlink {
namespace {

using base::Status;
using base::StatusOr;

// Replies of a dump are at most 32 KiB per datagram on current kernels; leave room.
constexpr size_t kReceiveBuffer = size_t{64} * 1024;
// A batch is sent in datagrams of at most this size (well under the default socket send buffer).
constexpr size_t kSendChunk = size_t{32} * 1024;
// Requests in flight at once: each unread ACK holds an skb of ~1 KiB of receive buffer, so an
// unbounded batch would overflow it (ENOBUFS) after a few hundred requests.
constexpr size_t kWindow = 128;
// A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is retried this often.
constexpr int kDumpAttempts = 5;

static_assert(!std::is_abstract_v<LinuxNetlink>, "LinuxNetlink implements Netlink");

StatusOr<mnl_socket*> OpenSocket() {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (s == nullptr) return base::ErrnoError(errno, "opening an rtnetlink socket");
  int one = 1;
  // Best effort: older kernels lack them, and nothing depends on them but error messages.
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(s);
    return base::ErrnoError(err, "binding an rtnetlink socket");
  }
  return s;
}

nlmsghdr Header(std::span<const uint8_t> message) {
  nlmsghdr h{};
  std::memcpy(&h, message.data(), sizeof(h));
  return h;
}

// Copies `r` to the end of `out` with this sequence number and NLM_F_ACK as asked.
void Append(const Request& r, uint32_t seq, bool ack, std::vector<uint8_t>* out) {
  size_t off = out->size();
  out->insert(out->end(), r.bytes().begin(), r.bytes().end());
  out->resize(off + NLMSG_ALIGN(r.bytes().size()), 0);
  nlmsghdr h = Header(r.bytes());
  h.nlmsg_seq = seq;
  h.nlmsg_pid = 0;
  if (ack) h.nlmsg_flags = static_cast<uint16_t>(h.nlmsg_flags | NLM_F_ACK);
  std::memcpy(out->data() + off, &h, sizeof(h));
}

}  // namespace

StatusOr<std::unique_ptr<LinuxNetlink>> LinuxNetlink::Open() {
  ASSIGN_OR_RETURN(mnl_socket * s, OpenSocket());
  return std::unique_ptr<LinuxNetlink>(new LinuxNetlink(s));
}

StatusOr<std::unique_ptr<LinuxNetlink>> LinuxNetlink::Open(const netns::Netns& ns) {
  mnl_socket* s = nullptr;
  // A netlink socket belongs to the namespace it was created in, whichever thread uses it later.
  RETURN_IF_ERROR(netns::RunIn(ns, [&]() -> Status {
                    ASSIGN_OR_RETURN(s, OpenSocket());
                    return base::OkStatus();
                  }).WithContext("in network namespace " + ns.path()));
  return std::unique_ptr<LinuxNetlink>(new LinuxNetlink(s));
}

LinuxNetlink::LinuxNetlink(mnl_socket* socket)
    : socket_(socket), portid_(mnl_socket_get_portid(socket)), seq_(0) {}

LinuxNetlink::~LinuxNetlink() { mnl_socket_close(socket_); }

Status LinuxNetlink::Send(std::span<const uint8_t> bytes, const std::string& what) {
  for (;;) {
    ssize_t n = mnl_socket_sendto(socket_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return NetlinkError(errno, what + ": sending");
    if (static_cast<size_t>(n) != bytes.size()) {
      return base::InternalError(what + ": short netlink send");
    }
    return base::OkStatus();
  }
}

Status LinuxNetlink::Execute(std::span<const Request> requests) {
  for (const Request& r : requests) {
    if (!r.valid()) return base::InvalidArgumentError(r.what() + ": malformed request bytes");
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Status> results(requests.size());
  for (size_t start = 0; start < requests.size(); start += kWindow) {
    RETURN_IF_ERROR(
        ExecuteWindow(requests.subspan(start, std::min(kWindow, requests.size() - start)),
                      std::span<Status>(results).subspan(start)));
  }
  for (Status& s : results) {
    if (!s.ok()) return s;
  }
  return base::OkStatus();
}

Status LinuxNetlink::ExecuteWindow(std::span<const Request> requests,
                                   std::span<base::Status> results) {
  const uint32_t first = seq_ + 1;
  const size_t n = requests.size();
  std::vector<uint8_t> chunk;
  for (size_t i = 0; i < n; ++i) {
    if (!chunk.empty() && chunk.size() + requests[i].bytes().size() > kSendChunk) {
      RETURN_IF_ERROR(Send(chunk, requests[i - 1].what()));
      chunk.clear();
    }
    Append(requests[i], ++seq_, /*ack=*/true, &chunk);
  }
  RETURN_IF_ERROR(Send(chunk, requests[n - 1].what()));

  std::vector<bool> answered(n, false);
  size_t pending = n;
  std::vector<uint8_t> buf(kReceiveBuffer);
  while (pending > 0) {
    ssize_t len = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
    if (len < 0 && errno == EINTR) continue;
    if (len < 0) return NetlinkError(errno, requests[0].what() + ": reading the ACKs");
    auto messages = SplitMessages(std::span<const uint8_t>(buf.data(), static_cast<size_t>(len)));
    if (!messages.ok()) return messages.status().WithContext(requests[0].what());
    for (auto m : *messages) {
      if (Header(m).nlmsg_type != NLMSG_ERROR) continue;
      auto ack = ParseAck(m);
      if (!ack.ok()) return ack.status().WithContext(requests[0].what());
      size_t i = ack->seq - first;  // unsigned: wraps past n for stale replies
      if (i >= n || answered[i]) continue;
      answered[i] = true;
      --pending;
      if (ack->error != 0) results[i] = NetlinkError(-ack->error, requests[i].what(), ack->message);
    }
  }
  return base::OkStatus();
}

StatusOr<std::vector<uint8_t>> LinuxNetlink::Query(const Request& request) {
  if (!request.valid()) return base::InvalidArgumentError(request.what() + ": malformed request");
  const bool dump = (request.flags() & NLM_F_DUMP) == NLM_F_DUMP;
  for (int attempt = 0;; ++attempt) {
    std::lock_guard<std::mutex> lock(mu_);
    const uint32_t seq = ++seq_;
    std::vector<uint8_t> out;
    Append(request, seq, /*ack=*/!dump, &out);
    RETURN_IF_ERROR(Send(out, request.what()));

    std::vector<uint8_t> reply;
    std::vector<uint8_t> buf(kReceiveBuffer);
    bool interrupted = false;
    bool done = false;
    while (!done) {
      ssize_t len = mnl_socket_recvfrom(socket_, buf.data(), buf.size());
      if (len < 0 && errno == EINTR) continue;
      if (len < 0) return NetlinkError(errno, request.what() + ": reading the reply");
      auto messages = SplitMessages(std::span<const uint8_t>(buf.data(), static_cast<size_t>(len)));
      if (!messages.ok()) return messages.status().WithContext(request.what());
      for (auto m : *messages) {
        nlmsghdr h = Header(m);
        if (h.nlmsg_seq != seq) continue;  // a stale reply to an abandoned request
        if ((h.nlmsg_flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
        if (h.nlmsg_type == NLMSG_ERROR) {
          ASSIGN_OR_RETURN(Ack ack, ParseAck(m));
          if (ack.error != 0) return NetlinkError(-ack.error, request.what(), ack.message);
          done = true;
          break;
        }
        if (h.nlmsg_type == NLMSG_DONE) {
          int error = 0;
          if (m.size() >= sizeof(nlmsghdr) + sizeof(int)) {
            std::memcpy(&error, m.data() + sizeof(nlmsghdr), sizeof(int));
          }
          if (error < 0) return NetlinkError(-error, request.what());
          done = true;
          break;
        }
        reply.insert(reply.end(), m.begin(), m.end());
        reply.resize(NLMSG_ALIGN(reply.size()), 0);
      }
    }
    if (!interrupted) return reply;
    if (attempt + 1 >= kDumpAttempts) {
      return base::UnavailableError(request.what() + ": dump interrupted by concurrent changes " +
                                    std::to_string(kDumpAttempts) + " times");
    }
  }
}

StatusOr<std::vector<Link>> LinuxNetlink::ListLinks() {
  ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Query(DumpLinksRequest()));
  return ParseLinks(reply);
}

StatusOr<Link> LinuxNetlink::GetLink(std::string_view name) {
  ASSIGN_OR_RETURN(Request request, GetLinkRequest(name));
  ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Query(request));
  ASSIGN_OR_RETURN(std::vector<Link> links, ParseLinks(reply));
  if (links.empty()) return base::NotFoundError(request.what() + ": no link in the reply");
  return links.front();
}

StatusOr<Link> LinuxNetlink::GetLink(int index) {
  Request request = GetLinkRequest(index);
  ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Query(request));
  ASSIGN_OR_RETURN(std::vector<Link> links, ParseLinks(reply));
  if (links.empty()) return base::NotFoundError(request.what() + ": no link in the reply");
  return links.front();
}

StatusOr<std::vector<Address>> LinuxNetlink::ListAddresses(uint8_t family) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Query(DumpAddressesRequest(family)));
  return ParseAddresses(reply);
}

StatusOr<std::vector<Route>> LinuxNetlink::ListRoutes(uint8_t family) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Query(DumpRoutesRequest(family)));
  return ParseRoutes(reply);
}

StatusOr<std::vector<Neighbor>> LinuxNetlink::ListNeighbors(NeighborKind kind) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> reply, Query(DumpNeighborsRequest(kind)));
  ASSIGN_OR_RETURN(std::vector<Neighbor> all, ParseNeighbors(reply));
  std::vector<Neighbor> out;
  for (auto& n : all) {
    if (n.kind == kind) out.push_back(n);
  }
  return out;
}

}  // namespace knet::kernel::netlink
