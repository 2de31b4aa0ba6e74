// File: agent/prober/internal/net_probe.h
//
// The socket side of httpGet and tcpSocket probes: a TCP connection opened from inside a network
// namespace, and a minimal HTTP/1.1 GET over it. Internal to agent_prober.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "agent/prober/internal/conn.h"
#include "base/ip.h"
#include "base/status.h"

namespace knet::agent::prober::internal {

// A connected TCP socket (the fd; the caller closes it) to ip:port, created inside `netns_path`
// ("" = the caller's namespace). Unavailable with a kubelet-like message ("dial tcp
// 10.1.0.5:80: connect: connection refused", "... i/o timeout") on failure.
base::StatusOr<int> Dial(const std::string& netns_path, const base::IPAddress& ip, uint16_t port,
                         Deadline deadline);

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;                                          // at most 10 KiB, as the kubelet reads
  std::string Header(const std::string& lower_name) const;
};

// GET `target` (path + query) on `conn` with these headers (already including Host and
// User-Agent); reads the status line, headers and up to 10 KiB of body.
base::StatusOr<HttpResponse> HttpGet(
    Conn& conn, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, Deadline deadline);

}  // namespace knet::agent::prober::internal
