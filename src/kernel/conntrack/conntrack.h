// File: kernel/conntrack/conntrack.h
//
// Conntrack: deletes connection-tracking entries that match a filter, as kube-proxy does for UDP
// services whose endpoint went away (conntrack -D -p udp --orig-dst <service IP> --dport <port>,
// and conntrack -D -p udp --reply-src <endpoint IP>). Without it a UDP flow that keeps its socket
// stays DNATed to the deleted endpoint until its entry times out.
//
// LinuxConntrack (linux_conntrack.h) talks ctnetlink (NETLINK_NETFILTER) over libmnl: it dumps the
// table of the filter's family, matches the entries in user space and deletes each match with
// IPCTNL_MSG_CT_DELETE by its original tuple. FakeConntrack (fake_conntrack.h) holds entries in
// memory for tests. Message building and parsing live in message.h.
//
//   conntrack::Filter f{.protocol = IPPROTO_UDP, .orig_dst = service_ip, .orig_dst_port = 53};
//   ASSIGN_OR_RETURN(size_t deleted, ct->Delete(f));
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/ip.h"
#include "base/status.h"

namespace knet::kernel::conntrack {

// One direction of a connection: addresses, protocol and ports (0 for protocols without ports).
struct Tuple {
  base::IPAddress src, dst;
  uint8_t protocol = 0;
  uint16_t src_port = 0, dst_port = 0;
  friend bool operator==(const Tuple&, const Tuple&) = default;
};

// One conntrack entry: the original direction and the reply direction (after NAT, the reply's
// source is the real destination, e.g. a service's endpoint).
struct Entry {
  Tuple orig, reply;
  uint16_t zone = 0;
  friend bool operator==(const Entry&, const Entry&) = default;
};

// Which entries to delete: all set fields must match. At least one of orig_dst, reply_src and
// orig_dst_port must be set; the filter's family is its addresses' (both of the same family), or
// `family` when it has none (a NodePort: `conntrack -D -p udp --dport <port>`).
struct Filter {
  uint8_t protocol = 17;  // IPPROTO_UDP
  std::optional<base::IPAddress> orig_dst;
  uint16_t orig_dst_port = 0;  // 0: any
  std::optional<base::IPAddress> reply_src;
  uint8_t family = 0;  // AF_INET or AF_INET6; only read when no address is set

  // AF_INET or AF_INET6 (after Validate).
  uint8_t Family() const;

  bool Matches(const Entry& e) const;
  // "udp orig-dst 10.96.0.10:53", for errors and logs.
  std::string String() const;
  base::Status Validate() const;
};

class Conntrack {
 public:
  virtual ~Conntrack() = default;
  // Deletes the entries matching `filter`; returns how many it deleted (an entry that vanished
  // meanwhile is not an error).
  virtual base::StatusOr<size_t> Delete(const Filter& filter) = 0;
};

}  // namespace knet::kernel::conntrack
