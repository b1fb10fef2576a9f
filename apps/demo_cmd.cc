// `toolgym demo`: toolgym's main job until environments exist (issue 3): runs a few sandboxed
// commands, benign and hostile, and prints each verdict with its timings.
#include <cstdio>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "sandbox/sandbox.h"
#include "sandbox/session.h"

namespace toolgym::apps {
namespace {

// The last non-empty line: for a Python traceback, the exception.
std::string LastLine(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

int RunDemo() {
  sandbox::SandboxConfig cfg;
  cfg.limits.wall_time_s = 2;
  cfg.limits.cpu_time_s = 1;
  cfg.limits.memory_bytes = 128ull << 20;
  (void)cfg.workspace_template.AddFile("README.txt", "hello from the workspace template\n");
  auto sb = sandbox::Sandbox::Create(cfg);
  if (!sb.ok()) {
    std::fprintf(stderr, "toolgym demo: %s\n", sb.status().ToString().c_str());
    return 2;
  }
  struct Case {
    const char* what;
    std::vector<std::string> argv;
  };
  const std::vector<Case> cases = {
      {"read the workspace", {"cat", "README.txt"}},
      {"python", {"python3", "-c", "print(sum(range(10**6)))"}},
      {"exit 3", {"sh", "-c", "exit 3"}},
      {"missing program", {"no-such-program"}},
      {"read /etc/shadow", {"cat", "/etc/shadow"}},
      {"mount a tmpfs",
       {"python3", "-c",
        "import ctypes; ctypes.CDLL(None).mount(b'x', b'/tmp', b'tmpfs', 0, None)"}},
      {"connect to the internet",
       {"python3", "-c", "import socket; socket.create_connection(('1.1.1.1', 80), 1)"}},
      {"fork bomb",
       {"python3", "-c",
        "import os, time\nn = 0\ntry:\n    while True:\n        if os.fork() == 0:\n"
        "            time.sleep(5)\n            os._exit(0)\n        n += 1\n"
        "except OSError as e:\n    print(n, 'forks, then', e.strerror)"}},
      {"CPU spin", {"python3", "-c", "while True: pass"}},
      {"sleep past the wall limit", {"sleep", "60"}},
      {"memory bomb", {"python3", "-c", "x = bytearray(1 << 30)"}},
      {"stdout flood", {"yes"}},
  };
  std::printf("%-28s %-18s %5s %9s %9s  %s\n", "command", "verdict", "exit", "wall ms", "cpu ms",
              "detail");
  for (const Case& c : cases) {
    sandbox::RunOptions opts;
    opts.argv = c.argv;
    sandbox::RunResult r = (*sb)->Run(opts);
    std::string detail = r.violation_syscall;
    if (detail.empty() && !r.stdout_data.empty())
      detail = r.stdout_data.substr(0, r.stdout_data.find('\n'));
    if (detail.empty() && !r.stderr_data.empty()) detail = LastLine(r.stderr_data);
    if (detail.size() > 60) detail = detail.substr(0, 57) + "...";
    std::printf("%-28s %-18s %5d %9.1f %9.1f  %s\n", c.what, sandbox::VerdictName(r.verdict),
                r.exit_code, r.wall_time_s * 1e3, r.cpu_time_s * 1e3, detail.c_str());
  }
  auto session = sandbox::Session::Create(cfg);
  if (!session.ok()) {
    std::fprintf(stderr, "toolgym demo: %s\n", session.status().ToString().c_str());
    return 2;
  }
  std::printf("\nsession (state persists between commands):\n");
  for (const char* cmd : {"mkdir -p src && cd src && export GREETING=hi", "pwd; echo $GREETING",
                          "echo 'print(6*7)' > a.py && python3 a.py"}) {
    sandbox::RunResult r = (*session)->Exec(cmd);
    std::string out = r.stdout_data;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    for (auto& ch : out)
      if (ch == '\n') ch = ' ';
    std::printf("  $ %-48s -> %-6s %6.2f ms  %s\n", cmd, sandbox::VerdictName(r.verdict),
                r.wall_time_s * 1e3, out.c_str());
  }
  return 0;
}

}  // namespace

void AddDemoCommand(CLI::App& app) {
  auto* demo = app.add_subcommand("demo", "run sandboxed commands and print verdicts and timings");
  demo->callback([] { SetExitCode(RunDemo()); });
}

}  // namespace toolgym::apps
