// File: apiserver/http/internal/connection.h
//
// One accepted connection (plain TCP or TLS) and the per-request Exchange and Stream objects the
// handler sees. Everything a Connection does runs on its strand (the socket's executor); other
// threads (handlers, stream writers) only post to it. Connections are kept alive by the
// shared_ptrs captured in their pending operations and posted tasks.
//
// Life of a request: bytes are read and fed to a RequestReader; a complete request is posted to
// the handler pool (one request at a time per connection, so pipelined requests are answered in
// order) while reading continues, so a client that goes away is noticed even during a long
// handler or a watch. The response (or stream head and chunks) goes through one ordered writer.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "apiserver/http/internal/request_reader.h"
#include "apiserver/http/server.h"

namespace knet::apiserver::http::internal {

class Connection;

// What the server shares with its connections. Owned by Server::Impl, which destroys it only
// after every connection is gone.
struct Core {
  ServerOptions options;
  Handler handler;
  std::optional<boost::asio::ssl::context> ssl;  // engaged for TLS
  boost::asio::thread_pool* pool = nullptr;      // where handlers run

  std::mutex mu;  // guards the fields below
  bool stopping = false;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections;
};

// The Stream handed to a handler. Thread-safe (mu_); the Connection side methods run on the
// connection's strand.
class StreamImpl final : public Stream {
 public:
  StreamImpl(std::weak_ptr<Connection> conn, size_t max_queue_bytes, bool chunked);

  bool Write(std::shared_ptr<const std::string> chunk) override;
  void Close() override;
  bool IsClosed() const override;
  bool WaitForRoom(size_t bytes) override;
  void OnClose(std::function<void()> fn) override;

  // Connection side.
  struct Batch {
    std::vector<std::shared_ptr<const std::string>> chunks;
    size_t bytes = 0;
    bool last = false;  // Close was requested and everything before it is in this batch
  };
  Batch Take();
  void Written(size_t bytes);  // `bytes` of a taken batch reached the socket
  void End();                  // the stream is over: runs the OnClose callbacks once
  bool chunked() const { return chunked_; }

 private:
  void WakeLocked();  // REQUIRES: mu_ held

  const std::weak_ptr<Connection> conn_;
  const size_t max_queue_bytes_;
  const bool chunked_;
  mutable std::mutex mu_;
  std::condition_variable room_;  // signalled as queued bytes are written, and at the end
  std::deque<std::shared_ptr<const std::string>> queue_;
  size_t queued_bytes_ = 0;  // queued plus taken but not yet written
  bool close_requested_ = false;
  bool overflow_ = false;
  bool ended_ = false;
  bool wake_posted_ = false;
  std::vector<std::function<void()>> on_close_;
};

// The Tunnel handed out by Exchange::Upgrade. Thread-safe (mu_); the Connection side methods run
// on the connection's strand.
class TunnelImpl final : public Tunnel {
 public:
  explicit TunnelImpl(std::weak_ptr<Connection> conn) : conn_(std::move(conn)) {}

  size_t Read(char* buf, size_t len) override;
  bool Write(std::string_view data) override;
  void Close() override;

  // Connection side. Push appends input and returns false when the buffer is full: the
  // connection then stops reading until Read drains it (it posts PostTunnelResume).
  bool Push(const char* data, size_t n);
  void PushEof();
  void Written(uint64_t seq);  // every Write up to `seq` reached the socket
  void End();                  // the connection is gone: every call fails from now on

 private:
  const std::weak_ptr<Connection> conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string in_;
  bool eof_ = false;
  bool paused_ = false;  // the connection stopped reading because in_ is full
  bool close_requested_ = false;
  bool ended_ = false;
  uint64_t posted_ = 0;   // Write calls handed to the connection
  uint64_t written_ = 0;  // ... and written
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `socket`'s executor must be a strand. Registers nothing: the caller does (Core::connections).
  Connection(Core* core, uint64_t id, boost::asio::ip::tcp::socket socket);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start();  // any thread
  void Abort();  // any thread: closes the socket, ends the stream

  // From handler and stream threads.
  void PostResponse(std::shared_ptr<const std::string> bytes);
  void PostStreamStart(std::shared_ptr<StreamImpl> stream, std::shared_ptr<const std::string> head);
  void PostStreamWake();
  void PostStreamOverflow();
  void PostUpgrade(std::shared_ptr<TunnelImpl> tunnel, std::shared_ptr<const std::string> head);
  void PostTunnelWrite(std::shared_ptr<const std::string> bytes, uint64_t seq);
  void PostTunnelClose();
  void PostTunnelResume();

 private:
  template <class Buffers, class Fn>
  void AsyncReadSome(const Buffers& buffers, Fn&& fn);
  template <class Buffers, class Fn>
  void AsyncWrite(const Buffers& buffers, Fn&& fn);
  boost::asio::ip::tcp::socket& Socket();

  void OnHandshake(const boost::system::error_code& ec);
  void ReadPeerName();
  void ReadMore();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void Pump();
  void Dispatch(Request req, bool keep_alive);
  void SendError(int status, const std::string& message);
  void WriteNext();
  void OnWrite(const boost::system::error_code& ec);
  void FinishRequest();
  void GracefulClose();
  void StartTlsShutdown();
  void DrainRaw();  // after the TLS shutdown: discard raw input until the peer closes
  void Close();
  void ArmTimer(std::chrono::steady_clock::duration d);
  void CancelTimer();

  Core* const core_;
  const uint64_t id_;
  std::optional<boost::asio::ip::tcp::socket> plain_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  boost::asio::any_io_executor exec_;  // the strand
  boost::asio::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  boost::asio::steady_timer write_timer_;  // write_timeout for the write in progress
  uint64_t write_gen_ = 0;
  std::string remote_;
  std::string peer_cn_;  // verified client certificate's CN

  RequestReader reader_;
  std::array<char, 16384> read_buf_;
  std::string in_;          // read, not yet parsed
  bool reading_ = false;    // an async read is outstanding
  bool read_done_ = false;  // the read side saw EOF or an error
  bool busy_ = false;       // a request is being handled, answered or streamed
  bool close_after_ = false;
  bool closing_ = false;  // final response written; draining input until the peer closes
  bool closed_ = false;
  size_t drained_ = 0;
  bool tls_shutdown_pending_ = false;  // waiting for the cancelled read before shutting down

  struct OutItem {
    std::shared_ptr<const std::string> bytes;
    bool end_of_request;
    uint64_t tunnel_seq = 0;  // a Tunnel::Write: its sequence number
  };
  std::deque<OutItem> out_;
  std::shared_ptr<StreamImpl> stream_;
  std::shared_ptr<TunnelImpl> tunnel_;  // set once the connection was upgraded
  bool tunnel_paused_ = false;          // not reading: the tunnel's input buffer is full
  uint64_t in_flight_tunnel_seq_ = 0;
  bool writing_ = false;
  std::vector<boost::asio::const_buffer> write_bufs_;
  std::vector<std::shared_ptr<const std::string>> in_flight_;
  size_t in_flight_stream_bytes_ = 0;
  bool in_flight_end_ = false;
  bool in_flight_last_chunk_ = false;
};

}  // namespace knet::apiserver::http::internal
