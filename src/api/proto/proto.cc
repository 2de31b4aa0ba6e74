// File: api/proto/proto.cc
//
// Protobuf → JSON by reflection: every field's JSON name is its proto name (upstream names proto
// fields after their JSON tags), with special cases for the well-known apimachinery types (Time,
// MicroTime, IntOrString, Quantity, FieldsV1), map fields, bytes, and Probe's inlined handler.
#include "api/proto/proto.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>

#include <array>
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "api/json.h"
#include "api/values.h"
#include "k8s.io/api/apps/v1/generated.pb.h"
#include "k8s.io/api/autoscaling/v1/generated.pb.h"
#include "k8s.io/api/coordination/v1/generated.pb.h"
#include "k8s.io/api/core/v1/generated.pb.h"
#include "k8s.io/api/discovery/v1/generated.pb.h"
#include "k8s.io/api/networking/v1/generated.pb.h"
#include "k8s.io/apimachinery/pkg/api/resource/generated.pb.h"
#include "k8s.io/apimachinery/pkg/apis/meta/v1/generated.pb.h"
#include "k8s.io/apimachinery/pkg/runtime/generated.pb.h"
#include "k8s.io/apimachinery/pkg/util/intstr/generated.pb.h"

namespace knet::api::proto {
namespace {

namespace pb = google::protobuf;
namespace core = k8s::io::api::core::v1;
namespace meta = k8s::io::apimachinery::pkg::apis::meta::v1;
namespace intstr = k8s::io::apimachinery::pkg::util::intstr;
namespace resource = k8s::io::apimachinery::pkg::api::resource;

constexpr std::string_view kMagic("k8s\0", 4);

// Each entry names the prototype through its generated class, which also keeps the generated
// object file (and so its descriptors) linked into the binary.
struct KindEntry {
  std::string_view api_version;
  std::string_view kind;
  const pb::Message& (*prototype)();
};

template <class M>
const pb::Message& Proto() {
  return M::default_instance();
}

constexpr std::array kKinds = {
    KindEntry{"v1", "Namespace", &Proto<core::Namespace>},
    KindEntry{"v1", "Node", &Proto<core::Node>},
    KindEntry{"v1", "Pod", &Proto<core::Pod>},
    KindEntry{"v1", "Service", &Proto<core::Service>},
    KindEntry{"v1", "Endpoints", &Proto<core::Endpoints>},
    KindEntry{"v1", "Event", &Proto<core::Event>},
    KindEntry{"v1", "ConfigMap", &Proto<core::ConfigMap>},
    KindEntry{"v1", "Binding", &Proto<core::Binding>},
    KindEntry{"discovery.k8s.io/v1", "EndpointSlice",
              &Proto<k8s::io::api::discovery::v1::EndpointSlice>},
    KindEntry{"networking.k8s.io/v1", "NetworkPolicy",
              &Proto<k8s::io::api::networking::v1::NetworkPolicy>},
    KindEntry{"apps/v1", "Deployment", &Proto<k8s::io::api::apps::v1::Deployment>},
    KindEntry{"apps/v1", "ReplicaSet", &Proto<k8s::io::api::apps::v1::ReplicaSet>},
    KindEntry{"coordination.k8s.io/v1", "Lease", &Proto<k8s::io::api::coordination::v1::Lease>},
    KindEntry{"autoscaling/v1", "Scale", &Proto<k8s::io::api::autoscaling::v1::Scale>},
};

// DeleteOptions is registered in meta.k8s.io/v1 and in every group version served.
constexpr std::array<std::string_view, 8> kDeleteOptionsVersions = {
    "meta.k8s.io/v1",         "v1",       "discovery.k8s.io/v1",
    "networking.k8s.io/v1",   "apps/v1",  "autoscaling/v1",
    "coordination.k8s.io/v1", "policy/v1"};

const pb::Message* FindPrototype(std::string_view api_version, std::string_view kind) {
  for (const KindEntry& e : kKinds) {
    if (e.api_version == api_version && e.kind == kind) return &e.prototype();
  }
  if (kind == "DeleteOptions") {
    for (std::string_view v : kDeleteOptionsVersions) {
      if (v == api_version) return &meta::DeleteOptions::default_instance();
    }
  }
  return nullptr;
}

base::Status Invalid(std::string message) {
  return base::Status(base::StatusCode::kInvalidArgument, std::move(message));
}

// "name" with anything outside printable ASCII escaped, so any bytes can go into a message.
std::string Quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += '"';
  return out;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(in[i + 2])};
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint32_t{static_cast<unsigned char>(in[i])} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(in[i + 1])} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Fields whose Go type is a non-pointer scalar tagged `omitempty`: upstream's JSON leaves them out
// when zero, while its protobuf always writes them (kubectl sends `generateName: ""`). Pointer
// fields are never listed: there a present zero means something (`replicas: 0`). The typed kinds
// decode absent and zero alike, so this matters for the kinds that stay JSON (ConfigMap, Binding,
// Scale) and for managedFields, which knet keeps as opaque JSON.
bool OmitWhenZero(const pb::FieldDescriptor* f) {
  static const auto* const kFields = [] {
    auto* set = new std::set<const pb::FieldDescriptor*>;
    auto add = [set](const pb::Descriptor* d, std::initializer_list<const char*> names) {
      for (const char* n : names) set->insert(d->FindFieldByName(n));
    };
    add(meta::ObjectMeta::descriptor(),
        {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation"});
    add(meta::ManagedFieldsEntry::descriptor(),
        {"manager", "operation", "apiVersion", "fieldsType", "subresource"});
    add(core::ObjectReference::descriptor(),
        {"kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"});
    add(k8s::io::api::autoscaling::v1::ScaleSpec::descriptor(), {"replicas"});
    add(k8s::io::api::autoscaling::v1::ScaleStatus::descriptor(), {"selector"});
    return set;
  }();
  return kFields->count(f) != 0;
}

bool IsZero(const pb::Message& msg, const pb::FieldDescriptor* f) {
  const pb::Reflection* r = msg.GetReflection();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return r->GetInt32(msg, f) == 0;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return r->GetInt64(msg, f) == 0;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return !r->GetBool(msg, f);
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return r->GetString(msg, f).empty();
    default:
      return false;
  }
}

// The range knet's Time (int64 Unix nanoseconds) can hold, with a margin.
constexpr int64_t kMaxAbsSeconds = 9'000'000'000;

// Walks one decoded message into JSON. `path` is the JSON path of the message being converted
// ("spec.ports[0]"), used in error messages.
class Converter {
 public:
  base::Status Message(const pb::Message& msg, const std::string& path, nlohmann::json& out) {
    RETURN_IF_ERROR(CheckWireTypes(msg, path));
    const pb::Descriptor* type = msg.GetDescriptor();
    if (type == meta::Time::descriptor()) return TimeValue(msg, path, false, out);
    if (type == meta::MicroTime::descriptor()) return TimeValue(msg, path, true, out);
    if (type == intstr::IntOrString::descriptor()) return IntOrString(msg, path, out);
    if (type == resource::Quantity::descriptor()) return QuantityValue(msg, path, out);
    if (type == meta::FieldsV1::descriptor()) return FieldsV1(msg, path, out);
    out = nlohmann::json::object();
    return Fields(msg, path, out);
  }

 private:
  static std::string Join(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
  }

  // protobuf keeps a field whose number is known but whose wire type is not as an unknown field;
  // upstream's decoder rejects it ("wrong wireType"), and so do we.
  static base::Status CheckWireTypes(const pb::Message& msg, const std::string& path) {
    const pb::UnknownFieldSet& unknown = msg.GetReflection()->GetUnknownFields(msg);
    for (int i = 0; i < unknown.field_count(); ++i) {
      const pb::FieldDescriptor* f =
          msg.GetDescriptor()->FindFieldByNumber(unknown.field(i).number());
      if (f != nullptr) {
        return Invalid(Join(path, f->name()) + ": wrong wire type for field " +
                       std::to_string(f->number()) + " of " + msg.GetDescriptor()->name());
      }
    }
    return base::OkStatus();
  }

  base::Status Fields(const pb::Message& msg, const std::string& path, nlohmann::json& out) {
    const pb::Descriptor* d = msg.GetDescriptor();
    const pb::Reflection* r = msg.GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->is_repeated() ? r->FieldSize(msg, f) == 0 : !r->HasField(msg, f)) continue;
      if (OmitWhenZero(f) && IsZero(msg, f)) continue;
      const std::string fpath = Join(path, f->name());
      if (f->is_map()) {
        nlohmann::json obj = nlohmann::json::object();
        const pb::FieldDescriptor* key = f->message_type()->map_key();
        const pb::FieldDescriptor* value = f->message_type()->map_value();
        for (int j = 0; j < r->FieldSize(msg, f); ++j) {
          const pb::Message& entry = r->GetRepeatedMessage(msg, f, j);
          const std::string k = entry.GetReflection()->GetString(entry, key);
          if (!ValidUtf8(k)) return Invalid(fpath + ": map key is not valid UTF-8");
          nlohmann::json v;
          RETURN_IF_ERROR(Singular(entry, value, fpath + "[" + Quote(k) + "]", v));
          if (v.is_discarded()) v = nullptr;  // a zero Time as a map value stays a null entry
          obj[k] = std::move(v);
        }
        out[f->name()] = std::move(obj);
      } else if (f->is_repeated()) {
        nlohmann::json arr = nlohmann::json::array();
        for (int j = 0; j < r->FieldSize(msg, f); ++j) {
          nlohmann::json v;
          RETURN_IF_ERROR(Repeated(msg, f, j, fpath + "[" + std::to_string(j) + "]", v));
          arr.push_back(std::move(v));
        }
        out[f->name()] = std::move(arr);
      } else {
        nlohmann::json v;
        RETURN_IF_ERROR(Singular(msg, f, fpath, v));
        if (v.is_discarded()) continue;  // a zero Time: JSON null, so left out
        if (f == core::Probe::descriptor()->FindFieldByNumber(1)) {
          // `json:",inline"`: the handler's fields sit directly in the Probe.
          for (auto& [k, val] : v.items()) out[k] = std::move(val);
          continue;
        }
        out[f->name()] = std::move(v);
      }
    }
    return base::OkStatus();
  }

  base::Status Singular(const pb::Message& msg, const pb::FieldDescriptor* f,
                        const std::string& path, nlohmann::json& out) {
    const pb::Reflection* r = msg.GetReflection();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        out = r->GetInt32(msg, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        out = r->GetInt64(msg, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        out = r->GetUInt32(msg, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        out = r->GetUInt64(msg, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        out = r->GetBool(msg, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        out = r->GetDouble(msg, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        out = r->GetFloat(msg, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        out = r->GetEnumValue(msg, f);
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        return StringValue(r->GetString(msg, f), f, path, out);
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        return Message(r->GetMessage(msg, f), path, out);
    }
    return base::OkStatus();
  }

  base::Status Repeated(const pb::Message& msg, const pb::FieldDescriptor* f, int j,
                        const std::string& path, nlohmann::json& out) {
    const pb::Reflection* r = msg.GetReflection();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        out = r->GetRepeatedInt32(msg, f, j);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        out = r->GetRepeatedInt64(msg, f, j);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        out = r->GetRepeatedUInt32(msg, f, j);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        out = r->GetRepeatedUInt64(msg, f, j);
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        out = r->GetRepeatedBool(msg, f, j);
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        out = r->GetRepeatedDouble(msg, f, j);
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        out = r->GetRepeatedFloat(msg, f, j);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        out = r->GetRepeatedEnumValue(msg, f, j);
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        return StringValue(r->GetRepeatedString(msg, f, j), f, path, out);
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
        RETURN_IF_ERROR(Message(r->GetRepeatedMessage(msg, f, j), path, out));
        if (out.is_discarded()) out = nullptr;  // a zero Time inside a list stays a null entry
        break;
      }
    }
    return base::OkStatus();
  }

  static base::Status StringValue(const std::string& s, const pb::FieldDescriptor* f,
                                  const std::string& path, nlohmann::json& out) {
    if (f->type() == pb::FieldDescriptor::TYPE_BYTES) {
      out = Base64(s);  // Go's encoding/json writes []byte as standard base64
      return base::OkStatus();
    }
    if (!ValidUtf8(s)) return Invalid(path + ": string is not valid UTF-8");
    out = s;
    return base::OkStatus();
  }

  // metav1.Time travels as {seconds, nanos}; upstream writes an empty message for the zero time
  // (JSON null) and drops nanos on read (JSON Time has second precision). MicroTime keeps nanos.
  static base::Status TimeValue(const pb::Message& msg, const std::string& path, bool micro,
                                nlohmann::json& out) {
    const pb::Descriptor* d = msg.GetDescriptor();
    const pb::Reflection* r = msg.GetReflection();
    const pb::FieldDescriptor* sec = d->FindFieldByName("seconds");
    const pb::FieldDescriptor* nanos = d->FindFieldByName("nanos");
    if (!r->HasField(msg, sec) && !r->HasField(msg, nanos)) {
      out = nlohmann::json(nlohmann::json::value_t::discarded);
      return base::OkStatus();
    }
    const int64_t s = r->GetInt64(msg, sec);
    const int32_t n = micro ? r->GetInt32(msg, nanos) : 0;
    if (s < -kMaxAbsSeconds || s > kMaxAbsSeconds) {
      return Invalid(path + ": time " + std::to_string(s) + "s since the epoch is out of range");
    }
    if (n < 0 || n > 999'999'999) {
      return Invalid(path + ": nanos " + std::to_string(n) + " is not in [0, 999999999]");
    }
    const Time t = Time::FromUnixNanos(s * 1'000'000'000 + n);
    out = micro ? t.ToRfc3339Micro() : t.ToRfc3339();
    return base::OkStatus();
  }

  static base::Status IntOrString(const pb::Message& msg, const std::string& path,
                                  nlohmann::json& out) {
    const auto& v = static_cast<const intstr::IntOrString&>(msg);
    if (v.type() == 0) {
      out = v.intval();
    } else if (v.type() == 1) {
      if (!ValidUtf8(v.strval())) return Invalid(path + ": string is not valid UTF-8");
      out = v.strval();
    } else {
      return Invalid(path + ": IntOrString type " + std::to_string(v.type()) +
                     " is neither 0 (int) nor 1 (string)");
    }
    return base::OkStatus();
  }

  static base::Status QuantityValue(const pb::Message& msg, const std::string& path,
                                    nlohmann::json& out) {
    const auto& q = static_cast<const resource::Quantity&>(msg);
    auto parsed = Quantity::Parse(q.string());
    if (!parsed.ok()) return parsed.status().WithContext(path);
    out = parsed->ToString();
    return base::OkStatus();
  }

  // FieldsV1's JSON form is its raw bytes, which are themselves JSON (parsed with the project's
  // depth limit, since they come from the client).
  static base::Status FieldsV1(const pb::Message& msg, const std::string& path,
                               nlohmann::json& out) {
    auto parsed = ParseJson(static_cast<const meta::FieldsV1&>(msg).raw());
    if (!parsed.ok()) return parsed.status().WithContext(path + ": FieldsV1 is not valid JSON");
    out = std::move(*parsed);
    return base::OkStatus();
  }
};

}  // namespace

base::StatusOr<nlohmann::json> DecodeProtobuf(std::string_view body) {
  if (body.size() < kMagic.size() || body.substr(0, kMagic.size()) != kMagic) {
    return Invalid("protobuf body does not start with the Kubernetes magic \"k8s\\x00\"");
  }
  const std::string_view rest = body.substr(kMagic.size());
  if (rest.size() > INT_MAX) return Invalid("protobuf body is too large");
  // Debug builds of libprotobuf log an ERROR line for every proto2 string that is not UTF-8; the
  // bytes come from a client, and Converter reports bad UTF-8 as the request's error instead.
  pb::LogSilencer quiet;
  k8s::io::apimachinery::pkg::runtime::Unknown envelope;
  if (!envelope.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) {
    return Invalid("protobuf envelope (runtime.Unknown) is truncated or malformed");
  }
  const std::string& api_version = envelope.typemeta().apiversion();
  const std::string& kind = envelope.typemeta().kind();
  if (kind.empty()) return Invalid("protobuf envelope names no kind (typeMeta.kind is empty)");
  if (api_version.empty()) {
    return Invalid("protobuf envelope names no apiVersion for kind " + Quote(kind));
  }
  if (!envelope.contentencoding().empty()) {
    return Invalid("protobuf envelope has contentEncoding " + Quote(envelope.contentencoding()) +
                   "; only an empty encoding is supported");
  }
  const pb::Message* prototype = FindPrototype(api_version, kind);
  if (prototype == nullptr) {
    return Invalid("no kind " + Quote(kind) + " is registered for version " + Quote(api_version));
  }
  const std::string& raw = envelope.raw();
  if (raw.size() > INT_MAX) return Invalid("protobuf object is too large");
  std::unique_ptr<pb::Message> msg(prototype->New());
  if (!msg->ParseFromArray(raw.data(), static_cast<int>(raw.size()))) {
    return Invalid("protobuf " + kind + " is truncated or malformed");
  }
  nlohmann::json doc;
  Converter converter;
  base::Status st = converter.Message(*msg, "", doc);
  if (!st.ok()) return st.WithContext("decoding protobuf " + kind);
  doc["apiVersion"] = api_version;
  doc["kind"] = kind;
  return doc;
}

std::string WrapEnvelope(std::string_view api_version, std::string_view kind,
                         std::string_view raw) {
  k8s::io::apimachinery::pkg::runtime::Unknown envelope;
  envelope.mutable_typemeta()->set_apiversion(std::string(api_version));
  envelope.mutable_typemeta()->set_kind(std::string(kind));
  envelope.set_raw(std::string(raw));
  return std::string(kMagic) + envelope.SerializeAsString();
}

}  // namespace knet::api::proto
