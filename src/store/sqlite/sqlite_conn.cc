#include "store/sqlite/sqlite_conn.h"

namespace knet::store::sqlite {

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Stmt& Stmt::BindBlob(int i, std::string_view v) {
  // SQLITE_TRANSIENT: sqlite copies, so temporaries are fine.
  sqlite3_bind_blob64(stmt_, i, v.empty() ? "" : v.data(), v.size(), SQLITE_TRANSIENT);
  return *this;
}

StatusOr<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error("querying", rc);
}

Status Stmt::Run() {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return base::OkStatus();
  }
}

std::string Stmt::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

StatusOr<std::unique_ptr<Conn>> Conn::Open(const std::string& path, int flags,
                                           int busy_timeout_ms) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Conn> conn(new Conn(db, path));
  if (rc != SQLITE_OK) return conn->Error("opening", rc);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  return conn;
}

Conn::~Conn() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

StatusOr<Stmt> Conn::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error("preparing a statement on", rc);
    it = cache_.emplace(sql, stmt).first;
  }
  return Stmt(this, it->second);
}

Status Conn::Exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error("executing \"" + sql + "\" on", rc);
  return base::OkStatus();
}

Status Conn::Error(std::string_view what, int rc) const {
  std::string msg = std::string(what) + " " + path_ + ": " +
                    (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)) +
                    " (SQLite error " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return base::UnavailableError(msg + "; is another process using the database?");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return base::DataLossError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return base::PermissionDeniedError(msg);
    case SQLITE_FULL:
      return base::ResourceExhaustedError(msg);
    default:
      return base::InternalError(msg);
  }
}

}  // namespace knet::store::sqlite
