#include "cni/bridge.h"

#include <sys/socket.h>

#include <cstdio>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "cni/masq.h"
#include "cni/result.h"
#include "ipam/config.h"

namespace knet::cni {
namespace {

using kernel::netlink::Address;
using kernel::netlink::Link;
using kernel::netlink::Netlink;
using kernel::netlink::Request;
using kernel::netlink::Route;

Error KernelError(const base::Status& s, std::string what) {
  return {ErrorCode::kKernelFailure, std::move(what) + ": " + s.message(), ""};
}

Error IpamError(const base::Status& s, std::string what) {
  // A requested address the ranges cannot give is a configuration problem; the rest is the store.
  ErrorCode code = s.code() == base::StatusCode::kInvalidArgument ? ErrorCode::kInvalidNetworkConfig
                                                                  : ErrorCode::kIpamFailure;
  return {code, std::move(what) + ": " + s.message(), ""};
}

Error CheckFailed(std::string msg) { return {ErrorCode::kCheckFailed, std::move(msg), ""}; }

MasqOwner OwnerOf(const NetConf& conf, const std::string& container_id, const std::string& ifname) {
  return {conf.name, container_id, ifname};
}

std::optional<Error> NeedNft(const Kernel& kernel) {
  if (kernel.nft != nullptr) return std::nullopt;
  return Error{ErrorCode::kKernelFailure, "ipMasq needs nftables, which is not available", ""};
}

// Runs the registered undo steps in reverse unless Dismiss()ed: ADD's rollback. A step may refer
// only to objects declared before the Undo (they outlive it) or capture by value.
class Undo {
 public:
  Undo() = default;
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  ~Undo() {
    if (dismissed_) return;
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
  }
  void Add(std::function<void()> step) { steps_.push_back(std::move(step)); }
  void Dismiss() { dismissed_ = true; }

