#include "cluster/internal/manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "cluster/internal/naming.h"

namespace knet::cluster::internal {
namespace {

using nlohmann::json;

json ToJson(const Manifest& m) {
  json nodes = json::array(), procs = json::array();
  for (const NodeRecord& n : m.nodes) {
    nodes.push_back({{"name", n.name},
                     {"netns", n.netns},
                     {"hostVeth", n.host_veth},
                     {"ip", n.ip},
                     {"rootDir", n.root_dir}});
  }
  for (const ProcessRecord& p : m.processes) {
    procs.push_back({{"role", p.role},
                     {"name", p.name},
                     {"pid", p.pid},
                     {"startTime", p.start_time},
                     {"log", p.log}});
  }
  return {{"version", 1},
          {"name", m.name},
          {"stateDir", m.state_dir},
          {"backend", m.backend},
          {"store", m.store},
          {"underlayCIDR", m.underlay_cidr},
          {"gateway", m.gateway},
          {"bridge", m.bridge},
          {"podCIDR", m.pod_cidr},
          {"serviceCIDR", m.service_cidr},
          {"apiServer", m.api_server},
          {"kubeconfig", m.kubeconfig},
          {"adminKubeconfig", m.admin_kubeconfig},
          {"nodes", nodes},
          {"processes", procs},
          {"files", m.files},
          {"complete", m.complete}};
}

Manifest FromJson(const json& j) {
  Manifest m;
  m.name = j.value("name", "");
  m.state_dir = j.value("stateDir", "");
  m.backend = j.value("backend", "");
  m.store = j.value("store", "");
  m.underlay_cidr = j.value("underlayCIDR", "");
  m.gateway = j.value("gateway", "");
  m.bridge = j.value("bridge", "");
  m.pod_cidr = j.value("podCIDR", "");
  m.service_cidr = j.value("serviceCIDR", "");
  m.api_server = j.value("apiServer", "");
  m.kubeconfig = j.value("kubeconfig", "");
  m.admin_kubeconfig = j.value("adminKubeconfig", "");
  for (const json& n : j.value("nodes", json::array())) {
    m.nodes.push_back({n.value("name", ""), n.value("netns", ""), n.value("hostVeth", ""),
                       n.value("ip", ""), n.value("rootDir", "")});
  }
  for (const json& p : j.value("processes", json::array())) {
    m.processes.push_back({p.value("role", ""), p.value("name", ""), p.value("pid", 0),
                           p.value("startTime", uint64_t{0}), p.value("log", "")});
  }
  m.files = j.value("files", std::vector<std::string>{});
  m.complete = j.value("complete", false);
  return m;
}

}  // namespace

std::string ManifestPath(const std::string& state_dir) {
  return state_dir + "/" + std::string(kManifestFile);
}

std::string EncodeManifest(const Manifest& m) { return ToJson(m).dump(2) + "\n"; }

base::StatusOr<Manifest> DecodeManifest(const std::string& text) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return base::DataLossError("manifest is not a JSON object");
    return FromJson(j);
  } catch (const json::exception& e) {
    return base::DataLossError(std::string("parsing the cluster manifest: ") + e.what());
  }
}

base::StatusOr<Manifest> LoadManifest(const std::string& state_dir) {
  std::string path = ManifestPath(state_dir);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return base::NotFoundError("no cluster manifest at " + path);
    return base::ErrnoError(errno, "reading " + path);
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return base::ErrnoError(err, "reading " + path);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  auto m = DecodeManifest(text);
  if (!m.ok()) return m.status().WithContext(path);
  return m;
}

base::Status SaveManifest(const Manifest& m) {
  std::string path = ManifestPath(m.state_dir), tmp = path + ".tmp";
  std::string data = EncodeManifest(m);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return base::ErrnoError(errno, "writing " + tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return base::ErrnoError(err, "writing " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    int err = errno;
    close(fd);
    return base::ErrnoError(err, "syncing " + tmp);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) return base::ErrnoError(errno, "renaming " + tmp);
  return base::OkStatus();
}

}  // namespace knet::cluster::internal
