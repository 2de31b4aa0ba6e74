#include "store/memory/memory_store.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "store/internal/compactor.h"
#include "store/internal/list_util.h"
#include "store/internal/watch_hub.h"

namespace knet::store {
namespace {

using internal::ConflictError;
using internal::KeyNotFoundError;

struct Version {
  int64_t revision = 0;
  int64_t create_revision = 0;
  bool deleted = false;
  std::string value;
};

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(const StoreOptions& options)
      : hub_(options.watch_buffer_events,
             [this](const std::string& prefix, int64_t from, int64_t to, size_t limit) {
               return History(prefix, from, to, limit);
             }) {
    if (options.compaction_interval.count() > 0) {
      compactor_ = std::make_unique<internal::PeriodicCompactor>(this, options.compaction_interval);
    }
  }
  ~MemoryStore() override {
    compactor_.reset();
    hub_.Close();
  }

  StatusOr<int64_t> Create(std::string_view key, std::string_view value) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    std::lock_guard lock(mu_);
    const Version* cur = Current(key);
    if (cur != nullptr) return internal::KeyExistsError(key, cur->revision);
    int64_t rev = ++revision_;
    Append(key, Version{rev, rev, false, std::string(value)});
    return rev;
  }

  StatusOr<int64_t> Update(std::string_view key, std::string_view value,
                           int64_t expected) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    std::lock_guard lock(mu_);
    const Version* cur = Current(key);
    if (cur == nullptr) return KeyNotFoundError("updating", key);
    if (expected != 0 && cur->revision != expected) {
      return ConflictError("updating", key, expected, cur->revision);
    }
    int64_t rev = ++revision_;
    Append(key, Version{rev, cur->create_revision, false, std::string(value)});
    return rev;
  }

  StatusOr<DeleteResult> Delete(std::string_view key, int64_t expected) override {
    RETURN_IF_ERROR(internal::CheckKey(key));
    std::lock_guard lock(mu_);
    const Version* cur = Current(key);
    if (cur == nullptr) return KeyNotFoundError("deleting", key);
    if (expected != 0 && cur->revision != expected) {
      return ConflictError("deleting", key, expected, cur->revision);
    }
    DeleteResult result{ToKv(key, *cur), ++revision_};
    Append(key, Version{result.revision, 0, true, {}});
    return result;
  }

  StatusOr<KeyValue> Get(std::string_view key) override {
    std::lock_guard lock(mu_);
    const Version* cur = Current(key);
    if (cur == nullptr) return KeyNotFoundError("getting", key);
    return ToKv(key, *cur);
  }

  StatusOr<ListResult> List(std::string_view prefix, const ListOptions& options) override {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(internal::ListStart start,
                     internal::ResolveListStart(prefix, options, revision_, compacted_));
    ListResult result;
    result.revision = start.revision;
    for (auto it = keys_.lower_bound(start.start_key);
         it != keys_.end() && it->first.starts_with(prefix); ++it) {
      const Version* v = At(it->second, start.revision);
      if (v == nullptr || v->deleted) continue;
      if (options.limit > 0 && std::ssize(result.items) >= options.limit) {
        ++result.remaining_count;
        continue;
      }
      result.items.push_back(ToKv(it->first, *v));
    }
    if (result.remaining_count > 0) {
      result.continue_token =
          internal::EncodeContinueToken(start.revision, result.items.back().key);
    }
    return result;
  }

  StatusOr<std::unique_ptr<Watcher>> Watch(std::string_view prefix,
                                           int64_t from_revision) override {
    std::lock_guard lock(mu_);
    if (from_revision != 0 && from_revision < compacted_) {
      return internal::CompactedError(from_revision, compacted_);
    }
    return hub_.Subscribe(prefix, from_revision);
  }

  StatusOr<int64_t> CurrentRevision() override {
    std::lock_guard lock(mu_);
    return revision_;
  }

  Status Compact(int64_t revision) override {
    std::lock_guard lock(mu_);
    if (revision > revision_) return internal::FutureRevisionError(revision, revision_);
    if (revision <= compacted_) return base::OkStatus();
    for (auto it = keys_.begin(); it != keys_.end();) {
      auto& versions = it->second;
      // Drop versions older than `revision` that a version older than `revision` superseded,
      // and tombstones older than it: no read at >= revision can see them.
      std::vector<Version> kept;
      for (size_t i = 0; i < versions.size(); ++i) {
        const Version& v = versions[i];
        bool superseded = i + 1 < versions.size() && versions[i + 1].revision < revision;
        if (v.revision < revision && (superseded || v.deleted)) continue;
        kept.push_back(std::move(versions[i]));
      }
      versions = std::move(kept);
      it = versions.empty() ? keys_.erase(it) : std::next(it);
    }
    log_.erase(log_.begin(), log_.lower_bound(revision));
    compacted_ = revision;
    return base::OkStatus();
  }

 private:
  static KeyValue ToKv(std::string_view key, const Version& v) {
    return KeyValue{std::string(key), v.value, v.create_revision, v.revision};
  }

  // The latest version at or before revision, or null.
  static const Version* At(const std::vector<Version>& versions, int64_t revision) {
    auto it = std::upper_bound(versions.begin(), versions.end(), revision,
                               [](int64_t r, const Version& v) { return r < v.revision; });
    return it == versions.begin() ? nullptr : &*std::prev(it);
  }

  // The live current version of key, or null. REQUIRES: mu_ held.
  const Version* Current(std::string_view key) const {
    auto it = keys_.find(key);
    if (it == keys_.end() || it->second.back().deleted) return nullptr;
    return &it->second.back();
  }

  // REQUIRES: mu_ held.
  void Append(std::string_view key, Version v) {
    auto it = keys_.try_emplace(std::string(key)).first;
    it->second.push_back(std::move(v));
    log_.emplace(it->second.back().revision, it->first);
    hub_.Publish({MakeEvent(it->first, it->second, it->second.size() - 1)});
  }

  static Event MakeEvent(const std::string& key, const std::vector<Version>& versions, size_t i) {
    const Version& v = versions[i];
    Event e;
    e.revision = v.revision;
    if (v.deleted) {
      e.type = EventType::kDeleted;
      e.kv.key = key;
      e.kv.mod_revision = v.revision;
    } else {
      e.type = v.create_revision == v.revision ? EventType::kAdded : EventType::kModified;
      e.kv = ToKv(key, v);
    }
    if (e.type != EventType::kAdded && i > 0) e.prev_kv = ToKv(key, versions[i - 1]);
    return e;
  }

  StatusOr<std::vector<Event>> History(const std::string& prefix, int64_t from, int64_t to,
                                       size_t limit) {
    std::lock_guard lock(mu_);
    if (from < compacted_) return internal::CompactedError(from, compacted_);
    std::vector<Event> out;
    for (auto it = log_.lower_bound(from); it != log_.end() && it->first <= to; ++it) {
      if (!it->second.starts_with(prefix)) continue;
      const auto& versions = keys_.find(it->second)->second;
      auto vit = std::lower_bound(versions.begin(), versions.end(), it->first,
                                  [](const Version& v, int64_t r) { return v.revision < r; });
      out.push_back(MakeEvent(it->second, versions, static_cast<size_t>(vit - versions.begin())));
      if (out.size() >= limit) break;
    }
    return out;
  }

  std::mutex mu_;
  int64_t revision_ = 0;                                           // GUARDED_BY(mu_)
  int64_t compacted_ = 0;                                          // GUARDED_BY(mu_)
  std::map<std::string, std::vector<Version>, std::less<>> keys_;  // GUARDED_BY(mu_)
  std::map<int64_t, std::string> log_;  // revision -> key, GUARDED_BY(mu_)
  internal::WatchHub hub_;
  std::unique_ptr<internal::PeriodicCompactor> compactor_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore(const StoreOptions& options) {
  return std::make_unique<MemoryStore>(options);
}

}  // namespace knet::store
