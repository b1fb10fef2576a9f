// Evaluation commands (agent/eval.h; docs/evaluation.md):
//   toolgym eval --policy SPEC --scenarios SUITE|ID|all... [--split test] [--episodes N]
//                [--samples K] [--threads T] --out DIR [--resume] [--max-steps M] [--seed S]
//                [--strategy S] [--env-options JSON] [--stop-after N] [--no-plots] [--quiet]
//       runs the episodes in parallel with a progress bar, writes DIR/ (manifest, trajectories
//       as they finish, summary.json, report.md, PNG plots via scripts/plot_eval.py)
//   toolgym compare RUN_A RUN_B [--json]
//       the two runs' metrics side by side, per group, with the differences and whether they
//       exceed the intervals
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/eval.h"
#include "agent/policy.h"
#include "agent/strategies.h"
#include "apps/commands.h"
#include "apps/policy_flags.h"
#include "scenarios/registry.h"

extern char** environ;

namespace toolgym::apps {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string Duration(double s) {
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

// The progress display on stderr: a bar redrawn in place (at most 10 times a second) on a
// terminal, a plain line every 5 seconds otherwise (logs, CI). Written by hand: Debian 12 packages
// no C++ progress-bar library (indicators and tqdm.cpp are not in it), and it is a few lines.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool quiet) : quiet_(quiet), tty_(::isatty(2) != 0) {}
  void Update(const agent::EvalProgress& p) {
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    const bool last = p.done >= p.total;
    if (!last && since < (tty_ ? 0.1 : 5.0)) return;
    last_ = now;
    const double frac = p.total > 0 ? static_cast<double>(p.done) / p.total : 1.0;
    const std::string stats =
        fmt::format("{}/{} episodes  success {:.1f}%  {:.2f} ep/s  {}{}", p.done, p.total,
                    p.done > 0 ? 100.0 * p.successes / p.done : 0.0, p.episodes_per_s,
                    p.eta_s ? "ETA " + Duration(*p.eta_s) : "ETA –",
                    p.errors > 0 ? fmt::format("  errors {}", p.errors) : "");
    if (tty_) {
      constexpr int kWidth = 28;
      const int fill = static_cast<int>(frac * kWidth);
      std::fprintf(stderr, "\r\033[K[%s%s] %3.0f%%  %s", std::string(fill, '#').c_str(),
                   std::string(kWidth - fill, '.').c_str(), 100.0 * frac, stats.c_str());
      if (last) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "eval: %3.0f%%  %s\n", 100.0 * frac, stats.c_str());
    }
    std::fflush(stderr);
  }

 private:
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point last_{};
};

std::string PlotScript() {
  if (const char* p = std::getenv("TOOLGYM_PLOT_SCRIPT"); p != nullptr && *p) return p;
  return std::string(TOOLGYM_SOURCE_DIR) + "/scripts/plot_eval.py";
}

// Runs argv (searching PATH for argv[0]); the exit status, or -1 when it could not start.
int Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Draws the run's plots with scripts/plot_eval.py; says plainly why when it cannot.
std::vector<std::string> DrawPlots(const std::string& dir, bool quiet) {
  const std::string script = PlotScript();
  if (!fs::exists(script)) {
    std::fprintf(stderr, "toolgym eval: plots skipped: %s not found (set TOOLGYM_PLOT_SCRIPT)\n",
                 script.c_str());
    return {};
  }
  // Debian's interpreter, where python3-matplotlib installs, ahead of any other python3 on PATH.
  std::string python = "python3";
  if (const char* p = std::getenv("TOOLGYM_PYTHON"); p != nullptr && *p)
    python = p;
  else if (fs::exists("/usr/bin/python3"))
    python = "/usr/bin/python3";
  std::vector<std::string> args = {python, script, "--out", dir};
  if (quiet) args.push_back("--quiet");
  args.push_back(dir);
  const int rc = Spawn(args);
  if (rc == -1) {
    std::fprintf(stderr,
                 "toolgym eval: plots skipped: %s could not be run (apt-get install python3 "
                 "python3-matplotlib, then run: python3 %s --out %s %s)\n",
                 python.c_str(), script.c_str(), dir.c_str(), dir.c_str());
    return {};
  }
  if (rc == 3) {
    std::fprintf(stderr,
                 "toolgym eval: plots skipped: %s has no matplotlib (apt-get install "
                 "python3-matplotlib, then run: %s %s --out %s %s)\n",
                 python.c_str(), python.c_str(), script.c_str(), dir.c_str(), dir.c_str());
    return {};
  }
  if (rc != 0) {
    std::fprintf(stderr, "toolgym eval: plots failed: %s exited %d\n", script.c_str(), rc);
    return {};
  }
  std::vector<std::string> plots;
  for (const char* p : {"success_by_family.png", "pass_at_k.png", "success_vs_compute.png",
                        "tool_calls_vs_success.png"})
    if (fs::exists(fs::path(dir) / p)) plots.push_back(p);
  return plots;
}

