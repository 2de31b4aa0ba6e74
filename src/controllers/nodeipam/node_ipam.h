// File: controllers/nodeipam/node_ipam.h
//
// NodeIpamController: kube-controller-manager's node IPAM ("RangeAllocator"). Every Node without
// spec.podCIDR gets one range per IP family of --cluster-cidr (spec.podCIDR and spec.podCIDRs, in
// the order the families are given), and a deleted Node's ranges are freed. podCIDR is written
// once: validation forbids changing it.
//
// Restart safety: Start() first marks every range an existing Node holds, and only then starts
// the workers, so a range is never handed out twice. Ranges outside the cluster CIDR are neither
// tracked nor touched.
//
// When a family's ranges are exhausted the Node gets a Warning Event CIDRNotAvailable and the
// condition NetworkUnavailable=True/NoCIDRAvailable; it is retried when a range is freed, and on
// success the condition turns False/CIDRAssigned.
//
//   ASSIGN_OR_RETURN(auto ipam, controllers::NodeIpamController::Create(
//       &informers, {.cluster_cidr = "10.244.0.0/16,fd00:10:244::/56"}));
//   informers.Start(); informers.WaitForSync(...);
//   ipam->Start();
//
// Thread-safe; Start/Stop from one thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "api/node.h"
#include "base/ip.h"
#include "base/status.h"
#include "client/controller.h"
#include "controllers/events.h"
#include "controllers/handler_liveness.h"
#include "controllers/informers.h"
#include "controllers/nodeipam/internal/cidr_set.h"

namespace knet::controllers {

struct NodeIpamOptions {
  int workers = 2;
  // --cluster-cidr: one CIDR, or a dual-stack pair "v4,v6" (one per family, either order).
  std::string cluster_cidr = "10.244.0.0/16";
  int node_cidr_mask_size_ipv4 = 24;  // --node-cidr-mask-size-ipv4
  int node_cidr_mask_size_ipv6 = 64;  // --node-cidr-mask-size-ipv6
};

class NodeIpamController {
 public:
  // InvalidArgument naming the flag for bad options ("--cluster-cidr \"10.244.0.0/33\": ...").
  // `informers` must outlive the controller; registers node handlers.
  static base::StatusOr<std::unique_ptr<NodeIpamController>> Create(SharedInformers* informers,
                                                                    NodeIpamOptions opts = {});
  ~NodeIpamController();
  NodeIpamController(const NodeIpamController&) = delete;
  NodeIpamController& operator=(const NodeIpamController&) = delete;

  // REQUIRES: the node informer has synced.
  void Start();
  // Idempotent; joins the workers.
  void Stop();

 private:
  NodeIpamController(SharedInformers* informers, NodeIpamOptions opts,
                     std::vector<nodeipam_internal::CidrSet> sets);
  base::StatusOr<client::ReconcileResult> Reconcile(const std::string& name);
  // Makes our books match the ranges `name` holds (marks new ones, frees ones it dropped).
  void TrackLocked(const std::string& name, const std::vector<base::Cidr>& cidrs);
  void ReleaseLocked(const std::string& name);
  // Writes spec.podCIDR(s) unless the node got ranges meanwhile (then *raced is set).
  base::Status WriteCidrs(const std::string& name, const std::vector<base::Cidr>& cidrs,
                          bool* raced);
  // Sets NetworkUnavailable as given, unless it already is (or, for clearing, unless we set it).
  base::Status SetNetworkUnavailable(const std::string& name, bool unavailable,
                                     const std::string& message);

  SharedInformers* informers_;
  client::RestClient* client_;
  const NodeIpamOptions opts_;
  EventRecorder events_;
  std::mutex mu_;
  std::vector<nodeipam_internal::CidrSet> sets_;            // GUARDED_BY(mu_), one per family
  std::map<std::string, std::vector<base::Cidr>> by_node_;  // GUARDED_BY(mu_)
  std::set<std::string> waiting_;  // GUARDED_BY(mu_): nodes that found no free range
  std::unique_ptr<client::Controller> controller_;
  // Handlers check it: the shared informers may outlive this object.
  std::shared_ptr<HandlerLiveness> liveness_ = std::make_shared<HandlerLiveness>();
};

}  // namespace knet::controllers
