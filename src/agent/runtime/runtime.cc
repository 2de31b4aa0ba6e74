#include "agent/runtime/runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "agent/process/process.h"
#include "agent/runtime/internal/files.h"
#include "agent/runtime/internal/state.h"

namespace knet::agent::runtime {
namespace {

using base::Status;
using base::StatusOr;
using process::UniqueFd;
namespace in = internal;

// How long Start() waits for the shim to report; the shim only forks and execs.
constexpr std::chrono::seconds kStartTimeout(60);
// How long Stop() waits after SIGKILL.
constexpr std::chrono::seconds kKillTimeout(10);

std::string ContainerName(const ContainerSpec& s) {
  return s.pod_namespace + "/" + s.pod_name + "/" + s.container_name;
}

bool IsId(const std::string& name) {
  if (name.size() != 32) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// True if `pid` still names the process that had `start_time` (not a reused pid).
bool SameProcess(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  auto t = in::ProcessStartTime(pid);
  return t.ok() && (start_time == 0 || *t == start_time);
}

// Reaps the shim if it is our child (it is, unless we adopted it from an earlier agent).
void ReapIfChild(int pidfd, bool block) {
  siginfo_t info{};
  while (waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | (block ? 0 : WNOHANG)) < 0 &&
         errno == EINTR) {
  }
}

std::string DefaultShimPath() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "knet-shim";
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/') + 1) + "knet-shim";
}

}  // namespace

class Runtime::Impl {
 public:
  struct Entry {
    ContainerStatus status;
    std::string dir;
    UniqueFd shim_pidfd;  // valid while watched
    uint64_t pid_start_time = 0;
  };

  explicit Impl(Options o) : options_(std::move(o)) {}
  ~Impl();

  Status Init();
  StatusOr<ContainerStatus> Start(const ContainerSpec& spec);
  StatusOr<ContainerStatus> Get(const std::string& id) const;
  std::vector<ContainerStatus> List() const;
  Status Stop(const std::string& id, std::chrono::milliseconds grace);
  Status Remove(const std::string& id);
  void SetExitHandler(std::function<void(const ContainerStatus&)> handler);

 private:
  Status Load(const std::string& id);
  // Reads exit.json into e (or records an Unknown exit if the shim left none). REQUIRES: mu_.
  void Finish(Entry& e);
  Status Watch(Entry& e);  // REQUIRES: mu_
  void Loop();
  void Wake();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable exited_cv_;
  std::map<std::string, Entry> containers_;              // GUARDED_BY(mu_)
  std::map<int, std::string> watched_;                   // pidfd -> id, GUARDED_BY(mu_)
  std::function<void(const ContainerStatus&)> handler_;  // GUARDED_BY(mu_)
  std::vector<ContainerStatus> pending_;  // exits not yet handed to a handler, GUARDED_BY(mu_)
  bool stopping_ = false;                 // GUARDED_BY(mu_)
  UniqueFd epoll_, wake_;
  std::thread thread_;
};

Runtime::Impl::~Impl() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
}

void Runtime::Impl::Wake() {
  uint64_t one = 1;
  while (write(wake_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

Status Runtime::Impl::Init() {
  epoll_.Reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) return base::ErrnoError(errno, "creating an epoll instance");
  wake_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) return base::ErrnoError(errno, "creating an eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0) {
    return base::ErrnoError(errno, "watching the eventfd");
  }
  DIR* d = opendir(options_.root_dir.c_str());
  if (d == nullptr) return base::ErrnoError(errno, "listing " + options_.root_dir);
  std::vector<std::string> ids;
  while (dirent* e = readdir(d)) {
    if (IsId(e->d_name)) ids.emplace_back(e->d_name);
  }
  closedir(d);
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const std::string& id : ids) {
      Status s = Load(id);
      // A half-written dir (the agent died inside Start) is skipped, not fatal.
      if (!s.ok())
        std::fprintf(stderr, "knet runtime: skipping container %s: %s\n", id.c_str(),
                     s.ToString().c_str());
    }
  }
  thread_ = std::thread([this] { Loop(); });
  return base::OkStatus();
}

