// RunProbe against real servers inside a throwaway network namespace whose only address (besides
// loopback) is a documentation address the host does not have, so a probe can only succeed if its
// socket is made inside the namespace. Needs root.
#include "agent/prober/prober.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "agent/process/process.h"
#include "kernel/netlink/linux_netlink.h"
#include "kernel/netns/netns.h"

namespace knet::agent::prober {
namespace {

namespace netns = kernel::netns;
using namespace std::chrono_literals;

std::atomic<int> g_counter{0};
constexpr const char* kPodIp = "192.0.2.77";

// A listening TCP socket made inside `ns`, on kPodIp:0.
int ListenIn(const netns::Netns& ns, uint16_t* port) {
  int fd = -1;
  base::Status s = netns::RunIn(ns, [&]() -> base::Status {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return base::ErrnoError(errno, "socket");
    sockaddr_storage sa{};
    socklen_t len = base::IPAddress::Parse(kPodIp)->ToSockaddr(0, &sa);
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0)
      return base::ErrnoError(errno, "bind");
    if (listen(fd, 16) != 0) return base::ErrnoError(errno, "listen");
    return base::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  sockaddr_in a{};
  socklen_t alen = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &alen);
  *port = ntohs(a.sin_port);
  return fd;
}

// A server context with a fresh self-signed P-256 certificate (CN "pod").
SSL_CTX* SelfSignedServerCtx() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("pod"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

// A tiny HTTP server: answers each request with handler(path) -> raw response (or "" to never
// answer); records the raw requests. With `tls`, speaks HTTPS (takes the context).
class HttpServer {
 public:
  using Handler = std::function<std::string(const std::string& path)>;
  HttpServer(const netns::Netns& ns, Handler h, SSL_CTX* tls = nullptr)
      : handler_(std::move(h)), tls_(tls) {
    fd_ = ListenIn(ns, &port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~HttpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
    if (tls_ != nullptr) SSL_CTX_free(tls_);
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      timeval tv{1, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = nullptr;
      if (tls_ != nullptr) {
        ssl = SSL_new(tls_);
        SSL_set_fd(ssl, c);
        if (SSL_accept(ssl) <= 0) {
          SSL_free(ssl);
          close(c);
          continue;
        }
      }
      std::string req;
      char buf[2048];
      while (req.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (ssl == nullptr && poll(&q, 1, 1000) <= 0) break;
        ssize_t n = ssl != nullptr ? SSL_read(ssl, buf, sizeof buf) : recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      std::string path = req.substr(4, req.find(' ', 4) - 4);
      {
        std::lock_guard<std::mutex> l(mu_);
        requests_.push_back(req);
      }
      std::string resp = handler_(path);
      if (resp.empty()) {  // hang: hold the connection until the client gives up
        pollfd q{c, POLLIN, 0};
        while (!stop_ && poll(&q, 1, 20) == 0) {
        }
      } else if (ssl != nullptr) {
        SSL_write(ssl, resp.data(), static_cast<int>(resp.size()));
        SSL_shutdown(ssl);
      } else {
        (void)!send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      }
      if (ssl != nullptr) SSL_free(ssl);
      close(c);
    }
  }
  Handler handler_;
  SSL_CTX* tls_ = nullptr;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

std::string Response(int code, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(code) + " X\r\nContent-Length: 2\r\n" + extra + "\r\nok";
}

class ProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    name_ = "kpr-" + std::to_string(getpid()) + "-" + std::to_string(g_counter++);
    auto ns = netns::Create(name_);
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    ns_ = std::move(*ns);
    auto nl = kernel::netlink::LinuxNetlink::Open(ns_);
    ASSERT_TRUE(nl.ok()) << nl.status().ToString();
    auto lo = (*nl)->GetLink("lo");
    ASSERT_TRUE(lo.ok());
    ASSERT_TRUE((*nl)->SetLinkUp(*lo).ok());
    kernel::netlink::Address a;
    a.link_index = lo->index;
    a.ip = *base::IPAddress::Parse(kPodIp);
    a.prefix_len = 32;
    ASSERT_TRUE((*nl)->AddAddress(a).ok());
    target_.pod_ip = kPodIp;
    target_.netns_path = std::string(netns::kRunDir) + "/" + name_;
  }
  void TearDown() override {
    if (!name_.empty()) (void)netns::Delete(name_);
  }
  static api::Probe Http(int port, const std::string& path) {
    api::Probe p;
    p.http_get.emplace();
    p.http_get->port = api::IntOrString::FromInt(port);
    p.http_get->path = path;
    return p;
  }
  static api::Probe Exec(std::vector<std::string> cmd) {
    api::Probe p;
    p.exec.emplace();
    p.exec->command = std::move(cmd);
    return p;
  }

  std::string name_;
  netns::Netns ns_;
  ProbeTarget target_;
};

TEST_F(ProberTest, HttpGetFromInsideTheNamespaceWithKubeletHeaders) {
  HttpServer server(ns_, [](const std::string& path) {
    return path == "/healthz" ? Response(200) : Response(404);
  });
  api::Probe p;
  p.http_get.emplace();
  p.http_get->port = api::IntOrString::FromString("http");
  p.http_get->path = "healthz";
  p.http_get->http_headers = {{"X-Custom", "v1"}};
  target_.ports = {{"http", 0, server.port(), "TCP", ""}};
  ProbeOutcome r = RunProbe(p, target_);
  EXPECT_TRUE(r.success) << r.message;
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string req = server.requests()[0];
  EXPECT_TRUE(req.starts_with("GET /healthz HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("User-Agent: kube-probe/1.32\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("X-Custom: v1\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Host: 192.0.2.77:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << req;

  r = RunProbe(Http(server.port(), "/missing"), target_);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "HTTP probe failed with statuscode: 404");

  // From the host namespace the pod address is not reachable: the socket must be made inside.
  ProbeTarget outside = target_;
  outside.netns_path = "";
  r = RunProbe(Http(server.port(), "/healthz"), outside);
  EXPECT_FALSE(r.success);
}

TEST_F(ProberTest, HttpStatusCodesAndRedirects) {
  HttpServer server(ns_, [](const std::string& path) {
    if (path == "/old") return Response(302, "Location: /new\r\n");
    if (path == "/new") return Response(200);
    if (path == "/elsewhere") return Response(301, "Location: http://203.0.113.9/x\r\n");
    if (path == "/loop") return Response(302, "Location: /loop\r\n");
    if (path == "/moved") return Response(399);
    return Response(500);
  });
  ProbeOutcome r = RunProbe(Http(server.port(), "/old"), target_);
  EXPECT_TRUE(r.success) << r.message;
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_TRUE(server.requests()[1].starts_with("GET /new "));
  r = RunProbe(Http(server.port(), "/elsewhere"), target_);
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_NE(r.message.find("Probe terminated redirects"), std::string::npos);
  r = RunProbe(Http(server.port(), "/loop"), target_);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("stopped after 10 redirects"), std::string::npos) << r.message;
  EXPECT_TRUE(RunProbe(Http(server.port(), "/moved"), target_).success);
  r = RunProbe(Http(server.port(), "/boom"), target_);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "HTTP probe failed with statuscode: 500");
}

TEST_F(ProberTest, HttpTimeoutIsAFailure) {
  HttpServer server(ns_, [](const std::string&) { return std::string(); });
  auto start = std::chrono::steady_clock::now();
  ProbeOutcome r = RunProbe(Http(server.port(), "/"), target_, 200ms);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("timeout"), std::string::npos) << r.message;
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
}

TEST_F(ProberTest, HttpsSkipsCertificateVerification) {
  HttpServer server(
      ns_, [](const std::string& path) { return path == "/ok" ? Response(200) : Response(503); },
      SelfSignedServerCtx());
  api::Probe p = Http(server.port(), "/ok");
  p.http_get->scheme = "HTTPS";
  ProbeOutcome r = RunProbe(p, target_);
  EXPECT_TRUE(r.success) << r.message;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(server.requests()[0].starts_with("GET /ok HTTP/1.1\r\n"));
  p.http_get->path = "/down";
  r = RunProbe(p, target_);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "HTTP probe failed with statuscode: 503");
  // Plain HTTP to a TLS port is a failure, not a hang.
  p.http_get->scheme = "HTTP";
  EXPECT_FALSE(RunProbe(p, target_, 500ms).success);
}

TEST_F(ProberTest, UnsupportedSchemeAndMissingNamedPort) {
  api::Probe p = Http(80, "/");
  p.http_get->scheme = "FTP";
  EXPECT_FALSE(RunProbe(p, target_).success);
  p = Http(80, "/");
  p.http_get->port = api::IntOrString::FromString("nope");
  ProbeOutcome r = RunProbe(p, target_);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("couldn't find port"), std::string::npos);
  api::Probe g;
  g.grpc.emplace();
  r = RunProbe(g, target_);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("gRPC"), std::string::npos);
  EXPECT_FALSE(RunProbe(api::Probe{}, target_).success);
}

