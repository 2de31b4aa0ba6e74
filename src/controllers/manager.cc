#include "controllers/manager.h"

namespace knet::controllers {

std::set<std::string> ControllerManagerOptions::KnownControllers() {
  return {"deployment",    "endpoints",  "endpointslice", "nodeipam",
          "nodelifecycle", "replicaset", "scheduler"};
}

base::Status ControllerManagerOptions::SetControllers(std::string_view spec) {
  const std::set<std::string> known = KnownControllers();
  std::set<std::string> out;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string_view::npos) comma = spec.size();
    std::string item(spec.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) continue;
    bool disable = item[0] == '-';
    std::string name = disable ? item.substr(1) : item;
    if (name == "*") {
      if (disable) {
        out.clear();
      } else {
        out = known;
      }
      continue;
    }
    if (!known.count(name)) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return base::InvalidArgumentError("--controllers: unknown controller \"" + name +
                                        "\" (known: *, " + list + ")");
    }
    if (disable) {
      out.erase(name);
    } else {
      out.insert(name);
    }
  }
  enabled = std::move(out);
  return base::OkStatus();
}

ControllerManager::ControllerManager(client::RestClient* client, ControllerManagerOptions opts)
    : opts_(std::move(opts)),
      informers_(std::make_unique<SharedInformers>(client, opts_.resync_period)) {}

ControllerManager::~ControllerManager() { Stop(); }

base::StatusOr<std::unique_ptr<ControllerManager>> ControllerManager::Start(
    client::RestClient* client, ControllerManagerOptions opts) {
  std::unique_ptr<ControllerManager> cm(new ControllerManager(client, std::move(opts)));
  const std::set<std::string>& on = cm->opts_.enabled;
  SharedInformers* inf = cm->informers_.get();
  // Construct first: each controller registers its handlers and indexes before any informer runs.
  if (on.count("nodeipam")) {
    ASSIGN_OR_RETURN(cm->nodeipam_, NodeIpamController::Create(inf, cm->opts_.nodeipam));
  }
  if (on.count("scheduler")) cm->scheduler_ = std::make_unique<Scheduler>(inf, cm->opts_.scheduler);
  if (on.count("replicaset")) {
    cm->replicaset_ = std::make_unique<ReplicaSetController>(inf, cm->opts_.replicaset);
  }
  if (on.count("deployment")) {
    cm->deployment_ = std::make_unique<DeploymentController>(inf, cm->opts_.deployment);
  }
  if (on.count("endpointslice")) {
    cm->endpointslice_ = std::make_unique<EndpointSliceController>(inf, cm->opts_.endpointslice);
  }
  if (on.count("endpoints")) {
    cm->endpoints_ = std::make_unique<EndpointsController>(inf, cm->opts_.endpoints);
  }
  if (on.count("nodelifecycle")) {
    cm->nodelifecycle_ = std::make_unique<NodeLifecycleController>(inf, cm->opts_.nodelifecycle);
  }
  inf->Start();
  if (!inf->WaitForSync(cm->opts_.sync_timeout)) {
    cm->Stop();
    return base::UnavailableError("controllers: the informer caches did not sync within " +
                                  std::to_string(cm->opts_.sync_timeout.count() / 1000) +
                                  " s; is the API server reachable?");
  }
  if (cm->nodeipam_) cm->nodeipam_->Start();
  if (cm->scheduler_) cm->scheduler_->Start();
  if (cm->replicaset_) cm->replicaset_->Start();
  if (cm->deployment_) cm->deployment_->Start();
  if (cm->endpointslice_) cm->endpointslice_->Start();
  if (cm->endpoints_) cm->endpoints_->Start();
  if (cm->nodelifecycle_) cm->nodelifecycle_->Start();
  return cm;
}

void ControllerManager::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Workers first (they read the caches), then the informers feeding them.
  if (nodelifecycle_) nodelifecycle_->Stop();
  if (endpoints_) endpoints_->Stop();
  if (endpointslice_) endpointslice_->Stop();
  if (deployment_) deployment_->Stop();
  if (replicaset_) replicaset_->Stop();
  if (scheduler_) scheduler_->Stop();
  if (nodeipam_) nodeipam_->Stop();
  informers_->Stop();
}

}  // namespace knet::controllers
