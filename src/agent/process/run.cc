// Run(): Spawn with pipes, feed stdin, collect stdout/stderr, wait with a timeout.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "agent/process/process.h"

namespace knet::agent::process {
namespace {

using base::StatusOr;

void SetNonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// write() to a pipe whose reader has gone raises SIGPIPE; block it on this thread while writing and
// swallow a pending one, so the agent does not need to ignore SIGPIPE process-wide.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t len) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t n = write(fd, data, len);
  int saved = errno;
  if (n < 0 && saved == EPIPE) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

void Decode(int status, RunResult* r) {
  if (WIFEXITED(status)) {
    r->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r->exit_code = -1;
    r->signal = WTERMSIG(status);
  }
}

}  // namespace

StatusOr<RunResult> Run(SpawnOptions options, std::string_view input,
                        std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(Pipe in, Pipe::Make());
  ASSIGN_OR_RETURN(Pipe out, Pipe::Make());
  ASSIGN_OR_RETURN(Pipe err, Pipe::Make());
  options.stdin_fd = in.read.get();
  options.stdout_fd = out.write.get();
  options.stderr_fd = err.write.get();
  options.new_process_group = !options.new_session;
  ASSIGN_OR_RETURN(pid_t pid, Spawn(options));
  in.read.Reset();
  out.write.Reset();
  err.write.Reset();
  RunResult result;
  auto pidfd = OpenPidfd(pid);
  if (!pidfd.ok()) {  // cannot happen for our unreaped child; kill it rather than leak it
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return pidfd.status().WithContext("running \"" + options.argv[0] + "\"");
  }
  SetNonblocking(in.write.get());
  SetNonblocking(out.read.get());
  SetNonblocking(err.read.get());
  if (input.empty()) in.write.Reset();

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t written = 0;
  bool exited = false;
  char buf[65536];
  while (!exited || out.read.valid() || err.read.valid()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd fds[4];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1, idx_pid = -1;
    if (in.write.valid()) {
      idx_in = n;
      fds[n++] = {in.write.get(), POLLOUT, 0};
    }
    if (out.read.valid()) {
      idx_out = n;
      fds[n++] = {out.read.get(), POLLIN, 0};
    }
    if (err.read.valid()) {
      idx_err = n;
      fds[n++] = {err.read.get(), POLLIN, 0};
    }
    if (!exited) {
      idx_pid = n;
      fds[n++] = {pidfd->get(), POLLIN, 0};
    }
    int r = poll(fds, static_cast<nfds_t>(n),
                 static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (idx_in >= 0 && fds[idx_in].revents != 0) {
      ssize_t w = WriteNoSigpipe(in.write.get(), input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
        in.write.Reset();
      }
    }
    auto drain = [&](int idx, UniqueFd& fd, std::string& sink) {
      if (idx < 0 || fds[idx].revents == 0) return;
      ssize_t got = read(fd.get(), buf, sizeof(buf));
      if (got > 0) {
        sink.append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd.Reset();
      }
    };
    drain(idx_out, out.read, result.out);
    drain(idx_err, err.read, result.err);
    if (idx_pid >= 0 && fds[idx_pid].revents != 0) exited = true;
  }
  if (result.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Decode(status, &result);
  return result;
}

}  // namespace knet::agent::process
