#include "overlay/bgp/internal/bird_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

namespace knet::overlay::bgp::internal {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

off_t FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

// What bird wrote to the log since `from` (its last 2000 bytes).
std::string LogSince(const std::string& path, off_t from) {
  std::string all = ReadFile(path);
  size_t start = static_cast<size_t>(from) <= all.size() ? static_cast<size_t>(from) : 0;
  if (all.size() - start > 2000) start = all.size() - 2000;
  std::string out = all.substr(start);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

bool SocketAnswers(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "exited";
}

}  // namespace

BirdProcess::BirdProcess(BirdProcessOptions options) : options_(std::move(options)) {}

BirdProcess::~BirdProcess() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (wake_.write.valid()) (void)!::write(wake_.write.get(), "x", 1);
  if (supervisor_.joinable()) supervisor_.join();
}

void BirdProcess::Note(const std::string& line) const {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  std::ofstream(options_.log_path, std::ios::app) << stamp << " <knet> " << line << "\n";
  std::cerr << "knet agent: bgp: " << line << std::endl;
}

pid_t BirdProcess::RunningPid() const {
  std::string text = ReadFile(options_.pid_path);
  pid_t pid = static_cast<pid_t>(std::atoi(text.c_str()));
  if (pid <= 0 || ::kill(pid, 0) != 0) return 0;
  // The command line must be a bird on our configuration file (pids are reused).
  std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  if (cmdline.find("bird") == std::string::npos ||
      cmdline.find(" " + options_.config_path + " ") == std::string::npos) {
    return 0;
  }
  return pid;
}

std::string BirdProcess::Reap(pid_t pid) {
  int status = 0;
  int r;
  while ((r = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  return r == pid ? DescribeExit(status) : "exited";  // ECHILD: not ours (an adopted bird)
}

base::StatusOr<pid_t> BirdProcess::SpawnAndWait() {
  std::vector<std::string> argv = {
      options_.bird_path, "-f", "-c", options_.config_path, "-s", options_.socket_path, "-P",
      options_.pid_path};
  std::string command;
  for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
  int log = ::open(options_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return base::ErrnoError(errno, "opening bird's log " + options_.log_path);
  agent::process::UniqueFd log_fd(log);
  off_t log_start = FileSize(options_.log_path);
  // A stale socket of a dead bird would answer nothing but must not fool the readiness check.
  ::unlink(options_.socket_path.c_str());

  agent::process::SpawnOptions o;
  o.argv = argv;
  o.env = {"PATH=" + std::string(agent::process::kDefaultPath)};
  o.netns_path = options_.netns_path;
  o.stdout_fd = log_fd.get();
  o.stderr_fd = log_fd.get();
  auto spawned = agent::process::Spawn(o);
  if (!spawned.ok()) return spawned.status().WithContext("starting " + command);
  pid_t pid = *spawned;
  ASSIGN_OR_RETURN(agent::process::UniqueFd pidfd, agent::process::OpenPidfd(pid));
  auto deadline = steady_clock::now() + options_.ready_timeout;
  for (;;) {
    pollfd p{pidfd.get(), POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return base::FailedPreconditionError("starting " + command + ": bird " +
                                           DescribeExit(status) + ": " +
                                           LogSince(options_.log_path, log_start));
    }
    if (SocketAnswers(options_.socket_path)) return pid;
    if (steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return base::DeadlineExceededError("starting " + command +
                                         ": the control socket did not answer within " +
                                         std::to_string(options_.ready_timeout.count()) +
                                         " ms: " + LogSince(options_.log_path, log_start));
    }
  }
}

base::Status BirdProcess::Start() {
  ASSIGN_OR_RETURN(wake_, agent::process::Pipe::Make());
  pid_t pid = RunningPid();
  if (pid > 0 && SocketAnswers(options_.socket_path)) {
    adopted_ = true;
    Note("adopted the running bird (pid " + std::to_string(pid) + ")");
  } else {
    if (pid > 0) {  // alive but deaf: replace it
      ::kill(pid, SIGKILL);
      (void)agent::process::WaitForExit(pid, milliseconds(2000));
    }
    ASSIGN_OR_RETURN(pid, SpawnAndWait());
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    pid_ = pid;
    stopping_ = false;
  }
  started_ = true;
  supervisor_ = std::thread([this] { Supervise(); });
  return base::OkStatus();
}

void BirdProcess::Supervise() {
  milliseconds backoff = options_.backoff_initial;
  for (;;) {
    pid_t pid;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
      pid = pid_;
    }
    auto started = steady_clock::now();
    if (pid > 0) {
      auto pidfd = agent::process::OpenPidfd(pid);
      if (pidfd.ok()) {
        pollfd p[2] = {{pidfd->get(), POLLIN, 0}, {wake_.read.get(), POLLIN, 0}};
        while (::poll(p, 2, -1) < 0 && errno == EINTR) {
        }
        if (p[1].revents) return;                        // stopping: Stop() ends bird
      } else if (pidfd.status().sys_errno() != ESRCH) {  // cannot watch it (EMFILE?): retry
        Note("watching bird (pid " + std::to_string(pid) + "): " + pidfd.status().message());
        std::unique_lock<std::mutex> l(mu_);
        if (cv_.wait_for(l, std::chrono::seconds(1), [this] { return stopping_; })) return;
        continue;
      }
      std::string how = Reap(pid);
      {
        std::lock_guard<std::mutex> l(mu_);
        pid_ = 0;
      }
      if (steady_clock::now() - started > std::chrono::seconds(60)) {
        backoff = options_.backoff_initial;
      }
      Note("bird (pid " + std::to_string(pid) + ") " + how + "; restarting in " +
           std::to_string(backoff.count()) + " ms");
    }
    {
      std::unique_lock<std::mutex> l(mu_);
      if (cv_.wait_for(l, backoff, [this] { return stopping_; })) return;
    }
    backoff = std::min(backoff * 2, options_.backoff_max);
    auto spawned = SpawnAndWait();
    std::lock_guard<std::mutex> l(mu_);
    if (!spawned.ok()) {
      Note("restarting bird: " + spawned.status().message());
      continue;
    }
    pid_ = *spawned;
    ++restarts_;
    if (stopping_) return;  // Stop() ends the new one
  }
}

base::Status BirdProcess::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (wake_.write.valid()) (void)!::write(wake_.write.get(), "x", 1);
  if (supervisor_.joinable()) supervisor_.join();
  pid_t pid;
  {
    std::lock_guard<std::mutex> l(mu_);
    pid = std::exchange(pid_, 0);
  }
  if (!started_) pid = RunningPid();
  started_ = false;
  if (pid <= 0) return base::OkStatus();
  if (::kill(pid, SIGTERM) != 0 && errno != ESRCH) {
    return base::ErrnoError(errno, "stopping bird (pid " + std::to_string(pid) + ")");
  }
  auto exited = agent::process::WaitForExit(pid, milliseconds(5000));
  if (!exited.ok() || !*exited) {
    Note("bird (pid " + std::to_string(pid) + ") ignored SIGTERM for 5 s; killing it");
    ::kill(pid, SIGKILL);
    (void)agent::process::WaitForExit(pid, milliseconds(5000));
  }
  Reap(pid);
  return base::OkStatus();
}

pid_t BirdProcess::pid() const {
  std::lock_guard<std::mutex> l(mu_);
  return pid_;
}

int BirdProcess::restarts() const {
  std::lock_guard<std::mutex> l(mu_);
  return restarts_;
}

}  // namespace knet::overlay::bgp::internal
