#include "agent/server/exec_session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/process/process.h"
#include "agent/server/websocket.h"

namespace knet::agent::server {

namespace {

using process::UniqueFd;

constexpr uint8_t kStdin = 0, kStdout = 1, kStderr = 2, kError = 3, kResize = 4, kClose = 255;

bool ParseBool(const std::optional<std::string>& v) {
  return v && (*v == "true" || *v == "1" || *v == "t" || *v == "T" || *v == "TRUE" || *v == "True");
}

std::string Channel(uint8_t ch, std::string_view data) {
  std::string out;
  out.reserve(data.size() + 1);
  out.push_back(static_cast<char>(ch));
  out.append(data);
  return out;
}

std::string JoinCommand(const std::vector<std::string>& command) {
  std::string out = "[";
  for (size_t i = 0; i < command.size(); ++i) {
    if (i > 0) out += ' ';
    out += command[i];
  }
  return out + "]";
}

std::string InternalErrorJson(const std::string& message) {
  nlohmann::json j = {{"metadata", nlohmann::json::object()},
                      {"status", "Failure"},
                      {"message", "Internal error occurred: " + message},
                      {"reason", "InternalError"},
                      {"details", {{"causes", {{{"message", message}}}}}},
                      {"code", 500}};
  return j.dump();
}

// A pseudo-terminal: the master stays here, the slave becomes the command's terminal.
base::Status OpenPty(UniqueFd* master, UniqueFd* slave) {
  master->Reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master->valid()) return base::ErrnoError(errno, "opening a pseudo-terminal");
  if (::grantpt(master->get()) != 0 || ::unlockpt(master->get()) != 0) {
    return base::ErrnoError(errno, "unlocking the pseudo-terminal");
  }
  char name[128];
  if (::ptsname_r(master->get(), name, sizeof(name)) != 0) {
    return base::ErrnoError(errno, "naming the pseudo-terminal");
  }
  slave->Reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave->valid()) return base::ErrnoError(errno, std::string("opening ") + name);
  return base::OkStatus();
}

// Writes all of `data` to a non-blocking fd, waiting while it is full; gives up when `stop` is
// set or the reader is gone.
bool WriteAll(int fd, std::string_view data, const std::atomic<bool>& stop) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (stop) return false;
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    return false;  // EPIPE (the command closed its stdin), EIO (terminal gone)
  }
  return true;
}

void SetWindowSize(int fd, std::string_view json) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    winsize ws{};
    ws.ws_col = j.value("Width", static_cast<unsigned short>(0));
    ws.ws_row = j.value("Height", static_cast<unsigned short>(0));
    ::ioctl(fd, TIOCSWINSZ, &ws);
  } catch (const std::exception&) {
    // A malformed resize message is ignored, as kubelet does after logging it.
  }
}

}  // namespace

base::StatusOr<ExecRequest> ParseExecRequest(const apiserver::http::Request& req) {
  ExecRequest r;
  for (const auto& [k, v] : req.query) {
    if (k == "command") r.command.push_back(v);
  }
  r.use_stdin = ParseBool(req.QueryParam("stdin")) || ParseBool(req.QueryParam("input"));
  r.use_stdout = ParseBool(req.QueryParam("stdout")) || ParseBool(req.QueryParam("output"));
  r.use_stderr = ParseBool(req.QueryParam("stderr")) || ParseBool(req.QueryParam("error"));
  r.tty = ParseBool(req.QueryParam("tty"));
  if (r.command.empty()) return base::InvalidArgumentError("you must specify a command");
  if (!r.use_stdin && !r.use_stdout && !r.use_stderr) {
    return base::InvalidArgumentError("you must specify at least 1 of stdin, stdout, stderr");
  }
  if (r.tty) r.use_stderr = false;  // a terminal has one output stream
  return r;
}

