// File: client/informer.h
//
// Informer<T>: a local, indexed cache of one kind kept current by list + watch, with handlers.
// It lists, then watches from the list's resourceVersion; when the watch ends or drops it
// re-watches from the last revision seen, and when that revision is gone (410) it relists and
// delivers the difference (adds, updates, and deletes for objects that vanished). Handlers run
// on the informer's own thread, in event order, without any informer lock held.
//
//   client::Informer<api::Pod> pods(rest.get(), /*ns=*/"");
//   pods.AddIndex("node", [](const api::Pod& p) { return std::vector{p.spec.nodeName}; });
//   pods.AddHandlers({.on_add = [](const api::Pod& p) { ... }});
//   pods.Start();
//   pods.WaitForSync(std::chrono::seconds(10));
//   std::vector<api::Pod> on_n1 = pods.ByIndex("node", "n1");
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/rest_client.h"

namespace knet::client {

template <class T>
struct InformerHandlers {
  std::function<void(const T&)> on_add;
  std::function<void(const T& old_obj, const T& new_obj)> on_update;  // also on resync
  std::function<void(const T&)> on_delete;
};

struct InformerOptions {
  std::string label_selector;
  std::string field_selector;
  // Every period, on_update(obj, obj) for every cached object; zero: never.
  std::chrono::milliseconds resync_period{0};
  // Wait before re-watching after a watch error.
  std::chrono::milliseconds retry_backoff{200};
};

template <class T>
class Informer {
 public:
  using IndexFunc = std::function<std::vector<std::string>(const T&)>;
  // Built-in index names.
  static constexpr const char* kNamespaceIndex = "namespace";
  static std::string LabelIndexName(const std::string& key) { return "label:" + key; }

  // `ns` empty: every namespace. `client` must outlive the informer.
  Informer(RestClient* client, std::string ns, InformerOptions opts = {})
      : client_(client), ns_(std::move(ns)), opts_(std::move(opts)) {
    indexers_[kNamespaceIndex] = [](const T& o) {
      return std::vector<std::string>{o.metadata.namespace_};
    };
  }
  ~Informer() { Stop(); }
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Before Start().
  void AddHandlers(InformerHandlers<T> h) { handlers_.push_back(std::move(h)); }
  void AddIndex(const std::string& name, IndexFunc f) { indexers_[name] = std::move(f); }
  // An index over the values of one label key: ByIndex(LabelIndexName("app"), "web").
  void AddLabelIndex(const std::string& key) {
    AddIndex(LabelIndexName(key), [key](const T& o) {
      auto it = o.metadata.labels.find(key);
      return it == o.metadata.labels.end() ? std::vector<std::string>{}
                                           : std::vector<std::string>{it->second};
    });
  }

