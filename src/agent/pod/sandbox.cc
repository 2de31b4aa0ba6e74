// File: agent/pod/sandbox.cc
#include "agent/pod/sandbox.h"

#include <stdio.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/file.h"
#include "kernel/netlink/linux_netlink.h"
#include "kernel/netns/netns.h"

namespace knet::agent::pod {
namespace {

namespace fs = std::filesystem;

base::StatusOr<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::NotFoundError(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json ToJson(const SandboxRecord& r, const std::string& net_conf) {
  return {{"uid", r.uid},
          {"namespace", r.pod_namespace},
          {"name", r.pod_name},
          {"netns", r.netns_name},
          {"podIPs", r.pod_ips},
          {"networkReady", r.network_ready},
          {"tornDown", r.torn_down},
          {"hostNetwork", r.host_network},
          {"hosts", r.hosts_path},
          {"resolvConf", r.resolv_path},
          {"hostname", r.hostname},
          {"netConf", net_conf}};
}

std::vector<cniexec::PortMapping> HostPorts(const api::Pod& pod) {
  std::vector<cniexec::PortMapping> out;
  for (const api::Container& c : pod.spec.containers) {
    for (const api::ContainerPort& p : c.ports) {
      if (p.host_port <= 0) continue;
      cniexec::PortMapping m;
      m.host_port = p.host_port;
      m.container_port = p.container_port;
      std::string proto = p.protocol.empty() ? "tcp" : p.protocol;
      for (char& ch : proto) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      m.protocol = proto;
      m.host_ip = p.host_ip;
      out.push_back(m);
    }
  }
  return out;
}

cniexec::RuntimeConf RuntimeConfOf(const SandboxRecord& r,
                                   const std::vector<cniexec::PortMapping>& ports) {
  cniexec::RuntimeConf rt;
  rt.container_id = r.uid;
  rt.netns_path = r.netns_path;
  rt.args = cniexec::KubernetesArgs(r.pod_namespace, r.pod_name, r.uid, r.uid);
  if (!ports.empty()) rt.capability_args["portMappings"] = cniexec::PortMappingsJson(ports);
  return rt;
}

base::Status LoopbackUp(const kernel::netns::Netns& ns) {
  auto nl = kernel::netlink::LinuxNetlink::Open(ns);
  if (!nl.ok()) return nl.status();
  auto lo = (*nl)->GetLink("lo");
  if (!lo.ok()) return lo.status();
  auto s = (*nl)->SetLinkUp(*lo, true);
  if (!s.ok()) return base::Status(s.code(), "setting lo up: " + s.message());
  return base::OkStatus();
}

}  // namespace

std::string Sandboxes::NetnsNameFor(const api::Pod& pod) {
  return "knet-" + pod.metadata.uid.substr(0, 8) + "-" + pod.metadata.name.substr(0, 40);
}

std::string Sandboxes::PodDir(const std::string& uid) const {
  return opts_.root_dir + "/pods/" + uid;
}

base::Status Sandboxes::Save(const SandboxRecord& r) const {
  // The network config used for ADD is kept so DEL uses the same plugins even if the node's
  // conflist changed since (as libcni caches it).
  std::string net_conf;
  if (auto old = ReadAll(PodDir(r.uid) + "/sandbox.json"); old.ok()) {
    auto j = nlohmann::json::parse(*old, nullptr, false);
    if (j.is_object() && j.contains("netConf") && j["netConf"].is_string()) {
      net_conf = j["netConf"].get<std::string>();
    }
  }
  return base::WriteFileAtomic(PodDir(r.uid) + "/sandbox.json", ToJson(r, net_conf).dump(2) + "\n");
}

base::StatusOr<SandboxRecord> Sandboxes::Load(const std::string& uid) const {
  std::string path = PodDir(uid) + "/sandbox.json";
  ASSIGN_OR_RETURN(std::string text, ReadAll(path));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return base::InvalidArgumentError(path + ": not a JSON object");
  SandboxRecord r;
  try {
    r.uid = j.at("uid").get<std::string>();
    r.pod_namespace = j.at("namespace").get<std::string>();
    r.pod_name = j.at("name").get<std::string>();
    r.netns_name = j.at("netns").get<std::string>();
    r.netns_path = std::string(kernel::netns::kRunDir) + "/" + r.netns_name;
    r.pod_ips = j.at("podIPs").get<std::vector<std::string>>();
    r.network_ready = j.at("networkReady").get<bool>();
    r.torn_down = j.value("tornDown", false);
    r.host_network = j.value("hostNetwork", false);
    if (r.host_network) r.netns_path.clear();
    r.hosts_path = j.value("hosts", "");
    r.resolv_path = j.value("resolvConf", "");
    r.hostname = j.value("hostname", "");
  } catch (const nlohmann::json::exception& e) {
    return base::InvalidArgumentError(path + ": " + e.what());
  }
  return r;
}

std::optional<SandboxRecord> Sandboxes::Get(const std::string& uid) const {
  auto r = Load(uid);
  if (!r.ok()) return std::nullopt;
  return *r;
}

std::vector<SandboxRecord> Sandboxes::List() const {
  std::vector<SandboxRecord> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(opts_.root_dir + "/pods", ec)) {
    auto r = Load(e.path().filename().string());
    if (r.ok()) {
      out.push_back(*r);
    } else {
      // A pod dir without a readable record (crash before the first write): still report it so
      // the caller removes it.
      SandboxRecord bare;
      bare.uid = e.path().filename().string();
      out.push_back(bare);
    }
  }
  return out;
}

base::Status Sandboxes::WriteFiles(const api::Pod& pod, SandboxRecord& r) const {
  std::string dir = PodDir(r.uid);
  r.hosts_path = dir + "/hosts";
  r.resolv_path = dir + "/resolv.conf";
  r.hostname = PodHostname(pod);
  RETURN_IF_ERROR(
      base::WriteFileAtomic(r.hosts_path, RenderHosts(pod, r.pod_ips, opts_.dns.domain)));
  std::string host_resolv;
  if (auto t = ReadAll(opts_.host_resolv_conf); t.ok()) host_resolv = *t;
  ASSIGN_OR_RETURN(std::string resolv, RenderResolvConf(pod, opts_.dns, host_resolv));
  RETURN_IF_ERROR(base::WriteFileAtomic(r.resolv_path, resolv));
  return base::WriteFileAtomic(dir + "/hostname", r.hostname + "\n");
}

base::StatusOr<SandboxRecord> Sandboxes::Ensure(const api::Pod& pod) {
  const std::string& uid = pod.metadata.uid;
  if (auto existing = Load(uid); existing.ok()) {
    if (existing->network_ready) return *existing;
    // Half made (a crash during ADD) or torn down: undo what may exist, then make it again.
    RETURN_IF_ERROR(Teardown(uid));
  }
  std::error_code ec;
  fs::create_directories(PodDir(uid), ec);
  if (ec) return base::InternalError("creating " + PodDir(uid) + ": " + ec.message());

  ASSIGN_OR_RETURN(cniexec::NetworkConfigList net, cniexec::LoadNetworkConfigList(opts_.conf_dir));
  SandboxRecord r;
  r.uid = uid;
  r.pod_namespace = pod.metadata.namespace_;
  r.pod_name = pod.metadata.name;
  if (pod.spec.host_network) {
    // The node's own network: no namespace, no CNI; the pod's IPs are the node's, as upstream.
    r.host_network = true;
    r.pod_ips = opts_.host_ips;
    r.hostname = PodHostname(pod);
    r.resolv_path = PodDir(uid) + "/resolv.conf";
    std::string host_resolv;
    if (auto t = ReadAll(opts_.host_resolv_conf); t.ok()) host_resolv = *t;
    ASSIGN_OR_RETURN(std::string resolv, RenderResolvConf(pod, opts_.dns, host_resolv));
    RETURN_IF_ERROR(base::WriteFileAtomic(r.resolv_path, resolv));
    r.network_ready = true;
    RETURN_IF_ERROR(
        base::WriteFileAtomic(PodDir(uid) + "/sandbox.json", ToJson(r, "").dump(2) + "\n"));
    return r;
  }
  r.netns_name = NetnsNameFor(pod);
  r.netns_path = std::string(kernel::netns::kRunDir) + "/" + r.netns_name;
  // Record first, so a crash from here on is undone by the next Ensure or Teardown.
  RETURN_IF_ERROR(
      base::WriteFileAtomic(PodDir(uid) + "/sandbox.json", ToJson(r, net.bytes).dump(2) + "\n"));

  auto fail = [&](const base::Status& s) -> base::Status {
    (void)Teardown(uid);
    return s;
  };
  auto ns = kernel::netns::Create(r.netns_name);
  if (!ns.ok() && ns.status().code() == base::StatusCode::kAlreadyExists) {
    // Left by a crash before the record knew it: remove and make afresh.
    (void)kernel::netns::Delete(r.netns_name);
    ns = kernel::netns::Create(r.netns_name);
  }
  if (!ns.ok()) {
    return fail(base::Status(ns.status().code(), "creating the network namespace of pod " +
                                                     r.pod_namespace + "/" + r.pod_name + ": " +
                                                     ns.status().message()));
  }
  // The runtime's part, not CNI's: `lo` up, or a pod cannot reach even its own IP (traffic to
  // local addresses goes through lo), as containerd and CRI-O bring it up themselves.
  if (auto s = LoopbackUp(*ns); !s.ok()) {
    return fail(
        base::Status(s.code(), "pod " + r.pod_namespace + "/" + r.pod_name + ": " + s.message()));
  }
  auto added = opts_.cni->AddNetworkList(net, RuntimeConfOf(r, HostPorts(pod)));
  if (!added.ok()) {
    return fail(base::Status(added.status().code(), "setting up the network of pod " +
                                                        r.pod_namespace + "/" + r.pod_name + ": " +
                                                        added.status().message()));
  }
  for (const base::IPAddress& ip : added->ips) r.pod_ips.push_back(ip.ToString());
  if (auto s = WriteFiles(pod, r); !s.ok()) return fail(s);
  r.network_ready = true;
  if (auto s = Save(r); !s.ok()) return fail(s);
  return r;
}

base::Status Sandboxes::Teardown(const std::string& uid) {
  auto r = Load(uid);
  if (!r.ok()) return base::OkStatus();  // nothing recorded, nothing made
  if (r->torn_down || r->host_network) return base::OkStatus();
  std::string net_conf;
  if (auto text = ReadAll(PodDir(uid) + "/sandbox.json"); text.ok()) {
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_object() && j.contains("netConf") && j["netConf"].is_string()) {
      net_conf = j["netConf"].get<std::string>();
    }
  }
  if (!net_conf.empty()) {
    ASSIGN_OR_RETURN(cniexec::NetworkConfigList net,
                     cniexec::ParseNetworkConfigList(net_conf, PodDir(uid) + "/sandbox.json"));
    cniexec::RuntimeConf rt = RuntimeConfOf(*r, {});
    // CNI DEL with a netns that is already gone is fine (the spec asks plugins to accept it);
    // pass no path then, as containerd does.
    if (!fs::exists(rt.netns_path)) rt.netns_path.clear();
    auto s = opts_.cni->DelNetworkList(net, rt);
    if (!s.ok()) {
      return base::Status(s.code(), "tearing down the network of pod " + r->pod_namespace + "/" +
                                        r->pod_name + ": " + s.message());
    }
  }
  auto s = kernel::netns::Delete(r->netns_name);
  if (!s.ok() && s.code() != base::StatusCode::kNotFound) return s;
  r->network_ready = false;
  r->torn_down = true;
  return Save(*r);
}

base::Status Sandboxes::Remove(const std::string& uid) {
  RETURN_IF_ERROR(Teardown(uid));
  std::error_code ec;
  fs::remove_all(PodDir(uid), ec);
  if (ec) return base::InternalError("removing " + PodDir(uid) + ": " + ec.message());
  return base::OkStatus();
}

}  // namespace knet::agent::pod
