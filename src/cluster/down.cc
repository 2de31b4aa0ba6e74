// Cluster::Down: remove everything the manifest records, in reverse order of making, and check
// that nothing is left.
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cluster/cluster.h"
#include "cluster/internal/manifest.h"
#include "cluster/internal/supervisor.h"
#include "cluster/internal/underlay.h"

namespace knet::cluster {
namespace {

using namespace std::chrono_literals;
using internal::Manifest;
using internal::ProcessRecord;

std::vector<ProcessRecord> OfRole(const Manifest& m, const std::string& role) {
  std::vector<ProcessRecord> out;
  for (const ProcessRecord& p : m.processes) {
    if (p.role == role) out.push_back(p);
  }
  return out;
}

// The pod network namespaces the agents made: pods/<uid>/sandbox.json "netns" under each node's
// root dir.
std::vector<std::string> PodNetns(const Manifest& m) {
  std::vector<std::string> out;
  for (const internal::NodeRecord& n : m.nodes) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(n.root_dir + "/pods", ec)) {
      std::ifstream in(e.path() / "sandbox.json");
      if (!in) continue;
      std::stringstream ss;
      ss << in.rdbuf();
      auto j = nlohmann::json::parse(ss.str(), nullptr, false);
      if (j.is_object() && j.contains("netns") && j["netns"].is_string()) {
        std::string ns = j["netns"];
        // A name or a path; only names under /run/netns are ours to delete.
        if (ns.starts_with(std::string(kernel::netns::kRunDir) + "/")) {
          ns = ns.substr(kernel::netns::kRunDir.size() + 1);
        }
        if (!ns.empty() && ns.find('/') == std::string::npos) out.push_back(ns);
      }
    }
  }
  return out;
}

// Detaches any mount below `dir` (none is expected; this keeps remove_all from descending into
// one).
void UnmountBelow(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> points;
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    if (point.starts_with(dir + "/")) points.push_back(point);
  }
  for (auto it = points.rbegin(); it != points.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
}

std::string NetnsPath(const std::string& name) {
  return std::string(kernel::netns::kRunDir) + "/" + name;
}

}  // namespace

base::Status Down(const std::string& name, const std::string& state_dir_flag, const Env& env) {
  std::ostream& out = *env.out;
  std::string dir = StateDir(name, state_dir_flag);
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    out << "cluster " << name << ": nothing to remove (no " << dir << ")\n";
    return base::OkStatus();
  }
  Manifest m;
  auto loaded = internal::LoadManifest(dir);
  if (loaded.ok()) {
    m = *loaded;
  } else if (loaded.status().code() != base::StatusCode::kNotFound) {
    // Unreadable: still sweep what runs from the state dir, but keep the dir for a look.
    internal::SweepProcesses({}, dir, 5s);
    return loaded.status().WithContext("cluster " + name +
                                       ": cannot tell what was made; fix or remove it by hand");
  }
  m.state_dir = dir;
  std::vector<std::string> left;

  // 1. The agents first, so nothing restarts the pods being killed.
  std::vector<ProcessRecord> agents = OfRole(m, "agent");
  if (!agents.empty()) out << "stopping " << agents.size() << " agent(s) ...\n" << std::flush;
  for (const std::string& s : internal::StopProcesses(agents, 10s)) left.push_back(s);

  // 2. Every process in a node or pod namespace of this cluster (pods outlive agents by design),
  // and anything else running from the state dir.
  std::vector<std::string> pods = PodNetns(m);
  std::set<ino_t> inodes;
  for (const internal::NodeRecord& n : m.nodes) {
    if (auto i = internal::NetnsInode(NetnsPath(n.netns)); i.ok()) inodes.insert(*i);
  }
  for (const std::string& p : pods) {
    if (auto i = internal::NetnsInode(NetnsPath(p)); i.ok()) inodes.insert(*i);
  }
  int swept = internal::SweepProcesses(inodes, "", 10s);
  if (swept > 0) out << "killed " << swept << " pod process(es)\n";

  // 3. Namespaces and links.
  internal::Underlay underlay(*env.host, env.open_netlink);
  for (const std::string& p : pods) {
    base::Status s = kernel::netns::Delete(p);
    if (!s.ok() && s.code() != base::StatusCode::kNotFound) left.push_back(s.message());
  }
  for (auto it = m.nodes.rbegin(); it != m.nodes.rend(); ++it) {
    if (base::Status s = underlay.DeleteNode(it->netns, it->host_veth); !s.ok()) {
      left.push_back(s.message());
    }
  }
  if (base::Status s = underlay.DeleteLink(m.bridge); !s.ok()) left.push_back(s.message());
  if (!m.nodes.empty() || !m.bridge.empty()) {
    out << "removed " << pods.size() << " pod namespace(s), " << m.nodes.size()
        << " node namespace(s) and the underlay " << (m.bridge.empty() ? "-" : m.bridge) << "\n";
  }

  // 4. The control plane, then any straggler that runs from the state dir (e.g. a process started
  // by an `up` that crashed before recording it).
  std::vector<ProcessRecord> cp = OfRole(m, "server");
  for (const ProcessRecord& p : OfRole(m, "etcd")) cp.push_back(p);
  if (!cp.empty()) out << "stopping the control plane ...\n" << std::flush;
  for (const std::string& s : internal::StopProcesses(cp, 10s)) left.push_back(s);
  internal::SweepProcesses({}, dir, 5s);

  // 5. Check, then the files.
  for (const ProcessRecord& p : m.processes) {
    if (internal::IsRunning(p))
      left.push_back("process " + p.name + " (pid " + std::to_string(p.pid) + ")");
  }
  for (const internal::NodeRecord& n : m.nodes) {
    if (std::filesystem::exists(NetnsPath(n.netns), ec)) left.push_back("netns " + n.netns);
    if (!n.host_veth.empty() && env.host->GetLink(n.host_veth).ok()) {
      left.push_back("link " + n.host_veth);
    }
  }
  for (const std::string& p : pods) {
    if (std::filesystem::exists(NetnsPath(p), ec)) left.push_back("netns " + p);
  }
  if (!m.bridge.empty() && env.host->GetLink(m.bridge).ok()) left.push_back("link " + m.bridge);
  if (!left.empty()) {
    std::string what;
    for (const std::string& l : left) what += "\n  " + l;
    return base::InternalError("cluster " + name + ": could not remove (state kept in " + dir +
                               "; run knet cluster down again):" + what);
  }
  for (const std::string& f : m.files) std::filesystem::remove(f, ec);
  UnmountBelow(dir);
  std::filesystem::remove_all(dir, ec);
  if (ec) return base::InternalError("removing " + dir + ": " + ec.message());
  out << "cluster " << name << " removed\n";
  return base::OkStatus();
}

}  // namespace knet::cluster
