// Stop signals for the long-running roles (server, controller-manager, agent): SIGINT and SIGTERM
// are blocked before any thread starts, so only the main thread's WaitForStop sees them, and
// SIGPIPE is ignored (a peer that goes away is an I/O error, not a crash).
//
//   StopSignals stop;             // first thing in the role's Run function
//   ... start everything ...
//   int sig = stop.Wait();        // SIGINT or SIGTERM
#pragma once

#include <pthread.h>
#include <signal.h>

#include <csignal>

namespace knet::cmd {

class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
  }
  // Blocks until SIGINT or SIGTERM arrives; returns which.
  int Wait() const {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig;
  }

 private:
  sigset_t set_;
};

}  // namespace knet::cmd
