#include "apiserver/rest.h"

#include <iostream>
#include <random>

#include "api/codec.h"
#include "apiserver/body.h"
#include "apiserver/http/target.h"
#include "apiserver/openapi/discovery.h"
#include "apiserver/openapi/openapi.h"
#include "apiserver/pod_proxy.h"
#include "apiserver/table/table.h"

namespace knet::apiserver {

namespace {

// Go's strconv.ParseBool spellings, as upstream reads boolean query parameters: the Python client
// sends watch=True.
bool IsTrue(const std::optional<std::string>& v) {
  return v && (*v == "true" || *v == "1" || *v == "t" || *v == "T" || *v == "TRUE" || *v == "True");
}

http::Response TextResponse(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

std::string_view VerbOfMethod(std::string_view method) {
  if (method == "GET" || method == "HEAD") return "get";
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return "delete";
  return "";
}

}  // namespace

Result<RequestInfo> ParseRequestInfo(std::string_view method, std::string_view path, bool watch) {
  RequestInfo info;
  std::vector<std::string_view> parts = http::PathSegments(path);
  std::string group;
  std::string version;
  size_t i = 0;
  if (parts.size() >= 3 && parts[0] == "api") {
    version = std::string(parts[1]);
    i = 2;
  } else if (parts.size() >= 4 && parts[0] == "apis") {
    group = std::string(parts[1]);
    version = std::string(parts[2]);
    i = 3;
  } else {
    return info;  // not a resource path
  }
  std::vector<std::string_view> rest(parts.begin() + static_cast<long>(i), parts.end());
  // namespaces/NS/<resource>/... ; a namespace's own subresources (namespaces/NS/status) are not.
  if (rest.size() >= 3 && rest[0] == "namespaces" && rest[2] != "status" && rest[2] != "finalize") {
    info.namespace_ = std::string(rest[1]);
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return NotFoundPath(path);
  info.resource = FindResource(group, version, rest[0]);
  if (info.resource == nullptr) return NotFoundPath(path);
  if (!info.resource->namespaced && !info.namespace_.empty()) return NotFoundPath(path);
  if (rest.size() >= 2) info.name = std::string(rest[1]);
  if (rest.size() == 3) {
    info.subresource = std::string(rest[2]);
    if (!info.resource->HasSubresource(info.subresource)) return NotFoundPath(path);
  }
  info.is_resource = true;
  std::string_view verb = VerbOfMethod(method);
  if (verb.empty())
    return MethodNotSupported("method " + std::string(method) + " is not supported");
  info.verb = std::string(verb);
  if (info.name.empty()) {
    if (verb == "get")
      info.verb = watch ? "watch" : "list";
    else if (verb == "delete")
      info.verb = "deletecollection";
    else if (verb != "create") {
      return MethodNotSupported(std::string(method) + " is not supported on a collection");
    }
  } else if (verb == "create" && info.subresource != "binding") {
    return MethodNotSupported("POST is not supported on " + info.resource->resource + "/" +
                              info.name + " (create objects by POSTing to the collection)");
  } else if (info.subresource == "binding" && verb != "create") {
    return MethodNotSupported("pods/binding supports only POST");
  } else if (verb == "get" && watch) {
    info.verb = "watch";  // watch of one object by name
  }
  if (!info.resource->HasVerb(info.verb) && info.subresource.empty()) {
    return MethodNotSupported(info.verb + " is not supported on " + info.resource->resource);
  }
  return info;
}

RestHandler::RestHandler(Registry* registry, WatchCache* cache, store::Store* store,
                         const auth::TokenAuthenticator* tokens, RestOptions options)
    : registry_(registry),
      cache_(cache),
      store_(store),
      tokens_(tokens),
      options_(std::move(options)) {}

void RestHandler::Handle(const http::Request& req, http::Exchange& ex) {
  const std::string& path = req.path;
  if (path == "/healthz" || path == "/livez" || path == "/readyz") {
    return ex.Respond(TextResponse(200, "ok"));
  }
  if (path == "/version") {
    return ex.Respond(JsonResponse(200, openapi::VersionJson(options_.knet_version)));
  }
  std::optional<auth::UserInfo> user = tokens_->Authenticate(req.Header("authorization"));
  if (!user) return ex.Respond(ErrorResponse(Unauthorized()));
  if (pod_proxy_ != nullptr) {
    if (std::optional<PodSubresource> sub = ParsePodSubresource(req.method, path)) {
      if (!sub->verb.empty() && !auth::Authorize(*user, sub->verb)) {
        return ex.Respond(
            ErrorResponse(Forbidden(FindResource("", "v1", "pods"), sub->name,
                                    "User \"" + user->name + "\" cannot " + sub->verb + " pods/" +
                                        sub->subresource + ": access denied")));
      }
      return pod_proxy_->Handle(req, *sub, ex);
    }
  }
  bool watch = IsTrue(req.QueryParam("watch"));
  Result<RequestInfo> info = ParseRequestInfo(req.method, path, watch);
  if (!info.ok()) return ex.Respond(ErrorResponse(info.error()));
  std::string verb = info->is_resource ? info->verb : std::string(VerbOfMethod(req.method));
  if (!auth::Authorize(*user, verb)) {
    std::string what = info->is_resource ? info->resource->resource : path;
    return ex.Respond(ErrorResponse(
        Forbidden(info->resource, info->name,
                  "User \"" + user->name + "\" cannot " + verb + " " + what + ": access denied")));
  }
  if (!info->is_resource) return ex.Respond(Discovery(req));
  try {
    Resource(req, *info, ex);
  } catch (const std::exception& e) {
    // A bug, not a client error: answer 500 and keep serving.
    std::cerr << "apiserver: " << req.method << " " << req.target << ": " << e.what() << "\n";
    ex.Respond(ErrorResponse(InternalError(e.what())));
  }
}

http::Response RestHandler::Discovery(const http::Request& req) {
  const std::string& path = req.path;
  if (req.method != "GET" && req.method != "HEAD") {
    return ErrorResponse(MethodNotSupported("only GET is supported on " + path));
  }
  if (path == "/api" || path == "/apis") {
    openapi::DiscoveryForm form = openapi::NegotiateDiscovery(req.Header("accept"));
    bool legacy_core = path == "/api";
    if (form == openapi::DiscoveryForm::kLegacy) {
      return JsonResponse(200, legacy_core ? openapi::ApiVersionsJson(req.Header("host"))
                                           : openapi::ApiGroupListJson());
    }
    http::Response r = JsonResponse(200, openapi::AggregatedDiscoveryJson(legacy_core, form));
    r.headers[0].second = std::string(openapi::DiscoveryContentType(form));
    r.headers.emplace_back("Vary", "Accept");
    return r;
  }
  if (path == "/openapi/v3") return JsonResponse(200, openapi::OpenApiV3IndexJson());
  if (path.rfind("/openapi/v3/", 0) == 0) {
    auto doc = openapi::OpenApiV3DocumentJson(std::string_view(path).substr(12));
    if (!doc.ok()) return ErrorResponse(NotFoundPath(path));
    http::Response r = JsonResponse(200, std::move(*doc));
    r.headers.emplace_back("Cache-Control", "public, immutable");
    return r;
  }
  std::vector<std::string_view> parts = http::PathSegments(path);
  if (parts.size() == 2 && parts[0] == "api") {
    auto list = openapi::ApiResourceListJson("", parts[1]);
    if (list.ok()) return JsonResponse(200, std::move(*list));
  } else if (parts.size() == 3 && parts[0] == "apis") {
    auto list = openapi::ApiResourceListJson(parts[1], parts[2]);
    if (list.ok()) return JsonResponse(200, std::move(*list));
  } else if (parts.size() == 2 && parts[0] == "apis") {
    // /apis/<group>: the group's APIGroup, from the group list.
    nlohmann::json groups = nlohmann::json::parse(openapi::ApiGroupListJson());
    for (nlohmann::json& g : groups["groups"]) {
      if (g["name"] == parts[1]) {
        g["kind"] = "APIGroup";
        g["apiVersion"] = "v1";
        return JsonResponse(200, g.dump());
      }
    }
  }
  return ErrorResponse(NotFoundPath(path));
}

void RestHandler::Resource(const http::Request& req, const RequestInfo& info, http::Exchange& ex) {
  const std::string& verb = info.verb;
  if (!AcceptsJson(req.Header("accept"))) {
    return ex.Respond(ErrorResponse(
        NotAcceptable("only the following media types are accepted: application/json, "
                      "application/json;as=Table;v=v1;g=meta.k8s.io (got \"" +
                      std::string(req.Header("accept")) + "\")")));
  }
  if (info.subresource == "scale") return ex.Respond(Scale(req, info));
  if (info.subresource == "binding") return ex.Respond(Binding(req, info));
  if (verb == "watch") return Watch(req, info, ex);
  if (verb == "get") return ex.Respond(Get(req, info));
  if (verb == "list") return ex.Respond(List(req, info));
  if (verb == "create") return ex.Respond(Create(req, info));
  if (verb == "update") return ex.Respond(Update(req, info));
  if (verb == "patch") return ex.Respond(Patch(req, info));
  if (verb == "delete") return ex.Respond(Delete(req, info));
  if (verb == "deletecollection") return ex.Respond(DeleteCollection(req, info));
  ex.Respond(ErrorResponse(MethodNotSupported("verb " + verb + " is not supported")));
}

}  // namespace knet::apiserver
