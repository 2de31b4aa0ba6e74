// File: apiserver/rest.h
//
// The REST layer of `knet server`: turns HTTP requests into Registry and WatchCache calls the way
// kube-apiserver does, so kubectl and client-go work unchanged. It owns routing
// (/api/v1/namespaces/NS/pods/NAME/status ...), authentication and authorization, content
// negotiation (JSON, YAML and protobuf bodies in; JSON, Table and watch streams out),
// fieldValidation, list pagination, watch, patch, and the status/scale/binding subresources.
//
//   RestHandler rest(&registry, &cache, store, &tokens, options);
//   ASSIGN_OR_RETURN(auto server, http::Server::Start(opts, [&](auto& req, auto& ex) {
//     rest.Handle(req, ex);
//   }));
//
// Thread-safe: Handle may run on many threads at once.
#pragma once

#include <string>
#include <vector>

#include "apiserver/auth/tokens.h"
#include "apiserver/http/server.h"
#include "apiserver/registry.h"
#include "apiserver/watch_cache.h"

namespace knet::apiserver {

class PodProxy;

struct RestOptions {
  std::string knet_version;
};

// What a request asks for, parsed from its method and path.
struct RequestInfo {
  bool is_resource = false;
  const ResourceInfo* resource = nullptr;
  std::string namespace_;
  std::string name;
  std::string subresource;
  std::string verb;  // get list watch create update patch delete deletecollection
};

// Parses a resource path; non-resource paths give is_resource = false. 404 for a resource path
// naming something not served.
Result<RequestInfo> ParseRequestInfo(std::string_view method, std::string_view path, bool watch);

class RestHandler {
 public:
  RestHandler(Registry* registry, WatchCache* cache, store::Store* store,
              const auth::TokenAuthenticator* tokens, RestOptions options);

  void Handle(const http::Request& req, http::Exchange& ex);

  // Serves pods/log, pods/exec and pods/attach through `proxy` (unset: they are 404).
  void SetPodProxy(PodProxy* proxy) { pod_proxy_ = proxy; }

 private:
  // Each returns the response, or starts a stream and returns nullopt.
  http::Response Discovery(const http::Request& req);
  void Resource(const http::Request& req, const RequestInfo& info, http::Exchange& ex);
  http::Response Get(const http::Request& req, const RequestInfo& info);
  http::Response List(const http::Request& req, const RequestInfo& info);
  void Watch(const http::Request& req, const RequestInfo& info, http::Exchange& ex);
  http::Response Create(const http::Request& req, const RequestInfo& info);
  http::Response Update(const http::Request& req, const RequestInfo& info);
  http::Response Patch(const http::Request& req, const RequestInfo& info);
  http::Response Delete(const http::Request& req, const RequestInfo& info);
  http::Response DeleteCollection(const http::Request& req, const RequestInfo& info);
  http::Response Scale(const http::Request& req, const RequestInfo& info);
  http::Response Binding(const http::Request& req, const RequestInfo& info);

  Registry* registry_;
  WatchCache* cache_;
  store::Store* store_;
  const auth::TokenAuthenticator* tokens_;
  RestOptions options_;
  PodProxy* pod_proxy_ = nullptr;
};

}  // namespace knet::apiserver
