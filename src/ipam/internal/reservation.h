// File: ipam/internal/reservation.h
//
// The bytes of a reservation file, and the process facts that decide whether a pending
// reservation is stale. Format (one key=value per line, "\n" line ends):
//   id=<container id>
//   ifname=<interface name>
//   state=pending|committed
//   pid=<decimal pid>
//   start=<process start time, clock ticks since boot>
//   boot=<boot id>
//   pidns=<pid namespace of the reserving process, as readlink /proc/self/ns/pid shows it>
// A file in the reference host-local plugin's format ("<id>\r\n<ifname>", or only "<id>") parses
// as committed with pid 0 and an empty boot id.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "ipam/host_local_store.h"

namespace knet::ipam::ipam_internal {

std::string FormatReservation(const Reservation& r);
// `ip` is the file's name, parsed. DataLoss for an empty or malformed file.
base::StatusOr<Reservation> ParseReservation(const base::IPAddress& ip, std::string_view text);

// The whole content of a small file (at most 1 MiB is read); nullopt if it cannot be opened.
std::optional<std::string> ReadSmallFile(const std::string& path);

// This process's pid namespace, "pid:[<inode>]"; empty if /proc does not tell.
std::string ReadPidNamespace();

// The current boot id, from /proc/sys/kernel/random/boot_id, trimmed.
base::StatusOr<std::string> ReadBootId();
// Field 22 of /proc/<pid>/stat (start time), or nullopt if the process does not exist or is a
// zombie.
std::optional<uint64_t> ProcessStartTime(pid_t pid);
// True if process `pid` runs and (when start_time is not 0) started at `start_time`.
bool ProcessAlive(pid_t pid, uint64_t start_time);

}  // namespace knet::ipam::ipam_internal
