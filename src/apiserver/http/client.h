// File: apiserver/http/client.h
//
// The client side the API server needs to reach node agents (pods/log, pods/exec): a Dialer
// that opens TCP or TLS connections as blocking http::Tunnel objects, and a small HTTP/1.1
// response reader over any Tunnel (head, then the body decoded from chunked, Content-Length or
// read-until-close framing; after a 101 the remaining bytes belong to the upgraded protocol).
//
//   http::Dialer dialer;
//   http::DialOptions o;
//   o.cert_file = pki.kubelet_client_cert;  // client certificate (optional)
//   o.key_file = pki.kubelet_client_key;
//   ASSIGN_OR_RETURN(std::unique_ptr<http::Tunnel> conn, dialer.Dial("10.0.0.5", 10250, o));
//   conn->Write("GET /healthz HTTP/1.1\r\nHost: 10.0.0.5\r\n\r\n");
//   http::ResponseReader r(conn.get());
//   ASSIGN_OR_RETURN(http::ResponseHead head, r.ReadHead());
//   while (true) { ASSIGN_OR_RETURN(std::string piece, r.ReadBody()); if (piece.empty()) break; }
//
// Thread-safety: Dialer is thread-safe and must outlive the tunnels it made. A dialled Tunnel is
// like the server's: one reader and one writer thread may use it at once. ResponseReader is not
// thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "apiserver/http/server.h"
#include "base/status.h"

namespace knet::apiserver::http {

struct DialOptions {
  bool tls = true;
  std::string cert_file, key_file;  // client certificate (PEM); both empty = none
  // Verify the server's certificate against ca_file (and `server_name` if set). false = accept
  // any certificate, as kube-apiserver does towards kubelets without
  // --kubelet-certificate-authority.
  bool verify_server = false;
  std::string ca_file;
  std::string server_name;
  std::chrono::milliseconds timeout{10000};  // connect + TLS handshake
};

class Dialer {
 public:
  Dialer();  // one I/O thread
  ~Dialer();
  Dialer(const Dialer&) = delete;
  Dialer& operator=(const Dialer&) = delete;

  // Connects to host (an IP address literal) : port. Errors: InvalidArgument for a bad address
  // or certificate file; Unavailable (with the address and the reason) when the connection or
  // the handshake fails or times out.
  base::StatusOr<std::unique_ptr<Tunnel>> Dial(const std::string& host, uint16_t port,
                                               const DialOptions& options);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  HeaderList headers;  // names lower-cased, in order

  std::string_view Header(std::string_view lower_name) const;
};

class ResponseReader {
 public:
  explicit ResponseReader(Tunnel* tunnel, size_t max_head_bytes = 64 * 1024);

  // Reads the status line and headers. Errors: Unavailable if the connection ends first,
  // InvalidArgument for a malformed response.
  base::StatusOr<ResponseHead> ReadHead();
  // The next piece of the body, "" at its end. REQUIRES: ReadHead succeeded (not for a 101).
  base::StatusOr<std::string> ReadBody();
  // Bytes read past the head (after a 101 they are the upgraded protocol's first bytes).
  std::string TakeBuffered();

 private:
  base::Status Fill();  // reads more into buf_; Unavailable at the end of input
  bool ReadMoreOrEnd(bool* end);

  Tunnel* tunnel_;
  size_t max_head_bytes_;
  std::string buf_;
  enum class Framing { kNone, kLength, kChunked, kUntilClose } framing_ = Framing::kNone;
  uint64_t remaining_ = 0;  // kLength: body bytes left; kChunked: of the current chunk
  bool chunk_trailer_ = false;
  bool done_ = false;
};

}  // namespace knet::apiserver::http
