// libFuzzer target for the WebSocket frame parser and message assembler on untrusted bytes (what
// an exec client sends). Checks, for any input:
//   - feeding the bytes whole or in data-chosen small pieces gives the same frames and the same
//     final verdict (error or not);
//   - a parsed frame re-encoded (masked with the same-as-any key) parses back to itself;
//   - control frames are never fragmented nor over 125 bytes, payloads never over the limit.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/server/websocket.h"

namespace {

using knet::agent::server::EncodeFrame;
using knet::agent::server::Frame;
using knet::agent::server::FrameParser;
using knet::agent::server::IsControl;
using knet::agent::server::MessageAssembler;

constexpr size_t kLimit = 4096;

void Check(bool ok) {
  if (!ok) std::abort();
}

struct Outcome {
  std::vector<std::string> frames;  // opcode, fin, payload
  bool error = false;
};

Outcome ParseAll(std::string_view input, size_t piece) {
  FrameParser p(/*expect_masked=*/true, kLimit);
  MessageAssembler a(kLimit);
  Outcome out;
  for (size_t i = 0; i <= input.size() && !out.error; i += piece) {
    p.Feed(input.substr(i, piece));
    while (true) {
      auto f = p.Next();
      if (!f.ok()) {
        out.error = true;
        break;
      }
      if (!f->has_value()) break;
      const Frame& fr = **f;
      Check(fr.payload.size() <= kLimit);
      if (IsControl(fr.opcode)) Check(fr.fin && fr.payload.size() <= 125);
      // Round trip.
      FrameParser again(true, kLimit);
      again.Feed(EncodeFrame(fr.opcode, fr.payload, fr.fin, std::array<uint8_t, 4>{1, 2, 3, 4}));
      auto back = again.Next();
      Check(back.ok() && back->has_value() && (**back).payload == fr.payload &&
            (**back).opcode == fr.opcode && (**back).fin == fr.fin);
      out.frames.push_back(std::to_string(static_cast<int>(fr.opcode)) + (fr.fin ? "F" : "-") +
                           fr.payload);
      (void)a.Add(**f);  // must not crash whatever the sequence
    }
    if (piece > input.size()) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 16;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Outcome whole = ParseAll(input, input.size() + 1);
  Outcome pieces = ParseAll(input, piece);
  Check(whole.frames == pieces.frames);
  Check(whole.error == pieces.error);
  return 0;
}
