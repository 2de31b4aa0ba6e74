#include "store/testing/etcd_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

namespace knet::store::testing {
namespace {

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

base::StatusOr<std::string> HttpRequest(int port, const std::string& method,
                                        const std::string& path, const std::string& body) {
  int fd = Connect(port);
  if (fd < 0) return base::ErrnoError(errno, "connecting to 127.0.0.1:" + std::to_string(port));
  std::string req =
      method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return base::UnavailableError("writing an HTTP request");
  }
  std::string resp;
  char buf[65536];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t split = resp.find("\r\n\r\n");
  if (split == std::string::npos) return base::UnavailableError("no HTTP response");
  return resp.substr(split + 4);
}

bool EtcdCluster::Available() { return access(kEtcdBinary, X_OK) == 0; }

base::StatusOr<std::unique_ptr<EtcdCluster>> EtcdCluster::Start(int members,
                                                                const std::string& name,
                                                                bool unsafe_no_fsync) {
  if (!Available()) return base::UnavailableError(std::string(kEtcdBinary) + " is not installed");
  std::unique_ptr<EtcdCluster> c(new EtcdCluster());
  std::string tmpl_s = "/tmp/knet-etcd-" + name + "-XXXXXX";
  std::vector<char> tmpl(tmpl_s.begin(), tmpl_s.end());
  tmpl.push_back('\0');
  if (mkdtemp(tmpl.data()) == nullptr) return base::ErrnoError(errno, "mkdtemp " + tmpl_s);
  c->dir_ = tmpl.data();
  std::string initial;
  for (int i = 0; i < members; ++i) {
    Member m{name + "-" + std::to_string(i), FreePort(), FreePort(), -1};
    if (!initial.empty()) initial += ",";
    initial += m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
    c->members_.push_back(m);
  }
  static std::atomic<int> token_seq{0};
  std::string token = name + "-" + std::to_string(getpid()) + "-" + std::to_string(token_seq++);
  for (Member& m : c->members_) {
    std::string client = "http://127.0.0.1:" + std::to_string(m.client_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
    std::vector<std::string> args = {kEtcdBinary,
                                     "--name=" + m.name,
                                     "--data-dir=" + c->dir_ + "/" + m.name,
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=" + initial,
                                     "--initial-cluster-state=new",
                                     "--initial-cluster-token=" + token,
                                     "--heartbeat-interval=50",
                                     "--election-timeout=500",
                                     "--logger=zap",
                                     "--log-level=error"};
    if (unsafe_no_fsync) args.push_back("--unsafe-no-fsync");
    std::string log = c->dir_ + "/" + m.name + ".log";
    // Everything the child needs is built before fork: after fork in a threaded process only
    // async-signal-safe calls are allowed until exec.
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).starts_with("ETCD_")) continue;  // no stray etcd settings
      envp.push_back(*e);
    }
    envp.push_back(nullptr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
      // PDEATHSIG follows the forking thread: callers start clusters from a long-lived thread.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execve(kEtcdBinary, argv.data(), envp.data());
      _exit(127);
    }
    if (pid < 0) return base::ErrnoError(errno, "forking etcd");
    m.pid = pid;
  }
  for (int i = 0; i < members; ++i) RETURN_IF_ERROR(c->WaitHealthy(i, 30000));
  return c;
}

base::Status EtcdCluster::WaitHealthy(int i, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(members_[i].pid, &status, WNOHANG) == members_[i].pid) {
      members_[i].pid = -1;
      return base::UnavailableError("etcd member " + members_[i].name + " exited (status " +
                                    std::to_string(status) + "); see " + dir_ + "/" +
                                    members_[i].name + ".log");
    }
    auto body = HttpRequest(members_[i].client_port, "GET", "/health", "");
    if (body.ok() && body->find("\"health\":\"true\"") != std::string::npos) {
      return base::OkStatus();
    }
    last = body.ok() ? *body : body.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return base::DeadlineExceededError("etcd member " + members_[i].name + " not healthy: " + last);
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < static_cast<int>(members_.size()); ++i) Kill(i);
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

void EtcdCluster::Kill(int i) {
  Member& m = members_.at(static_cast<size_t>(i));
  if (m.pid <= 0) return;
  kill(m.pid, SIGKILL);
  waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

std::vector<std::string> EtcdCluster::Endpoints() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back("127.0.0.1:" + std::to_string(m.client_port));
  return out;
}

std::string EtcdCluster::Url(const std::string& prefix) const {
  std::string url = "etcd://";
  for (const auto& ep : Endpoints()) url += (url.size() > 7 ? "," : "") + ep;
  return url + "?prefix=" + prefix;
}

}  // namespace knet::store::testing