  void Start() {
    std::lock_guard<std::mutex> l(mu_);
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { Run(); });
  }
  // Ends the watch and joins the thread. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
      if (canceller_) canceller_->Cancel();
    }
    cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

  bool HasSynced() const {
    std::lock_guard<std::mutex> l(mu_);
    return synced_;
  }
  bool WaitForSync(std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return synced_; });
  }

  std::optional<T> Get(const std::string& ns, const std::string& name) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(Key(ns, name));
    if (it == cache_.end()) return std::nullopt;
    return *it->second;
  }
  std::vector<T> List() const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<T> out;
    for (const auto& [k, v] : cache_) out.push_back(*v);
    return out;
  }
  // The same without copying objects: cached objects are immutable and shared, so a controller
  // can scan 100k pods cheaply. The pointers stay valid after the cache moves on.
  std::shared_ptr<const T> GetShared(const std::string& ns, const std::string& name) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = cache_.find(Key(ns, name));
    return it == cache_.end() ? nullptr : it->second;
  }
  std::vector<std::shared_ptr<const T>> ListShared() const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::shared_ptr<const T>> out;
    out.reserve(cache_.size());
    for (const auto& [k, v] : cache_) out.push_back(v);
    return out;
  }
  std::vector<std::shared_ptr<const T>> ByIndexShared(const std::string& index,
                                                      const std::string& value) const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::shared_ptr<const T>> out;
    auto idx = indices_.find(index);
    if (idx == indices_.end()) return out;
    auto keys = idx->second.find(value);
    if (keys == idx->second.end()) return out;
    out.reserve(keys->second.size());
    for (const std::string& k : keys->second) out.push_back(cache_.at(k));
    return out;
  }
  // How many objects an index value holds (0 for an unknown index).
  size_t IndexSize(const std::string& index, const std::string& value) const {
    std::lock_guard<std::mutex> l(mu_);
    auto idx = indices_.find(index);
    if (idx == indices_.end()) return 0;
    auto keys = idx->second.find(value);
    return keys == idx->second.end() ? 0 : keys->second.size();
  }
  // Objects whose index function returned `value`, sorted by namespace/name. An unknown index
  // gives nothing.
  std::vector<T> ByIndex(const std::string& index, const std::string& value) const {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<T> out;
    auto idx = indices_.find(index);
    if (idx == indices_.end()) return out;
    auto keys = idx->second.find(value);
    if (keys == idx->second.end()) return out;
    for (const std::string& k : keys->second) out.push_back(*cache_.at(k));
    return out;
  }
  // The revision the cache reflects.
  std::string LastResourceVersion() const {
    std::lock_guard<std::mutex> l(mu_);
    return resource_version_;
  }
  int relists() const {
    std::lock_guard<std::mutex> l(mu_);
    return lists_ > 0 ? lists_ - 1 : 0;
  }

  // Test hook: drops the current watch and holds off re-watching until resumed, as a network
  // partition would; writes made meanwhile are seen on resume (via re-watch or relist).
  void PauseWatchForTesting() {
    std::lock_guard<std::mutex> l(mu_);
    paused_ = true;
    if (canceller_) canceller_->Cancel();
  }
  void ResumeWatchForTesting() {
    {
      std::lock_guard<std::mutex> l(mu_);
      paused_ = false;
    }
    cv_.notify_all();
  }

 private:
  static std::string Key(const std::string& ns, const std::string& name) {
    return ns.empty() ? name : ns + "/" + name;
  }
  static std::string KeyOf(const T& o) { return Key(o.metadata.namespace_, o.metadata.name); }

  // Cache mutation; mu_ held.
  void Unindex(const std::string& key, const T& o) {
    for (const auto& [name, f] : indexers_) {
      auto& idx = indices_[name];
      for (const std::string& v : f(o)) {
        auto it = idx.find(v);
        if (it == idx.end()) continue;
        it->second.erase(key);
        if (it->second.empty()) idx.erase(it);
      }
    }
  }
  void Index(const std::string& key, const T& o) {
    for (const auto& [name, f] : indexers_) {
      for (const std::string& v : f(o)) indices_[name][v].insert(key);
    }
  }
  void PutLocked(const T& o) {
    std::string key = KeyOf(o);
    auto shared = std::make_shared<const T>(o);
    if (auto it = cache_.find(key); it != cache_.end()) {
      Unindex(key, *it->second);
      it->second = std::move(shared);
    } else {
      cache_.emplace(key, std::move(shared));
    }
    Index(key, o);
  }
  void EraseLocked(const std::string& key) {
    auto it = cache_.find(key);
    if (it == cache_.end()) return;
    Unindex(key, *it->second);
    cache_.erase(it);
  }

  // Waits (interruptibly) for `d`; false if stopping.
  bool Sleep(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, d, [&] { return stop_; });
    return !stop_;
  }

  base::Status Relist() {
    ListOptions lo{.label_selector = opts_.label_selector, .field_selector = opts_.field_selector};
    std::vector<T> items;
    std::string rv;
    while (true) {
      base::StatusOr<ObjectList<T>> page = client_->List<T>(ns_, lo);
      if (!page.ok()) return page.status();
      for (T& o : page->items) items.push_back(std::move(o));
      rv = page->resource_version;
      if (page->continue_token.empty()) break;
      lo.continue_token = page->continue_token;
      lo.limit = 500;
    }
    // The difference against the cache, applied then delivered.
    std::vector<T> added, deleted;
    std::vector<std::pair<T, T>> updated;
    {
      std::lock_guard<std::mutex> l(mu_);
      std::set<std::string> seen;
      for (const T& o : items) {
        std::string key = KeyOf(o);
        seen.insert(key);
        auto it = cache_.find(key);
        if (it == cache_.end()) {
          added.push_back(o);
        } else if (it->second->metadata.resource_version != o.metadata.resource_version ||
                   it->second->metadata.uid != o.metadata.uid) {
          updated.emplace_back(*it->second, o);
        }
      }
      for (const auto& [k, v] : cache_) {
        if (!seen.count(k)) deleted.push_back(*v);
      }
      for (const T& o : deleted) EraseLocked(KeyOf(o));
      for (const T& o : items) PutLocked(o);
      resource_version_ = rv;
      ++lists_;
    }
    for (const T& o : deleted) Deliver("DELETED", nullptr, o);
    for (const T& o : added) Deliver("ADDED", nullptr, o);
    for (const auto& [o, n] : updated) Deliver("MODIFIED", &o, n);
    {
      std::lock_guard<std::mutex> l(mu_);
      synced_ = true;
    }
    cv_.notify_all();
    return base::OkStatus();
  }

  void Deliver(const std::string& type, const T* old_obj, const T& obj) {
    for (const InformerHandlers<T>& h : handlers_) {
      if (type == "ADDED") {
        if (h.on_add) h.on_add(obj);
      } else if (type == "MODIFIED") {
        if (h.on_update) h.on_update(old_obj ? *old_obj : obj, obj);
      } else if (type == "DELETED") {
        if (h.on_delete) h.on_delete(obj);
      }
    }
  }

  // Applies one watch event to the cache and delivers it.
  void Apply(const WatchEvent<T>& ev) {
    std::shared_ptr<const T> old;  // shared with the cache it leaves: no copy
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!ev.object.metadata.resource_version.empty()) {
        resource_version_ = ev.object.metadata.resource_version;
      }
      if (ev.type == "BOOKMARK") return;
      std::string key = KeyOf(ev.object);
      if (auto it = cache_.find(key); it != cache_.end()) old = it->second;
      if (ev.type == "DELETED") {
        EraseLocked(key);
      } else {
        PutLocked(ev.object);
      }
    }
    if (ev.type == "DELETED") {
      Deliver("DELETED", nullptr, ev.object);
    } else if (old) {
      Deliver("MODIFIED", old.get(), ev.object);
    } else {
      Deliver("ADDED", nullptr, ev.object);
    }
  }

  // One line when a streak of list/watch failures starts (e.g. a 403 or the server down) and one
  // when it ends, not one per retry.
  void ReportFailure(const char* what, const base::Status& s) {
    if (failing_) return;
    failing_ = true;
    std::cerr << "informer " << T::kKind << ": " << what << " failed: " << s.message()
              << "; retrying every " << opts_.retry_backoff.count() << " ms\n";
  }
  void ReportRecovery() {
    if (!failing_) return;
    failing_ = false;
    std::cerr << "informer " << T::kKind << ": recovered\n";
  }

  void Resync() {
    for (const std::shared_ptr<const T>& o : ListShared()) Deliver("MODIFIED", o.get(), *o);
  }

  void Run() {
    bool need_list = true;
    auto next_resync = std::chrono::steady_clock::now() + opts_.resync_period;
    while (true) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_ || !paused_; });
        if (stop_) return;
      }
      if (need_list) {
        if (base::Status ls = Relist(); !ls.ok()) {
          ReportFailure("list", ls);
          if (!Sleep(opts_.retry_backoff)) return;
          continue;
        }
        ReportRecovery();
        need_list = false;
      }
      auto canceller = std::make_shared<WatchCanceller>();
      std::string rv;
      {
        std::lock_guard<std::mutex> l(mu_);
        if (stop_) return;
        if (paused_) continue;
        canceller_ = canceller;
        rv = resource_version_;
      }
      WatchOptions wo{.label_selector = opts_.label_selector,
                      .field_selector = opts_.field_selector,
                      .resource_version = rv,
                      .allow_bookmarks = true};
      if (opts_.resync_period.count() > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            next_resync - std::chrono::steady_clock::now());
        wo.max_duration = std::max(left, std::chrono::milliseconds(1));
      }
      base::Status s = client_->Watch<T>(
          ns_, wo,
          [&](const WatchEvent<T>& ev) {
            Apply(ev);
            return true;
          },
          canceller.get());
      {
        std::lock_guard<std::mutex> l(mu_);
        canceller_.reset();
        if (stop_) return;
      }
      if (IsGone(s)) {
        // As client-go's reflector logs it: the cache resumes through a fresh list.
        std::cerr << "informer " << T::kKind << ": resourceVersion " << rv
                  << " is gone (410); relisting\n";
        need_list = true;
      } else if (!s.ok() && s.code() != base::StatusCode::kCancelled) {
        ReportFailure("watch", s);
        if (!Sleep(opts_.retry_backoff)) return;
      } else {
        ReportRecovery();
      }
      if (opts_.resync_period.count() > 0 && std::chrono::steady_clock::now() >= next_resync) {
        Resync();
        next_resync = std::chrono::steady_clock::now() + opts_.resync_period;
      }
    }
  }

  RestClient* client_;
  std::string ns_;
  InformerOptions opts_;
  std::vector<InformerHandlers<T>> handlers_;
  std::map<std::string, IndexFunc> indexers_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<const T>> cache_;
  // index name -> value -> keys
  std::map<std::string, std::map<std::string, std::set<std::string>>> indices_;
  std::string resource_version_;
  bool synced_ = false;
  bool stop_ = false;
  bool paused_ = false;
  int lists_ = 0;
  bool failing_ = false;  // informer thread only
  std::shared_ptr<WatchCanceller> canceller_;
  std::thread thread_;
};

}  // namespace knet::client
