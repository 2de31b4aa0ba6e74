#include "agent/prober/internal/conn.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/ip.h"

namespace knet::agent::prober::internal {
namespace {

int RemainingMs(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

std::string SslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown TLS error" : out;
}

class PlainConn final : public Conn {
 public:
  explicit PlainConn(int fd) : fd_(fd) {}
  ~PlainConn() override { close(fd_); }

  base::Status WriteAll(std::string_view data, Deadline deadline) override {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        ASSIGN_OR_RETURN(bool ok, WaitFor(fd_, POLLOUT, deadline));
        if (!ok) return base::DeadlineExceededError("i/o timeout");
        continue;
      }
      if (n < 0) return base::ErrnoError(errno, "write");
      off += static_cast<size_t>(n);
    }
    return base::OkStatus();
  }

  base::StatusOr<size_t> Read(char* buf, size_t len, Deadline deadline) override {
    for (;;) {
      ssize_t n = recv(fd_, buf, len, 0);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return base::ErrnoError(errno, "read");
      ASSIGN_OR_RETURN(bool ok, WaitFor(fd_, POLLIN, deadline));
      if (!ok) return base::DeadlineExceededError("i/o timeout");
    }
  }

 private:
  int fd_;
};

class TlsConn final : public Conn {
 public:
  TlsConn(int fd, SSL_CTX* ctx, SSL* ssl) : fd_(fd), ctx_(ctx), ssl_(ssl) {}
  ~TlsConn() override {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    close(fd_);
  }

  // Runs an SSL operation until it completes, waiting on the socket as OpenSSL asks.
  template <class F>
  base::StatusOr<int> Drive(F op, Deadline deadline, const char* what) {
    for (;;) {
      ERR_clear_error();
      int r = op();
      if (r > 0) return r;
      int err = SSL_get_error(ssl_, r);
      short events = 0;
      if (err == SSL_ERROR_WANT_READ) events = POLLIN;
      if (err == SSL_ERROR_WANT_WRITE) events = POLLOUT;
      if (err == SSL_ERROR_ZERO_RETURN) return 0;
      if (events == 0) {
        if (err == SSL_ERROR_SYSCALL && errno == 0) return 0;  // EOF without close_notify
        return base::UnavailableError(std::string(what) + ": " + SslErrors());
      }
      ASSIGN_OR_RETURN(bool ok, WaitFor(fd_, events, deadline));
      if (!ok) return base::DeadlineExceededError(std::string(what) + ": i/o timeout");
    }
  }

  base::Status WriteAll(std::string_view data, Deadline deadline) override {
    size_t off = 0;
    while (off < data.size()) {
      ASSIGN_OR_RETURN(int n, Drive(
                                  [&] {
                                    return SSL_write(ssl_, data.data() + off,
                                                     static_cast<int>(data.size() - off));
                                  },
                                  deadline, "TLS write"));
      if (n == 0) return base::UnavailableError("TLS write: connection closed");
      off += static_cast<size_t>(n);
    }
    return base::OkStatus();
  }

  base::StatusOr<size_t> Read(char* buf, size_t len, Deadline deadline) override {
    ASSIGN_OR_RETURN(int n, Drive([&] { return SSL_read(ssl_, buf, static_cast<int>(len)); },
                                  deadline, "TLS read"));
    return static_cast<size_t>(n);
  }

 private:
  int fd_;
  SSL_CTX* ctx_;
  SSL* ssl_;
};

}  // namespace

base::StatusOr<bool> WaitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoError(errno, "poll");
    return n > 0;
  }
}

std::unique_ptr<Conn> Conn::Plain(int fd) { return std::make_unique<PlainConn>(fd); }

base::StatusOr<std::unique_ptr<Conn>> Conn::Tls(int fd, const std::string& server_name,
                                                Deadline deadline) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    close(fd);
    return base::InternalError("TLS: " + SslErrors());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) {
    SSL_CTX_free(ctx);
    close(fd);
    return base::InternalError("TLS: " + SslErrors());
  }
  auto conn = std::make_unique<TlsConn>(fd, ctx, ssl);  // owns fd, ctx, ssl from here on
  SSL_set_fd(ssl, fd);
  if (!base::IPAddress::Parse(server_name).ok()) {
    SSL_set_tlsext_host_name(ssl, server_name.c_str());
  }
  base::StatusOr<int> r = conn->Drive([&] { return SSL_connect(ssl); }, deadline, "TLS handshake");
  if (!r.ok()) return r.status();
  if (*r == 0) return base::UnavailableError("TLS handshake: connection closed");
  return std::unique_ptr<Conn>(std::move(conn));
}

}  // namespace knet::agent::prober::internal
