#include "apiserver/openapi/openapi.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <utility>

#include "api/object.h"
#include "apiserver/openapi/discovery.h"
#include "apiserver/openapi/internal/extra_types.h"
#include "apiserver/openapi/internal/paths.h"
#include "apiserver/openapi/internal/schema.h"
#include "apiserver/resources.h"

namespace knet::apiserver::openapi {

namespace {

using internal::Json;
using internal::SchemaBuilder;

// A kind the documents can describe: its apiVersion and kind, and how to register its schema.
struct KindEntry {
  std::string_view api_version;
  std::string_view kind;
  std::string (*add)(SchemaBuilder&);
};

template <class T>
std::string Add(SchemaBuilder& b) {
  return b.Kind<T>();
}

template <class T>
KindEntry Entry() {
  return {T::kApiVersion, T::kKind, &Add<T>};
}

template <class T>
void AddWithList(std::vector<KindEntry>& out) {
  out.push_back(Entry<T>());
  out.push_back(Entry<api::List<T>>());
}

const std::vector<KindEntry>& Kinds() {
  static const std::vector<KindEntry> kinds = [] {
    std::vector<KindEntry> k;
    AddWithList<api::Namespace>(k);
    AddWithList<api::Node>(k);
    AddWithList<api::Pod>(k);
    AddWithList<api::Service>(k);
    AddWithList<api::Endpoints>(k);
    AddWithList<api::Event>(k);
    AddWithList<api::Deployment>(k);
    AddWithList<api::ReplicaSet>(k);
    AddWithList<api::Lease>(k);
    AddWithList<api::EndpointSlice>(k);
    AddWithList<api::NetworkPolicy>(k);
    k.push_back(Entry<internal::Binding>());
    k.push_back(Entry<internal::Scale>());
    return k;
  }();
  return kinds;
}

const KindEntry* FindKind(std::string_view api_version, std::string_view kind) {
  for (const KindEntry& e : Kinds()) {
    if (e.api_version == api_version && e.kind == kind) return &e;
  }
  return nullptr;
}

// What `kubectl explain <kind>` prints above the fields (paraphrasing upstream's type comments).
std::string_view KindDescription(std::string_view kind) {
  static const std::map<std::string_view, std::string_view> descriptions = {
      {"Namespace", "Namespace provides a scope for names. Deleting it deletes what it holds."},
      {"Node", "Node is a worker machine, or in knet a network namespace, that runs pods."},
      {"Pod", "Pod is a collection of containers that share a network namespace and IP."},
      {"Service",
       "Service is a named abstraction of software service: a virtual IP and ports that "
       "load-balance to the ready pods its selector matches."},
      {"Endpoints", "Endpoints is the legacy list of the addresses that implement a Service."},
      {"Event", "Event is a report of an event somewhere in the cluster."},
      {"Binding", "Binding ties one object to another; for example, a pod is bound to a node."},
      {"Deployment", "Deployment enables declarative updates for Pods and ReplicaSets."},
      {"ReplicaSet", "ReplicaSet ensures that a specified number of pod replicas are running."},
      {"Scale", "Scale represents a scaling request for a resource."},
      {"Lease", "Lease defines a lease concept: leader election and node heartbeats."},
      {"EndpointSlice",
       "EndpointSlice represents a subset of the endpoints that implement a Service."},
      {"NetworkPolicy", "NetworkPolicy describes what network traffic is allowed for pods."},
  };
  auto it = descriptions.find(kind);
  return it == descriptions.end() ? std::string_view() : it->second;
}

std::string ApiVersionOf(const std::string& group, const std::string& version) {
  return group.empty() ? version : group + "/" + version;
}

std::string BuildDocument(const GroupVersion& gv) {
  Json schemas = Json::object();
  SchemaBuilder b(schemas);
  std::map<std::string, std::string> names;  // "apps/v1|Deployment" -> component name
  auto add = [&](const std::string& api_version, const std::string& kind) {
    std::string key = api_version + "|" + kind;
    if (names.count(key)) return;
    const KindEntry* e = FindKind(api_version, kind);
    if (e == nullptr) return;
    names[key] = e->add(b);
    Json& schema = schemas[names[key]];
    if (std::string_view d = KindDescription(kind); !d.empty()) {
      schema["description"] = std::string(d);
    } else if (kind.size() > 4 && kind.ends_with("List")) {
      schema["description"] = kind + " is a list of " + kind.substr(0, kind.size() - 4) + ".";
    }
  };
  for (const ResourceInfo& r : Resources()) {
    if (r.group != gv.group || r.version != gv.version) continue;
    add(r.ApiVersion(), r.kind);
    add(r.ApiVersion(), r.list_kind);
    for (const SubresourceInfo& s : r.subresources) add(ApiVersionOf(s.group, s.version), s.kind);
  }
  // What every document's operations refer to.
  b.Kind<api::Status>();
  b.Kind<internal::DeleteOptions>();
  b.Kind<api::WatchEvent>();
  schemas[std::string(internal::kPatchSchema)] =
      Json{{"type", "object"},
           {"description",
            "Patch is provided to give a concrete name and type to the Kubernetes PATCH request "
            "body."}};

  internal::SchemaNameFn schema_name = [&](std::string_view api_version, std::string_view kind) {
    auto it = names.find(std::string(api_version) + "|" + std::string(kind));
    return it == names.end() ? std::string() : it->second;
  };
  Json doc;
  doc["openapi"] = "3.0.0";
  doc["info"] = Json{{"title", "Kubernetes"}, {"version", std::string(kKubernetesVersion)}};
  doc["paths"] = internal::PathsFor(gv.group, gv.version, schema_name);
  doc["components"] =
      Json{{"schemas", std::move(schemas)},
           {"securitySchemes",
            Json{{"BearerToken", Json{{"type", "apiKey"},
                                      {"name", "authorization"},
                                      {"in", "header"},
                                      {"description", "Bearer Token authentication"}}}}}};
  doc["security"] = Json::array({Json{{"BearerToken", Json::array()}}});
  return doc.dump();
}

// 128 bits of two FNV-1a variants, upper-case hex: stable across runs and builds, changes with
// any byte of the document.
std::string ContentHash(std::string_view data) {
  uint64_t a = 0xcbf29ce484222325ULL;
  uint64_t b = 0x84222325cbf29ce4ULL;
  for (char ch : data) {
    auto c = static_cast<unsigned char>(ch);
    a = (a ^ c) * 0x100000001b3ULL;
    b = (b ^ static_cast<unsigned char>(c + 0x5bu)) * 0x100000001b3ULL;
  }
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llX%016llX", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

struct Document {
  std::string path;  // "api/v1"
  std::string body;
  std::string hash;
};

const std::vector<Document>& Documents() {
  static const std::vector<Document> docs = [] {
    std::vector<Document> out;
    for (const GroupVersion& gv : GroupVersions()) {
      Document d;
      d.path = gv.group.empty() ? "api/" + gv.version : "apis/" + gv.group + "/" + gv.version;
      d.body = BuildDocument(gv);
      d.hash = ContentHash(d.body);
      out.push_back(std::move(d));
    }
    return out;
  }();
  return docs;
}

base::StatusOr<const Document*> Find(std::string_view gv_path) {
  while (!gv_path.empty() && gv_path.front() == '/') gv_path.remove_prefix(1);
  for (const Document& d : Documents()) {
    if (d.path == gv_path) return &d;
  }
  return base::NotFoundError("no OpenAPI v3 document for \"" + std::string(gv_path) +
                             "\": the server serves no such group-version (see /openapi/v3)");
}

}  // namespace

std::string OpenApiV3IndexJson() {
  static const std::string index = [] {
    Json paths = Json::object();
    for (const Document& d : Documents()) {
      paths[d.path] = Json{{"serverRelativeURL", "/openapi/v3/" + d.path + "?hash=" + d.hash}};
    }
    return Json{{"paths", std::move(paths)}}.dump();
  }();
  return index;
}

base::StatusOr<std::string> OpenApiV3DocumentJson(std::string_view gv_path) {
  ASSIGN_OR_RETURN(const Document* d, Find(gv_path));
  return d->body;
}

base::StatusOr<std::string> OpenApiV3DocumentHash(std::string_view gv_path) {
  ASSIGN_OR_RETURN(const Document* d, Find(gv_path));
  return d->hash;
}

std::vector<std::string> OpenApiV3Paths() {
  std::vector<std::string> out;
  for (const Document& d : Documents()) out.push_back(d.path);
  return out;
}

}  // namespace knet::apiserver::openapi
