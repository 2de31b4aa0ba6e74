#include "cni/config.h"

#include <cctype>
#include <utility>

namespace knet::cni {
namespace {

Error EnvError(std::string msg, std::string details = {}) {
  return {ErrorCode::kInvalidEnvironment, std::move(msg), std::move(details)};
}

Error ConfError(std::string msg, std::string details = {}) {
  return {ErrorCode::kInvalidNetworkConfig, std::move(msg), std::move(details)};
}

bool ValidContainerId(std::string_view id) {
  if (id.empty() || !std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool ValidIfName(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == '\0') {
      return false;
    }
  }
  return true;
}

// Reads an optional field of the expected JSON type into *out; an error names the field.
template <typename T>
std::optional<Error> ReadField(const nlohmann::json& conf, const char* key, T* out) {
  auto it = conf.find(key);
  if (it == conf.end() || it->is_null()) return std::nullopt;
  if constexpr (std::is_same_v<T, bool>) {
    if (!it->is_boolean()) return ConfError(std::string(key) + " must be a boolean");
    *out = it->get<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return ConfError(std::string(key) + " must be a string");
    *out = it->get<std::string>();
  } else {
    static_assert(std::is_same_v<T, nlohmann::json>);
    if (!it->is_object()) return ConfError(std::string(key) + " must be an object");
    *out = *it;
  }
  return std::nullopt;
}

std::optional<Error> ReadAttachments(const nlohmann::json& conf, NetConf* out) {
  for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    auto it = conf.find(key);
    if (it == conf.end() || it->is_null()) continue;
    if (!it->is_array()) return ConfError(std::string(key) + " must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const nlohmann::json& a = (*it)[i];
      std::string where = std::string(key) + "[" + std::to_string(i) + "]";
      if (!a.is_object()) return ConfError(where + " must be an object");
      auto id = a.find("containerID");
      auto ifname = a.find("ifname");
      if (id == a.end() || !id->is_string() || id->get<std::string>().empty()) {
        return ConfError(where + ".containerID must be a non-empty string");
      }
      if (ifname == a.end() || !ifname->is_string() || ifname->get<std::string>().empty()) {
        return ConfError(where + ".ifname must be a non-empty string");
      }
      out->valid_attachments.push_back({id->get<std::string>(), ifname->get<std::string>()});
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view CommandName(Command command) {
  switch (command) {
    case Command::kAdd:
      return "ADD";
    case Command::kDel:
      return "DEL";
    case Command::kCheck:
      return "CHECK";
    case Command::kVersion:
      return "VERSION";
    case Command::kStatus:
      return "STATUS";
    case Command::kGc:
      return "GC";
  }
  return "?";
}

Outcome<Environment> ParseEnvironment(const EnvLookup& lookup) {
  Environment env;
  std::optional<std::string> command = lookup("CNI_COMMAND");
  if (!command || command->empty()) return EnvError("CNI_COMMAND is not set");
  static constexpr std::pair<std::string_view, Command> kCommands[] = {
      {"ADD", Command::kAdd},         {"DEL", Command::kDel},       {"CHECK", Command::kCheck},
      {"VERSION", Command::kVersion}, {"STATUS", Command::kStatus}, {"GC", Command::kGc}};
  bool known = false;
  for (const auto& [name, c] : kCommands) {
    if (*command == name) {
      env.command = c;
      known = true;
    }
  }
  if (!known) {
    return EnvError("unknown CNI_COMMAND \"" + *command + "\"",
                    "expected one of ADD, DEL, CHECK, VERSION, STATUS, GC");
  }
  env.args = lookup("CNI_ARGS").value_or("");
  env.path = lookup("CNI_PATH").value_or("");
  const bool per_container = env.command == Command::kAdd || env.command == Command::kDel ||
                             env.command == Command::kCheck;
  if (!per_container) return env;

  std::optional<std::string> id = lookup("CNI_CONTAINERID");
  if (!id || id->empty()) return EnvError("CNI_CONTAINERID is not set");
  if (!ValidContainerId(*id)) {
    return EnvError("CNI_CONTAINERID \"" + *id + "\" is invalid",
                    "letters, digits, '_', '.' and '-', starting with a letter or digit");
  }
  env.container_id = *id;
  std::optional<std::string> ifname = lookup("CNI_IFNAME");
  if (!ifname || ifname->empty()) return EnvError("CNI_IFNAME is not set");
  if (!ValidIfName(*ifname)) {
    return EnvError("CNI_IFNAME \"" + *ifname + "\" is not a valid interface name",
                    "1-15 bytes, no '/', ':' or whitespace");
  }
  env.ifname = *ifname;
  env.netns = lookup("CNI_NETNS").value_or("");
  if (env.netns.empty() && env.command != Command::kDel) {
    return EnvError("CNI_NETNS is not set");
  }
  return env;
}

std::string ResponseVersion(std::string_view stdin_bytes) {
  nlohmann::json conf = nlohmann::json::parse(stdin_bytes, nullptr, /*allow_exceptions=*/false);
  if (!conf.is_discarded() && conf.is_object()) {
    auto it = conf.find("cniVersion");
    if (it != conf.end() && it->is_string() && IsSupportedVersion(it->get<std::string>())) {
      return it->get<std::string>();
    }
  }
  return std::string(kCurrentVersion);
}

Outcome<NetConf> ParseNetConf(std::string_view stdin_bytes, Command command) {
  nlohmann::json conf = nlohmann::json::parse(stdin_bytes, nullptr, /*allow_exceptions=*/false);
  if (conf.is_discarded()) {
    return Error{ErrorCode::kDecodeFailure, "decoding the network configuration on stdin",
                 "stdin is not valid JSON"};
  }
  if (!conf.is_object()) {
    return Error{ErrorCode::kDecodeFailure, "decoding the network configuration on stdin",
                 "stdin is not a JSON object"};
  }
  NetConf nc;
  auto version = conf.find("cniVersion");
  if (version == conf.end()) return ConfError("cniVersion is missing");
  if (!version->is_string()) return ConfError("cniVersion must be a string");
  nc.cni_version = version->get<std::string>();
  if (!IsSupportedVersion(nc.cni_version)) {
    return Error{ErrorCode::kIncompatibleVersion,
                 "unsupported cniVersion \"" + nc.cni_version + "\"",
                 "knet-cni supports 0.4.0, 1.0.0 and 1.1.0"};
  }
  if ((command == Command::kStatus || command == Command::kGc) && nc.cni_version != "1.1.0") {
    return Error{ErrorCode::kIncompatibleVersion,
                 std::string(CommandName(command)) + " needs cniVersion 1.1.0, not \"" +
                     nc.cni_version + "\"",
                 ""};
  }
  if (auto e = ReadField(conf, "name", &nc.name)) return *e;
  if (nc.name.empty()) return ConfError("name is missing");
  if (auto e = ReadField(conf, "type", &nc.type)) return *e;
  if (auto e = ReadField(conf, "bridge", &nc.bridge)) return *e;
  if (nc.bridge.empty() || nc.bridge.size() > 15 || nc.bridge == "." || nc.bridge == ".." ||
      nc.bridge.find_first_of("/: \t\n") != std::string::npos) {
    return ConfError("bridge \"" + nc.bridge + "\" is not a valid interface name",
                     "1-15 bytes, no '/', ':' or whitespace");
  }
  for (auto [key, field] :
       {std::pair{"isGateway", &nc.is_gateway},
        std::pair{"isDefaultGateway", &nc.is_default_gateway},
        std::pair{"forceAddress", &nc.force_address}, std::pair{"hairpinMode", &nc.hairpin_mode},
        std::pair{"ipMasq", &nc.ip_masq}}) {
    if (auto e = ReadField(conf, key, field)) return *e;
  }
  if (nc.is_default_gateway) nc.is_gateway = true;
  if (auto it = conf.find("mtu"); it != conf.end() && !it->is_null()) {
    if (!it->is_number_integer()) return ConfError("mtu must be an integer");
    int64_t mtu = it->get<int64_t>();
    if (mtu != 0 && (mtu < 68 || mtu > 65535)) {
      return ConfError("mtu " + std::to_string(mtu) + " is out of range", "68..65535, or 0");
    }
    nc.mtu = static_cast<uint32_t>(mtu);
  }
  if (auto e = ReadField(conf, "ipam", &nc.ipam)) return *e;
  if (auto e = ReadField(conf, "prevResult", &nc.prev_result)) return *e;
  if (auto e = ReadField(conf, "runtimeConfig", &nc.runtime_config)) return *e;
  if (auto e = ReadField(conf, "args", &nc.args)) return *e;
  if (auto e = ReadAttachments(conf, &nc)) return *e;
  if (nc.ipam.is_null()) return ConfError("ipam is missing", "knet-cni needs a host-local ipam");
  if (auto it = nc.ipam.find("type"); it != nc.ipam.end()) {
    if (!it->is_string()) return ConfError("ipam.type must be a string");
    if (it->get<std::string>() != "host-local") {
      return ConfError("ipam.type \"" + it->get<std::string>() + "\" is not supported",
                       "knet-cni has host-local IPAM built in; set ipam.type to host-local");
    }
  }
  nc.raw = std::move(conf);
  return nc;
}

}  // namespace knet::cni
