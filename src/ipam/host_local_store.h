// File: ipam/host_local_store.h
//
// HostLocalStore: host-local IPAM's on-disk address store, safe to share between processes.
// The directory (default /var/lib/cni/networks/<network name>, see IpamConfig::StoreDir) holds
//   - one file per reserved address, named by the address ("10.244.1.5", "fd00:1::5"), holding the
//     attachment (container ID and interface name) and the reservation's state (below);
//   - "last_reserved_ip.<N>": the address most recently reserved from range set N; the next
//     allocation starts after it and wraps (host-local's rotation, which delays reuse);
//   - "lock": every operation holds flock(LOCK_EX) on it, so concurrent processes (and threads that
//     each Open the store) never hand out one address twice.
//
// Crash and reboot safety. Allocate records a reservation as *pending*, with the reserving
// process's pid, that process's start time (/proc/<pid>/stat field 22, against pid reuse) and the
// boot id (/proc/sys/kernel/random/boot_id) and pid namespace (/proc/self/ns/pid). Commit marks it
// *committed* when ADD has finished.
// Under the lock, Allocate, HasFreeAddress and GarbageCollect first reclaim (delete):
//   - a pending reservation of this boot and pid namespace whose process is gone (no such pid, a
//     zombie, or a pid now used by a process with another start time): an ADD that crashed or was
//     killed. A pending reservation from another pid namespace cannot be judged by pid and is
//     left alone (Release, GC, or a later ADD from that namespace removes it);
//   - any pending reservation from another boot: its ADD cannot be running any more;
//   - empty or unreadable reservation files and stale temporary files (an interrupted write).
// Committed reservations are never reclaimed implicitly, not even from an earlier boot: the
// runtime may restore containers with their addresses after a reboot. They go when the runtime
// says so: Release (DEL) or GarbageCollect (GC) with a list that does not name them. A
// reservation file written by the reference host-local plugin ("<id>\r\n<ifname>") reads as
// committed.
//
//   ASSIGN_OR_RETURN(ipam::HostLocalStore store, ipam::HostLocalStore::Open(cfg.StoreDir()));
//   ASSIGN_OR_RETURN(ipam::Allocation a, store.Allocate(cfg, {container_id, ifname}, requested));
//   ... set up the interface; on failure store.Release(att) ...
//   RETURN_IF_ERROR(store.Commit({container_id, ifname}));
//
// A HostLocalStore is movable, not copyable, and thread-compatible: share one object between
// threads only with external synchronisation (or Open one per thread; the flock serialises them).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/ip.h"
#include "base/status.h"
#include "ipam/config.h"

namespace knet::ipam {

// One interface of one container: the key of a reservation (CNI_CONTAINERID, CNI_IFNAME).
struct Attachment {
  std::string container_id;
  std::string ifname;
  // "<container_id>/<ifname>".
  std::string ToString() const;
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

// One address handed out, for the CNI result's "ips" entry.
struct AllocatedIp {
  base::IPAddress address;
  int prefix_len = 0;       // the subnet's
  base::IPAddress gateway;  // the range's gateway
  base::Cidr subnet;
  size_t range_set = 0;  // index into IpamConfig::range_sets
  // "10.244.1.5/24".
  std::string ToString() const;
  friend bool operator==(const AllocatedIp&, const AllocatedIp&) = default;
};

// What ADD reports: one address per range set, in range-set order, and the configured routes.
struct Allocation {
  std::vector<AllocatedIp> ips;
  std::vector<Route> routes;
};

enum class ReservationState { kPending, kCommitted };

// A reservation file, as read back (for CHECK, debugging and tests).
struct Reservation {
  base::IPAddress ip;
  Attachment attachment;
  ReservationState state = ReservationState::kCommitted;
  pid_t pid = 0;            // the reserving process (0 for host-local's own files)
  uint64_t start_time = 0;  // its start time in clock ticks since boot
  std::string boot_id;      // empty for host-local's own files
  std::string pid_ns;       // the reserver's pid namespace ("pid:[4026531836]"), or empty
};

struct StoreOptions {
  // The current boot id; empty reads /proc/sys/kernel/random/boot_id. Set it only to simulate a
  // reboot (tests) or where /proc is not mounted.
  std::string boot_id;
};

class HostLocalStore {
 public:
  // Opens (creating it and its parents, mode 0755, if needed) the store in `dir`.
  // Errors: the errno of mkdir/open with the path; Internal if the boot id cannot be read.
  static base::StatusOr<HostLocalStore> Open(const std::string& dir,
                                             const StoreOptions& options = {});