Status Runtime::Impl::Load(const std::string& id) {
  Entry e;
  e.dir = options_.root_dir + "/" + id;
  e.status.id = id;
  ASSIGN_OR_RETURN(std::string spec_text, in::ReadFile(e.dir + "/" + std::string(in::kSpecFile)));
  ASSIGN_OR_RETURN(e.status.spec, in::DecodeSpec(spec_text));
  auto started_text = in::ReadFile(e.dir + "/" + std::string(in::kStartedFile));
  if (started_text.ok()) {
    ASSIGN_OR_RETURN(in::StartedRecord started, in::DecodeStarted(*started_text));
    e.status.pid = started.pid;
    e.status.started_at = api::Time::FromUnixNanos(started.started_at);
    e.pid_start_time = started.pid_start_time;
  }
  e.status.state = ContainerStatus::State::kRunning;
  bool has_exit = access((e.dir + "/" + std::string(in::kExitFile)).c_str(), F_OK) == 0;
  // A shim still alive (or not yet reaped, if it is our child from an earlier Runtime in this
  // process) is watched, even after it wrote exit.json, so it gets reaped.
  auto shim_text = in::ReadFile(e.dir + "/" + std::string(in::kShimFile));
  if (shim_text.ok()) {
    auto shim = in::DecodeShim(*shim_text);
    if (shim.ok()) {
      auto fd = process::OpenPidfd(shim->pid);
      // Checked after opening the pidfd: a pid reused later cannot be mistaken for the shim.
      if (fd.ok() && SameProcess(shim->pid, shim->start_time)) e.shim_pidfd = std::move(*fd);
    }
  }
  auto [it, inserted] = containers_.emplace(id, std::move(e));
  // Exited while no runtime watched: read back now (no exit handler call for these).
  if (has_exit || !it->second.shim_pidfd.valid()) Finish(it->second);
  if (!it->second.shim_pidfd.valid()) return base::OkStatus();
  return Watch(it->second);
}

Status Runtime::Impl::Watch(Entry& e) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = e.shim_pidfd.get();
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, e.shim_pidfd.get(), &ev) != 0) {
    return base::ErrnoError(errno, "watching the shim of container " + e.status.id);
  }
  watched_[e.shim_pidfd.get()] = e.status.id;
  return base::OkStatus();
}

void Runtime::Impl::Finish(Entry& e) {
  ContainerStatus& s = e.status;
  s.state = ContainerStatus::State::kExited;
  const std::string exit_path = e.dir + "/" + std::string(in::kExitFile);
  auto text = in::ReadFile(exit_path);
  if (text.ok()) {
    auto r = in::DecodeExit(*text);
    if (r.ok()) {
      s.exit_code = r->exit_code;
      s.signal = r->signal;
      s.reason = r->reason;
      s.message = r->message;
      if (r->started_at != 0) s.started_at = api::Time::FromUnixNanos(r->started_at);
      s.finished_at = api::Time::FromUnixNanos(r->finished_at);
      return;
    }
  }
  // The shim died without recording the exit (killed, or the node rebooted). Its container may
  // still run unmonitored: end it, then record what we know, so a later Open agrees.
  if (s.pid > 0 && SameProcess(s.pid, e.pid_start_time)) kill(-s.pid, SIGKILL);
  in::ExitRecord r;
  r.exit_code = 255;
  r.reason = "Unknown";
  r.message = "knet-shim exited without recording the container's exit";
  r.started_at = s.started_at.unix_nanos();
  r.finished_at = in::NowNanos();
  s.exit_code = r.exit_code;
  s.signal = 0;
  s.reason = r.reason;
  s.message = r.message;
  s.finished_at = api::Time::FromUnixNanos(r.finished_at);
  Status st = in::WriteFileAtomic(exit_path, in::EncodeExit(r));
  if (!st.ok()) std::fprintf(stderr, "knet runtime: %s\n", st.ToString().c_str());
}

void Runtime::Impl::Loop() {
  for (;;) {
    epoll_event events[16];
    int n = epoll_wait(epoll_.get(), events, 16, -1);
    if (n < 0 && errno != EINTR) {
      std::fprintf(stderr, "knet runtime: epoll_wait: %s\n", std::strerror(errno));
      return;
    }
    std::vector<ContainerStatus> exited;
    std::function<void(const ContainerStatus&)> handler;
    {
      std::unique_lock<std::mutex> l(mu_);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_.get()) {
          uint64_t v;
          while (read(wake_.get(), &v, sizeof(v)) > 0) {
          }
          continue;
        }
        auto w = watched_.find(fd);
        if (w == watched_.end()) continue;
        auto it = containers_.find(w->second);
        watched_.erase(w);
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
        if (it == containers_.end()) continue;
        ReapIfChild(fd, /*block=*/false);
        it->second.shim_pidfd.Reset();
        if (it->second.status.state == ContainerStatus::State::kExited) continue;  // reap only
        Finish(it->second);
        pending_.push_back(it->second.status);
      }
      if (stopping_) return;
      if (handler_) {
        exited.swap(pending_);
        handler = handler_;
      }
    }
    exited_cv_.notify_all();
    for (const ContainerStatus& s : exited) handler(s);
  }
}

