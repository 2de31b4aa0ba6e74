// File: controllers/deployment/deployment_util.h
//
// The pure parts of the Deployment controller (upstream pkg/controller/deployment/util): the
// pod-template-hash, revision and replica annotations, maxSurge/maxUnavailable fenceposts,
// finding the new and old ReplicaSets, proportional-scaling shares, and the status and
// condition arithmetic kubectl reads. No I/O: the controller (deployment.h) applies the results.
//
//   RSPtr new_rs = FindNewReplicaSet(d, rs_list);      // template equal ignoring the hash
//   int32_t want = NewRSNewReplicas(d, all, *new_rs);  // within replicas + maxSurge
//   api::DeploymentStatus st = CalculateStatus(all, new_rs, d, now);
//
// Thread-compatible free functions on values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/apps.h"
#include "api/values.h"

namespace knet::controllers::deployment {

// ReplicaSets a sync works on: private, mutable copies of the cached objects, shared so that a
// write (scale, annotations) is seen by every list that holds the same ReplicaSet.
using RSPtr = std::shared_ptr<api::ReplicaSet>;

inline constexpr const char* kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr const char* kRevisionHistoryAnnotation =
    "deployment.kubernetes.io/revision-history";
inline constexpr const char* kDesiredReplicasAnnotation =
    "deployment.kubernetes.io/desired-replicas";
inline constexpr const char* kMaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";
inline constexpr const char* kPodTemplateHashLabel = "pod-template-hash";

// Condition types and reasons, as kubectl and upstream spell them.
inline constexpr const char* kAvailable = "Available";
inline constexpr const char* kProgressing = "Progressing";
inline constexpr const char* kReplicaFailure = "ReplicaFailure";
inline constexpr const char* kMinimumReplicasAvailable = "MinimumReplicasAvailable";
inline constexpr const char* kMinimumReplicasUnavailable = "MinimumReplicasUnavailable";
inline constexpr const char* kNewReplicaSetReason = "NewReplicaSetCreated";
inline constexpr const char* kFoundNewRSReason = "FoundNewReplicaSet";
inline constexpr const char* kReplicaSetUpdatedReason = "ReplicaSetUpdated";
inline constexpr const char* kNewRSAvailableReason = "NewReplicaSetAvailable";
inline constexpr const char* kTimedOutReason = "ProgressDeadlineExceeded";
inline constexpr const char* kPausedDeployReason = "DeploymentPaused";
inline constexpr const char* kResumedDeployReason = "DeploymentResumed";
inline constexpr const char* kFailedRSCreateReason = "ReplicaSetCreateError";

// fnv-32a of the template's canonical JSON (and collisionCount, little-endian), its decimal
// digits mapped onto the alphabet "bcdfghjklmnpqrstvwxz2456789" (rand.SafeEncodeString).
std::string ComputeHash(const api::PodTemplateSpec& tmpl, std::optional<int32_t> collision_count);
// Templates equal once the pod-template-hash label is ignored on both.
bool EqualIgnoreHash(const api::PodTemplateSpec& a, const api::PodTemplateSpec& b);

int32_t Replicas(const api::Deployment& d);   // spec.replicas, default 1
int32_t Replicas(const api::ReplicaSet& rs);  // spec.replicas, default 1
// The revision annotation as a number; 0 when absent or malformed.
int64_t Revision(const api::ReplicaSet& rs);
int64_t MaxRevision(const std::vector<RSPtr>& rss);

bool IsRollingUpdate(const api::Deployment& d);
bool HasProgressDeadline(const api::Deployment& d);
struct Fenceposts {
  int32_t max_surge = 0;
  int32_t max_unavailable = 0;
};
// maxSurge rounds up, maxUnavailable down; both zero would deadlock, so unavailable becomes 1.
Fenceposts ResolveFenceposts(const api::Deployment& d);
int32_t MaxSurge(const api::Deployment& d);        // 0 unless RollingUpdate
int32_t MaxUnavailable(const api::Deployment& d);  // 0 unless RollingUpdate; <= replicas

// Copies the Deployment's annotations onto `rs` (except the controller's own), raises its
// revision to `new_revision` when lower, and for a ReplicaSet about to be created (!exists) sets
// desired-replicas/max-replicas. True if anything changed.
bool SetNewReplicaSetAnnotations(const api::Deployment& d, api::ReplicaSet& rs,
                                 const std::string& new_revision, bool exists);
bool ReplicasAnnotationsNeedUpdate(const api::ReplicaSet& rs, int32_t desired, int32_t max);
bool SetReplicasAnnotations(api::ReplicaSet& rs, int32_t desired, int32_t max);
std::optional<int32_t> IntAnnotation(const api::ReplicaSet& rs, const char* key);

// Orderings (controller.ReplicaSetsBy*): "Less" predicates for std::sort.
bool OlderFirst(const RSPtr& a, const RSPtr& b);
bool LargerNewerFirst(const RSPtr& a, const RSPtr& b);
bool LargerOlderFirst(const RSPtr& a, const RSPtr& b);
bool LowerRevisionFirst(const RSPtr& a, const RSPtr& b);

// The oldest ReplicaSet whose template equals the Deployment's (ignoring the hash), or null.
RSPtr FindNewReplicaSet(const api::Deployment& d, const std::vector<RSPtr>& rss);
// Every ReplicaSet but `new_rs`.
std::vector<RSPtr> OldReplicaSets(const std::vector<RSPtr>& rss, const RSPtr& new_rs);
// Non-null ReplicaSets with spec.replicas > 0.
std::vector<RSPtr> FilterActive(const std::vector<RSPtr>& rss);
// `rss` plus `new_rs` when it is not null.
std::vector<RSPtr> WithNew(std::vector<RSPtr> rss, const RSPtr& new_rs);

int32_t SpecReplicas(const std::vector<RSPtr>& rss);       // sum of spec.replicas
int32_t ActualReplicas(const std::vector<RSPtr>& rss);     // sum of status.replicas
int32_t ReadyReplicas(const std::vector<RSPtr>& rss);      // sum of status.readyReplicas
int32_t AvailableReplicas(const std::vector<RSPtr>& rss);  // sum of status.availableReplicas

// The only active ReplicaSet, or the newest one when none is active; null if several are active.
RSPtr FindActiveOrLatest(const RSPtr& new_rs, std::vector<RSPtr> old_rss);
// The new ReplicaSet runs every replica, all available.
bool IsSaturated(const api::Deployment& d, const RSPtr& rs);
// How many of `to_add` (signed) replicas `rs` takes in proportional scaling.
int32_t GetProportion(const RSPtr& rs, const api::Deployment& d, int32_t to_add, int32_t added);
// The size the new ReplicaSet may grow to now (RollingUpdate: within replicas + maxSurge, each
// ReplicaSet counted as max(spec.replicas, status.replicas) so that live pods stay within it).
int32_t NewRSNewReplicas(const api::Deployment& d, const std::vector<RSPtr>& all,
                         const api::ReplicaSet& new_rs);

// Conditions (deploymentutil.*DeploymentCondition). Times are whole seconds, as on the wire.
api::Time NowSeconds();
const api::DeploymentCondition* GetCondition(const api::DeploymentStatus& s,
                                             const std::string& type);
api::DeploymentCondition NewCondition(const std::string& type, const std::string& status,
                                      const std::string& reason, const std::string& message,
                                      api::Time now);
// Replaces the condition of the same type unless status and reason are unchanged; keeps
// lastTransitionTime when only the reason changes.
void SetCondition(api::DeploymentStatus& s, api::DeploymentCondition c);
void RemoveCondition(api::DeploymentStatus& s, const std::string& type);

// Counts from the ReplicaSets plus the Available condition (deployment sync.calculateStatus).
api::DeploymentStatus CalculateStatus(const std::vector<RSPtr>& all, const RSPtr& new_rs,
                                      const api::Deployment& d, api::Time now);
bool DeploymentComplete(const api::Deployment& d, const api::DeploymentStatus& s);
bool DeploymentProgressing(const api::Deployment& d, const api::DeploymentStatus& s);
bool DeploymentTimedOut(const api::Deployment& d, const api::DeploymentStatus& s, api::Time now);

}  // namespace knet::controllers::deployment
