// File: client/rest_client.h
//
// A thread-safe HTTPS client for knet's API server (and any Kubernetes-compatible one): bearer
// token, certificate verification against the cluster CA (host name or IP checked), a small
// keep-alive connection pool and a per-request timeout. Typed calls on the api kinds; paths come
// from apiserver/resources.h.
//
//   ASSIGN_OR_RETURN(auto c, client::RestClient::FromKubeconfig("/var/lib/knet/admin.kubeconfig"));
//   ASSIGN_OR_RETURN(api::Pod p, c->Get<api::Pod>("default", "web-1"));
//   base::Status s = c->Update(p);
//   if (client::IsConflict(s)) { /* re-read and retry */ }
//
// Errors from the server: the status code follows the HTTP code (404 NotFound, 409 AlreadyExists
// or Aborted for a Conflict, 410 OutOfRange, 422/400 InvalidArgument, 401 Unauthenticated,
// 403 PermissionDenied, 429 ResourceExhausted, 5xx Unavailable, other Unknown) and the message is
// "HTTP <code> <reason>: <server message> (<method> <path>)" (reason: the Status object's
// reason, e.g. "Conflict"; the prefix is never preceded by context).
// HttpCodeOf / ReasonOf read them back; IsNotFound etc. test them. Transport errors carry no
// "HTTP " prefix (Unavailable for connect/TLS/I/O, DeadlineExceeded for a timeout).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/codec.h"
#include "api/meta.h"
#include "base/status.h"

namespace knet::client {

struct ClientConfig {
  std::string server;  // "https://127.0.0.1:6443"
  std::string ca_pem;  // empty: the system roots
  std::string token;   // bearer token; empty: none
  bool insecure_skip_tls_verify = false;
  std::chrono::milliseconds timeout{30000};  // per request (not watches: see WatchOptions)
  size_t max_idle_connections = 4;
};

// The HTTP code of a server error (from the "HTTP <code> " message prefix), or 0.
int HttpCodeOf(const base::Status& s);
// The Status reason of a server error ("NotFound", "Conflict", ...), or "".
std::string ReasonOf(const base::Status& s);
bool IsNotFound(const base::Status& s);       // 404
bool IsAlreadyExists(const base::Status& s);  // 409 AlreadyExists
bool IsConflict(const base::Status& s);       // 409 Conflict (stale resourceVersion)
bool IsGone(const base::Status& s);           // 410 (expired resourceVersion or continue)
bool IsInvalid(const base::Status& s);        // 422

struct ListOptions {
  std::string label_selector;  // "app=web,tier!=db"
  std::string field_selector;  // "spec.nodeName=n1"
  int64_t limit = 0;           // 0: no limit
  std::string continue_token;
  std::string resource_version;  // "" (most recent), "0", or a revision
};

struct DeleteOptions {
  std::string propagation_policy;  // "", "Orphan", "Background", "Foreground"
  std::optional<int64_t> grace_period_seconds;
  std::string precondition_resource_version;  // "": none
};

enum class PatchType { kMerge, kStrategicMerge, kJson };

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // "": the current state first (ADDED per object), then changes
  bool allow_bookmarks = false;
  int64_t timeout_seconds = 0;  // asks the server to end the stream; 0: server default
  // Client-side limit on the whole stream; zero: none.
  std::chrono::milliseconds max_duration{0};
};

// One raw watch event: type is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR. For ERROR, object is
// a Status document (status_error holds it as a base::Status, e.g. IsGone for 410).
struct RawWatchEvent {
  std::string type;
  nlohmann::json object;
  base::Status status_error;
};

// Lets another thread stop a running Watch.
class WatchCanceller {
 public:
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<bool> cancelled_{false};
};

// The resource path pieces for a kind: "/api/v1" + namespaced + "pods".
struct ResourcePath {
  std::string prefix;    // "/api/v1", "/apis/apps/v1"
  std::string resource;  // "pods"
  bool namespaced = true;
};
// InvalidArgument if apiVersion/kind is not served.
base::StatusOr<ResourcePath> PathForKind(std::string_view api_version, std::string_view kind);

