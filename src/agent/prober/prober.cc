#include "agent/prober/prober.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "agent/prober/internal/net_probe.h"
#include "agent/process/process.h"
#include "base/ip.h"

namespace knet::agent::prober {
namespace {

using internal::Deadline;
constexpr int kMaxRedirects = 10;

ProbeOutcome Fail(std::string message) { return {false, std::move(message)}; }

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The port of a probe: a number, or a container port name (then a number written as a string),
// as the kubelet's extractPort does.
base::StatusOr<uint16_t> ResolvePort(const api::IntOrString& port, const ProbeTarget& t) {
  int64_t value = -1;
  if (!port.is_string()) {
    value = port.int_value();
  } else {
    for (const api::ContainerPort& p : t.ports) {
      if (p.name == port.string_value() && (p.protocol.empty() || p.protocol == "TCP")) {
        value = p.container_port;
        break;
      }
    }
    if (value < 0) {
      const std::string& s = port.string_value();
      if (s.empty() || !std::all_of(s.begin(), s.end(), ::isdigit) || s.size() > 5) {
        return base::NotFoundError("couldn't find port: " + s + " in the container's ports");
      }
      value = std::stoll(s);
    }
  }
  if (value <= 0 || value > 65535) {
    return base::InvalidArgumentError("invalid port number: " + std::to_string(value));
  }
  return static_cast<uint16_t>(value);
}

std::string UrlHost(const base::IPAddress& ip, uint16_t port) {
  return (ip.is_v4() ? ip.ToString() : "[" + ip.ToString() + "]") + ":" + std::to_string(port);
}

ProbeOutcome HttpProbe(const api::HTTPGetAction& a, const ProbeTarget& t, Deadline deadline) {
  if (!a.scheme.empty() && a.scheme != "HTTP" && a.scheme != "HTTPS") {
    return Fail("httpGet scheme " + a.scheme + " is not supported (HTTP or HTTPS)");
  }
  const std::string scheme = a.scheme == "HTTPS" ? "https" : "http";
  const std::string host = a.host.empty() ? t.pod_ip : a.host;
  base::StatusOr<base::IPAddress> ip = base::IPAddress::Parse(host);
  if (!ip.ok()) {
    return Fail("httpGet host \"" + host + "\" is not an IP address (knet does not resolve names)");
  }
  base::StatusOr<uint16_t> port = ResolvePort(a.port, t);
  if (!port.ok()) return Fail(port.status().message());
  std::string path = a.path.empty() ? "/" : a.path;
  if (path.front() != '/') path = "/" + path;
  const std::string url_host = UrlHost(*ip, *port);

  std::vector<std::pair<std::string, std::string>> headers;
  bool has_host = false, has_agent = false, has_accept = false;
  for (const api::HTTPHeader& h : a.http_headers) {
    has_host = has_host || IEquals(h.name, "Host");
    has_agent = has_agent || IEquals(h.name, "User-Agent");
    has_accept = has_accept || IEquals(h.name, "Accept");
  }
  if (!has_host) headers.emplace_back("Host", url_host);
  for (const api::HTTPHeader& h : a.http_headers) headers.emplace_back(h.name, h.value);
  if (!has_agent) headers.emplace_back("User-Agent", kUserAgent);
  if (!has_accept) headers.emplace_back("Accept", "*/*");

  for (int redirects = 0;; ++redirects) {
    const std::string url = scheme + "://" + url_host + path;
    base::StatusOr<int> fd = internal::Dial(t.netns_path, *ip, *port, deadline);
    if (!fd.ok()) return Fail("Get \"" + url + "\": " + fd.status().message());
    base::StatusOr<std::unique_ptr<internal::Conn>> conn =
        scheme == "https"
            ? internal::Conn::Tls(*fd, host, deadline)
            : base::StatusOr<std::unique_ptr<internal::Conn>>(internal::Conn::Plain(*fd));
    if (!conn.ok()) return Fail("Get \"" + url + "\": " + conn.status().message());
    base::StatusOr<internal::HttpResponse> r = internal::HttpGet(**conn, path, headers, deadline);
    if (!r.ok()) return Fail("Get \"" + url + "\": " + r.status().message());
    if (r->status >= 200 && r->status < 300) return {true, ""};
    if (r->status < 300 || r->status >= 400) {
      return Fail("HTTP probe failed with statuscode: " + std::to_string(r->status));
    }
    // A redirect: follow it on the same host and port, as Go's client under the kubelet does.
    std::string loc = r->Header("location");
    std::string next;
    if (loc.starts_with("/")) {
      next = loc;
    } else if (const std::string origin = scheme + "://" + url_host;
               loc.starts_with(origin + "/") || loc == origin) {
      next = loc.substr(origin.size());
      if (next.empty()) next = "/";
    }
    if (next.empty()) {
      return {true, "Probe terminated redirects, Response body: " + r->body};
    }
    if (redirects + 1 >= kMaxRedirects) {
      return Fail("Get \"" + url + "\": stopped after " + std::to_string(kMaxRedirects) +
                  " redirects");
    }
    path = next;
  }
}

ProbeOutcome TcpProbe(const api::TCPSocketAction& a, const ProbeTarget& t, Deadline deadline) {
  const std::string host = a.host.empty() ? t.pod_ip : a.host;
  base::StatusOr<base::IPAddress> ip = base::IPAddress::Parse(host);
  if (!ip.ok()) {
    return Fail("tcpSocket host \"" + host +
                "\" is not an IP address (knet does not resolve names)");
  }
  base::StatusOr<uint16_t> port = ResolvePort(a.port, t);
  if (!port.ok()) return Fail(port.status().message());
  base::StatusOr<int> fd = internal::Dial(t.netns_path, *ip, *port, deadline);
  if (!fd.ok()) return Fail(fd.status().message());
  close(*fd);
  return {true, ""};
}

// The command as the kubelet's message quotes it: `command "sleep 5" timed out`.
std::string Joined(const std::vector<std::string>& argv) {
  std::string s;
  for (size_t i = 0; i < argv.size(); ++i) s += (i ? " " : "") + argv[i];
  return s;
}

ProbeOutcome ExecProbe(const api::ExecAction& a, const ProbeTarget& t,
                       std::chrono::milliseconds timeout) {
  if (a.command.empty()) return Fail("exec probe has no command");
  process::SpawnOptions o;
  o.argv = a.command;
  o.env = t.env;
  o.working_dir = t.working_dir;
  if (t.container_pid > 0) {
    o.join_namespaces_of = t.container_pid;
  } else {
    o.netns_path = t.netns_path;
  }
  base::StatusOr<process::RunResult> r = process::Run(o, "", timeout);
  if (!r.ok()) return Fail(r.status().message());
  if (r->timed_out) {
    return Fail("command \"" + Joined(a.command) + "\" timed out");
  }
  if (r->exit_code == 0) return {true, r->out + r->err};
  std::string out = r->out + r->err;
  if (out.empty()) {
    out = r->signal != 0 ? "command killed by signal " + std::to_string(r->signal)
                         : "command exited with status " + std::to_string(r->exit_code);
  }
  return Fail(out);
}

}  // namespace

ProbeOutcome RunProbe(const api::Probe& probe, const ProbeTarget& target,
                      std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) {
    timeout = std::chrono::seconds(probe.timeout_seconds > 0 ? probe.timeout_seconds : 1);
  }
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  if (probe.exec) return ExecProbe(*probe.exec, target, timeout);
  if (probe.http_get) return HttpProbe(*probe.http_get, target, deadline);
  if (probe.tcp_socket) return TcpProbe(*probe.tcp_socket, target, deadline);
  if (probe.grpc) return Fail("gRPC probes are not supported by knet");
  return Fail("missing probe handler");
}

}  // namespace knet::agent::prober
