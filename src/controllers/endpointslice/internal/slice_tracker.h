// File: controllers/endpointslice/internal/slice_tracker.h
//
// EndpointSliceTracker (upstream endpointSliceTracker): remembers, per Service, the slices this
// controller wrote (as the server returned them) and the ones it deleted, until the informer
// cache has caught up with them, so that
//  - a sync never plans from a cache that has not yet seen those writes (which would create
//    duplicate slices or rewrite stale ones): Overlay() gives the cache with the controller's own
//    newer writes laid over it (read-your-writes), so a burst of pod changes does not have to wait
//    for the watch to echo each write;
//  - the watch echo of the controller's own write does not trigger another sync: ShouldSync().
// A write by someone else after ours shows up with a newer resourceVersion and wins; an update
// planned from our copy while the cache lags fails with a conflict and is retried. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/endpoint_slice.h"

namespace knet::controllers::endpointslice_internal {

class EndpointSliceTracker {
 public:
  // After a successful create or update of `slice` (as returned by the server). `cached` reads
  // the informer's current copy of the slice; it is called under the tracker's lock so that a
  // write whose echo was already handled is not tracked (nothing would drop it).
  void Written(const std::string& service_key, const api::EndpointSlice& slice,
               const std::function<std::shared_ptr<const api::EndpointSlice>()>& cached);
  // After deleting slice `name` (or finding it already gone).
  void Deleted(const std::string& service_key, const std::string& name);
  // The Service is gone: forget it.
  void DeleteService(const std::string& service_key);

  // The controller's slices of the Service as of its own latest writes: `cached` (all of them
  // from the informer), with slices it wrote more recently replaced by what it wrote, slices it
  // created but the cache has not seen added, and slices it deleted left out. Drops the entries
  // the cache has caught up with.
  std::vector<std::shared_ptr<const api::EndpointSlice>> Overlay(
      const std::string& service_key,
      const std::vector<std::shared_ptr<const api::EndpointSlice>>& cached);

  // For an informer add/update of `slice`: false when it is the echo of this controller's own
  // write (or an older version of it), true for a change made by someone else.
  bool ShouldSync(const std::string& service_key, const api::EndpointSlice& slice);
  // For an informer delete: false when this controller deleted it. Forgets the slice.
  bool ShouldSyncDeletion(const std::string& service_key, const api::EndpointSlice& slice);

  // Entries waiting for the cache (tests).
  size_t PendingForTesting() const;

 private:
  struct Entry {
    uint64_t resource_version = 0;
    std::shared_ptr<const api::EndpointSlice> written;  // null: deletion expected
  };
  void EraseLocked(std::map<std::string, std::map<std::string, Entry>>::iterator svc,
                   const std::string& name);

  mutable std::mutex mu_;
  // service key -> slice name -> what this controller last did to it.
  std::map<std::string, std::map<std::string, Entry>> entries_;
};

}  // namespace knet::controllers::endpointslice_internal
