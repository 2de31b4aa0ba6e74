#include "agent/runtime/internal/shim.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "agent/process/process.h"
#include "agent/runtime/internal/cri_log.h"
#include "agent/runtime/internal/files.h"
#include "agent/runtime/internal/state.h"

namespace knet::agent::runtime::internal {
namespace {

using base::Status;
using base::StatusOr;
using process::UniqueFd;

// Go's wording for errno strings ("no such file or directory"), as in runc's messages.
std::string ErrText(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// exec.LookPath with the container's PATH, worded as runc reports it.
StatusOr<std::string> ResolveExecutable(const ContainerSpec& spec) {
  const std::string& name = spec.argv[0];
  if (name.find('/') != std::string::npos) {
    struct stat st {};
    if (stat(name.c_str(), &st) != 0) {
      return base::NotFoundError("exec: \"" + name + "\": stat " + name + ": " + ErrText(errno));
    }
    if (S_ISDIR(st.st_mode))
      return base::PermissionDeniedError("exec: \"" + name + "\": is a directory");
    if (access(name.c_str(), X_OK) != 0) {
      return base::PermissionDeniedError("exec: \"" + name + "\": permission denied");
    }
    return name;
  }
  std::string path(process::kDefaultPath);
  for (const std::string& kv : spec.env) {
    if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (IsExecutable(candidate)) return candidate;
    start = end + 1;
  }
  return base::NotFoundError("exec: \"" + name + "\": executable file not found in $PATH");
}

// What the container child reports through the error pipe before exec.
struct ChildError {
  int step;   // index into kSteps
  int index;  // which mount, for step kMount
  int err;
};
enum Step { kSetns, kUnshare, kPropagation, kSysfs, kMount, kHostname, kStdio, kChdir, kExec };

std::string DescribeChildError(const ChildError& e, const ContainerSpec& spec,
                               const std::string& exe) {
  switch (e.step) {
    case kSetns:
      return "joining network namespace " + spec.netns_path + ": " + ErrText(e.err);
    case kUnshare:
      return "creating the container's mount/uts namespaces: " + ErrText(e.err);
    case kPropagation:
      return "making / a recursive slave mount: " + ErrText(e.err);
    case kSysfs:
      return "mounting the pod's sysfs on /sys: " + ErrText(e.err);
    case kMount: {
      const auto& m = spec.file_mounts[static_cast<size_t>(e.index)];
      return "mounting \"" + m.first + "\" to \"" + m.second + "\": " + ErrText(e.err);
    }
    case kHostname:
      return "setting hostname \"" + spec.hostname + "\": " + ErrText(e.err);
    case kStdio:
      return "setting up stdio: " + ErrText(e.err);
    case kChdir:
      return "chdir to \"" + (spec.working_dir.empty() ? "/" : spec.working_dir) +
             "\": " + ErrText(e.err);
    default:
      return "exec: \"" + exe + "\": " + ErrText(e.err);
  }
}

[[noreturn]] void Fail(int fd, Step step, int err, int index = 0) {
  ChildError e{step, index, err};
  while (write(fd, &e, sizeof(e)) < 0 && errno == EINTR) {
  }
  _exit(127);
}

class Shim {
 public:
  Shim(std::string dir, int sync_fd) : dir_(std::move(dir)), sync_fd_(sync_fd) {}
  int Run();

 private:
  std::string Path(std::string_view file) const { return dir_ + "/" + std::string(file); }
  // Records a StartError and tells the runtime.
  int StartError(const std::string& message);
  void Notify(char c);
  StatusOr<pid_t> StartContainer(int out_w, int err_w, std::string* start_error);
  void Copy(int fd, const char* stream, bool* open);

  std::string dir_;
  int sync_fd_;
  ContainerSpec spec_;
  UniqueFd log_;
};

void Shim::Notify(char c) {
  if (sync_fd_ < 0) return;
  while (write(sync_fd_, &c, 1) < 0 && errno == EINTR) {
  }
  close(sync_fd_);
  sync_fd_ = -1;
}

int Shim::StartError(const std::string& message) {
  ExitRecord r;
  r.exit_code = 128;
  r.reason = "StartError";
  r.message = message;
  r.finished_at = NowNanos();
  Status s = WriteFileAtomic(Path(kExitFile), EncodeExit(r));
  if (!s.ok()) std::fprintf(stderr, "knet-shim: %s\n", s.ToString().c_str());
  Notify('e');
  return s.ok() ? 0 : 1;
}

StatusOr<pid_t> Shim::StartContainer(int out_w, int err_w, std::string* start_error) {
  auto exe = ResolveExecutable(spec_);
  if (!exe.ok()) {
    *start_error = exe.status().message();
    return -1;
  }
  UniqueFd net;
  if (!spec_.netns_path.empty()) {
    net.Reset(open(spec_.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!net.valid()) {
      *start_error = "opening network namespace " + spec_.netns_path + ": " + ErrText(errno);
      return -1;
    }
  }
  UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) return base::ErrnoError(errno, "opening /dev/null");
  ASSIGN_OR_RETURN(process::Pipe errpipe, process::Pipe::Make());
  std::vector<char*> argv, envp;
  for (const std::string& a : spec_.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : spec_.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string wd = spec_.working_dir.empty() ? "/" : spec_.working_dir;

  pid_t pid = fork();
  if (pid < 0) return base::ErrnoError(errno, "fork");
  if (pid == 0) {
    const int efd = errpipe.write.get();
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    prctl(PR_SET_PDEATHSIG, 0);
    setpgid(0, 0);
    if (net.valid() && setns(net.get(), CLONE_NEWNET) != 0) Fail(efd, kSetns, errno);
    int flags = CLONE_NEWNS | (spec_.hostname.empty() ? 0 : CLONE_NEWUTS);
    if (unshare(flags) != 0) Fail(efd, kUnshare, errno);
    // Nothing mounted here may reach the host; host mounts still propagate in (rslave).
    if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
      Fail(efd, kPropagation, errno);
    }
    // The pod's own /sys (read-only, as runc mounts it): sysfs shows the devices of the network
    // namespace it is mounted from, so /sys/class/net lists the pod's lo and eth0, not the node's.
    if (net.valid() && mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                             nullptr) != 0) {
      Fail(efd, kSysfs, errno);
    }
    for (size_t i = 0; i < spec_.file_mounts.size(); ++i) {
      const auto& [host, inside] = spec_.file_mounts[i];
      if (mount(host.c_str(), inside.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        Fail(efd, kMount, errno, static_cast<int>(i));
      }
    }
    if (!spec_.hostname.empty() &&
        sethostname(spec_.hostname.c_str(), spec_.hostname.size()) != 0) {
      Fail(efd, kHostname, errno);
    }
    if (dup2(devnull.get(), 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) {
      Fail(efd, kStdio, errno);
    }
    // Everything else closes on exec (the error pipe too, which tells the shim exec worked).
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    if (chdir(wd.c_str()) != 0) Fail(efd, kChdir, errno);
    execve(exe->c_str(), argv.data(), envp.data());
    Fail(efd, kExec, errno);
  }
  setpgid(pid, pid);
  errpipe.write.Reset();
  ChildError e{};
  ssize_t n;
  do {
    n = read(errpipe.read.get(), &e, sizeof(e));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return pid;
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  *start_error = n == static_cast<ssize_t>(sizeof(e)) ? DescribeChildError(e, spec_, *exe)
                                                      : "container process failed before exec";
  return -1;
}

void Shim::Copy(int fd, const char* stream, bool* open) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    *open = false;
    return;
  }
  std::string lines =
      RenderCriLog(stream, std::string_view(buf, static_cast<size_t>(n)), NowNanos());
  size_t done = 0;
  while (done < lines.size()) {
    ssize_t w = write(log_.get(), lines.data() + done, lines.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "knet-shim: writing %s: %s\n", spec_.log_path.c_str(),
                   std::strerror(errno));
      return;  // keep draining the pipe so the container never blocks on a full log disk
    }
    done += static_cast<size_t>(w);
  }
}

int Shim::Run() {
  auto text = ReadFile(Path(kSpecFile));
  if (!text.ok()) return StartError("reading the container spec: " + text.status().message());
  auto spec = DecodeSpec(*text);
  if (!spec.ok()) return StartError(spec.status().message());
  spec_ = std::move(*spec);
  const std::string name = spec_.pod_namespace + "/" + spec_.pod_name + "/" + spec_.container_name;

  if (spec_.log_path.empty() || spec_.log_path[0] != '/') {
    return StartError("log path \"" + spec_.log_path + "\" is not absolute");
  }
  Status s = MakeDirs(spec_.log_path.substr(0, spec_.log_path.rfind('/')));
  if (!s.ok()) return StartError("creating the log directory: " + s.message());
  log_.Reset(open(spec_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!log_.valid()) return StartError("opening log " + spec_.log_path + ": " + ErrText(errno));

  auto out = process::Pipe::Make();
  auto err = process::Pipe::Make();
  if (!out.ok() || !err.ok()) return StartError("creating the output pipes");
  std::string start_error;
  auto pid = StartContainer(out->write.get(), err->write.get(), &start_error);
  if (!pid.ok()) return StartError(pid.status().message());
  if (*pid < 0) return StartError(start_error);
  out->write.Reset();
  err->write.Reset();

  StartedRecord started;
  started.pid = *pid;
  started.started_at = NowNanos();
  auto start_time = ProcessStartTime(*pid);
  started.pid_start_time = start_time.ok() ? *start_time : 0;
  s = WriteFileAtomic(Path(kStartedFile), EncodeStarted(started));
  if (!s.ok()) std::fprintf(stderr, "knet-shim: %s: %s\n", name.c_str(), s.ToString().c_str());
  Notify('s');

  // SIGCHLD is blocked (see ShimMain) and read from a signalfd.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  UniqueFd sfd(signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
  bool out_open = true, err_open = true, exited = false;
  int status = 0;
  auto reap = [&] {
    for (;;) {
      int st = 0;
      pid_t r = waitpid(-1, &st, WNOHANG);
      if (r <= 0) break;
      if (r == *pid) {
        exited = true;
        status = st;
      }
    }
  };
  while (!exited) {
    pollfd fds[3] = {{sfd.get(), POLLIN, 0},
                     {out_open ? out->read.get() : -1, POLLIN, 0},
                     {err_open ? err->read.get() : -1, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) Copy(out->read.get(), "stdout", &out_open);
    if (fds[2].revents != 0) Copy(err->read.get(), "stderr", &err_open);
    if (fds[0].revents != 0) {
      signalfd_siginfo info;
      while (read(sfd.get(), &info, sizeof(info)) > 0) {
      }
      reap();
    }
  }
  int64_t finished = NowNanos();
  // Whatever the main process wrote is in the pipes now: drain without waiting for processes it
  // left behind, then end those (a pid namespace would, when its init exits).
  fcntl(out->read.get(), F_SETFL, O_NONBLOCK);
  fcntl(err->read.get(), F_SETFL, O_NONBLOCK);
  while (out_open) {
    pollfd p{out->read.get(), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    Copy(out->read.get(), "stdout", &out_open);
  }
  while (err_open) {
    pollfd p{err->read.get(), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    Copy(err->read.get(), "stderr", &err_open);
  }
  kill(-*pid, SIGKILL);
  while (waitpid(-*pid, nullptr, 0) > 0 || errno == EINTR) {
  }
  reap();
  fsync(log_.get());

  ExitRecord r;
  r.started_at = started.started_at;
  r.finished_at = finished;
  if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    r.exit_code = 128 + r.signal;
  } else {
    r.exit_code = WEXITSTATUS(status);
  }
  r.reason = r.exit_code == 0 ? "Completed" : "Error";
  s = WriteFileAtomic(Path(kExitFile), EncodeExit(r));
  if (!s.ok()) {
    std::fprintf(stderr, "knet-shim: %s: %s\n", name.c_str(), s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int ShimMain(int argc, char** argv) {
  if (argc < 2 || argv[1][0] != '/') {
    std::fprintf(stderr, "usage: knet-shim <absolute container-state-dir> [--sync-fd=N]\n");
    return 2;
  }
  int sync_fd = -1;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--sync-fd=", 0) == 0) {
      sync_fd = std::atoi(a.c_str() + 10);
    } else {
      std::fprintf(stderr, "knet-shim: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (sync_fd >= 0) fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
  // Detached from the agent: its restart, or a signal to its process group, leaves us running.
  if (getsid(0) != getpid()) setsid();
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  if (chdir("/") != 0) return 1;
  Shim shim(argv[1], sync_fd);
  return shim.Run();
}

}  // namespace knet::agent::runtime::internal
