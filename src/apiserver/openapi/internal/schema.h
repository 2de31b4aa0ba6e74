// File: apiserver/openapi/internal/schema.h
//
// Builds OpenAPI v3 component schemas from the api types' Fields() lists, with a visitor of its
// own that the same Fields(S&, V&) functions accept (as api/internal/codec_impl.h does for the
// codec), so a schema always lists exactly the fields the codec reads and writes.
//
//   Json schemas = Json::object();
//   SchemaBuilder b(schemas);
//   b.Kind<api::Pod>();                 // io.k8s.api.core.v1.Pod and everything it contains
//   b.Kind<api::List<api::Pod>>();      // io.k8s.api.core.v1.PodList
//
// Mapping: string -> string; bool -> boolean; integers -> integer int32/int64; floating ->
// number double; vector -> array; map<string, T> -> object with additionalProperties; optional<T>
// -> T; structs -> a named component ($ref, wrapped in allOf for properties as upstream v3 does);
// Time/MicroTime/IntOrString/Quantity -> their upstream named components; opaque JSON -> a schema
// that preserves unknown fields. Kinds get apiVersion/kind properties and
// x-kubernetes-group-version-kind. A field without omitempty (kAlways) that is not a pointer,
// time or metadata is listed as required, which approximates upstream's +optional markers.
// x-kubernetes-patch-strategy / -merge-key come from apiserver/patch/patch_meta.h, looked up with
// the field's path from the kind's root.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "apiserver/openapi/internal/schema_names.h"
#include "apiserver/patch/patch_meta.h"

namespace knet::apiserver::openapi::internal {

// std::map-backed: keys come out sorted, as in upstream documents, and references into the
// document stay valid while nested schemas are inserted during a walk.
using Json = nlohmann::json;

inline constexpr std::string_view kRefPrefix = "#/components/schemas/";

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsMap : std::false_type {};
template <class T>
struct IsMap<std::map<std::string, T>> : std::true_type {};
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

struct FieldProbe {
  template <class F>
  void operator()(const char*, F&, unsigned = 0) {}
};
template <class T>
concept HasFields = requires(T& t, FieldProbe& v) {
  T::Fields(t, v);
};
template <class T>
concept HasKind = requires {
  T::kApiVersion;
  T::kKind;
};

inline Json RefTo(std::string_view name) {
  return Json{{"$ref", std::string(kRefPrefix) + std::string(name)}};
}

// {"group": "apps", "kind": "Deployment", "version": "v1"} from "apps/v1" and "Deployment".
inline Json GroupVersionKind(std::string_view api_version, std::string_view kind) {
  size_t slash = api_version.find('/');
  bool core = slash == std::string_view::npos;
  return Json{{"group", core ? std::string() : std::string(api_version.substr(0, slash))},
              {"kind", std::string(kind)},
              {"version", std::string(core ? api_version : api_version.substr(slash + 1))}};
}

class SchemaBuilder {
 public:
  explicit SchemaBuilder(Json& schemas) : schemas_(schemas) {}

  // Registers the kind T, everything reachable from it, and returns its component name.
  template <class T>
  std::string Kind() {
    static_assert(HasKind<T>);
    std::string name = SchemaNameOf<T>();
    Struct<T>(T::kKind, "");
    return name;
  }

