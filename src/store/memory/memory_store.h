// File: store/memory/memory_store.h
//
// MemoryStore: the whole history in process memory, for fast unit tests. Same semantics as the
// durable backends, including history, compaction and the watch fan-out. Thread-safe.
#pragma once

#include <memory>

#include "store/store.h"

namespace knet::store {

std::unique_ptr<Store> NewMemoryStore(const StoreOptions& options = {});

}  // namespace knet::store
