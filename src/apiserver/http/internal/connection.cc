#include "apiserver/http/internal/connection.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <exception>
#include <iostream>
#include <utility>

#include "apiserver/http/internal/wire.h"

namespace knet::apiserver::http::internal {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kLingerTimeout = std::chrono::seconds(2);
constexpr size_t kMaxReadAhead = 64 * 1024;        // buffered while a request is in progress
constexpr size_t kMaxDrain = 1024 * 1024;          // discarded after the final response
constexpr size_t kMaxTlsDrain = 64 * 1024 * 1024;  // raw bytes discarded after a TLS shutdown
constexpr size_t kMaxTunnelBuffer = 256 * 1024;    // tunnel input not yet Read

void Log(const std::string& line) { std::cerr << "knet apiserver http: " << line << std::endl; }

// The Exchange for one request; lives on the handler thread's stack.
class ExchangeImpl final : public Exchange {
 public:
  ExchangeImpl(std::shared_ptr<Connection> conn, const Request& req, bool keep_alive,
               size_t max_stream_queue_bytes)
      : conn_(std::move(conn)),
        req_(req),
        keep_alive_(keep_alive),
        max_stream_queue_bytes_(max_stream_queue_bytes) {}

  void Respond(Response r) override {
    if (Once("Respond")) return;
    std::string bytes = SerializeHead(r.status, r.headers, Framing::kContentLength, r.body.size(),
                                      keep_alive_, req_.version);
    if (req_.method != "HEAD") bytes += r.body;
    conn_->PostResponse(std::make_shared<const std::string>(std::move(bytes)));
  }

  std::shared_ptr<Stream> StartStream(int status, HeaderList headers) override {
    if (Once("StartStream")) {
      // Hand back a stream that is already over, so the caller's Write/OnClose still work.
      auto dead = std::make_shared<StreamImpl>(std::weak_ptr<Connection>(), 0, true);
      dead->End();
      return dead;
    }
    bool chunked = req_.version >= 11;
    bool keep = keep_alive_ && chunked;
    auto head = std::make_shared<const std::string>(
        SerializeHead(status, headers, chunked ? Framing::kChunked : Framing::kUntilClose, 0, keep,
                      req_.version));
    stream_ = std::make_shared<StreamImpl>(conn_, max_stream_queue_bytes_, chunked);
    conn_->PostStreamStart(stream_, std::move(head));
    return stream_;
  }

  std::shared_ptr<Tunnel> Upgrade(int status, HeaderList headers) override {
    auto tunnel = std::make_shared<TunnelImpl>(conn_);
    if (Once("Upgrade")) {
      tunnel->End();
      return tunnel;
    }
    auto head = std::make_shared<const std::string>(
        SerializeHead(status, headers, Framing::kUpgrade, 0, false, req_.version));
    conn_->PostUpgrade(tunnel, std::move(head));
    return tunnel;
  }

  bool done() const { return done_; }
  const std::shared_ptr<StreamImpl>& stream() const { return stream_; }

 private:
  // True (and logs) if a response was already chosen.
  bool Once(const char* what) {
    if (done_) {
      Log(std::string(what) + " called after the response to " + req_.method + " " + req_.path +
          " was already started; ignored");
      return true;
    }
    done_ = true;
    return false;
  }

