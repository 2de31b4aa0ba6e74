#include "apiserver/watch_cache.h"

#include <iostream>

#include "api/codec.h"
#include "api/json.h"

namespace knet::apiserver {

using Clock = std::chrono::steady_clock;

std::string StoreKey(const ResourceInfo& r, std::string_view ns, std::string_view name) {
  std::string key = r.resource + "/";
  if (r.namespaced) key.append(ns).push_back('/');
  key.append(name);
  return key;
}

std::string StorePrefix(const ResourceInfo& r, std::string_view ns) {
  std::string key = r.resource + "/";
  if (r.namespaced && !ns.empty()) key.append(ns).push_back('/');
  return key;
}

namespace {

const ResourceInfo* ResourceOfKey(std::string_view key) {
  std::string_view resource = key.substr(0, key.find('/'));
  for (const ResourceInfo& r : Resources()) {
    if (r.resource == resource) return &r;
  }
  return nullptr;
}

std::shared_ptr<const std::string> EventLine(std::string_view type, const std::string& json) {
  auto line = std::make_shared<std::string>();
  line->reserve(json.size() + 32);
  line->append("{\"type\":\"").append(type).append("\",\"object\":").append(json).append("}\n");
  return line;
}

}  // namespace

base::StatusOr<CachedPtr> DecodeStored(const ResourceInfo* r, const store::KeyValue& kv) {
  auto doc = api::ParseJson(kv.value);
  if (!doc.ok()) {
    return base::DataLossError("stored value of " + kv.key +
                               " is not JSON: " + std::string(doc.status().message()));
  }
  auto obj = api::DecodeObject(*doc);
  if (!obj.ok()) {
    return base::DataLossError("stored value of " + kv.key +
                               " does not decode: " + std::string(obj.status().message()));
  }
  auto out = std::make_shared<CachedObject>();
  out->resource = r;
  out->key = kv.key;
  out->object = std::move(*obj);
  out->revision = kv.mod_revision;
  api::MetaOf(out->object).resource_version = std::to_string(kv.mod_revision);
  out->json = api::EncodeObject(out->object);
  return CachedPtr(std::move(out));
}

bool WatchFilter::Matches(const CachedObject& obj) const {
  if (obj.resource != resource) return false;
  const api::ObjectMeta& meta = api::MetaOf(obj.object);
  if (!namespace_.empty() && meta.namespace_ != namespace_) return false;
  if (!labels.Empty() && !labels.Matches(meta.labels)) return false;
  return fields.Empty() || fields.Matches(obj.object);
}

WatchCache::WatchCache(store::Store* store, Options options) : store_(store), options_(options) {}

WatchCache::~WatchCache() { Stop(); }

base::Status WatchCache::Start() {
  std::unique_lock<std::mutex> lock(mu_);
  if (started_) return base::OkStatus();
  RETURN_IF_ERROR(Relist());
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  return base::OkStatus();
}

void WatchCache::Stop() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (store_watch_) store_watch_->Cancel();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  CloseAll();
  store_watch_.reset();
  cv_.notify_all();
}

base::Status WatchCache::Relist() {
  // Read everything at one revision, then follow the store from the revision after it.
  std::map<std::string, CachedPtr> objects;
  store::ListOptions opts;
  opts.limit = 1000;
  int64_t revision = 0;
  while (true) {
    ASSIGN_OR_RETURN(store::ListResult page, store_->List("", opts));
    revision = page.revision;
    for (const store::KeyValue& kv : page.items) {
      const ResourceInfo* r = ResourceOfKey(kv.key);
      if (r == nullptr) continue;  // not an API object (e.g. server bookkeeping)
      auto obj = DecodeStored(r, kv);
      if (!obj.ok()) {
        std::cerr << "watch cache: skipping " << obj.status().message() << "\n";
        continue;
      }
      objects.emplace(kv.key, std::move(*obj));
    }
    if (page.continue_token.empty()) break;
    opts.continue_token = page.continue_token;
    opts.revision = revision;
  }
  ASSIGN_OR_RETURN(store_watch_, store_->Watch("", revision + 1));
  objects_ = std::move(objects);
  events_.clear();
  revision_ = revision;
  oldest_available_ = revision;
  ++deletion_generation_;  // whatever happened meanwhile may need the collector
  cv_.notify_all();
  return base::OkStatus();
}

