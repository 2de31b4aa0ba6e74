// File: store/sqlite/sqlite_conn.h
//
// A thin RAII layer over one sqlite3 connection: cached prepared statements, binding, and errors
// turned into Status with the database path in the message. Not thread-safe: one thread at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::store::sqlite {

using base::Status;
using base::StatusOr;

class Conn;

// A prepared statement in use: bind, step, read columns. Resets itself when destroyed.
class Stmt {
 public:
  Stmt(Conn* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : conn_(o.conn_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& Bind(int i, int64_t v);
  Stmt& BindBlob(int i, std::string_view v);
  // Steps once: true if a row is ready, false when done.
  StatusOr<bool> Step();
  Status Run();  // steps to completion

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Blob(int col) const;

 private:
  Conn* conn_;
  sqlite3_stmt* stmt_;
};

class Conn {
 public:
  // Opens path with the given sqlite3_open_v2 flags; busy_timeout_ms for lock waits.
  static StatusOr<std::unique_ptr<Conn>> Open(const std::string& path, int flags,
                                              int busy_timeout_ms);
  ~Conn();

  StatusOr<Stmt> Prepare(const std::string& sql);  // cached per connection
  Status Exec(const std::string& sql);             // no results; may be several statements
  // An error for the last failure: "<what> <path>: <sqlite message> (SQLite error N)".
  Status Error(std::string_view what, int rc) const;
  const std::string& path() const { return path_; }

 private:
  Conn(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace knet::store::sqlite
