// knet-shim: the per-container monitor the agent's runtime starts (like conmon), so containers
// survive an agent restart and their exit codes are never lost. Lean: it links only base and the
// runtime's shim library. See agent/runtime/internal/shim.h for what it does.
#include "agent/runtime/internal/shim.h"

int main(int argc, char** argv) { return knet::agent::runtime::internal::ShimMain(argc, argv); }
