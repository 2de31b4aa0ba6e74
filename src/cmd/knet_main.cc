// knet: the Kubernetes network model in one binary. The first argument picks the role.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cmd/roles.h"

int main(int argc, char** argv) {
  CLI::App app{"knet: the Kubernetes network model on real Linux data planes", "knet"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  knet::cmd::RegisterVersion(app);
  knet::cmd::RegisterServer(app);
  knet::cmd::RegisterControllerManager(app);
  knet::cmd::RegisterAgent(app);
  knet::cmd::RegisterCluster(app);
  // `knet help [command]`, as users of kubectl and git expect.
  auto* help = app.add_subcommand("help", "Show help for knet or one of its commands");
  std::string topic;
  help->add_option("command", topic, "The command to explain");
  help->callback([&] {
    if (topic.empty()) {
      std::cout << app.get_formatter()->make_help(&app, "knet", CLI::AppFormatMode::Normal);
      return;
    }
    for (CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == topic) {
        std::cout << sub->get_formatter()->make_help(sub, topic, CLI::AppFormatMode::Normal);
        return;
      }
    }
    throw CLI::ValidationError("help", "unknown command \"" + topic + "\"; run 'knet help'");
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
