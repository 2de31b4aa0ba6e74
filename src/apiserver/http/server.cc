#include "apiserver/http/server.h"

#include <openssl/ssl.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <charconv>
#include <iostream>
#include <thread>

#include "apiserver/http/internal/connection.h"

namespace knet::apiserver::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::string_view Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

namespace {

// Go clients (kubectl) offer h2 and http/1.1; we only speak http/1.1. Without a match we
// proceed without ALPN rather than fail the handshake.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof(kHttp11), in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

base::StatusOr<tcp::endpoint> ParseListen(const std::string& listen) {
  std::string host, port_text;
  if (!listen.empty() && listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return base::InvalidArgumentError("listen address \"" + listen + "\" is not [IPv6]:port");
    }
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return base::InvalidArgumentError("listen address \"" + listen + "\" is not host:port");
    }
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return base::InvalidArgumentError("listen address \"" + listen + "\" has a bad port");
  }
  net::ip::address addr;
  if (host.empty()) {
    addr = net::ip::address_v4::any();
  } else if (host == "localhost") {
    addr = net::ip::address_v4::loopback();
  } else {
    error_code aec;
    addr = net::ip::make_address(host, aec);
    if (aec) {
      return base::InvalidArgumentError("listen address \"" + listen +
                                        "\": the host must be an IP address or localhost");
    }
  }
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

}  // namespace

class Server::Impl {
 public:
  // Declaration order is destruction order reversed: the pool and acceptor go before the
  // io_context, and Core (which connections point at) outlives them all.
  internal::Core core;
  net::io_context ioc;
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_retry{acceptor.get_executor()};
  std::optional<net::thread_pool> pool;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;
  uint16_t port = 0;
  std::mutex stop_mu;
  bool stopped = false;

  void Accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](const error_code& ec, tcp::socket s) {
      OnAccept(ec, std::move(s));
    });
  }

  void OnAccept(const error_code& ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends: say so and try again shortly rather than spin.
      std::cerr << "knet apiserver http: accepting a connection: " << ec.message() << std::endl;
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](const error_code& wec) {
        if (!wec && acceptor.is_open()) Accept();
      });
      return;
    }
    // Responses go out as several TLS records; with Nagle on, the last small one waits for the
    // client's delayed ACK (40 ms on Linux): a 39 KB list took 43 ms instead of 2 ms from
    // Python's http.client (which the official Python client uses underneath).
    error_code nec;
    socket.set_option(tcp::no_delay(true), nec);
    std::shared_ptr<internal::Connection> conn;
    {
      std::lock_guard<std::mutex> lock(core.mu);
      if (core.stopping) {
        error_code cec;
        socket.close(cec);
        return;
      }
      uint64_t id = core.next_id++;
      conn = std::make_shared<internal::Connection>(&core, id, std::move(socket));
      core.connections.emplace(id, conn);
    }
    conn->Start();
    Accept();
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

uint16_t Server::port() const { return impl_->port; }

base::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options, Handler handler) {
  if (!handler) return base::InvalidArgumentError("http server: no handler");
  if (options.cert_file.empty() != options.key_file.empty()) {
    return base::InvalidArgumentError(
        "http server: cert_file and key_file must both be set (TLS) or both be empty (plain)");
  }
  ASSIGN_OR_RETURN(tcp::endpoint endpoint, ParseListen(options.listen));
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.core.options = std::move(options);
  s.core.handler = std::move(handler);
  const ServerOptions& opts = s.core.options;

  if (!opts.cert_file.empty()) {
    s.core.ssl.emplace(net::ssl::context::tls_server);
    net::ssl::context& ctx = *s.core.ssl;
    ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                    net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                    net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_alpn_select_cb(ctx.native_handle(), SelectAlpn, nullptr);
    error_code ec;
    ctx.use_certificate_chain_file(opts.cert_file, ec);
    if (ec) {
      return base::InvalidArgumentError("loading the TLS certificate " + opts.cert_file + ": " +
                                        ec.message());
    }
    ctx.use_private_key_file(opts.key_file, net::ssl::context::pem, ec);
    if (ec) {
      return base::InvalidArgumentError("loading the TLS key " + opts.key_file + ": " +
                                        ec.message());
    }
    if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      return base::InvalidArgumentError("the TLS key " + opts.key_file +
                                        " does not match the certificate " + opts.cert_file);
    }
    if (!opts.client_ca_file.empty()) {
      ctx.load_verify_file(opts.client_ca_file, ec);
      if (ec) {
        return base::InvalidArgumentError("loading the client CA " + opts.client_ca_file + ": " +
                                          ec.message());
      }
      // Tell clients which CAs we accept (certificate selection in some clients depends on it).
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(opts.client_ca_file.c_str());
      if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
      ctx.set_verify_mode(opts.require_client_cert
                              ? net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert
                              : net::ssl::verify_peer);
    }
  } else if (!opts.client_ca_file.empty()) {
    return base::InvalidArgumentError("http server: client_ca_file needs TLS (cert_file)");
  }

  error_code ec;
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return base::UnavailableError("listening on " + opts.listen + ": " + ec.message());
  }
  s.port = s.acceptor.local_endpoint(ec).port();

  s.pool.emplace(static_cast<size_t>(std::max(1, opts.handler_threads)));
  s.core.pool = &*s.pool;
  s.work.emplace(s.ioc.get_executor());
  s.Accept();
  for (int i = 0; i < std::max(1, opts.io_threads); ++i) {
    s.io_threads.emplace_back([&s] { s.ioc.run(); });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::Stop() {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> stop_lock(s.stop_mu);
  if (s.stopped) return;
  s.stopped = true;

  std::vector<std::shared_ptr<internal::Connection>> live;
  {
    std::lock_guard<std::mutex> lock(s.core.mu);
    s.core.stopping = true;
    for (auto& [id, weak] : s.core.connections) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  net::post(s.acceptor.get_executor(), [&s] {
    error_code ec;
    s.acceptor.close(ec);
    s.accept_retry.cancel();
  });
  for (auto& c : live) c->Abort();
  live.clear();
  // Running handlers finish (their responses go nowhere); then the I/O threads run out of work.
  s.pool->join();
  s.work.reset();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
}

}  // namespace knet::apiserver::http
