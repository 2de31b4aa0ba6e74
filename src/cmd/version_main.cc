// `knet version`: the build's version, plain or as JSON.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cmd/roles.h"
#include "cmd/version.h"

namespace knet::cmd {

void RegisterVersion(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the knet version");
  auto output = std::make_shared<std::string>();
  cmd->add_option("-o,--output", *output, "Output format: json")->check(CLI::IsMember({"json"}));
  cmd->callback([output] {
    if (*output == "json") {
      nlohmann::json j{{"version", kVersion}, {"gitVersion", kGitVersion}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << "knet v" << kVersion << " (" << kGitVersion << ")\n";
    }
  });
}

}  // namespace knet::cmd
