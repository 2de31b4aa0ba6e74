// The write side of the REST layer: create, update, patch, delete, deletecollection, and the
// scale and binding subresources.
#include <variant>

#include "api/codec.h"
#include "api/json.h"
#include "apiserver/body.h"
#include "apiserver/patch/patch.h"
#include "apiserver/rest.h"

namespace knet::apiserver {

namespace {

WriteOptions WriteOptionsOf(const http::Request& req, const RequestInfo& info) {
  WriteOptions o;
  o.dry_run = req.QueryParam("dryRun").value_or("") == "All";
  o.subresource = info.subresource;
  return o;
}

// Applies a PATCH body of the request's Content-Type to `doc`.
Result<nlohmann::json> ApplyPatch(const http::Request& req, const nlohmann::json& doc,
                                  std::string_view kind) {
  std::string_view type = req.Header("content-type");
  type = type.substr(0, type.find(';'));
  auto patch = api::ParseJson(req.body);
  if (!patch.ok()) return BadRequest("invalid patch: " + std::string(patch.status().message()));
  base::StatusOr<nlohmann::json> out = base::InvalidArgumentError("");
  if (type == "application/json-patch+json") {
    out = patch::ApplyJsonPatch(doc, *patch);
  } else if (type == "application/merge-patch+json") {
    out = patch::ApplyMergePatch(doc, *patch);
  } else if (type == "application/strategic-merge-patch+json") {
    out = patch::ApplyStrategicMergePatch(doc, *patch, kind);
  } else {
    return UnsupportedMediaType(type);
  }
  if (!out.ok()) {
    // A patch that cannot be applied is 422 (upstream); one too large to apply is 413.
    ApiError e = BadRequest(std::string(out.status().message()));
    if (out.status().code() == base::StatusCode::kResourceExhausted) {
      e.code = 413;
      e.reason = "RequestEntityTooLarge";
    } else {
      e.code = 422;
      e.reason = "Invalid";
    }
    return e;
  }
  return std::move(*out);
}

DeleteOptions DeleteOptionsOf(const http::Request& req, std::optional<ApiError>* error) {
  DeleteOptions o;
  if (!req.body.empty()) {
    auto doc = api::ParseJson(req.body);
    if (!doc.ok() || !doc->is_object()) {
      *error = BadRequest("invalid DeleteOptions body: " +
                          (doc.ok() ? "not a JSON object" : std::string(doc.status().message())));
      return o;
    }
    const nlohmann::json& d = *doc;
    try {
      if (d.contains("gracePeriodSeconds") && !d["gracePeriodSeconds"].is_null()) {
        o.grace_period_seconds = d["gracePeriodSeconds"].get<int64_t>();
      }
      if (d.contains("propagationPolicy") && d["propagationPolicy"].is_string()) {
        o.propagation_policy = d["propagationPolicy"].get<std::string>();
      }
      if (d.contains("orphanDependents") && d["orphanDependents"].is_boolean()) {
        o.orphan_dependents = d["orphanDependents"].get<bool>();
      }
      if (d.contains("preconditions") && d["preconditions"].is_object()) {
        const nlohmann::json& p = d["preconditions"];
        if (p.contains("uid") && p["uid"].is_string()) o.precondition_uid = p["uid"];
        if (p.contains("resourceVersion") && p["resourceVersion"].is_string()) {
          o.precondition_resource_version = p["resourceVersion"];
        }
      }
      if (d.contains("dryRun") && d["dryRun"].is_array()) {
        for (const auto& v : d["dryRun"]) o.dry_run |= v == "All";
      }
    } catch (const nlohmann::json::exception& e) {
      *error = BadRequest(std::string("invalid DeleteOptions body: ") + e.what());
      return o;
    }
  }
  if (auto g = req.QueryParam("gracePeriodSeconds"); g && !g->empty()) {
    try {
      o.grace_period_seconds = std::stoll(*g);
    } catch (const std::exception&) {
      *error = BadRequest("invalid gracePeriodSeconds \"" + *g + "\"");
    }
  }
  if (auto p = req.QueryParam("propagationPolicy"); p && !p->empty()) o.propagation_policy = *p;
  if (req.QueryParam("dryRun").value_or("") == "All") o.dry_run = true;
  const std::string& pp = o.propagation_policy;
  if (!pp.empty() && pp != "Orphan" && pp != "Background" && pp != "Foreground") {
    *error = BadRequest("propagationPolicy must be Orphan, Background or Foreground, got \"" + pp +
                        "\"");
  }
  return o;
}

http::Response DeleteResponse(const ResourceInfo& r, const DeleteOutcome& out,
                              const DeleteOptions& opts) {
  if (out.remaining) {
    // Not gone yet (grace period, finalizers): the object, with its deletionTimestamp.
    int code = opts.propagation_policy == "Foreground" ? 202 : 200;
    return JsonResponse(code, api::EncodeObject(out.remaining->object));
  }
  // Upstream's pod store sets ReturnDeletedObject: a pod deleted at once comes back as the Pod
  // (the Python client decodes delete_namespaced_pod's answer as a V1Pod), other kinds as Status.
  if (r.group.empty() && r.resource == "pods") {
    return JsonResponse(200, api::EncodeObject(out.deleted.object));
  }
  const api::ObjectMeta& m = api::MetaOf(out.deleted.object);
  return JsonResponse(200, SuccessStatus(r, m.name, m.uid));
}

}  // namespace

http::Response RestHandler::Create(const http::Request& req, const RequestInfo& info) {
  Result<DecodedObject> obj = DecodeRequestObject(req, *info.resource);
  if (!obj.ok()) return ErrorResponse(obj.error());
  Result<Stored> out = registry_->Create(*info.resource, info.namespace_, std::move(obj->object),
                                         WriteOptionsOf(req, info));
  if (!out.ok()) return ErrorResponse(out.error());
  return JsonResponse(201, api::EncodeObject(out->object), obj->warnings);
}

http::Response RestHandler::Update(const http::Request& req, const RequestInfo& info) {
  Result<DecodedObject> obj = DecodeRequestObject(req, *info.resource);
  if (!obj.ok()) return ErrorResponse(obj.error());
  Result<Stored> out = registry_->Update(*info.resource, info.namespace_, info.name,
                                         std::move(obj->object), WriteOptionsOf(req, info));
  if (!out.ok()) return ErrorResponse(out.error());
  return JsonResponse(out->created ? 201 : 200, api::EncodeObject(out->object), obj->warnings);
}

http::Response RestHandler::Patch(const http::Request& req, const RequestInfo& info) {
  if (req.Header("content-type").starts_with("application/apply-patch")) {
    // Refused before the object is read, so the answer is the same whether it exists or not.
    ApiError e = UnsupportedMediaType(req.Header("content-type"));
    e.message =
        "server-side apply is not supported by knet (application/apply-patch+yaml); use "
        "client-side apply (kubectl apply without --server-side)";
    return ErrorResponse(e);
  }
  Result<FieldValidation> fv = ParseFieldValidation(req);
  if (!fv.ok()) return ErrorResponse(fv.error());
  std::vector<std::string> warnings;
  const ResourceInfo& r = *info.resource;
  Result<Stored> out = registry_->GuaranteedUpdate(
      r, info.namespace_, info.name,
      [&](api::Object& obj) -> std::optional<ApiError> {
        nlohmann::json doc = nlohmann::json::parse(api::EncodeObject(obj));
        Result<nlohmann::json> patched = ApplyPatch(req, doc, r.kind);
        if (!patched.ok()) return patched.error();
        Result<DecodedObject> decoded = DecodeAs(r, JsonBody{std::move(*patched), {}}, *fv);
        if (!decoded.ok()) return decoded.error();
        obj = std::move(decoded->object);
        warnings = std::move(decoded->warnings);
        return std::nullopt;
      },
      WriteOptionsOf(req, info));
  if (!out.ok()) return ErrorResponse(out.error());
  return JsonResponse(200, api::EncodeObject(out->object), warnings);
}

http::Response RestHandler::Delete(const http::Request& req, const RequestInfo& info) {
  std::optional<ApiError> error;
  DeleteOptions opts = DeleteOptionsOf(req, &error);
  if (error) return ErrorResponse(*error);
  Result<DeleteOutcome> out = registry_->Delete(*info.resource, info.namespace_, info.name, opts);
  if (!out.ok()) return ErrorResponse(out.error());
  return DeleteResponse(*info.resource, *out, opts);
}

http::Response RestHandler::DeleteCollection(const http::Request& req, const RequestInfo& info) {
  std::optional<ApiError> error;
  DeleteOptions opts = DeleteOptionsOf(req, &error);
  if (error) return ErrorResponse(*error);
  // Which objects: a consistent list with the request's selectors.
  http::Request list_req = req;
  list_req.headers.clear();
  http::Response listed = List(list_req, info);
  if (listed.status != 200) return listed;
  nlohmann::json list = nlohmann::json::parse(listed.body);
  nlohmann::json deleted = nlohmann::json::array();
  for (const nlohmann::json& item : list["items"]) {
    std::string name = item["metadata"]["name"];
    Result<DeleteOutcome> out = registry_->Delete(*info.resource, info.namespace_, name, opts);
    if (!out.ok()) {
      if (out.error().code == 404) continue;  // deleted meanwhile
      return ErrorResponse(out.error());
    }
    const api::Object& obj = out->remaining ? out->remaining->object : out->deleted.object;
    deleted.push_back(nlohmann::json::parse(api::EncodeObject(obj)));
  }
  list["items"] = std::move(deleted);
  return JsonResponse(200, list.dump());
}

namespace {

// autoscaling/v1 Scale of a Deployment or ReplicaSet.
nlohmann::json ScaleOf(const api::Object& obj) {
  int32_t replicas = 0;
  int32_t status_replicas = 0;
  std::string selector;
  auto fill = [&](const auto& o) {
    replicas = o.spec.replicas.value_or(1);
    status_replicas = o.status.replicas;
    if (!o.spec.selector) return;
    if (auto sel = api::Selector::FromLabelSelector(*o.spec.selector); sel.ok()) {
      selector = sel->ToString();
    }
  };
  if (const auto* d = std::get_if<api::Deployment>(&obj)) fill(*d);
  if (const auto* rs = std::get_if<api::ReplicaSet>(&obj)) fill(*rs);
  const api::ObjectMeta& m = api::MetaOf(obj);
  nlohmann::json meta = {{"name", m.name},
                         {"namespace", m.namespace_},
                         {"uid", m.uid},
                         {"resourceVersion", m.resource_version},
                         {"creationTimestamp", m.creation_timestamp.ToRfc3339()}};
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata", meta},
          {"spec", {{"replicas", replicas}}},
          {"status", {{"replicas", status_replicas}, {"selector", selector}}}};
}

}  // namespace

