#include "proxy/endpoints_change_tracker.h"

#include <netinet/in.h>

#include <algorithm>

namespace knet::proxy {

void EndpointsChangeTracker::EndpointSliceUpdate(const api::EndpointSlice& slice, bool removed) {
  if (slice.address_type != "IPv4" && slice.address_type != "IPv6") return;
  auto label = slice.metadata.labels.find(kLabelServiceName);
  if (label == slice.metadata.labels.end() || label->second.empty()) return;
  Key key{slice.metadata.namespace_, label->second};
  std::lock_guard<std::mutex> lock(mu_);
  auto& by_name = slices_[key];
  if (removed) {
    by_name.erase(slice.metadata.name);
    if (by_name.empty()) slices_.erase(key);
  } else {
    by_name[slice.metadata.name] = slice;
  }
  pending_.insert(key);
}

bool EndpointsChangeTracker::HasPending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !pending_.empty();
}

EndpointsMap EndpointsChangeTracker::Merge(
    const std::map<std::string, api::EndpointSlice>& slices) const {
  EndpointsMap out;
  for (const auto& [slice_name, slice] : slices) {
    const std::string& svc = slice.metadata.labels.at(kLabelServiceName);
    for (const api::EndpointSlicePort& p : slice.ports) {
      if (!p.port || *p.port <= 0 || *p.port > 65535) continue;
      std::string protocol = p.protocol.value_or("TCP");
      uint8_t proto = IPPROTO_TCP;
      if (protocol == "UDP") {
        proto = IPPROTO_UDP;
      } else if (protocol == "SCTP") {
        proto = IPPROTO_SCTP;
      } else if (protocol != "TCP") {
        continue;
      }
      ServicePortName spn{slice.metadata.namespace_, svc, p.name.value_or(""), proto};
      std::vector<EndpointInfo>& list = out[spn];
      for (const api::Endpoint& ep : slice.endpoints) {
        if (ep.addresses.empty()) continue;
        auto ip = base::IPAddress::Parse(ep.addresses.front());  // as kube-proxy: the first
        if (!ip.ok()) continue;
        EndpointInfo info;
        info.ip = *ip;
        info.port = static_cast<uint16_t>(*p.port);
        info.ready = ep.conditions.ready.value_or(true);
        info.serving = ep.conditions.serving.value_or(info.ready);
        info.terminating = ep.conditions.terminating.value_or(false);
        info.node_name = ep.node_name.value_or("");
        info.zone = ep.zone.value_or("");
        info.is_local = !node_name_.empty() && info.node_name == node_name_;
        list.push_back(std::move(info));
      }
    }
  }
  for (auto& [spn, list] : out) {
    std::stable_sort(list.begin(), list.end(),
                     [](const EndpointInfo& a, const EndpointInfo& b) { return a < b; });
    list.erase(std::unique(list.begin(), list.end(),
                           [](const EndpointInfo& a, const EndpointInfo& b) {
                             return a.ip == b.ip && a.port == b.port;
                           }),
               list.end());
  }
  return out;
}

std::set<ServicePortName> EndpointsChangeTracker::Apply(EndpointsMap& map) {
  std::map<Key, EndpointsMap> merged;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Key& key : pending_) {
      auto it = slices_.find(key);
      merged[key] = it == slices_.end() ? EndpointsMap{} : Merge(it->second);
    }
    pending_.clear();
  }
  std::set<ServicePortName> changed;
  for (auto& [key, now] : merged) {
    auto it = map.lower_bound(ServicePortName{key.first, key.second, "", 0});
    while (it != map.end() && it->first.namespace_ == key.first && it->first.name == key.second) {
      auto n = now.find(it->first);
      if (n == now.end() || n->second.empty()) {
        changed.insert(it->first);
        it = map.erase(it);
        if (n != now.end()) now.erase(n);
        continue;
      }
      if (!(n->second == it->second)) {
        changed.insert(it->first);
        it->second = std::move(n->second);
      }
      now.erase(n);
      ++it;
    }
    for (auto& [spn, list] : now) {
      if (list.empty()) continue;
      changed.insert(spn);
      map[spn] = std::move(list);
    }
  }
  return changed;
}

}  // namespace knet::proxy
