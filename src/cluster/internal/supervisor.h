// File: cluster/internal/supervisor.h
//
// The processes of a local cluster: start one detached (its own session, output appended to a log
// file, optionally inside a node's network namespace) so it outlives `knet cluster up`; tell
// whether a recorded one still runs (pid and start time both match); stop a set of them (SIGTERM,
// then SIGKILL after a grace period); and sweep up whatever is left in the cluster's namespaces or
// runs from its state dir. Thread-compatible free functions.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "cluster/internal/manifest.h"

namespace knet::cluster::internal {

// Field 22 of /proc/<pid>/stat; NotFound if there is no such process (or it is a zombie).
base::StatusOr<uint64_t> ProcessStartTime(pid_t pid);

// Starts argv detached: new session, stdin /dev/null, stdout+stderr appended to `log`, in the
// network namespace at `netns_path` unless empty. The environment is ours.
base::StatusOr<ProcessRecord> StartDetached(const std::string& role, const std::string& name,
                                            const std::vector<std::string>& argv,
                                            const std::string& netns_path, const std::string& log);

// True if the recorded process runs (same pid, same start time, not a zombie). Reaps it if it is
// our exited child.
bool IsRunning(const ProcessRecord& p);

// SIGTERM to each running process, waits up to `grace` for all, then SIGKILL to the rest and waits
// for them. Returns the names of any that still run after that.
std::vector<std::string> StopProcesses(const std::vector<ProcessRecord>& procs,
                                       std::chrono::milliseconds grace);

// The inode of a network namespace file (/run/netns/<name> or /proc/<pid>/ns/net); NotFound if it
// does not exist.
base::StatusOr<ino_t> NetnsInode(const std::string& path);

// SIGKILLs every process (except this one and its ancestors) that lives in one of the network
// namespaces `netns_inodes`, or has an argument starting with `state_dir + "/"` (or "--flag=" and
// then that), and waits up to `wait` for them to go. Returns how many it killed.
int SweepProcesses(const std::set<ino_t>& netns_inodes, const std::string& state_dir,
                   std::chrono::milliseconds wait);

// An exclusive flock on kHostLockPath, held until destruction. Move-only.
class HostLock {
 public:
  // Blocks until the lock is free.
  static base::StatusOr<HostLock> Acquire();
  HostLock(HostLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  HostLock& operator=(HostLock&&) = delete;
  HostLock(const HostLock&) = delete;
  HostLock& operator=(const HostLock&) = delete;
  ~HostLock();

 private:
  explicit HostLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace knet::cluster::internal
