// File: agent/server/exec_session.h
//
// One `kubectl exec` session on the agent: the Kubernetes remote command protocol over a
// WebSocket (subprotocols v5.channel.k8s.io and v4.channel.k8s.io). Every binary message starts
// with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (one metav1.Status JSON at the end),
// 4 resize ({"Width":80,"Height":24}), and in v5 255 close (payload: the stream id; 0 closes the
// command's stdin).
//
// The command runs through process::Spawn in the container's namespaces with its environment and
// working directory: with tty, on a new pseudo-terminal as its controlling terminal (resize ->
// TIOCSWINSZ); without, on pipes (stdout and stderr separate). When it exits, the exit Status is
// written on channel 3 (Success, or NonZeroExitCode with the code as upstream's ExitCode cause),
// then a close frame. If the client goes away first, the command's process group is killed.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/server/server.h"
#include "apiserver/http/server.h"
#include "base/status.h"

namespace knet::agent::server {

inline constexpr std::string_view kProtocolV5 = "v5.channel.k8s.io";
inline constexpr std::string_view kProtocolV4 = "v4.channel.k8s.io";

struct ExecRequest {
  std::vector<std::string> command;
  bool use_stdin = false, use_stdout = false, use_stderr = false, tty = false;
};

// The exec query parameters (command repeated; stdin/stdout/stderr/tty booleans, also "1").
// InvalidArgument without a command or without any stream, as kubelet.
base::StatusOr<ExecRequest> ParseExecRequest(const apiserver::http::Request& req);

// The subprotocol to answer with: v5 if the client offers it, else v4; "" if neither.
std::string SelectExecProtocol(const apiserver::http::Request& req);

// The channel-3 Status JSON for a finished command.
std::string ExitStatusJson(const std::vector<std::string>& command, int exit_code);

// Runs the session on an upgraded connection until the command ends (or the client goes away).
void RunExecSession(std::shared_ptr<apiserver::http::Tunnel> tunnel, std::string_view protocol,
                    const ExecRequest& request, const ContainerRef& container);

}  // namespace knet::agent::server
