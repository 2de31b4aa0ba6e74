#include "apiserver/bootstrap.h"

namespace knet::apiserver {

namespace {

base::Status AsStatus(const ApiError& e, std::string_view what) {
  return base::InternalError("creating " + std::string(what) + ": " + e.message);
}

// Creates obj unless it exists; with `replace`, an existing object gets obj's content.
base::Status Ensure(Registry& reg, const char* resource, const char* group, api::Object obj,
                    bool replace) {
  const ResourceInfo& r = *FindResource(group, "v1", resource);
  const api::ObjectMeta& m = api::MetaOf(obj);
  std::string ns = m.namespace_;
  std::string name = m.name;
  Result<Stored> got = reg.Get(r, ns, name);
  if (got.ok()) {
    if (!replace) return base::OkStatus();
    auto out = reg.GuaranteedUpdate(r, ns, name,
                                    [&](api::Object& cur) -> std::optional<ApiError> {
                                      api::ObjectMeta keep = api::MetaOf(cur);
                                      cur = obj;
                                      api::MetaOf(cur) = keep;
                                      api::MetaOf(cur).resource_version.clear();
                                      return std::nullopt;
                                    },
                                    {});
    if (!out.ok()) return AsStatus(out.error(), r.resource + "/" + name);
    return base::OkStatus();
  }
  if (got.error().code != 404) return AsStatus(got.error(), r.resource + "/" + name);
  Result<Stored> made = reg.Create(r, ns, std::move(obj), {});
  if (!made.ok() && made.error().code != 409)
    return AsStatus(made.error(), r.resource + "/" + name);
  return base::OkStatus();
}

}  // namespace

base::Status Bootstrap(Registry& registry, const BootstrapConfig& config) {
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    api::Namespace ns;
    ns.metadata.name = name;
    ns.metadata.labels["kubernetes.io/metadata.name"] = name;
    RETURN_IF_ERROR(Ensure(registry, "namespaces", "", ns, false));
  }
  const std::string ip = config.advertise_ip.ToString();
  const std::map<std::string, std::string> labels = {{"component", "apiserver"},
                                                     {"provider", "kubernetes"}};
  api::Service svc;
  svc.metadata.name = "kubernetes";
  svc.metadata.namespace_ = "default";
  svc.metadata.labels = labels;
  svc.spec.type = "ClusterIP";
  svc.spec.cluster_ip = config.kubernetes_service_ip.ToString();
  api::ServicePort sp;
  sp.name = "https";
  sp.protocol = "TCP";
  sp.port = 443;
  sp.target_port = api::IntOrString::FromInt(config.port);
  svc.spec.ports.push_back(sp);
  RETURN_IF_ERROR(Ensure(registry, "services", "", svc, false));

  // Endpoints may not point at loopback (upstream validation refuses it, and no pod could reach
  // it): a server that only listens on loopback has a `kubernetes` Service without endpoints.
  if (config.advertise_ip.IsLoopback() || config.advertise_ip.IsUnspecified()) {
    return base::OkStatus();
  }
  api::Endpoints ep;
  ep.metadata.name = "kubernetes";
  ep.metadata.namespace_ = "default";
  ep.metadata.labels["endpointslice.kubernetes.io/skip-mirror"] = "true";
  api::EndpointSubset subset;
  api::EndpointAddress addr;
  addr.ip = ip;
  subset.addresses.push_back(addr);
  api::EndpointPort port;
  port.name = "https";
  port.port = config.port;
  port.protocol = "TCP";
  subset.ports.push_back(port);
  ep.subsets.push_back(subset);
  RETURN_IF_ERROR(Ensure(registry, "endpoints", "", ep, true));

  api::EndpointSlice slice;
  slice.metadata.name = "kubernetes";
  slice.metadata.namespace_ = "default";
  slice.metadata.labels["kubernetes.io/service-name"] = "kubernetes";
  slice.address_type = config.advertise_ip.is_v4() ? "IPv4" : "IPv6";
  api::Endpoint e;
  e.addresses.push_back(ip);
  e.conditions.ready = true;
  slice.endpoints.push_back(e);
  api::EndpointSlicePort esp;
  esp.name = "https";
  esp.protocol = "TCP";
  esp.port = config.port;
  slice.ports.push_back(esp);
  return Ensure(registry, "endpointslices", "discovery.k8s.io", slice, true);
}

}  // namespace knet::apiserver