template <class T>
struct ObjectList {
  std::vector<T> items;
  std::string resource_version;
  std::string continue_token;
};

template <class T>
struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK
  T object;          // for BOOKMARK only metadata.resourceVersion is set
};

class RestClient {
 public:
  static base::StatusOr<std::unique_ptr<RestClient>> Create(ClientConfig config);
  // The context `context` (current-context if empty) of a kubeconfig file.
  static base::StatusOr<std::unique_ptr<RestClient>> FromKubeconfig(const std::string& path,
                                                                    std::string_view context = "");
  ~RestClient();

  struct Response {
    int status = 0;
    std::string body;
  };
  // One request; `path` includes the query. Non-2xx is returned as a Response, not an error;
  // transport failures are errors. A request on a reused keep-alive connection that fails before
  // any response byte is retried once on a fresh connection.
  base::StatusOr<Response> Do(std::string_view method, std::string_view path,
                              std::string_view body = "",
                              std::string_view content_type = "application/json");
  // Do() plus the error mapping described at the top: the body of a 2xx, or the error.
  base::StatusOr<std::string> Call(std::string_view method, std::string_view path,
                                   std::string_view body = "",
                                   std::string_view content_type = "application/json");

  // Untyped, JSON-level calls (the typed ones below are thin wrappers).
  base::StatusOr<nlohmann::json> GetJson(const ResourcePath& r, std::string_view ns,
                                         std::string_view name);
  base::StatusOr<nlohmann::json> ListJson(const ResourcePath& r, std::string_view ns,
                                          const ListOptions& opts);
  base::StatusOr<nlohmann::json> CreateJson(const ResourcePath& r, std::string_view ns,
                                            std::string_view body);
  base::StatusOr<nlohmann::json> UpdateJson(const ResourcePath& r, std::string_view ns,
                                            std::string_view name, std::string_view body,
                                            std::string_view subresource = "");
  base::StatusOr<nlohmann::json> PatchJson(const ResourcePath& r, std::string_view ns,
                                           std::string_view name, PatchType type,
                                           std::string_view patch,
                                           std::string_view subresource = "");
  base::Status DeleteJson(const ResourcePath& r, std::string_view ns, std::string_view name,
                          const DeleteOptions& opts);
  // Streams events to `on_event` until it returns false (OK), the server ends the stream (OK),
  // max_duration passes (OK), `cancel` is cancelled (Cancelled) or an error (a non-2xx reply or
  // an I/O error). An ERROR event is delivered to on_event like the others.
  base::Status WatchJson(const ResourcePath& r, std::string_view ns, const WatchOptions& opts,
                         const std::function<bool(const RawWatchEvent&)>& on_event,
                         const WatchCanceller* cancel = nullptr);

  template <class T>
  base::StatusOr<T> Get(std::string_view ns, std::string_view name);
  template <class T>
  base::StatusOr<ObjectList<T>> List(std::string_view ns, const ListOptions& opts = {});
  template <class T>
  base::StatusOr<T> Create(const T& obj);  // namespace from obj.metadata
  template <class T>
  base::StatusOr<T> Update(const T& obj);
  template <class T>
  base::StatusOr<T> UpdateStatus(const T& obj);
  template <class T>
  base::StatusOr<T> Patch(std::string_view ns, std::string_view name, PatchType type,
                          std::string_view patch);
  template <class T>
  base::Status Delete(std::string_view ns, std::string_view name, const DeleteOptions& opts = {});
  // Typed watch. An ERROR event ends the watch with its status (e.g. IsGone).
  template <class T>
  base::Status Watch(std::string_view ns, const WatchOptions& opts,
                     const std::function<bool(const WatchEvent<T>&)>& on_event,
                     const WatchCanceller* cancel = nullptr);

  const ClientConfig& config() const { return config_; }

  struct Impl;  // internal

 private:
  RestClient(ClientConfig config, std::unique_ptr<Impl> impl);
  template <class T>
  static base::StatusOr<ResourcePath> PathOf() {
    return PathForKind(T::kApiVersion, T::kKind);
  }
  template <class T>
  static base::StatusOr<T> Decode(base::StatusOr<nlohmann::json> doc) {
    if (!doc.ok()) return doc.status();
    return api::DecodeJson<T>(*doc);
  }

