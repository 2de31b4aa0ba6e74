#include "apiserver/openapi/internal/paths.h"

#include <cctype>
#include <utility>
#include <vector>

namespace knet::apiserver::openapi::internal {

namespace {

Json Param(const char* name, const char* in, const char* type, const char* description,
           bool required = false) {
  Json p{{"name", name},
         {"in", in},
         {"description", description},
         {"schema", Json{{"type", type}, {"uniqueItems", true}}}};
  if (required) p["required"] = true;
  return p;
}

Json NameParam(const std::string& kind) {
  std::string d = "name of the " + kind;
  return Json{{"name", "name"},
              {"in", "path"},
              {"description", d},
              {"required", true},
              {"schema", Json{{"type", "string"}, {"uniqueItems", true}}}};
}

Json NamespaceParam() {
  return Param("namespace", "path", "string",
               "object name and auth scope, such as for teams and projects", true);
}

Json PrettyParam() {
  return Param("pretty", "query", "string", "If 'true', then the output is pretty printed.");
}

// Query parameters of list and watch (and of deletecollection, without watch).
std::vector<Json> ListParams(bool with_watch) {
  std::vector<Json> p = {
      Param("allowWatchBookmarks", "query", "boolean",
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
      Param("continue", "query", "string",
            "The continue option should be set when retrieving more results from the server."),
      Param("fieldSelector", "query", "string",
            "A selector to restrict the list of returned objects by their fields."),
      Param("labelSelector", "query", "string",
            "A selector to restrict the list of returned objects by their labels."),
      Param("limit", "query", "integer",
            "limit is a maximum number of responses to return for a list call."),
      Param("resourceVersion", "query", "string",
            "resourceVersion sets a constraint on what resource versions a request may be "
            "served from."),
      Param("resourceVersionMatch", "query", "string",
            "resourceVersionMatch determines how resourceVersion is applied to list calls."),
      Param("sendInitialEvents", "query", "boolean",
            "`sendInitialEvents=true` may be set together with `watch=true`."),
      Param("timeoutSeconds", "query", "integer",
            "Timeout for the list/watch call, regardless of any activity or inactivity."),
  };
  if (with_watch) {
    p.push_back(Param("watch", "query", "boolean",
                      "Watch for changes to the described resources and return them as a stream "
                      "of add, update, and remove notifications."));
  }
  return p;
}

Json DryRunParam() {
  return Param("dryRun", "query", "string",
               "When present, indicates that modifications should not be persisted. Valid "
               "values are: - All: all dry run stages will be processed");
}

// dryRun, fieldManager, fieldValidation: what POST, PUT and PATCH take. kubectl checks that PATCH
// lists fieldValidation before it relies on server-side field validation.
std::vector<Json> WriteParams(bool patch) {
  std::vector<Json> p = {
      DryRunParam(),
      Param("fieldManager", "query", "string",
            "fieldManager is a name associated with the actor or entity that is making these "
            "changes."),
      Param("fieldValidation", "query", "string",
            "fieldValidation instructs the server on how to handle objects in the request "
            "containing unknown or duplicate fields. Valid values are: - Ignore - Warn - "
            "Strict"),
  };
  if (patch) {
    p.push_back(Param("force", "query", "boolean",
                      "Force is going to \"force\" Apply requests. It means user will re-acquire "
                      "conflicting fields owned by other people."));
  }
  return p;
}

std::vector<Json> DeleteParams() {
  return {DryRunParam(),
          Param("gracePeriodSeconds", "query", "integer",
                "The duration in seconds before the object should be deleted."),
          Param("propagationPolicy", "query", "string",
                "Whether and how garbage collection will be performed: Orphan, Background or "
                "Foreground.")};
}

Json Content(const std::string& schema_name) {
  Json schema = RefTo(schema_name);
  return Json{{"application/json", Json{{"schema", schema}}},
              {"application/yaml", Json{{"schema", schema}}}};
}

Json Responses(std::initializer_list<const char*> codes, const std::string& schema_name) {
  Json r = Json::object();
  for (const char* code : codes) {
    std::string c = code;
    const char* text = c == "200" ? "OK" : c == "201" ? "Created" : "Accepted";
    r[c] = Json{{"description", text}, {"content", Content(schema_name)}};
  }
  r["401"] = Json{{"description", "Unauthorized"}};
  return r;
}

// "Core", "Apps", "Networking": the group part of upstream operation ids.
std::string GroupWord(std::string_view group) {
  std::string g(group.empty() ? "core" : group.substr(0, group.find('.')));
  g[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(g[0])));
  return g;
}

std::string Capitalized(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

struct Ctx {
  const ResourceInfo& r;
  const SchemaNameFn& schema_name;
  std::string tag;       // "core_v1", "apps_v1"
  std::string id_infix;  // "CoreV1"
};

Json Operation(const Ctx& c, const char* verb, const char* action, const std::string& id_suffix,
               const std::string& description, const Json& gvk, std::vector<Json> params,
               Json responses) {
  Json op{
      {"description", description},    {"operationId", std::string(verb) + c.id_infix + id_suffix},
      {"tags", Json::array({c.tag})},  {"responses", std::move(responses)},
      {"x-kubernetes-action", action}, {"x-kubernetes-group-version-kind", gvk}};
  if (!params.empty()) op["parameters"] = std::move(params);
  return op;
}

Json Body(const std::string& schema_name) {
  return Json{{"content", Json{{"*/*", Json{{"schema", RefTo(schema_name)}}}}}, {"required", true}};
}

Json PatchBody() {
  Json schema{{"schema", RefTo(kPatchSchema)}};
  return Json{{"content", Json{{"application/apply-patch+yaml", schema},
                               {"application/json-patch+json", schema},
                               {"application/merge-patch+json", schema},
                               {"application/strategic-merge-patch+json", schema}}},
              {"required", true}};
}

std::string Either(const std::string& name, std::string_view fallback) {
  return name.empty() ? std::string(fallback) : name;
}

// get/post/delete on a collection, or just get (list) for the all-namespaces path.
Json CollectionPath(const Ctx& c, bool namespaced_path, bool list_only) {
  const ResourceInfo& r = c.r;
  Json gvk = GroupVersionKind(r.ApiVersion(), r.kind);
  std::string kind_schema = Either(c.schema_name(r.ApiVersion(), r.kind), kStatusSchema);
  std::string list_schema = Either(c.schema_name(r.ApiVersion(), r.list_kind), kStatusSchema);
  std::string scope = namespaced_path ? "Namespaced" : "";
  std::string all = (r.namespaced && !namespaced_path) ? "ForAllNamespaces" : "";
  Json path = Json::object();
  Json params = Json::array();
  if (namespaced_path) params.push_back(NamespaceParam());
  params.push_back(PrettyParam());
  path["parameters"] = std::move(params);
  if (r.HasVerb("list")) {
    Json responses = Responses({"200"}, list_schema);
    if (r.HasVerb("watch")) {
      responses["200"]["content"]["application/json;stream=watch"] =
          Json{{"schema", RefTo(kWatchEventSchema)}};
    }
    path["get"] = Operation(c, "list", "list", scope + r.kind + all,
                            "list or watch objects of kind " + r.kind, gvk,
                            ListParams(r.HasVerb("watch")), std::move(responses));
  }
  if (list_only) return path;
  if (r.HasVerb("create")) {
    Json op = Operation(c, "create", "post", scope + r.kind, "create a " + r.kind, gvk,
                        WriteParams(false), Responses({"200", "201", "202"}, kind_schema));
    op["requestBody"] = Body(kind_schema);
    path["post"] = std::move(op);
  }
  if (r.HasVerb("deletecollection")) {
    std::vector<Json> p = ListParams(false);
    for (Json& d : DeleteParams()) p.push_back(std::move(d));
    Json op = Operation(c, "delete", "deletecollection", "Collection" + scope + r.kind,
                        "delete collection of " + r.kind, gvk, std::move(p),
                        Responses({"200"}, std::string(kStatusSchema)));
    op["requestBody"] = Body(std::string(kDeleteOptionsSchema));
    op["requestBody"]["required"] = false;
    path["delete"] = std::move(op);
  }
  return path;
}

// get/put/patch/delete on one object, or on one of its subresources when `sub` is set.
Json ItemPath(const Ctx& c, const SubresourceInfo* sub) {
  const ResourceInfo& r = c.r;
  std::string api_version = sub == nullptr       ? r.ApiVersion()
                            : sub->group.empty() ? sub->version
                                                 : sub->group + "/" + sub->version;
  const std::string& kind = sub == nullptr ? r.kind : sub->kind;
  const std::vector<std::string>& verbs = sub == nullptr ? r.verbs : sub->verbs;
  auto has = [&](std::string_view v) {
    for (const std::string& x : verbs) {
      if (x == v) return true;
    }
    return false;
  };
  Json gvk = GroupVersionKind(api_version, kind);
  std::string schema = Either(c.schema_name(api_version, kind), kStatusSchema);
  std::string scope = r.namespaced ? "Namespaced" : "";
  std::string suffix = scope + r.kind + (sub == nullptr ? "" : Capitalized(sub->name));
  std::string what =
      sub == nullptr ? "the specified " + r.kind : sub->name + " of the specified " + r.kind;
  Json path = Json::object();
  Json params = Json::array({NameParam(sub == nullptr ? r.kind : kind)});
  if (r.namespaced) params.push_back(NamespaceParam());
  params.push_back(PrettyParam());
  path["parameters"] = std::move(params);
  if (has("get")) {
    path["get"] =
        Operation(c, "read", "get", suffix, "read " + what, gvk, {}, Responses({"200"}, schema));
  }
  if (has("update")) {
    Json op = Operation(c, "replace", "put", suffix, "replace " + what, gvk, WriteParams(false),
                        Responses({"200", "201"}, schema));
    op["requestBody"] = Body(schema);
    path["put"] = std::move(op);
  }
  if (has("patch")) {
    Json op = Operation(c, "patch", "patch", suffix, "partially update " + what, gvk,
                        WriteParams(true), Responses({"200", "201"}, schema));
    op["requestBody"] = PatchBody();
    path["patch"] = std::move(op);
  }
  if (has("delete")) {
    Json op = Operation(c, "delete", "delete", suffix, "delete " + what, gvk, DeleteParams(),
                        Responses({"200", "202"}, std::string(kStatusSchema)));
    op["requestBody"] = Body(std::string(kDeleteOptionsSchema));
    op["requestBody"]["required"] = false;
    path["delete"] = std::move(op);
  }
  if (has("create")) {  // pods/binding
    Json op = Operation(c, "create", "post", suffix, "create " + what, gvk, WriteParams(false),
                        Responses({"200", "201", "202"}, schema));
    op["requestBody"] = Body(schema);
    path["post"] = std::move(op);
  }
  return path;
}

}  // namespace

Json PathsFor(std::string_view group, std::string_view version, const SchemaNameFn& schema_name) {
  Json paths = Json::object();
  for (const ResourceInfo& r : Resources()) {
    if (r.group != group || r.version != version) continue;
    std::string group_label(group.empty() ? "core" : group.substr(0, group.find('.')));
    Ctx c{r, schema_name, group_label + "_" + r.version, GroupWord(group) + Capitalized(r.version)};
    std::string base = r.PathPrefix();
    std::string collection =
        r.namespaced ? base + "/namespaces/{namespace}/" + r.resource : base + "/" + r.resource;
    paths[collection] = CollectionPath(c, r.namespaced, /*list_only=*/false);
    paths[collection + "/{name}"] = ItemPath(c, nullptr);
    for (const SubresourceInfo& s : r.subresources) {
      paths[collection + "/{name}/" + s.name] = ItemPath(c, &s);
    }
    if (r.namespaced && r.HasVerb("list")) {
      paths[base + "/" + r.resource] = CollectionPath(c, /*namespaced_path=*/false, true);
    }
  }
  return paths;
}

}  // namespace knet::apiserver::openapi::internal
