#include "agent/server/websocket.h"

#include <gtest/gtest.h>

#include <string>

namespace knet::agent::server {
namespace {

constexpr std::array<uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d};

std::vector<Frame> ParseAll(FrameParser& p, std::string_view bytes, base::Status* err = nullptr) {
  p.Feed(bytes);
  std::vector<Frame> out;
  while (true) {
    auto f = p.Next();
    if (!f.ok()) {
      if (err) *err = f.status();
      break;
    }
    if (!f->has_value()) break;
    out.push_back(std::move(**f));
  }
  return out;
}

TEST(WebSocketTest, Rfc6455Examples) {
  // RFC 6455 5.7: a single-frame masked text message "Hello".
  const unsigned char masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  EXPECT_EQ(EncodeFrame(Opcode::kText, "Hello", true, kMask),
            std::string(reinterpret_cast<const char*>(masked), sizeof(masked)));
  FrameParser server(true, 1024);
  auto frames =
      ParseAll(server, std::string(reinterpret_cast<const char*>(masked), sizeof(masked)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].fin);
  EXPECT_EQ(frames[0].opcode, Opcode::kText);
  EXPECT_EQ(frames[0].payload, "Hello");
  // Unmasked "Hello" from a server.
  EXPECT_EQ(EncodeFrame(Opcode::kText, "Hello"), std::string("\x81\x05Hello", 7));
  // The handshake example: key dGhlIHNhbXBsZSBub25jZQ== -> s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
  EXPECT_EQ(AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketTest, LengthEncodingsRoundTripByteByByte) {
  for (size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 200000u}) {
    std::string payload(n, 'x');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7);
    std::string wire = EncodeFrame(Opcode::kBinary, payload, true, kMask);
    size_t header = n < 126 ? 2 : n <= 65535 ? 4 : 10;
    EXPECT_EQ(wire.size(), header + 4 + n) << n;
    FrameParser p(true, 1 << 20);
    std::vector<Frame> frames;
    // Fed in pieces of 1000 bytes (and byte by byte for the small ones).
    size_t step = n < 300 ? 1 : 1000;
    for (size_t i = 0; i < wire.size(); i += step) {
      auto got = ParseAll(p, std::string_view(wire).substr(i, step));
      for (auto& f : got) frames.push_back(std::move(f));
    }
    ASSERT_EQ(frames.size(), 1u) << n;
    EXPECT_EQ(frames[0].payload, payload) << n;
  }
}

TEST(WebSocketTest, FragmentedMessageWithInterleavedPing) {
  std::string wire = EncodeFrame(Opcode::kBinary, "ab", false, kMask) +
                     EncodeFrame(Opcode::kPing, "p", true, kMask) +
                     EncodeFrame(Opcode::kContinuation, "cd", false, kMask) +
                     EncodeFrame(Opcode::kContinuation, "ef", true, kMask);
  FrameParser p(true, 1024);
  MessageAssembler a(1024);
  std::vector<Message> msgs;
  for (Frame& f : ParseAll(p, wire)) {
    auto m = a.Add(std::move(f));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    if (m->has_value()) msgs.push_back(std::move(**m));
  }
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].opcode, Opcode::kPing);
  EXPECT_EQ(msgs[0].data, "p");
  EXPECT_EQ(msgs[1].opcode, Opcode::kBinary);
  EXPECT_EQ(msgs[1].data, "abcdef");
}

TEST(WebSocketTest, AssemblerRejectsBadSequencesAndOversizedMessages) {
  {
    MessageAssembler a(1024);
    EXPECT_FALSE(a.Add({true, Opcode::kContinuation, "x"}).ok());
  }
  {
    MessageAssembler a(1024);
    ASSERT_TRUE(a.Add({false, Opcode::kText, "x"}).ok());
    EXPECT_FALSE(a.Add({true, Opcode::kBinary, "y"}).ok());
  }
  {
    MessageAssembler a(4);
    ASSERT_TRUE(a.Add({false, Opcode::kBinary, "abc"}).ok());
    auto m = a.Add({true, Opcode::kContinuation, "de"});
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), base::StatusCode::kResourceExhausted);
  }
}

TEST(WebSocketTest, BadFramesAreErrorsNotCrashes) {
  struct Case {
    std::string name;
    std::string bytes;
    bool expect_masked;
  };
  std::vector<Case> cases = {
      {"unmasked client frame", EncodeFrame(Opcode::kBinary, "x"), true},
      {"masked server frame", EncodeFrame(Opcode::kBinary, "x", true, kMask), false},
      {"reserved bit", std::string("\xC2\x80\0\0\0\0", 6), true},
      {"unknown opcode 3", std::string("\x83\x80\0\0\0\0", 6), true},
      {"unknown opcode 0xB", std::string("\x8B\x80\0\0\0\0", 6), true},
      {"fragmented ping", EncodeFrame(Opcode::kPing, "x", false, kMask), true},
      {"ping over 125", EncodeFrame(Opcode::kPing, std::string(126, 'x'), true, kMask), true},
      {"close with 1 byte", EncodeFrame(Opcode::kClose, "x", true, kMask), true},
      {"64-bit length top bit", std::string("\x82\xFF\x80\0\0\0\0\0\0\0", 10), true},
      {"over the limit", EncodeFrame(Opcode::kBinary, std::string(2000, 'x'), true, kMask), true},
  };
  for (const Case& c : cases) {
    FrameParser p(c.expect_masked, 1024);
    base::Status err;
    auto frames = ParseAll(p, c.bytes, &err);
    EXPECT_TRUE(frames.empty()) << c.name;
    EXPECT_FALSE(err.ok()) << c.name;
    // Errors are final.
    EXPECT_FALSE(p.Next().ok()) << c.name;
  }
  // A huge announced length is refused from the header alone, before any payload.
  FrameParser p(true, 1024);
  base::Status err;
  ParseAll(p, std::string("\x82\xFF\0\0\0\x01\0\0\0\0", 10), &err);
  EXPECT_EQ(err.code(), base::StatusCode::kResourceExhausted);
}

TEST(WebSocketTest, ClosePayload) {
  EXPECT_EQ(ClosePayload(1000, "bye"), std::string("\x03\xE8"
                                                   "bye",
                                                   5));
  EXPECT_EQ(ClosePayload(1002, std::string(200, 'x')).size(), 125u);
}

}  // namespace
}  // namespace knet::agent::server
