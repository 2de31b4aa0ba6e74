// File: agent/runtime/runtime.h
//
// The container runtime of `knet agent`: runs each container's command as a process supervised by
// its own monitor, knet-shim (like conmon), so containers survive an agent restart and their exit
// codes are never lost. The shim joins the pod's network namespace, gives the container a private
// mount namespace (file bind mounts such as /etc/hosts) and UTS namespace (hostname), copies its
// stdout/stderr into the log file in the CRI log format, and records started.json / exit.json in
// the container's state dir <root_dir>/<id>/ (spec.json, shim.json, started.json, exit.json,
// shim.log). The runtime watches every shim through a pidfd on one thread, so it also learns of
// exits of containers it adopted after a restart.
//
//   ASSIGN_OR_RETURN(auto rt, Runtime::Open({.root_dir = root + "/containers"}));
//   rt->SetExitHandler([&](const ContainerStatus& s) { queue.Add(s.spec.pod_uid); });
//   ASSIGN_OR_RETURN(ContainerStatus st, rt->Start(spec));
//   if (st.state == ContainerStatus::State::kExited) ...  // StartError: st.message says why
//   RETURN_IF_ERROR(rt->Stop(st.id, std::chrono::seconds(30)));
//   RETURN_IF_ERROR(rt->Remove(st.id));
//
// Exit codes follow the CRI: 128+signal for a container killed by a signal. A container whose shim
// itself died (SIGKILL of the shim, a reboot) is reported Exited with reason "Unknown" and exit
// code 255, as containerd does; its processes, if any are left, are killed. When the container's
// main process exits, the shim kills what is left of its process group (as a pid namespace would).
// Runtime is thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/runtime/spec.h"
#include "api/values.h"
#include "base/status.h"

namespace knet::agent::runtime {

struct ContainerStatus {
  std::string id;  // 32 hex digits, unique; the containerID shown to users is "knet://" + id
  ContainerSpec spec;
  enum class State { kRunning, kExited } state = State::kRunning;
  pid_t pid = 0;  // the container process (also its process group id); 0 if it never started
  api::Time started_at, finished_at;  // finished_at is zero while running
  int exit_code = 0;                  // 128+signal when killed by a signal
  int signal = 0;
  std::string reason, message;  // "Completed", "Error", "StartError", "Unknown"
};

class Runtime {
 public:
  struct Options {
    std::string root_dir;   // <agent root>/containers; created if missing
    std::string shim_path;  // "" = knet-shim next to /proc/self/exe
  };

  // Loads every container from root_dir (adoption after an agent restart): running ones stay
  // running and are watched again; ones that exited meanwhile are read from exit.json.
  static base::StatusOr<std::unique_ptr<Runtime>> Open(Options options);

  // Stops watching (containers keep running; a later Open adopts them).
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts a container through the shim; returns once the process exec'd (kRunning) or failed to
  // start (kExited, reason "StartError", exit code 128). Errors only for agent-side failures
  // (cannot write the state dir, cannot start the shim).
  base::StatusOr<ContainerStatus> Start(const ContainerSpec& spec);

  // NotFound for an unknown id.
  base::StatusOr<ContainerStatus> Get(const std::string& id) const;
  std::vector<ContainerStatus> List() const;

  // SIGTERM to the container's process group, wait up to `grace`, then SIGKILL; returns once it
  // exited (OK too if it had already exited). grace 0 = SIGKILL at once. NotFound for an unknown
  // id; DeadlineExceeded if it is still running 10 s after SIGKILL.
  base::Status Stop(const std::string& id, std::chrono::milliseconds grace);

  // REQUIRES: the container exited (FailedPrecondition otherwise). Deletes the state dir, not the
  // log. NotFound for an unknown id.
  base::Status Remove(const std::string& id);

  // Called on the runtime's thread once for each running container that exits, including adopted
  // ones. Not for a StartError (Start() returns it) nor for containers that had already exited
  // when Open() loaded them (List() shows them). Exits seen before a handler is set are handed to
  // it when it is set. Never called with the runtime's lock held, but on the thread that watches
  // all containers: the handler must not block, and must not call Stop() (queue the work instead).
  void SetExitHandler(std::function<void(const ContainerStatus&)> handler);

 private:
  class Impl;
  explicit Runtime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace knet::agent::runtime
