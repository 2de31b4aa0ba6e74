#include "apiserver/service_allocation.h"

#include <algorithm>

namespace knet::apiserver {

using api::FieldError;
using base::IPAddress;
using base::IPFamily;

namespace {

bool WantsNodePorts(const api::Service& svc) {
  if (svc.spec.type == "NodePort") return true;
  return svc.spec.type == "LoadBalancer" &&
         svc.spec.allocate_load_balancer_node_ports.value_or(true);
}

bool WantsHealthCheckPort(const api::Service& svc) {
  return svc.spec.type == "LoadBalancer" && svc.spec.external_traffic_policy == "Local";
}

bool HasClusterIps(const api::Service& svc) {
  return svc.spec.type != "ExternalName" && svc.spec.cluster_ip != "None";
}

std::string FamilyName(IPFamily f) { return f == IPFamily::kV4 ? "IPv4" : "IPv6"; }

std::vector<IPAddress> ClusterIps(const api::Service& svc) {
  std::vector<IPAddress> out;
  std::vector<std::string> texts = svc.spec.cluster_ips;
  if (texts.empty() && !svc.spec.cluster_ip.empty()) texts.push_back(svc.spec.cluster_ip);
  for (const std::string& t : texts) {
    if (auto ip = IPAddress::Parse(t); ip.ok()) out.push_back(*ip);
  }
  return out;
}

std::vector<int> NodePorts(const api::Service& svc) {
  std::vector<int> out;
  for (const api::ServicePort& p : svc.spec.ports) {
    if (p.node_port != 0) out.push_back(p.node_port);
  }
  if (svc.spec.health_check_node_port != 0) out.push_back(svc.spec.health_check_node_port);
  return out;
}

}  // namespace

ServiceAllocation::~ServiceAllocation() {
  if (committed_) return;
  for (const IPAddress& ip : new_ips_) ips_->Release(ip);
  for (int p : new_ports_) ports_->Release(p);
}

void ServiceAllocation::Commit() {
  committed_ = true;
  for (const IPAddress& ip : drop_ips_) ips_->Release(ip);
  for (int p : drop_ports_) ports_->Release(p);
}

std::vector<FieldError> ServiceAllocation::Allocate(api::Service& svc, const api::Service* old) {
  std::vector<FieldError> errs = AllocateIps(svc, old);
  if (!errs.empty()) return errs;
  return AllocatePorts(svc, old);
}

std::vector<FieldError> ServiceAllocation::AllocateIps(api::Service& svc, const api::Service* old) {
  api::ServiceSpec& s = svc.spec;
  std::vector<FieldError> errs;
  std::vector<IPAddress> old_ips =
      old && HasClusterIps(*old) ? ClusterIps(*old) : std::vector<IPAddress>{};
  if (!HasClusterIps(svc)) {
    if (s.type == "ExternalName") {
      s.cluster_ip.clear();
      s.cluster_ips.clear();
    } else {  // headless
      s.cluster_ips = {"None"};
      if (s.ip_families.empty()) s.ip_families = {"IPv4"};
      if (!s.ip_family_policy) s.ip_family_policy = "SingleStack";
    }
    drop_ips_ = old_ips;
    return errs;
  }
  if (old != nullptr && !old_ips.empty()) {
    // ClusterIPs are immutable once set; an update that leaves them empty keeps them.
    if (s.cluster_ip.empty() && s.cluster_ips.empty()) {
      s.cluster_ip = old->spec.cluster_ip;
      s.cluster_ips = old->spec.cluster_ips;
      if (s.ip_families.empty()) s.ip_families = old->spec.ip_families;
      if (!s.ip_family_policy) s.ip_family_policy = old->spec.ip_family_policy;
      return errs;
    }
    if (s.cluster_ip != old->spec.cluster_ip) {
      errs.push_back({FieldError::kInvalid, "spec.clusterIPs[0]", "\"" + s.cluster_ip + "\"",
                      "may not change once set"});
      return errs;
    }
    if (s.cluster_ips.empty()) s.cluster_ips = old->spec.cluster_ips;
    if (s.ip_families.empty()) s.ip_families = old->spec.ip_families;
    if (!s.ip_family_policy) s.ip_family_policy = old->spec.ip_family_policy;
    return errs;
  }
  // Create (or a type change to one with a ClusterIP): which families, which addresses.
  std::vector<std::string> requested = s.cluster_ips;
  if (requested.empty() && !s.cluster_ip.empty()) requested.push_back(s.cluster_ip);
  std::vector<IPFamily> families;
  for (const std::string& f : s.ip_families) {
    families.push_back(f == "IPv6" ? IPFamily::kV6 : IPFamily::kV4);
  }
  for (size_t i = 0; i < requested.size(); ++i) {
    auto ip = IPAddress::Parse(requested[i]);
    if (!ip.ok()) {
      errs.push_back({FieldError::kInvalid, "spec.clusterIPs[" + std::to_string(i) + "]",
                      "\"" + requested[i] + "\"", "must be a valid IP address"});
      return errs;
    }
    if (i >= families.size()) families.push_back(ip->family());
  }
  std::string policy = s.ip_family_policy.value_or("SingleStack");
  if (families.empty()) {
    families.push_back(ips_->HasFamily(IPFamily::kV4) ? IPFamily::kV4 : IPFamily::kV6);
  }
  if (families.size() == 1 && policy != "SingleStack") {
    IPFamily other = families[0] == IPFamily::kV4 ? IPFamily::kV6 : IPFamily::kV4;
    if (ips_->HasFamily(other)) {
      families.push_back(other);
    } else if (policy == "RequireDualStack") {
      errs.push_back({FieldError::kInvalid, "spec.ipFamilyPolicy", "\"RequireDualStack\"",
                      "this cluster is not configured for dual-stack services"});
      return errs;
    }
  }
  std::vector<std::string> allocated;
  for (size_t i = 0; i < families.size(); ++i) {
    std::string field = "spec.clusterIPs[" + std::to_string(i) + "]";
    if (!ips_->HasFamily(families[i])) {
      errs.push_back({FieldError::kInvalid, "spec.ipFamilies[" + std::to_string(i) + "]",
                      "\"" + FamilyName(families[i]) + "\"", "not configured on this cluster"});
      return errs;
    }
    if (i < requested.size()) {
      auto ip = *IPAddress::Parse(requested[i]);
      if (base::Status st = ips_->Allocate(ip); !st.ok()) {
        errs.push_back({FieldError::kInvalid, "spec.clusterIPs", "[\"" + requested[i] + "\"]",
                        std::string(st.message())});
        return errs;
      }
      new_ips_.push_back(ip);
      allocated.push_back(ip.ToString());
    } else {
      auto ip = ips_->AllocateNext(families[i]);
      if (!ip.ok()) {
        errs.push_back({FieldError::kInvalid, field, "\"\"", std::string(ip.status().message())});
        return errs;
      }
      new_ips_.push_back(*ip);
      allocated.push_back(ip->ToString());
    }
  }
  s.cluster_ip = allocated[0];
  s.cluster_ips = allocated;
  s.ip_families.clear();
  for (IPFamily f : families) s.ip_families.push_back(FamilyName(f));
  s.ip_family_policy = families.size() > 1 && policy == "SingleStack" ? "PreferDualStack" : policy;
  drop_ips_ = old_ips;
  return errs;
}

std::vector<FieldError> ServiceAllocation::AllocatePorts(api::Service& svc,
                                                         const api::Service* old) {
  std::vector<FieldError> errs;
  std::vector<int> old_ports = old ? NodePorts(*old) : std::vector<int>{};
  std::vector<int> keep;
  auto owned_by_old = [&](int p) {
    return std::find(old_ports.begin(), old_ports.end(), p) != old_ports.end();
  };
  auto take = [&](int port, const std::string& field) -> bool {
    if (owned_by_old(port) ||
        std::find(new_ports_.begin(), new_ports_.end(), port) != new_ports_.end()) {
      keep.push_back(port);
      return true;
    }
    base::Status st = ports_->Allocate(port);
    if (!st.ok()) {
      errs.push_back(
          {FieldError::kInvalid, field, std::to_string(port), std::string(st.message())});
      return false;
    }
    new_ports_.push_back(port);
    keep.push_back(port);
    return true;
  };
  if (WantsNodePorts(svc)) {
    for (size_t i = 0; i < svc.spec.ports.size(); ++i) {
      api::ServicePort& p = svc.spec.ports[i];
      std::string field = "spec.ports[" + std::to_string(i) + "].nodePort";
      if (p.node_port == 0 && old != nullptr) {
        // An update that does not name a NodePort keeps the one the same port had.
        for (const api::ServicePort& op : old->spec.ports) {
          if (op.port == p.port && op.protocol == p.protocol && op.node_port != 0) {
            p.node_port = op.node_port;
          }
        }
      }
      if (p.node_port != 0) {
        if (!take(p.node_port, field)) return errs;
        continue;
      }
      auto port = ports_->AllocateNext();
      if (!port.ok()) {
        errs.push_back({FieldError::kInvalid, field, "0", std::string(port.status().message())});
        return errs;
      }
      new_ports_.push_back(*port);
      keep.push_back(*port);
      p.node_port = *port;
    }
  } else {
    for (api::ServicePort& p : svc.spec.ports) p.node_port = 0;
  }
  if (WantsHealthCheckPort(svc)) {
    int32_t& hc = svc.spec.health_check_node_port;
    if (hc == 0 && old != nullptr) hc = old->spec.health_check_node_port;
    if (hc != 0) {
      if (!take(hc, "spec.healthCheckNodePort")) return errs;
    } else {
      auto port = ports_->AllocateNext();
      if (!port.ok()) {
        errs.push_back({FieldError::kInvalid, "spec.healthCheckNodePort", "0",
                        std::string(port.status().message())});
        return errs;
      }
      new_ports_.push_back(*port);
      keep.push_back(*port);
      hc = *port;
    }
  } else {
    svc.spec.health_check_node_port = 0;
  }
  for (int p : old_ports) {
    if (std::find(keep.begin(), keep.end(), p) == keep.end()) drop_ports_.push_back(p);
  }
  return errs;
}

void ReleaseService(const api::Service& svc, ServiceIpAllocator* ips, PortAllocator* ports) {
  if (HasClusterIps(svc)) {
    for (const IPAddress& ip : ClusterIps(svc)) ips->Release(ip);
  }
  for (int p : NodePorts(svc)) ports->Release(p);
}

void MarkService(const api::Service& svc, ServiceIpAllocator* ips, PortAllocator* ports) {
  if (HasClusterIps(svc)) {
    for (const IPAddress& ip : ClusterIps(svc)) ips->Mark(ip);
  }
  for (int p : NodePorts(svc)) ports->Mark(p);
}

}  // namespace knet::apiserver
