#include "cni/spec.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace knet::cni {
namespace {
constexpr std::array<std::string_view, 3> kSupported = {"0.4.0", "1.0.0", "1.1.0"};
}  // namespace

std::span<const std::string_view> SupportedVersions() { return kSupported; }

bool IsSupportedVersion(std::string_view version) {
  auto v = SupportedVersions();
  return std::find(v.begin(), v.end(), version) != v.end();
}

std::string ErrorJson(const Error& error, std::string_view cni_version) {
  nlohmann::json j;
  j["cniVersion"] = cni_version;
  j["code"] = static_cast<int>(error.code);
  j["msg"] = error.msg;
  if (!error.details.empty()) j["details"] = error.details;
  return j.dump(2) + "\n";
}

VersionResult HandleVersion(std::string_view request_stdin) {
  std::string version(kCurrentVersion);
  if (request_stdin.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    nlohmann::json conf = nlohmann::json::parse(request_stdin, nullptr, /*allow_exceptions=*/false);
    if (conf.is_discarded() || !conf.is_object()) {
      return {false,
              "",
              {ErrorCode::kDecodeFailure, "decoding VERSION request on stdin",
               "stdin is not a JSON object"}};
    }
    if (auto it = conf.find("cniVersion"); it != conf.end()) {
      if (!it->is_string()) {
        return {false,
                "",
                {ErrorCode::kDecodeFailure, "decoding VERSION request on stdin",
                 "cniVersion must be a string"}};
      }
      version = it->get<std::string>();
    }
  }
  nlohmann::json out;
  out["cniVersion"] = version;
  out["supportedVersions"] = nlohmann::json::array();
  for (auto v : SupportedVersions()) out["supportedVersions"].push_back(v);
  return {true, out.dump(2) + "\n", {}};
}

}  // namespace knet::cni
