#include "agent/runtime/internal/cri_log.h"

#include "agent/runtime/internal/files.h"

namespace knet::agent::runtime::internal {

std::string RenderCriLog(std::string_view stream, std::string_view chunk, int64_t unix_nanos) {
  const std::string prefix = FormatRfc3339Nano(unix_nanos) + " " + std::string(stream) + " ";
  std::string out;
  size_t pos = 0;
  while (pos < chunk.size()) {
    size_t nl = chunk.find('\n', pos);
    size_t line_end = nl == std::string_view::npos ? chunk.size() : nl;
    // Split an over-long line into P pieces; the last piece is F only if a newline follows it.
    while (line_end - pos > kMaxLogLine) {
      out += prefix;
      out += "P ";
      out.append(chunk.substr(pos, kMaxLogLine));
      out += '\n';
      pos += kMaxLogLine;
    }
    out += prefix;
    out += nl == std::string_view::npos ? "P " : "F ";
    out.append(chunk.substr(pos, line_end - pos));
    out += '\n';
    pos = nl == std::string_view::npos ? chunk.size() : nl + 1;
  }
  return out;
}

}  // namespace knet::agent::runtime::internal
