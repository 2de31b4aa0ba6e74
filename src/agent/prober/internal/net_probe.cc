#include "agent/prober/internal/net_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kernel/netns/netns.h"

namespace knet::agent::prober::internal {
namespace {

constexpr size_t kMaxBody = 10 * 1024;

std::string HostPort(const base::IPAddress& ip, uint16_t port) {
  return ip.is_v4() ? ip.ToString() + ":" + std::to_string(port)
                    : "[" + ip.ToString() + "]:" + std::to_string(port);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// strerror as Go spells syscall errors: "connection refused".
std::string ErrText(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string TrimSpace(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

base::StatusOr<int> Dial(const std::string& netns_path, const base::IPAddress& ip, uint16_t port,
                         Deadline deadline) {
  const std::string what = "dial tcp " + HostPort(ip, port);
  const int family = ip.is_v4() ? AF_INET : AF_INET6;
  int fd = -1;
  auto make = [&]() -> base::Status {
    fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return base::ErrnoError(errno, what + ": socket");
    return base::OkStatus();
  };
  if (netns_path.empty()) {
    RETURN_IF_ERROR(make());
  } else {
    // The socket belongs to the namespace it was created in; it is used from this thread after.
    ASSIGN_OR_RETURN(kernel::netns::Netns ns, kernel::netns::Netns::Open(netns_path));
    RETURN_IF_ERROR(kernel::netns::RunIn(ns, make).WithContext(what));
  }
  sockaddr_storage sa{};
  socklen_t len = ip.ToSockaddr(port, &sa);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return base::UnavailableError(what + ": connect: " + ErrText(err));
  }
  base::StatusOr<bool> ready = WaitFor(fd, POLLOUT, deadline);
  if (!ready.ok() || !*ready) {
    close(fd);
    return ready.ok() ? base::DeadlineExceededError(what + ": i/o timeout")
                      : ready.status().WithContext(what);
  }
  int err = 0;
  socklen_t errlen = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) err = errno;
  if (err != 0) {
    close(fd);
    return base::UnavailableError(what + ": connect: " + ErrText(err));
  }
  return fd;
}

base::StatusOr<HttpResponse> HttpGet(
    Conn& conn, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, Deadline deadline) {
  std::string req = "GET " + target + " HTTP/1.1\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "Connection: close\r\n\r\n";
  RETURN_IF_ERROR(conn.WriteAll(req, deadline).WithContext("sending the request"));
  std::string in;
  size_t header_end = std::string::npos;
  size_t want = std::string::npos;  // total bytes once Content-Length is known
  HttpResponse resp;
  char buf[4096];
  for (;;) {
    if (header_end != std::string::npos &&
        (in.size() >= want || in.size() - header_end >= kMaxBody)) {
      break;
    }
    base::StatusOr<size_t> n = conn.Read(buf, sizeof buf, deadline);
    if (!n.ok()) {
      // A slow or broken body after the headers: the status is what counts.
      if (header_end != std::string::npos) break;
      return n.status().WithContext("reading the response");
    }
    if (*n == 0) break;
    in.append(buf, *n);
    if (header_end == std::string::npos) {
      size_t p = in.find("\r\n\r\n");
      if (p == std::string::npos) {
        if (in.size() > 64 * 1024) return base::InvalidArgumentError("response headers too long");
        continue;
      }
      header_end = p + 4;
      // Status line and headers.
      size_t line_end = in.find("\r\n");
      std::string status_line = in.substr(0, line_end);
      if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
        return base::InvalidArgumentError("malformed status line \"" + status_line + "\"");
      }
      resp.status = std::atoi(status_line.c_str() + 9);
      size_t pos = line_end + 2;
      while (pos < p) {
        size_t e = in.find("\r\n", pos);
        std::string line = in.substr(pos, e - pos);
        pos = e + 2;
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        resp.headers.emplace_back(Lower(TrimSpace(line.substr(0, colon))),
                                  TrimSpace(line.substr(colon + 1)));
      }
      std::string cl = resp.Header("content-length");
      if (!cl.empty())
        want = header_end + static_cast<size_t>(std::strtoull(cl.c_str(), nullptr, 10));
    }
  }
  if (header_end == std::string::npos) {
    return base::UnavailableError("the connection closed before a complete response");
  }
  resp.body = in.substr(header_end, kMaxBody);
  return resp;
}

}  // namespace knet::agent::prober::internal
