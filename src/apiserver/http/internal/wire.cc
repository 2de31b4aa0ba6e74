#include "apiserver/http/internal/wire.h"

#include <boost/beast/http/status.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace knet::apiserver::http::internal {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void AppendClean(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
}

}  // namespace

std::string SerializeHead(int status, const HeaderList& headers, Framing framing, size_t body_size,
                          bool keep_alive, int request_version) {
  std::string out;
  out.reserve(128 + headers.size() * 48);
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  auto reason = boost::beast::http::obsolete_reason(
      boost::beast::http::int_to_status(static_cast<unsigned>(status)));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& [name, value] : headers) {
    bool framing_header = IEquals(name, "content-length") || IEquals(name, "transfer-encoding") ||
                          IEquals(name, "connection");
    if (framing_header && framing != Framing::kUpgrade) {
      continue;
    }
    AppendClean(out, name);
    out += ": ";
    AppendClean(out, value);
    out += "\r\n";
  }
  bool no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  switch (framing) {
    case Framing::kContentLength:
      if (!no_body) out += "Content-Length: " + std::to_string(body_size) + "\r\n";
      break;
    case Framing::kChunked:
      out += "Transfer-Encoding: chunked\r\n";
      break;
    case Framing::kUntilClose:
      break;
    case Framing::kUpgrade:
      out += "\r\n";
      return out;
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (request_version < 11) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  return out;
}

std::string ChunkHeader(size_t size) {
  char buf[32];
  int n = std::snprintf(buf, sizeof(buf), "%zx\r\n", size);
  return std::string(buf, static_cast<size_t>(n));
}

std::string_view ReasonForCode(int code) {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 413:
      return "RequestEntityTooLarge";
    case 429:
      return "TooManyRequests";
    case 431:
      return "BadRequest";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "BadRequest";
  }
}

std::string StatusJson(int code, std::string_view reason, std::string_view message) {
  nlohmann::ordered_json j = {
      {"kind", "Status"},
      {"apiVersion", "v1"},
      {"metadata", nlohmann::ordered_json::object()},
      {"status", "Failure"},
      {"message", std::string(message)},
      {"reason", std::string(reason)},
      {"code", code},
  };
  // Replace, not throw, on invalid UTF-8 in the message (it may quote client bytes).
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Response StatusResponse(int code, std::string_view reason, std::string_view message) {
  Response r;
  r.status = code;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = StatusJson(code, reason, message);
  return r;
}

}  // namespace knet::apiserver::http::internal
