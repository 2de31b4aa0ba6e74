// File: apiserver/registry.h
//
// The Registry: the storage semantics of every served resource, between the REST handlers and
// the Store. It does what kube-apiserver's generic registry and per-kind strategies do: system
// fields (uid, creationTimestamp, generation, resourceVersion), generateName, defaulting and
// validation, status/spec separation, optimistic concurrency, Service IP and NodePort
// allocation, graceful deletion, finalizers and deletion propagation (carried out by the
// GarbageCollector, which uses this same Registry).
//
//   Registry reg(store, cache, ips, ports);
//   Result<Stored> r = reg.Create(*FindResource("", "v1", "services"), "default", obj, {});
//   if (!r.ok()) ...r.error().code == 422...
//
// Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/object.h"
#include "apiserver/allocator.h"
#include "apiserver/errors.h"
#include "apiserver/resources.h"
#include "apiserver/watch_cache.h"
#include "store/store.h"

namespace knet::apiserver {

struct Stored {
  api::Object object;  // resourceVersion set
  int64_t revision = 0;
  bool created = false;  // the write created the object (a PUT that creates answers 201)
};

struct WriteOptions {
  bool dry_run = false;
  std::string subresource;  // "" or "status"
};

// metav1.DeleteOptions, the fields knet honours.
struct DeleteOptions {
  std::optional<int64_t> grace_period_seconds;
  std::string propagation_policy;  // Orphan, Background, Foreground ("" = the kind's default)
  std::optional<bool> orphan_dependents;
  std::string precondition_uid;
  std::string precondition_resource_version;
  bool dry_run = false;
};

struct DeleteOutcome {
  // Set when the object still exists (graceful deletion or finalizers pending): the object.
  std::optional<Stored> remaining;
  Stored deleted;  // the object as it was when removed (when `remaining` is empty)
};

class Registry {
 public:
  Registry(store::Store* store, WatchCache* cache, ServiceIpAllocator* ips, PortAllocator* ports)
      : store_(store), cache_(cache), ips_(ips), ports_(ports) {}

  Result<Stored> Get(const ResourceInfo& r, std::string_view ns, std::string_view name);
  Result<Stored> Create(const ResourceInfo& r, std::string_view ns, api::Object obj,
                        const WriteOptions& opts);
  // PUT. `obj` is the whole new object (or, for subresource "status", an object whose status is
  // taken). An empty resourceVersion is an unconditional update; a stale one is 409 Conflict.
  // `create_if_missing` makes a PUT of a missing object a create (endpoints, events, leases).
  Result<Stored> Update(const ResourceInfo& r, std::string_view ns, std::string_view name,
                        api::Object obj, const WriteOptions& opts);
  // Read-modify-write with retries on conflict: `mutate` gets the current object and changes it
  // (it may return an error to abort). Used by PATCH, subresources and controllers.
  using Mutation = std::function<std::optional<ApiError>(api::Object&)>;
  Result<Stored> GuaranteedUpdate(const ResourceInfo& r, std::string_view ns, std::string_view name,
                                  const Mutation& mutate, const WriteOptions& opts);
  Result<DeleteOutcome> Delete(const ResourceInfo& r, std::string_view ns, std::string_view name,
                               const DeleteOptions& opts);

  // Removes an object now, whatever its finalizers or grace period: the end of a namespace's
  // deletion, or of a pod no node will finish. Frees what it held.
  Result<Stored> ForceRemove(const ResourceInfo& r, std::string_view ns, std::string_view name);

  // Marks every stored Service's IPs and ports as taken (on start).
  base::Status RebuildAllocations();

 private:
  Result<Stored> Read(const ResourceInfo& r, std::string_view ns, std::string_view name,
                      store::KeyValue* kv);
  // Prepares `obj` for storing as an update of `old`; fills errors.
  std::optional<ApiError> PrepareUpdate(const ResourceInfo& r, const api::Object& old,
                                        api::Object& obj, const WriteOptions& opts);
  Result<Stored> WriteUpdate(const ResourceInfo& r, std::string_view ns, std::string_view name,
                             const store::KeyValue& current, const api::Object& old,
                             api::Object obj, const WriteOptions& opts);
  // Removes the object from the store (the end of a deletion) and frees what it held.
  Result<Stored> Remove(const ResourceInfo& r, const std::string& key, const api::Object& obj,
                        int64_t mod_revision);
  std::optional<ApiError> CheckNamespace(const ResourceInfo& r, std::string_view ns);

  store::Store* store_;
  WatchCache* cache_;
  ServiceIpAllocator* ips_;
  PortAllocator* ports_;
};

// Encodes an object for the store: its JSON without resourceVersion.
std::string EncodeForStore(api::Object obj);
// A random RFC 4122 version 4 UUID.
std::string NewUid();
// generateName's suffix: five characters from Kubernetes' alphabet.
std::string RandomSuffix();

}  // namespace knet::apiserver
