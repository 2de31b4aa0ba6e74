// File: agent/prober/internal/conn.h
//
// A probe's byte stream over a connected non-blocking socket: plain TCP, or TLS without
// certificate verification (the kubelet's HTTPS probes skip verification too). Every call is
// bounded by a deadline. Owns (and closes) the socket. Internal to agent_prober.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::agent::prober::internal {

using Deadline = std::chrono::steady_clock::time_point;

class Conn {
 public:
  // Takes ownership of `fd` (also on error).
  static std::unique_ptr<Conn> Plain(int fd);
  // TLS handshake on `fd` (no verification; SNI only when `server_name` is not an IP literal).
  static base::StatusOr<std::unique_ptr<Conn>> Tls(int fd, const std::string& server_name,
                                                   Deadline deadline);
  virtual ~Conn() = default;

  // Writes all of `data`. DeadlineExceeded on timeout.
  virtual base::Status WriteAll(std::string_view data, Deadline deadline) = 0;
  // Reads up to `n` bytes; 0 at the end of the stream. DeadlineExceeded on timeout.
  virtual base::StatusOr<size_t> Read(char* buf, size_t n, Deadline deadline) = 0;
};

// Waits for `events` (POLLIN/POLLOUT) on fd; false on timeout.
base::StatusOr<bool> WaitFor(int fd, short events, Deadline deadline);

}  // namespace knet::agent::prober::internal
