// File: agent/server/server.h
//
// The agent's HTTPS server (kubelet's port 10250): what the API server proxies pods/log and
// pods/exec to.
//
//   GET /healthz                                   "ok"
//   GET /containerLogs/NS/POD/CONTAINER?follow=&tailLines=&timestamps=&previous=&sinceSeconds=
//       &sinceTime=&limitBytes=                    the container's log (text/plain, chunked)
//   GET /exec/NS/POD/CONTAINER?command=..&command=..&stdin=&stdout=&stderr=&tty=
//       with Upgrade: websocket and subprotocol v5.channel.k8s.io or v4.channel.k8s.io: runs the
//       command in the container's namespaces, channels 0 stdin, 1 stdout, 2 stderr, 3 the exit
//       Status, 4 resize, 255 close (v5).
//
//   class Pods : public server::PodLookup { ... };   // the pod manager
//   server::AgentServerOptions o;
//   o.cert_dir = root + "/pki";
//   o.client_ca_pem = cluster_ca;  // only the API server's client certificate is accepted
//   ASSIGN_OR_RETURN(auto srv, server::AgentServer::Start(o, &pods));
//
// Errors are metav1.Status JSON (the API server passes their message on). Thread-safe; PodLookup
// is called from many threads at once and must be thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace knet::agent::server {

struct ContainerRef {
  std::string name;
  std::string log_path;           // the current attempt's CRI-format log file
  std::string previous_log_path;  // the previous attempt's, "" if none
  pid_t pid = 0;                  // the running container process; 0 = not running
  std::vector<std::string> env;   // the container's environment, "K=V"
  std::string working_dir;
};

class PodLookup {
 public:
  virtual ~PodLookup() = default;
  // NotFound naming what is missing (pod, or container in pod).
  virtual base::StatusOr<ContainerRef> Find(std::string_view ns, std::string_view pod,
                                            std::string_view container) = 0;
};

struct AgentServerOptions {
  std::string listen = "0.0.0.0:10250";
  // Where the self-signed serving pair (agent.crt/agent.key) is made if missing, and where the
  // client CA is written for the TLS stack.
  std::string cert_dir;
  // Extra subjectAltNames for the serving certificate (localhost, 127.0.0.1 and the host name
  // are always included).
  std::vector<std::string> hosts;
  // The cluster CA (PEM): only clients with a certificate it signed are served. "" = no client
  // authentication (tests only).
  std::string client_ca_pem;
  // Threads that answer requests; a log stream or exec session moves to a thread of its own
  // once set up, so this bounds only concurrent set-ups.
  int handler_threads = 8;
};

class AgentServer {
 public:
  static base::StatusOr<std::unique_ptr<AgentServer>> Start(AgentServerOptions options,
                                                            PodLookup* pods);
  ~AgentServer();  // Stop()
  uint16_t port() const;
  // Ends every log stream and exec session (their processes are killed) and stops serving.
  // Idempotent.
  void Stop();

  class Impl;

 private:
  explicit AgentServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace knet::agent::server