  HostLocalStore(HostLocalStore&& other) noexcept;
  HostLocalStore& operator=(HostLocalStore&& other) noexcept;
  HostLocalStore(const HostLocalStore&) = delete;
  HostLocalStore& operator=(const HostLocalStore&) = delete;
  ~HostLocalStore();

  const std::string& dir() const { return dir_; }

  // Reserves one address from every range set of `config` for `attachment`, as pending, after
  // reclaiming stale reservations (see the file comment). `requested` addresses are honoured:
  // each must lie within a range (rangeStart..rangeEnd) of a distinct range set and not be the
  // gateway, excluded or reserved; range sets without a requested address get the next free one
  // after that set's last reserved address, wrapping around. All or nothing: on error nothing
  // stays reserved.
  // Errors: InvalidArgument (empty or multi-line container ID or ifname; a requested address in
  // no range, or two in one range set; a requested gateway or excluded address); AlreadyExists
  // (the attachment already holds an address in this store: DEL it first, as host-local demands;
  // or a requested address is reserved by another attachment); ResourceExhausted (a range set has
  // no free address: the message names it); I/O errors with the path.
  base::StatusOr<Allocation> Allocate(const IpamConfig& config, const Attachment& attachment,
                                      const std::vector<base::IPAddress>& requested = {});

  // Marks the attachment's pending reservations committed (ADD finished). Committing an already
  // committed reservation is a no-op. NotFound if the attachment holds no reservation (it was
  // released or reclaimed meanwhile).
  base::Status Commit(const Attachment& attachment);

  // Releases every address of the attachment (DEL). Idempotent: nothing to release is success.
  base::Status Release(const Attachment& attachment);

  // Releases every reservation whose attachment is not in `valid` (CNI GC), except pending ones
  // whose process is still running in this boot (an ADD in flight); also reclaims stale ones.
  // Returns how many reservations were removed.
  base::StatusOr<int> GarbageCollect(const std::vector<Attachment>& valid);

  // True if every range set of `config` still has an address Allocate could hand out (stale
  // reservations count as free: the next Allocate reclaims them). False means STATUS should
  // report code 50.
  base::StatusOr<bool> HasFreeAddress(const IpamConfig& config);

  // The addresses reserved for `attachment` (for CHECK), in address order.
  base::StatusOr<std::vector<base::IPAddress>> AddressesOf(const Attachment& attachment);

  // Every reservation file, in address order; unreadable files are skipped.
  base::StatusOr<std::vector<Reservation>> List();

 private:
  class LockGuard;

  HostLocalStore(std::string dir, int lock_fd, std::string boot_id, std::string pid_ns)
      : dir_(std::move(dir)),
        lock_fd_(lock_fd),
        boot_id_(std::move(boot_id)),
        pid_ns_(std::move(pid_ns)) {}

  // REQUIRES: the lock is held. Reads every reservation; deletes stale ones (and, if
  // `keep` is not null, also every reservation not in *keep except live pending ones), counting
  // the deletions in *removed. Returns the reservations that remain.
  base::StatusOr<std::vector<Reservation>> LoadAndReclaim(const std::vector<Attachment>* keep,
                                                          int* removed);
  bool IsStale(const Reservation& r) const;
  base::Status WriteReservation(const Reservation& r, bool exclusive);
  base::Status RemoveFile(const std::string& name);

  std::string dir_;
  int lock_fd_ = -1;
  std::string boot_id_;
  std::string pid_ns_;
};

}  // namespace knet::ipam
