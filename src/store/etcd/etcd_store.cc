#include "store/etcd/etcd_store.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netdb.h>

#include <atomic>
#include <limits>
#include <mutex>
#include <thread>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "store/internal/compactor.h"
#include "store/internal/event_queue.h"
#include "store/internal/list_util.h"

namespace knet::store {
namespace {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

// Resolves host:port endpoints into one gRPC target ("ipv4:a:p,b:p"), so the channel balances
// over, and fails over between, all members.
StatusOr<std::string> GrpcTarget(const std::vector<std::string>& endpoints) {
  std::string v4, v6;
  for (const std::string& ep : endpoints) {
    size_t colon = ep.rfind(':');
    std::string host = ep.substr(0, colon), port = ep.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return base::UnavailableError("resolving etcd endpoint " + ep + ": " + gai_strerror(rc));
    }
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      char buf[INET6_ADDRSTRLEN] = {};
      if (ai->ai_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, buf, sizeof buf);
        v4 += (v4.empty() ? "" : ",") + std::string(buf) + ":" + port;
        break;
      }
      if (ai->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, buf,
                  sizeof buf);
        v6 += (v6.empty() ? "" : ",") + ("[" + std::string(buf) + "]:") + port;
        break;
      }
    }
    freeaddrinfo(res);
  }
  if (!v4.empty()) return "ipv4:" + v4;
  return "ipv6:" + v6;
}

KeyValue ToKv(const mvccpb::KeyValue& kv, size_t prefix_len) {
  return KeyValue{kv.key().substr(prefix_len), kv.value(), kv.create_revision(), kv.mod_revision()};
}

class EtcdStore;

// One etcd Watch stream per watcher, read by its own thread into a bounded EventQueue. A broken
// stream (the member died) is re-created on the surviving members from the revision after the
// last event delivered, so the watcher sees no gap and no duplicate.
class EtcdWatcher : public Watcher {
 public:
  EtcdWatcher(pb::Watch::Stub* stub, std::string key, std::string range_end, size_t prefix_len,
              int64_t from, size_t capacity, std::chrono::milliseconds retry_budget,
              std::string where)
      : stub_(stub),
        key_(std::move(key)),
        range_end_(std::move(range_end)),
        prefix_len_(prefix_len),
        next_rev_(from),
        retry_budget_(retry_budget),
        where_(std::move(where)),
        queue_(capacity) {}

  ~EtcdWatcher() override {
    Cancel();
    if (thread_.joinable()) thread_.join();
  }

  // Opens the first stream and waits for etcd to confirm it; then reads on a thread.
  Status Start(std::chrono::milliseconds timeout) {
    RETURN_IF_ERROR(OpenStream(Clock::now() + timeout));
    thread_ = std::thread([this] { ReadLoop(); });
    return base::OkStatus();
  }

  StatusOr<Event> Next(Clock::time_point deadline) override { return queue_.Pop(deadline); }
  StatusOr<Event> TryNext() override { return queue_.Pop(std::nullopt); }
  void Cancel() override {
    cancelled_ = true;
    queue_.Cancel();
    std::lock_guard lock(mu_);
    if (ctx_) ctx_->TryCancel();
  }

