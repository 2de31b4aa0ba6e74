// File: api/internal/codec_impl.h
//
// The generic JSON codec behind api/codec.h. Every API struct lists its fields once:
//
//   struct ServicePort {
//     std::string name; int32_t port = 0; ...
//     template <class S, class V> static void Fields(S& s, V& v) {
//       v("name", s.name);
//       v("port", s.port, kAlways);
//     }
//   };
//
// and these visitors encode it (straight to a string, in declaration order, omitting empty
// fields unless kAlways) and decode it (from a DOM, with field paths in every error and warnings
// for unknown fields). Types with kApiVersion/kKind get apiVersion/kind written and checked.
// Only codec.cc and tests include this; everyone else uses api/codec.h.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "api/codec.h"
#include "api/internal/json_writer.h"
#include "api/json.h"
#include "api/values.h"

namespace knet::api::internal {

using nlohmann::json;

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

// A visitor that ignores everything: used to detect Fields() and to list field names.
struct NameCollector {
  std::vector<std::string_view> names;
  template <class F>
  void operator()(const char* name, F&, unsigned = 0) {
    names.emplace_back(name);
  }
};

template <class T>
concept HasFields = requires(T& t, NameCollector& v) {
  T::Fields(t, v);
};
template <class T>
concept HasKind = requires {
  T::kApiVersion;
  T::kKind;
};

// ---------------------------------------------------------------------------------------------
// Encoding

template <class T>
bool IsEmpty(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return v.empty();
  } else if constexpr (std::is_same_v<T, bool>) {
    return !v;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return v == 0;
  } else if constexpr (IsVector<T>::value || IsMap<T>::value) {
    return v.empty();
  } else if constexpr (IsOptional<T>::value) {
    return !v.has_value();
  } else if constexpr (std::is_same_v<T, json>) {
    return v.is_null();
  } else if constexpr (std::is_same_v<T, IntOrString>) {
    return v.IsZero();
  } else if constexpr (requires { v.IsZero(); }) {
    return v.IsZero();
  } else {
    // Struct-valued fields are always written, as Go's encoding/json does (omitempty never
    // omits a struct): clients rely on e.g. NetworkPolicy spec.podSelector: {} being present.
    // std::optional<Struct> models Go's pointer fields, omitted when unset.
    static_assert(HasFields<T>, "IsEmpty: unsupported field type");
    return false;
  }
}

template <class T>
void EncodeValue(JsonWriter& w, const T& v);

struct StructEncoder {
  JsonWriter& w;
  template <class F>
  void operator()(const char* name, const F& f, unsigned flags = 0) {
    if (!(flags & kAlways) && IsEmpty(f)) return;
    w.Key(name);
    EncodeValue(w, f);
  }
};

template <class T>
void EncodeStruct(JsonWriter& w, const T& v, bool with_type) {
  w.BeginObject();
  if constexpr (HasKind<T>) {
    if (with_type) {
      w.Key("apiVersion");
      w.String(T::kApiVersion);
      w.Key("kind");
      w.String(T::kKind);
    }
  }
  StructEncoder e{w};
  T::Fields(v, e);
  w.EndObject();
}

void EncodeJsonValue(JsonWriter& w, const json& v);

