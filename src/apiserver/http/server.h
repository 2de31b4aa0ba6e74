// File: apiserver/http/server.h
//
// The API server's HTTP/1.1 server: TLS (or plain HTTP for tests) on Boost.Asio, with the request
// parsing of Boost.Beast. The REST layer plugs in one Handler, which runs on a thread pool (it may
// block on the store) and answers each request once, either with a whole Response or with a
// chunked Stream (watch).
//
//   http::ServerOptions opts;
//   opts.listen = "127.0.0.1:0";
//   opts.cert_file = pki.server_cert;
//   opts.key_file = pki.server_key;
//   ASSIGN_OR_RETURN(auto server, http::Server::Start(opts, [](const http::Request& req,
//                                                               http::Exchange& ex) {
//     if (req.QueryParam("watch") == "true") {
//       auto stream = ex.StartStream(200, {{"Content-Type", "application/json"}});
//       hub.Subscribe(stream);  // later, from any thread: stream->Write(bytes)
//       return;
//     }
//     ex.Respond({200, {{"Content-Type", "application/json"}}, R"({"kind":"PodList"})"});
//   }));
//
// Behaviour: keep-alive, pipelined requests answered in order, "Connection: close" honoured;
// malformed requests get 400 (431 for oversized headers) and the connection is closed; a body
// larger than max_body_bytes gets 413 with a metav1.Status body, without reading the rest; TLS 1.2+
// with ALPN offering only http/1.1; a handler that throws gets 500 and a line on stderr. No thread
// per connection: thousands of idle or streaming connections cost only their buffers. Upgrade
// hands a connection to the handler as a Tunnel (WebSocket, proxying); client certificates are
// verified when client_ca_file is set.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace knet::apiserver::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// One parsed request. Plain data; the handler may copy it.
struct Request {
  std::string method;  // "GET"
  std::string target;  // the raw request target: "/api/v1/pods?watch=1"
  std::string path;    // percent-decoded, without the query: "/api/v1/namespaces/default/pods"
  std::vector<std::pair<std::string, std::string>> query;  // decoded ('+' is a space), in order
  HeaderList headers;                                      // names lower-cased, in order
  std::string body;
  std::string remote_address;  // "127.0.0.1:54321", "[::1]:54321"
  // The subject CN of the client certificate, when the server verifies client certificates
  // (ServerOptions::client_ca_file) and the client presented one that verified; else "".
  std::string peer_common_name;
  int version = 11;  // 10 for HTTP/1.0, 11 for HTTP/1.1

  // The first value of query parameter `name`, or nullopt if absent.
  std::optional<std::string> QueryParam(std::string_view name) const;
  // The first value of header `lower_name` (which must be lower case), or "" if absent.
  std::string_view Header(std::string_view lower_name) const;
};

// A whole response. Content-Length and Connection are set by the server; any the handler sets
// are ignored.
struct Response {
  int status = 200;
  HeaderList headers;  // Content-Type etc.
  std::string body;
};

// A chunked response body in progress (for watch). Thread-safe; Write never blocks: bytes are
// queued and written asynchronously in order. If the client is too slow (more than
// ServerOptions::max_stream_queue_bytes queued) the stream is closed, and so is its connection.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues `chunk` (empty chunks are ignored). Returns false once the stream is closed or closing.
  virtual bool Write(std::shared_ptr<const std::string> chunk) = 0;
  // Sends what is queued, then the last chunk; the connection may then serve the next request.
  virtual void Close() = 0;
  // True once Close was called or the stream ended for another reason.
  virtual bool IsClosed() const = 0;
  // Blocks until fewer than `bytes` are queued (not yet written to the socket), for a producer
  // that can wait (a proxied log) rather than fill the queue up to max_stream_queue_bytes.
  // Returns false once the stream is closed or over. Never call it on an I/O thread.
  virtual bool WaitForRoom(size_t bytes) = 0;
  // Runs `fn` once, on any thread, when the stream ends for any reason (last chunk written,
  // client gone, server Stop, slow client). If it already ended, runs `fn` now, on this thread.
  // `fn` must not block for long: it may run on an I/O thread.
  virtual void OnClose(std::function<void()> fn) = 0;
};