http::Response RestHandler::Scale(const http::Request& req, const RequestInfo& info) {
  const ResourceInfo& r = *info.resource;
  if (info.verb == "get") {
    Result<Stored> got = registry_->Get(r, info.namespace_, info.name);
    if (!got.ok()) return ErrorResponse(got.error());
    return JsonResponse(200, ScaleOf(got->object).dump());
  }
  WriteOptions opts = WriteOptionsOf(req, info);
  opts.subresource.clear();  // scale writes spec.replicas of the main resource
  Result<Stored> out = registry_->GuaranteedUpdate(
      r, info.namespace_, info.name,
      [&](api::Object& obj) -> std::optional<ApiError> {
        nlohmann::json scale = ScaleOf(obj);
        nlohmann::json next;
        if (info.verb == "patch") {
          Result<nlohmann::json> patched = ApplyPatch(req, scale, "Scale");
          if (!patched.ok()) return patched.error();
          next = std::move(*patched);
        } else {
          auto doc = api::ParseJson(req.body);
          if (!doc.ok()) return BadRequest(std::string(doc.status().message()));
          next = std::move(*doc);
        }
        // spec.replicas is omitempty: a Scale without it (kubectl's PUT for --replicas=0) asks
        // for zero.
        nlohmann::json replicas = 0;
        if (next.is_object() && next.contains("spec") && next["spec"].is_object() &&
            next["spec"].contains("replicas") && !next["spec"]["replicas"].is_null()) {
          replicas = next["spec"]["replicas"];
        }
        if (!replicas.is_number_integer() || replicas < 0 || replicas > INT32_MAX) {
          return Invalid("Scale", &r, info.name,
                         {{api::FieldError::kInvalid, "spec.replicas", replicas.dump(),
                           "must be greater than or equal to 0"}});
        }
        int32_t n = replicas.get<int32_t>();
        std::string rv;
        if (next.contains("metadata") && next["metadata"].is_object() &&
            next["metadata"].contains("resourceVersion") &&
            next["metadata"]["resourceVersion"].is_string()) {
          rv = next["metadata"]["resourceVersion"];
        }
        std::visit(
            [&](auto& o) {
              if constexpr (requires { o.spec.replicas; }) o.spec.replicas = n;
            },
            obj);
        // A Scale carrying a resourceVersion is a precondition on the scaled object.
        api::MetaOf(obj).resource_version = rv;
        return std::nullopt;
      },
      opts);
  if (!out.ok()) return ErrorResponse(out.error());
  return JsonResponse(200, ScaleOf(out->object).dump());
}

