// File: cluster/internal/underlay.h
//
// The underlay of a local cluster, over rtnetlink (no `ip` commands): a Linux bridge in the host
// netns holding the gateway address (.1), and per node a network namespace with lo up, "eth0"
// (the node end of a veth created directly in the node netns; the host end is a port of the
// bridge) addressed .2, .3, ... and a default route via the gateway. Removal is idempotent:
// anything already gone is skipped.
//
// Thread-compatible: one Underlay per cluster operation.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/ip.h"
#include "base/status.h"
#include "cluster/cluster.h"
#include "kernel/netlink/netlink.h"
#include "kernel/netns/netns.h"

namespace knet::cluster::internal {

class Underlay {
 public:
  // `host` is a Netlink in the host netns.
  Underlay(kernel::netlink::Netlink& host, NetlinkOpener open)
      : host_(host), open_(std::move(open)) {}

  // Every IPv4 prefix the host netns uses (addresses and routes of the main table), for choosing a
  // subnet that collides with nothing.
  base::StatusOr<std::vector<base::Cidr>> HostPrefixes();

  // Creates the bridge `name` with `gateway`/`prefix_len` and brings it up.
  base::Status CreateBridge(const std::string& name, const base::IPAddress& gateway,
                            int prefix_len);

  // Creates node namespace `netns`, the veth `host_veth` (on `bridge`) <-> eth0 (in the node),
  // eth0's address `ip`/`prefix_len`, lo and eth0 up, and the default route via `gateway`.
  // Each of `contained` (the cluster's pod CIDR) gets an `unreachable` route in the
  // node: the more specific routes the agents program win, and traffic to a pod subnet not (yet)
  // routed — BGP still converging, a node gone — fails at once instead of following the default
  // route out of the machine.
  // AlreadyExists (the namespace or the veth name is taken) leaves nothing behind.
  base::Status CreateNode(const std::string& netns, const std::string& host_veth,
                          const std::string& bridge, const base::IPAddress& ip, int prefix_len,
                          const base::IPAddress& gateway,
                          const std::vector<base::Cidr>& contained = {});

  // Removes a node namespace and its host veth; OK if already gone.
  base::Status DeleteNode(const std::string& netns, const std::string& host_veth);
  // Removes a link of the host netns; OK if already gone.
  base::Status DeleteLink(const std::string& name);

 private:
  kernel::netlink::Netlink& host_;
  NetlinkOpener open_;
};

}  // namespace knet::cluster::internal
