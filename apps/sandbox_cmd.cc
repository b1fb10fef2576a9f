// `toolgym sandbox run|shell|policy`: run commands in a sandbox by hand.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/commands.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_policy.h"
#include "sandbox/session.h"

namespace toolgym::apps {
namespace {

int exit_code = 0;

struct SandboxFlags {
  double timeout_s = 10;
  double cpu_s = 10;
  std::uint64_t memory = 512ull << 20;
  bool net = false;
  std::string workspace;
  bool no_seccomp_kill = false;
};

void AddFlags(CLI::App* cmd, SandboxFlags& f) {
  cmd->add_option("--timeout", f.timeout_s, "wall-clock limit in seconds")->capture_default_str();
  cmd->add_option("--cpu", f.cpu_s, "CPU-time limit in seconds per process")->capture_default_str();
  cmd->add_option("--memory", f.memory, "memory limit in bytes (cgroup)")->capture_default_str();
  cmd->add_flag("--net", f.net,
                "share the host's network (default: loopback only, no inet sockets)");
  cmd->add_option("--workspace", f.workspace,
                  "host directory whose contents are copied into the workspace")
      ->check(CLI::ExistingDirectory);
  cmd->add_flag("--no-seccomp-kill", f.no_seccomp_kill,
                "refused syscalls fail with EPERM instead of killing the command");
}

StatusOr<sandbox::SandboxConfig> MakeConfig(const SandboxFlags& f) {
  sandbox::SandboxConfig c;
  c.limits.wall_time_s = f.timeout_s;
  c.limits.cpu_time_s = f.cpu_s;
  c.limits.memory_bytes = f.memory;
  c.network = f.net ? sandbox::NetworkMode::kHost : sandbox::NetworkMode::kNone;
  c.seccomp.kill_on_violation = !f.no_seccomp_kill;
  if (!f.workspace.empty()) {
    TG_ASSIGN_OR_RETURN(c.workspace_template, sandbox::FileTree::FromDirectory(f.workspace));
  }
  return c;
}

int RunCommand(const SandboxFlags& f, const std::vector<std::string>& argv) {
  auto cfg = MakeConfig(f);
  if (!cfg.ok()) {
    std::fprintf(stderr, "toolgym sandbox run: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  auto sb = sandbox::Sandbox::Create(std::move(cfg).value());
  if (!sb.ok()) {
    std::fprintf(stderr, "toolgym sandbox run: %s\n", sb.status().ToString().c_str());
    return 2;
  }
  sandbox::RunOptions opts;
  opts.argv = argv;
  if (!::isatty(0)) opts.stdin_data.assign(std::istreambuf_iterator<char>(std::cin), {});
  sandbox::RunResult r = (*sb)->Run(opts);
  // Output is bytes; JSON needs UTF-8: invalid sequences print as U+FFFD.
  std::cout << nlohmann::json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
  return r.ok() ? 0 : 1;
}

int Shell(const SandboxFlags& f) {
  auto cfg = MakeConfig(f);
  if (!cfg.ok()) {
    std::fprintf(stderr, "toolgym sandbox shell: %s\n", cfg.status().ToString().c_str());
    return 2;
  }
  auto session = sandbox::Session::Create(std::move(cfg).value());
  if (!session.ok()) {
    std::fprintf(stderr, "toolgym sandbox shell: %s\n", session.status().ToString().c_str());
    return 2;
  }
  std::fprintf(stderr,
               "toolgym sandbox shell: one command per line, each run in a persistent sandboxed "
               "bash; Ctrl-D quits.\n");
  std::string line;
  for (;;) {
    std::fprintf(stderr, "sandbox:%s$ ", (*session)->cwd().c_str());
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    sandbox::RunResult r = (*session)->Exec(line, f.timeout_s);
    std::fwrite(r.stdout_data.data(), 1, r.stdout_data.size(), stdout);
    std::fwrite(r.stderr_data.data(), 1, r.stderr_data.size(), stderr);
    std::fflush(stdout);
    if (!r.ok())
      std::fprintf(stderr, "[%s exit=%d%s%s]\n", sandbox::VerdictName(r.verdict), r.exit_code,
                   r.violation_syscall.empty() ? "" : (" syscall=" + r.violation_syscall).c_str(),
                   r.shell_restarted ? " shell restarted" : "");
  }
  std::fprintf(stderr, "\n");
  return 0;
}

}  // namespace

void SetExitCode(int code) { exit_code = code; }
int ExitCode() { return exit_code; }

void AddSandboxCommands(CLI::App& app) {
  auto* sb = app.add_subcommand("sandbox", "run commands in a sandbox by hand");
  sb->require_subcommand(1);

  static SandboxFlags run_flags;
  static std::vector<std::string> argv;
  auto* run =
      sb->add_subcommand("run", "run one command in a fresh sandbox; prints the result as JSON");
  AddFlags(run, run_flags);
  run->add_option("command", argv, "the command and its arguments (after --)")->required();
  run->callback([] { SetExitCode(RunCommand(run_flags, argv)); });

  static SandboxFlags shell_flags;
  auto* shell = sb->add_subcommand("shell", "interactive session in a sandbox");
  AddFlags(shell, shell_flags);
  shell->callback([] { SetExitCode(Shell(shell_flags)); });

  static bool net = false;
  auto* policy = sb->add_subcommand("policy", "list the seccomp rules as JSON");
  policy->add_flag("--net", net, "the policy with networking enabled");
  policy->callback([] {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : sandbox::DescribeSeccompPolicy(
             {}, net ? sandbox::NetworkMode::kHost : sandbox::NetworkMode::kNone))
      out.push_back({{"syscall", r.syscall}, {"condition", r.condition}, {"action", r.action}});
    std::cout << out.dump(2) << "\n";
  });
}

}  // namespace toolgym::apps
