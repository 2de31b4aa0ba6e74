// File: cmd/roles.h
//
// Each role of the knet binary registers its subcommand here. A <role>_main.cc only parses its
// flags, builds the real implementations, wires them together and runs (shared/style.md §2).
#pragma once

#include <CLI/CLI.hpp>

namespace knet::cmd {

// Adds `knet version [-o json]`.
void RegisterVersion(CLI::App& app);

// Adds `knet server`: the API server (with the controllers in-process).
void RegisterServer(CLI::App& app);

// Adds `knet controller-manager`: the controllers against any API server.
void RegisterControllerManager(CLI::App& app);

// Adds `knet agent`: a node (registration, pods, CNI, logs/exec).
void RegisterAgent(CLI::App& app);

// Adds `knet cluster up|down|status|exec`: a multi-node cluster on this machine.
void RegisterCluster(CLI::App& app);

}  // namespace knet::cmd
