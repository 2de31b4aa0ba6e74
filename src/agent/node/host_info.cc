#include "agent/node/host_info.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

namespace knet::agent::node {
namespace {

// The first line of a file without surrounding whitespace; "" when it cannot be read.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  size_t b = line.find_first_not_of(" \t\r\n");
  size_t e = line.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : line.substr(b, e - b + 1);
}

// os-release values may be quoted ("Debian GNU/Linux 12 (bookworm)") with backslash escapes.
std::string OsReleaseValue(const std::string& path, std::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() <= key.size() || line.compare(0, key.size(), key) != 0 ||
        line[key.size()] != '=') {
      continue;
    }
    std::string v = line.substr(key.size() + 1);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      v = v.substr(1, v.size() - 2);
    }
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      out += v[i];
    }
    return out;
  }
  return "";
}

base::StatusOr<api::Quantity> Q(const std::string& text) { return api::Quantity::Parse(text); }

}  // namespace

std::string GoArch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

base::StatusOr<HostInfo> CollectHostInfo(const HostInfoOptions& opts) {
  HostInfo h;
  unsigned cpus = std::thread::hardware_concurrency();
  ASSIGN_OR_RETURN(h.capacity["cpu"], Q(std::to_string(cpus == 0 ? 1 : cpus)));

  std::ifstream meminfo(opts.meminfo_path);
  if (!meminfo) return base::ErrnoError(errno, "reading " + opts.meminfo_path);
  std::string line;
  int64_t mem_kib = -1;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key, unit;
    int64_t value = 0;
    if (fields >> key >> value >> unit && key == "MemTotal:" && unit == "kB") {
      mem_kib = value;
      break;
    }
  }
  if (mem_kib < 0) {
    return base::InternalError("reading " + opts.meminfo_path + ": no \"MemTotal: <n> kB\" line");
  }
  ASSIGN_OR_RETURN(h.capacity["memory"], Q(std::to_string(mem_kib) + "Ki"));
  ASSIGN_OR_RETURN(h.capacity["pods"], Q(std::to_string(opts.max_pods)));

  struct statvfs fs {};
  if (statvfs(opts.root_dir.c_str(), &fs) != 0) {
    return base::ErrnoError(errno, "statvfs " + opts.root_dir);
  }
  uint64_t bytes = static_cast<uint64_t>(fs.f_blocks) * static_cast<uint64_t>(fs.f_frsize);
  ASSIGN_OR_RETURN(h.capacity["ephemeral-storage"], Q(std::to_string(bytes / 1024) + "Ki"));

  struct utsname u {};
  if (uname(&u) != 0) return base::ErrnoError(errno, "uname");
  api::NodeSystemInfo& ni = h.node_info;
  ni.kernel_version = u.release;
  ni.os_image = OsReleaseValue(opts.os_release_path, "PRETTY_NAME");
  ni.operating_system = "linux";
  ni.architecture = GoArch();
  ni.kubelet_version = opts.version;
  ni.container_runtime_version = "knet://" + opts.version;
  ni.machine_id = FirstLine(opts.machine_id_path);
  ni.boot_id = FirstLine(opts.boot_id_path);
  return h;
}

}  // namespace knet::agent::node
