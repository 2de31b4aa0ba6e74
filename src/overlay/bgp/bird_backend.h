// File: overlay/bgp/bird_backend.h
//
// BirdBackend: the bgp backend of `knet agent --backend bgp` (Calico's design, with BIRD 2, the
// BGP daemon Calico uses). Each node runs its own bird, configured by the agent: an iBGP full mesh
// among the nodes by default (or route reflectors), optional external peers such as a top-of-rack
// router. Every node announces its podCIDRs; bird installs the routes it learns into the kernel
// (`<podCIDR> via <node InternalIP> proto bird metric 212`) and removes them when they are
// withdrawn. See bird_config.h for the generated configuration.
//
//   BirdOptions o;
//   o.state_dir = "/var/lib/knet/agent/bgp";
//   ASSIGN_OR_RETURN(auto backend, BirdBackend::Create(netlink, o));
//   ASSIGN_OR_RETURN(auto annotations, backend->Init(self));   // writes bird.conf, starts bird
//   RETURN_IF_ERROR(backend->Sync(others));                    // `birdc configure` on a change
//
// State dir layout: bird.conf (the configuration), bird.ctl (control socket), bird.pid,
// bird.log (bird's output and the supervisor's notes).
//
// bird is a supervised child: restarted with back-off when it exits. Destroying the backend leaves
// bird running (a restarted agent adopts it, so sessions and routes survive an agent restart);
// Teardown() stops it. Not thread-safe (the overlay Manager calls it from one thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernel/netlink/netlink.h"
#include "overlay/bgp/bird_config.h"
#include "overlay/bgp/birdc.h"
#include "overlay/overlay.h"

namespace knet::overlay::bgp {

namespace internal {
class BirdProcess;
}

// Annotations a bgp node publishes on its Node.
inline constexpr char kAnnotationAsn[] = "knet.io/bgp-asn";
inline constexpr char kAnnotationBackendType[] = "knet.io/backend-type";

struct BirdOptions {
  // Required. Created if missing (mode 0700); removed by Teardown().
  std::string state_dir;
  std::string bird_path = "/usr/sbin/bird";
  std::string birdc_path = "/usr/sbin/birdc";
  // The network namespace bird runs in ("" = the agent's own). The Netlink given to Create must
  // be bound to the same namespace.
  std::string netns_path;
  BgpSettings bgp;
  // The pod MTU; 0 = the MTU of the link holding the node's InternalIP (no encapsulation).
  uint32_t mtu = 0;
  std::chrono::milliseconds restart_backoff_initial{1000};
  std::chrono::milliseconds restart_backoff_max{30000};
};

class BirdBackend final : public Backend {
 public:
  // `netlink` (bound to the node's namespace) must outlive the backend. InvalidArgument on bad
  // options (no state dir, invalid BGP settings).
  static base::StatusOr<std::unique_ptr<BirdBackend>> Create(kernel::netlink::Netlink& netlink,
                                                             BirdOptions options);
  ~BirdBackend() override;

  std::string Name() const override { return "bgp"; }
  // Writes bird.conf for `self` (router ID = its IPv4 InternalIP, its podCIDRs announced) and
  // starts bird, or adopts the bird a previous agent left running (its configuration is kept until
  // the next Sync, so nothing is interrupted). A second call with a changed `self` reconfigures.
  // Returns {"knet.io/bgp-asn": "<AS>", "knet.io/backend-type": "bgp"}.
  base::StatusOr<std::map<std::string, std::string>> Init(const NodeInfo& self) override;
  // One BGP session per other node (per the mesh / reflector settings) plus the external peers;
  // applied with `birdc configure` when the text changed. Nodes without an IPv4 InternalIP are
  // skipped and named in the returned error (the others are applied). Errors carry bird's message.
  // REQUIRES: Init succeeded.
  base::Status Sync(const std::vector<NodeInfo>& others) override;
  uint32_t PodMtu() const override { return mtu_; }
  // Stops bird (which withdraws this node's routes and removes its kernel routes), deletes any
  // bird route left in the kernel (after a crash) and removes the state dir.
  base::Status Teardown() override;

  // `birdc show protocols`, e.g. to see the sessions' states.
  base::StatusOr<std::vector<BirdProtocol>> ShowProtocols() const;
  // The running bird's pid (0 if none) and how often it was restarted, for status and tests.
  pid_t BirdPid() const;
  int BirdRestarts() const;
  std::string ConfigPath() const;

 private:
  BirdBackend(kernel::netlink::Netlink& netlink, BirdOptions options);
  // Checks `text` with `bird -p`, writes it atomically and (if bird runs) `birdc configure`.
  base::Status Apply(const std::string& text);
  base::StatusOr<uint32_t> DetectMtu(const std::string& ip);
  base::Status RemoveLeftoverRoutes();

  kernel::netlink::Netlink& netlink_;
  const BirdOptions options_;
  Birdc birdc_;
  std::unique_ptr<internal::BirdProcess> bird_;
  bool initialized_ = false;
  NodeInfo self_;
  std::vector<NodeInfo> others_;
  std::string applied_;  // the configuration text bird runs with
  uint32_t mtu_ = 1500;
};

}  // namespace knet::overlay::bgp
