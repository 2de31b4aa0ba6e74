#include "agent/server/websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <random>
#include <utility>

namespace knet::agent::server {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool KnownOpcode(uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

}  // namespace

std::string EncodeFrame(Opcode opcode, std::string_view payload, bool fin,
                        std::optional<std::array<uint8_t, 4>> mask) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | static_cast<uint8_t>(opcode)));
  uint8_t mask_bit = mask ? 0x80 : 0x00;
  size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>((n >> 8) & 0xFF));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((static_cast<uint64_t>(n) >> shift) & 0xFF));
    }
  }
  if (mask) {
    for (uint8_t b : *mask) out.push_back(static_cast<char>(b));
    size_t start = out.size();
    out.append(payload);
    for (size_t i = 0; i < n; ++i) {
      out[start + i] = static_cast<char>(static_cast<uint8_t>(out[start + i]) ^ (*mask)[i % 4]);
    }
  } else {
    out.append(payload);
  }
  return out;
}

FrameParser::FrameParser(bool expect_masked, size_t max_payload)
    : expect_masked_(expect_masked), max_payload_(max_payload) {}

base::StatusOr<std::optional<Frame>> FrameParser::Next() {
  if (!error_.ok()) return error_;
  auto fail = [this](base::Status st) {
    error_ = st;
    return st;
  };
  size_t avail = buf_.size() - pos_;
  const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
  if (avail < 2) return std::optional<Frame>();
  uint8_t b0 = p[0], b1 = p[1];
  if ((b0 & 0x70) != 0) {
    return fail(base::InvalidArgumentError("websocket: reserved bits set (no extension agreed)"));
  }
  uint8_t op = b0 & 0x0F;
  if (!KnownOpcode(op)) {
    return fail(base::InvalidArgumentError("websocket: unknown opcode " + std::to_string(op)));
  }
  bool fin = (b0 & 0x80) != 0;
  bool masked = (b1 & 0x80) != 0;
  if (masked != expect_masked_) {
    return fail(base::InvalidArgumentError(expect_masked_
                                               ? "websocket: a client frame is not masked"
                                               : "websocket: a server frame is masked"));
  }
  uint64_t len = b1 & 0x7F;
  size_t header = 2;
  if (len == 126) {
    if (avail < 4) return std::optional<Frame>();
    len = (static_cast<uint64_t>(p[2]) << 8) | p[3];
    header = 4;
  } else if (len == 127) {
    if (avail < 10) return std::optional<Frame>();
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    if ((len >> 63) != 0) {
      return fail(base::InvalidArgumentError("websocket: 64-bit length with the top bit set"));
    }
    header = 10;
  }
  if (IsControl(static_cast<Opcode>(op))) {
    if (!fin) return fail(base::InvalidArgumentError("websocket: fragmented control frame"));
    if (len > 125) {
      return fail(base::InvalidArgumentError("websocket: control frame payload over 125 bytes"));
    }
  }
  if (len > max_payload_) {
    return fail(base::ResourceExhaustedError("websocket: frame payload of " + std::to_string(len) +
                                             " bytes is over the limit of " +
                                             std::to_string(max_payload_)));
  }
  size_t mask_len = masked ? 4 : 0;
  if (avail < header + mask_len + len) return std::optional<Frame>();
  Frame f;
  f.fin = fin;
  f.opcode = static_cast<Opcode>(op);
  f.payload.assign(reinterpret_cast<const char*>(p + header + mask_len), static_cast<size_t>(len));
  if (masked) {
    const uint8_t* key = p + header;
    for (size_t i = 0; i < f.payload.size(); ++i) {
      f.payload[i] = static_cast<char>(static_cast<uint8_t>(f.payload[i]) ^ key[i % 4]);
    }
  }
  if (f.opcode == Opcode::kClose && f.payload.size() == 1) {
    return fail(base::InvalidArgumentError("websocket: close frame with a 1-byte payload"));
  }
  pos_ += header + mask_len + static_cast<size_t>(len);
  if (pos_ > 65536 || pos_ == buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return std::optional<Frame>(std::move(f));
}

base::StatusOr<std::optional<Message>> MessageAssembler::Add(Frame frame) {
  if (IsControl(frame.opcode)) {
    return std::optional<Message>(Message{frame.opcode, std::move(frame.payload)});
  }
  if (frame.opcode == Opcode::kContinuation) {
    if (!in_message_) {
      return base::InvalidArgumentError("websocket: continuation frame without a message");
    }
  } else {
    if (in_message_) {
      return base::InvalidArgumentError("websocket: a new message started inside a fragmented one");
    }
    in_message_ = true;
    opcode_ = frame.opcode;
    data_.clear();
  }
  if (data_.size() + frame.payload.size() > max_message_) {
    return base::ResourceExhaustedError("websocket: message over the limit of " +
                                        std::to_string(max_message_) + " bytes");
  }
  data_ += frame.payload;
  if (!frame.fin) return std::optional<Message>();
  in_message_ = false;
  return std::optional<Message>(Message{opcode_, std::exchange(data_, std::string())});
}

std::string AcceptKey(std::string_view key) {
  std::string in(key);
  in += kGuid;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
}

std::string ClosePayload(uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason.substr(0, 123));
  return out;
}

