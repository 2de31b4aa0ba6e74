// File: proxy/backend.h
//
// proxy::Backend: what programs a node's data plane from the ServicePortMap and EndpointsMap (the
// seam between the change trackers and one implementation: nft/nft_backend.h today, eBPF later;
// kube-proxy's Provider). The maps are the whole desired state; `changed` names the service ports
// whose service or endpoints changed since the previous Sync, so a backend can program only
// those. FullSync rebuilds everything (first run, periodic resync, repair of drift).
//
//   std::set<ServicePortName> changed = svc_tracker.Apply(services);
//   changed.merge(ep_tracker.Apply(endpoints));
//   RETURN_IF_ERROR(backend.Sync(services, endpoints, changed));
//
// Implementations say their own thread-safety; callers sync from one thread.
#pragma once

#include <set>

#include "base/status.h"
#include "proxy/types.h"

namespace knet::proxy {

class Backend {
 public:
  virtual ~Backend() = default;
  // Programs the changes to `changed` (a full sync when the backend has none to build on yet, or
  // the previous sync failed).
  virtual base::Status Sync(const ServicePortMap& services, const EndpointsMap& endpoints,
                            const std::set<ServicePortName>& changed) = 0;
  // Replaces everything the backend programmed by the state of `services` and `endpoints`,
  // atomically (never a moment without rules).
  virtual base::Status FullSync(const ServicePortMap& services, const EndpointsMap& endpoints) = 0;
};

}  // namespace knet::proxy
