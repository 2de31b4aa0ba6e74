#include "api/manifest.h"

#include "api/json.h"
#include "api/yaml.h"

namespace knet::api {
namespace {

using nlohmann::json;

std::string Where(std::string_view source, int index, const json& doc) {
  std::string where(source);
  where += ": document " + std::to_string(index);
  if (doc.is_object()) {
    auto kind = doc.find("kind");
    auto meta = doc.find("metadata");
    if (kind != doc.end() && kind->is_string() && meta != doc.end() && meta->is_object()) {
      auto name = meta->find("name");
      if (name != meta->end() && name->is_string()) {
        where += " (" + kind->get<std::string>() + " \"" + name->get<std::string>() + "\")";
      }
    }
  }
  return where;
}

// Decodes one document, unwrapping v1 List into its items.
base::Status DecodeDocument(const json& doc, const std::string& where, const DecodeOptions& opts,
                            std::vector<Object>& out, std::vector<std::string>* warnings) {
  if (doc.is_object()) {
    auto kind = doc.find("kind");
    if (kind != doc.end() && kind->is_string() && kind->get_ref<const std::string&>() == "List") {
      auto items = doc.find("items");
      if (items == doc.end() || items->is_null()) return base::OkStatus();
      if (!items->is_array()) {
        return base::InvalidArgumentError(where + ": items: expected array, got " +
                                          DescribeJsonValue(*items));
      }
      for (size_t i = 0; i < items->size(); ++i) {
        RETURN_IF_ERROR(DecodeDocument((*items)[i], where + ": items[" + std::to_string(i) + "]",
                                       opts, out, warnings));
      }
      return base::OkStatus();
    }
  }
  std::vector<std::string> w;
  auto obj = DecodeObject(doc, opts, &w);
  if (warnings != nullptr) {
    for (auto& msg : w) warnings->push_back(where + ": " + msg);
  }
  if (!obj.ok()) return obj.status().WithContext(where);
  out.push_back(std::move(obj).value());
  return base::OkStatus();
}

}  // namespace

base::StatusOr<std::vector<Object>> DecodeManifest(std::string_view text, std::string_view source,
                                                   const DecodeOptions& opts,
                                                   std::vector<std::string>* warnings) {
  std::vector<Object> out;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return out;
  if (text[first] == '{') {
    // JSON: parse it as JSON so that duplicate keys and numbers are exact.
    std::vector<std::string> dups;
    auto doc = ParseJson(text, &dups);
    if (!doc.ok()) return doc.status().WithContext(std::string(source));
    const std::string where = Where(source, 1, *doc);
    for (const auto& d : dups) {
      const std::string msg = "duplicate field \"" + d + "\"";
      if (opts.strict) return base::InvalidArgumentError(where + ": " + msg);
      if (warnings != nullptr) warnings->push_back(where + ": " + msg);
    }
    RETURN_IF_ERROR(DecodeDocument(*doc, where, opts, out, warnings));
    return out;
  }
  auto docs = ParseYamlDocuments(text);
  if (!docs.ok()) return docs.status().WithContext(std::string(source));
  for (const YamlDocument& d : *docs) {
    RETURN_IF_ERROR(DecodeDocument(d.value, Where(source, d.index, d.value), opts, out, warnings));
  }
  return out;
}

std::string EncodeYaml(const Object& object) {
  // EncodeObject writes valid JSON by construction; parse it back to a DOM to emit YAML.
  return EmitYaml(json::parse(EncodeObject(object), nullptr, /*allow_exceptions=*/false));
}

std::string EncodeManifestYaml(const std::vector<Object>& objects) {
  std::string out;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) out += "---\n";
    out += EncodeYaml(objects[i]);
  }
  return out;
}

}  // namespace knet::api
