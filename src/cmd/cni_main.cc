// knet-cni: the CNI plugin that runtimes exec once per pod (CNI 1.1). Kept lean: it links only
// src/cni and what that needs, because process start-up is most of a CNI call's cost.
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>

#include "cmd/version.h"
#include "cni/spec.h"

namespace {

std::string ReadStdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

int Fail(const knet::cni::Error& e) {
  std::cout << knet::cni::ErrorJson(e, knet::cni::kCurrentVersion);
  return 1;
}

}  // namespace

int main() {
  using knet::cni::ErrorCode;
  const char* command_env = std::getenv("CNI_COMMAND");
  if (command_env == nullptr || *command_env == '\0') {
    // Run by hand: say what this is, as the reference plugins do.
    std::cerr << "knet-cni v" << knet::cmd::kVersion << " (" << knet::cmd::kGitVersion
              << "): the knet CNI plugin\nCNI protocol versions supported:";
    for (auto v : knet::cni::SupportedVersions()) std::cerr << " " << v;
    std::cerr << "\n";
    return 0;
  }
  std::string_view command(command_env);
  if (command == "VERSION") {
    knet::cni::VersionResult r = knet::cni::HandleVersion(ReadStdin());
    if (!r.ok) return Fail(r.error);
    std::cout << r.json;
    return 0;
  }
  if (command == "ADD" || command == "DEL" || command == "CHECK" || command == "STATUS" ||
      command == "GC") {
    // Honest about scope: the network commands arrive with the node/CNI issue.
    return Fail(
        {ErrorCode::kPluginNotAvailable,
         "CNI_COMMAND " + std::string(command) + " is not implemented by this knet-cni build",
         "this build answers VERSION only"});
  }
  return Fail({ErrorCode::kInvalidEnvironment,
               "unknown CNI_COMMAND \"" + std::string(command) + "\"",
               "expected one of ADD, DEL, CHECK, VERSION, STATUS, GC"});
}
