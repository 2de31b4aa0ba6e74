// File: tests/integration/store/tool_runner.h
//
// Runs store_tool (KNET_STORE_TOOL, set by CMake) as a child process: to completion with its output
// captured, or in the background with its stdout on a pipe.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace knet::store::testing {

struct Child {
  pid_t pid = -1;
  int out_fd = -1;  // the child's stdout
  int err_fd = -1;  // the child's stderr
};

inline Child SpawnTool(const std::vector<std::string>& args) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return {};
  // Built before fork: the child may only make async-signal-safe calls until exec.
  std::vector<std::string> all = {KNET_STORE_TOOL};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(KNET_STORE_TOOL, argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  return Child{pid, out[0], err[0]};
}

// Reads what is available on fd within timeout_ms; false at EOF.
inline bool ReadSome(int fd, std::string& into, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return true;
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) return false;
  into.append(buf, static_cast<size_t>(n));
  return true;
}

inline std::string ReadAll(int fd) {
  std::string s;
  while (ReadSome(fd, s, 60000)) {
  }
  return s;
}

// Kills (if kill_signal) and reaps; returns the exit code, or 128+signal.
inline int Reap(Child& c, int kill_signal = 0) {
  if (kill_signal != 0) kill(c.pid, kill_signal);
  int status = 0;
  waitpid(c.pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct ToolResult {
  int exit_code = -1;
  std::string out, err;
};

inline ToolResult RunTool(const std::vector<std::string>& args) {
  Child c = SpawnTool(args);
  ToolResult r;
  r.out = ReadAll(c.out_fd);
  r.err = ReadAll(c.err_fd);
  close(c.out_fd);
  close(c.err_fd);
  r.exit_code = Reap(c);
  return r;
}

}  // namespace knet::store::testing
