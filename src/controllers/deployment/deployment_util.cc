#include "controllers/deployment/deployment_util.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "api/codec.h"
#include "api/pod.h"

namespace knet::controllers::deployment {
namespace {

int64_t ParseInt(const std::string& s, int64_t fallback) {
  if (s.empty()) return fallback;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > std::numeric_limits<int64_t>::max() / 10) return fallback;
    v = v * 10 + (c - '0');
  }
  return v;
}

int32_t Scaled(const std::optional<api::IntOrString>& v, int32_t total, bool round_up) {
  if (!v) return 0;
  base::StatusOr<int32_t> s = v->ScaledValue(total, round_up);
  return s.ok() ? *s : 0;  // validation rejects malformed values before they reach us
}

// Annotations the controller owns on ReplicaSets; the rest are copied from the Deployment.
bool SkipCopy(const std::string& key) {
  static const std::set<std::string> kSkip = {"kubectl.kubernetes.io/last-applied-configuration",
                                              kRevisionAnnotation,
                                              kRevisionHistoryAnnotation,
                                              kDesiredReplicasAnnotation,
                                              kMaxReplicasAnnotation,
                                              "deprecated.deployment.rollback.to"};
  return kSkip.count(key) > 0;
}

}  // namespace

std::string ComputeHash(const api::PodTemplateSpec& tmpl, std::optional<int32_t> collision_count) {
  // The template as a Pod document: the codec writes fields in a fixed order, so equal templates
  // give equal bytes.
  api::Pod as_pod;
  as_pod.metadata = tmpl.metadata;
  as_pod.spec = tmpl.spec;
  std::string bytes = api::EncodeJson(as_pod);
  if (collision_count) {
    uint32_t c = static_cast<uint32_t>(*collision_count);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((c >> (8 * i)) & 0xff));
  }
  uint32_t h = 2166136261u;
  for (unsigned char b : bytes) {
    h ^= b;
    h *= 16777619u;
  }
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (char digit : std::to_string(h)) {
    out.push_back(kAlphabet[static_cast<size_t>(digit) % kAlphabet.size()]);
  }
  return out;
}

bool EqualIgnoreHash(const api::PodTemplateSpec& a, const api::PodTemplateSpec& b) {
  api::PodTemplateSpec x = a, y = b;
  x.metadata.labels.erase(kPodTemplateHashLabel);
  y.metadata.labels.erase(kPodTemplateHashLabel);
  return x == y;
}

int32_t Replicas(const api::Deployment& d) { return d.spec.replicas.value_or(1); }
int32_t Replicas(const api::ReplicaSet& rs) { return rs.spec.replicas.value_or(1); }

int64_t Revision(const api::ReplicaSet& rs) {
  auto it = rs.metadata.annotations.find(kRevisionAnnotation);
  return it == rs.metadata.annotations.end() ? 0 : ParseInt(it->second, 0);
}

int64_t MaxRevision(const std::vector<RSPtr>& rss) {
  int64_t m = 0;
  for (const RSPtr& rs : rss) m = std::max(m, Revision(*rs));
  return m;
}

bool IsRollingUpdate(const api::Deployment& d) { return d.spec.strategy.type != "Recreate"; }

bool HasProgressDeadline(const api::Deployment& d) {
  return d.spec.progress_deadline_seconds &&
         *d.spec.progress_deadline_seconds != std::numeric_limits<int32_t>::max();
}

Fenceposts ResolveFenceposts(const api::Deployment& d) {
  Fenceposts f;
  if (d.spec.strategy.rolling_update) {
    const api::RollingUpdateDeployment& ru = *d.spec.strategy.rolling_update;
    f.max_surge = Scaled(ru.max_surge, Replicas(d), true);
    f.max_unavailable = Scaled(ru.max_unavailable, Replicas(d), false);
  }
  if (f.max_surge == 0 && f.max_unavailable == 0) f.max_unavailable = 1;
  return f;
}

int32_t MaxSurge(const api::Deployment& d) {
  return IsRollingUpdate(d) ? ResolveFenceposts(d).max_surge : 0;
}

