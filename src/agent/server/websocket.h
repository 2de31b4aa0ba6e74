// File: agent/server/websocket.h
//
// RFC 6455 WebSocket, as much as the Kubernetes exec protocol needs: the frame codec (masking,
// 7/16/64-bit lengths, fragmentation, control frames, limits), the opening handshake's
// Sec-WebSocket-Accept, and WebSocketConn, a blocking connection over an http::Tunnel.
//
//   FrameParser p(/*expect_masked=*/true, /*max_payload=*/1 << 20);
//   p.Feed(bytes);
//   ASSIGN_OR_RETURN(std::optional<Frame> f, p.Next());   // nullopt: need more bytes
//
//   WebSocketConn ws(tunnel, /*server=*/true);
//   while (true) {
//     ASSIGN_OR_RETURN(std::optional<Message> m, ws.ReadMessage());  // pings answered inside
//     if (!m) break;                                                 // close frame or EOF
//     ws.WriteMessage(Opcode::kBinary, m->data);                     // from any thread
//   }
//
// Thread-safety: FrameParser and MessageAssembler are not thread-safe. WebSocketConn: one thread
// reads (ReadMessage); WriteMessage/WriteClose may be called from any threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "apiserver/http/server.h"
#include "base/status.h"

namespace knet::agent::server {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

inline bool IsControl(Opcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

struct Frame {
  bool fin = true;
  Opcode opcode = Opcode::kBinary;
  std::string payload;  // unmasked
};

// One frame on the wire. `mask` set: the payload is masked with it (client to server frames).
std::string EncodeFrame(Opcode opcode, std::string_view payload, bool fin = true,
                        std::optional<std::array<uint8_t, 4>> mask = std::nullopt);

// Incremental frame parser. Errors (InvalidArgument, or ResourceExhausted for a payload over the
// limit) are final: the connection must be failed (close code 1002, or 1009 for the limit).
class FrameParser {
 public:
  // `expect_masked`: a server requires masked frames, a client unmasked ones (RFC 6455 5.1).
  FrameParser(bool expect_masked, size_t max_payload);

  void Feed(std::string_view data) { buf_.append(data); }
  // The next complete frame, or nullopt when more bytes are needed.
  base::StatusOr<std::optional<Frame>> Next();

 private:
  bool expect_masked_;
  size_t max_payload_;
  std::string buf_;
  size_t pos_ = 0;  // consumed prefix of buf_
  base::Status error_;
};

// A whole data message (fragments joined) or a control frame.
struct Message {
  Opcode opcode = Opcode::kBinary;  // kText, kBinary, or a control opcode
  std::string data;
};

// Joins fragmented data messages; control frames (allowed between fragments) pass through.
class MessageAssembler {
 public:
  explicit MessageAssembler(size_t max_message) : max_message_(max_message) {}
  // A complete message, nullopt while a fragmented one is incomplete, or an error (continuation
  // without a start, a new message inside a fragmented one, over the limit).
  base::StatusOr<std::optional<Message>> Add(Frame frame);

 private:
  size_t max_message_;
  bool in_message_ = false;
  Opcode opcode_ = Opcode::kBinary;
  std::string data_;
};

// base64(SHA-1(key + the RFC 6455 GUID)): the Sec-WebSocket-Accept for Sec-WebSocket-Key `key`.
std::string AcceptKey(std::string_view key);

// Close frame payload: 2-byte code + reason.
std::string ClosePayload(uint16_t code, std::string_view reason);

// A WebSocket connection over an upgraded HTTP connection (after the handshake).
class WebSocketConn {
 public:
  // `server`: frames we read must be masked and ours are not (server side), or the reverse.
  WebSocketConn(std::shared_ptr<apiserver::http::Tunnel> tunnel, bool server,
                size_t max_message = 16 * 1024 * 1024);
  ~WebSocketConn();

  // The next text or binary message. Pings are answered, pongs dropped; a close frame is answered
  // with a close frame and ends the stream (nullopt), as does the end of the connection. A
  // protocol error sends close 1002 (1009 for an oversized message) and returns the error.
  base::StatusOr<std::optional<Message>> ReadMessage();

  // Sends one unfragmented message. False once the connection is gone or closed by us.
  bool WriteMessage(Opcode opcode, std::string_view data);
  // Sends a close frame (once); later writes fail.
  void WriteClose(uint16_t code, std::string_view reason);
  // Closes the underlying connection (unblocks ReadMessage).
  void Close();

 private:
  bool WriteFrameLocked(Opcode opcode, std::string_view data);  // REQUIRES: write_mu_ held

  std::shared_ptr<apiserver::http::Tunnel> tunnel_;
  bool server_;
  FrameParser parser_;
  MessageAssembler assembler_;
  std::mutex write_mu_;
  bool close_sent_ = false;
  uint32_t mask_seed_;
};

}  // namespace knet::agent::server
