// Loading and parsing CNI network configuration (lists), as libcni's ConfListFromBytes /
// ConfFromBytes / ConfFiles do.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/cniexec/cniexec.h"

namespace knet::agent::cniexec {
namespace {

std::string Where(const std::string& source) {
  return source.empty() ? "parsing network configuration" : "parsing " + source;
}

base::StatusOr<nlohmann::json> ParseObject(std::string_view bytes, const std::string& source) {
  nlohmann::json doc = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return base::InvalidArgumentError(Where(source) + ": not valid JSON");
  }
  if (!doc.is_object()) return base::InvalidArgumentError(Where(source) + ": not a JSON object");
  return doc;
}

base::Status CheckPlugin(const nlohmann::json& p, const std::string& what,
                         const std::string& source) {
  if (!p.is_object())
    return base::InvalidArgumentError(Where(source) + ": " + what + " is not an object");
  auto t = p.find("type");
  if (t == p.end() || !t->is_string() || t->get<std::string>().empty()) {
    return base::InvalidArgumentError(Where(source) + ": " + what + " has no \"type\"");
  }
  const std::string type = t->get<std::string>();
  if (type.find('/') != std::string::npos || type == "." || type == "..") {
    return base::InvalidArgumentError(Where(source) + ": " + what + " type \"" + type +
                                      "\" is not a plugin name");
  }
  if (auto c = p.find("capabilities"); c != p.end() && !c->is_object()) {
    return base::InvalidArgumentError(Where(source) + ": " + what +
                                      " \"capabilities\" must be an object");
  }
  return base::OkStatus();
}

base::StatusOr<bool> OptionalBool(const nlohmann::json& doc, const char* key,
                                  const std::string& source) {
  auto it = doc.find(key);
  if (it == doc.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  // libcni also accepts the strings "true"/"false" for these.
  if (it->is_string() && (*it == "true" || *it == "false")) return *it == "true";
  return base::InvalidArgumentError(Where(source) + ": \"" + key + "\" must be a boolean");
}

base::Status ReadNameAndVersion(const nlohmann::json& doc, const std::string& source,
                                NetworkConfigList* out) {
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string() || name->get<std::string>().empty()) {
    return base::InvalidArgumentError(Where(source) + ": no \"name\"");
  }
  out->name = name->get<std::string>();
  auto version = doc.find("cniVersion");
  if (version == doc.end() || !version->is_string() || version->get<std::string>().empty()) {
    return base::InvalidArgumentError(Where(source) + ": no \"cniVersion\"");
  }
  out->cni_version = version->get<std::string>();
  return base::OkStatus();
}

}  // namespace

base::StatusOr<NetworkConfigList> ParseNetworkConfigList(std::string_view bytes,
                                                         std::string source) {
  ASSIGN_OR_RETURN(nlohmann::json doc, ParseObject(bytes, source));
  NetworkConfigList out;
  RETURN_IF_ERROR(ReadNameAndVersion(doc, source, &out));
  ASSIGN_OR_RETURN(out.disable_check, OptionalBool(doc, "disableCheck", source));
  ASSIGN_OR_RETURN(out.disable_gc, OptionalBool(doc, "disableGC", source));
  auto plugins = doc.find("plugins");
  if (plugins == doc.end() || !plugins->is_array() || plugins->empty()) {
    return base::InvalidArgumentError(Where(source) + ": \"plugins\" must be a non-empty list");
  }
  for (size_t i = 0; i < plugins->size(); ++i) {
    RETURN_IF_ERROR(CheckPlugin((*plugins)[i], "plugins[" + std::to_string(i) + "]", source));
    out.plugins.push_back((*plugins)[i]);
  }
  out.bytes = std::string(bytes);
  out.source = std::move(source);
  return out;
}

base::StatusOr<NetworkConfigList> ParseNetworkConfig(std::string_view bytes, std::string source) {
  ASSIGN_OR_RETURN(nlohmann::json doc, ParseObject(bytes, source));
  NetworkConfigList out;
  RETURN_IF_ERROR(ReadNameAndVersion(doc, source, &out));
  RETURN_IF_ERROR(CheckPlugin(doc, "the plugin", source));
  out.plugins.push_back(doc);
  nlohmann::json list = {{"cniVersion", out.cni_version},
                         {"name", out.name},
                         {"plugins", nlohmann::json::array({doc})}};
  out.bytes = list.dump();
  out.source = std::move(source);
  return out;
}

base::StatusOr<NetworkConfigList> LoadNetworkConfigList(const std::string& conf_dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(conf_dir, ec)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".conflist" && ext != ".conf" && ext != ".json") continue;
    if (!e.is_regular_file(ec)) continue;
    files.push_back(e.path().string());
  }
  if (ec) {
    return base::NotFoundError("reading CNI conf dir " + conf_dir + ": " + ec.message());
  }
  if (files.empty()) {
    return base::NotFoundError("no network config found in " + conf_dir +
                               " (*.conflist, *.conf or *.json)");
  }
  std::sort(files.begin(), files.end());
  const std::string& file = files.front();
  std::ifstream in(file, std::ios::binary);
  if (!in) return base::NotFoundError("reading " + file + ": cannot open");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (file.ends_with(".conflist")) return ParseNetworkConfigList(bytes.str(), file);
  return ParseNetworkConfig(bytes.str(), file);
}

}  // namespace knet::agent::cniexec