int32_t MaxUnavailable(const api::Deployment& d) {
  if (!IsRollingUpdate(d) || Replicas(d) == 0) return 0;
  return std::min(ResolveFenceposts(d).max_unavailable, Replicas(d));
}

bool SetNewReplicaSetAnnotations(const api::Deployment& d, api::ReplicaSet& rs,
                                 const std::string& new_revision, bool exists) {
  bool changed = false;
  for (const auto& [k, v] : d.metadata.annotations) {
    if (SkipCopy(k)) continue;
    auto it = rs.metadata.annotations.find(k);
    if (it == rs.metadata.annotations.end() || it->second != v) {
      rs.metadata.annotations[k] = v;
      changed = true;
    }
  }
  auto it = rs.metadata.annotations.find(kRevisionAnnotation);
  const bool had_revision = it != rs.metadata.annotations.end();
  const std::string old_revision = had_revision ? it->second : "";
  const int64_t old_int = ParseInt(old_revision, -1);
  if (old_int < 0 && !old_revision.empty()) return changed;  // malformed: leave it to a human
  const int64_t new_int = ParseInt(new_revision, 0);
  if (old_int < new_int) {
    rs.metadata.annotations[kRevisionAnnotation] = new_revision;
    changed = true;
    // Rolling back to this ReplicaSet: keep the revisions it used to have.
    if (had_revision) {
      std::string& history = rs.metadata.annotations[kRevisionHistoryAnnotation];
      history = history.empty() ? old_revision : history + "," + old_revision;
    }
  }
  if (!exists && SetReplicasAnnotations(rs, Replicas(d), Replicas(d) + MaxSurge(d))) {
    changed = true;
  }
  return changed;
}

bool ReplicasAnnotationsNeedUpdate(const api::ReplicaSet& rs, int32_t desired, int32_t max) {
  auto d = rs.metadata.annotations.find(kDesiredReplicasAnnotation);
  auto m = rs.metadata.annotations.find(kMaxReplicasAnnotation);
  return d == rs.metadata.annotations.end() || d->second != std::to_string(desired) ||
         m == rs.metadata.annotations.end() || m->second != std::to_string(max);
}

bool SetReplicasAnnotations(api::ReplicaSet& rs, int32_t desired, int32_t max) {
  if (!ReplicasAnnotationsNeedUpdate(rs, desired, max)) return false;
  rs.metadata.annotations[kDesiredReplicasAnnotation] = std::to_string(desired);
  rs.metadata.annotations[kMaxReplicasAnnotation] = std::to_string(max);
  return true;
}

std::optional<int32_t> IntAnnotation(const api::ReplicaSet& rs, const char* key) {
  auto it = rs.metadata.annotations.find(key);
  if (it == rs.metadata.annotations.end()) return std::nullopt;
  int64_t v = ParseInt(it->second, -1);
  if (v < 0 || v > std::numeric_limits<int32_t>::max()) return std::nullopt;
  return static_cast<int32_t>(v);
}

bool OlderFirst(const RSPtr& a, const RSPtr& b) {
  if (a->metadata.creation_timestamp == b->metadata.creation_timestamp) {
    return a->metadata.name < b->metadata.name;
  }
  return a->metadata.creation_timestamp < b->metadata.creation_timestamp;
}

bool LargerNewerFirst(const RSPtr& a, const RSPtr& b) {
  if (Replicas(*a) == Replicas(*b)) return OlderFirst(b, a);
  return Replicas(*a) > Replicas(*b);
}

bool LargerOlderFirst(const RSPtr& a, const RSPtr& b) {
  if (Replicas(*a) == Replicas(*b)) return OlderFirst(a, b);
  return Replicas(*a) > Replicas(*b);
}

bool LowerRevisionFirst(const RSPtr& a, const RSPtr& b) {
  int64_t ra = Revision(*a), rb = Revision(*b);
  if (ra == rb) return OlderFirst(a, b);
  return ra < rb;
}

RSPtr FindNewReplicaSet(const api::Deployment& d, const std::vector<RSPtr>& rss) {
  std::vector<RSPtr> sorted = rss;
  // Several may match (hash collisions, old bugs): the oldest wins, as upstream.
  std::sort(sorted.begin(), sorted.end(), OlderFirst);
  for (const RSPtr& rs : sorted) {
    if (EqualIgnoreHash(rs->spec.template_, d.spec.template_)) return rs;
  }
  return nullptr;
}

