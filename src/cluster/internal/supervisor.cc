#include "cluster/internal/supervisor.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/process/process.h"
#include "cluster/internal/naming.h"

extern char** environ;

namespace knet::cluster::internal {
namespace {

using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The fields of /proc/<pid>/stat after the command name: [0] is the state, [1] the ppid, [19] the
// start time. Empty if the process does not exist.
std::vector<std::string> StatFields(pid_t pid) {
  std::string s = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = s.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream in(s.substr(close + 1));
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

void Reap(pid_t pid) {
  // Only our own children can be reaped; for anyone else this fails with ECHILD, harmlessly.
  while (waitpid(pid, nullptr, WNOHANG) < 0 && errno == EINTR) {
  }
}

bool Alive(pid_t pid) {
  Reap(pid);
  std::vector<std::string> f = StatFields(pid);
  return f.size() > 19 && f[0] != "Z" && f[0] != "X";
}

std::set<pid_t> SelfAndAncestors() {
  std::set<pid_t> out;
  for (pid_t p = getpid(); p > 1 && out.insert(p).second;) {
    std::vector<std::string> f = StatFields(p);
    if (f.size() < 2) break;
    p = static_cast<pid_t>(std::stol(f[1]));
  }
  return out;
}

bool ReferencesDir(const std::string& cmdline, const std::string& dir) {
  std::string prefix = dir + "/";
  size_t start = 0;
  while (start < cmdline.size()) {
    size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    std::string_view arg(cmdline.data() + start, end - start);
    if (arg.starts_with(prefix) || arg == dir) return true;
    if (arg.starts_with("--")) {
      size_t eq = arg.find('=');
      if (eq != std::string_view::npos && arg.substr(eq + 1).starts_with(prefix)) return true;
    }
    start = end + 1;
  }
  return false;
}

}  // namespace

base::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  std::vector<std::string> f = StatFields(pid);
  if (f.size() <= 19 || f[0] == "Z" || f[0] == "X") {
    return base::NotFoundError("no process " + std::to_string(pid));
  }
  return std::stoull(f[19]);
}

base::StatusOr<ProcessRecord> StartDetached(const std::string& role, const std::string& name,
                                            const std::vector<std::string>& argv,
                                            const std::string& netns_path, const std::string& log) {
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return base::ErrnoError(errno, "opening " + log);
  agent::process::SpawnOptions o;
  o.argv = argv;
  for (char** e = environ; *e != nullptr; ++e) o.env.emplace_back(*e);
  o.netns_path = netns_path;
  o.stdout_fd = fd;
  o.stderr_fd = fd;
  o.new_session = true;
  auto pid = agent::process::Spawn(o);
  close(fd);
  if (!pid.ok()) return pid.status().WithContext("starting " + name);
  ProcessRecord rec{role, name, *pid, 0, log};
  auto st = ProcessStartTime(*pid);
  if (!st.ok()) {
    Reap(*pid);
    return base::UnavailableError("starting " + name + ": it exited at once; see " + log);
  }
  rec.start_time = *st;
  return rec;
}

bool IsRunning(const ProcessRecord& p) {
  if (p.pid <= 0) return false;
  Reap(p.pid);
  auto st = ProcessStartTime(p.pid);
  return st.ok() && *st == p.start_time;
}

std::vector<std::string> StopProcesses(const std::vector<ProcessRecord>& procs,
                                       std::chrono::milliseconds grace) {
  std::vector<const ProcessRecord*> running;
  for (const ProcessRecord& p : procs) {
    if (IsRunning(p)) running.push_back(&p);
  }
  for (const ProcessRecord* p : running) kill(p->pid, SIGTERM);
  auto wait_all = [&](std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      bool any = false;
      for (const ProcessRecord* p : running) any = any || IsRunning(*p);
      if (!any || std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(20ms);
    }
  };
  wait_all(grace);
  for (const ProcessRecord* p : running) {
    if (IsRunning(*p)) kill(p->pid, SIGKILL);
  }
  wait_all(5s);
  std::vector<std::string> left;
  for (const ProcessRecord* p : running) {
    if (IsRunning(*p)) left.push_back(p->name + " (pid " + std::to_string(p->pid) + ")");
  }
  return left;
}

base::StatusOr<ino_t> NetnsInode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return base::ErrnoError(errno, "stat " + path);
  return st.st_ino;
}

int SweepProcesses(const std::set<ino_t>& netns_inodes, const std::string& state_dir,
                   std::chrono::milliseconds wait) {
  std::set<pid_t> spare = SelfAndAncestors();
  std::vector<pid_t> killed;
  DIR* d = opendir("/proc");
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long v = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || v <= 1) continue;
    pid_t pid = static_cast<pid_t>(v);
    if (spare.count(pid) != 0) continue;
    bool hit = false;
    struct stat st;
    std::string ns = "/proc/" + std::to_string(pid) + "/ns/net";
    if (!netns_inodes.empty() && stat(ns.c_str(), &st) == 0 && netns_inodes.count(st.st_ino)) {
      hit = true;
    }
    if (!hit && !state_dir.empty()) {
      hit = ReferencesDir(ReadFile("/proc/" + std::to_string(pid) + "/cmdline"), state_dir);
    }
    if (hit && Alive(pid)) {
      kill(pid, SIGKILL);
      killed.push_back(pid);
    }
  }
  closedir(d);
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (pid_t pid : killed) {
    while (Alive(pid) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
  }
  return static_cast<int>(killed.size());
}

base::StatusOr<HostLock> HostLock::Acquire() {
  std::string path(kHostLockPath);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return base::ErrnoError(errno, "opening " + path);
  while (flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    close(fd);
    return base::ErrnoError(err, "locking " + path);
  }
  return HostLock(fd);
}

HostLock::~HostLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace knet::cluster::internal
