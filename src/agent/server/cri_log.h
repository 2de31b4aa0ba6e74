// File: agent/server/cri_log.h
//
// Reading container log files in the CRI format (one line per chunk of output:
// "<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>") for `kubectl logs`, with kubelet's
// options: tailLines, sinceSeconds/sinceTime, limitBytes, timestamps and follow.
//
//   LogOptions o;
//   o.tail_lines = 10;
//   o.follow = true;
//   Status st = ReadLog(path, o, [&](std::string_view bytes) { return stream->Write(bytes); },
//                       [&] { return container_still_running(); });
//
// Output is the content only; partial (P) chunks are joined with the chunk that ends the line, and
// count as one line for tailLines. With timestamps, each line starts with its first chunk's
// timestamp formatted as kubelet does ("2006-01-02T15:04:05.000000000Z", nine digits), then a
// space. Malformed lines are skipped (kubelet logs and skips them too). Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::agent::server {

struct CriLine {
  int64_t time_ns = 0;      // Unix nanoseconds
  std::string_view stream;  // "stdout" or "stderr"
  bool partial = false;     // P: the line continues in the next chunk
  std::string_view content;
};

// Parses one line without its '\n'. InvalidArgument if it is not in the CRI format.
base::StatusOr<CriLine> ParseCriLine(std::string_view line);

// RFC 3339 with optional fraction and a Z or ±hh:mm offset -> Unix nanoseconds.
base::StatusOr<int64_t> ParseRfc3339Nano(std::string_view text);
// Unix nanoseconds -> "2006-01-02T15:04:05.000000000Z" (UTC, nine fraction digits).
std::string FormatTimestamp(int64_t unix_ns);

struct LogOptions {
  bool follow = false;
  std::optional<int64_t> tail_lines;   // the last N lines only (0: none)
  std::optional<int64_t> since_ns;     // Unix nanoseconds: skip lines older than this
  std::optional<int64_t> limit_bytes;  // stop after this many bytes of output
  bool timestamps = false;
};

// Writes the log at `path` through `write` (which returns false to stop: the client went away).
// With follow, keeps reading as the file grows while `keep_following()` is true (polled every
// 100 ms and on every change of the file); once it turns false the rest of the file is read and
// ReadLog returns. NotFound if the file does not exist.
base::Status ReadLog(const std::string& path, const LogOptions& options,
                     const std::function<bool(std::string_view)>& write,
                     const std::function<bool()>& keep_following);

}  // namespace knet::agent::server
