// Cluster::Up: underlay, control plane, agents, then wait for every node to be Ready.
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <thread>

#include "api/node.h"
#include "base/ip.h"
#include "client/rest_client.h"
#include "cluster/cluster.h"
#include "cluster/internal/etcd.h"
#include "cluster/internal/manifest.h"
#include "cluster/internal/naming.h"
#include "cluster/internal/supervisor.h"
#include "cluster/internal/underlay.h"

namespace knet::cluster {
namespace {

using namespace std::chrono_literals;
using internal::Manifest;
using internal::NodeRecord;
using internal::ProcessRecord;

constexpr int kApiPort = 6443;

std::string Tail(const std::string& path, size_t bytes = 1500) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? "..." + s.substr(s.size() - bytes) : s;
}

base::Status CheckOptions(const UpOptions& o) {
  RETURN_IF_ERROR(internal::ValidateName(o.name));
  if (o.nodes < 1 || o.nodes > internal::kMaxNodes) {
    return base::InvalidArgumentError("--nodes must be between 1 and " +
                                      std::to_string(internal::kMaxNodes));
  }
  if (o.backend != "vxlan" && o.backend != "host-gw" && o.backend != "bgp" && o.backend != "none") {
    return base::InvalidArgumentError("--backend must be vxlan, host-gw, bgp or none, not \"" +
                                      o.backend + "\"");
  }
  if (o.store != "sqlite" && o.store != "etcd") {
    return base::InvalidArgumentError("--store must be sqlite or etcd, not \"" + o.store + "\"");
  }
  for (const std::string* c : {&o.pod_cidr, &o.service_cidr}) {
    auto p = base::Cidr::Parse(*c);
    if (!p.ok()) return p.status().WithContext(c == &o.pod_cidr ? "--pod-cidr" : "--service-cidr");
  }
  if (!o.underlay_cidr.empty()) {
    auto u = base::Cidr::Parse(o.underlay_cidr);
    if (!u.ok()) return u.status().WithContext("--underlay-cidr");
    RETURN_IF_ERROR(internal::CheckUnderlay(*u, o.nodes));
  }
  return base::OkStatus();
}

class Builder {
 public:
  Builder(const UpOptions& o, const Env& env, Manifest& m)
      : o_(o), env_(env), out_(*env.out), m_(m), underlay_(*env.host, env.open_netlink) {}

  base::Status Run() {
    RETURN_IF_ERROR(MakeUnderlay());
    RETURN_IF_ERROR(Interrupted());
    RETURN_IF_ERROR(StartControlPlane());
    RETURN_IF_ERROR(Interrupted());
    RETURN_IF_ERROR(StartAgents());
    RETURN_IF_ERROR(WaitNodesReady());
    m_.complete = true;
    RETURN_IF_ERROR(internal::SaveManifest(m_));
    PrintSummary();
    return base::OkStatus();
  }

 private:
  base::Status Interrupted() const {
    if (env_.cancelled && env_.cancelled()) {
      return base::Status(base::StatusCode::kCancelled, "interrupted");
    }
    return base::OkStatus();
  }