  std::shared_ptr<Connection> conn_;
  const Request& req_;
  const bool keep_alive_;
  const size_t max_stream_queue_bytes_;
  bool done_ = false;
  std::shared_ptr<StreamImpl> stream_;
};

void RunHandler(Core* core, const std::shared_ptr<Connection>& conn, const Request& req,
                bool keep_alive) {
  ExchangeImpl ex(conn, req, keep_alive, core->options.max_stream_queue_bytes);
  std::string failure;
  try {
    core->handler(req, ex);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown exception";
  }
  if (!failure.empty()) {
    Log("handler for " + req.method + " " + req.target + " threw: " + failure);
    if (!ex.done()) {
      ex.Respond(StatusResponse(500, "InternalError",
                                "Internal error occurred: the handler failed: " + failure));
    } else if (ex.stream()) {
      ex.stream()->Close();
    }
    return;
  }
  if (!ex.done()) {
    Log("handler for " + req.method + " " + req.target + " returned without a response");
    ex.Respond(
        StatusResponse(500, "InternalError",
                       "Internal error occurred: no response for " + req.method + " " + req.path));
  }
}

std::string FormatEndpoint(const tcp::endpoint& ep) {
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

}  // namespace

// ---- StreamImpl ----

StreamImpl::StreamImpl(std::weak_ptr<Connection> conn, size_t max_queue_bytes, bool chunked)
    : conn_(std::move(conn)), max_queue_bytes_(max_queue_bytes), chunked_(chunked) {}

void StreamImpl::WakeLocked() {
  if (wake_posted_ || ended_) return;
  // Posting under mu_: End (on the strand, before the server tears down its io_context) takes
  // mu_ too, so no post can reach a connection after its stream ended.
  if (auto c = conn_.lock()) {
    wake_posted_ = true;
    c->PostStreamWake();
  }
}

bool StreamImpl::Write(std::shared_ptr<const std::string> chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_ || close_requested_ || overflow_) return false;
  if (!chunk || chunk->empty()) return true;
  if (queued_bytes_ + chunk->size() > max_queue_bytes_) {
    overflow_ = true;
    queue_.clear();
    room_.notify_all();
    if (auto c = conn_.lock()) c->PostStreamOverflow();
    return false;
  }
  queued_bytes_ += chunk->size();
  queue_.push_back(std::move(chunk));
  WakeLocked();
  return true;
}

void StreamImpl::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_ || close_requested_ || overflow_) return;
  close_requested_ = true;
  room_.notify_all();
  WakeLocked();
}

bool StreamImpl::IsClosed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_ || close_requested_ || overflow_;
}

bool StreamImpl::WaitForRoom(size_t bytes) {
  std::unique_lock<std::mutex> lock(mu_);
  room_.wait(lock,
             [&] { return ended_ || close_requested_ || overflow_ || queued_bytes_ < bytes; });
  return !(ended_ || close_requested_ || overflow_);
}

void StreamImpl::OnClose(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ended_) {
      on_close_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

StreamImpl::Batch StreamImpl::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  wake_posted_ = false;
  Batch b;
  b.chunks.reserve(queue_.size());
  for (auto& c : queue_) {
    b.bytes += c->size();
    b.chunks.push_back(std::move(c));
  }
  queue_.clear();
  b.last = close_requested_ && !ended_;
  return b;
}

void StreamImpl::Written(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  queued_bytes_ -= std::min(bytes, queued_bytes_);
  room_.notify_all();
}

void StreamImpl::End() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ended_) return;
    ended_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    callbacks.swap(on_close_);
    room_.notify_all();
  }
  for (auto& fn : callbacks) {
    try {
      fn();
    } catch (const std::exception& e) {
      Log(std::string("a stream OnClose callback threw: ") + e.what());
    } catch (...) {
      Log("a stream OnClose callback threw");
    }
  }
}

// ---- TunnelImpl ----

size_t TunnelImpl::Read(char* buf, size_t len) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !in_.empty() || eof_ || ended_ || close_requested_; });
  if (in_.empty() || ended_ || close_requested_ || len == 0) return 0;
  size_t n = std::min(len, in_.size());
  std::memcpy(buf, in_.data(), n);
  in_.erase(0, n);
  if (paused_ && in_.size() < kMaxTunnelBuffer / 2) {
    paused_ = false;
    if (auto c = conn_.lock()) c->PostTunnelResume();
  }
  return n;
}

bool TunnelImpl::Write(std::string_view data) {
  if (data.empty()) return true;
  std::unique_lock<std::mutex> lock(mu_);
  if (ended_ || close_requested_) return false;
  auto c = conn_.lock();
  if (!c) return false;
  uint64_t seq = ++posted_;
  c->PostTunnelWrite(std::make_shared<const std::string>(data), seq);
  c.reset();
  cv_.wait(lock, [&] { return written_ >= seq || ended_; });
  return written_ >= seq;
}

