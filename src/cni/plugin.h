// File: cni/plugin.h
//
// One knet-cni invocation, from its inputs (environment, stdin) to its outputs (stdout, exit
// code), without touching the process: src/cmd/cni_main.cc passes getenv, std::cin and a factory
// for the real kernel, tests pass fakes.
//
//   Response r = Run(env_lookup, stdin_bytes, [] { return MakeLinuxKernel(); });
//   std::cout << r.out; return r.exit_code;
//
// Thread-compatible.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "cni/bridge.h"
#include "cni/config.h"

namespace knet::cni {

struct Response {
  int exit_code = 0;
  std::string out;  // stdout: a result, a VERSION answer, an error JSON, or nothing
};

// Builds the Kernel for a command that needs one (not VERSION). The returned object owns what
// backs the Kernel; a failure is reported as code 100.
struct KernelHandle {
  Kernel kernel;
  std::shared_ptr<void> owner;
};
using KernelFactory = std::function<base::StatusOr<KernelHandle>()>;

Response Run(const EnvLookup& env, std::string_view stdin_bytes, const KernelFactory& make_kernel);

}  // namespace knet::cni
