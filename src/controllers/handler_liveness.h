// File: controllers/handler_liveness.h
//
// HandlerLiveness: lets a controller be destroyed while the shared informers it registered
// handlers with still run. Informers cannot unregister handlers, so each handler runs through
// Run() under a shared lock, and only until Kill(), which the controller's destructor calls and
// which waits for handlers already running. Thread-safe.
//
//   auto live = live_;   // std::shared_ptr<HandlerLiveness>, captured by value
//   pods.AddHandlers({.on_add = [this, live](const api::Pod& p) {
//     live->Run([&] { queue_.Add(KeyOf(p)); });
//   }});
//   ~Controller() { live_->Kill(); ... }
#pragma once

#include <mutex>
#include <shared_mutex>

namespace knet::controllers {

class HandlerLiveness {
 public:
  template <class F>
  void Run(F&& f) {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (alive_) f();
  }
  void Kill() {
    std::unique_lock<std::shared_mutex> l(mu_);
    alive_ = false;
  }

 private:
  std::shared_mutex mu_;
  bool alive_ = true;
};

}  // namespace knet::controllers