 private:
  Status OpenStream(Clock::time_point deadline) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_wait_for_ready(true);
    std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return base::Status(base::StatusCode::kCancelled, "watch cancelled");
      stream = stub_->Watch(ctx.get());
      stream_.reset();
      ctx_ = std::move(ctx);
    }
    // The create must be confirmed before the deadline; a stuck stream is cancelled.
    std::atomic<bool> confirmed{false};
    std::thread watchdog([&, c = ctx_.get()] {
      while (!confirmed && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (!confirmed) c->TryCancel();
    });
    pb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(key_);
    create->set_range_end(range_end_);
    create->set_start_revision(next_rev_);
    create->set_prev_kv(true);
    pb::WatchResponse resp;
    bool ok = stream->Write(req) && stream->Read(&resp);
    confirmed = true;
    watchdog.join();
    if (!ok || !resp.created()) {
      grpc::Status s = ok ? grpc::Status::OK : stream->Finish();
      return base::UnavailableError("watching " + key_ + " on etcd " + where_ + ": " +
                                    (ok ? "no create confirmation" : s.error_message()));
    }
    if (next_rev_ == 0) next_rev_ = resp.header().revision() + 1;
    std::lock_guard lock(mu_);
    stream_ = std::move(stream);
    return base::OkStatus();
  }

  void ReadLoop() {
    for (;;) {
      pb::WatchResponse resp;
      while (stream_->Read(&resp)) {
        if (resp.canceled()) {
          if (resp.compact_revision() > 0) {
            queue_.Close(internal::CompactedError(next_rev_, resp.compact_revision()));
          } else {
            queue_.Close(base::UnavailableError("etcd " + where_ + " cancelled the watch on " +
                                                key_ + ": " + resp.cancel_reason()));
          }
          Stop();
          return;
        }
        for (const mvccpb::Event& pe : resp.events()) {
          if (pe.kv().mod_revision() < next_rev_) continue;  // already delivered
          if (!queue_.Push(Convert(pe))) {
            Stop();
            return;
          }
          next_rev_ = pe.kv().mod_revision() + 1;
        }
      }
      if (cancelled_ || queue_.closed()) return;
      grpc::Status s = stream_->Finish();
      // The stream broke (a member went away): re-watch from where we are, within the budget.
      auto deadline = Clock::now() + retry_budget_;
      Status reopened = base::UnavailableError(s.error_message());
      while (!cancelled_ && Clock::now() < deadline) {
        reopened = OpenStream(deadline);
        if (reopened.ok() || cancelled_) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!reopened.ok()) {
        queue_.Close(reopened.WithContext("re-establishing a broken watch stream"));
        return;
      }
    }
  }

  void Stop() {
    std::lock_guard lock(mu_);
    if (ctx_) ctx_->TryCancel();
  }

  Event Convert(const mvccpb::Event& pe) const {
    Event e;
    e.revision = pe.kv().mod_revision();
    if (pe.type() == mvccpb::Event::DELETE) {
      e.type = EventType::kDeleted;
      e.kv.key = pe.kv().key().substr(prefix_len_);
      e.kv.mod_revision = e.revision;
    } else {
      e.kv = ToKv(pe.kv(), prefix_len_);
      e.type = pe.kv().create_revision() == e.revision ? EventType::kAdded : EventType::kModified;
    }
    if (e.type != EventType::kAdded && pe.has_prev_kv())
      e.prev_kv = ToKv(pe.prev_kv(), prefix_len_);
    return e;
  }

  pb::Watch::Stub* const stub_;
  const std::string key_, range_end_;
  const size_t prefix_len_;
  int64_t next_rev_;  // the next revision to deliver (reader thread, or Start before it)
  const std::chrono::milliseconds retry_budget_;
  const std::string where_;
  internal::EventQueue queue_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::unique_ptr<grpc::ClientContext> ctx_;  // GUARDED_BY(mu_)
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream_;
  std::thread thread_;
};

class EtcdStore final : public Store {
 public:
  EtcdStore(std::shared_ptr<grpc::Channel> channel, const EtcdConfig& config,
            const StoreOptions& options)
      : channel_(std::move(channel)),
        kv_(pb::KV::NewStub(channel_)),
        watch_(pb::Watch::NewStub(channel_)),
        prefix_(config.prefix),
        options_(options) {
    for (const auto& ep : config.endpoints) where_ += (where_.empty() ? "" : ",") + ep;
  }

  ~EtcdStore() override { compactor_.reset(); }

  void StartCompactor() {
    if (options_.compaction_interval.count() > 0) {
      compactor_ =
          std::make_unique<internal::PeriodicCompactor>(this, options_.compaction_interval);
    }
  }

  StatusOr<int64_t> Create(std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    pb::TxnRequest req;
    std::string full = prefix_ + std::string(key);
    auto* cmp = req.add_compare();
    cmp->set_key(full);
    cmp->set_target(pb::Compare::CREATE);
    cmp->set_result(pb::Compare::EQUAL);
    cmp->set_create_revision(0);
    auto* put = req.add_success()->mutable_request_put();
    put->set_key(full);
    put->set_value(std::string(value));
    req.add_failure()->mutable_request_range()->set_key(full);
    pb::TxnResponse resp;
    RETURN_IF_ERROR(Txn(req, &resp, "creating", key));
    if (!resp.succeeded()) {
      return internal::KeyExistsError(key, FailureKv(resp) ? FailureKv(resp)->mod_revision() : 0);
    }
    return resp.header().revision();
  }