  base::Status MakeUnderlay() {
    // Two `up`s at once must not both pick the same free subnet: choosing it and putting it on
    // the bridge happen under a host-wide lock (released when `lock` closes).
    ASSIGN_OR_RETURN(internal::HostLock lock, internal::HostLock::Acquire());
    ASSIGN_OR_RETURN(std::vector<base::Cidr> taken, underlay_.HostPrefixes());
    base::Cidr cidr;
    if (o_.underlay_cidr.empty()) {
      ASSIGN_OR_RETURN(cidr, internal::DefaultUnderlay(o_.name, taken));
    } else {
      ASSIGN_OR_RETURN(cidr, base::Cidr::Parse(o_.underlay_cidr));
      for (const base::Cidr& t : taken) {
        if (t.prefix_len() > 0 && t.Overlaps(cidr)) {
          return base::FailedPreconditionError("--underlay-cidr " + cidr.ToString() + " overlaps " +
                                               t.ToString() + ", in use on this host");
        }
      }
    }
    ASSIGN_OR_RETURN(base::IPAddress gw, cidr.Nth(1));
    m_.underlay_cidr = cidr.ToString();
    m_.gateway = gw.ToString();
    m_.bridge = internal::BridgeName(o_.name);
    RETURN_IF_ERROR(internal::SaveManifest(m_));
    out_ << "underlay: bridge " << m_.bridge << " " << gw.ToString() << "/" << cidr.prefix_len()
         << " ..." << std::flush;
    RETURN_IF_ERROR(
        Made(underlay_.CreateBridge(m_.bridge, gw, cidr.prefix_len()), [&] { m_.bridge.clear(); }));
    out_ << " ok\n";
    // Only the pod CIDR: a node's own connections to a ClusterIP need a route before the
    // proxy's output-hook DNAT, so the service CIDR must keep following the default route.
    ASSIGN_OR_RETURN(base::Cidr pods, base::Cidr::Parse(o_.pod_cidr));
    std::vector<base::Cidr> contained = {pods};
    for (int i = 1; i <= o_.nodes; ++i) {
      ASSIGN_OR_RETURN(base::IPAddress ip, cidr.Nth(static_cast<uint64_t>(i) + 1));
      RETURN_IF_ERROR(Interrupted());
      NodeRecord n{internal::NodeName(i), internal::NodeNetnsName(o_.name, i),
                   internal::HostVethName(o_.name, i), ip.ToString(),
                   m_.state_dir + "/nodes/" + internal::NodeName(i)};
      m_.nodes.push_back(n);
      RETURN_IF_ERROR(internal::SaveManifest(m_));
      out_ << n.name << ": namespace " << n.netns << ", eth0 " << n.ip << " ..." << std::flush;
      RETURN_IF_ERROR(Made(underlay_.CreateNode(n.netns, n.host_veth, m_.bridge, ip,
                                                cidr.prefix_len(), gw, contained),
                           [&] { m_.nodes.pop_back(); }));
      out_ << " ok\n";
    }
    return base::OkStatus();
  }

  // A creation that failed with AlreadyExists made nothing of ours: forget it before the cleanup
  // (which would otherwise delete someone else's object), then report.
  base::Status Made(base::Status s, const std::function<void()>& forget) {
    if (s.code() == base::StatusCode::kAlreadyExists) {
      forget();
      RETURN_IF_ERROR(internal::SaveManifest(m_));
    }
    return s;
  }

  base::Status StartControlPlane() {
    std::string store_url;
    if (o_.store == "etcd") {
      out_ << "etcd: " << internal::kEtcdMembers << " members on " << m_.gateway << " ..."
           << std::flush;
      ASSIGN_OR_RETURN(store_url, internal::StartEtcd(m_, o_.timeout, env_.cancelled));
      out_ << " ok\n";
    }
    std::string data = m_.state_dir + "/server";
    m_.admin_kubeconfig = data + "/admin.kubeconfig";
    m_.api_server = "https://" + m_.gateway + ":" + std::to_string(kApiPort);
    std::vector<std::string> argv = {env_.knet_binary, "server",
                                     "--data-dir",     data,
                                     "--listen",       m_.gateway + ":" + std::to_string(kApiPort),
                                     "--cluster-cidr", o_.pod_cidr,
                                     "--service-cidr", o_.service_cidr};
    if (!store_url.empty()) {
      argv.push_back("--store");
      argv.push_back(store_url);
    }
    out_ << "server: " << m_.api_server << " ..." << std::flush;
    ASSIGN_OR_RETURN(ProcessRecord p, internal::StartDetached("server", "server", argv, "",
                                                              m_.state_dir + "/logs/server.log"));
    m_.processes.push_back(p);
    RETURN_IF_ERROR(internal::SaveManifest(m_));
    auto deadline = std::chrono::steady_clock::now() + o_.timeout;
    std::string last = "no kubeconfig yet";
    for (;;) {
      if (!internal::IsRunning(p)) {
        return base::UnavailableError("knet server exited; " + p.log + ":\n" + Tail(p.log));
      }
      if (std::filesystem::exists(m_.admin_kubeconfig)) {
        auto c = client::RestClient::FromKubeconfig(m_.admin_kubeconfig);
        auto r = c.ok() ? (*c)->Do("GET", "/healthz")
                        : base::StatusOr<client::RestClient::Response>(c.status());
        if (r.ok() && r->status == 200) break;
        last = r.ok() ? "/healthz " + std::to_string(r->status) : r.status().message();
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return base::DeadlineExceededError("knet server not healthy (" + last + "); " + p.log +
                                           ":\n" + Tail(p.log));
      }
      RETURN_IF_ERROR(Interrupted());
      std::this_thread::sleep_for(100ms);
    }
    out_ << " ok\n";
    return CopyKubeconfig();
  }

