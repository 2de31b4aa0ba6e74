#include "apiserver/auth/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "apiserver/auth/internal/file_util.h"

namespace knet::apiserver::auth {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) |
                 uint32_t{static_cast<unsigned char>(in[i + 2])};
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(in[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(in[i + 1])} << 8;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += rest == 2 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Standard base64, padding optional, whitespace ignored.
std::optional<std::string> Base64Decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (padding) return std::nullopt;  // data after padding
    const char* p = std::strchr(kB64, c);
    if (c == '\0' || p == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return std::nullopt;  // a dangling sextet
  return out;
}

std::string Resolve(const std::string& kubeconfig_path, const std::string& file) {
  if (file.empty() || file.front() == '/') return file;
  size_t slash = kubeconfig_path.find_last_of('/');
  if (slash == std::string::npos) return file;
  return kubeconfig_path.substr(0, slash + 1) + file;
}

// The `key` map of the entry named `name` in the list `list` ("clusters", "users", "contexts").
base::StatusOr<YAML::Node> FindNamed(const YAML::Node& root, const char* list, const char* key,
                                     const std::string& name, const std::string& path) {
  YAML::Node entries = root[list];
  if (entries && entries.IsSequence()) {
    for (const YAML::Node& e : entries) {
      if (e.IsMap() && e["name"] && e["name"].as<std::string>() == name) {
        YAML::Node inner = e[key];
        if (!inner || !inner.IsMap()) {
          return base::InvalidArgumentError(path + ": " + list + " entry \"" + name + "\" has no " +
                                            key + " map");
        }
        return inner;
      }
    }
  }
  return base::NotFoundError(path + ": no " + list + " entry named \"" + name + "\"");
}

std::string Str(const YAML::Node& n, const char* key) {
  YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return "";
  return v.as<std::string>();
}

base::StatusOr<Kubeconfig> LoadParsed(const YAML::Node& root, const std::string& path,
                                      std::string_view context) {
  if (!root.IsMap()) return base::InvalidArgumentError(path + ": not a kubeconfig (not a map)");
  Kubeconfig kc;
  kc.context = context.empty() ? Str(root, "current-context") : std::string(context);
  if (kc.context.empty()) {
    return base::InvalidArgumentError(path + ": no current-context is set and no context given");
  }
  ASSIGN_OR_RETURN(YAML::Node ctx, FindNamed(root, "contexts", "context", kc.context, path));
  kc.cluster = Str(ctx, "cluster");
  kc.user = Str(ctx, "user");
  if (kc.cluster.empty()) {
    return base::InvalidArgumentError(path + ": context \"" + kc.context + "\" names no cluster");
  }
  ASSIGN_OR_RETURN(YAML::Node cluster, FindNamed(root, "clusters", "cluster", kc.cluster, path));
  kc.server = Str(cluster, "server");
  if (kc.server.empty()) {
    return base::InvalidArgumentError(path + ": cluster \"" + kc.cluster + "\" has no server");
  }
  if (YAML::Node skip = cluster["insecure-skip-tls-verify"]; skip && skip.IsScalar()) {
    kc.insecure_skip_tls_verify = skip.as<bool>();
  }
  if (std::string data = Str(cluster, "certificate-authority-data"); !data.empty()) {
    auto pem = Base64Decode(data);
    if (!pem) {
      return base::InvalidArgumentError(path + ": cluster \"" + kc.cluster +
                                        "\": certificate-authority-data is not valid base64");
    }
    kc.ca_pem = std::move(*pem);
  } else if (std::string file = Str(cluster, "certificate-authority"); !file.empty()) {
    auto pem = auth_internal::ReadFile(Resolve(path, file));
    if (!pem.ok()) {
      return pem.status().WithContext(path + ": cluster \"" + kc.cluster +
                                      "\": certificate-authority");
    }
    kc.ca_pem = std::move(*pem);
  }
  if (!kc.user.empty()) {
    ASSIGN_OR_RETURN(YAML::Node user, FindNamed(root, "users", "user", kc.user, path));
    kc.token = Str(user, "token");
    if (std::string file = Str(user, "tokenFile"); kc.token.empty() && !file.empty()) {
      auto token = auth_internal::ReadFile(Resolve(path, file));
      if (!token.ok()) {
        return token.status().WithContext(path + ": user \"" + kc.user + "\": tokenFile");
      }
      kc.token = std::move(*token);
      while (!kc.token.empty() && std::isspace(static_cast<unsigned char>(kc.token.back()))) {
        kc.token.pop_back();
      }
    }
  }
  return kc;
}

}  // namespace

base::Status WriteKubeconfig(const std::string& path, const KubeconfigSpec& spec) {
  if (spec.server.empty()) {
    return base::InvalidArgumentError("writing kubeconfig " + path + ": no server URL");
  }
  std::string text;
  try {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "apiVersion" << YAML::Value << "v1";
    out << YAML::Key << "kind" << YAML::Value << "Config";
    out << YAML::Key << "clusters" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << spec.cluster_name;
    out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "server" << YAML::Value << spec.server;
    if (!spec.ca_pem.empty()) {
      out << YAML::Key << "certificate-authority-data" << YAML::Value << Base64Encode(spec.ca_pem);
    }
    out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
    out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << spec.user;
    out << YAML::Key << "user" << YAML::Value << YAML::BeginMap;
    if (!spec.token.empty()) out << YAML::Key << "token" << YAML::Value << spec.token;
    out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
    out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << spec.context;
    out << YAML::Key << "context" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "cluster" << YAML::Value << spec.cluster_name;
    out << YAML::Key << "user" << YAML::Value << spec.user;
    out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
    out << YAML::Key << "current-context" << YAML::Value << spec.context;
    out << YAML::Key << "preferences" << YAML::Value << YAML::BeginMap << YAML::EndMap;
    out << YAML::EndMap;
    if (!out.good()) {
      return base::InternalError("writing kubeconfig " + path + ": " + out.GetLastError());
    }
    text = std::string(out.c_str()) + "\n";
  } catch (const std::exception& e) {
    return base::InternalError("writing kubeconfig " + path + ": " + e.what());
  }
  return auth_internal::WriteFileAtomic(path, text, 0600).WithContext("writing kubeconfig");
}

base::StatusOr<Kubeconfig> LoadKubeconfig(const std::string& path, std::string_view context) {
  ASSIGN_OR_RETURN(std::string text, auth_internal::ReadFile(path));
  try {
    YAML::Node root = YAML::Load(text);
    return LoadParsed(root, path, context);
  } catch (const YAML::Exception& e) {
    return base::InvalidArgumentError(path + ": not valid kubeconfig YAML: " + e.what());
  }
}

}  // namespace knet::apiserver::auth