void TunnelImpl::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_ || close_requested_) return;
  close_requested_ = true;
  cv_.notify_all();
  if (auto c = conn_.lock()) c->PostTunnelClose();
}

bool TunnelImpl::Push(const char* data, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  in_.append(data, n);
  cv_.notify_all();
  if (in_.size() >= kMaxTunnelBuffer) {
    paused_ = true;
    return false;
  }
  return true;
}

void TunnelImpl::PushEof() {
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

void TunnelImpl::Written(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  written_ = std::max(written_, seq);
  cv_.notify_all();
}

void TunnelImpl::End() {
  std::lock_guard<std::mutex> lock(mu_);
  ended_ = true;
  cv_.notify_all();
}

// ---- Connection ----

Connection::Connection(Core* core, uint64_t id, tcp::socket socket)
    : core_(core),
      id_(id),
      exec_(socket.get_executor()),
      timer_(socket.get_executor()),
      write_timer_(socket.get_executor()),
      reader_(core->options.max_header_bytes, core->options.max_body_bytes) {
  error_code ec;
  tcp::endpoint ep = socket.remote_endpoint(ec);
  if (!ec) remote_ = FormatEndpoint(ep);
  if (core_->ssl) {
    tls_.emplace(std::move(socket), *core_->ssl);
  } else {
    plain_.emplace(std::move(socket));
  }
}

Connection::~Connection() {
  std::lock_guard<std::mutex> lock(core_->mu);
  core_->connections.erase(id_);
}

tcp::socket& Connection::Socket() { return tls_ ? tls_->next_layer() : *plain_; }

template <class Buffers, class Fn>
void Connection::AsyncReadSome(const Buffers& buffers, Fn&& fn) {
  if (tls_) {
    tls_->async_read_some(buffers, std::forward<Fn>(fn));
  } else {
    plain_->async_read_some(buffers, std::forward<Fn>(fn));
  }
}

template <class Buffers, class Fn>
void Connection::AsyncWrite(const Buffers& buffers, Fn&& fn) {
  if (tls_) {
    net::async_write(*tls_, buffers, std::forward<Fn>(fn));
  } else {
    net::async_write(*plain_, buffers, std::forward<Fn>(fn));
  }
}

void Connection::Start() {
  net::dispatch(exec_, [self = shared_from_this()] {
    if (self->closed_) return;
    if (self->tls_) {
      self->ArmTimer(kHandshakeTimeout);
      self->tls_->async_handshake(net::ssl::stream_base::server,
                                  [self](const error_code& ec) { self->OnHandshake(ec); });
    } else {
      self->ArmTimer(self->core_->options.idle_timeout);
      self->ReadMore();
    }
  });
}

void Connection::Abort() {
  net::post(exec_, [self = shared_from_this()] { self->Close(); });
}

void Connection::PostResponse(std::shared_ptr<const std::string> bytes) {
  net::post(exec_, [self = shared_from_this(), bytes = std::move(bytes)]() mutable {
    if (self->closed_) return;
    self->out_.push_back({std::move(bytes), true});
    self->WriteNext();
  });
}

void Connection::PostStreamStart(std::shared_ptr<StreamImpl> stream,
                                 std::shared_ptr<const std::string> head) {
  net::post(exec_, [self = shared_from_this(), stream = std::move(stream),
                    head = std::move(head)]() mutable {
    if (self->closed_ || self->read_done_) {  // the client went away while the handler ran
      stream->End();
      self->Close();
      return;
    }
    if (!stream->chunked()) self->close_after_ = true;
    self->stream_ = std::move(stream);
    self->out_.push_back({std::move(head), false});
    self->WriteNext();
  });
}

void Connection::PostStreamWake() {
  net::post(exec_, [self = shared_from_this()] { self->WriteNext(); });
}

void Connection::PostStreamOverflow() {
  net::post(exec_, [self = shared_from_this()] {
    Log("closing the stream to " + self->remote_ + ": the client reads too slowly (more than " +
        std::to_string(self->core_->options.max_stream_queue_bytes) + " bytes queued)");
    self->Close();
  });
}

void Connection::PostUpgrade(std::shared_ptr<TunnelImpl> tunnel,
                             std::shared_ptr<const std::string> head) {
  net::post(exec_, [self = shared_from_this(), tunnel = std::move(tunnel),
                    head = std::move(head)]() mutable {
    if (self->closed_) {
      tunnel->End();
      return;
    }
    self->tunnel_ = std::move(tunnel);
    self->close_after_ = true;  // no request after the tunnel
    self->out_.push_back({std::move(head), false});
    // Bytes the client sent after the request (read ahead) are the tunnel's.
    if (!self->in_.empty()) {
      self->tunnel_paused_ = !self->tunnel_->Push(self->in_.data(), self->in_.size());
      self->in_.clear();
    }
    if (self->read_done_) self->tunnel_->PushEof();
    self->WriteNext();
    self->ReadMore();
  });
}

void Connection::PostTunnelWrite(std::shared_ptr<const std::string> bytes, uint64_t seq) {
  net::post(exec_, [self = shared_from_this(), bytes = std::move(bytes), seq]() mutable {
    if (self->closed_ || self->closing_) return;
    self->out_.push_back({std::move(bytes), false, seq});
    self->WriteNext();
  });
}

void Connection::PostTunnelClose() {
  net::post(exec_, [self = shared_from_this()] {
    if (self->closed_ || self->closing_) return;
    // After everything queued: the end of the "request", which closes the connection.
    self->out_.push_back({std::make_shared<const std::string>(), true});
    self->WriteNext();
  });
}

void Connection::PostTunnelResume() {
  net::post(exec_, [self = shared_from_this()] {
    self->tunnel_paused_ = false;
    self->ReadMore();
  });
}

void Connection::ReadPeerName() {
  if (!tls_ || core_->options.client_ca_file.empty()) return;
  SSL* ssl = tls_->native_handle();
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    char cn[256] = {0};
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                      static_cast<int>(sizeof(cn)));
    if (n > 0) peer_cn_.assign(cn, static_cast<size_t>(n));
  }
  X509_free(cert);
}

