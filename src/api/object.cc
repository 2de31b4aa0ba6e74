#include "api/object.h"

#include <array>
#include <utility>

#include "api/json.h"

namespace knet::api {
namespace {

using Decoder = base::StatusOr<Object> (*)(const nlohmann::json&, const DecodeOptions&,
                                           std::vector<std::string>*);

template <class T>
base::StatusOr<Object> DecodeAs(const nlohmann::json& doc, const DecodeOptions& opts,
                                std::vector<std::string>* warnings) {
  ASSIGN_OR_RETURN(T v, DecodeJson<T>(doc, opts, warnings));
  return Object(std::move(v));
}

struct KindEntry {
  std::string_view api_version;
  std::string_view kind;
  Decoder decode;
};

template <size_t... I>
constexpr auto MakeKindTable(std::index_sequence<I...>) {
  return std::array<KindEntry, sizeof...(I)>{
      KindEntry{std::variant_alternative_t<I, Object>::kApiVersion,
                std::variant_alternative_t<I, Object>::kKind,
                &DecodeAs<std::variant_alternative_t<I, Object>>}...};
}

constexpr auto kKinds = MakeKindTable(std::make_index_sequence<std::variant_size_v<Object>>());

}  // namespace

base::StatusOr<Object> DecodeObject(const nlohmann::json& doc, const DecodeOptions& opts,
                                    std::vector<std::string>* warnings) {
  if (!doc.is_object()) {
    return base::InvalidArgumentError("expected an object with apiVersion and kind, got " +
                                      DescribeJsonValue(doc));
  }
  auto api_version = doc.find("apiVersion");
  auto kind = doc.find("kind");
  if (api_version == doc.end() || !api_version->is_string() ||
      api_version->get_ref<const std::string&>().empty()) {
    return base::InvalidArgumentError(
        "apiVersion: Required value: every object names its API "
        "version (e.g. \"v1\", \"apps/v1\")");
  }
  if (kind == doc.end() || !kind->is_string() || kind->get_ref<const std::string&>().empty()) {
    return base::InvalidArgumentError(
        "kind: Required value: every object names its kind (e.g. \"Pod\", \"Service\")");
  }
  const auto& v = api_version->get_ref<const std::string&>();
  const auto& k = kind->get_ref<const std::string&>();
  for (const KindEntry& e : kKinds) {
    if (e.api_version == v && e.kind == k) return e.decode(doc, opts, warnings);
  }
  return base::NotFoundError("no matches for kind \"" + k + "\" in version \"" + v + "\"");
}

std::string EncodeObject(const Object& obj) {
  return std::visit([](const auto& o) { return EncodeJson(o); }, obj);
}

ObjectMeta& MetaOf(Object& obj) {
  return std::visit([](auto& o) -> ObjectMeta& { return o.metadata; }, obj);
}

const ObjectMeta& MetaOf(const Object& obj) {
  return std::visit([](const auto& o) -> const ObjectMeta& { return o.metadata; }, obj);
}

std::string_view KindOf(const Object& obj) {
  return std::visit([](const auto& o) -> std::string_view { return o.kKind; }, obj);
}

std::string_view ApiVersionOf(const Object& obj) {
  return std::visit([](const auto& o) -> std::string_view { return o.kApiVersion; }, obj);
}

std::string Describe(const Object& obj) {
  const ObjectMeta& m = MetaOf(obj);
  std::string name = m.name.empty() ? m.generate_name + "*" : m.name;
  if (!m.namespace_.empty()) name = m.namespace_ + "/" + name;
  return std::string(KindOf(obj)) + " \"" + name + "\"";
}

}  // namespace knet::api