template <class T>
void EncodeValue(JsonWriter& w, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    w.String(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    w.Bool(v);
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    w.Int(v);
  } else if constexpr (std::is_integral_v<T>) {
    w.Uint(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    w.Double(v);
  } else if constexpr (IsVector<T>::value) {
    w.BeginArray();
    for (const auto& e : v) EncodeValue(w, e);
    w.EndArray();
  } else if constexpr (IsMap<T>::value) {
    w.BeginObject();
    for (const auto& [k, e] : v) {
      w.Key(k);
      EncodeValue(w, e);
    }
    w.EndObject();
  } else if constexpr (IsOptional<T>::value) {
    if (v.has_value()) {
      EncodeValue(w, *v);
    } else {
      w.Null();
    }
  } else if constexpr (std::is_same_v<T, json>) {
    EncodeJsonValue(w, v);
  } else if constexpr (std::is_same_v<T, Time>) {
    if (v.IsZero()) {
      w.Null();
    } else {
      w.String(v.ToRfc3339());
    }
  } else if constexpr (std::is_same_v<T, MicroTime>) {
    if (v.IsZero()) {
      w.Null();
    } else {
      w.String(v.time.ToRfc3339Micro());
    }
  } else if constexpr (std::is_same_v<T, IntOrString>) {
    if (v.is_string()) {
      w.String(v.string_value());
    } else {
      w.Int(v.int_value());
    }
  } else if constexpr (std::is_same_v<T, Quantity>) {
    w.String(v.ToString());
  } else {
    static_assert(HasFields<T>, "no JSON encoding for this type");
    EncodeStruct(w, v, /*with_type=*/false);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

// A field path as a chain of segments on the stack; rendered only when an error needs it.
struct Path {
  const Path* parent = nullptr;
  std::string_view name;  // a field name, or a map key when `index` == kMapKey
  int64_t index = -1;     // an array index, -1 for none
  static constexpr int64_t kMapKey = -2;
  std::string ToString() const;
};

struct DecodeContext {
  bool strict = false;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  void Error(const Path& p, const std::string& msg);
  void TypeError(const Path& p, std::string_view want, const json& got);
};

template <class T>
void DecodeValue(const json& j, T& out, const Path& p, DecodeContext& c);

// Whether the decoded document holds any key that T does not define (apiVersion/kind aside).
void ReportUnknownFields(const json& j, const std::vector<std::string_view>& known, bool typed,
                         const Path& p, DecodeContext& c);

struct StructDecoder {
  const json& j;
  const Path& p;
  DecodeContext& c;
  size_t matched = 0;
  template <class F>
  void operator()(const char* name, F& f, unsigned = 0) {
    auto it = j.find(name);
    if (it == j.end()) return;
    ++matched;
    Path child{&p, name};
    DecodeValue(*it, f, child, c);
  }
};

template <class T>
void DecodeStruct(const json& j, T& out, const Path& p, DecodeContext& c) {
  if (!j.is_object()) {
    c.TypeError(p, "object", j);
    return;
  }
  size_t type_keys = 0;
  if constexpr (HasKind<T>) {
    // apiVersion/kind are optional on input (the URL or the list says what it is), but when
    // present they must name this type.
    if (auto it = j.find("apiVersion"); it != j.end()) {
      ++type_keys;
      if (!it->is_string() || it->get_ref<const std::string&>() != T::kApiVersion) {
        Path child{&p, "apiVersion"};
        c.Error(child,
                "expected \"" + std::string(T::kApiVersion) + "\", got " + DescribeJsonValue(*it));
      }
    }
    if (auto it = j.find("kind"); it != j.end()) {
      ++type_keys;
      if (!it->is_string() || it->get_ref<const std::string&>() != T::kKind) {
        Path child{&p, "kind"};
        c.Error(child, "expected \"" + std::string(T::kKind) + "\", got " + DescribeJsonValue(*it));
      }
    }
  }
  StructDecoder d{j, p, c};
  T::Fields(out, d);
  if (d.matched + type_keys != j.size()) {
    NameCollector names;
    T::Fields(out, names);
    ReportUnknownFields(j, names.names, HasKind<T>, p, c);
  }
}

void DecodeJsonRaw(const json& j, json& out);
void DecodeTime(const json& j, Time& out, const Path& p, DecodeContext& c);
void DecodeIntOrString(const json& j, IntOrString& out, const Path& p, DecodeContext& c);
void DecodeQuantity(const json& j, Quantity& out, const Path& p, DecodeContext& c);
bool DecodeInteger(const json& j, int64_t min, int64_t max, int64_t& out, const Path& p,
                   DecodeContext& c);

template <class T>
void DecodeValue(const json& j, T& out, const Path& p, DecodeContext& c) {
  if (c.errors.size() >= kMaxDecodeErrors) return;
  if (j.is_null() && !std::is_same_v<T, json>) {
    out = T{};  // JSON null decodes to the zero value, as in Go.
    return;
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) return c.TypeError(p, "string", j);
    out = j.get_ref<const std::string&>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return c.TypeError(p, "boolean", j);
    out = j.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    int64_t v = 0;
    if (DecodeInteger(j, std::numeric_limits<T>::min(),
                      static_cast<int64_t>(std::min<uint64_t>(std::numeric_limits<T>::max(),
                                                              std::numeric_limits<int64_t>::max())),
                      v, p, c)) {
      out = static_cast<T>(v);
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!j.is_number()) return c.TypeError(p, "number", j);
    out = j.get<T>();
  } else if constexpr (IsVector<T>::value) {
    if (!j.is_array()) return c.TypeError(p, "array", j);
    out.clear();
    out.resize(j.size());
    for (size_t i = 0; i < j.size(); ++i) {
      Path child{&p, {}, static_cast<int64_t>(i)};
      DecodeValue(j[i], out[i], child, c);
    }
  } else if constexpr (IsMap<T>::value) {
    if (!j.is_object()) return c.TypeError(p, "object", j);
    out.clear();
    for (auto it = j.begin(); it != j.end(); ++it) {
      Path child{&p, it.key(), Path::kMapKey};
      DecodeValue(it.value(), out[it.key()], child, c);
    }
  } else if constexpr (IsOptional<T>::value) {
    out.emplace();
    DecodeValue(j, *out, p, c);
  } else if constexpr (std::is_same_v<T, json>) {
    DecodeJsonRaw(j, out);
  } else if constexpr (std::is_same_v<T, Time>) {
    DecodeTime(j, out, p, c);
  } else if constexpr (std::is_same_v<T, MicroTime>) {
    DecodeTime(j, out.time, p, c);
  } else if constexpr (std::is_same_v<T, IntOrString>) {
    DecodeIntOrString(j, out, p, c);
  } else if constexpr (std::is_same_v<T, Quantity>) {
    DecodeQuantity(j, out, p, c);
  } else {
    static_assert(HasFields<T>, "no JSON decoding for this type");
    DecodeStruct(j, out, p, c);
  }
}

// The entry points codec.cc instantiates per type.
template <class T>
std::string EncodeTyped(const T& v) {
  std::string out;
  out.reserve(512);
  JsonWriter w(out);
  if constexpr (HasFields<T>) {
    EncodeStruct(w, v, /*with_type=*/true);
  } else {
    EncodeValue(w, v);
  }
  return out;
}

template <class T>
base::StatusOr<T> DecodeTyped(const json& j, const DecodeOptions& opts,
                              std::vector<std::string>* warnings) {
  DecodeContext c;
  c.strict = opts.strict;
  T out{};
  Path root;
  DecodeValue(j, out, root, c);
  if (warnings != nullptr) {
    warnings->insert(warnings->end(), c.warnings.begin(), c.warnings.end());
  }
  if (!c.errors.empty()) return DecodeErrorStatus(c.errors);
  return out;
}

}  // namespace knet::api::internal
