#include "cni/result.h"

#include <string>

#include "base/ip.h"

namespace knet::cni {
namespace {

Error Invalid(std::string msg) { return {ErrorCode::kInvalidNetworkConfig, std::move(msg), ""}; }

}  // namespace

nlohmann::json EmptyResult() {
  return {{"interfaces", nlohmann::json::array()},
          {"ips", nlohmann::json::array()},
          {"routes", nlohmann::json::array()},
          {"dns", nlohmann::json::object()}};
}

Outcome<nlohmann::json> ParseResult(const nlohmann::json& prev_result) {
  nlohmann::json out = EmptyResult();
  if (prev_result.is_null()) return out;
  if (!prev_result.is_object()) return Invalid("prevResult must be an object");
  for (const char* key : {"interfaces", "ips", "routes"}) {
    auto it = prev_result.find(key);
    if (it == prev_result.end() || it->is_null()) continue;
    if (!it->is_array()) return Invalid(std::string("prevResult.") + key + " must be an array");
    out[key] = *it;
  }
  if (auto it = prev_result.find("dns"); it != prev_result.end() && !it->is_null()) {
    if (!it->is_object()) return Invalid("prevResult.dns must be an object");
    out["dns"] = *it;
  }
  const size_t n_interfaces = out["interfaces"].size();
  for (size_t i = 0; i < n_interfaces; ++i) {
    const nlohmann::json& itf = out["interfaces"][i];
    if (!itf.is_object() || !itf.contains("name") || !itf["name"].is_string()) {
      return Invalid("prevResult.interfaces[" + std::to_string(i) + "] needs a string name");
    }
  }
  for (size_t i = 0; i < out["ips"].size(); ++i) {
    nlohmann::json& ip = out["ips"][i];
    std::string where = "prevResult.ips[" + std::to_string(i) + "]";
    if (!ip.is_object()) return Invalid(where + " must be an object");
    auto address = ip.find("address");
    if (address == ip.end() || !address->is_string() ||
        !base::Cidr::ParseLoose(address->get<std::string>()).ok()) {
      return Invalid(where + ".address must be an address with prefix length");
    }
    if (auto gw = ip.find("gateway"); gw != ip.end() && !gw->is_null()) {
      if (!gw->is_string() || !base::IPAddress::Parse(gw->get<std::string>()).ok()) {
        return Invalid(where + ".gateway must be an IP address");
      }
    }
    if (auto itf = ip.find("interface"); itf != ip.end() && !itf->is_null()) {
      if (!itf->is_number_integer() || itf->get<int64_t>() < 0 ||
          static_cast<size_t>(itf->get<int64_t>()) >= n_interfaces) {
        return Invalid(where + ".interface must index prevResult.interfaces");
      }
    }
    ip.erase("version");
  }
  for (size_t i = 0; i < out["routes"].size(); ++i) {
    const nlohmann::json& r = out["routes"][i];
    std::string where = "prevResult.routes[" + std::to_string(i) + "]";
    if (!r.is_object() || !r.contains("dst") || !r["dst"].is_string() ||
        !base::Cidr::ParseLoose(r["dst"].get<std::string>()).ok()) {
      return Invalid(where + ".dst must be a CIDR");
    }
  }
  return out;
}

nlohmann::json RenderResult(const nlohmann::json& result, std::string_view version) {
  nlohmann::json out = result;
  out["cniVersion"] = version;
  for (nlohmann::json& ip : out["ips"]) {
    if (version == "0.4.0") {
      auto cidr = base::Cidr::ParseLoose(ip.value("address", ""));
      ip["version"] = cidr.ok() && cidr->is_v6() ? "6" : "4";
    } else {
      ip.erase("version");
    }
  }
  if (out.contains("dns") && out["dns"].empty()) out.erase("dns");
  return out;
}

}  // namespace knet::cni