struct EvalArgs {
  std::string policy = "expert";
  std::string strategy = "plain";
  std::vector<std::string> scenarios;
  std::string split = "test";
  int episodes = 10;
  int samples = 1;
  int threads = 1;
  std::string out;
  bool resume = false;
  int max_steps = 1000;
  std::uint64_t seed = 0;
  std::string env_options = "{}";
  std::vector<std::string> scenario_paths;
  int stop_after = 0;
  bool no_plots = false;
  bool quiet = false;
  PolicyFlags policy_flags;
};

int Eval(const EvalArgs& a) {
  scenarios::ScenarioRegistry registry;
  bool load_ok = true;
  std::vector<std::string> paths = {scenarios::ScenarioRegistry::SuitesDir()};
  paths.insert(paths.end(), a.scenario_paths.begin(), a.scenario_paths.end());
  for (const std::string& p : paths)
    for (const auto& e : registry.Load(p)) {
      std::fprintf(stderr, "%s\n", e.ToString().c_str());
      load_ok = false;
    }
  if (!load_ok) {
    std::fprintf(stderr, "toolgym eval: scenario files failed to load (above)\n");
    return 2;
  }
  json env_options = json::parse(a.env_options, nullptr, false);
  if (env_options.is_discarded() || !env_options.is_object()) {
    std::fprintf(stderr, "toolgym eval: --env-options: expected a JSON object, got %s\n",
                 a.env_options.c_str());
    return 2;
  }
  auto factory = MakePolicyFactory(a.policy, a.policy_flags);
  if (!factory.ok()) {
    std::fprintf(stderr, "toolgym eval: --policy: %s\n", factory.status().message().c_str());
    return 2;
  }
  auto strategy = agent::ParseStrategy(a.strategy);
  if (!strategy.ok()) {
    std::fprintf(stderr, "toolgym eval: --strategy: %s\n", strategy.status().message().c_str());
    return 2;
  }
  agent::EvalOptions o;
  o.strategy = strategy->canonical;
  o.policy_options = PolicyOptionsJson(a.policy, a.policy_flags);
  o.scenarios = a.scenarios;
  o.split = a.split;
  o.episodes = a.episodes;
  o.samples = a.samples;
  o.threads = a.threads;
  o.out_dir = a.out;
  o.resume = a.resume;
  o.max_steps = a.max_steps;
  o.seed = a.seed;
  o.policy_spec = a.policy;
  o.policy = *factory;
  o.env_options = env_options;
  o.stop_after = a.stop_after;
  o.registry = &registry;
  ProgressPrinter printer(a.quiet);
  o.progress = [&printer](const agent::EvalProgress& p) { printer.Update(p); };
  auto r = agent::RunEval(o);
  if (!r.ok()) {
    std::fprintf(stderr, "toolgym eval: %s\n", r.status().message().c_str());
    return 2;
  }
  if (r->errors > 0)
    std::fprintf(stderr,
                 "toolgym eval: %lld episode(s) ended with an error (counted as failures); "
                 "the first: %s\n",
                 static_cast<long long>(r->errors), r->first_error.c_str());
  if (!r->complete) {
    std::printf(
        "stopped after %lld episodes (%zu of %lld done); continue with: toolgym eval "
        "--resume --out %s (and the same options)\n",
        static_cast<long long>(r->episodes_run), r->records.size(),
        static_cast<long long>(r->manifest["scenarios"].size() * a.episodes * a.samples),
        a.out.c_str());
    return 0;
  }
  if (!a.no_plots) {
    const auto plots = DrawPlots(a.out, a.quiet);
    if (!plots.empty()) {
      std::ofstream report(fs::path(a.out) / "report.md", std::ios::binary | std::ios::trunc);
      report << agent::MarkdownReport(r->summary, plots);
    }
  }
  const json& overall = r->summary["groups"]["overall"];
  std::printf(
      "%s%s: %lld episodes, success %.1f%% (95%% CI %.1f–%.1f%%), tool efficiency %s, "
      "%.2f episodes/s\n",
      a.policy.c_str(), o.strategy == "plain" ? "" : (" + " + o.strategy).c_str(),
      static_cast<long long>(overall["episodes"].get<std::int64_t>()),
      100 * overall["success_rate"].get<double>(), 100 * overall["success_ci"]["lo"].get<double>(),
      100 * overall["success_ci"]["hi"].get<double>(),
      overall["tool_efficiency"].is_null()
          ? "–"
          : fmt::format("{:.3f}", overall["tool_efficiency"].get<double>()).c_str(),
      r->episodes_per_s);
  for (auto it = r->summary["groups"].begin(); it != r->summary["groups"].end(); ++it)
    if (it.key().rfind("suite/", 0) == 0)
      std::printf("  %-8s %4lld episodes  success %5.1f%%\n", it.key().substr(6).c_str(),
                  static_cast<long long>(it.value()["episodes"].get<std::int64_t>()),
                  100 * it.value()["success_rate"].get<double>());
  std::printf("wrote %s/summary.json and %s/report.md\n", a.out.c_str(), a.out.c_str());
  return 0;
}