void WatchCache::Run() {
  while (!stopping_) {
    store::Watcher* w = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      w = store_watch_.get();
    }
    auto ev = w->Next(Clock::now() + std::chrono::milliseconds(250));
    std::lock_guard<std::mutex> lock(mu_);
    if (ev.ok()) {
      Apply(*ev);
      // Drain what is already queued under the same lock.
      for (int i = 0; i < 1000; ++i) {
        auto more = store_watch_->TryNext();
        if (!more.ok()) break;
        Apply(*more);
      }
    } else if (ev.status().code() != base::StatusCode::kDeadlineExceeded) {
      if (stopping_) break;
      // The store watch ended (fell behind, compacted, backend failure): reload and make every
      // client watch start over, as kube-apiserver does when its cache reinitialises.
      std::cerr << "watch cache: store watch ended (" << ev.status().message() << "); reloading\n";
      CloseAll();
      base::Status s = Relist();
      if (!s.ok()) {
        std::cerr << "watch cache: reload failed: " << s.message() << "\n";
        mu_.unlock();
        std::this_thread::sleep_for(std::chrono::seconds(1));
        mu_.lock();
      }
    }
    Housekeep();
  }
}

void WatchCache::Apply(const store::Event& e) {
  const ResourceInfo* r = ResourceOfKey(e.kv.key);
  if (r != nullptr) {
    Event out;
    out.revision = e.revision;
    auto it = objects_.find(e.kv.key);
    if (it != objects_.end()) out.prev = it->second;
    if (e.type == store::EventType::kDeleted) {
      if (out.prev != nullptr) {
        // The object as it was, stamped with the delete's revision (as kube-apiserver does).
        auto gone = std::make_shared<CachedObject>(*out.prev);
        gone->revision = e.revision;
        api::MetaOf(gone->object).resource_version = std::to_string(e.revision);
        gone->json = api::EncodeObject(gone->object);
        out.object = std::move(gone);
        out.type = "DELETED";
        objects_.erase(it);
      }
    } else {
      auto obj = DecodeStored(r, e.kv);
      if (obj.ok()) {
        out.object = std::move(*obj);
        out.type = out.prev ? "MODIFIED" : "ADDED";
        objects_[e.kv.key] = out.object;
      } else {
        std::cerr << "watch cache: " << obj.status().message() << "\n";
      }
    }
    if (out.object != nullptr) {
      if (IsDeletionRelevant(out)) ++deletion_generation_;
      out.line = EventLine(out.type, out.object->json);
      Dispatch(out);
      events_.push_back(std::move(out));
      while (events_.size() > options_.event_window) {
        oldest_available_ = events_.front().revision;
        events_.pop_front();
      }
    }
  }
  revision_ = std::max(revision_, e.revision);
  cv_.notify_all();
}

bool WatchCache::Send(Watcher& w, std::string_view type, const CachedObject& obj,
                      const std::shared_ptr<const std::string>& line) {
  std::shared_ptr<const std::string> bytes;
  if (w.request.encoder) {
    bytes = w.request.encoder(type, obj);
  } else {
    bytes = line ? line : EventLine(type, obj.json);
  }
  w.sent_revision = std::max(w.sent_revision, obj.revision);
  return bytes == nullptr || w.request.write(std::move(bytes));
}

bool WatchCache::Deliver(Watcher& w, const Event& e) {
  if (e.object->resource != w.request.filter.resource) return true;
  bool now = e.type != "DELETED" && w.request.filter.Matches(*e.object);
  bool before = e.prev != nullptr && w.request.filter.Matches(*e.prev);
  if (now && before) return Send(w, "MODIFIED", *e.object, e.line);
  if (now) return Send(w, "ADDED", *e.object, e.type == "ADDED" ? e.line : nullptr);
  if (!before) return true;
  // Deleted, or changed so that it no longer matches: the watcher sees it go.
  if (e.type == "DELETED") return Send(w, "DELETED", *e.object, e.line);
  // Like kube-apiserver's cacheWatcher: the content the watcher last matched (its labels still
  // select it), at this event's resourceVersion.
  CachedObject gone = *e.prev;
  api::MetaOf(gone.object).resource_version = std::to_string(e.revision);
  gone.json = api::EncodeObject(gone.object);
  gone.revision = e.revision;
  return Send(w, "DELETED", gone, nullptr);
}

void WatchCache::Dispatch(const Event& e) {
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    if (Deliver(*it->second, e)) {
      ++it;
    } else {
      it = watchers_.erase(it);
    }
  }
}

void WatchCache::Housekeep() {
  std::vector<uint64_t> cancelled;
  {
    std::lock_guard<std::mutex> lock(cancel_mu_);
    cancelled.swap(cancelled_);
  }
  for (uint64_t id : cancelled) watchers_.erase(id);
  auto now = Clock::now();
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    Watcher& w = *it->second;
    if (now >= w.request.deadline) {
      w.request.close();
      it = watchers_.erase(it);
      continue;
    }
    if (w.request.bookmarks && now - w.last_bookmark >= options_.bookmark_interval) {
      w.last_bookmark = now;
      const ResourceInfo& r = *w.request.filter.resource;
      auto line = std::make_shared<std::string>("{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"" +
                                                r.kind + "\",\"apiVersion\":\"" + r.ApiVersion() +
                                                "\",\"metadata\":{\"resourceVersion\":\"" +
                                                std::to_string(revision_) + "\"}}}\n");
      if (!w.request.write(std::move(line))) {
        it = watchers_.erase(it);
        continue;
      }
    }
    ++it;
  }
}