 private:
  std::vector<std::function<void()>> steps_;
  bool dismissed_ = false;
};

Outcome<ipam::IpamConfig> LoadIpam(const NetConf& conf) {
  base::StatusOr<ipam::IpamConfig> cfg = ipam::ParseIpamConfig(conf.ipam, conf.name);
  if (!cfg.ok()) {
    return Error{ErrorCode::kInvalidNetworkConfig, "invalid ipam configuration",
                 cfg.status().message()};
  }
  return *std::move(cfg);
}

Outcome<ipam::HostLocalStore> OpenStore(const ipam::IpamConfig& cfg, const Kernel& kernel) {
  base::StatusOr<ipam::HostLocalStore> store =
      ipam::HostLocalStore::Open(cfg.StoreDir(), kernel.store_options);
  if (!store.ok()) return IpamError(store.status(), "opening the address store " + cfg.StoreDir());
  return *std::move(store);
}

uint8_t FamilyOf(const base::IPAddress& ip) { return ip.is_v4() ? AF_INET : AF_INET6; }

base::Cidr DefaultRoute(const base::IPAddress& like) {
  return *base::Cidr::Make(
      like.is_v4() ? *base::IPAddress::Parse("0.0.0.0") : *base::IPAddress::Parse("::"), 0);
}

// Creates the bridge, or adopts an existing one; sets it up. Concurrent ADDs may race to create
// it: AlreadyExists means another one won.
Outcome<Link> EnsureBridge(Netlink& host, const NetConf& conf) {
  base::StatusOr<Link> bridge = host.GetLink(conf.bridge);
  if (!bridge.ok() && bridge.status().code() == base::StatusCode::kNotFound) {
    base::Status s = host.CreateBridge({.name = conf.bridge, .mtu = conf.mtu});
    if (!s.ok() && s.code() != base::StatusCode::kAlreadyExists) {
      return KernelError(s, "creating bridge " + conf.bridge);
    }
    bridge = host.GetLink(conf.bridge);
  }
  if (!bridge.ok()) return KernelError(bridge.status(), "reading bridge " + conf.bridge);
  if (bridge->kind != "bridge") {
    return Error{
        ErrorCode::kKernelFailure,
        "link " + conf.bridge + " exists and is not a bridge (kind \"" + bridge->kind + "\")", ""};
  }
  if (!bridge->up()) {
    base::Status s = host.SetLinkUp(*bridge);
    if (!s.ok()) return KernelError(s, "setting bridge " + conf.bridge + " up");
  }
  return *std::move(bridge);
}

// Puts each gateway on the bridge (once; concurrent ADDs may add it first). An address of the same
// family overlapping the gateway's subnet is an error, or replaced with forceAddress.
std::optional<Error> EnsureGateways(Netlink& host, const Link& bridge, const NetConf& conf,
                                    const ipam::Allocation& alloc) {
  for (const ipam::AllocatedIp& ip : alloc.ips) {
    Address want{.link_index = bridge.index,
                 .ip = ip.gateway,
                 .prefix_len = ip.prefix_len,
                 .nodad = ip.gateway.is_v6()};
    base::StatusOr<std::vector<Address>> have =
        host.ListLinkAddresses(bridge.index, FamilyOf(ip.gateway));
    if (!have.ok()) return KernelError(have.status(), "listing addresses of " + conf.bridge);
    bool present = false;
    for (const Address& a : *have) {
      if (a.ip == want.ip && a.prefix_len == want.prefix_len) {
        present = true;
        continue;
      }
      if (a.ip.IsLinkLocalUnicast()) continue;
      auto theirs = base::Cidr::MakeMasked(a.ip, a.prefix_len);
      if (!theirs.ok() || !theirs->Overlaps(ip.subnet)) continue;
      if (!conf.force_address) {
        return Error{ErrorCode::kKernelFailure,
                     "bridge " + conf.bridge + " already has address " + a.ToString() +
                         ", not the gateway " + want.ToString(),
                     "set forceAddress to replace it"};
      }
      base::Status s = host.DeleteAddress(a, conf.bridge);
      if (!s.ok() && s.code() != base::StatusCode::kNotFound) {
        return KernelError(s, "removing " + a.ToString() + " from " + conf.bridge);
      }
    }
    if (present) continue;
    base::Status s = host.AddAddress(want, conf.bridge);
    if (!s.ok() && s.code() != base::StatusCode::kAlreadyExists) {
      return KernelError(s, "adding gateway " + want.ToString() + " to " + conf.bridge);
    }
  }
  return std::nullopt;
}

// The pod's routes: a default route via the gateway per family with isDefaultGateway, then the
// ipam routes (a route without gw goes via its family's gateway).
Outcome<std::vector<Route>> PodRoutes(const NetConf& conf, const ipam::Allocation& alloc,
                                      int link_index) {
  std::vector<Route> routes;
  auto has = [&](const base::Cidr& dst) {
    for (const Route& r : routes) {
      if (r.dst == dst) return true;
    }
    return false;
  };
  if (conf.is_default_gateway) {
    for (const ipam::AllocatedIp& ip : alloc.ips) {
      base::Cidr dst = DefaultRoute(ip.address);
      if (has(dst)) continue;
      routes.push_back({.dst = dst, .gateway = ip.gateway, .link_index = link_index});
    }
  }
  for (const ipam::Route& r : alloc.routes) {
    if (has(r.dst)) continue;
    std::optional<base::IPAddress> gw = r.gw;
    if (!gw) {
      for (const ipam::AllocatedIp& ip : alloc.ips) {
        if (ip.address.family() == r.dst.family()) {
          gw = ip.gateway;
          break;
        }
      }
    }
    if (!gw) {
      return Error{ErrorCode::kInvalidNetworkConfig,
                   "ipam route " + r.dst.ToString() + " has no gateway",
                   "no range of its address family"};
    }
    routes.push_back({.dst = r.dst, .gateway = gw, .link_index = link_index});
  }
  return routes;
}

nlohmann::json DnsJson(const ipam::Dns& dns) {
  nlohmann::json j = nlohmann::json::object();
  if (!dns.nameservers.empty()) j["nameservers"] = dns.nameservers;
  if (!dns.domain.empty()) j["domain"] = dns.domain;
  if (!dns.search.empty()) j["search"] = dns.search;
  if (!dns.options.empty()) j["options"] = dns.options;
  return j;
}

Outcome<PodNetns> OpenPod(Kernel& kernel, const std::string& path) {
  base::StatusOr<PodNetns> pod = kernel.open_netns(path);
  if (!pod.ok()) {
    if (pod.status().code() == base::StatusCode::kNotFound) {
      return Error{ErrorCode::kUnknownContainer, "network namespace " + path + " does not exist",
                   pod.status().message()};
    }
    return KernelError(pod.status(), "opening network namespace " + path);
  }
  return *std::move(pod);
}

}  // namespace

std::string HostVethName(std::string_view container_id, std::string_view ifname) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a 64
  auto mix = [&](std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
  };
  mix(container_id);
  mix(std::string_view("\0", 1));
  mix(ifname);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "knet%011llx",
                static_cast<unsigned long long>(h & 0xfffffffffffULL));  // 44 bits
  return buf;
}