StatusOr<ContainerStatus> Runtime::Impl::Start(const ContainerSpec& spec) {
  const std::string what = "starting container " + ContainerName(spec);
  if (spec.argv.empty()) return base::InvalidArgumentError(what + ": no command");
  if (spec.log_path.empty() || spec.log_path[0] != '/') {
    return base::InvalidArgumentError(what + ": log path \"" + spec.log_path +
                                      "\" is not absolute");
  }
  Entry e;
  e.status.id = in::RandomId();
  e.status.spec = spec;
  e.dir = options_.root_dir + "/" + e.status.id;
  if (mkdir(e.dir.c_str(), 0700) != 0) return base::ErrnoError(errno, what + ": creating " + e.dir);
  auto fail = [&](const Status& s) {
    (void)in::RemoveAll(e.dir);
    return s.WithContext(what);
  };
  Status s = in::WriteFileAtomic(e.dir + "/" + std::string(in::kSpecFile), in::EncodeSpec(spec));
  if (!s.ok()) return fail(s);
  auto sync = process::Pipe::Make();
  if (!sync.ok()) return fail(sync.status());
  const std::string shim_log = e.dir + "/" + std::string(in::kShimLogFile);
  UniqueFd log(open(shim_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!log.valid()) return fail(base::ErrnoError(errno, "creating " + shim_log));

  process::SpawnOptions o;
  o.argv = {options_.shim_path, e.dir, "--sync-fd=" + std::to_string(sync->write.get())};
  o.stdout_fd = log.get();
  o.stderr_fd = log.get();
  o.new_session = true;
  o.keep_fds = {sync->write.get()};
  auto shim_pid = process::Spawn(o);
  if (!shim_pid.ok()) return fail(shim_pid.status().WithContext("starting knet-shim"));
  sync->write.Reset();
  auto pidfd = process::OpenPidfd(*shim_pid);
  if (!pidfd.ok()) {  // cannot happen for our unreaped child; do not leave it unwatched
    kill(*shim_pid, SIGKILL);
    waitpid(*shim_pid, nullptr, 0);
    return fail(pidfd.status());
  }
  e.shim_pidfd = std::move(*pidfd);
  in::ShimRecord shim{*shim_pid, 0};
  auto start_time = in::ProcessStartTime(*shim_pid);
  if (start_time.ok()) shim.start_time = *start_time;
  s = in::WriteFileAtomic(e.dir + "/" + std::string(in::kShimFile), in::EncodeShim(shim));

  // The shim writes one byte once started.json or exit.json is in place ('s' or 'e'); EOF means
  // it died first.
  char c = 0;
  pollfd p{sync->read.get(), POLLIN, 0};
  int r;
  do {
    r = poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kStartTimeout).count()));
  } while (r < 0 && errno == EINTR);
  if (r > 0) {
    while (read(sync->read.get(), &c, 1) < 0 && errno == EINTR) {
    }
  }
  if (!s.ok() || r <= 0) {
    kill(*shim_pid, SIGKILL);
    ReapIfChild(e.shim_pidfd.get(), /*block=*/true);
    auto started = in::ReadFile(e.dir + "/" + std::string(in::kStartedFile));
    if (started.ok()) {
      auto rec = in::DecodeStarted(*started);
      if (rec.ok()) kill(-rec->pid, SIGKILL);
    }
    return fail(!s.ok() ? s : base::DeadlineExceededError("knet-shim did not report in time"));
  }

  std::lock_guard<std::mutex> l(mu_);
  if (c == 's') {
    auto text = in::ReadFile(e.dir + "/" + std::string(in::kStartedFile));
    if (text.ok()) {
      auto rec = in::DecodeStarted(*text);
      if (rec.ok()) {
        e.status.pid = rec->pid;
        e.pid_start_time = rec->pid_start_time;
        e.status.started_at = api::Time::FromUnixNanos(rec->started_at);
      }
    }
    e.status.state = ContainerStatus::State::kRunning;
    auto [it, inserted] = containers_.emplace(e.status.id, std::move(e));
    RETURN_IF_ERROR(Watch(it->second));  // the exit, however quick, is seen through the pidfd
    return it->second.status;
  }
  // A start error ('e'), or the shim died ('\0'): it exits right away; reap it and read the
  // record (Finish records Unknown if there is none).
  ReapIfChild(e.shim_pidfd.get(), /*block=*/true);
  e.shim_pidfd.Reset();
  Finish(e);
  auto [it, inserted] = containers_.emplace(e.status.id, std::move(e));
  return it->second.status;
}

