// File: store/internal/list_util.h
//
// Helpers every backend shares so that List and its errors behave the same everywhere: the
// continue token (opaque to callers: "<revision>:<hex of the last key returned>"), the revision
// checks, the end of a prefix range, and the canonical error messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.h"

namespace knet::store::internal {

struct ListStart {
  int64_t revision = 0;   // read at this revision
  std::string start_key;  // first key to consider (>= prefix)
  // From the token: how many items followed the previous page at `revision` (-1: unknown). The
  // revision is immutable, so a backend whose count is expensive need not count again.
  int64_t remaining = -1;
};

using store::EncodeContinueToken;  // store.h: the token format is public

// Resolves options against the store's current and compacted revisions: the revision to read and
// the first key. InvalidArgument for a bad token or a future revision; compacted (kOutOfRange).
StatusOr<ListStart> ResolveListStart(std::string_view prefix, const ListOptions& options,
                                     int64_t current_revision, int64_t compacted_revision);

// The smallest key greater than every key with this prefix; "" if there is none (no upper bound).
std::string PrefixEnd(std::string_view prefix);

Status CompactedError(int64_t revision, int64_t compacted_revision);
Status FutureRevisionError(int64_t revision, int64_t current_revision);
Status ConflictError(std::string_view op, std::string_view key, int64_t expected, int64_t actual);
Status KeyNotFoundError(std::string_view op, std::string_view key);
Status KeyExistsError(std::string_view key, int64_t mod_revision);
Status CheckKey(std::string_view key);

}  // namespace knet::store::internal