void Connection::OnHandshake(const error_code& ec) {
  if (closed_) return;
  if (ec) {
    Close();
    return;
  }
  ReadPeerName();
  ArmTimer(core_->options.idle_timeout);
  ReadMore();
}

void Connection::ReadMore() {
  if (reading_ || closed_ || read_done_) return;
  if (closing_ && tls_) return;  // the TLS shutdown does its own reading
  if (tunnel_ && tunnel_paused_ && !closing_) return;
  if (!closing_ && busy_ && in_.size() >= kMaxReadAhead) return;
  reading_ = true;
  AsyncReadSome(
      net::buffer(read_buf_),
      [self = shared_from_this()](const error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(const error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (closing_ && tls_) {
    if (tls_shutdown_pending_) StartTlsShutdown();
    return;
  }
  if (tunnel_ && !closing_) {
    if (ec) {
      read_done_ = true;  // the tunnel's user decides when to close
      tunnel_->PushEof();
      return;
    }
    tunnel_paused_ = !tunnel_->Push(read_buf_.data(), n);
    ReadMore();
    return;
  }
  if (ec) {
    read_done_ = true;
    // Idle, draining or streaming: the client is gone. Otherwise it may only have half-closed:
    // answer the request in progress, then close.
    if (closing_ || !busy_ || stream_) {
      Close();
    } else {
      close_after_ = true;
    }
    return;
  }
  if (closing_) {
    drained_ += n;
    if (drained_ > kMaxDrain) {
      Close();
    } else {
      ReadMore();
    }
    return;
  }
  in_.append(read_buf_.data(), n);
  Pump();
  ReadMore();
}

void Connection::Pump() {
  while (!busy_ && !close_after_ && !closed_ && !closing_ && !in_.empty()) {
    size_t consumed = 0;
    RequestReader::State st = reader_.Feed(in_, &consumed);
    in_.erase(0, consumed);
    if (st == RequestReader::State::kNeedMore) {
      if (reader_.TakeExpectContinue()) {
        static const auto kContinue =
            std::make_shared<const std::string>("HTTP/1.1 100 Continue\r\n\r\n");
        out_.push_back({kContinue, false});
        WriteNext();
      }
      break;  // wait for more bytes
    }
    if (st == RequestReader::State::kError) {
      SendError(reader_.error_status(), reader_.error_message());
      return;
    }
    Request req = reader_.TakeRequest();
    bool keep_alive = reader_.keep_alive();
    int bad = reader_.error_status();
    std::string message = reader_.error_message();
    reader_.Reset();
    if (bad != 0) {
      SendError(bad, message);
      return;
    }
    Dispatch(std::move(req), keep_alive);
  }
}

void Connection::Dispatch(Request req, bool keep_alive) {
  busy_ = true;
  CancelTimer();
  if (!keep_alive) close_after_ = true;
  req.remote_address = remote_;
  req.peer_common_name = peer_cn_;
  net::post(*core_->pool, [core = core_, self = shared_from_this(), req = std::move(req),
                           keep_alive]() { RunHandler(core, self, req, keep_alive); });
}

void Connection::SendError(int status, const std::string& message) {
  busy_ = true;
  close_after_ = true;
  CancelTimer();
  Response r = StatusResponse(status, ReasonForCode(status), message);
  std::string bytes = SerializeHead(r.status, r.headers, Framing::kContentLength, r.body.size(),
                                    /*keep_alive=*/false, 11);
  bytes += r.body;
  out_.push_back({std::make_shared<const std::string>(std::move(bytes)), true});
  WriteNext();
}

void Connection::WriteNext() {
  if (writing_ || closed_) return;
  write_bufs_.clear();
  in_flight_.clear();
  in_flight_stream_bytes_ = 0;
  in_flight_tunnel_seq_ = 0;
  in_flight_end_ = false;
  in_flight_last_chunk_ = false;
  if (!out_.empty()) {
    while (!out_.empty()) {
      OutItem item = std::move(out_.front());
      out_.pop_front();
      write_bufs_.push_back(net::buffer(*item.bytes));
      in_flight_.push_back(std::move(item.bytes));
      if (item.tunnel_seq != 0) in_flight_tunnel_seq_ = item.tunnel_seq;
      if (item.end_of_request) {
        in_flight_end_ = true;
        break;
      }
    }
  } else if (stream_) {
    StreamImpl::Batch batch = stream_->Take();
    if (!batch.chunks.empty()) {
      if (stream_->chunked()) {
        in_flight_.push_back(std::make_shared<const std::string>(ChunkHeader(batch.bytes)));
        write_bufs_.push_back(net::buffer(*in_flight_.back()));
      }
      for (auto& c : batch.chunks) {
        write_bufs_.push_back(net::buffer(*c));
        in_flight_.push_back(std::move(c));
      }
      if (stream_->chunked())
        write_bufs_.push_back(net::buffer(kChunkEnd.data(), kChunkEnd.size()));
      in_flight_stream_bytes_ = batch.bytes;
    }
    if (batch.last) {
      if (stream_->chunked()) {
        write_bufs_.push_back(net::buffer(kLastChunk.data(), kLastChunk.size()));
      }
      in_flight_last_chunk_ = true;
      in_flight_end_ = true;
    }
  }
  if (write_bufs_.empty()) {
    if (in_flight_end_) OnWrite(error_code());  // an unchunked stream closing with nothing left
    return;
  }
  writing_ = true;
  uint64_t gen = ++write_gen_;
  write_timer_.expires_after(core_->options.write_timeout);
  write_timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
    if (ec || gen != self->write_gen_ || self->closed_ || !self->writing_) return;
    Log("closing the connection to " + self->remote_ + ": a write made no progress for " +
        std::to_string(self->core_->options.write_timeout.count()) + "s");
    self->Close();
  });
  AsyncWrite(write_bufs_, [self = shared_from_this()](const error_code& ec, size_t) {
    self->writing_ = false;
    self->OnWrite(ec);
  });
}

void Connection::OnWrite(const error_code& ec) {
  in_flight_.clear();
  write_bufs_.clear();
  if (closed_) return;
  if (ec) {
    Close();
    return;
  }
  if (in_flight_tunnel_seq_ != 0 && tunnel_) tunnel_->Written(in_flight_tunnel_seq_);
  in_flight_tunnel_seq_ = 0;
  if (in_flight_stream_bytes_ > 0 && stream_) stream_->Written(in_flight_stream_bytes_);
  in_flight_stream_bytes_ = 0;
  bool end = in_flight_end_;
  bool last_chunk = in_flight_last_chunk_;
  in_flight_end_ = in_flight_last_chunk_ = false;
  if (end) {
    if (last_chunk && stream_) {
      std::shared_ptr<StreamImpl> s = std::move(stream_);
      s->End();
    }
    FinishRequest();
    if (closed_ || closing_) return;
  }
  WriteNext();
}

void Connection::FinishRequest() {
  busy_ = false;
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    stopping = core_->stopping;
  }
  if (close_after_ || read_done_ || stopping) {
    GracefulClose();
    return;
  }
  ArmTimer(core_->options.idle_timeout);
  Pump();
  ReadMore();
}