std::vector<RSPtr> OldReplicaSets(const std::vector<RSPtr>& rss, const RSPtr& new_rs) {
  std::vector<RSPtr> out;
  for (const RSPtr& rs : rss) {
    if (new_rs && rs->metadata.uid == new_rs->metadata.uid) continue;
    out.push_back(rs);
  }
  return out;
}

std::vector<RSPtr> FilterActive(const std::vector<RSPtr>& rss) {
  std::vector<RSPtr> out;
  for (const RSPtr& rs : rss) {
    if (rs && Replicas(*rs) > 0) out.push_back(rs);
  }
  return out;
}

std::vector<RSPtr> WithNew(std::vector<RSPtr> rss, const RSPtr& new_rs) {
  if (new_rs) rss.push_back(new_rs);
  return rss;
}

int32_t SpecReplicas(const std::vector<RSPtr>& rss) {
  int32_t n = 0;
  for (const RSPtr& rs : rss) n += rs ? Replicas(*rs) : 0;
  return n;
}

int32_t ActualReplicas(const std::vector<RSPtr>& rss) {
  int32_t n = 0;
  for (const RSPtr& rs : rss) n += rs ? rs->status.replicas : 0;
  return n;
}

int32_t ReadyReplicas(const std::vector<RSPtr>& rss) {
  int32_t n = 0;
  for (const RSPtr& rs : rss) n += rs ? rs->status.ready_replicas : 0;
  return n;
}

int32_t AvailableReplicas(const std::vector<RSPtr>& rss) {
  int32_t n = 0;
  for (const RSPtr& rs : rss) n += rs ? rs->status.available_replicas : 0;
  return n;
}

RSPtr FindActiveOrLatest(const RSPtr& new_rs, std::vector<RSPtr> old_rss) {
  if (!new_rs && old_rss.empty()) return nullptr;
  std::sort(old_rss.begin(), old_rss.end(),
            [](const RSPtr& a, const RSPtr& b) { return OlderFirst(b, a); });  // newest first
  std::vector<RSPtr> active = FilterActive(WithNew(old_rss, new_rs));
  if (active.empty()) return new_rs ? new_rs : old_rss[0];
  if (active.size() == 1) return active[0];
  return nullptr;
}

bool IsSaturated(const api::Deployment& d, const RSPtr& rs) {
  if (!rs) return false;
  std::optional<int32_t> desired = IntAnnotation(*rs, kDesiredReplicasAnnotation);
  return desired && *desired == Replicas(d) && Replicas(*rs) == Replicas(d) &&
         rs->status.available_replicas == Replicas(d);
}

int32_t GetProportion(const RSPtr& rs, const api::Deployment& d, int32_t to_add, int32_t added) {
  if (!rs || Replicas(*rs) == 0 || to_add == 0 || to_add == added) return 0;
  int32_t fraction;
  if (Replicas(d) == 0) {
    fraction = -Replicas(*rs);
  } else {
    int32_t deployment_replicas = Replicas(d) + MaxSurge(d);
    int32_t annotated = IntAnnotation(*rs, kMaxReplicasAnnotation).value_or(d.status.replicas);
    if (annotated == 0) return 0;
    double size = static_cast<double>(Replicas(*rs)) * deployment_replicas / annotated;
    fraction = static_cast<int32_t>(std::round(size)) - Replicas(*rs);
  }
  int32_t allowed = to_add - added;
  return to_add > 0 ? std::min(fraction, allowed) : std::max(fraction, allowed);
}

int32_t NewRSNewReplicas(const api::Deployment& d, const std::vector<RSPtr>& all,
                         const api::ReplicaSet& new_rs) {
  if (!IsRollingUpdate(d)) return Replicas(d);
  int32_t max_total = Replicas(d) + MaxSurge(d);
  // Upstream counts spec.replicas only, so for a moment the pods a scaled-down old ReplicaSet
  // has not deleted yet run beside the new ones (more than replicas + maxSurge pods). Counting
  // each ReplicaSet as max(spec, status) waits for its controller to have seen the pods go.
  int32_t current = 0;
  for (const RSPtr& rs : all) {
    if (rs) current += std::max(Replicas(*rs), rs->status.replicas);
  }
  if (current >= max_total) return Replicas(new_rs);
  int32_t up = std::min(max_total - current, Replicas(d) - Replicas(new_rs));
  return Replicas(new_rs) + up;
}