  base::Status CopyKubeconfig() {
    std::string dst = o_.kubeconfig_out.empty() ? m_.state_dir + "/kubeconfig" : o_.kubeconfig_out;
    dst = std::filesystem::absolute(dst).lexically_normal().string();
    std::error_code ec;
    if (!dst.starts_with(m_.state_dir + "/")) {
      if (std::filesystem::exists(dst, ec)) {
        return base::AlreadyExistsError("--kubeconfig-out " + dst +
                                        " exists; not overwriting a file knet did not make");
      }
      m_.files.push_back(dst);
    }
    m_.kubeconfig = dst;
    RETURN_IF_ERROR(internal::SaveManifest(m_));
    std::filesystem::create_directories(std::filesystem::path(dst).parent_path(), ec);
    std::filesystem::copy_file(m_.admin_kubeconfig, dst,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return base::InternalError("writing the kubeconfig " + dst + ": " + ec.message());
    chmod(dst.c_str(), 0600);
    out_ << "kubeconfig: " << dst << "\n";
    return base::OkStatus();
  }

  base::Status StartAgents() {
    m_.backend = o_.backend;
    RETURN_IF_ERROR(internal::SaveManifest(m_));
    for (const NodeRecord& n : m_.nodes) {
      std::vector<std::string> argv = {
          env_.knet_binary,    "agent",      "--node",   n.name,           "--kubeconfig",
          m_.admin_kubeconfig, "--root-dir", n.root_dir, "--cni-conf-dir", n.root_dir + "/net.d",
          "--node-ip",         n.ip};
      argv.push_back("--backend");
      argv.push_back(o_.backend);
      argv.insert(argv.end(), o_.agent_args.begin(), o_.agent_args.end());
      out_ << n.name << ": agent ..." << std::flush;
      ASSIGN_OR_RETURN(ProcessRecord p,
                       internal::StartDetached("agent", n.name, argv,
                                               std::string(kernel::netns::kRunDir) + "/" + n.netns,
                                               m_.state_dir + "/logs/" + n.name + ".log"));
      m_.processes.push_back(p);
      RETURN_IF_ERROR(internal::SaveManifest(m_));
      out_ << " ok\n";
    }
    return base::OkStatus();
  }

  static bool Ready(const api::Node& n) {
    if (n.spec.pod_cidr.empty()) return false;
    for (const api::NodeCondition& c : n.status.conditions) {
      if (c.type == "Ready") return c.status == "True";
    }
    return false;
  }

  base::Status WaitNodesReady() {
    ASSIGN_OR_RETURN(auto c, client::RestClient::FromKubeconfig(m_.admin_kubeconfig));
    auto deadline = std::chrono::steady_clock::now() + o_.timeout;
    int shown = -1;
    size_t total = m_.nodes.size();
    for (;;) {
      for (const ProcessRecord& p : m_.processes) {
        if (!internal::IsRunning(p)) {
          return base::UnavailableError(p.name + " (" + p.role + ") exited; " + p.log + ":\n" +
                                        Tail(p.log));
        }
      }
      int ready = 0;
      auto list = c->List<api::Node>("");
      if (list.ok()) {
        nodes_ = list->items;
        for (const api::Node& n : nodes_) {
          for (const NodeRecord& r : m_.nodes) {
            if (r.name == n.metadata.name && Ready(n)) ++ready;
          }
        }
      }
      if (ready != shown) {
        out_ << "waiting for " << total << " nodes Ready (" << ready << "/" << total << ")\n";
        shown = ready;
      }
      if (static_cast<size_t>(ready) == total) return base::OkStatus();
      if (std::chrono::steady_clock::now() >= deadline) {
        return base::DeadlineExceededError("nodes not Ready after " +
                                           std::to_string(o_.timeout.count()) + "s (" +
                                           std::to_string(ready) + "/" + std::to_string(total) +
                                           "); agent logs in " + m_.state_dir + "/logs");
      }
      RETURN_IF_ERROR(Interrupted());
      std::this_thread::sleep_for(250ms);
    }
  }

  void PrintSummary() {
    out_ << "\ncluster " << m_.name << " is up: " << m_.nodes.size() << " node(s), backend "
         << (m_.backend == "none" ? "none (same-node pods only)" : m_.backend) << ", store "
         << m_.store << "\n\n";
    int ns_width = 12;
    for (const NodeRecord& r : m_.nodes) {
      ns_width = std::max(ns_width, static_cast<int>(r.netns.size()) + 2);
    }
    out_ << std::left << std::setw(12) << "NODE" << std::setw(ns_width) << "NAMESPACE"
         << std::setw(16) << "INTERNAL-IP"
         << "POD-CIDR\n";
    for (const NodeRecord& r : m_.nodes) {
      std::string cidr;
      for (const api::Node& n : nodes_) {
        if (n.metadata.name == r.name) cidr = n.spec.pod_cidr;
      }
      out_ << std::setw(12) << r.name << std::setw(ns_width) << r.netns << std::setw(16) << r.ip
           << cidr << "\n";
    }
    // The state dir flag, when the cluster does not live in the default one.
    std::string sd = m_.state_dir == StateDir(m_.name, "") ? "" : " --state-dir " + m_.state_dir;
    out_ << "\nAPI server: " << m_.api_server << "\n"
         << "try:\n"
         << "  export KUBECONFIG=" << m_.kubeconfig << "\n"
         << "  kubectl get nodes -o wide\n"
         << "  knet cluster status " << m_.name << sd << "\n"
         << "  knet cluster exec " << m_.name << " node-1" << sd << " -- cat /proc/net/fib_trie\n"
         << "  knet cluster down " << m_.name << sd << "\n";
  }

  const UpOptions& o_;
  const Env& env_;
  std::ostream& out_;
  Manifest& m_;
  internal::Underlay underlay_;
  std::vector<api::Node> nodes_;
};

// Refuses to start over anything already there under our names.
base::Status CheckNamesFree(const UpOptions& o, const Env& env) {
  auto taken = [&](const std::string& what) {
    return base::FailedPreconditionError(what + " already exists (another cluster named " + o.name +
                                         " with another --state-dir?); knet cluster down " +
                                         o.name + " first");
  };
  if (env.host->GetLink(internal::BridgeName(o.name)).ok()) {
    return taken("link " + internal::BridgeName(o.name));
  }
  for (int i = 1; i <= o.nodes; ++i) {
    if (env.host->GetLink(internal::HostVethName(o.name, i)).ok()) {
      return taken("link " + internal::HostVethName(o.name, i));
    }
    std::string ns = std::string(kernel::netns::kRunDir) + "/" + internal::NodeNetnsName(o.name, i);
    if (std::filesystem::exists(ns)) return taken("network namespace " + ns);
  }
  return base::OkStatus();
}

}  // namespace

std::string StateDir(const std::string& name, const std::string& flag) {
  std::string d = flag.empty() ? std::string(internal::kDefaultStateRoot) + "/" + name : flag;
  return std::filesystem::absolute(d).lexically_normal().string();
}

base::Status Up(const UpOptions& o, const Env& env) {
  RETURN_IF_ERROR(CheckOptions(o));
  std::string dir = StateDir(o.name, o.state_dir);
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
  // mkdir claims the name atomically: a second `up` of the same name stops here.
  if (mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return base::FailedPreconditionError("cluster " + o.name + " exists (" + dir +
                                           "); knet cluster down " + o.name + " first");
    }
    return base::ErrnoError(errno, "creating the state dir " + dir);
  }
  Manifest m;
  m.name = o.name;
  m.state_dir = dir;
  m.store = o.store;
  m.pod_cidr = o.pod_cidr;
  m.service_cidr = o.service_cidr;
  base::Status s = internal::SaveManifest(m);
  if (s.ok()) s = CheckNamesFree(o, env);
  if (s.ok()) {
    std::filesystem::create_directories(dir + "/logs", ec);
    if (ec) s = base::InternalError("creating " + dir + "/logs: " + ec.message());
  }
  if (s.ok()) s = Builder(o, env, m).Run();
  if (s.ok()) return s;
  *env.out << "\nknet cluster up " << o.name << " failed: " << s.message()
           << "\nremoving what was made ...\n";
  if (base::Status d = Down(o.name, dir, env); !d.ok()) {
    return base::InternalError(s.message() + "\nand the cleanup failed too: " + d.message());
  }
  return s;
}

}  // namespace knet::cluster
