// File: agent/runtime/internal/cri_log.h
//
// The CRI container log format (what the kubelet reads from /var/log/pods): one line per chunk of
// output, `<RFC3339Nano UTC> <stdout|stderr> <F|P> <content>\n`, where F ends a line and P is a
// partial line (the chunk had no newline yet, or a line longer than kMaxLogLine was split).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace knet::agent::runtime::internal {

// Lines longer than this are split into P pieces (as containerd and conmon do).
inline constexpr size_t kMaxLogLine = 16 * 1024;

// Renders one chunk read from a stream ("stdout" or "stderr") at `unix_nanos` into CRI log lines:
// each newline-terminated piece becomes an F line (without its '\n'), a trailing piece without a
// newline a P line; pieces longer than kMaxLogLine are split into P lines.
std::string RenderCriLog(std::string_view stream, std::string_view chunk, int64_t unix_nanos);

}  // namespace knet::agent::runtime::internal
