#include "controllers/replicaset/pod_util.h"

#include <algorithm>

namespace knet::controllers {
namespace {

int PhaseOrdinal(const std::string& phase) {
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 0;  // Pending, and anything unset, ranks first
}

int32_t MaxRestarts(const api::Pod& pod) {
  int32_t n = 0;
  for (const api::ContainerStatus& c : pod.status.container_statuses) {
    n = std::max(n, c.restart_count);
  }
  return n;
}

// Upstream afterOrZero: a zero time counts as later than any other, so pods whose time is unknown
// go first.
bool AfterOrZero(api::Time t1, api::Time t2) {
  if (t1.IsZero() || t2.IsZero()) return t1.IsZero();
  return t1 > t2;
}

}  // namespace

bool IsPodActive(const api::Pod& pod) {
  return pod.metadata.deletion_timestamp.IsZero() && pod.status.phase != "Succeeded" &&
         pod.status.phase != "Failed";
}

api::Time PodReadyTime(const api::Pod& pod) {
  const api::PodCondition* c = ReadyCondition(pod);
  return c ? c->last_transition_time : api::Time();
}

bool IsPodAvailable(const api::Pod& pod, int32_t min_ready_seconds, api::Time now) {
  if (!IsPodReady(pod)) return false;
  if (min_ready_seconds <= 0) return true;
  api::Time since = PodReadyTime(pod);
  return !since.IsZero() &&
         since.unix_nanos() + int64_t{min_ready_seconds} * 1'000'000'000 < now.unix_nanos();
}

std::optional<std::chrono::milliseconds> TimeUntilAvailable(const api::Pod& pod,
                                                            int32_t min_ready_seconds,
                                                            api::Time now) {
  if (!IsPodReady(pod) || IsPodAvailable(pod, min_ready_seconds, now)) return std::nullopt;
  api::Time since = PodReadyTime(pod);
  // Without a transition time the pod never becomes available; a resync will look again.
  if (since.IsZero()) return std::nullopt;
  int64_t left_ns =
      since.unix_nanos() + int64_t{min_ready_seconds} * 1'000'000'000 - now.unix_nanos();
  return std::chrono::milliseconds(std::max<int64_t>(left_ns / 1'000'000, 0) + 1);
}

bool HasAllLabels(const std::map<std::string, std::string>& have,
                  const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

bool ActivePodsLess(const api::Pod& a, const api::Pod& b) {
  // 1. Unassigned < assigned.
  if (a.spec.node_name.empty() != b.spec.node_name.empty()) return a.spec.node_name.empty();
  // 2. Pending < Unknown < Running.
  int pa = PhaseOrdinal(a.status.phase), pb = PhaseOrdinal(b.status.phase);
  if (pa != pb) return pa < pb;
  // 3. Not ready < ready.
  bool ra = IsPodReady(a), rb = IsPodReady(b);
  if (ra != rb) return !ra;
  // 4. Ready for less time < ready for longer.
  if (ra && rb) {
    api::Time ta = PodReadyTime(a), tb = PodReadyTime(b);
    if (ta != tb) return AfterOrZero(ta, tb);
  }
  // 5. More restarts < fewer.
  int32_t ca = MaxRestarts(a), cb = MaxRestarts(b);
  if (ca != cb) return ca > cb;
  // 6. Newer < older.
  if (a.metadata.creation_timestamp != b.metadata.creation_timestamp) {
    return AfterOrZero(a.metadata.creation_timestamp, b.metadata.creation_timestamp);
  }
  return a.metadata.name < b.metadata.name;  // a total order, so results are stable
}

}  // namespace knet::controllers