// A connection taken over by the handler after a request (Exchange::Upgrade): a full-duplex
// byte pipe over the client's TCP or TLS connection, for WebSocket or a proxied upgrade. The
// calls block the calling thread (never call them on an Asio I/O thread); one thread may Read
// while another Writes. Thread-safe; may outlive the handler call and the Server (then every
// call fails at once).
class Tunnel {
 public:
  virtual ~Tunnel() = default;
  // Blocks until bytes arrive and returns how many were copied into `buf` (at most `len`); 0 at
  // the end of input (the peer closed, an error, Close or Server::Stop).
  virtual size_t Read(char* buf, size_t len) = 0;
  // Blocks until all of `data` is written; false if the connection is gone.
  virtual bool Write(std::string_view data) = 0;
  // Ends the tunnel: what Write already accepted is sent, then the connection is closed (TLS
  // close_notify first). Unblocks Read and Write. Idempotent. A tunnel dropped without Close
  // stays open until the peer closes it: always Close.
  virtual void Close() = 0;
};

// Handed to the handler for one request; exactly one of Respond / StartStream must be called,
// before the handler returns (if it returns without either, the server answers 500). Calls
// after the first are ignored (and logged). Valid only during the handler call.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void Respond(Response r) = 0;
  // Sends the status line and `headers` (Content-Type is the handler's to set) and returns the
  // stream for the body. The returned Stream may outlive the handler call and the Server.
  virtual std::shared_ptr<Stream> StartStream(int status, HeaderList headers) = 0;
  // Sends the status line (normally 101) and `headers` verbatim (Connection, Upgrade etc. are the
  // handler's to set; a Content-Length is not added) and hands the connection over: the server
  // reads no more requests from it, and bytes the client sent after the request come out of
  // Tunnel::Read. The connection closes when the tunnel is closed or the peer goes away.
  virtual std::shared_ptr<Tunnel> Upgrade(int status, HeaderList headers) = 0;
};

using Handler = std::function<void(const Request&, Exchange&)>;

struct ServerOptions {
  std::string listen = "0.0.0.0:6443";  // host:port, IPv6 as [::1]:6443; port 0 picks a free one
  std::string cert_file, key_file;      // PEM; both empty = plain HTTP (used by some tests)
  // PEM bundle of CAs whose client certificates are verified (TLS only); a verified certificate's
  // CN is Request::peer_common_name. "" = client certificates are not asked for.
  std::string client_ca_file;
  // With client_ca_file: refuse (in the TLS handshake) clients without a valid certificate.
  bool require_client_cert = false;
  size_t max_body_bytes = 3 * 1024 * 1024;  // larger bodies: 413 with a JSON metav1.Status body
  size_t max_header_bytes = 1024 * 1024;    // larger request heads: 431
  size_t max_stream_queue_bytes = 64 * 1024 * 1024;
  int io_threads = 2;        // Asio threads (TLS + parsing)
  int handler_threads = 16;  // handlers may block (store writes): they run off the I/O threads
  std::chrono::seconds idle_timeout{300};  // a connection with no request in progress is closed
  // One socket write (a response, or a batch of stream chunks) that takes longer than this
  // closes the connection: the client stopped reading.
  std::chrono::seconds write_timeout{60};
};

// A running server. Thread-safe.
class Server {
 public:
  // Binds, starts the I/O and handler threads and returns. Errors: InvalidArgument for a bad
  // `listen` or certificate/key file; the bind/listen error (with the address) otherwise.
  static base::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options, Handler handler);
  ~Server();  // Stop()

  uint16_t port() const;  // the bound port (useful with port 0)

  // Stops accepting, ends all streams (their OnClose callbacks run) and connections, waits for
  // running handlers and joins all threads. Idempotent. REQUIRES: not called from a handler.
  void Stop();

  class Impl;  // internal

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace knet::apiserver::http