Outcome<nlohmann::json> Add(const NetConf& conf, const Environment& env, Kernel& kernel) {
  Outcome<nlohmann::json> prev = ParseResult(conf.prev_result);
  if (!prev.ok()) return prev.error();
  Outcome<ipam::IpamConfig> cfg = LoadIpam(conf);
  if (!cfg.ok()) return cfg.error();
  base::StatusOr<std::vector<base::IPAddress>> requested = ipam::RequestedIps(conf.raw, env.args);
  if (!requested.ok()) {
    return Error{ErrorCode::kInvalidNetworkConfig, "invalid requested address",
                 requested.status().message()};
  }
  nlohmann::json dns = nlohmann::json::object();
  if (!cfg.value().resolv_conf.empty()) {
    base::StatusOr<ipam::Dns> d = ipam::ReadResolvConf(cfg.value().resolv_conf);
    if (!d.ok()) {
      return Error{ErrorCode::kInvalidNetworkConfig, "reading ipam.resolvConf",
                   d.status().message()};
    }
    dns = DnsJson(*d);
  }
  Outcome<PodNetns> pod = OpenPod(kernel, env.netns);
  if (!pod.ok()) return pod.error();
  Netlink& host = *kernel.host;
  Netlink& pod_nl = *pod.value().netlink;
  if (pod_nl.GetLink(env.ifname).ok()) {
    return Error{ErrorCode::kKernelFailure,
                 "interface " + env.ifname + " already exists in " + env.netns, ""};
  }
  Outcome<Link> bridge = EnsureBridge(host, conf);
  if (!bridge.ok()) return bridge.error();

  Outcome<ipam::HostLocalStore> store = OpenStore(cfg.value(), kernel);
  if (!store.ok()) return store.error();
  const ipam::Attachment att{env.container_id, env.ifname};
  base::StatusOr<ipam::Allocation> alloc = store.value().Allocate(cfg.value(), att, *requested);
  if (!alloc.ok()) return IpamError(alloc.status(), "allocating an address for " + att.ToString());
  Undo undo;
  undo.Add([&] { (void)store.value().Release(att); });

  if (conf.is_gateway) {
    if (auto e = EnsureGateways(host, bridge.value(), conf, *alloc)) return *e;
    if (kernel.enable_forwarding) {
      std::set<int> families;
      for (const auto& ip : alloc->ips) families.insert(FamilyOf(ip.address));
      for (int family : families) {
        if (base::Status f = kernel.enable_forwarding(family); !f.ok()) {
          return KernelError(f, "enabling IP forwarding for the gateway");
        }
      }
    }
  }
  const std::string host_name = HostVethName(env.container_id, env.ifname);
  kernel::netlink::VethSpec veth{.name = env.ifname,
                                 .netns_fd = pod.value().fd,
                                 .peer_name = host_name,
                                 .peer_netns_fd = -1,
                                 .mtu = conf.mtu};
  base::Status s = host.CreateVeth(veth);
  if (s.code() == base::StatusCode::kAlreadyExists) {
    // Left over from an ADD that crashed before its rollback: same attachment, so ours to
    // replace — but only if it is not a port of some other bridge (another network's).
    auto existing = host.GetLink(host_name);
    if (existing.ok() &&
        (existing->master_index == 0 || existing->master_index == bridge.value().index)) {
      (void)host.DeleteLink(host_name);
      s = host.CreateVeth(veth);
    }
  }
  if (!s.ok()) {
    return KernelError(s, "creating veth " + env.ifname + " (in " + env.netns + ") / " + host_name);
  }
  undo.Add([&host, host_name] { (void)host.DeleteLink(host_name); });

  base::StatusOr<Link> host_link = host.GetLink(host_name);
  if (!host_link.ok()) return KernelError(host_link.status(), "reading " + host_name);
  std::vector<Request> host_reqs = {
      kernel::netlink::SetMasterRequest(host_link->index, bridge.value().index, host_name)};
  if (conf.hairpin_mode) {
    host_reqs.push_back(kernel::netlink::SetHairpinRequest(host_link->index, true, host_name));
  }
  host_reqs.push_back(kernel::netlink::SetLinkUpRequest(host_link->index, true, host_name));
  s = host.Execute(host_reqs);
  if (!s.ok()) return KernelError(s, "attaching " + host_name + " to " + conf.bridge);

  base::StatusOr<Link> pod_link = pod_nl.GetLink(env.ifname);
  if (!pod_link.ok()) return KernelError(pod_link.status(), "reading " + env.ifname + " in pod");
  std::vector<Request> pod_reqs;
  for (const ipam::AllocatedIp& ip : alloc->ips) {
    pod_reqs.push_back(kernel::netlink::AddAddressRequest({.link_index = pod_link->index,
                                                           .ip = ip.address,
                                                           .prefix_len = ip.prefix_len,
                                                           .nodad = ip.address.is_v6()},
                                                          env.ifname));
  }
  pod_reqs.push_back(kernel::netlink::SetLinkUpRequest(pod_link->index, true, env.ifname));
  s = pod_nl.Execute(pod_reqs);
  if (!s.ok()) return KernelError(s, "configuring " + env.ifname + " in " + env.netns);

  Outcome<std::vector<Route>> routes = PodRoutes(conf, *alloc, pod_link->index);
  if (!routes.ok()) return routes.error();
  std::vector<Request> route_reqs;
  for (const Route& r : routes.value()) {
    route_reqs.push_back(kernel::netlink::AddRouteRequest(r, env.ifname));
  }
  if (!route_reqs.empty()) {
    s = pod_nl.Execute(route_reqs);
    if (!s.ok()) return KernelError(s, "adding routes in " + env.netns);
  }
  if (conf.ip_masq) {
    if (auto e = NeedNft(kernel)) return *e;
    const MasqOwner owner = OwnerOf(conf, env.container_id, env.ifname);
    std::vector<MasqAddress> masq;
    for (const ipam::AllocatedIp& ip : alloc->ips) masq.push_back({ip.address, ip.subnet});
    kernel::nft::Transaction tx;
    s = AddMasqRules(*kernel.nft, owner, masq, &tx);
    if (s.ok()) s = kernel.nft->Apply(tx);
    if (!s.ok()) return KernelError(s, "setting up ipMasq for " + att.ToString());
    undo.Add([&kernel, owner] { (void)DelMasqRules(*kernel.nft, owner); });
  }
  s = store.value().Commit(att);
  if (!s.ok()) return IpamError(s, "committing the reservation of " + att.ToString());
  undo.Dismiss();

  nlohmann::json result = std::move(prev).value();
  const size_t base_index = result["interfaces"].size();
  result["interfaces"].push_back({{"name", conf.bridge}, {"mac", bridge.value().mac.ToString()}});
  result["interfaces"].push_back({{"name", host_name}, {"mac", host_link->mac.ToString()}});
  result["interfaces"].push_back(
      {{"name", env.ifname}, {"mac", pod_link->mac.ToString()}, {"sandbox", env.netns}});
  for (const ipam::AllocatedIp& ip : alloc->ips) {
    result["ips"].push_back({{"address", ip.ToString()},
                             {"gateway", ip.gateway.ToString()},
                             {"interface", base_index + 2}});
  }
  for (const Route& r : routes.value()) {
    result["routes"].push_back({{"dst", r.dst.ToString()}, {"gw", r.gateway->ToString()}});
  }
  if (!dns.empty()) result["dns"] = dns;
  return result;
}

