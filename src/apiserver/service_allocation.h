// File: apiserver/service_allocation.h
//
// What a Service write takes from the allocators: ClusterIPs (one per IP family the Service
// asks for), NodePorts and the healthCheckNodePort, as kube-apiserver's service REST storage
// does. A ServiceAllocation is a small transaction: everything it took is given back unless the
// write succeeds and Commit() is called.
//
//   ServiceAllocation alloc(&ips, &ports);
//   auto errs = alloc.Allocate(svc, old);     // old: nullptr on create
//   if (!errs.empty()) return Invalid(...);   // nothing is kept
//   ... store the Service ...
//   alloc.Commit();                           // keep; give back what `old` had and svc dropped
#pragma once

#include <vector>

#include "api/service.h"
#include "api/validation.h"
#include "apiserver/allocator.h"

namespace knet::apiserver {

class ServiceAllocation {
 public:
  ServiceAllocation(ServiceIpAllocator* ips, PortAllocator* ports) : ips_(ips), ports_(ports) {}
  ~ServiceAllocation();  // rolls back unless committed
  ServiceAllocation(const ServiceAllocation&) = delete;
  ServiceAllocation& operator=(const ServiceAllocation&) = delete;

  // Fills in svc's clusterIP/clusterIPs/ipFamilies/ipFamilyPolicy, nodePorts and
  // healthCheckNodePort. On update (`old` set) the ClusterIPs may not change and allocated
  // NodePorts carry over to ports that did not ask for one. Errors are field errors (422).
  std::vector<api::FieldError> Allocate(api::Service& svc, const api::Service* old);

  // Keeps this write's allocations and frees what `old` held that the new Service does not.
  void Commit();

 private:
  std::vector<api::FieldError> AllocateIps(api::Service& svc, const api::Service* old);
  std::vector<api::FieldError> AllocatePorts(api::Service& svc, const api::Service* old);

  ServiceIpAllocator* ips_;
  PortAllocator* ports_;
  std::vector<base::IPAddress> new_ips_;
  std::vector<int> new_ports_;
  std::vector<base::IPAddress> drop_ips_;  // old's, freed on commit
  std::vector<int> drop_ports_;
  bool committed_ = false;
};

// Frees everything a Service holds (on delete).
void ReleaseService(const api::Service& svc, ServiceIpAllocator* ips, PortAllocator* ports);
// Marks everything a stored Service holds as taken (rebuilding the allocators on start).
void MarkService(const api::Service& svc, ServiceIpAllocator* ips, PortAllocator* ports);

}  // namespace knet::apiserver