  ClientConfig config_;
  std::unique_ptr<Impl> impl_;
};

template <class T>
base::StatusOr<T> RestClient::Get(std::string_view ns, std::string_view name) {
  ASSIGN_OR_RETURN(ResourcePath r, PathOf<T>());
  return Decode<T>(GetJson(r, ns, name));
}

template <class T>
base::StatusOr<ObjectList<T>> RestClient::List(std::string_view ns, const ListOptions& opts) {
  ASSIGN_OR_RETURN(ResourcePath r, PathOf<T>());
  ASSIGN_OR_RETURN(nlohmann::json doc, ListJson(r, ns, opts));
  ObjectList<T> out;
  if (auto m = doc.find("metadata"); m != doc.end() && m->is_object()) {
    out.resource_version = m->value("resourceVersion", "");
    out.continue_token = m->value("continue", "");
  }
  if (auto items = doc.find("items"); items != doc.end() && items->is_array()) {
    for (nlohmann::json& item : *items) {
      item["apiVersion"] = T::kApiVersion;
      item["kind"] = T::kKind;
      ASSIGN_OR_RETURN(T obj, api::DecodeJson<T>(item));
      out.items.push_back(std::move(obj));
    }
  }
  return out;
}

template <class T>
base::StatusOr<T> RestClient::Create(const T& obj) {
  ASSIGN_OR_RETURN(ResourcePath r, PathOf<T>());
  return Decode<T>(CreateJson(r, obj.metadata.namespace_, api::EncodeJson(obj)));
}

template <class T>
base::StatusOr<T> RestClient::Update(const T& obj) {
  ASSIGN_OR_RETURN(ResourcePath r, PathOf<T>());
  return Decode<T>(UpdateJson(r, obj.metadata.namespace_, obj.metadata.name, api::EncodeJson(obj)));
}

template <class T>
base::StatusOr<T> RestClient::UpdateStatus(const T& obj) {
  ASSIGN_OR_RETURN(ResourcePath r, PathOf<T>());
  return Decode<T>(
      UpdateJson(r, obj.metadata.namespace_, obj.metadata.name, api::EncodeJson(obj), "status"));
}

template <class T>
base::StatusOr<T> RestClient::Patch(std::string_view ns, std::string_view name, PatchType type,
                                    std::string_view patch) {
  ASSIGN_OR_RETURN(ResourcePath r, PathOf<T>());
  return Decode<T>(PatchJson(r, ns, name, type, patch));
}

template <class T>
base::Status RestClient::Delete(std::string_view ns, std::string_view name,
                                const DeleteOptions& opts) {
  ASSIGN_OR_RETURN(ResourcePath r, PathOf<T>());
  return DeleteJson(r, ns, name, opts);
}

template <class T>
base::Status RestClient::Watch(std::string_view ns, const WatchOptions& opts,
                               const std::function<bool(const WatchEvent<T>&)>& on_event,
                               const WatchCanceller* cancel) {
  ASSIGN_OR_RETURN(ResourcePath r, PathOf<T>());
  base::Status failure;
  base::Status s = WatchJson(
      r, ns, opts,
      [&](const RawWatchEvent& raw) {
        if (raw.type == "ERROR") {
          failure = raw.status_error;
          return false;
        }
        WatchEvent<T> ev;
        ev.type = raw.type;
        if (raw.type == "BOOKMARK") {
          if (raw.object.contains("metadata") && raw.object["metadata"].is_object()) {
            ev.object.metadata.resource_version =
                raw.object["metadata"].value("resourceVersion", "");
          }
          return on_event(ev);
        }
        base::StatusOr<T> obj = api::DecodeJson<T>(raw.object);
        if (!obj.ok()) {
          failure = obj.status().WithContext("decoding a watch event");
          return false;
        }
        ev.object = std::move(*obj);
        return on_event(ev);
      },
      cancel);
  if (!failure.ok()) return failure;
  return s;
}

}  // namespace knet::client
