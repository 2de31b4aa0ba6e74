// File: overlay/bgp/internal/bird_process.h
//
// BirdProcess: runs `bird -f -c <config> -s <socket> -P <pid file>` as a supervised child (in a
// given network namespace), its output appended to a log file. A bird that exits is restarted
// with exponential back-off (reset after a minute of running). A bird left running by a previous
// agent (its pid file names a live bird on the same config) is adopted instead of started twice,
// so an agent restart does not disturb the BGP sessions or the routes.
//
//   BirdProcess bird({.bird_path = "/usr/sbin/bird", .config_path = ..., ...});
//   RETURN_IF_ERROR(bird.Start());   // returns once the control socket answers
//   ...
//   RETURN_IF_ERROR(bird.Stop());    // SIGTERM (bird withdraws and removes its kernel routes)
//
// Thread-safe: a supervisor thread watches the process through a pidfd; the public methods may be
// called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "agent/process/process.h"
#include "base/status.h"

namespace knet::overlay::bgp::internal {

struct BirdProcessOptions {
  std::string bird_path;
  std::string config_path;
  std::string socket_path;
  std::string pid_path;
  std::string log_path;
  std::string netns_path;  // "" = the caller's network namespace
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds ready_timeout{5000};
};

class BirdProcess {
 public:
  explicit BirdProcess(BirdProcessOptions options);
  // Stops supervising but leaves bird running (the next agent adopts it). Call Stop() to end it.
  ~BirdProcess();
  BirdProcess(const BirdProcess&) = delete;
  BirdProcess& operator=(const BirdProcess&) = delete;

  // Adopts a running bird of this configuration or starts one, waits until its control socket
  // accepts connections, and starts supervising. Errors name the command and carry bird's output
  // (a configuration error, for example). REQUIRES: not started.
  base::Status Start();
  // Stops supervising, sends SIGTERM and waits up to 5 s (then SIGKILL). Idempotent. Without
  // Start(), stops the bird a previous agent left running (RunningPid()), if any.
  base::Status Stop();

  // A live bird on this configuration named by the pid file (ours or a previous agent's), or 0.
  pid_t RunningPid() const;

  // The current bird's pid, 0 while none runs.
  pid_t pid() const;
  // How many times the supervisor restarted bird.
  int restarts() const;
  // Whether Start() adopted a running bird.
  bool adopted() const { return adopted_; }

 private:
  // Starts one bird and waits for its socket. On failure nothing is left running.
  base::StatusOr<pid_t> SpawnAndWait();
  void Supervise();
  void Note(const std::string& line) const;
  // Reaps `pid` once it exited if it is our child (an adopted bird is reaped by its parent) and
  // says how it ended. REQUIRES: `pid` exited (or is not our child), so this never blocks.
  std::string Reap(pid_t pid);

  const BirdProcessOptions options_;
  bool adopted_ = false;
  bool started_ = false;
  agent::process::Pipe wake_;
  std::thread supervisor_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  pid_t pid_ = 0;          // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  int restarts_ = 0;       // GUARDED_BY(mu_)
};

}  // namespace knet::overlay::bgp::internal
