#include "apiserver/http/client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>
#include <future>
#include <optional>
#include <thread>

namespace knet::apiserver::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

using Strand = net::strand<net::io_context::executor_type>;

// One dialled connection. Everything runs on `strand`; the blocking calls wait on futures.
struct Conn : std::enable_shared_from_this<Conn> {
  explicit Conn(net::io_context& ioc) : strand(net::make_strand(ioc)), timer(strand) {}

  Strand strand;
  net::steady_timer timer;
  std::shared_ptr<net::ssl::context> ctx;  // outlives `tls`
  std::optional<tcp::socket> plain;
  std::optional<net::ssl::stream<tcp::socket>> tls;
  bool closed = false;

  tcp::socket& Socket() { return tls ? tls->next_layer() : *plain; }
  void Shut() {
    if (closed) return;
    closed = true;
    timer.cancel();
    error_code ec;
    Socket().shutdown(tcp::socket::shutdown_both, ec);
    Socket().close(ec);
  }
};

class ClientTunnel final : public Tunnel {
 public:
  explicit ClientTunnel(std::shared_ptr<Conn> c) : c_(std::move(c)) {}
  ~ClientTunnel() override { Close(); }

  size_t Read(char* buf, size_t len) override {
    if (len == 0) return 0;
    std::promise<size_t> done;
    std::future<size_t> result = done.get_future();
    net::post(c_->strand, [c = c_, buf, len, &done] {
      if (c->closed) return done.set_value(0);
      auto on_read = [&done](const error_code& ec, size_t n) { done.set_value(ec ? 0 : n); };
      if (c->tls) {
        c->tls->async_read_some(net::buffer(buf, len), on_read);
      } else {
        c->plain->async_read_some(net::buffer(buf, len), on_read);
      }
    });
    return result.get();
  }

  bool Write(std::string_view data) override {
    if (data.empty()) return true;
    std::promise<bool> done;
    std::future<bool> result = done.get_future();
    net::post(c_->strand, [c = c_, data, &done] {
      if (c->closed) return done.set_value(false);
      auto on_write = [&done](const error_code& ec, size_t) { done.set_value(!ec); };
      if (c->tls) {
        net::async_write(*c->tls, net::buffer(data.data(), data.size()), on_write);
      } else {
        net::async_write(*c->plain, net::buffer(data.data(), data.size()), on_write);
      }
    });
    return result.get();
  }

  void Close() override {
    net::post(c_->strand, [c = c_] { c->Shut(); });
  }

 private:
  std::shared_ptr<Conn> c_;
};

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

class Dialer::Impl {
 public:
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::thread thread;
};

Dialer::Dialer() : impl_(std::make_unique<Impl>()) {
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

Dialer::~Dialer() {
  impl_->work.reset();
  impl_->ioc.stop();
  impl_->thread.join();
}

base::StatusOr<std::unique_ptr<Tunnel>> Dialer::Dial(const std::string& host, uint16_t port,
                                                     const DialOptions& options) {
  std::string where = host + ":" + std::to_string(port);
  error_code aec;
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  net::ip::address addr = net::ip::make_address(bare, aec);
  if (aec) return base::InvalidArgumentError("dialing " + where + ": not an IP address");

  auto c = std::make_shared<Conn>(impl_->ioc);
  if (options.tls) {
    c->ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
    net::ssl::context& ctx = *c->ctx;
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx.native_handle(), kAlpn, sizeof(kAlpn));
    error_code ec;
    if (!options.cert_file.empty()) {
      ctx.use_certificate_chain_file(options.cert_file, ec);
      if (!ec) ctx.use_private_key_file(options.key_file, net::ssl::context::pem, ec);
      if (ec) {
        return base::InvalidArgumentError("loading the client certificate " + options.cert_file +
                                          ": " + ec.message());
      }
    }
    if (options.verify_server) {
      ctx.load_verify_file(options.ca_file, ec);
      if (ec) {
        return base::InvalidArgumentError("loading the CA " + options.ca_file + ": " +
                                          ec.message());
      }
      ctx.set_verify_mode(net::ssl::verify_peer);
    } else {
      ctx.set_verify_mode(net::ssl::verify_none);
    }
    c->tls.emplace(c->strand, ctx);
    if (options.verify_server && !options.server_name.empty()) {
      SSL_set1_host(c->tls->native_handle(), options.server_name.c_str());
    }
  } else {
    c->plain.emplace(c->strand);
  }

  std::promise<error_code> done;
  std::future<error_code> result = done.get_future();
  net::post(c->strand, [c, &done, endpoint = tcp::endpoint(addr, port), timeout = options.timeout] {
    auto timed_out = std::make_shared<bool>(false);
    c->timer.expires_after(timeout);
    c->timer.async_wait([c, timed_out](const error_code& ec) {
      if (ec) return;
      *timed_out = true;
      c->Shut();
    });
    c->Socket().async_connect(endpoint, [c, &done, timed_out](const error_code& ec) {
      if (ec) {
        c->timer.cancel();
        return done.set_value(*timed_out ? net::error::timed_out : ec);
      }
      error_code nec;
      c->Socket().set_option(tcp::no_delay(true), nec);
      if (!c->tls) {
        c->timer.cancel();
        return done.set_value(error_code());
      }
      c->tls->async_handshake(net::ssl::stream_base::client,
                              [c, &done, timed_out](const error_code& hec) {
                                c->timer.cancel();
                                done.set_value(*timed_out ? net::error::timed_out : hec);
                              });
    });
  });
  error_code ec = result.get();
  if (ec) {
    net::post(c->strand, [c] { c->Shut(); });
    return base::UnavailableError("dial tcp " + where + ": " + ec.message());
  }
  return std::unique_ptr<Tunnel>(new ClientTunnel(std::move(c)));
}

