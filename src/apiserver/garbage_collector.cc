#include "apiserver/garbage_collector.h"

#include <algorithm>
#include <iostream>
#include <unordered_map>
#include <unordered_set>

namespace knet::apiserver {

namespace {

bool HasFinalizer(const api::ObjectMeta& m, std::string_view f) {
  return std::find(m.finalizers.begin(), m.finalizers.end(), f) != m.finalizers.end();
}

std::optional<ApiError> RemoveFinalizer(api::Object& obj, std::string_view f) {
  auto& fs = api::MetaOf(obj).finalizers;
  fs.erase(std::remove(fs.begin(), fs.end(), f), fs.end());
  api::MetaOf(obj).resource_version.clear();
  return std::nullopt;
}

const ResourceInfo* ResourceOfOwner(const api::OwnerReference& ref) {
  std::string_view av = ref.api_version;
  size_t slash = av.find('/');
  std::string_view group = slash == std::string_view::npos ? "" : av.substr(0, slash);
  std::string_view version = slash == std::string_view::npos ? av : av.substr(slash + 1);
  return FindResourceByKind(group, version, ref.kind);
}

void Log(const char* what, const CachedObject& obj, const ApiError* err = nullptr) {
  if (err == nullptr || err->code == 404 || err->code == 409) return;
  std::cerr << "garbage collector: " << what << " " << obj.key << ": " << err->message << "\n";
}

}  // namespace

void GarbageCollector::Start(std::chrono::milliseconds period) {
  thread_ = std::thread([this, period] {
    // One pass at start (state from before a restart), then only after events that can give
    // the collector work, and again while its own writes are still settling.
    uint64_t seen = UINT64_MAX;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      uint64_t gen = cache_->DeletionGeneration();
      if (gen != seen) {
        lock.unlock();
        int writes = RunOnce();
        lock.lock();
        if (writes == 0) seen = gen;
      }
      cv_.wait_for(lock, period, [&] { return stopping_; });
    }
  });
}

void GarbageCollector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int GarbageCollector::RunOnce() {
  // Everything, with an index by uid.
  std::vector<CachedPtr> all;
  for (const ResourceInfo& r : Resources()) {
    WatchFilter f;
    f.resource = &r;
    Snapshot s = cache_->List(f);
    all.insert(all.end(), s.items.begin(), s.items.end());
  }
  std::unordered_map<std::string, const CachedObject*> by_uid;
  std::unordered_map<std::string, std::vector<const CachedObject*>> dependents;
  std::unordered_set<std::string> nodes;
  std::unordered_map<std::string, size_t> per_namespace;
  std::unordered_set<std::string> terminating;  // namespaces being deleted
  for (const CachedPtr& c : all) {
    const api::ObjectMeta& m = api::MetaOf(c->object);
    if (c->resource->resource == "namespaces" && !m.deletion_timestamp.IsZero()) {
      terminating.insert(m.name);
    }
    by_uid[m.uid] = c.get();
    for (const api::OwnerReference& o : m.owner_references) dependents[o.uid].push_back(c.get());
    if (c->resource->resource == "nodes") nodes.insert(m.name);
    if (c->resource->namespaced) ++per_namespace[m.namespace_];
  }
  int writes = 0;
  for (const CachedPtr& c : all) {
    const ResourceInfo& r = *c->resource;
    const api::ObjectMeta& m = api::MetaOf(c->object);
    bool deleting = !m.deletion_timestamp.IsZero();

    if (deleting && r.resource == "namespaces") {
      if (per_namespace[m.name] == 0) {
        auto out = registry_->ForceRemove(r, "", m.name);
        ++writes;
        if (!out.ok()) Log("removing namespace", *c, &out.error());
      }
      continue;
    }
    if (r.namespaced && terminating.count(m.namespace_) > 0) {
      // Inside a terminating namespace: delete (once).
      if (!deleting) {
        auto out = registry_->Delete(r, m.namespace_, m.name, {});
        ++writes;
        if (!out.ok()) Log("deleting", *c, &out.error());
        continue;
      }
    }
    if (deleting && HasFinalizer(m, "foregroundDeletion")) {
      auto& deps = dependents[m.uid];
      if (deps.empty()) {
        auto out = registry_->GuaranteedUpdate(
            r, m.namespace_, m.name,
            [](api::Object& o) { return RemoveFinalizer(o, "foregroundDeletion"); }, {});
        ++writes;
        if (!out.ok()) Log("finishing foreground deletion of", *c, &out.error());
      } else {
        for (const CachedObject* d : deps) {
          if (!api::MetaOf(d->object).deletion_timestamp.IsZero()) continue;
          DeleteOptions opts;
          opts.propagation_policy = "Foreground";
          auto out = registry_->Delete(*d->resource, api::MetaOf(d->object).namespace_,
                                       api::MetaOf(d->object).name, opts);
          ++writes;
          if (!out.ok()) Log("deleting dependent", *d, &out.error());
        }
      }
      continue;
    }
    if (deleting && HasFinalizer(m, "orphan")) {
      std::string uid = m.uid;
      for (const CachedObject* d : dependents[uid]) {
        auto out = registry_->GuaranteedUpdate(
            *d->resource, api::MetaOf(d->object).namespace_, api::MetaOf(d->object).name,
            [&uid](api::Object& o) -> std::optional<ApiError> {
              auto& refs = api::MetaOf(o).owner_references;
              refs.erase(std::remove_if(refs.begin(), refs.end(),
                                        [&](const api::OwnerReference& x) { return x.uid == uid; }),
                         refs.end());
              api::MetaOf(o).resource_version.clear();
              return std::nullopt;
            },
            {});
        ++writes;
        if (!out.ok()) Log("orphaning", *d, &out.error());
      }
      auto out = registry_->GuaranteedUpdate(
          r, m.namespace_, m.name, [](api::Object& o) { return RemoveFinalizer(o, "orphan"); }, {});
      ++writes;
      if (!out.ok()) Log("finishing orphan deletion of", *c, &out.error());
      continue;
    }
    if (deleting && r.resource == "pods") {
      const auto& pod = std::get<api::Pod>(c->object);
      if (m.finalizers.empty() &&
          (pod.spec.node_name.empty() || !nodes.count(pod.spec.node_name))) {
        // No node agent will finish this pod: complete the deletion.
        auto out = registry_->ForceRemove(r, m.namespace_, m.name);
        ++writes;
        if (!out.ok()) Log("removing pod", *c, &out.error());
      }
      continue;
    }
    if (!deleting && !m.owner_references.empty()) {
      bool owner_alive = false;
      for (const api::OwnerReference& o : m.owner_references) {
        if (by_uid.count(o.uid)) {
          owner_alive = true;
          break;
        }
        // Not in the cache: confirm with a live read before acting, as upstream's GC does.
        const ResourceInfo* orr = ResourceOfOwner(o);
        if (orr == nullptr) {
          owner_alive = true;  // an owner kind knet does not serve: leave the object alone
          break;
        }
        auto live = registry_->Get(*orr, orr->namespaced ? m.namespace_ : "", o.name);
        if (live.ok() && api::MetaOf(live->object).uid == o.uid) {
          owner_alive = true;
          break;
        }
      }
      if (!owner_alive) {
        auto out = registry_->Delete(r, m.namespace_, m.name, {});
        ++writes;
        if (!out.ok()) Log("deleting orphaned dependent", *c, &out.error());
      }
    }
  }
  return writes;
}

}  // namespace knet::apiserver