Outcome<bool> Del(const NetConf& conf, const Environment& env, Kernel& kernel) {
  Outcome<ipam::IpamConfig> cfg = LoadIpam(conf);
  if (!cfg.ok()) return cfg.error();
  // The veth first, so the address is not handed out while still configured.
  const std::string host_name = HostVethName(env.container_id, env.ifname);
  base::Status s = kernel.host->DeleteLink(host_name);
  if (!s.ok() && s.code() != base::StatusCode::kNotFound) {
    return KernelError(s, "deleting " + host_name);
  }
  if (!env.netns.empty()) {
    base::StatusOr<PodNetns> pod = kernel.open_netns(env.netns);
    if (pod.ok()) {
      base::StatusOr<Link> link = pod->netlink->GetLink(env.ifname);
      if (link.ok() && link->kind == "veth") {
        s = pod->netlink->DeleteLink(env.ifname);
        if (!s.ok() && s.code() != base::StatusCode::kNotFound) {
          return KernelError(s, "deleting " + env.ifname + " in " + env.netns);
        }
      }
    }  // A namespace that is gone took its interfaces with it: success.
  }
  if (conf.ip_masq) {
    if (auto e = NeedNft(kernel)) return *e;
    s = DelMasqRules(*kernel.nft, OwnerOf(conf, env.container_id, env.ifname));
    if (!s.ok()) return KernelError(s, "removing the ipMasq rules of " + env.container_id);
  }
  Outcome<ipam::HostLocalStore> store = OpenStore(cfg.value(), kernel);
  if (!store.ok()) return store.error();
  const ipam::Attachment att{env.container_id, env.ifname};
  s = store.value().Release(att);
  if (!s.ok()) return IpamError(s, "releasing the addresses of " + att.ToString());
  return true;
}

