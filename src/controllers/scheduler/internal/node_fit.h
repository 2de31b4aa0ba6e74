// File: controllers/scheduler/internal/node_fit.h
//
// The scheduler's filters, as plain functions of (pod, node, pods already on the node): the subset
// of kube-scheduler's default Filter plugins that knet needs (NodeUnschedulable, TaintToleration,
// NodeAffinity's nodeSelector part, NodeResourcesFit's pod count) plus the Ready check that
// upstream expresses as the node.kubernetes.io/not-ready taint. Each returns the upstream reason
// string for a node that does not fit, so the "0/3 nodes are available: ..." message reads like
// kube-scheduler's.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/node.h"
#include "api/pod.h"

namespace knet::controllers::scheduler_internal {

// Pods a node takes when neither allocatable nor capacity says (the kubelet's --max-pods).
inline constexpr int64_t kDefaultMaxPods = 110;

// Taint keys from k8s.io/api/core/v1 well_known_taints.go.
inline constexpr const char* kTaintUnschedulable = "node.kubernetes.io/unschedulable";

// upstream v1helper.TolerationsTolerateTaint / Toleration.ToleratesTaint.
bool ToleratesTaint(const api::Toleration& t, const api::Taint& taint);
bool TolerationsTolerate(const std::vector<api::Toleration>& tolerations, const api::Taint& taint);

// status.allocatable["pods"], else capacity["pods"], else kDefaultMaxPods.
int64_t MaxPods(const api::Node& node);

// Whether `pod` may run on `node` which already runs `pods_on_node` (non-terminal pods, assumed
// ones included). nullopt: fits; otherwise the reason, e.g. "node(s) were unschedulable".
std::optional<std::string> CheckNode(const api::Pod& pod, const api::Node& node,
                                     int64_t pods_on_node);

// kube-scheduler's FitError message: "0/3 nodes are available: 1 node(s) were unschedulable,
// 2 Too many pods." from a histogram reason -> node count.
std::string FitErrorMessage(size_t num_nodes, const std::map<std::string, int>& reasons);

}  // namespace knet::controllers::scheduler_internal
