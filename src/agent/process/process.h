// File: agent/process/process.h
//
// Spawning processes from the (multi-threaded) agent: exec sessions, exec probes, the CNI plugin
// caller and the container runtime's shim all start processes through Spawn() or Run().
//
//   process::SpawnOptions o;
//   o.argv = {"/opt/cni/bin/knet-cni"};
//   o.env = {"CNI_COMMAND=ADD", "CNI_NETNS=/run/netns/x", ...};
//   ASSIGN_OR_RETURN(process::RunResult r, process::Run(o, config_json, std::chrono::seconds(10)));
//   if (r.exit_code != 0) ...  // r.out / r.err hold the output
//
// Everything the child needs (argv/envp arrays, the resolved executable, namespace descriptors,
// /dev/null) is prepared before fork; between fork and execve the child makes only
// async-signal-safe calls. A failure in the child (setns, chdir, execve, ...) is reported back
// through a close-on-exec pipe, so Spawn() returns only once the new program runs or with an error
// naming the step and argv[0]. All functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace knet::agent::process {

// The PATH used to look up argv[0] when `env` has no PATH entry (as the kubelet/runc default).
inline constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// An owned file descriptor (closed on destruction). Move-only; thread-compatible.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(o.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A pipe; both ends close-on-exec (Spawn dup2()s or keeps what the child needs).
struct Pipe {
  UniqueFd read, write;
  static base::StatusOr<Pipe> Make();
};

struct SpawnOptions {
  // argv[0]: a path (contains '/'), or a name looked up in PATH (from `env`, else kDefaultPath).
  std::vector<std::string> argv;
  // "K=V" entries; the child gets exactly these.
  std::vector<std::string> env;
  // "" = do not chdir. Applied after joining namespaces (so it is a path in the joined mount ns).
  std::string working_dir;
  // "" = stay; else setns(CLONE_NEWNET) into this path ("/run/netns/x").
  std::string netns_path;
  // > 0: setns into /proc/<pid>/ns/{net,uts,mnt} (a container's), for exec into a container.
  pid_t join_namespaces_of = 0;
  // -1: /dev/null. dup2'ed onto 0/1/2 in the child. The caller keeps ownership.
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  bool new_session = false;  // setsid()
  // With new_session: make this (a pty slave) the controlling terminal (TIOCSCTTY).
  int controlling_tty_fd = -1;
  bool new_process_group =
      false;  // setpgid(0,0); the parent also sets it, so no race on kill(-pid)
  // Descriptors inherited under the same number; everything else except 0/1/2 is closed.
  std::vector<int> keep_fds;
};

// Starts the process; returns its pid once execve succeeded. The caller must reap it (waitpid).
// Errors: NotFound (argv[0] not found, ENOENT from execve, a missing netns/working dir),
// PermissionDenied (EACCES), InvalidArgument (empty argv), Internal (anything else). Messages name
// the step and argv[0]: `exec "/bin/nope": No such file or directory`.
base::StatusOr<pid_t> Spawn(const SpawnOptions& options);

struct RunResult {
  int exit_code = -1;  // the exit status, or -1 when killed by a signal
  int signal = 0;      // the terminating signal, or 0
  bool timed_out = false;
  std::string out, err;
};

// Spawns with pipes on stdin/stdout/stderr (overriding the *_fd options) in a new process group,
// writes `input` to stdin then closes it, collects stdout/stderr (poll: no deadlock on big output)
// and waits for the exit. On timeout the whole process group gets SIGKILL, the process is reaped
// and timed_out is set. Errors only when the process cannot be started (see Spawn).
base::StatusOr<RunResult> Run(SpawnOptions options, std::string_view input,
                              std::chrono::milliseconds timeout);

// pidfd_open(2): a descriptor that becomes readable when `pid` exits, for any process (not only
// our children). NotFound if there is no such process.
base::StatusOr<UniqueFd> OpenPidfd(pid_t pid);

// Waits for `pid` (which need not be our child) to exit, up to `timeout` (negative: forever).
// Returns true if it exited, false on timeout. Does not reap it.
base::StatusOr<bool> WaitForExit(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace knet::agent::process