api::Time NowSeconds() { return api::Time::FromUnixSeconds(api::Time::Now().unix_seconds()); }

const api::DeploymentCondition* GetCondition(const api::DeploymentStatus& s,
                                             const std::string& type) {
  for (const api::DeploymentCondition& c : s.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

api::DeploymentCondition NewCondition(const std::string& type, const std::string& status,
                                      const std::string& reason, const std::string& message,
                                      api::Time now) {
  api::DeploymentCondition c;
  c.type = type;
  c.status = status;
  c.reason = reason;
  c.message = message;
  c.last_update_time = now;
  c.last_transition_time = now;
  return c;
}

void SetCondition(api::DeploymentStatus& s, api::DeploymentCondition c) {
  const api::DeploymentCondition* cur = GetCondition(s, c.type);
  if (cur && cur->status == c.status && cur->reason == c.reason) return;
  if (cur && cur->status == c.status) c.last_transition_time = cur->last_transition_time;
  RemoveCondition(s, c.type);
  s.conditions.push_back(std::move(c));
}

void RemoveCondition(api::DeploymentStatus& s, const std::string& type) {
  std::erase_if(s.conditions, [&](const api::DeploymentCondition& c) { return c.type == type; });
}

api::DeploymentStatus CalculateStatus(const std::vector<RSPtr>& all, const RSPtr& new_rs,
                                      const api::Deployment& d, api::Time now) {
  api::DeploymentStatus s;
  const int32_t available = AvailableReplicas(all);
  s.observed_generation = d.metadata.generation;
  s.replicas = ActualReplicas(all);
  s.updated_replicas = new_rs ? new_rs->status.replicas : 0;
  s.ready_replicas = ReadyReplicas(all);
  s.available_replicas = available;
  s.unavailable_replicas = std::max(SpecReplicas(all) - available, 0);
  s.collision_count = d.status.collision_count;
  s.conditions = d.status.conditions;
  if (available >= Replicas(d) - MaxUnavailable(d)) {
    SetCondition(s, NewCondition(kAvailable, "True", kMinimumReplicasAvailable,
                                 "Deployment has minimum availability.", now));
  } else {
    SetCondition(s, NewCondition(kAvailable, "False", kMinimumReplicasUnavailable,
                                 "Deployment does not have minimum availability.", now));
  }
  return s;
}

bool DeploymentComplete(const api::Deployment& d, const api::DeploymentStatus& s) {
  return s.updated_replicas == Replicas(d) && s.replicas == Replicas(d) &&
         s.available_replicas == Replicas(d) && s.observed_generation >= d.metadata.generation;
}

bool DeploymentProgressing(const api::Deployment& d, const api::DeploymentStatus& s) {
  const api::DeploymentStatus& old = d.status;
  int32_t old_old_replicas = old.replicas - old.updated_replicas;
  int32_t new_old_replicas = s.replicas - s.updated_replicas;
  return s.updated_replicas > old.updated_replicas || new_old_replicas < old_old_replicas ||
         s.ready_replicas > old.ready_replicas || s.available_replicas > old.available_replicas;
}

bool DeploymentTimedOut(const api::Deployment& d, const api::DeploymentStatus& s, api::Time now) {
  if (!HasProgressDeadline(d)) return false;
  const api::DeploymentCondition* c = GetCondition(s, kProgressing);
  if (!c) return false;
  if (c->reason == kNewRSAvailableReason) return false;
  if (c->reason == kTimedOutReason) return true;
  int64_t deadline =
      c->last_update_time.unix_nanos() + int64_t{*d.spec.progress_deadline_seconds} * 1'000'000'000;
  return deadline < now.unix_nanos();
}

}  // namespace knet::controllers::deployment
