// libFuzzer target for what the server does with untrusted request bytes: the incremental
// RequestReader (Beast's parser plus target decoding) fed in the pieces a socket might deliver,
// and ParseTarget/PercentDecode on their own. Checks, for any input:
//   - feeding the same bytes whole or in small data-chosen pieces gives the same requests (an
//     error in the last, incomplete request may show early in one and not yet in the other);
//   - Feed never claims more bytes than it was given;
//   - a decoded path never holds a NUL byte, and PercentDecode of text without '%' or '+' is
//     the identity.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "apiserver/http/internal/request_reader.h"
#include "apiserver/http/target.h"

namespace {

using knet::apiserver::http::Request;
using knet::apiserver::http::internal::RequestReader;

void Check(bool ok) {
  if (!ok) std::abort();
}

// Parses `input` delivered in pieces of at most `piece` bytes, like the connection loop does.
// Returns one line per request (method, path, query, body) and the final error status.
std::vector<std::string> ParseAll(std::string_view input, size_t piece) {
  RequestReader reader(4096, 4096);
  std::vector<std::string> out;
  std::string buffered;
  size_t pos = 0;
  for (;;) {
    if (pos < input.size()) {
      size_t n = std::min(piece, input.size() - pos);
      buffered.append(input.substr(pos, n));
      pos += n;
    }
    bool progressed = true;
    while (progressed && !buffered.empty()) {
      progressed = false;
      size_t used = 0;
      RequestReader::State st = reader.Feed(buffered, &used);
      Check(used <= buffered.size());
      buffered.erase(0, used);
      if (st == RequestReader::State::kError) {
        out.push_back("error " + std::to_string(reader.error_status()));
        return out;
      }
      if (st == RequestReader::State::kDone) {
        Request r = reader.TakeRequest();
        if (reader.error_status() != 0) {
          out.push_back("error " + std::to_string(reader.error_status()));
          return out;
        }
        Check(r.path.find('\0') == std::string::npos);
        std::string line = r.method + " " + r.path + " ";
        for (auto& [k, v] : r.query) line += k + "=" + v + "&";
        line += " " + r.body;
        out.push_back(line);
        reader.Reset();
        progressed = true;
      }
    }
    if (pos >= input.size()) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<std::string> whole = ParseAll(input, input.size() + 1);
  std::vector<std::string> split = ParseAll(input, piece);
  if (!whole.empty() && whole.back().rfind("error ", 0) == 0) whole.pop_back();
  if (!split.empty() && split.back().rfind("error ", 0) == 0) split.pop_back();
  Check(whole == split);

  auto t = knet::apiserver::http::ParseTarget(input);
  if (t.ok()) Check(t->path.find('\0') == std::string::npos);
  if (input.find_first_of("%+") == std::string_view::npos) {
    auto d = knet::apiserver::http::PercentDecode(input, true);
    Check(d.ok() && *d == input);
  }
  return 0;
}