  StatusOr<int64_t> Update(std::string_view key, std::string_view value,
                           int64_t expected) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    pb::TxnRequest req;
    std::string full = prefix_ + std::string(key);
    Guard(req, full, expected);
    auto* put = req.add_success()->mutable_request_put();
    put->set_key(full);
    put->set_value(std::string(value));
    req.add_failure()->mutable_request_range()->set_key(full);
    pb::TxnResponse resp;
    RETURN_IF_ERROR(Txn(req, &resp, "updating", key));
    if (!resp.succeeded()) return GuardFailed(resp, "updating", key, expected);
    return resp.header().revision();
  }

  StatusOr<DeleteResult> Delete(std::string_view key, int64_t expected) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    pb::TxnRequest req;
    std::string full = prefix_ + std::string(key);
    Guard(req, full, expected);
    auto* del = req.add_success()->mutable_request_delete_range();
    del->set_key(full);
    del->set_prev_kv(true);
    req.add_failure()->mutable_request_range()->set_key(full);
    pb::TxnResponse resp;
    RETURN_IF_ERROR(Txn(req, &resp, "deleting", key));
    if (!resp.succeeded()) return GuardFailed(resp, "deleting", key, expected);
    const auto& d = resp.responses(0).response_delete_range();
    if (d.prev_kvs_size() == 0) return internal::KeyNotFoundError("deleting", key);
    return DeleteResult{ToKv(d.prev_kvs(0), prefix_.size()), resp.header().revision()};
  }

  StatusOr<KeyValue> Get(std::string_view key) override {
    pb::RangeRequest req;
    req.set_key(prefix_ + std::string(key));
    pb::RangeResponse resp;
    RETURN_IF_ERROR(Range(req, &resp, "getting " + std::string(key)));
    if (resp.kvs_size() == 0) return internal::KeyNotFoundError("getting", key);
    return ToKv(resp.kvs(0), prefix_.size());
  }

  StatusOr<ListResult> List(std::string_view prefix, const ListOptions& options) override {
    // etcd checks the revision itself; here only the token is parsed.
    ASSIGN_OR_RETURN(
        internal::ListStart start,
        internal::ResolveListStart(prefix, options, std::numeric_limits<int64_t>::max(), 0));
    pb::RangeRequest req;
    std::string full_prefix = prefix_ + std::string(prefix);
    req.set_key(prefix_ + start.start_key);
    req.set_range_end(RangeEnd(full_prefix));
    bool at_current = options.revision == 0 && options.continue_token.empty();
    if (!at_current) req.set_revision(start.revision);
    if (options.limit > 0) req.set_limit(options.limit);
    pb::RangeResponse resp;
    RETURN_IF_ERROR(Range(req, &resp, "listing " + std::string(prefix)));
    ListResult result;
    result.revision = at_current ? resp.header().revision() : start.revision;
    result.items.reserve(static_cast<size_t>(resp.kvs_size()));
    for (const auto& kv : resp.kvs()) result.items.push_back(ToKv(kv, prefix_.size()));
    result.remaining_count = resp.count() - resp.kvs_size();
    if (resp.more() && !result.items.empty()) {
      result.continue_token =
          internal::EncodeContinueToken(result.revision, result.items.back().key);
    }
    return result;
  }

  StatusOr<std::unique_ptr<Watcher>> Watch(std::string_view prefix,
                                           int64_t from_revision) override {
    std::string full_prefix = prefix_ + std::string(prefix);
    if (from_revision != 0) {
      // etcd reports a compacted start revision asynchronously; check it now so the caller gets
      // the error from Watch itself (a compaction racing with this is still reported by Next).
      ASSIGN_OR_RETURN(int64_t current, CurrentRevision());
      if (from_revision <= current) {
        pb::RangeRequest req;
        req.set_key(full_prefix);
        req.set_revision(from_revision);
        req.set_keys_only(true);
        req.set_limit(1);
        pb::RangeResponse resp;
        RETURN_IF_ERROR(Range(req, &resp, "watching " + std::string(prefix)));
      }
    }
    auto w = std::make_unique<EtcdWatcher>(
        watch_.get(), full_prefix, RangeEnd(full_prefix), prefix_.size(), from_revision,
        options_.watch_buffer_events, options_.etcd_request_timeout, where_);
    RETURN_IF_ERROR(w->Start(options_.etcd_request_timeout));
    return std::unique_ptr<Watcher>(std::move(w));
  }

  StatusOr<int64_t> CurrentRevision() override {
    pb::RangeRequest req;
    req.set_key(prefix_);
    req.set_keys_only(true);
    req.set_limit(1);
    pb::RangeResponse resp;
    RETURN_IF_ERROR(Range(req, &resp, "reading the current revision"));
    return resp.header().revision();
  }

  Status Compact(int64_t revision) override {
    pb::CompactionRequest req;
    req.set_revision(revision);
    pb::CompactionResponse resp;
    grpc::ClientContext ctx;
    Prepare(ctx);
    Status s =
        FromGrpc(kv_->Compact(&ctx, req, &resp), "compacting to " + std::to_string(revision));
    if (IsCompacted(s)) return base::OkStatus();  // already compacted that far
    return s;
  }

  // Waits for a member to answer. Unavailable if none does within the dial timeout.
  Status Ping() {
    if (!channel_->WaitForConnected(std::chrono::system_clock::now() +
                                    options_.etcd_dial_timeout)) {
      return base::UnavailableError("connecting to etcd at " + where_ +
                                    ": no member answered within " +
                                    std::to_string(options_.etcd_dial_timeout.count()) + " ms");
    }
    return CurrentRevision().status();
  }

 private:
  void Prepare(grpc::ClientContext& ctx) const {
    ctx.set_deadline(std::chrono::system_clock::now() + options_.etcd_request_timeout);
    ctx.set_wait_for_ready(true);  // ride out a member failing over to the others
  }

  Status FromGrpc(const grpc::Status& s, const std::string& what) const {
    if (s.ok()) return base::OkStatus();
    const std::string& m = s.error_message();
    std::string msg = what + " on etcd " + where_ + ": " + m;
    switch (s.error_code()) {
      case grpc::StatusCode::OUT_OF_RANGE:
        if (m.find("compacted") != std::string::npos) return base::OutOfRangeError(msg);
        return base::InvalidArgumentError(msg);  // "required revision is a future revision"
      case grpc::StatusCode::INVALID_ARGUMENT:
        return base::InvalidArgumentError(msg);
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        return base::ResourceExhaustedError(msg);
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return base::UnavailableError(msg);
      default:
        return base::InternalError(msg);
    }
  }

  Status Range(const pb::RangeRequest& req, pb::RangeResponse* resp, const std::string& what) {
    // Reads are idempotent: retry a failed member's error on the others within the timeout.
    auto deadline = Clock::now() + options_.etcd_request_timeout;
    for (;;) {
      grpc::ClientContext ctx;
      Prepare(ctx);
      Status s = FromGrpc(kv_->Range(&ctx, req, resp), what);
      if (s.code() != base::StatusCode::kUnavailable || Clock::now() >= deadline) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Writes are not retried: a write that failed with Unavailable may or may not have been applied
  // (as with every etcd client); the caller re-reads and decides.
  Status Txn(const pb::TxnRequest& req, pb::TxnResponse* resp, const char* what,
             std::string_view key) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    return FromGrpc(kv_->Txn(&ctx, req, resp), std::string(what) + " " + std::string(key));
  }

  static void Guard(pb::TxnRequest& req, const std::string& full, int64_t expected) {
    auto* cmp = req.add_compare();
    cmp->set_key(full);
    if (expected != 0) {
      cmp->set_target(pb::Compare::MOD);
      cmp->set_result(pb::Compare::EQUAL);
      cmp->set_mod_revision(expected);
    } else {
      cmp->set_target(pb::Compare::VERSION);
      cmp->set_result(pb::Compare::GREATER);
      cmp->set_version(0);
    }
  }

  static const mvccpb::KeyValue* FailureKv(const pb::TxnResponse& resp) {
    if (resp.responses_size() == 0 || resp.responses(0).response_range().kvs_size() == 0) {
      return nullptr;
    }
    return &resp.responses(0).response_range().kvs(0);
  }

  Status GuardFailed(const pb::TxnResponse& resp, const char* what, std::string_view key,
                     int64_t expected) {
    const mvccpb::KeyValue* cur = FailureKv(resp);
    if (cur == nullptr) return internal::KeyNotFoundError(what, key);
    return internal::ConflictError(what, key, expected, cur->mod_revision());
  }

  // etcd's range end for a prefix; "\0" means "to the end of the keyspace".
  static std::string RangeEnd(const std::string& full_prefix) {
    std::string end = internal::PrefixEnd(full_prefix);
    return end.empty() ? std::string(1, '\0') : end;
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::KV::Stub> kv_;
  std::unique_ptr<pb::Watch::Stub> watch_;
  const std::string prefix_;
  const StoreOptions options_;
  std::string where_;  // "h1:p1,h2:p2" for messages
  std::unique_ptr<internal::PeriodicCompactor> compactor_;
};

}  // namespace

StatusOr<std::unique_ptr<Store>> OpenEtcdStore(const EtcdConfig& config,
                                               const StoreOptions& options) {
  if (config.endpoints.empty()) return base::InvalidArgumentError("etcd: no endpoints");
  ASSIGN_OR_RETURN(std::string target, GrpcTarget(config.endpoints));
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  args.SetMaxReceiveMessageSize(std::numeric_limits<int>::max());
  args.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  auto store = std::make_unique<EtcdStore>(std::move(channel), config, options);
  RETURN_IF_ERROR(store->Ping());
  store->StartCompactor();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace knet::store
