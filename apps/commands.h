// Subcommand registration for the toolgym CLI. Each Add* registers a subcommand whose callback
// does the work and sets the process exit code through SetExitCode.
#pragma once

#include <CLI/CLI.hpp>

namespace toolgym::apps {

void AddSandboxCommands(CLI::App& app);   // sandbox_cmd.cc
void AddDemoCommand(CLI::App& app);       // demo_cmd.cc
void AddEnvCommands(CLI::App& app);       // env_cmd.cc: list, show, validate, play, run
void AddIndexCommands(CLI::App& app);     // index_cmd.cc: index build, query, show
void AddServeSiteCommand(CLI::App& app);  // serve_site_cmd.cc: serve-site
void AddServeCommand(CLI::App& app);      // serve_cmd.cc: serve (the HTTP env server)
void AddServePolicyCommand(CLI::App& app);  // serve_policy_cmd.cc: serve-policy (OpenAI protocol)
void AddEvalCommands(CLI::App& app);      // eval_cmd.cc: eval, compare

void SetExitCode(int code);
int ExitCode();

}  // namespace toolgym::apps
