// File: agent/prober/prober.h
//
// One run of a Kubernetes container probe (httpGet, tcpSocket, exec; grpc is reported as not
// supported), with the kubelet's semantics:
//   - httpGet: GET http://<host>:<port><path> where host is probe.httpGet.host or the pod IP and a
//     named port is resolved from the container's ports; headers from httpHeaders, User-Agent
//     "kube-probe/1.32" and Accept "*/*" unless given; success is a status in 200..399; redirects
//     to the same host are followed (at most 10), a redirect elsewhere counts as success, as the
//     kubelet's warning result does. Scheme HTTPS uses TLS without verifying the certificate,
//     as the kubelet does.
//   - tcpSocket: success if a TCP connection can be opened.
//   - exec: the command runs inside the container's namespaces (process::Run with
//     join_namespaces_of = the container pid) with the container's environment; exit 0 succeeds;
//     a timeout is a failure.
//   timeoutSeconds (default 1) bounds each run.
// HTTP and TCP sockets are created inside the pod's network namespace (target.netns_path), so a
// probe works even when the node cannot route to the pod.
//
//   prober::ProbeTarget t{.pod_ip = "10.244.1.5", .netns_path = "/run/netns/knet-..."};
//   prober::ProbeOutcome r = prober::RunProbe(*container.readiness_probe, t);
//   if (!r.success) log(r.message);   // e.g. "HTTP probe failed with statuscode: 503"
//
// Thread-safe free functions (each call blocks for at most the probe's timeout).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "api/pod.h"

namespace knet::agent::prober {

inline constexpr const char* kUserAgent = "kube-probe/1.32";

struct ProbeTarget {
  std::string pod_ip;                     // the default host of httpGet / tcpSocket
  std::string netns_path;                 // the pod's network namespace; "": the caller's
  pid_t container_pid = 0;                // exec probes join this process' namespaces
  std::vector<std::string> env;           // exec probes: the container's environment ("K=V")
  std::string working_dir;                // exec probes: the container's workingDir ("": none)
  std::vector<api::ContainerPort> ports;  // resolves named ports
};

struct ProbeOutcome {
  bool success = false;
  std::string message;  // why it failed (or a note on success, e.g. a redirect elsewhere)
};

// Runs `probe` once. `timeout` overrides probe.timeoutSeconds when non-zero (used by
// ProbeManager to scale time in tests).
ProbeOutcome RunProbe(const api::Probe& probe, const ProbeTarget& target,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

}  // namespace knet::agent::prober
