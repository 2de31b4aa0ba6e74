// File: agent/runtime/internal/files.h
//
// Small file and time helpers shared by the runtime and knet-shim: atomic writes (temp + rename),
// RFC 3339 timestamps with nanoseconds, process start times (to tell a live pid from a reused one).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::agent::runtime::internal {

// Writes `data` to path.tmp, fsyncs it and renames it over `path`, so readers see the old or the
// new content, never a part.
base::Status WriteFileAtomic(const std::string& path, std::string_view data);
// The whole file; NotFound if it does not exist.
base::StatusOr<std::string> ReadFile(const std::string& path);
// mkdir -p.
base::Status MakeDirs(const std::string& path, mode_t mode = 0755);
// rm -rf (no error if missing).
base::Status RemoveAll(const std::string& path);

// Unix nanoseconds now (CLOCK_REALTIME).
int64_t NowNanos();
// "2026-11-25T01:02:03.123456789Z": UTC, always nine fractional digits (sortable, as in CRI logs).
std::string FormatRfc3339Nano(int64_t unix_nanos);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction]Z" with 0-9 fractional digits.
base::StatusOr<int64_t> ParseRfc3339Nano(std::string_view text);

// The start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22); with the pid it
// names one process for the lifetime of the machine. NotFound if there is no such process.
base::StatusOr<uint64_t> ProcessStartTime(pid_t pid);

// 32 random hex digits (getrandom).
std::string RandomId();

}  // namespace knet::agent::runtime::internal
