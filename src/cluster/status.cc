// Cluster::PrintStatus and Cluster::Exec.
#include <sys/wait.h>

#include <cerrno>
#include <iomanip>
#include <map>
#include <vector>

#include "agent/process/process.h"
#include "api/node.h"
#include "client/rest_client.h"
#include "cluster/cluster.h"
#include "cluster/internal/manifest.h"
#include "cluster/internal/supervisor.h"

extern char** environ;

namespace knet::cluster {
namespace {

base::StatusOr<internal::Manifest> Load(const std::string& name, const std::string& flag) {
  auto m = internal::LoadManifest(StateDir(name, flag));
  if (!m.ok() && m.status().code() == base::StatusCode::kNotFound) {
    return base::NotFoundError("no cluster " + name + " (no manifest in " + StateDir(name, flag) +
                               ")");
  }
  return m;
}

std::string ReadyOf(const api::Node& n) {
  for (const api::NodeCondition& c : n.status.conditions) {
    if (c.type == "Ready") return c.status == "True" ? "Ready" : "NotReady";
  }
  return "Unknown";
}

}  // namespace

base::Status PrintStatus(const std::string& name, const std::string& flag, const Env& env) {
  ASSIGN_OR_RETURN(internal::Manifest m, Load(name, flag));
  std::ostream& out = *env.out;
  out << "cluster " << m.name << (m.complete ? "" : " (incomplete: `up` did not finish)")
      << "\n  state dir   " << m.state_dir << "\n  underlay    " << m.bridge << " "
      << m.underlay_cidr << "\n  API server  " << m.api_server << "\n  kubeconfig  " << m.kubeconfig
      << "\n  backend     " << m.backend << "\n  store       " << m.store << "\n\n";
  out << std::left << std::setw(12) << "PROCESS" << std::setw(8) << "ROLE" << std::setw(10) << "PID"
      << "STATE\n";
  std::map<std::string, bool> agent_running;
  std::vector<std::string> problems;
  if (!m.complete) problems.push_back("`up` did not finish");
  for (const internal::ProcessRecord& p : m.processes) {
    bool up = internal::IsRunning(p);
    if (!up) problems.push_back(p.name + " (" + p.role + ") not running");
    if (p.role == "agent") agent_running[p.name] = up;
    out << std::setw(12) << p.name << std::setw(8) << p.role << std::setw(10) << p.pid
        << (up ? "running" : "not running") << "\n";
  }
  std::map<std::string, api::Node> nodes;
  std::string api_error;
  auto c = client::RestClient::FromKubeconfig(m.admin_kubeconfig);
  if (c.ok()) {
    auto list = (*c)->List<api::Node>("");
    if (list.ok()) {
      for (const api::Node& n : list->items) nodes[n.metadata.name] = n;
    } else {
      api_error = list.status().message();
    }
  } else {
    api_error = c.status().message();
  }
  out << "\n"
      << std::setw(12) << "NODE" << std::setw(16) << "INTERNAL-IP" << std::setw(18) << "POD-CIDR"
      << std::setw(10) << "STATUS"
      << "AGENT\n";
  for (const internal::NodeRecord& r : m.nodes) {
    auto it = nodes.find(r.name);
    std::string cidr = it == nodes.end() ? "-" : it->second.spec.pod_cidr;
    std::string ready =
        it == nodes.end() ? (api_error.empty() ? "Missing" : "?") : ReadyOf(it->second);
    std::string ip = r.ip;
    if (it != nodes.end()) {
      for (const api::NodeAddress& a : it->second.status.addresses) {
        if (a.type == "InternalIP") ip = a.address;
      }
    }
    if (ready != "Ready") problems.push_back(r.name + " " + ready);
    auto ar = agent_running.find(r.name);
    out << std::setw(12) << r.name << std::setw(16) << ip << std::setw(18)
        << (cidr.empty() ? "-" : cidr) << std::setw(10) << ready
        << (ar != agent_running.end() && ar->second ? "running" : "not running") << "\n";
  }
  if (!api_error.empty()) {
    out << "\nAPI server unreachable: " << api_error << "\n";
    problems.push_back("API server unreachable");
  }
  if (!problems.empty()) {
    std::string what;
    for (const std::string& p : problems) what += (what.empty() ? "" : "; ") + p;
    return base::UnavailableError("cluster " + m.name + " is not healthy: " + what);
  }
  return base::OkStatus();
}

base::StatusOr<int> Exec(const std::string& name, const std::string& flag, const std::string& node,
                         const std::vector<std::string>& argv) {
  ASSIGN_OR_RETURN(internal::Manifest m, Load(name, flag));
  const internal::NodeRecord* found = nullptr;
  std::string known;
  for (const internal::NodeRecord& n : m.nodes) {
    if (n.name == node) found = &n;
    known += (known.empty() ? "" : ", ") + n.name;
  }
  if (found == nullptr) {
    return base::NotFoundError("cluster " + name + " has no node " + node + " (nodes: " + known +
                               ")");
  }
  if (argv.empty()) return base::InvalidArgumentError("no command to run");
  agent::process::SpawnOptions o;
  o.argv = argv;
  for (char** e = environ; *e != nullptr; ++e) o.env.emplace_back(*e);
  o.netns_path = std::string(kernel::netns::kRunDir) + "/" + found->netns;
  o.stdin_fd = 0;
  o.stdout_fd = 1;
  o.stderr_fd = 2;
  ASSIGN_OR_RETURN(pid_t pid, agent::process::Spawn(o));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return base::ErrnoError(errno, "waiting for " + argv[0]);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace knet::cluster
