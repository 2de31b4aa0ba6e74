#include "agent/process/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

namespace knet::agent::process {
namespace {

using base::Status;
using base::StatusOr;

// What the child reports through the error pipe when a step fails.
enum class Step : int {
  kSetsid,
  kTty,
  kSetpgid,
  kSetnsNet,
  kSetnsJoin,
  kDup,
  kCloseFds,
  kChdir,
  kExec,
};

const char* StepName(Step s) {
  switch (s) {
    case Step::kSetsid:
      return "setsid";
    case Step::kTty:
      return "setting the controlling terminal";
    case Step::kSetpgid:
      return "setpgid";
    case Step::kSetnsNet:
      return "joining the network namespace";
    case Step::kSetnsJoin:
      return "joining the container's namespaces";
    case Step::kDup:
      return "setting up stdio";
    case Step::kCloseFds:
      return "closing descriptors";
    case Step::kChdir:
      return "chdir";
    case Step::kExec:
      return "exec";
  }
  return "?";
}

struct ChildError {
  int step;
  int err;
};

Status StepError(Step step, int err, const std::string& what, const std::string& arg0) {
  std::string msg = std::string(StepName(step));
  if (!what.empty()) msg += " " + what;
  // exec names the file itself; when that is argv[0] as given, once is enough.
  if (!(step == Step::kExec && what == "\"" + arg0 + "\"")) msg += " (starting \"" + arg0 + "\")";
  msg += std::string(": ") + std::strerror(err);
  base::StatusCode code = base::StatusCode::kInternal;
  if (err == ENOENT) code = base::StatusCode::kNotFound;
  if (err == EACCES || err == EPERM) code = base::StatusCode::kPermissionDenied;
  Status s(code, msg);
  s.set_sys_errno(err);
  return s;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return false;
  return S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// exec.LookPath: a name with a '/' is used as is; otherwise the first executable in PATH.
StatusOr<std::string> Resolve(const SpawnOptions& o) {
  const std::string& name = o.argv[0];
  if (name.find('/') != std::string::npos) return name;
  std::string path(kDefaultPath);
  for (const std::string& kv : o.env) {
    if (kv.rfind("PATH=", 0) == 0) path = kv.substr(5);
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return base::NotFoundError("exec \"" + name + "\": executable file not found in $PATH");
}

StatusOr<UniqueFd> OpenNs(const std::string& path, const std::string& arg0) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return base::ErrnoError(errno, "opening namespace " + path + " (starting \"" + arg0 + "\")");
  }
  return UniqueFd(fd);
}

// Async-signal-safe: reports the failed step to the parent and exits.
[[noreturn]] void ChildFail(int err_fd, Step step, int err) {
  ChildError e{static_cast<int>(step), err};
  ssize_t n;
  do {
    n = write(err_fd, &e, sizeof(e));
  } while (n < 0 && errno == EINTR);
  _exit(127);
}

// Blocks all signals for the duration of the fork so the child starts with no handler running;
// the child resets dispositions and restores the mask before exec.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  const sigset_t& old() const { return old_; }

 private:
  sigset_t old_;
};

}  // namespace

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

StatusOr<Pipe> Pipe::Make() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return base::ErrnoError(errno, "creating a pipe");
  Pipe p;
  p.read.Reset(fds[0]);
  p.write.Reset(fds[1]);
  return p;
}