void Connection::GracefulClose() {
  closing_ = true;
  in_.clear();
  ArmTimer(kLingerTimeout);
  if (tls_) {
    // Send close_notify so a body delimited by the close is not taken for a truncation. The
    // read-ahead must stop first: one read at a time on an ssl::stream, and shutdown reads.
    if (reading_) {
      tls_shutdown_pending_ = true;
      error_code ec;
      Socket().cancel(ec);
    } else {
      StartTlsShutdown();
    }
    return;
  }
  // Half-close and read until the peer closes, so a client still sending (say, the rest of a
  // body we refused with 413) gets our response instead of a reset.
  error_code ec;
  Socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec || read_done_) {
    Close();
    return;
  }
  ReadMore();
}

void Connection::StartTlsShutdown() {
  tls_shutdown_pending_ = false;
  tls_->async_shutdown([self = shared_from_this()](const error_code&) {
    // A client still sending (the rest of a body refused with 413) makes the shutdown fail at
    // once; closing now would reset the connection and drop our response unread (kubectl then
    // says "write: broken pipe"). Half-close and drain the raw bytes until the peer closes, as
    // for plain HTTP; the linger timer bounds it.
    if (self->closed_) return;
    error_code ec;
    self->Socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return self->Close();
    self->DrainRaw();
  });
}

void Connection::DrainRaw() {
  Socket().async_read_some(net::buffer(read_buf_),
                           [self = shared_from_this()](const error_code& ec, size_t n) {
                             if (self->closed_) return;
                             self->drained_ += n;
                             if (ec || self->drained_ > kMaxTlsDrain) return self->Close();
                             self->DrainRaw();
                           });
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  CancelTimer();
  ++write_gen_;
  write_timer_.cancel();
  error_code ec;
  Socket().shutdown(tcp::socket::shutdown_both, ec);
  Socket().close(ec);
  out_.clear();
  if (stream_) {
    std::shared_ptr<StreamImpl> s = std::move(stream_);
    s->End();
  }
  if (tunnel_) tunnel_->End();
}

void Connection::ArmTimer(std::chrono::steady_clock::duration d) {
  uint64_t gen = ++timer_gen_;
  timer_.expires_after(d);
  timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
    if (ec || gen != self->timer_gen_ || self->closed_) return;
    // Handshake, idle or linger time is up. A request in progress is never timed out here.
    if (!self->busy_) self->Close();
  });
}

void Connection::CancelTimer() {
  ++timer_gen_;
  timer_.cancel();
}

}  // namespace knet::apiserver::http::internal