  // The schema of a value of type T found at `path` below the root of `kind`.
  template <class T>
  Json Value(std::string_view kind, const std::string& path) {
    if constexpr (std::is_same_v<T, std::string>) {
      return Json{{"type", "string"}};
    } else if constexpr (std::is_same_v<T, bool>) {
      return Json{{"type", "boolean"}};
    } else if constexpr (std::is_integral_v<T>) {
      return Json{{"type", "integer"}, {"format", sizeof(T) <= 4 ? "int32" : "int64"}};
    } else if constexpr (std::is_floating_point_v<T>) {
      return Json{{"type", "number"}, {"format", "double"}};
    } else if constexpr (IsVector<T>::value) {
      return Json{{"type", "array"}, {"items", Value<typename T::value_type>(kind, path + "[]")}};
    } else if constexpr (IsMap<T>::value) {
      return Json{{"type", "object"},
                  {"additionalProperties", Value<typename T::mapped_type>(kind, path + "{}")}};
    } else if constexpr (IsOptional<T>::value) {
      return Value<typename T::value_type>(kind, path);
    } else if constexpr (std::is_same_v<T, nlohmann::json>) {
      return Json{{"description", "Any JSON value, kept as sent."},
                  {"x-kubernetes-preserve-unknown-fields", true}};
    } else if constexpr (std::is_same_v<T, api::Time>) {
      return Primitive("io.k8s.apimachinery.pkg.apis.meta.v1.Time",
                       Json{{"type", "string"}, {"format", "date-time"}});
    } else if constexpr (std::is_same_v<T, api::MicroTime>) {
      return Primitive("io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
                       Json{{"type", "string"}, {"format", "date-time"}});
    } else if constexpr (std::is_same_v<T, api::IntOrString>) {
      return Primitive("io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                       Json{{"type", "string"}, {"format", "int-or-string"}});
    } else if constexpr (std::is_same_v<T, api::Quantity>) {
      return Primitive("io.k8s.apimachinery.pkg.api.resource.Quantity", Json{{"type", "string"}});
    } else {
      static_assert(HasFields<T>, "no OpenAPI schema for this field type");
      Struct<T>(kind, path);
      return RefTo(SchemaNameOf<T>());
    }
  }

 private:
  struct Visitor {
    SchemaBuilder& b;
    std::string_view kind;
    const std::string& prefix;
    bool first;  // the struct's schema is being created (else only patch metadata is added)
    Json& properties;
    Json& required;

    template <class F>
    void operator()(const char* name, F&, unsigned flags = 0) {
      std::string path = prefix.empty() ? std::string(name) : prefix + "." + name;
      Json schema = b.Value<F>(kind, path);
      if (first) {
        if (schema.contains("$ref")) {
          Json wrapped{{"allOf", Json::array({std::move(schema)})}};
          if constexpr (HasFields<F>) wrapped["default"] = Json::object();
          schema = std::move(wrapped);
        }
        properties[name] = std::move(schema);
        if ((flags & api::kAlways) && !IsOptional<F>::value && !std::is_same_v<F, api::Time> &&
            !std::is_same_v<F, api::MicroTime> && std::string_view(name) != "metadata") {
          required.push_back(name);
        }
      }
      if (kind.empty()) return;
      if (const patch::ListPatchMeta* m = patch::LookupPatchMeta(kind, path)) {
        Json& p = properties[name];
        if (!m->merge_key.empty()) p["x-kubernetes-patch-merge-key"] = std::string(m->merge_key);
        p["x-kubernetes-patch-strategy"] = std::string(m->strategy);
      }
    }
  };

  template <class T>
  void Struct(std::string_view kind, const std::string& path) {
    std::string name = SchemaNameOf<T>();
    if (!walked_.insert(name + "|" + std::string(kind) + "|" + path).second) return;
    bool first = !schemas_.contains(name);
    if (first) {
      Json s{{"type", "object"}, {"properties", Json::object()}};
      if constexpr (HasKind<T>) {
        s["properties"]["apiVersion"] =
            Json{{"type", "string"},
                 {"description",
                  "APIVersion defines the versioned schema of this representation "
                  "of an object."}};
        s["properties"]["kind"] =
            Json{{"type", "string"},
                 {"description",
                  "Kind is a string value representing the REST resource this object "
                  "represents."}};
      }
      schemas_[name] = std::move(s);
    }
    Json& schema = schemas_[name];
    Json required = schema.value("required", Json::array());
    T instance{};
    Visitor v{*this, kind, path, first, schema["properties"], required};
    T::Fields(instance, v);
    if (first) {
      if (!required.empty()) schema["required"] = std::move(required);
      if constexpr (HasKind<T>) {
        schema["x-kubernetes-group-version-kind"] =
            Json::array({GroupVersionKind(T::kApiVersion, T::kKind)});
      }
    }
  }

  Json Primitive(const char* name, Json schema) {
    if (!schemas_.contains(name)) schemas_[name] = std::move(schema);
    return RefTo(name);
  }

  Json& schemas_;
  std::set<std::string> walked_;
};

}  // namespace knet::apiserver::openapi::internal
