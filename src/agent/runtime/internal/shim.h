// File: agent/runtime/internal/shim.h
//
// knet-shim: the per-container monitor (like conmon). The runtime starts it as
//   knet-shim <container-state-dir> [--sync-fd=N]
// in a new session; it reads <dir>/spec.json, starts the container's process (its own process
// group; the pod's network namespace; a private mount namespace, made a recursive slave of the
// host's, with the spec's file bind mounts; a UTS namespace with the pod's hostname; the working
// dir; exactly the spec's env), writes <dir>/started.json, or <dir>/exit.json with reason
// "StartError" when the process could not be started, then writes one byte ('s' or 'e') to the
// sync fd and closes it. It copies the container's stdout/stderr into the log file in the CRI log
// format; when the main process exits it drains the pipes, kills what is left of the process
// group, reaps everything (it is a child subreaper, so no zombies), writes <dir>/exit.json
// atomically and exits. SIGTERM/SIGINT/SIGHUP do not stop the shim (they are meant for others).
#pragma once

namespace knet::agent::runtime::internal {

// The whole program; returns its exit status (0 when it recorded an exit.json).
int ShimMain(int argc, char** argv);

}  // namespace knet::agent::runtime::internal
