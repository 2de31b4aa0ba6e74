// The codec's non-template parts and its explicit instantiations: every type that
// EncodeJson/DecodeJson serve is listed at the bottom, so callers never compile the visitors.
#include "api/codec.h"

#include <algorithm>

#include "api/internal/codec_impl.h"
#include "api/object.h"

namespace knet::api {
namespace internal {

std::string Path::ToString() const {
  std::vector<const Path*> chain;
  for (const Path* p = this; p != nullptr; p = p->parent) chain.push_back(p);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const Path* p = *it;
    if (p->index >= 0) {
      out += "[" + std::to_string(p->index) + "]";
    } else if (p->index == kMapKey) {
      out += "[" + std::string(p->name) + "]";
    } else if (!p->name.empty()) {
      if (!out.empty()) out += ".";
      out += p->name;
    }
  }
  return out;
}

void DecodeContext::Error(const Path& p, const std::string& msg) {
  if (errors.size() >= kMaxDecodeErrors) return;
  const std::string path = p.ToString();
  errors.push_back(path.empty() ? msg : path + ": " + msg);
}

void DecodeContext::TypeError(const Path& p, std::string_view want, const json& got) {
  Error(p, "expected " + std::string(want) + ", got " + DescribeJsonValue(got));
}

void ReportUnknownFields(const json& j, const std::vector<std::string_view>& known, bool typed,
                         const Path& p, DecodeContext& c) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (typed && (key == "apiVersion" || key == "kind")) continue;
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    Path child{&p, key};
    std::string msg = "unknown field \"" + child.ToString() + "\"";
    if (c.strict) {
      if (c.errors.size() < kMaxDecodeErrors) c.errors.push_back(std::move(msg));
    } else {
      c.warnings.push_back(std::move(msg));
    }
  }
}

void DecodeJsonRaw(const json& j, json& out) { out = j; }

void EncodeJsonValue(JsonWriter& w, const json& v) {
  w.Raw(v.dump(-1, ' ', false, json::error_handler_t::replace));
}

void DecodeTime(const json& j, Time& out, const Path& p, DecodeContext& c) {
  if (!j.is_string()) return c.TypeError(p, "RFC 3339 time string", j);
  auto t = Time::Parse(j.get_ref<const std::string&>());
  if (!t.ok()) return c.Error(p, t.status().message());
  out = *t;
}

bool DecodeInteger(const json& j, int64_t min, int64_t max, int64_t& out, const Path& p,
                   DecodeContext& c) {
  if (j.is_number_unsigned()) {
    const auto u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) {
      c.Error(p, "value " + j.dump() + " out of range [" + std::to_string(min) + ", " +
                     std::to_string(max) + "]");
      return false;
    }
    out = static_cast<int64_t>(u);
    return true;
  }
  if (j.is_number_integer()) {
    const auto v = j.get<int64_t>();
    if (v < min || v > max) {
      c.Error(p, "value " + j.dump() + " out of range [" + std::to_string(min) + ", " +
                     std::to_string(max) + "]");
      return false;
    }
    out = v;
    return true;
  }
  c.TypeError(p, "integer", j);
  return false;
}

void DecodeIntOrString(const json& j, IntOrString& out, const Path& p, DecodeContext& c) {
  if (j.is_string()) {
    out = IntOrString::FromString(j.get<std::string>());
    return;
  }
  if (j.is_number_integer()) {
    int64_t v = 0;
    if (DecodeInteger(j, INT32_MIN, INT32_MAX, v, p, c)) {
      out = IntOrString::FromInt(static_cast<int32_t>(v));
    }
    return;
  }
  c.TypeError(p, "integer or string", j);
}

void DecodeQuantity(const json& j, Quantity& out, const Path& p, DecodeContext& c) {
  std::string text;
  if (j.is_string()) {
    text = j.get<std::string>();
  } else if (j.is_number()) {
    text = j.dump();  // 2 -> "2", 0.5 -> "0.5", 1e3 -> "1000.0"
  } else {
    return c.TypeError(p, "quantity (string or number)", j);
  }
  auto q = Quantity::Parse(text);
  if (!q.ok()) return c.Error(p, q.status().message());
  out = std::move(q).value();
}

}  // namespace internal

base::Status DecodeErrorStatus(const std::vector<std::string>& errors) {
  std::string msg;
  for (const auto& e : errors) {
    if (!msg.empty()) msg += "; ";
    msg += e;
  }
  return base::InvalidArgumentError(msg);
}

template <class T>
std::string EncodeJson(const T& obj) {
  return internal::EncodeTyped(obj);
}

template <class T>
base::StatusOr<T> DecodeJson(const nlohmann::json& doc, const DecodeOptions& opts,
                             std::vector<std::string>* warnings) {
  return internal::DecodeTyped<T>(doc, opts, warnings);
}

template <class T>
base::StatusOr<T> DecodeJson(std::string_view text, const DecodeOptions& opts,
                             std::vector<std::string>* warnings) {
  std::vector<std::string> dups;
  ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(text, &dups));
  std::vector<std::string> dup_msgs;
  for (const auto& d : dups) dup_msgs.push_back("duplicate field \"" + d + "\"");
  if (!dup_msgs.empty()) {
    if (opts.strict) return DecodeErrorStatus(dup_msgs);
    if (warnings != nullptr) warnings->insert(warnings->end(), dup_msgs.begin(), dup_msgs.end());
  }
  return DecodeJson<T>(doc, opts, warnings);
}

#define KNET_API_CODEC_INSTANTIATE(T)                                                   \
  template std::string EncodeJson<T>(const T&);                                         \
  template base::StatusOr<T> DecodeJson<T>(const nlohmann::json&, const DecodeOptions&, \
                                           std::vector<std::string>*);                  \
  template base::StatusOr<T> DecodeJson<T>(std::string_view, const DecodeOptions&,      \
                                           std::vector<std::string>*);
#define KNET_API_CODEC_INSTANTIATE_KIND(T) \
  KNET_API_CODEC_INSTANTIATE(T)            \
  KNET_API_CODEC_INSTANTIATE(List<T>)

KNET_API_CODEC_INSTANTIATE_KIND(Namespace)
KNET_API_CODEC_INSTANTIATE_KIND(Node)
KNET_API_CODEC_INSTANTIATE_KIND(Pod)
KNET_API_CODEC_INSTANTIATE_KIND(Service)
KNET_API_CODEC_INSTANTIATE_KIND(Endpoints)
KNET_API_CODEC_INSTANTIATE_KIND(Event)
KNET_API_CODEC_INSTANTIATE_KIND(EndpointSlice)
KNET_API_CODEC_INSTANTIATE_KIND(NetworkPolicy)
KNET_API_CODEC_INSTANTIATE_KIND(Deployment)
KNET_API_CODEC_INSTANTIATE_KIND(ReplicaSet)
KNET_API_CODEC_INSTANTIATE_KIND(Lease)
KNET_API_CODEC_INSTANTIATE(ObjectMeta)
KNET_API_CODEC_INSTANTIATE(LabelSelector)
KNET_API_CODEC_INSTANTIATE(Status)
KNET_API_CODEC_INSTANTIATE(WatchEvent)
KNET_API_CODEC_INSTANTIATE(PodTemplateSpec)

}  // namespace knet::api