Outcome<bool> Check(const NetConf& conf, const Environment& env, Kernel& kernel) {
  if (conf.prev_result.is_null()) {
    return Error{ErrorCode::kInvalidNetworkConfig, "CHECK needs prevResult", ""};
  }
  Outcome<nlohmann::json> prev = ParseResult(conf.prev_result);
  if (!prev.ok()) return prev.error();
  Outcome<ipam::IpamConfig> cfg = LoadIpam(conf);
  if (!cfg.ok()) return cfg.error();
  Outcome<ipam::HostLocalStore> store = OpenStore(cfg.value(), kernel);
  if (!store.ok()) return store.error();
  const ipam::Attachment att{env.container_id, env.ifname};
  base::StatusOr<std::vector<base::IPAddress>> reserved = store.value().AddressesOf(att);
  if (!reserved.ok()) return IpamError(reserved.status(), "reading reservations");
  if (reserved->empty()) return CheckFailed("no address is reserved for " + att.ToString());

  Outcome<PodNetns> pod = OpenPod(kernel, env.netns);
  if (!pod.ok()) return pod.error();
  Netlink& pod_nl = *pod.value().netlink;
  base::StatusOr<Link> link = pod_nl.GetLink(env.ifname);
  if (!link.ok()) return CheckFailed("interface " + env.ifname + " not found in " + env.netns);
  if (link->kind != "veth") {
    return CheckFailed("interface " + env.ifname + " in " + env.netns + " is not a veth");
  }
  base::StatusOr<std::vector<Address>> addrs = pod_nl.ListLinkAddresses(link->index, AF_UNSPEC);
  if (!addrs.ok()) return KernelError(addrs.status(), "listing addresses of " + env.ifname);
  auto has_addr = [&](const base::IPAddress& ip) {
    for (const Address& a : *addrs) {
      if (a.ip == ip) return true;
    }
    return false;
  };
  for (const base::IPAddress& ip : *reserved) {
    if (!has_addr(ip)) {
      return CheckFailed("reserved address " + ip.ToString() + " is not on " + env.ifname);
    }
  }
  const nlohmann::json& prev_ifs = prev.value()["interfaces"];
  for (const nlohmann::json& ip : prev.value()["ips"]) {
    if (!ip.contains("interface")) continue;
    const nlohmann::json& itf = prev_ifs[ip["interface"].get<size_t>()];
    if (itf["name"] != env.ifname || itf.value("sandbox", "") != env.netns) continue;
    auto cidr = base::Cidr::ParseLoose(ip["address"].get<std::string>());
    auto addr = base::IPAddress::Parse(
        ip["address"].get<std::string>().substr(0, ip["address"].get<std::string>().find('/')));
    if (!cidr.ok() || !addr.ok() || !has_addr(*addr)) {
      return CheckFailed("prevResult address " + ip["address"].get<std::string>() + " is not on " +
                         env.ifname);
    }
  }
  if (conf.is_default_gateway) {
    for (const base::IPAddress& ip : *reserved) {
      base::StatusOr<std::vector<Route>> routes = pod_nl.ListRoutes(FamilyOf(ip));
      if (!routes.ok()) return KernelError(routes.status(), "listing routes in " + env.netns);
      bool found = false;
      for (const Route& r : *routes) {
        if (r.table == kernel::netlink::kMainTable && r.dst.prefix_len() == 0 &&
            r.link_index == link->index && r.gateway.has_value()) {
          found = true;
        }
      }
      if (!found) {
        return CheckFailed("no default route via " + env.ifname + " in " + env.netns + " for " +
                           (ip.is_v4() ? "IPv4" : "IPv6"));
      }
    }
  }
  const std::string host_name = HostVethName(env.container_id, env.ifname);
  base::StatusOr<Link> host_link = kernel.host->GetLink(host_name);
  if (!host_link.ok()) return CheckFailed("host interface " + host_name + " not found");
  base::StatusOr<Link> bridge = kernel.host->GetLink(conf.bridge);
  if (!bridge.ok() || host_link->master_index != bridge->index) {
    return CheckFailed("host interface " + host_name + " is not a port of " + conf.bridge);
  }
  if (conf.ip_masq) {
    if (auto e = NeedNft(kernel)) return *e;
    const MasqOwner owner = OwnerOf(conf, env.container_id, env.ifname);
    for (kernel::nft::Family f : {kernel::nft::Family::kIp, kernel::nft::Family::kIp6}) {
      size_t want = 0;
      for (const base::IPAddress& ip : *reserved) want += kernel::nft::FamilyOf(ip) == f ? 1 : 0;
      if (want == 0) continue;
      base::StatusOr<size_t> have = CountMasqRules(*kernel.nft, owner, f);
      if (!have.ok()) return KernelError(have.status(), "listing ipMasq rules");
      if (*have != want) {
        return CheckFailed("ipMasq: " + std::to_string(*have) + " masquerade rule(s) for " +
                           att.ToString() + " in table " + std::string(kernel::nft::FamilyName(f)) +
                           " " + kMasqTable + ", want " + std::to_string(want));
      }
    }
  }
  return true;
}

