// File: store/sqlite/sqlite_store.h
//
// SqliteStore: the default backend. One SQLite file in WAL mode holding a kine-like append-only
// log (one row per write, tombstones for deletes), synchronous=FULL so an acknowledged write is on
// disk. One writer thread group-commits concurrent writes; reads use a pool of connections; watches
// are served by an in-process fan-out, never by polling. The file is locked (flock) for the life of
// the store: a second store on the same file fails to open. See docs/store.md. Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace knet::store {

// Opens or creates the store at path (the parent directory is created if missing). A file that is
// not a healthy knet store is refused with an error naming it and is never modified.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                 const StoreOptions& options = {});

}  // namespace knet::store
