#include "controllers/endpoints/internal/subsets.h"

#include <algorithm>
#include <map>
#include <string>
#include <tuple>

namespace knet::controllers::endpoints_internal {

namespace {

bool LessPort(const api::EndpointPort& a, const api::EndpointPort& b) {
  return std::tie(a.name, a.port, a.protocol) < std::tie(b.name, b.port, b.protocol);
}

bool LessAddress(const api::EndpointAddress& a, const api::EndpointAddress& b) {
  const std::string& ua = a.target_ref ? a.target_ref->uid : std::string();
  const std::string& ub = b.target_ref ? b.target_ref->uid : std::string();
  return std::tie(a.ip, ua) < std::tie(b.ip, ub);
}

std::string PortsKey(const std::vector<api::EndpointPort>& ports) {
  std::string key;
  for (const api::EndpointPort& p : ports) {
    key += p.name + "/" + std::to_string(p.port) + "/" + p.protocol + "/" +
           p.app_protocol.value_or("") + ";";
  }
  return key;
}

}  // namespace

std::vector<api::EndpointSubset> RepackSubsets(std::vector<PodEndpoint> pods) {
  std::map<std::string, api::EndpointSubset> by_ports;  // ordered: deterministic subsets
  for (PodEndpoint& p : pods) {
    std::sort(p.ports.begin(), p.ports.end(), LessPort);
    api::EndpointSubset& s = by_ports[PortsKey(p.ports)];
    if (s.ports.empty()) s.ports = p.ports;
    (p.ready ? s.addresses : s.not_ready_addresses).push_back(std::move(p.address));
  }
  std::vector<api::EndpointSubset> out;
  out.reserve(by_ports.size());
  for (auto& [key, s] : by_ports) {
    std::sort(s.addresses.begin(), s.addresses.end(), LessAddress);
    std::sort(s.not_ready_addresses.begin(), s.not_ready_addresses.end(), LessAddress);
    out.push_back(std::move(s));
  }
  return out;
}

bool TruncateSubsets(std::vector<api::EndpointSubset>& subsets, size_t max_addresses) {
  size_t total_ready = 0, total_not_ready = 0;
  for (const api::EndpointSubset& s : subsets) {
    total_ready += s.addresses.size();
    total_not_ready += s.not_ready_addresses.size();
  }
  if (total_ready + total_not_ready <= max_addresses) return false;
  // Upstream truncateEndpoints: ready addresses win; the cut is shared among subsets in
  // proportion to their size (rounded up, so the last subsets may get less).
  const bool truncate_ready = total_ready > max_addresses;
  const size_t budget = truncate_ready ? max_addresses : max_addresses - total_ready;
  const size_t num_total = truncate_ready ? total_ready : total_not_ready;
  size_t left = budget;
  for (api::EndpointSubset& s : subsets) {
    std::vector<api::EndpointAddress>& cut = truncate_ready ? s.addresses : s.not_ready_addresses;
    size_t share = (cut.size() * budget + num_total - 1) / num_total;  // ceil
    share = std::min(share, left);
    if (cut.size() > share) cut.resize(share);
    left -= cut.size();
    if (truncate_ready) s.not_ready_addresses.clear();
  }
  std::erase_if(subsets, [](const api::EndpointSubset& s) {
    return s.addresses.empty() && s.not_ready_addresses.empty();
  });
  return true;
}

}  // namespace knet::controllers::endpoints_internal