WebSocketConn::WebSocketConn(std::shared_ptr<apiserver::http::Tunnel> tunnel, bool server,
                             size_t max_message)
    : tunnel_(std::move(tunnel)),
      server_(server),
      parser_(/*expect_masked=*/server, max_message),
      assembler_(max_message),
      mask_seed_(std::random_device()()) {}

WebSocketConn::~WebSocketConn() = default;

bool WebSocketConn::WriteFrameLocked(Opcode opcode, std::string_view data) {
  std::optional<std::array<uint8_t, 4>> mask;
  if (!server_) {
    mask_seed_ = mask_seed_ * 1664525u + 1013904223u;
    mask = std::array<uint8_t, 4>{
        static_cast<uint8_t>(mask_seed_), static_cast<uint8_t>(mask_seed_ >> 8),
        static_cast<uint8_t>(mask_seed_ >> 16), static_cast<uint8_t>(mask_seed_ >> 24)};
  }
  return tunnel_->Write(EncodeFrame(opcode, data, true, mask));
}

bool WebSocketConn::WriteMessage(Opcode opcode, std::string_view data) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (close_sent_) return false;
  return WriteFrameLocked(opcode, data);
}

void WebSocketConn::WriteClose(uint16_t code, std::string_view reason) {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (close_sent_) return;
  close_sent_ = true;
  WriteFrameLocked(Opcode::kClose, ClosePayload(code, reason));
}

void WebSocketConn::Close() { tunnel_->Close(); }

base::StatusOr<std::optional<Message>> WebSocketConn::ReadMessage() {
  char buf[16384];
  while (true) {
    auto frame = parser_.Next();
    if (!frame.ok()) {
      bool too_big = frame.status().code() == base::StatusCode::kResourceExhausted;
      WriteClose(too_big ? 1009 : 1002, too_big ? "message too big" : "protocol error");
      return frame.status();
    }
    if (!frame->has_value()) {
      size_t n = tunnel_->Read(buf, sizeof(buf));
      if (n == 0) return std::optional<Message>();
      parser_.Feed(std::string_view(buf, n));
      continue;
    }
    auto msg = assembler_.Add(std::move(**frame));
    if (!msg.ok()) {
      bool too_big = msg.status().code() == base::StatusCode::kResourceExhausted;
      WriteClose(too_big ? 1009 : 1002, too_big ? "message too big" : "protocol error");
      return msg.status();
    }
    if (!msg->has_value()) continue;
    Message& m = **msg;
    switch (m.opcode) {
      case Opcode::kPing: {
        std::lock_guard<std::mutex> lock(write_mu_);
        if (!close_sent_) WriteFrameLocked(Opcode::kPong, m.data);
        continue;
      }
      case Opcode::kPong:
        continue;
      case Opcode::kClose: {
        // Echo the code (RFC 6455 5.5.1), then the stream is over.
        uint16_t code = 1000;
        if (m.data.size() >= 2) {
          code = static_cast<uint16_t>((static_cast<uint8_t>(m.data[0]) << 8) |
                                       static_cast<uint8_t>(m.data[1]));
        }
        WriteClose(code, "");
        return std::optional<Message>();
      }
      default:
        return std::optional<Message>(std::move(m));
    }
  }
}

}  // namespace knet::agent::server
