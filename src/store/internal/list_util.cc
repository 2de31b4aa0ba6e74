#include "store/internal/list_util.h"

#include <charconv>

namespace knet::store {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string EncodeContinueToken(int64_t revision, std::string_view last_key, int64_t remaining) {
  std::string out = std::to_string(revision) + ":";
  for (char c : last_key) {
    auto b = static_cast<unsigned char>(c);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  if (remaining >= 0) out += ":" + std::to_string(remaining);
  return out;
}

StatusOr<ContinuePosition> DecodeContinueToken(std::string_view token) {
  std::string_view t = token;
  auto bad = [&] {
    return base::InvalidArgumentError("malformed continue token \"" + std::string(token) + "\"");
  };
  ContinuePosition pos;
  size_t colon = t.find(':');
  if (colon == std::string_view::npos) return bad();
  if (size_t second = t.find(':', colon + 1); second != std::string_view::npos) {
    auto [rp, rec] = std::from_chars(t.data() + second + 1, t.data() + t.size(), pos.remaining);
    if (rec != std::errc() || rp != t.data() + t.size() || pos.remaining < 0) return bad();
    t = t.substr(0, second);
  }
  if ((t.size() - colon - 1) % 2 != 0) return bad();
  auto [p, ec] = std::from_chars(t.data(), t.data() + colon, pos.revision);
  if (ec != std::errc() || p != t.data() + colon || pos.revision <= 0) return bad();
  for (size_t i = colon + 1; i < t.size(); i += 2) {
    int hi = HexValue(t[i]), lo = HexValue(t[i + 1]);
    if (hi < 0 || lo < 0) return bad();
    pos.last_key.push_back(static_cast<char>((hi << 4) | lo));
  }
  if (pos.last_key.empty()) return bad();
  return pos;
}

namespace internal {

StatusOr<ListStart> ResolveListStart(std::string_view prefix, const ListOptions& options,
                                     int64_t current_revision, int64_t compacted_revision) {
  ListStart start;
  start.revision = options.revision;
  start.start_key = std::string(prefix);
  if (!options.continue_token.empty()) {
    auto pos = DecodeContinueToken(options.continue_token);
    if (!pos.ok()) {
      return base::InvalidArgumentError("listing " + std::string(prefix) + ": " +
                                        std::string(pos.status().message()));
    }
    start.remaining = pos->remaining;
    const int64_t rev = pos->revision;
    const std::string& last = pos->last_key;
    if (!last.starts_with(prefix)) {
      return base::InvalidArgumentError("listing " + std::string(prefix) +
                                        ": the continue token belongs to another prefix");
    }
    if (options.revision != 0 && options.revision != rev) {
      return base::InvalidArgumentError(
          "listing " + std::string(prefix) + ": revision " + std::to_string(options.revision) +
          " differs from the continue token's " + std::to_string(rev));
    }
    start.revision = rev;
    start.start_key = last + std::string(1, '\0');
  }
  if (start.revision == 0) start.revision = current_revision;
  if (start.revision > current_revision) {
    return FutureRevisionError(start.revision, current_revision);
  }
  if (start.revision < compacted_revision) {
    return CompactedError(start.revision, compacted_revision);
  }
  return start;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return end;
}

Status CompactedError(int64_t revision, int64_t compacted_revision) {
  return base::OutOfRangeError("revision " + std::to_string(revision) +
                               " has been compacted; the oldest available is " +
                               std::to_string(compacted_revision));
}

Status FutureRevisionError(int64_t revision, int64_t current_revision) {
  return base::InvalidArgumentError("revision " + std::to_string(revision) +
                                    " is in the future; the current revision is " +
                                    std::to_string(current_revision));
}

Status ConflictError(std::string_view op, std::string_view key, int64_t expected, int64_t actual) {
  return base::AbortedError(std::string(op) + " " + std::string(key) +
                            ": conflict: expected mod revision " + std::to_string(expected) +
                            ", current mod revision " + std::to_string(actual));
}

Status KeyNotFoundError(std::string_view op, std::string_view key) {
  return base::NotFoundError(std::string(op) + " " + std::string(key) + ": key not found");
}

Status KeyExistsError(std::string_view key, int64_t mod_revision) {
  return base::AlreadyExistsError("creating " + std::string(key) +
                                  ": key already exists (mod revision " +
                                  std::to_string(mod_revision) + ")");
}

Status CheckKey(std::string_view key) {
  if (key.empty()) return base::InvalidArgumentError("empty key");
  return base::OkStatus();
}

}  // namespace internal
}  // namespace knet::store
