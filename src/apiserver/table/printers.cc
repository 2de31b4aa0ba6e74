// Rows for every kind but Pod: ports of upstream's printService, printEndpoints,
// printEndpointSlice, printNode, printNamespace, printDeployment, printReplicaSet,
// printNetworkPolicy, printLease and printEvent.
#include "apiserver/table/internal/printers.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include "api/selector.h"

namespace knet::apiserver::table::table_internal {
namespace {

// Upstream's lists stop after three entries and say how many were left out.
constexpr size_t kMaxListed = 3;

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string WithMore(const std::vector<std::string>& list, size_t count) {
  std::string out = Join(list, ",");
  if (count > list.size()) return out + " + " + std::to_string(count - list.size()) + " more...";
  return out.empty() ? "<unset>" : out;
}

// net.JoinHostPort: brackets around IPv6 addresses.
std::string JoinHostPort(const std::string& host, int32_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// labels.FormatLabels: sorted k=v pairs, "<none>" when empty.
std::string FormatLabels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ",";
    out.append(k).append("=").append(v);
  }
  return out.empty() ? "<none>" : out;
}

// metav1.FormatLabelSelector: "<none>" for a selector that selects everything or nothing,
// "<error>" for one that does not convert.
std::string FormatLabelSelector(const std::optional<api::LabelSelector>& selector) {
  if (!selector) return "<none>";
  base::StatusOr<api::Selector> s = api::Selector::FromLabelSelector(*selector);
  if (!s.ok()) return "<error>";
  std::string out = s->ToString();
  return out.empty() ? "<none>" : out;
}

// Container names and images, comma-separated (layoutContainerCells).
std::pair<std::string, std::string> ContainerCells(const std::vector<api::Container>& containers) {
  std::vector<std::string> names;
  std::vector<std::string> images;
  for (const api::Container& c : containers) {
    names.push_back(c.name);
    images.push_back(c.image);
  }
  return {Join(names, ","), Join(images, ",")};
}

std::string ServiceExternalIP(const api::Service& svc) {
  const api::ServiceSpec& spec = svc.spec;
  const std::string& type = spec.type;
  if (type == "ClusterIP" || type == "NodePort") {
    return spec.external_ips.empty() ? "<none>" : Join(spec.external_ips, ",");
  }
  if (type == "LoadBalancer") {
    // Ingress IPs (or hostnames) as a set: sorted, without duplicates.
    std::set<std::string> ingress;
    for (const api::LoadBalancerIngress& in : svc.status.load_balancer.ingress) {
      if (!in.ip.empty()) {
        ingress.insert(in.ip);
      } else if (!in.hostname.empty()) {
        ingress.insert(in.hostname);
      }
    }
    std::vector<std::string> all(ingress.begin(), ingress.end());
    all.insert(all.end(), spec.external_ips.begin(), spec.external_ips.end());
    return all.empty() ? "<pending>" : Join(all, ",");
  }
  if (type == "ExternalName") return spec.external_name;
  return "<unknown>";
}

std::string ServicePorts(const std::vector<api::ServicePort>& ports) {
  std::vector<std::string> pieces;
  for (const api::ServicePort& p : ports) {
    std::string s = std::to_string(p.port);
    if (p.node_port > 0) s += ":" + std::to_string(p.node_port);
    pieces.push_back(s + "/" + p.protocol);
  }
  std::string out = Join(pieces, ",");
  return out.empty() ? "<none>" : out;
}

// formatEndpoints with every port: ip:port per (address, port), or bare IPs for subsets without
// ports (headless services), at most three then " + N more...".
std::string FormatEndpoints(const api::Endpoints& ep) {
  if (ep.subsets.empty()) return "<none>";
  std::vector<std::string> list;
  size_t count = 0;
  auto add = [&](std::string s) {
    ++count;
    if (list.size() < kMaxListed) list.push_back(std::move(s));
  };
  for (const api::EndpointSubset& ss : ep.subsets) {
    if (ss.ports.empty()) {
      for (const api::EndpointAddress& a : ss.addresses) add(a.ip);
      continue;
    }
    for (const api::EndpointPort& port : ss.ports) {
      for (const api::EndpointAddress& a : ss.addresses) add(JoinHostPort(a.ip, port.port));
    }
  }
  std::string out = Join(list, ",");
  if (count > list.size()) out += " + " + std::to_string(count - list.size()) + " more...";
  return out;
}

std::string NodeStatus(const api::Node& node) {
  std::vector<std::string> status;
  // Only the Ready condition counts; a later duplicate overrides an earlier one.
  const api::NodeCondition* ready = nullptr;
  for (const api::NodeCondition& c : node.status.conditions) {
    if (c.type == "Ready") ready = &c;
  }
  if (ready) status.push_back(ready->status == "True" ? "Ready" : "NotReady");
  if (status.empty()) status.push_back("Unknown");
  if (node.spec.unschedulable) status.push_back("SchedulingDisabled");
  return Join(status, ",");
}

// node-role.kubernetes.io/<role> labels and the older kubernetes.io/role=<role>, sorted.
std::string NodeRoles(const api::Node& node) {
  constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
  std::set<std::string> roles;
  for (const auto& [k, v] : node.metadata.labels) {
    if (k.starts_with(kRolePrefix)) {
      if (k.size() > kRolePrefix.size()) roles.insert(k.substr(kRolePrefix.size()));
    } else if (k == "kubernetes.io/role" && !v.empty()) {
      roles.insert(v);
    }
  }
  std::string out = Join(std::vector<std::string>(roles.begin(), roles.end()), ",");
  return out.empty() ? "<none>" : out;
}

std::string NodeAddress(const api::Node& node, std::string_view type) {
  for (const api::NodeAddress& a : node.status.addresses) {
    if (a.type == type) return a.address;
  }
  return "<none>";
}

std::string OrUnknown(const std::string& s) { return s.empty() ? "<unknown>" : s; }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string TrimSpace(const std::string& s) {
  const char* ws = " \t\n\r\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

nlohmann::json GenericCells(const api::ObjectMeta& meta, int64_t now_ns) {
  return nlohmann::json::array({meta.name, Since(meta.creation_timestamp, now_ns)});
}

nlohmann::json ServiceCells(const api::Service& svc, int64_t now_ns) {
  const api::ServiceSpec& spec = svc.spec;
  std::string cluster_ip = "<none>";
  if (!spec.cluster_ips.empty()) {
    cluster_ip = spec.cluster_ips.front();
  } else if (!spec.cluster_ip.empty()) {
    cluster_ip = spec.cluster_ip;  // Not yet defaulted into clusterIPs.
  }
  return nlohmann::json::array(
      {svc.metadata.name, spec.type, cluster_ip, ServiceExternalIP(svc), ServicePorts(spec.ports),
       Since(svc.metadata.creation_timestamp, now_ns), FormatLabels(spec.selector)});
}

nlohmann::json EndpointsCells(const api::Endpoints& ep, int64_t now_ns) {
  return nlohmann::json::array(
      {ep.metadata.name, FormatEndpoints(ep), Since(ep.metadata.creation_timestamp, now_ns)});
}

nlohmann::json EndpointSliceCells(const api::EndpointSlice& slice, int64_t now_ns) {
  std::vector<std::string> ports;
  for (const api::EndpointSlicePort& p : slice.ports) {
    if (ports.size() == kMaxListed) break;
    if (p.port) {
      ports.push_back(std::to_string(*p.port));
    } else if (p.name) {
      ports.push_back(*p.name);
    } else {
      ports.push_back("*");
    }
  }
  std::vector<std::string> addresses;
  size_t address_count = 0;
  for (const api::Endpoint& e : slice.endpoints) {
    for (const std::string& a : e.addresses) {
      if (addresses.size() < kMaxListed) addresses.push_back(a);
      ++address_count;
    }
  }
  return nlohmann::json::array(
      {slice.metadata.name, slice.address_type, WithMore(ports, slice.ports.size()),
       WithMore(addresses, address_count), Since(slice.metadata.creation_timestamp, now_ns)});
}

nlohmann::json NodeCells(const api::Node& node, int64_t now_ns) {
  const api::NodeSystemInfo info = node.status.node_info.value_or(api::NodeSystemInfo{});
  return nlohmann::json::array({
      node.metadata.name,
      NodeStatus(node),
      NodeRoles(node),
      Since(node.metadata.creation_timestamp, now_ns),
      info.kubelet_version,
      NodeAddress(node, "InternalIP"),
      NodeAddress(node, "ExternalIP"),
      OrUnknown(info.os_image),
      OrUnknown(info.kernel_version),
      OrUnknown(info.container_runtime_version),
  });
}

nlohmann::json NamespaceCells(const api::Namespace& ns, int64_t now_ns) {
  return nlohmann::json::array(
      {ns.metadata.name, ns.status.phase, Since(ns.metadata.creation_timestamp, now_ns)});
}

nlohmann::json DeploymentCells(const api::Deployment& d, int64_t now_ns) {
  // LabelSelectorAsSelector(...).String(): "" (not "<none>") for an empty selector.
  std::string selector;
  if (d.spec.selector) {
    base::StatusOr<api::Selector> s = api::Selector::FromLabelSelector(*d.spec.selector);
    selector = s.ok() ? s->ToString() : "<invalid>";
  }
  auto [names, images] = ContainerCells(d.spec.template_.spec.containers);
  return nlohmann::json::array({
      d.metadata.name,
      std::to_string(d.status.ready_replicas) + "/" + std::to_string(d.spec.replicas.value_or(0)),
      int64_t{d.status.updated_replicas},
      int64_t{d.status.available_replicas},
      Since(d.metadata.creation_timestamp, now_ns),
      names,
      images,
      selector,
  });
}

nlohmann::json ReplicaSetCells(const api::ReplicaSet& rs, int64_t now_ns) {
  auto [names, images] = ContainerCells(rs.spec.template_.spec.containers);
  return nlohmann::json::array({
      rs.metadata.name,
      int64_t{rs.spec.replicas.value_or(0)},
      int64_t{rs.status.replicas},
      int64_t{rs.status.ready_replicas},
      Since(rs.metadata.creation_timestamp, now_ns),
      names,
      images,
      FormatLabelSelector(rs.spec.selector),
  });
}

nlohmann::json NetworkPolicyCells(const api::NetworkPolicy& np, int64_t now_ns) {
  return nlohmann::json::array({np.metadata.name, FormatLabelSelector(np.spec.pod_selector),
                                Since(np.metadata.creation_timestamp, now_ns)});
}

nlohmann::json LeaseCells(const api::Lease& lease, int64_t now_ns) {
  return nlohmann::json::array({lease.metadata.name, lease.spec.holder_identity.value_or(""),
                                Since(lease.metadata.creation_timestamp, now_ns)});
}

nlohmann::json EventCells(const api::Event& ev, int64_t now_ns) {
  std::string first_seen = ev.first_timestamp.IsZero() ? Since(ev.event_time.time, now_ns)
                                                       : Since(ev.first_timestamp, now_ns);
  std::string last_seen =
      ev.last_timestamp.IsZero() ? first_seen : Since(ev.last_timestamp, now_ns);
  // Singleton events of the events.k8s.io API have no count.
  const int64_t count = ev.count == 0 ? 1 : ev.count;
  const api::ObjectReference& obj = ev.involved_object;
  std::string target = Lower(obj.kind);
  if (!obj.name.empty()) target += "/" + obj.name;
  // formatEventSource: component (or reportingController), then ", host" (or instance).
  const std::string& component =
      ev.source.component.empty() ? ev.reporting_component : ev.source.component;
  const std::string& host = ev.source.host.empty() ? ev.reporting_instance : ev.source.host;
  std::string source = host.empty() ? component : component + ", " + host;
  return nlohmann::json::array({
      last_seen,
      ev.type,
      ev.reason,
      target,
      obj.field_path,
      source,
      TrimSpace(ev.message),
      first_seen,
      count,
      ev.metadata.name,
  });
}

}  // namespace knet::apiserver::table::table_internal
