#include "controllers/scheduler/internal/node_fit.h"

#include <algorithm>
#include <vector>

namespace knet::controllers::scheduler_internal {

bool ToleratesTaint(const api::Toleration& t, const api::Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  // An empty key with operator Exists matches every key (and so every taint).
  if (!t.key.empty() && t.key != taint.key) return false;
  if (t.operator_ == "Exists") return true;
  if (t.operator_.empty() || t.operator_ == "Equal") return t.value == taint.value;
  return false;
}

bool TolerationsTolerate(const std::vector<api::Toleration>& tolerations, const api::Taint& taint) {
  return std::any_of(tolerations.begin(), tolerations.end(),
                     [&](const api::Toleration& t) { return ToleratesTaint(t, taint); });
}

int64_t MaxPods(const api::Node& node) {
  for (const auto* resources : {&node.status.allocatable, &node.status.capacity}) {
    auto it = resources->find("pods");
    if (it != resources->end()) return it->second.MilliValue() / 1000;
  }
  return kDefaultMaxPods;
}

namespace {

api::Taint NoScheduleTaint(const char* key) {
  api::Taint t;
  t.key = key;
  t.effect = "NoSchedule";
  return t;
}

bool IsReady(const api::Node& node) {
  for (const api::NodeCondition& c : node.status.conditions) {
    if (c.type == "Ready") return c.status == "True";
  }
  return false;
}

}  // namespace

std::optional<std::string> CheckNode(const api::Pod& pod, const api::Node& node,
                                     int64_t pods_on_node) {
  if (node.spec.unschedulable) {
    if (!TolerationsTolerate(pod.spec.tolerations, NoScheduleTaint(kTaintUnschedulable)))
      return "node(s) were unschedulable";
  }
  for (const api::Taint& taint : node.spec.taints) {
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    if (!TolerationsTolerate(pod.spec.tolerations, taint)) {
      return "node(s) had untolerated taint {" + taint.key + ": " + taint.value + "}";
    }
  }
  // Upstream filters not-ready nodes only through the not-ready/unreachable taints the node
  // lifecycle controller adds (checked above, so a lost node reads as "untolerated taint
  // {node.kubernetes.io/unreachable: }"). A node whose Ready condition is not True but that has
  // no taint yet (just registered, or not yet judged) is skipped here as well.
  if (!IsReady(node) &&
      !TolerationsTolerate(pod.spec.tolerations, NoScheduleTaint("node.kubernetes.io/not-ready"))) {
    return "node(s) were not ready";
  }
  for (const auto& [k, v] : pod.spec.node_selector) {
    auto it = node.metadata.labels.find(k);
    if (it == node.metadata.labels.end() || it->second != v) {
      return "node(s) didn't match Pod's node affinity/selector";
    }
  }
  if (pods_on_node + 1 > MaxPods(node)) return "Too many pods";
  return std::nullopt;
}

std::string FitErrorMessage(size_t num_nodes, const std::map<std::string, int>& reasons) {
  std::string msg = "0/" + std::to_string(num_nodes) + " nodes are available: ";
  if (num_nodes == 0) return msg + "no nodes available to schedule pods.";
  // Upstream sorts the "<count> <reason>" strings themselves.
  std::vector<std::string> parts;
  for (const auto& [reason, count] : reasons) parts.push_back(std::to_string(count) + " " + reason);
  std::sort(parts.begin(), parts.end());
  for (size_t i = 0; i < parts.size(); ++i) msg += (i ? ", " : "") + parts[i];
  return msg + ".";
}

}  // namespace knet::controllers::scheduler_internal
