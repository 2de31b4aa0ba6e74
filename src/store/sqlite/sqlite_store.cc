#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "store/internal/compactor.h"
#include "store/internal/list_util.h"
#include "store/internal/watch_hub.h"
#include "store/sqlite/sqlite_conn.h"

namespace knet::store {
namespace {

using sqlite::Conn;
using sqlite::Stmt;

constexpr int kBusyTimeoutMs = 2000;
constexpr size_t kMaxBatchOps = 512;
constexpr size_t kMaxBatchBytes = 16 << 20;
constexpr int64_t kCompactChunkRows = 5000;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS kv (
  rev        INTEGER PRIMARY KEY,  -- the global revision of this write
  key        BLOB    NOT NULL,
  create_rev INTEGER NOT NULL,     -- revision that created this incarnation (0 for a tombstone)
  prev_rev   INTEGER NOT NULL,     -- the row this write superseded (0 for a create)
  deleted    INTEGER NOT NULL,     -- 1: tombstone
  value      BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_key_rev ON kv (key, rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('compact_rev', 0);
)sql";

constexpr char kLatestSql[] =
    "SELECT rev, create_rev, deleted, value FROM kv WHERE key = ?1 ORDER BY rev DESC LIMIT 1";
constexpr char kInsertSql[] =
    "INSERT INTO kv (rev, key, create_rev, prev_rev, deleted, value) VALUES (?1,?2,?3,?4,?5,?6)";
constexpr char kCompactRevSql[] = "SELECT value FROM meta WHERE name = 'compact_rev'";

struct Row {
  int64_t rev = 0;
  int64_t create_rev = 0;
  bool deleted = false;
  std::string value;
};

StatusOr<std::optional<Row>> Latest(Conn& c, std::string_view key) {
  ASSIGN_OR_RETURN(Stmt st, c.Prepare(kLatestSql));
  st.BindBlob(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Row>();
  return std::optional<Row>(Row{st.Int(0), st.Int(1), st.Int(2) != 0, st.Blob(3)});
}

StatusOr<int64_t> QueryInt(Conn& c, const std::string& sql) {
  ASSIGN_OR_RETURN(Stmt st, c.Prepare(sql));
  ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.Int(0) : 0;
}

// " AND <col> >= ?a AND <col> < ?b" for a prefix, binding from index i.
std::string PrefixClause(const std::string& col, int i, bool bounded) {
  std::string s = " AND " + col + " >= ?" + std::to_string(i);
  if (bounded) s += " AND " + col + " < ?" + std::to_string(i + 1);
  return s;
}

// One queued write (or compaction step), completed by the writer thread.
struct Op {
  enum Kind { kCreate, kUpdate, kDelete, kSetCompactRev, kCompactChunk } kind;
  std::string_view key;
  std::string_view value;
  int64_t expected = 0;  // kUpdate/kDelete: expected mod revision; compaction: the target
  int64_t lo = 0, hi = 0;
  // Results.
  Status status;
  int64_t revision = 0;
  KeyValue prev;
  std::promise<void> done;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, int lock_fd, std::unique_ptr<Conn> writer, int64_t revision,
              int64_t compacted, const StoreOptions& options)
      : path_(std::move(path)),
        lock_fd_(lock_fd),
        writer_conn_(std::move(writer)),
        revision_(revision),
        compacted_(compacted),
        hub_(options.watch_buffer_events,
             [this](const std::string& prefix, int64_t from, int64_t to, size_t limit) {
               return History(prefix, from, to, limit);
             }) {
    hub_.SetPublishedRevision(revision);
    writer_thread_ = std::thread([this] { WriterLoop(); });
    if (options.compaction_interval.count() > 0) {
      compactor_ = std::make_unique<internal::PeriodicCompactor>(this, options.compaction_interval);
    }
  }

  ~SqliteStore() override {
    compactor_.reset();
    {
      std::lock_guard lock(queue_mu_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    writer_thread_.join();
    hub_.Close();
    readers_.clear();
    writer_conn_.reset();  // closes the database (checkpoints the WAL) before the lock goes
    close(lock_fd_);
  }

  StatusOr<int64_t> Create(std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    Op op{.kind = Op::kCreate, .key = key, .value = value};
    RETURN_IF_ERROR(Submit(op));
    return op.revision;
  }

  StatusOr<int64_t> Update(std::string_view key, std::string_view value,
                           int64_t expected) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    Op op{.kind = Op::kUpdate, .key = key, .value = value, .expected = expected};
    RETURN_IF_ERROR(Submit(op));
    return op.revision;
  }

  StatusOr<DeleteResult> Delete(std::string_view key, int64_t expected) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    Op op{.kind = Op::kDelete, .key = key, .expected = expected};
    RETURN_IF_ERROR(Submit(op));
    return DeleteResult{std::move(op.prev), op.revision};
  }

  StatusOr<KeyValue> Get(std::string_view key) override {
    ASSIGN_OR_RETURN(auto reader, AcquireReader());
    ASSIGN_OR_RETURN(std::optional<Row> row, Latest(*reader, key));
    if (!row || row->deleted) return internal::KeyNotFoundError("getting", key);
    return KeyValue{std::string(key), std::move(row->value), row->create_rev, row->rev};
  }

  StatusOr<ListResult> List(std::string_view prefix, const ListOptions& options) override {
    ASSIGN_OR_RETURN(auto reader, AcquireReader());
    ASSIGN_OR_RETURN(internal::ListStart start,
                     internal::ResolveListStart(prefix, options, revision_.load(), 0));
    ReadTxn txn(*reader);
    RETURN_IF_ERROR(txn.Begin());
    ASSIGN_OR_RETURN(int64_t compacted, QueryInt(*reader, kCompactRevSql));
    if (start.revision < compacted) return internal::CompactedError(start.revision, compacted);

    std::string end = internal::PrefixEnd(prefix);
    // The latest version of each key at the revision, skipping tombstones, in key order.
    std::string where = " FROM kv k WHERE k.deleted = 0" + PrefixClause("k.key", 2, !end.empty()) +
                        " AND k.rev = (SELECT MAX(rev) FROM kv WHERE key = k.key AND rev <= ?1)";
    ListResult result;
    result.revision = start.revision;
    {
      ASSIGN_OR_RETURN(Stmt st, reader->Prepare("SELECT k.key, k.rev, k.create_rev, k.value" +
                                                where + " ORDER BY k.key LIMIT ?4"));
      st.Bind(1, start.revision).BindBlob(2, start.start_key);
      if (!end.empty()) st.BindBlob(3, end);
      st.Bind(4, options.limit > 0 ? options.limit + 1 : -1);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        result.items.push_back(KeyValue{st.Blob(0), st.Blob(3), st.Int(2), st.Int(1)});
      }
    }
    if (options.limit > 0 && std::ssize(result.items) > options.limit) {
      result.items.pop_back();
      if (start.remaining >= 0) {
        // The revision is immutable: the previous page's count, less this page.
        result.remaining_count = std::max<int64_t>(start.remaining - std::ssize(result.items), 0);
      } else {  // the first page counts once, so paging through N keys is O(N), not O(N^2)
        ASSIGN_OR_RETURN(Stmt st, reader->Prepare("SELECT COUNT(*)" + where));
        st.Bind(1, start.revision).BindBlob(2, result.items.back().key + std::string(1, '\0'));
        if (!end.empty()) st.BindBlob(3, end);
        ASSIGN_OR_RETURN(bool row, st.Step());
        result.remaining_count = row ? st.Int(0) : 0;
      }
      result.continue_token = internal::EncodeContinueToken(start.revision, result.items.back().key,
                                                            result.remaining_count);
    }
    return result;
  }

  StatusOr<std::unique_ptr<Watcher>> Watch(std::string_view prefix,
                                           int64_t from_revision) override {
    int64_t compacted = compacted_.load();
    if (from_revision != 0 && from_revision < compacted) {
      return internal::CompactedError(from_revision, compacted);
    }
    return hub_.Subscribe(prefix, from_revision);
  }

  StatusOr<int64_t> CurrentRevision() override { return revision_.load(); }

  Status Compact(int64_t revision) override {
    std::lock_guard lock(compact_mu_);  // one compaction at a time
    int64_t current = revision_.load();
    if (revision > current) return internal::FutureRevisionError(revision, current);
    if (revision <= compacted_.load()) return base::OkStatus();
    // First publish the new compacted revision (readers check it inside their transaction), then
    // delete the dead rows in small transactions so writers wait at most one chunk.
    Op set{.kind = Op::kSetCompactRev, .expected = revision};
    RETURN_IF_ERROR(Submit(set));
    compacted_ = revision;
    ASSIGN_OR_RETURN(auto reader, AcquireReader());
    ASSIGN_OR_RETURN(int64_t lo, QueryInt(*reader, "SELECT COALESCE(MIN(rev), 0) FROM kv"));
    while (lo < revision) {
      int64_t hi = revision;
      {
        ASSIGN_OR_RETURN(Stmt st, reader->Prepare("SELECT rev FROM kv WHERE rev >= ?1 AND rev < ?2 "
                                                  "ORDER BY rev LIMIT 1 OFFSET ?3"));
        st.Bind(1, lo).Bind(2, revision).Bind(3, kCompactChunkRows);
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (row) hi = st.Int(0);
      }
      Op chunk{.kind = Op::kCompactChunk, .expected = revision, .lo = lo, .hi = hi};
      RETURN_IF_ERROR(Submit(chunk));
      lo = hi;
    }
    return base::OkStatus();
  }

 private:
  // A deferred read transaction: one snapshot for every statement until it ends.
  class ReadTxn {
   public:
    explicit ReadTxn(Conn& c) : c_(c) {}
    ~ReadTxn() {
      if (open_) (void)c_.Exec("COMMIT");
    }
    Status Begin() {
      RETURN_IF_ERROR(c_.Exec("BEGIN"));
      open_ = true;
      return base::OkStatus();
    }

   private:
    Conn& c_;
    bool open_ = false;
  };

  struct ReaderDeleter {
    SqliteStore* store;
    void operator()(Conn* c) const {
      std::lock_guard lock(store->readers_mu_);
      store->free_readers_.push_back(c);
    }
  };
  using Reader = std::unique_ptr<Conn, ReaderDeleter>;

  StatusOr<Reader> AcquireReader() {
    {
      std::lock_guard lock(readers_mu_);
      if (!free_readers_.empty()) {
        Conn* c = free_readers_.back();
        free_readers_.pop_back();
        return Reader(c, ReaderDeleter{this});
      }
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Conn> c,
                     Conn::Open(path_, SQLITE_OPEN_READWRITE, kBusyTimeoutMs));
    Conn* raw = c.get();
    {
      std::lock_guard lock(readers_mu_);
      readers_.push_back(std::move(c));
    }
    return Reader(raw, ReaderDeleter{this});
  }

  Status Submit(Op& op) {
    std::future<void> done = op.done.get_future();
    {
      std::lock_guard lock(queue_mu_);
      if (stopping_) return base::UnavailableError("sqlite store " + path_ + " is closing");
      queue_.push_back(&op);
    }
    queue_cv_.notify_one();
    done.wait();
    return op.status;
  }

  void WriterLoop() {
    std::vector<Op*> batch;
    for (;;) {
      {
        std::unique_lock lock(queue_mu_);
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        size_t bytes = 0;
        while (!queue_.empty() && batch.size() < kMaxBatchOps && bytes < kMaxBatchBytes) {
          bytes += queue_.front()->value.size();
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      CommitBatch(batch);
      batch.clear();
    }
  }

  // Applies a batch in one transaction (one fsync), then publishes and acknowledges it.
  void CommitBatch(const std::vector<Op*>& batch) {
    Conn& c = *writer_conn_;
    int64_t rev = revision_.load();
    std::vector<Event> events;
    Status txn = c.Exec("BEGIN IMMEDIATE");
    for (Op* op : batch) {
      if (!txn.ok()) break;
      op->status = Apply(c, *op, rev, events);
      if (op->status.code() == base::StatusCode::kInternal ||
          op->status.code() == base::StatusCode::kDataLoss ||
          op->status.code() == base::StatusCode::kResourceExhausted ||
          op->status.code() == base::StatusCode::kUnavailable) {
        txn = op->status;  // the database failed, not the operation: abandon the batch
      }
    }
    if (txn.ok()) txn = c.Exec("COMMIT");
    if (!txn.ok()) {
      (void)c.Exec("ROLLBACK");
      for (Op* op : batch) {
        op->status = txn.WithContext("committing a write");
        op->done.set_value();
      }
      return;
    }
    revision_ = rev;
    if (!events.empty()) hub_.Publish(events);
    hub_.SetPublishedRevision(rev);
    for (Op* op : batch) op->done.set_value();
  }

  Status Apply(Conn& c, Op& op, int64_t& rev, std::vector<Event>& events) {
    if (op.kind == Op::kSetCompactRev) {
      ASSIGN_OR_RETURN(Stmt st, c.Prepare("UPDATE meta SET value = ?1 WHERE name = 'compact_rev'"));
      return st.Bind(1, op.expected).Run();
    }
    if (op.kind == Op::kCompactChunk) {
      // Dead: older than the target and superseded by a write also older than it, or a tombstone
      // older than it. Whatever a read at >= target or a watch from >= target needs stays.
      ASSIGN_OR_RETURN(Stmt st,
                       c.Prepare("DELETE FROM kv WHERE rev >= ?1 AND rev < ?2 AND (deleted = 1 "
                                 "OR EXISTS (SELECT 1 FROM kv y WHERE y.key = kv.key AND "
                                 "y.rev > kv.rev AND y.rev < ?3))"));
      return st.Bind(1, op.lo).Bind(2, op.hi).Bind(3, op.expected).Run();
    }
    const char* what = op.kind == Op::kCreate   ? "creating"
                       : op.kind == Op::kUpdate ? "updating"
                                                : "deleting";
    ASSIGN_OR_RETURN(std::optional<Row> cur, Latest(c, op.key));
    bool exists = cur && !cur->deleted;
    if (op.kind == Op::kCreate) {
      if (exists) return internal::KeyExistsError(op.key, cur->rev);
    } else {
      if (!exists) return internal::KeyNotFoundError(what, op.key);
      if (op.expected != 0 && op.expected != cur->rev) {
        return internal::ConflictError(what, op.key, op.expected, cur->rev);
      }
    }
    int64_t next = rev + 1;
    Event e;
    e.revision = next;
    e.kv.key = std::string(op.key);
    e.kv.mod_revision = next;
    int64_t create_rev = op.kind == Op::kCreate   ? next
                         : op.kind == Op::kUpdate ? cur->create_rev
                                                  : 0;
    {
      ASSIGN_OR_RETURN(Stmt st, c.Prepare(kInsertSql));
      st.Bind(1, next).BindBlob(2, op.key).Bind(3, create_rev);
      st.Bind(4, op.kind == Op::kCreate ? 0 : cur->rev);
      st.Bind(5, op.kind == Op::kDelete ? 1 : 0).BindBlob(6, op.value);
      RETURN_IF_ERROR(st.Run());
    }
    rev = next;
    op.revision = next;
    if (op.kind == Op::kCreate) {
      e.type = EventType::kAdded;
    } else {
      e.prev_kv = KeyValue{e.kv.key, std::move(cur->value), cur->create_rev, cur->rev};
      e.type = op.kind == Op::kUpdate ? EventType::kModified : EventType::kDeleted;
      if (op.kind == Op::kDelete) op.prev = *e.prev_kv;
    }
    if (op.kind != Op::kDelete) {
      e.kv.value = std::string(op.value);
      e.kv.create_revision = create_rev;
    }
    events.push_back(std::move(e));
    return base::OkStatus();
  }

  StatusOr<std::vector<Event>> History(const std::string& prefix, int64_t from, int64_t to,
                                       size_t limit) {
    ASSIGN_OR_RETURN(auto reader, AcquireReader());
    ReadTxn txn(*reader);
    RETURN_IF_ERROR(txn.Begin());
    ASSIGN_OR_RETURN(int64_t compacted, QueryInt(*reader, kCompactRevSql));
    if (from < compacted) return internal::CompactedError(from, compacted);
    std::string end = internal::PrefixEnd(prefix);
    ASSIGN_OR_RETURN(
        Stmt st,
        reader->Prepare("SELECT k.rev, k.key, k.create_rev, k.deleted, k.value, p.rev, "
                        "p.create_rev, p.value FROM kv k LEFT JOIN kv p ON "
                        "p.rev = k.prev_rev WHERE k.rev >= ?1 AND k.rev <= ?2" +
                        PrefixClause("k.key", 3, !end.empty()) + " ORDER BY k.rev LIMIT ?5"));
    st.Bind(1, from).Bind(2, to).BindBlob(3, prefix);
    if (!end.empty()) st.BindBlob(4, end);
    st.Bind(5, static_cast<int64_t>(limit));
    std::vector<Event> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      Event e;
      e.revision = st.Int(0);
      e.kv.key = st.Blob(1);
      e.kv.mod_revision = e.revision;
      bool deleted = st.Int(3) != 0;
      if (deleted) {
        e.type = EventType::kDeleted;
      } else {
        e.kv.create_revision = st.Int(2);
        e.kv.value = st.Blob(4);
        e.type = e.kv.create_revision == e.revision ? EventType::kAdded : EventType::kModified;
      }
      if (!st.IsNull(5)) e.prev_kv = KeyValue{e.kv.key, st.Blob(7), st.Int(6), st.Int(5)};
      out.push_back(std::move(e));
    }
    return out;
  }

  const std::string path_;
  const int lock_fd_;
  std::unique_ptr<Conn> writer_conn_;  // used only by the writer thread
  std::atomic<int64_t> revision_;      // last committed revision
  std::atomic<int64_t> compacted_;
  std::mutex compact_mu_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Op*> queue_;  // GUARDED_BY(queue_mu_)
  bool stopping_ = false;  // GUARDED_BY(queue_mu_)

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Conn>> readers_;  // GUARDED_BY(readers_mu_): every reader
  std::vector<Conn*> free_readers_;             // GUARDED_BY(readers_mu_)

  internal::WatchHub hub_;
  std::thread writer_thread_;
  std::unique_ptr<internal::PeriodicCompactor> compactor_;
};

Status OpenError(const std::string& path, std::string_view why, base::StatusCode code) {
  return base::Status(code, "opening sqlite store " + path + ": " + std::string(why));
}

// Checks an existing file before SQLite may touch it: refuses anything that is not a SQLite
// database, and a database SQLite finds damaged. Nothing is written.
Status CheckExisting(const std::string& path, int fd, Conn& c) {
  char header[16] = {};
  ssize_t n = pread(fd, header, sizeof header, 0);
  if (n < 0) return base::ErrnoError(errno, "reading " + path);
  if (n > 0 && (n < 16 || std::memcmp(header, "SQLite format 3", 16) != 0)) {
    return OpenError(path, "the file is not a SQLite database (bad header); left it untouched",
                     base::StatusCode::kDataLoss);
  }
  if (n == 0) return base::OkStatus();
  auto unreadable = [&](const Status& s) {
    if (s.code() == base::StatusCode::kUnavailable) {
      return OpenError(path, s.message() + "; left it untouched", s.code());
    }
    return OpenError(
        path, "the database is corrupt or unreadable (" + s.message() + "); left it untouched",
        base::StatusCode::kDataLoss);
  };
  auto st = c.Prepare("PRAGMA quick_check");
  if (!st.ok()) return unreadable(st.status());
  std::string problems;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return unreadable(row.status());
    if (!*row) break;
    std::string line = st->Blob(0);
    if (line != "ok" && problems.size() < 300) problems += (problems.empty() ? "" : "; ") + line;
  }
  if (!problems.empty()) return unreadable(base::DataLossError(problems));
  // A SQLite database, but is it ours?
  auto tables =
      c.Prepare("SELECT COUNT(*), SUM(name = 'kv') FROM sqlite_master WHERE type = 'table'");
  if (!tables.ok()) return unreadable(tables.status());
  auto row = tables->Step();
  if (!row.ok()) return unreadable(row.status());
  if (tables->Int(0) > 0 && tables->Int(1) == 0) {
    return OpenError(path,
                     "a SQLite database, but not a knet store (no kv table); left it untouched",
                     base::StatusCode::kFailedPrecondition);
  }
  return base::OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path,
                                                 const StoreOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec)
      return OpenError(path, "creating " + parent.string() + ": " + ec.message(),
                       base::StatusCode::kPermissionDenied);
  }
  if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
    return OpenError(path, "not a regular file", base::StatusCode::kFailedPrecondition);
  }
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return base::ErrnoError(errno, "opening sqlite store " + path);
  // SQLite's own POSIX locks are per process and released by any close(); an flock on our own
  // descriptor, held until the store closes, keeps a second knet process (or store) out.
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return OpenError(path,
                       "the file is locked by another process (is another knet server "
                       "using it?)",
                       base::StatusCode::kUnavailable);
    }
    return base::ErrnoError(err, "locking sqlite store " + path);
  }
  auto fail = [&](Status s) -> StatusOr<std::unique_ptr<Store>> {
    close(fd);
    return s;
  };
  auto conn = Conn::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, kBusyTimeoutMs);
  if (!conn.ok()) return fail(conn.status());
  Conn& c = **conn;
  if (Status s = CheckExisting(path, fd, c); !s.ok()) return fail(s);
  // Durability: WAL with synchronous=FULL fsyncs the WAL at every commit, so an acknowledged
  // write survives kill -9 and power loss (see docs/store.md).
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=OFF"}) {
    if (Status s = c.Exec(pragma); !s.ok()) return fail(s);
  }
  if (Status s = c.Exec(kSchema); !s.ok()) return fail(s.WithContext("creating the schema"));
  auto rev = QueryInt(c, "SELECT COALESCE(MAX(rev), 0) FROM kv");
  if (!rev.ok()) return fail(rev.status());
  auto compacted = QueryInt(c, kCompactRevSql);
  if (!compacted.ok()) return fail(compacted.status());
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(path, fd, std::move(conn).value(), *rev, *compacted, options));
}

}  // namespace knet::store