Outcome<bool> Status(const NetConf& conf, Kernel& kernel) {
  Outcome<ipam::IpamConfig> cfg = LoadIpam(conf);
  if (!cfg.ok()) return cfg.error();
  base::StatusOr<Link> bridge = kernel.host->GetLink(conf.bridge);
  if (bridge.ok() && bridge->kind != "bridge") {
    return Error{ErrorCode::kPluginNotAvailable,
                 "link " + conf.bridge + " exists and is not a bridge", ""};
  }
  Outcome<ipam::HostLocalStore> store = OpenStore(cfg.value(), kernel);
  if (!store.ok()) {
    return Error{ErrorCode::kPluginNotAvailable, store.error().msg, ""};
  }
  base::StatusOr<bool> free = store.value().HasFreeAddress(cfg.value());
  if (!free.ok()) {
    return Error{ErrorCode::kPluginNotAvailable, "reading the address store",
                 free.status().message()};
  }
  if (!*free) {
    return Error{ErrorCode::kPluginNotAvailable, "no free address left in network " + conf.name,
                 cfg.value().StoreDir()};
  }
  return true;
}

Outcome<bool> Gc(const NetConf& conf, Kernel& kernel) {
  Outcome<ipam::IpamConfig> cfg = LoadIpam(conf);
  if (!cfg.ok()) return cfg.error();
  std::vector<ipam::Attachment> valid;
  std::set<std::string> valid_veths;
  for (const GcAttachment& a : conf.valid_attachments) {
    valid.push_back({a.container_id, a.ifname});
    valid_veths.insert(HostVethName(a.container_id, a.ifname));
  }
  base::StatusOr<Link> bridge = kernel.host->GetLink(conf.bridge);
  if (bridge.ok()) {
    base::StatusOr<std::vector<Link>> links = kernel.host->ListLinks();
    if (!links.ok()) return KernelError(links.status(), "listing links");
    for (const Link& l : *links) {
      if (l.master_index != bridge->index || l.kind != "veth" || l.name.size() != 15 ||
          l.name.rfind("knet", 0) != 0 || valid_veths.count(l.name) != 0) {
        continue;
      }
      base::Status s = kernel.host->DeleteLink(l.name);
      if (!s.ok() && s.code() != base::StatusCode::kNotFound) {
        return KernelError(s, "deleting stale " + l.name);
      }
    }
  }
  if (conf.ip_masq) {
    if (auto e = NeedNft(kernel)) return *e;
    std::set<std::string> valid_comments;
    for (const GcAttachment& a : conf.valid_attachments) {
      valid_comments.insert(MasqComment(OwnerOf(conf, a.container_id, a.ifname)));
    }
    base::Status s = GcMasqRules(*kernel.nft, conf.name, valid_comments);
    if (!s.ok()) return KernelError(s, "removing stale ipMasq rules");
  }
  Outcome<ipam::HostLocalStore> store = OpenStore(cfg.value(), kernel);
  if (!store.ok()) return store.error();
  base::StatusOr<int> removed = store.value().GarbageCollect(valid);
  if (!removed.ok()) return IpamError(removed.status(), "collecting stale reservations");
  return true;
}

}  // namespace knet::cni