void WatchCache::CloseAll() {
  for (auto& [id, w] : watchers_) w->request.close();
  watchers_.clear();
}

bool WatchCache::IsDeletionRelevant(const Event& e) {
  // What the garbage collector acts on: anything removed, anything being deleted, and a change
  // of who owns what. A status write or a label change on a live object is not.
  const api::ObjectMeta& m = api::MetaOf(e.object->object);
  if (e.type == "DELETED" || !m.deletion_timestamp.IsZero()) return true;
  if (e.prev == nullptr) return !m.owner_references.empty();
  return m.owner_references != api::MetaOf(e.prev->object).owner_references;
}

uint64_t WatchCache::DeletionGeneration() const {
  std::lock_guard<std::mutex> lock(mu_);
  return deletion_generation_;
}

int64_t WatchCache::Revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

base::Status WatchCache::WaitForRevision(int64_t rev, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return revision_ >= rev || stopping_; })) {
    return base::DeadlineExceededError("the watch cache has not reached revision " +
                                       std::to_string(rev) + " (at " + std::to_string(revision_) +
                                       ")");
  }
  return base::OkStatus();
}

int64_t WatchCache::OldestWatchableRevision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return oldest_available_;
}

Snapshot WatchCache::List(const WatchFilter& filter) const {
  Snapshot snap;
  std::string prefix = StorePrefix(*filter.resource, filter.namespace_);
  std::lock_guard<std::mutex> lock(mu_);
  snap.revision = revision_;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (filter.Matches(*it->second)) snap.items.push_back(it->second);
  }
  return snap;
}

std::optional<Page> WatchCache::ListPage(const WatchFilter& filter, std::string_view after_key,
                                         int64_t limit, int64_t at_revision) const {
  std::string prefix = StorePrefix(*filter.resource, filter.namespace_);
  std::lock_guard<std::mutex> lock(mu_);
  if (at_revision != 0 && at_revision != revision_) return std::nullopt;
  // A key from another collection: not ours to interpret (the store refuses such a token).
  if (!after_key.empty() && after_key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  Page page;
  page.revision = revision_;
  auto in_prefix = [&](const auto& it) {
    return it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
  };
  auto it = after_key.empty() ? objects_.lower_bound(prefix)
                              : objects_.upper_bound(std::string(after_key));
  for (; in_prefix(it); ++it) {
    if (!filter.Matches(*it->second)) continue;
    if (limit > 0 && static_cast<int64_t>(page.items.size()) == limit) {
      page.more = true;
      break;
    }
    page.items.push_back(it->second);
  }
  if (page.more) {
    page.last_key = page.items.back()->key;
    for (auto rest = objects_.upper_bound(page.last_key); in_prefix(rest); ++rest) {
      ++page.remaining;
    }
  }
  return page;
}

CachedPtr WatchCache::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

Result<uint64_t> WatchCache::AddWatcher(WatchRequest request) {
  std::unique_lock<std::mutex> lock(mu_);
  int64_t from = request.from_revision;
  if (from > revision_) {
    // A revision the cache has not seen yet (another server's write, or a client's guess):
    // wait briefly for it, as kube-apiserver does, then serve what comes after it.
    cv_.wait_for(lock, std::chrono::seconds(3), [&] { return revision_ >= from || stopping_; });
  }
  if (from != 0 && from < oldest_available_) {
    return Gone("too old resource version: " + std::to_string(from) + " (" +
                std::to_string(oldest_available_ + 1) + ")");
  }
  auto w = std::make_unique<Watcher>();
  w->id = next_id_++;
  w->request = std::move(request);
  w->last_bookmark = Clock::now();
  bool ok = true;
  if (from == 0) {
    std::string prefix = StorePrefix(*w->request.filter.resource, w->request.filter.namespace_);
    for (auto it = objects_.lower_bound(prefix);
         ok && it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (w->request.filter.Matches(*it->second)) ok = Send(*w, "ADDED", *it->second, nullptr);
    }
  } else {
    // Replay the window after `from`, turning each event into what this watcher sees.
    for (auto it = events_.begin(); ok && it != events_.end(); ++it) {
      if (it->revision > from) ok = Deliver(*w, *it);
    }
  }
  uint64_t id = w->id;
  if (ok) watchers_.emplace(id, std::move(w));
  return id;
}

void WatchCache::RemoveWatcher(uint64_t id) {
  std::lock_guard<std::mutex> lock(cancel_mu_);
  cancelled_.push_back(id);
}

size_t WatchCache::WatcherCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_.size();
}

}  // namespace knet::apiserver