StatusOr<ContainerStatus> Runtime::Impl::Get(const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return base::NotFoundError("container " + id + " not found");
  return it->second.status;
}

std::vector<ContainerStatus> Runtime::Impl::List() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ContainerStatus> out;
  for (const auto& [id, e] : containers_) out.push_back(e.status);
  return out;
}

Status Runtime::Impl::Stop(const std::string& id, std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> l(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end())
    return base::NotFoundError("stopping container " + id + ": not found");
  auto exited = [&] {
    auto c = containers_.find(id);
    return c == containers_.end() || c->second.status.state == ContainerStatus::State::kExited;
  };
  if (exited()) return base::OkStatus();
  const pid_t pid = it->second.status.pid;
  const std::string what = "stopping container " + ContainerName(it->second.status.spec);
  if (grace.count() > 0 && pid > 0) {
    kill(-pid, SIGTERM);
    if (exited_cv_.wait_for(l, grace, exited)) return base::OkStatus();
  }
  if (pid > 0) kill(-pid, SIGKILL);
  if (exited_cv_.wait_for(l, kKillTimeout, exited)) return base::OkStatus();
  return base::DeadlineExceededError(what + ": still running 10s after SIGKILL");
}

Status Runtime::Impl::Remove(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end())
    return base::NotFoundError("removing container " + id + ": not found");
  if (it->second.status.state != ContainerStatus::State::kExited) {
    return base::FailedPreconditionError("removing container " + id + ": still running");
  }
  RETURN_IF_ERROR(in::RemoveAll(it->second.dir).WithContext("removing container " + id));
  if (it->second.shim_pidfd.valid()) {  // an exited container whose shim is not reaped yet
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.shim_pidfd.get(), nullptr);
    watched_.erase(it->second.shim_pidfd.get());
    ReapIfChild(it->second.shim_pidfd.get(), /*block=*/false);
  }
  containers_.erase(it);
  return base::OkStatus();
}

void Runtime::Impl::SetExitHandler(std::function<void(const ContainerStatus&)> handler) {
  {
    std::lock_guard<std::mutex> l(mu_);
    handler_ = std::move(handler);
  }
  Wake();  // hands over exits that happened before a handler was set
}

StatusOr<std::unique_ptr<Runtime>> Runtime::Open(Options options) {
  if (options.root_dir.empty())
    return base::InvalidArgumentError("opening the runtime: no root dir");
  RETURN_IF_ERROR(in::MakeDirs(options.root_dir, 0700).WithContext("opening the runtime"));
  char real[PATH_MAX];
  if (realpath(options.root_dir.c_str(), real) == nullptr) {
    return base::ErrnoError(errno, "opening the runtime: resolving " + options.root_dir);
  }
  options.root_dir = real;
  if (options.shim_path.empty()) options.shim_path = DefaultShimPath();
  auto impl = std::make_unique<Impl>(std::move(options));
  RETURN_IF_ERROR(impl->Init().WithContext("opening the runtime"));
  return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runtime::~Runtime() = default;
StatusOr<ContainerStatus> Runtime::Start(const ContainerSpec& spec) { return impl_->Start(spec); }
StatusOr<ContainerStatus> Runtime::Get(const std::string& id) const { return impl_->Get(id); }
std::vector<ContainerStatus> Runtime::List() const { return impl_->List(); }
Status Runtime::Stop(const std::string& id, std::chrono::milliseconds grace) {
  return impl_->Stop(id, grace);
}
Status Runtime::Remove(const std::string& id) { return impl_->Remove(id); }
void Runtime::SetExitHandler(std::function<void(const ContainerStatus&)> handler) {
  impl_->SetExitHandler(std::move(handler));
}

}  // namespace knet::agent::runtime