StatusOr<pid_t> Spawn(const SpawnOptions& o) {
  if (o.argv.empty()) return base::InvalidArgumentError("spawning a process: empty argv");
  const std::string& arg0 = o.argv[0];
  ASSIGN_OR_RETURN(std::string exe, Resolve(o));

  // Everything the child touches is built here, before fork.
  std::vector<char*> argv, envp;
  for (const std::string& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  UniqueFd net_fd;
  if (!o.netns_path.empty()) {
    ASSIGN_OR_RETURN(net_fd, OpenNs(o.netns_path, arg0));
  }
  std::vector<UniqueFd> join_fds;  // net, uts, mnt (in that order: mnt last)
  if (o.join_namespaces_of > 0) {
    for (const char* ns : {"net", "uts", "mnt"}) {
      std::string p = "/proc/" + std::to_string(o.join_namespaces_of) + "/ns/" + ns;
      ASSIGN_OR_RETURN(UniqueFd fd, OpenNs(p, arg0));
      join_fds.push_back(std::move(fd));
    }
  }
  int join_raw[3] = {-1, -1, -1};
  for (size_t i = 0; i < join_fds.size(); ++i) join_raw[i] = join_fds[i].get();

  UniqueFd devnull;
  if (o.stdin_fd < 0 || o.stdout_fd < 0 || o.stderr_fd < 0) {
    devnull.Reset(open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull.valid()) return base::ErrnoError(errno, "opening /dev/null");
  }
  int stdio[3] = {o.stdin_fd >= 0 ? o.stdin_fd : devnull.get(),
                  o.stdout_fd >= 0 ? o.stdout_fd : devnull.get(),
                  o.stderr_fd >= 0 ? o.stderr_fd : devnull.get()};

  ASSIGN_OR_RETURN(Pipe errpipe, Pipe::Make());
  // Descriptors that survive in the child: 0-2, keep_fds and the (close-on-exec) error pipe.
  std::vector<int> keep = o.keep_fds;
  keep.push_back(errpipe.write.get());
  for (int i = 0; i < 3; ++i) keep.push_back(i);
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  const int err_fd = errpipe.write.get();
  const char* exe_c = exe.c_str();
  const char* wd = o.working_dir.empty() ? nullptr : o.working_dir.c_str();

  pid_t pid;
  {
    SignalBlock block;
    pid = fork();
    if (pid == 0) {
      // Child: async-signal-safe calls only.
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
      if (o.new_session && setsid() < 0) ChildFail(err_fd, Step::kSetsid, errno);
      if (o.new_session && o.controlling_tty_fd >= 0 &&
          ioctl(o.controlling_tty_fd, TIOCSCTTY, 0) < 0) {
        ChildFail(err_fd, Step::kTty, errno);
      }
      if (o.new_process_group && !o.new_session && setpgid(0, 0) < 0) {
        ChildFail(err_fd, Step::kSetpgid, errno);
      }
      if (net_fd.valid() && setns(net_fd.get(), CLONE_NEWNET) < 0) {
        ChildFail(err_fd, Step::kSetnsNet, errno);
      }
      for (int fd : join_raw) {
        if (fd >= 0 && setns(fd, 0) < 0) ChildFail(err_fd, Step::kSetnsJoin, errno);
      }
      // Move sources that sit on 0-2 out of the way so dup2 cannot clobber one with another.
      int src[3];
      for (int i = 0; i < 3; ++i) {
        src[i] = stdio[i];
        if (src[i] < 3 && src[i] != i) {
          src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
          if (src[i] < 0) ChildFail(err_fd, Step::kDup, errno);
        }
      }
      for (int i = 0; i < 3; ++i) {
        if (src[i] == i) {
          if (fcntl(i, F_SETFD, 0) < 0) ChildFail(err_fd, Step::kDup, errno);
        } else if (dup2(src[i], i) < 0) {
          ChildFail(err_fd, Step::kDup, errno);
        }
      }
      // Close everything but `keep`; clear close-on-exec on the kept ones.
      unsigned next = 0;
      for (int fd : keep) {
        if (fd < 0) continue;
        if (static_cast<unsigned>(fd) > next &&
            close_range(next, static_cast<unsigned>(fd) - 1, 0) < 0) {
          ChildFail(err_fd, Step::kCloseFds, errno);
        }
        next = static_cast<unsigned>(fd) + 1;
        if (fd != err_fd && fd > 2 && fcntl(fd, F_SETFD, 0) < 0) {
          ChildFail(err_fd, Step::kCloseFds, errno);
        }
      }
      close_range(next, ~0U, 0);
      if (wd != nullptr && chdir(wd) < 0) ChildFail(err_fd, Step::kChdir, errno);
      sigprocmask(SIG_SETMASK, &block.old(), nullptr);
      execve(exe_c, argv.data(), envp.data());
      ChildFail(err_fd, Step::kExec, errno);
    }
  }
  if (pid < 0) return base::ErrnoError(errno, "fork (starting \"" + arg0 + "\")");
  if (o.new_process_group && !o.new_session) setpgid(pid, pid);  // may lose the race: harmless
  errpipe.write.Reset();

  ChildError e{};
  ssize_t n;
  do {
    n = read(errpipe.read.get(), &e, sizeof(e));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return pid;  // exec succeeded: the pipe closed on exec
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(e))) {
    return base::InternalError("starting \"" + arg0 + "\": child failed before exec");
  }
  Step step = static_cast<Step>(e.step);
  std::string what;
  if (step == Step::kExec) what = "\"" + exe + "\"";
  if (step == Step::kChdir) what = "to \"" + o.working_dir + "\"";
  if (step == Step::kSetnsNet) what = o.netns_path;
  return StepError(step, e.err, what, arg0);
}

StatusOr<UniqueFd> OpenPidfd(pid_t pid) {
  // Through syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++.
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return base::ErrnoError(errno, "pidfd_open " + std::to_string(pid));
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return UniqueFd(fd);
}

StatusOr<bool> WaitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto fd = OpenPidfd(pid);
  if (!fd.ok()) {
    if (fd.status().sys_errno() == ESRCH) return true;
    return fd.status();
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int ms = -1;
    if (timeout.count() >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd p{fd->get(), POLLIN, 0};
    int r = poll(&p, 1, ms);
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return base::ErrnoError(errno, "waiting for pid " + std::to_string(pid));
  }
}

}  // namespace knet::agent::process
