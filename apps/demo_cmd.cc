// `toolgym demo`: toolgym's main job. Runs real episodes of every shipped scenario family with
// the expert and a random policy and prints a summary table (and, with --sandbox, a tour of the
// sandbox: benign and hostile commands with their verdicts and timings).
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "agent/policy.h"
#include "agent/rollout.h"
#include "apps/commands.h"
#include "sandbox/sandbox.h"
#include "sandbox/session.h"
#include "scenarios/registry.h"

namespace toolgym::apps {
namespace {

// The last non-empty line: for a Python traceback, the exception.
std::string LastLine(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

int RunSandboxDemo() {
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

struct FamilyResult {
  int expert_solved = 0, random_solved = 0, episodes = 0;
  double expert_turns = 0, expert_ms = 0, random_return = 0;
  std::string error;
};

int RunEpisodeDemo(int episodes, const std::string& out_path) {
  const auto& reg = scenarios::ScenarioRegistry::Default();
  for (const auto& e : scenarios::ScenarioRegistry::DefaultErrors())
    std::fprintf(stderr, "%s\n", e.ToString().c_str());
  if (reg.size() == 0) {
    std::fprintf(stderr, "toolgym demo: no scenarios found under %s\n",
                 scenarios::ScenarioRegistry::SuitesDir().c_str());
    return 2;
  }
  std::unique_ptr<agent::TrajectoryWriter> writer;
  if (!out_path.empty()) {
    auto w = agent::TrajectoryWriter::Open(out_path);
    if (!w.ok()) {
      std::fprintf(stderr, "toolgym demo: %s\n", w.status().message().c_str());
      return 2;
    }
    writer = std::move(w).value();
  }
  std::printf("Running %d test-split episodes per policy for each of %zu scenario families.\n\n",
              episodes, reg.size());
  std::printf("%-34s %-5s %4s  %-13s %-13s %7s %9s\n", "scenario", "env", "diff", "expert solved",
              "random solved", "turns", "ms/ep");
  int expert_total = 0, random_total = 0, n_total = 0, failures = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& id : reg.Ids()) {
    const auto* s = reg.Find(id);
    FamilyResult fr;
    auto env = reg.Make(id);
    if (!env.ok()) {
      std::printf("%-34s error: %s\n", id.c_str(), env.status().message().c_str());
      ++failures;
      continue;
    }
    agent::ExpertPolicy expert;
    agent::RandomPolicy random(1);
    for (int i = 0; i < episodes; ++i) {
      const std::uint64_t seed = s->test_seeds().begin + static_cast<std::uint64_t>(i);
      for (agent::Policy* p :
           {static_cast<agent::Policy*>(&expert), static_cast<agent::Policy*>(&random)}) {
        auto t = agent::RunEpisode(**env, *p, seed);
        if (!t.ok() || !t->error.empty()) {
          fr.error = t.ok() ? t->error : t.status().ToString();
          continue;
        }
        if (writer) (void)writer->Write(*t);
        if (p == &expert) {
          fr.expert_solved += t->success;
          fr.expert_turns += static_cast<double>(t->steps.size());
          fr.expert_ms += t->wall_ms;
        } else {
          fr.random_solved += t->success;
        }
      }
      ++fr.episodes;
    }
    std::printf("%-34s %-5s %4d  %6d/%-6d %6d/%-6d %7.1f %9.1f\n", id.c_str(),
                s->env_kind().c_str(), s->difficulty(), fr.expert_solved, fr.episodes,
                fr.random_solved, fr.episodes, fr.expert_turns / std::max(1, fr.episodes),
                fr.expert_ms / std::max(1, fr.episodes));
    if (!fr.error.empty()) {
      std::printf("    error: %s\n", fr.error.c_str());
      ++failures;
    }
    expert_total += fr.expert_solved;
    random_total += fr.random_solved;
    n_total += fr.episodes;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\nexpert solved %d/%d, random solved %d/%d, %d episodes in %.1f s\n", expert_total,
              n_total, random_total, n_total, 2 * n_total, secs);
  if (!out_path.empty()) std::printf("trajectories appended to %s\n", out_path.c_str());
  return failures == 0 && expert_total == n_total ? 0 : 1;
}

}  // namespace

void AddDemoCommand(CLI::App& app) {
  static bool sandbox_tour = false;
  static int episodes = 3;
  static std::string out;
  auto* demo = app.add_subcommand(
      "demo", "run real episodes of every shipped scenario with the expert and a random policy");
  demo->add_flag("--sandbox", sandbox_tour,
                 "instead, run benign and hostile sandboxed commands and print their verdicts");
  demo->add_option("--episodes", episodes, "episodes per family and policy")
      ->check(CLI::PositiveNumber);
  demo->add_option("--out", out, "append the trajectories to this JSONL file");
  demo->callback(
      [] { SetExitCode(sandbox_tour ? RunSandboxDemo() : RunEpisodeDemo(episodes, out)); });
}

}  // namespace toolgym::apps