int Compare(const std::string& dir_a, const std::string& dir_b, bool as_json) {
  auto a = agent::ReadRunSummary(dir_a);
  if (!a.ok()) {
    std::fprintf(stderr, "toolgym compare: %s\n", a.status().message().c_str());
    return 2;
  }
  auto b = agent::ReadRunSummary(dir_b);
  if (!b.ok()) {
    std::fprintf(stderr, "toolgym compare: %s\n", b.status().message().c_str());
    return 2;
  }
  const json c = agent::CompareRuns(*a, *b);
  if (as_json)
    std::printf("%s\n", c.dump(2).c_str());
  else
    std::printf("%s", agent::CompareMarkdown(c).c_str());
  return 0;
}

}  // namespace

void AddEvalCommands(CLI::App& app) {
  static EvalArgs a;
  auto* eval = app.add_subcommand("eval", "Evaluate a policy on scenario families");
  eval->add_option("--policy", a.policy,
                   "expert, random, replay:FILE or openai:MODEL (an OpenAI-compatible server; "
                   "see the client's flags below and docs/policies.md)")
      ->required();
  AddPolicyFlags(eval, &a.policy_flags);
  eval->add_option("--strategy", a.strategy,
                   "Inference-time strategy (docs/evaluation.md):\n" + agent::StrategyHelp());
  eval->add_option("--scenarios", a.scenarios, "Scenario ids, suite names (shell, ...) or all")
      ->required();
  eval->add_option("--split", a.split, "train or test")->check(CLI::IsMember({"train", "test"}));
  eval->add_option("--episodes", a.episodes, "Instances per scenario (the split's first seeds)")
      ->check(CLI::PositiveNumber);
  eval->add_option("--samples", a.samples, "Episodes per instance (pass@k needs k samples)")
      ->check(CLI::PositiveNumber);
  eval->add_option("--threads", a.threads, "Episodes in flight at once (one env each)")
      ->check(CLI::PositiveNumber);
  eval->add_option("--out", a.out, "Run directory")->required();
  eval->add_flag("--resume", a.resume, "Continue the run in --out, skipping finished episodes");
  eval->add_option("--max-steps", a.max_steps, "Safety cap on actions per episode")
      ->check(CLI::PositiveNumber);
  eval->add_option("--seed", a.seed, "Base of the policies' sampling seeds");
  eval->add_option("--env-options", a.env_options, "EnvOptions as a JSON object");
  eval->add_option("--scenario-path", a.scenario_paths, "Extra scenario files or directories");
  eval->add_option("--stop-after", a.stop_after, "Stop after this many new episodes (resume later)")
      ->check(CLI::PositiveNumber);
  eval->add_flag("--no-plots", a.no_plots, "Do not draw the PNG plots");
  eval->add_flag("--quiet", a.quiet, "No progress display");
  eval->callback([] { SetExitCode(Eval(a)); });

  static std::string dir_a, dir_b;
  static bool as_json = false;
  auto* compare = app.add_subcommand("compare", "Compare two evaluation runs side by side");
  compare->add_option("run_a", dir_a, "Run directory A")->required();
  compare->add_option("run_b", dir_b, "Run directory B")->required();
  compare->add_flag("--json", as_json, "Print JSON");
  compare->callback([] { SetExitCode(Compare(dir_a, dir_b, as_json)); });
}

}  // namespace toolgym::apps
