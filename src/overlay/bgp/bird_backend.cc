#include "overlay/bgp/bird_backend.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "agent/process/process.h"
#include "base/ip.h"
#include "overlay/bgp/internal/bird_process.h"

namespace knet::overlay::bgp {
namespace {

namespace fs = std::filesystem;

base::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::NotFoundError("reading " + path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

base::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return base::InternalError("writing " + path + ": write failed");
  return base::OkStatus();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

base::StatusOr<std::unique_ptr<BirdBackend>> BirdBackend::Create(kernel::netlink::Netlink& netlink,
                                                                 BirdOptions options) {
  if (options.state_dir.empty()) {
    return base::InvalidArgumentError("bgp backend: no state dir given");
  }
  if (options.state_dir.size() + sizeof("/bird.ctl") > 108) {
    return base::InvalidArgumentError("bgp backend: state dir " + options.state_dir +
                                      " is too long for a unix socket path");
  }
  RETURN_IF_ERROR(ValidateSettings(options.bgp));
  return std::unique_ptr<BirdBackend>(new BirdBackend(netlink, std::move(options)));
}

BirdBackend::BirdBackend(kernel::netlink::Netlink& netlink, BirdOptions options)
    : netlink_(netlink),
      options_(std::move(options)),
      birdc_(options_.birdc_path, options_.state_dir + "/bird.ctl") {}

BirdBackend::~BirdBackend() = default;

std::string BirdBackend::ConfigPath() const { return options_.state_dir + "/bird.conf"; }

base::StatusOr<uint32_t> BirdBackend::DetectMtu(const std::string& ip_text) {
  ASSIGN_OR_RETURN(base::IPAddress ip, base::IPAddress::Parse(ip_text));
  ASSIGN_OR_RETURN(auto addresses, netlink_.ListAddresses(AF_INET));
  for (const auto& a : addresses) {
    if (a.ip != ip) continue;
    ASSIGN_OR_RETURN(kernel::netlink::Link link, netlink_.GetLink(a.link_index));
    return link.mtu;
  }
  return base::FailedPreconditionError("bgp backend: no link holds the node's InternalIP " +
                                       ip_text + " (needed for the pod MTU)");
}

base::StatusOr<std::map<std::string, std::string>> BirdBackend::Init(const NodeInfo& self) {
  std::map<std::string, std::string> annotations = {
      {kAnnotationAsn, std::to_string(options_.bgp.as_number)}, {kAnnotationBackendType, "bgp"}};
  ASSIGN_OR_RETURN(BirdConfigText config, GenerateBirdConfig(options_.bgp, self, others_));
  if (initialized_) {  // a changed self: reconfigure the running bird
    self_ = self;
    RETURN_IF_ERROR(Apply(config.text));
    return annotations;
  }
  if (options_.mtu > 0) {
    mtu_ = options_.mtu;
  } else {
    ASSIGN_OR_RETURN(mtu_, DetectMtu(FirstIPv4(self)));
  }
  std::error_code ec;
  fs::create_directories(options_.state_dir, ec);
  if (ec) return base::InternalError("creating " + options_.state_dir + ": " + ec.message());
  fs::permissions(options_.state_dir, fs::perms::owner_all, ec);

  bird_ = std::make_unique<internal::BirdProcess>(
      internal::BirdProcessOptions{.bird_path = options_.bird_path,
                                   .config_path = ConfigPath(),
                                   .socket_path = birdc_.socket_path(),
                                   .pid_path = options_.state_dir + "/bird.pid",
                                   .log_path = options_.state_dir + "/bird.log",
                                   .netns_path = options_.netns_path,
                                   .backoff_initial = options_.restart_backoff_initial,
                                   .backoff_max = options_.restart_backoff_max});
  auto existing = ReadFile(ConfigPath());
  if (bird_->RunningPid() > 0 && existing.ok()) {
    // A previous agent's bird: keep its configuration (and so its sessions and routes) until
    // the next Sync says what changed.
    applied_ = *existing;
  } else {
    applied_.clear();
    RETURN_IF_ERROR(Apply(config.text));  // bird is not running yet: only checks and writes
  }
  auto started = bird_->Start();
  if (!started.ok()) {
    bird_.reset();
    return started;
  }
  self_ = self;
  initialized_ = true;
  return annotations;
}

base::Status BirdBackend::Apply(const std::string& text) {
  if (text == applied_) return base::OkStatus();
  std::string path = ConfigPath();
  std::string tmp = path + ".new";
  RETURN_IF_ERROR(WriteFile(tmp, text));
  agent::process::SpawnOptions check;
  check.argv = {options_.bird_path, "-p", "-c", tmp};
  auto r = agent::process::Run(check, "", std::chrono::seconds(10));
  if (!r.ok() || r->exit_code != 0) {
    std::string why =
        !r.ok() ? r.status().message() : (r->timed_out ? "timed out" : Trim(r->err + r->out));
    std::error_code ec;
    fs::remove(tmp, ec);
    return base::InvalidArgumentError("checking the BIRD configuration " + tmp + " (" +
                                      options_.bird_path + " -p): " + why);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return base::InternalError("renaming " + tmp + " to " + path + ": " + ec.message());
  if (bird_ && bird_->pid() > 0) {
    base::Status s = birdc_.Configure();
    // Unavailable: bird is down and being restarted; it reads the new file when it starts.
    if (!s.ok() && s.code() != base::StatusCode::kUnavailable) {
      return s.WithContext("applying " + path);
    }
  }
  applied_ = text;
  return base::OkStatus();
}

base::Status BirdBackend::Sync(const std::vector<NodeInfo>& others) {
  if (!initialized_) return base::FailedPreconditionError("bgp backend: Sync before Init");
  ASSIGN_OR_RETURN(BirdConfigText config, GenerateBirdConfig(options_.bgp, self_, others));
  others_ = others;
  RETURN_IF_ERROR(Apply(config.text));
  if (!config.skipped.empty()) {
    std::string msg = "bgp backend: no session for ";
    for (size_t i = 0; i < config.skipped.size(); ++i) {
      msg += (i ? "; " : "") + config.skipped[i];
    }
    return base::FailedPreconditionError(msg);
  }
  return base::OkStatus();
}

base::Status BirdBackend::RemoveLeftoverRoutes() {
  ASSIGN_OR_RETURN(auto routes, netlink_.ListRoutes(AF_INET));
  base::Status first;
  for (const auto& r : routes) {
    if (r.protocol != kRouteProtocolBird || r.table != RT_TABLE_MAIN || r.metric != kKernelMetric) {
      continue;
    }
    base::Status s = netlink_.DeleteRoute(r);
    if (!s.ok() && s.code() != base::StatusCode::kNotFound && first.ok()) first = s;
  }
  return first;
}

base::Status BirdBackend::Teardown() {
  if (!bird_) {
    bird_ = std::make_unique<internal::BirdProcess>(
        internal::BirdProcessOptions{.bird_path = options_.bird_path,
                                     .config_path = ConfigPath(),
                                     .socket_path = birdc_.socket_path(),
                                     .pid_path = options_.state_dir + "/bird.pid",
                                     .log_path = options_.state_dir + "/bird.log",
                                     .netns_path = options_.netns_path});
  }
  RETURN_IF_ERROR(bird_->Stop().WithContext("bgp backend teardown"));
  bird_.reset();
  initialized_ = false;
  applied_.clear();
  others_.clear();
  RETURN_IF_ERROR(RemoveLeftoverRoutes().WithContext("bgp backend teardown: removing bird routes"));
  std::error_code ec;
  fs::remove_all(options_.state_dir, ec);
  if (ec) return base::InternalError("removing " + options_.state_dir + ": " + ec.message());
  return base::OkStatus();
}

base::StatusOr<std::vector<BirdProtocol>> BirdBackend::ShowProtocols() const {
  return birdc_.ShowProtocols();
}

pid_t BirdBackend::BirdPid() const { return bird_ ? bird_->pid() : 0; }

int BirdBackend::BirdRestarts() const { return bird_ ? bird_->restarts() : 0; }

}  // namespace knet::overlay::bgp