http::Response RestHandler::Binding(const http::Request& req, const RequestInfo& info) {
  auto doc = api::ParseJson(req.body);
  if (!doc.ok()) return ErrorResponse(BadRequest(std::string(doc.status().message())));
  std::string node;
  if (doc->is_object() && doc->contains("target") && (*doc)["target"].is_object() &&
      (*doc)["target"].contains("name") && (*doc)["target"]["name"].is_string()) {
    node = (*doc)["target"]["name"];
  }
  if (node.empty()) {
    return ErrorResponse(Invalid("Binding", info.resource, info.name,
                                 {{api::FieldError::kRequired, "target.name", "", ""}}));
  }
  Result<Stored> out = registry_->GuaranteedUpdate(
      *info.resource, info.namespace_, info.name,
      [&](api::Object& obj) -> std::optional<ApiError> {
        auto& pod = std::get<api::Pod>(obj);
        if (!pod.metadata.deletion_timestamp.IsZero()) {
          return Conflict(*info.resource, info.name,
                          "pod is being deleted, cannot be assigned to a host");
        }
        if (!pod.spec.node_name.empty()) {
          return Conflict(
              *info.resource, info.name,
              "pod " + info.name + " is already assigned to node \"" + pod.spec.node_name + "\"");
        }
        pod.spec.node_name = node;
        api::PodCondition cond;
        cond.type = "PodScheduled";
        cond.status = "True";
        cond.last_transition_time = api::Time::FromUnixSeconds(api::Time::Now().unix_seconds());
        bool found = false;
        for (api::PodCondition& c : pod.status.conditions) {
          if (c.type == "PodScheduled") c = cond, found = true;
        }
        if (!found) pod.status.conditions.push_back(cond);
        pod.metadata.resource_version.clear();
        return std::nullopt;
      },
      WriteOptions{false, "binding"});
  if (!out.ok()) return ErrorResponse(out.error());
  api::Status s;
  s.status = "Success";
  s.code = 201;
  return JsonResponse(201, api::EncodeJson(s));
}

}  // namespace knet::apiserver