std::string SelectExecProtocol(const apiserver::http::Request& req) {
  bool v4 = false;
  for (const auto& [name, value] : req.headers) {
    if (name != "sec-websocket-protocol") continue;
    size_t i = 0;
    while (i <= value.size()) {
      size_t end = value.find(',', i);
      if (end == std::string::npos) end = value.size();
      std::string_view p = std::string_view(value).substr(i, end - i);
      while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
      while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
      if (p == kProtocolV5) return std::string(kProtocolV5);
      if (p == kProtocolV4) v4 = true;
      i = end + 1;
    }
  }
  return v4 ? std::string(kProtocolV4) : "";
}

std::string ExitStatusJson(const std::vector<std::string>& command, int exit_code) {
  if (exit_code == 0) return R"({"metadata":{},"status":"Success"})";
  nlohmann::json j = {
      {"metadata", nlohmann::json::object()},
      {"status", "Failure"},
      {"message", "command terminated with non-zero exit code: error executing command " +
                      JoinCommand(command) + ", exit code " + std::to_string(exit_code)},
      {"reason", "NonZeroExitCode"},
      {"details",
       {{"causes", {{{"reason", "ExitCode"}, {"message", std::to_string(exit_code)}}}}}}};
  return j.dump();
}

void RunExecSession(std::shared_ptr<apiserver::http::Tunnel> tunnel, std::string_view protocol,
                    const ExecRequest& request, const ContainerRef& container) {
  WebSocketConn ws(tunnel, /*server=*/true);
  const bool v5 = protocol == kProtocolV5;
  auto finish = [&](const std::string& status_json) {
    ws.WriteMessage(Opcode::kBinary, Channel(kError, status_json));
    ws.WriteClose(1000, "");
    ws.Close();
  };

  process::SpawnOptions opts;
  opts.argv = request.command;
  opts.env = container.env;
  opts.working_dir = container.working_dir;
  opts.join_namespaces_of = container.pid;
  UniqueFd term, term_slave;    // tty
  UniqueFd in_w, out_r, err_r;  // pipes (our ends)
  UniqueFd in_r, out_w, err_w;  // the command's ends
  base::Status setup;
  if (request.tty) {
    setup = OpenPty(&term, &term_slave);
    opts.stdin_fd = opts.stdout_fd = opts.stderr_fd = term_slave.get();
    opts.new_session = true;
    opts.controlling_tty_fd = term_slave.get();
  } else {
    opts.new_process_group = true;
    auto make = [&](bool wanted, UniqueFd* ours, UniqueFd* theirs, bool ours_is_write) {
      if (!wanted || !setup.ok()) return;
      auto p = process::Pipe::Make();
      if (!p.ok()) {
        setup = p.status();
        return;
      }
      *ours = std::move(ours_is_write ? p->write : p->read);
      *theirs = std::move(ours_is_write ? p->read : p->write);
    };
    make(request.use_stdin, &in_w, &in_r, true);
    make(request.use_stdout, &out_r, &out_w, false);
    make(request.use_stderr, &err_r, &err_w, false);
    opts.stdin_fd = in_r.get();
    opts.stdout_fd = out_w.get();
    opts.stderr_fd = err_w.get();
  }
  if (!setup.ok())
    return finish(
        InternalErrorJson("setting up the command's stdio: " + std::string(setup.message())));
  auto pid = process::Spawn(opts);
  term_slave.Reset();
  in_r.Reset();
  out_w.Reset();
  err_w.Reset();
  if (!pid.ok()) {
    // As a runtime reports an exec that could not start: the error on the output, exit 126/127.
    std::string text = "exec failed: " + std::string(pid.status().message()) + "\r\n";
    if (!request.tty) text.erase(text.size() - 2, 1);
    uint8_t ch = request.use_stderr ? kStderr : kStdout;
    if (request.use_stderr || request.use_stdout)
      ws.WriteMessage(Opcode::kBinary, Channel(ch, text));
    int code = pid.status().code() == base::StatusCode::kNotFound ? 127 : 126;
    return finish(ExitStatusJson(request.command, code));
  }
  auto pidfd = process::OpenPidfd(*pid);

  int in_fd = request.tty ? term.get() : in_w.get();
  if (in_fd >= 0) ::fcntl(in_fd, F_SETFL, ::fcntl(in_fd, F_GETFL) | O_NONBLOCK);

  // Client -> command: stdin, resize, close; the client going away kills the command.
  std::atomic<bool> done{false};
  std::mutex reap_mu;
  bool reaped = false;  // guarded by reap_mu: no signal may go to a reaped (reusable) pid
  std::thread reader([&] {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, nullptr);  // EPIPE instead of SIGPIPE on stdin writes
    bool stdin_open = request.use_stdin;
    while (true) {
      auto m = ws.ReadMessage();
      if (!m.ok() || !m->has_value()) break;
      const std::string& data = (*m)->data;
      if (data.empty()) continue;
      auto ch = static_cast<uint8_t>(data[0]);
      std::string_view payload = std::string_view(data).substr(1);
      if (ch == kStdin && stdin_open && in_fd >= 0) {
        if (!WriteAll(in_fd, payload, done)) stdin_open = false;
      } else if (ch == kResize && request.tty) {
        SetWindowSize(term.get(), payload);
      } else if (ch == kClose && v5 && !payload.empty() &&
                 static_cast<uint8_t>(payload[0]) == kStdin) {
        stdin_open = false;
        if (request.tty) {
          char eot = 4;  // ^D: end of input for the program reading the terminal
          WriteAll(term.get(), std::string_view(&eot, 1), done);
        } else {
          in_w.Reset();
        }
      }
    }
    std::lock_guard<std::mutex> lock(reap_mu);
    if (!done && !reaped) ::kill(-*pid, SIGKILL);  // the client left before the command ended
  });

  // Command -> client, until the outputs end; the exit is noticed on the pidfd.
  struct Out {
    int fd;
    uint8_t ch;
  };
  std::vector<Out> outs;
  if (request.tty) {
    outs.push_back({term.get(), kStdout});
  } else {
    if (out_r.valid()) outs.push_back({out_r.get(), kStdout});
    if (err_r.valid()) outs.push_back({err_r.get(), kStderr});
  }
  bool exited = false;
  auto exited_at = std::chrono::steady_clock::now();
  char buf[32768];
  while (!outs.empty()) {
    std::vector<pollfd> fds;
    for (const Out& o : outs) fds.push_back({o.fd, POLLIN, 0});
    if (!exited && pidfd.ok()) fds.push_back({pidfd->get(), POLLIN, 0});
    int timeout = exited ? 50 : -1;
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno == EINTR) continue;
    if (!exited && pidfd.ok() && (fds.back().revents & POLLIN)) {
      exited = true;
      exited_at = std::chrono::steady_clock::now();
    }
    bool any = false;
    for (size_t i = 0; i < outs.size();) {
      if (fds[i].revents == 0) {
        ++i;
        continue;
      }
      ssize_t r = ::read(outs[i].fd, buf, sizeof(buf));
      if (r > 0) {
        any = true;
        ws.WriteMessage(Opcode::kBinary,
                        Channel(outs[i].ch, std::string_view(buf, static_cast<size_t>(r))));
        ++i;
      } else if (r < 0 && errno == EINTR) {
        ++i;
      } else {
        outs.erase(outs.begin() + static_cast<long>(i));  // EOF, or EIO once the terminal closed
        fds.erase(fds.begin() + static_cast<long>(i));
      }
    }
    // After the exit, output still held open by a background process ends the session once it
    // has been quiet for a moment.
    if (exited && !any &&
        std::chrono::steady_clock::now() - exited_at > std::chrono::milliseconds(200)) {
      break;
    }
    if (any) exited_at = std::chrono::steady_clock::now();
  }
  if (pidfd.ok()) {  // wait for the exit without holding reap_mu, then reap at once
    pollfd p{pidfd->get(), POLLIN, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
  }
  int status = 0;
  {
    std::lock_guard<std::mutex> lock(reap_mu);
    while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  done = true;
  finish(ExitStatusJson(request.command, code));
  reader.join();
}

}  // namespace knet::agent::server