// ---- ResponseReader ----

std::string_view ResponseHead::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

ResponseReader::ResponseReader(Tunnel* tunnel, size_t max_head_bytes)
    : tunnel_(tunnel), max_head_bytes_(max_head_bytes) {}

base::Status ResponseReader::Fill() {
  char tmp[16384];
  size_t n = tunnel_->Read(tmp, sizeof(tmp));
  if (n == 0) return base::UnavailableError("the connection ended");
  buf_.append(tmp, n);
  return base::OkStatus();
}

base::StatusOr<ResponseHead> ResponseReader::ReadHead() {
  size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (buf_.size() > max_head_bytes_) {
      return base::InvalidArgumentError("response head larger than " +
                                        std::to_string(max_head_bytes_) + " bytes");
    }
    base::Status st = Fill();
    if (!st.ok()) return base::UnavailableError("reading the response head: the connection ended");
  }
  std::string_view head(buf_.data(), end);
  ResponseHead out;
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1.") {
    return base::InvalidArgumentError("malformed status line \"" + std::string(status_line) + "\"");
  }
  auto [p, pec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, out.status);
  if (pec != std::errc() || p != status_line.data() + 12 || out.status < 100 || out.status > 999) {
    return base::InvalidArgumentError("malformed status line \"" + std::string(status_line) + "\"");
  }
  out.reason = std::string(Trim(status_line.substr(12)));
  std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
  bool chunked = false;
  std::optional<uint64_t> length;
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view line = rest.substr(0, e);
    rest = e == std::string_view::npos ? "" : rest.substr(e + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return base::InvalidArgumentError("malformed header line \"" + std::string(line) + "\"");
    }
    std::string name = Lower(Trim(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    if (name == "transfer-encoding" && IEquals(value, "chunked")) chunked = true;
    if (name == "content-length") {
      uint64_t v = 0;
      auto [q, qec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (qec != std::errc() || q != value.data() + value.size()) {
        return base::InvalidArgumentError("bad Content-Length \"" + value + "\"");
      }
      length = v;
    }
    out.headers.emplace_back(std::move(name), std::move(value));
  }
  buf_.erase(0, end + 4);
  bool no_body = (out.status >= 100 && out.status < 200) || out.status == 204 || out.status == 304;
  if (no_body) {
    framing_ = Framing::kNone;
    done_ = true;
  } else if (chunked) {
    framing_ = Framing::kChunked;
  } else if (length) {
    framing_ = Framing::kLength;
    remaining_ = *length;
    done_ = remaining_ == 0;
  } else {
    framing_ = Framing::kUntilClose;
  }
  return out;
}

bool ResponseReader::ReadMoreOrEnd(bool* end) {
  *end = !Fill().ok();
  return !*end;
}

base::StatusOr<std::string> ResponseReader::ReadBody() {
  bool end = false;
  while (!done_) {
    switch (framing_) {
      case Framing::kNone:
        done_ = true;
        break;
      case Framing::kUntilClose: {
        if (buf_.empty() && !ReadMoreOrEnd(&end)) {
          done_ = true;
          break;
        }
        return std::exchange(buf_, std::string());
      }
      case Framing::kLength: {
        if (buf_.empty() && !ReadMoreOrEnd(&end)) {
          return base::UnavailableError("the connection ended " + std::to_string(remaining_) +
                                        " bytes before the end of the body");
        }
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, buf_.size()));
        std::string piece = buf_.substr(0, n);
        buf_.erase(0, n);
        remaining_ -= n;
        if (remaining_ == 0) done_ = true;
        return piece;
      }
      case Framing::kChunked: {
        if (remaining_ > 0) {
          if (buf_.empty() && !ReadMoreOrEnd(&end)) {
            return base::UnavailableError("the connection ended inside a chunk");
          }
          size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, buf_.size()));
          std::string piece = buf_.substr(0, n);
          buf_.erase(0, n);
          remaining_ -= n;
          chunk_trailer_ = remaining_ == 0;
          return piece;
        }
        size_t eol = buf_.find("\r\n");
        if (eol == std::string::npos) {
          if (buf_.size() > 1024) return base::InvalidArgumentError("malformed chunk size line");
          if (!ReadMoreOrEnd(&end)) {
            return base::UnavailableError("the connection ended inside a chunked body");
          }
          break;
        }
        if (chunk_trailer_) {  // the CRLF after a chunk's data
          if (eol != 0) return base::InvalidArgumentError("malformed chunk: no CRLF after data");
          buf_.erase(0, 2);
          chunk_trailer_ = false;
          break;
        }
        std::string_view line(buf_.data(), eol);
        line = line.substr(0, line.find(';'));
        line = Trim(line);
        uint64_t size = 0;
        auto [q, qec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
        if (qec != std::errc() || q != line.data() + line.size() || line.empty()) {
          return base::InvalidArgumentError("malformed chunk size \"" + std::string(line) + "\"");
        }
        buf_.erase(0, eol + 2);
        if (size == 0) {
          // Trailers (ignored) end with an empty line; the body is over either way.
          done_ = true;
          break;
        }
        remaining_ = size;
        break;
      }
    }
  }
  return std::string();
}

std::string ResponseReader::TakeBuffered() { return std::exchange(buf_, std::string()); }

}  // namespace knet::apiserver::http
