// File: agent/runtime/internal/state.h
//
// The files of a container's state dir <root>/<id>/ and their JSON forms, shared by the runtime
// (which writes spec.json and shim.json) and knet-shim (which writes started.json and exit.json).
// Times are Unix nanoseconds here, RFC 3339 with nanoseconds in the files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/runtime/spec.h"
#include "base/status.h"

namespace knet::agent::runtime::internal {

inline constexpr std::string_view kSpecFile = "spec.json";
inline constexpr std::string_view kShimFile = "shim.json";
inline constexpr std::string_view kStartedFile = "started.json";
inline constexpr std::string_view kExitFile = "exit.json";
inline constexpr std::string_view kShimLogFile = "shim.log";

// Written by the runtime right after starting the shim: which process monitors the container.
struct ShimRecord {
  pid_t pid = 0;
  uint64_t start_time = 0;  // ProcessStartTime(pid), to recognise a reused pid
};

// Written by the shim once the container's process exec'd.
struct StartedRecord {
  pid_t pid = 0;  // also the process group id
  uint64_t pid_start_time = 0;
  int64_t started_at = 0;
};

// Written by the shim when the container exited or failed to start.
struct ExitRecord {
  int exit_code = 0;  // 128+signal when signalled; 128 for StartError
  int signal = 0;
  std::string reason;  // "Completed", "Error", "StartError"
  std::string message;
  int64_t started_at = 0;  // 0 if it never started
  int64_t finished_at = 0;
};

std::string EncodeSpec(const ContainerSpec& spec);
base::StatusOr<ContainerSpec> DecodeSpec(std::string_view json);
std::string EncodeShim(const ShimRecord& r);
base::StatusOr<ShimRecord> DecodeShim(std::string_view json);
std::string EncodeStarted(const StartedRecord& r);
base::StatusOr<StartedRecord> DecodeStarted(std::string_view json);
std::string EncodeExit(const ExitRecord& r);
base::StatusOr<ExitRecord> DecodeExit(std::string_view json);

}  // namespace knet::agent::runtime::internal
