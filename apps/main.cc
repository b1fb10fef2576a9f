// toolgym: the command-line program. One file per subcommand group; this file wires them up.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "apps/commands.h"
#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{"toolgym: environments for training and evaluating tool-using agents"};
  app.set_version_flag("--version", std::string("toolgym ") + toolgym::kVersion);
  app.require_subcommand(1);
  toolgym::apps::AddSandboxCommands(app);
  toolgym::apps::AddDemoCommand(app);
  toolgym::apps::AddEnvCommands(app);
  toolgym::apps::AddIndexCommands(app);
  toolgym::apps::AddServeSiteCommand(app);
  toolgym::apps::AddServeCommand(app);
  toolgym::apps::AddServePolicyCommand(app);
  toolgym::apps::AddEvalCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "toolgym: %s\n", e.what());
    return 1;
  }
  return toolgym::apps::ExitCode();
}
