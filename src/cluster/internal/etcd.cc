#include "cluster/internal/etcd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include "cluster/internal/supervisor.h"

namespace knet::cluster::internal {
namespace {

using namespace std::chrono_literals;

int ClientPort(int i) { return i == 0 ? 2379 : 2379 + i * 10000; }
int PeerPort(int i) { return i == 0 ? 2380 : 2380 + i * 10000; }

}  // namespace

base::StatusOr<std::string> HttpGet(const std::string& ip, int port, const std::string& path) {
  std::string where = ip + ":" + std::to_string(port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return base::ErrnoError(errno, "socket");
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return base::InvalidArgumentError("bad address " + ip);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    return base::ErrnoError(err, "connecting to " + where);
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + where + "\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return base::UnavailableError("writing to " + where);
  }
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t split = resp.find("\r\n\r\n");
  if (split == std::string::npos) return base::UnavailableError("no HTTP response from " + where);
  return resp.substr(split + 4);
}

base::StatusOr<std::string> StartEtcd(Manifest& m, std::chrono::milliseconds timeout,
                                      const std::function<bool()>& cancelled) {
  if (access(kEtcdBinary, X_OK) != 0) {
    return base::FailedPreconditionError(std::string(kEtcdBinary) +
                                         " is not installed (Debian package etcd-server)");
  }
  std::string initial, url = "etcd://";
  for (int i = 0; i < kEtcdMembers; ++i) {
    initial += (i ? "," : "") + m.name + "-etcd-" + std::to_string(i) + "=http://" + m.gateway +
               ":" + std::to_string(PeerPort(i));
    url += (i ? "," : "") + m.gateway + ":" + std::to_string(ClientPort(i));
  }
  std::error_code ec;
  std::filesystem::create_directories(m.state_dir + "/etcd", ec);
  if (ec) return base::InternalError("creating " + m.state_dir + "/etcd: " + ec.message());
  for (int i = 0; i < kEtcdMembers; ++i) {
    std::string member = m.name + "-etcd-" + std::to_string(i);
    std::string client = "http://" + m.gateway + ":" + std::to_string(ClientPort(i));
    std::string peer = "http://" + m.gateway + ":" + std::to_string(PeerPort(i));
    std::vector<std::string> argv = {kEtcdBinary,
                                     "--name=" + member,
                                     "--data-dir=" + m.state_dir + "/etcd/" + member,
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=" + initial,
                                     "--initial-cluster-state=new",
                                     "--initial-cluster-token=knet-" + m.name,
                                     "--logger=zap",
                                     "--log-level=warn"};
    ASSIGN_OR_RETURN(ProcessRecord p,
                     StartDetached("etcd", "etcd-" + std::to_string(i), argv, "",
                                   m.state_dir + "/logs/etcd-" + std::to_string(i) + ".log"));
    m.processes.push_back(p);
    RETURN_IF_ERROR(SaveManifest(m));
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < kEtcdMembers; ++i) {
    const ProcessRecord& p =
        m.processes[m.processes.size() - kEtcdMembers + static_cast<size_t>(i)];
    std::string last;
    for (;;) {
      if (!IsRunning(p)) {
        return base::UnavailableError("etcd member " + p.name + " exited; see " + p.log);
      }
      auto body = HttpGet(m.gateway, ClientPort(i), "/health");
      if (body.ok() && body->find("\"health\":\"true\"") != std::string::npos) break;
      last = body.ok() ? *body : body.status().message();
      if (std::chrono::steady_clock::now() >= deadline) {
        return base::DeadlineExceededError("etcd member " + p.name + " not healthy: " + last +
                                           "; see " + p.log);
      }
      if (cancelled && cancelled()) {
        return base::Status(base::StatusCode::kCancelled, "interrupted");
      }
      std::this_thread::sleep_for(100ms);
    }
  }
  return url + "?prefix=/registry/";
}

}  // namespace knet::cluster::internal