TEST_F(ProberTest, TcpSocket) {
  uint16_t port = 0;
  int fd = ListenIn(ns_, &port);
  api::Probe p;
  p.tcp_socket.emplace();
  p.tcp_socket->port = api::IntOrString::FromInt(port);
  ProbeOutcome r = RunProbe(p, target_);
  EXPECT_TRUE(r.success) << r.message;
  close(fd);
  r = RunProbe(p, target_);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("connection refused"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("dial tcp 192.0.2.77:" + std::to_string(port)), std::string::npos);
}

TEST_F(ProberTest, ExecSuccessFailureTimeoutAndEnv) {
  target_.env = {"FOO=bar", "PATH=/usr/bin:/bin"};
  EXPECT_TRUE(RunProbe(Exec({"sh", "-c", "test \"$FOO\" = bar"}), target_).success);
  ProbeOutcome r = RunProbe(Exec({"sh", "-c", "echo boom; exit 3"}), target_);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "boom\n");
  auto start = std::chrono::steady_clock::now();
  r = RunProbe(Exec({"sleep", "5"}), target_, 200ms);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "command \"sleep 5\" timed out");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  target_.working_dir = "/proc";
  EXPECT_TRUE(RunProbe(Exec({"sh", "-c", "test \"$(pwd)\" = /proc"}), target_).success);
  r = RunProbe(Exec({"/no/such/binary"}), target_);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("/no/such/binary"), std::string::npos) << r.message;
}

TEST_F(ProberTest, ExecJoinsTheContainersNamespaces) {
  process::SpawnOptions so;
  so.argv = {"/bin/sleep", "30"};
  so.netns_path = target_.netns_path;
  auto pid = process::Spawn(so);
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  } reaper{*pid};
  struct stat st {};
  ASSERT_EQ(stat(target_.netns_path.c_str(), &st), 0);
  ProbeTarget t = target_;
  t.netns_path = "";
  t.container_pid = *pid;
  ProbeOutcome r = RunProbe(Exec({"/usr/bin/readlink", "/proc/self/ns/net"}), t);
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_EQ(r.message, "net:[" + std::to_string(st.st_ino) + "]\n");
}

}  // namespace
}  // namespace knet::agent::prober
