// File: cni/bridge.h
//
// Bridge mode: the ADD, DEL, CHECK, STATUS and GC commands of knet-cni, on the Netlink seam and the
// host-local store. The pod end of a veth pair is born inside the pod's namespace (named
// CNI_IFNAME), the host end in the host namespace as HostVethName(...) on the network's bridge.
//
//   Kernel k{.host = host_netlink, .open_netns = [](const std::string& path) { ... }};
//   Outcome<nlohmann::json> r = Add(conf, env, k);   // 1.x-form result; RenderResult for output
//
// ADD is atomic: on any failure after it created something, it deletes the veth pair, its ipMasq
// rules and releases the reservation (the bridge, its gateway address and the knet-cni nft tables
// are shared by all pods and stay). DEL is idempotent. With ipMasq, ADD adds the attachment's
// masquerade rules (masq.h) in one nftables transaction, DEL and GC remove them, CHECK requires
// one per reserved address. Thread-compatible: one call at a time per Kernel; concurrent processes
// are safe (the store locks, the kernel serialises).
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "cni/config.h"
#include "cni/spec.h"
#include "ipam/host_local_store.h"
#include "kernel/netlink/netlink.h"
#include "kernel/nft/nft.h"

namespace knet::cni {

// An opened pod network namespace: its descriptor (for IFLA_NET_NS_FD) and a Netlink bound in it.
// `owner` keeps whatever backs them alive (a Netns and a LinuxNetlink, or nothing for fakes).
struct PodNetns {
  int fd = -1;
  kernel::netlink::Netlink* netlink = nullptr;
  std::shared_ptr<void> owner;
};

// What the commands need from outside: the host namespace's Netlink and a way to open the pod's
// namespace by CNI_NETNS path (NotFound when it does not exist). Only src/cmd builds the Linux one.
struct Kernel {
  kernel::netlink::Netlink* host = nullptr;
  std::function<base::StatusOr<PodNetns>(const std::string& path)> open_netns;
  // nftables in the host namespace; needed only with ipMasq (masq.h).
  kernel::nft::Nftables* nft = nullptr;
  ipam::StoreOptions store_options;
  // Turns on IP forwarding in the host namespace for a family (AF_INET, AF_INET6): with
  // isGateway the node routes its pods' traffic, as the reference bridge plugin ensures. Null:
  // left as it is (tests with fakes).
  std::function<base::Status(int family)> enable_forwarding;
};

// The host end's name: "knet" + 11 hex digits of a hash of container ID and ifname (15 bytes,
// the kernel's limit). Stable, so DEL and GC find it from the attachment alone.
std::string HostVethName(std::string_view container_id, std::string_view ifname);

// ADD: returns the result in 1.x form: the prevResult's entries (if any) followed by ours.
Outcome<nlohmann::json> Add(const NetConf& conf, const Environment& env, Kernel& kernel);
// DEL: releases the reservation, deletes the veth pair. Missing pieces are success.
Outcome<bool> Del(const NetConf& conf, const Environment& env, Kernel& kernel);
// CHECK: the pod interface exists in CNI_NETNS with the reserved addresses (those of prevResult
// too) and, with isDefaultGateway, a default route; the host end is on the bridge. Code 102 else.
Outcome<bool> Check(const NetConf& conf, const Environment& env, Kernel& kernel);
// STATUS: OK when an ADD could succeed now; code 50 when there is no free address or the bridge
// name is taken by a link that is not a bridge.
Outcome<bool> Status(const NetConf& conf, Kernel& kernel);
// GC: releases reservations of attachments not in conf.valid_attachments and deletes this
// network's host veths (ports of its bridge named by HostVethName) that belong to none of them.
Outcome<bool> Gc(const NetConf& conf, Kernel& kernel);

}  // namespace knet::cni
