#include "controllers/nodelifecycle/internal/node_health.h"

#include <algorithm>

namespace knet::controllers::nodelifecycle_internal {

HealthTracker::Clock::time_point HealthTracker::Observe(const std::string& node,
                                                        const Observation& o,
                                                        Clock::time_point now) {
  auto [it, inserted] = nodes_.try_emplace(node, Seen{o, now});
  Seen& s = it->second;
  if (!inserted && (s.last.lease_renew_time != o.lease_renew_time ||
                    s.last.ready_heartbeat_time != o.ready_heartbeat_time)) {
    s.last = o;
    s.probe = now;
  }
  return s.probe;
}

std::vector<api::Taint> SyncTaints(const std::vector<api::Taint>& taints,
                                   const std::string& ready_status, api::Time now) {
  std::vector<std::string> want_keys;
  if (ready_status == "False") {
    want_keys = {kTaintNotReady};
  } else if (ready_status == "Unknown") {
    want_keys = {kTaintUnreachable};
  } else if (ready_status != "True") {
    return taints;
  }
  auto managed = [](const api::Taint& t) {
    return (t.key == kTaintNotReady || t.key == kTaintUnreachable) &&
           (t.effect == "NoSchedule" || t.effect == "NoExecute");
  };
  std::vector<api::Taint> out;
  for (const api::Taint& t : taints) {
    const bool wanted = std::find(want_keys.begin(), want_keys.end(), t.key) != want_keys.end();
    if (!managed(t) || wanted) out.push_back(t);
  }
  for (const std::string& key : want_keys) {
    for (const char* effect : {"NoSchedule", "NoExecute"}) {
      bool present = std::any_of(out.begin(), out.end(), [&](const api::Taint& t) {
        return t.key == key && t.effect == effect;
      });
      if (present) continue;
      api::Taint t;
      t.key = key;
      t.effect = effect;
      t.time_added = now;
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace knet::controllers::nodelifecycle_internal
