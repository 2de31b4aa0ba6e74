// File: proxy/types.h
//
// The service proxy's plain-data view of the cluster, as kube-proxy's pkg/proxy/types.go names it:
// a ServicePortName (namespace/name:port, protocol) identifies one port of one Service; a
// ServicePortMap holds what the Service says about that port (cluster IPs of both families,
// NodePort, externalIPs, LoadBalancer ingress IPs, source ranges, affinity, traffic policies) and
// an EndpointsMap the endpoints that EndpointSlices list for it (both families, with their
// ready/serving/terminating conditions, node and zone). ServiceChangeTracker and
// EndpointsChangeTracker (beside this file) keep both maps up to date from informer events; a
// Backend (backend.h) programs the kernel from them.
//
//   ServicePortName spn{"default", "web", "http", IPPROTO_TCP};
//   const ServicePortInfo& svc = services.at(spn);
//   for (const EndpointInfo& ep : endpoints[spn]) ...
//
// Value types, thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "base/ip.h"

namespace knet::proxy {

// One port of one Service. `port` is the ServicePort's name ("" for an unnamed single port).
struct ServicePortName {
  std::string namespace_;
  std::string name;
  std::string port;
  uint8_t protocol = 6;  // IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP
  friend auto operator<=>(const ServicePortName&, const ServicePortName&) = default;
  friend bool operator==(const ServicePortName&, const ServicePortName&) = default;
  // "default/web:http/tcp" (kube-proxy prints "default/web:http").
  std::string String() const;
  // For gtest messages.
  friend void PrintTo(const ServicePortName& n, std::ostream* os) { *os << n.String(); }
};

// What the Service says about one of its ports (kube-proxy's BaseServicePortInfo).
struct ServicePortInfo {
  std::vector<base::IPAddress> cluster_ips;  // one per family (spec.clusterIPs)
  uint16_t port = 0;
  uint8_t protocol = 6;
  uint16_t node_port = 0;  // 0: none (type ClusterIP, or not allocated)
  std::vector<base::IPAddress> external_ips;
  std::vector<base::IPAddress> load_balancer_ips;  // status.loadBalancer.ingress[].ip (VIP mode)
  std::vector<base::Cidr> load_balancer_source_ranges;
  uint32_t session_affinity_seconds = 0;  // sessionAffinity ClientIP: its timeout; 0: None
  bool external_policy_local = false;     // externalTrafficPolicy: Local (with external access)
  bool internal_policy_local = false;     // internalTrafficPolicy: Local
  uint16_t health_check_node_port = 0;
  friend bool operator==(const ServicePortInfo&, const ServicePortInfo&) = default;
  // True when the port is reachable from outside the cluster (NodePort, external or LB IPs).
  bool HasExternal() const {
    return node_port != 0 || !external_ips.empty() || !load_balancer_ips.empty();
  }
};

using ServicePortMap = std::map<ServicePortName, ServicePortInfo>;

// One endpoint address of one service port (kube-proxy's BaseEndpointInfo).
struct EndpointInfo {
  base::IPAddress ip;
  uint16_t port = 0;
  bool ready = false;
  bool serving = false;
  bool terminating = false;
  bool is_local = false;  // nodeName is this node
  std::string node_name;
  std::string zone;
  friend bool operator==(const EndpointInfo&, const EndpointInfo&) = default;
  friend auto operator<=>(const EndpointInfo& a, const EndpointInfo& b) {
    if (auto c = a.ip <=> b.ip; c != 0) return c;
    return a.port <=> b.port;
  }
};

// Endpoints of a service port, sorted by (ip, port), without duplicates.
using EndpointsMap = std::map<ServicePortName, std::vector<EndpointInfo>>;

// The endpoints traffic may go to, as kube-proxy's CategorizeEndpoints (without topology hints):
// the ready ones, or when none is ready the serving-and-terminating ones; `local_only` keeps only
// this node's endpoints (with the same fallback among them).
std::vector<EndpointInfo> UsableEndpoints(const std::vector<EndpointInfo>& all, bool local_only);

}  // namespace knet::proxy
