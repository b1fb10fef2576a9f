// env_bench: what an environment adds on top of the sandbox, and how many expert episodes one
// CPU runs.
//
// Cases (docs/benchmarks.md, section "Environments", explains each and records a run):
//   ShellEnv Reset(seed) on shell.count_matches with a new seed each time, and its parts measured
//   on their own: Scenario::MakeTask(seed), a raw bash Session::Reset(task workspace), the two
//   back to back, and a raw Sandbox::ResetWorkspace(task workspace);
//   ShellEnv Step of `echo hi` (a builtin) and of `ls` (a fork+exec) mid-episode, against raw
//   Session::Exec of the same commands; the first Step after a Reset (the shell starts then);
//   the same for the code env (code.fix_bug by default) with the Python cell `x = 1`;
//   the scenario experts (agent::ExpertPolicy through agent::RunEpisode) over every family of
//   the registry, the whole case confined to one CPU: episodes/s per family, per env kind and
//   overall.
// Prints a Markdown report (tables, differences of medians, PASS/FAIL target lines) on stdout
// and progress on stderr; --json writes the same numbers and every sample. Exit status: 0 when
// every case ran, every step gave the expected result and the expert solved every benchmarked
// episode (targets do not affect it), 2 otherwise, 1 on bad options.
//
// Method as in sandbox_bench.cc: one process; each round runs every latency case in turn (the
// starting case rotates) and the expert trials are spread over the rounds, so drift in the
// machine's load hits every case alike and each difference of medians comes from one run. Each
// sample is one operation; untimed preparation (a new episode when the turn budget runs low, a
// command after each reset so that the next reset has a live shell to stop and no shell or
// interpreter is still starting in the background when the next case runs) happens outside the
// timed region.
#include <sched.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/policy.h"
#include "agent/rollout.h"
#include "bench/bench_util.h"
#include "common/status.h"
#include "envs/env.h"
#include "envs/shell_env.h"
#include "sandbox/sandbox.h"
#include "sandbox/session.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"

namespace toolgym::bench {
namespace {

using nlohmann::json;
using sandbox::RunResult;
using sandbox::Sandbox;
using sandbox::Session;
using scenarios::Scenario;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time of the calling thread, ms: what the host side of an operation costs in CPU, as
// opposed to waiting for the sandbox.
double ThreadCpuMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Options {
  int runs = 100;               // rounds; a case with reps_per_round r gets r * runs samples
  int warmup = 5;               // untimed rounds before the measured ones
  int trials = 10;              // expert trials (each: every family in turn)
  int episodes_per_family = 1;  // expert episodes per family per trial
  std::string shell_scenario = "shell.count_matches";
  std::string code_scenario = "code.fix_bug";
  std::vector<std::string> only;  // case ids (and "expert") to run; empty runs everything
  std::string json_path;
  bool quick = false;
};

json StatsJson(const Stats& s, double scale) {
  return {{"n", s.n},
          {"median", s.median * scale},
          {"p10", s.p10 * scale},
          {"p90", s.p90 * scale},
          {"mean", s.mean * scale},
          {"min", s.min * scale},
          {"max", s.max * scale}};
}

// Milliseconds a case reports about the inside of one sample (StepInfo's timings), by name.
using Parts = std::map<std::string, double>;

// One latency case. `once` does its own untimed preparation and returns the seconds of the
// timed part only.
struct LatencyCase {
  std::string id;
  std::string label;
  int reps_per_round = 1;
  std::function<StatusOr<double>(Parts&)> once;
  std::vector<double> samples;                       // seconds
  std::map<std::string, std::vector<double>> parts;  // ms, one per sample
};

LatencyCase MakeCase(std::string id, std::string label, int reps_per_round,
                     std::function<StatusOr<double>(Parts&)> once) {
  LatencyCase c;
  c.id = std::move(id);
  c.label = std::move(label);
  c.reps_per_round = reps_per_round;
  c.once = std::move(once);
  return c;
}

// The i-th seed of a family's train range, spread over the range.
std::uint64_t SeedAt(const Scenario& s, std::uint64_t i) {
  const auto r = s.train_seeds();
  const std::uint64_t n = r.end > r.begin ? r.end - r.begin : 1;
  return r.begin + (i * 7919) % n;
}

std::string ToolCallAction(const std::string& tool, const std::string& arg,
                           const std::string& value) {
  return fmt::format("<tool_call>{}</tool_call>",
                     json{{"name", tool}, {"arguments", {{arg, value}}}}.dump());
}

Status CheckRun(const RunResult& r, const std::string& what) {
  if (r.ok() && r.exit_code == 0) return OkStatus();
  return InternalError("{}: {} (exit code {}, error '{}', stderr '{}')", what, r.Summary(),
                       r.exit_code, r.error, r.stderr_data.substr(0, 200));
}

// What a step of one tool call must show: the tool ran, exited 0, the episode goes on, and the
// tool message satisfies `output_ok` (described by `expected`).
struct StepCheck {
  std::function<bool(const std::string&)> output_ok;
  std::string expected;
};

Status CheckStep(const envs::StepResult& r, const std::string& what, const StepCheck& check) {
  if (r.terminated || r.truncated)
    return InternalError("{}: the episode ended (end_reason '{}'); expected it to go on", what,
                         r.info.end_reason);
  if (!r.info.format_ok || !r.info.tool_errors.empty())
    return InternalError("{}: the action was not well formed: {}", what,
                         json(r.info).dump().substr(0, 400));
  if (r.info.tool_calls.size() != 1)
    return InternalError("{}: expected 1 executed tool call, found {}", what,
                         r.info.tool_calls.size());
  const envs::ToolCallInfo& c = r.info.tool_calls[0];
  if (c.error || c.verdict != "ok" || c.exit_code != 0)
    return InternalError("{}: the tool call failed: verdict '{}', exit code {}", what, c.verdict,
                         c.exit_code);
  if (r.observation.messages.size() != 1 || r.observation.messages[0].role != "tool")
    return InternalError("{}: expected one tool message, found {}", what,
                         json(r.observation).dump().substr(0, 400));
  const std::string& out = r.observation.messages[0].content;
  if (!check.output_ok(out))
    return InternalError("{}: expected {}, the tool message was '{}'", what, check.expected,
                         out.substr(0, 200));
  return OkStatus();
}

Status CheckReset(const envs::ResetResult& r, const envs::Env& env, const Scenario& s,
                  std::uint64_t seed) {
  const envs::Task* t = env.task();
  if (t == nullptr || t->scenario_id != s.id() || t->seed != seed || !env.active())
    return InternalError("Reset({}) of {}: expected an active episode of that task, found {}", seed,
                         s.id(), t == nullptr ? "no task" : t->scenario_id);
  if (r.observation.messages.size() != 2 || r.observation.messages[1].content != t->instruction)
    return InternalError("Reset({}) of {}: expected the system and user messages, found {}", seed,
                         s.id(), json(r.observation).dump().substr(0, 400));
  return OkStatus();
}

// An env of one scenario kept mid-episode: each Once() is one timed Step of `action`. A new
// episode (Reset, then one untimed step so the shell or interpreter is up) starts outside the
// timed region when fewer than 2 turns are left, so no timed step ends an episode.
class StepCase {
 public:
  StepCase(std::unique_ptr<envs::Env> env, std::shared_ptr<const Scenario> s, std::string action,
           StepCheck check, std::uint64_t seed_base)
      : env_(std::move(env)),
        scenario_(std::move(s)),
        action_(std::move(action)),
        check_(std::move(check)),
        next_seed_(seed_base) {}

  StatusOr<double> Once(Parts& parts) {
    if (!env_->active() || env_->task()->budgets.max_turns - taken_ < 2)
      TG_RETURN_IF_ERROR(NewEpisode());
    const auto start = Clock::now();
    auto r = env_->Step(action_);
    const double s = Seconds(Clock::now() - start);
    if (!r.ok()) return r.status().WithContext("Step " + action_);
    ++taken_;
    TG_RETURN_IF_ERROR(CheckStep(*r, scenario_->id() + " Step " + action_, check_));
    parts["step_ms"] = r->info.step_ms;
    parts["tool_ms"] = r->info.tool_calls[0].wall_ms;
    parts["parse_ms"] = r->info.parse_ms;
    parts["verify_ms"] = r->info.verify_ms;
    return s;
  }

  // The first step of an episode: Reset (untimed), then the timed Step. The shell or interpreter
  // that the reset started is still starting when the step's command arrives, as with an agent
  // that acts at once (the expert).
  StatusOr<double> FirstStep(Parts& parts) {
    const std::uint64_t seed = SeedAt(*scenario_, next_seed_++);
    auto reset = env_->Reset(seed);
    if (!reset.ok()) return reset.status().WithContext(fmt::format("Reset({})", seed));
    taken_ = 0;
    const auto start = Clock::now();
    auto r = env_->Step(action_);
    const double s = Seconds(Clock::now() - start);
    if (!r.ok()) return r.status().WithContext("first Step " + action_);
    ++taken_;
    TG_RETURN_IF_ERROR(CheckStep(*r, scenario_->id() + " first Step " + action_, check_));
    parts["step_ms"] = r->info.step_ms;
    parts["tool_ms"] = r->info.tool_calls[0].wall_ms;
    return s;
  }

  // A timed Reset with a new seed of an episode that ran a command (its shell is up, as at the
  // end of a real episode); then an untimed step, so that the shell or interpreter the reset
  // started in the background is up before the next case runs (a Python start-up is about 40 ms
  // of CPU that would otherwise land on whichever case comes next).
  StatusOr<double> Reset(Parts& parts) {
    if (!env_->active() || taken_ == 0) TG_RETURN_IF_ERROR(NewEpisode());
    const std::uint64_t seed = SeedAt(*scenario_, next_seed_++);
    const double cpu = ThreadCpuMs();
    const auto start = Clock::now();
    auto r = env_->Reset(seed);
    const double s = Seconds(Clock::now() - start);
    parts["cpu_ms"] = ThreadCpuMs() - cpu;
    if (!r.ok()) return r.status().WithContext(fmt::format("Reset({})", seed));
    taken_ = 0;
    TG_RETURN_IF_ERROR(CheckReset(*r, *env_, *scenario_, seed));
    parts["reset_ms"] = r->info.step_ms;
    auto step = env_->Step(action_);
    if (!step.ok()) return step.status().WithContext("Step " + action_);
    ++taken_;
    TG_RETURN_IF_ERROR(CheckStep(*step, scenario_->id() + " Step " + action_, check_));
    return s;
  }

 private:
  Status NewEpisode() {
    const std::uint64_t seed = SeedAt(*scenario_, next_seed_++);
    auto reset = env_->Reset(seed);
    if (!reset.ok()) return reset.status().WithContext(fmt::format("Reset({})", seed));
    TG_RETURN_IF_ERROR(CheckReset(*reset, *env_, *scenario_, seed));
    taken_ = 0;
    auto r = env_->Step(action_);
    if (!r.ok()) return r.status().WithContext("Step " + action_);
    ++taken_;
    TG_RETURN_IF_ERROR(CheckStep(*r, scenario_->id() + " Step " + action_, check_));
    if (env_->task()->budgets.max_turns - taken_ < 2)
      return InternalError("{} allows {} turns; the step cases need at least 3", scenario_->id(),
                           env_->task()->budgets.max_turns);
    return OkStatus();
  }

  std::unique_ptr<envs::Env> env_;
  std::shared_ptr<const Scenario> scenario_;
  std::string action_;
  StepCheck check_;
  std::uint64_t next_seed_;
  int taken_ = 0;
};

// A raw Session in the sandbox an episode of `s` gets (EpisodeSandboxConfig), for the baselines.
class SessionCase {
 public:
  static StatusOr<std::unique_ptr<SessionCase>> Create(std::shared_ptr<const Scenario> s,
                                                       sandbox::Interpreter interpreter,
                                                       std::uint64_t seed_base) {
    TG_ASSIGN_OR_RETURN(envs::Task task, s->MakeTask(SeedAt(*s, seed_base)));
    TG_ASSIGN_OR_RETURN(auto session, Session::Create(envs::EpisodeSandboxConfig(task),
                                                      {.interpreter = interpreter}));
    std::unique_ptr<SessionCase> c(new SessionCase(std::move(s), std::move(session), seed_base));
    TG_RETURN_IF_ERROR(c->session_->Reset(task.workspace).WithContext("Session::Reset"));
    // The shell (or interpreter) is up and has run a command before any timed operation.
    const char* first = interpreter == sandbox::Interpreter::kPython ? "x = 1" : "true";
    TG_RETURN_IF_ERROR(CheckRun(c->session_->Exec(first), fmt::format("Session::Exec {}", first)));
    return c;
  }

  // A timed Exec; its stdout must be `expected_stdout`, or any non-empty text when that is null.
  StatusOr<double> Exec(const std::string& command, const char* expected_stdout) {
    const auto start = Clock::now();
    RunResult r = session_->Exec(command);
    const double s = Seconds(Clock::now() - start);
    TG_RETURN_IF_ERROR(CheckRun(r, "Session::Exec " + command));
    if (expected_stdout != nullptr ? r.stdout_data != expected_stdout : r.stdout_data.empty())
      return InternalError("Session::Exec {} printed '{}', expected {}", command,
                           r.stdout_data.substr(0, 200),
                           expected_stdout != nullptr ? fmt::format("'{}'", expected_stdout)
                                                      : std::string("some output"));
    return s;
  }

  // A timed Session::Reset to a new task's workspace (made untimed) of a session whose shell
  // is up and ran a command; then an untimed `command`, which waits for the new shell to be up
  // (as StepCase::Reset does).
  StatusOr<double> Reset(const std::string& command, Parts& parts) {
    TG_ASSIGN_OR_RETURN(envs::Task task, scenario_->MakeTask(SeedAt(*scenario_, next_seed_++)));
    const double cpu = ThreadCpuMs();
    const auto start = Clock::now();
    Status st = session_->Reset(task.workspace);
    const double s = Seconds(Clock::now() - start);
    parts["cpu_ms"] = ThreadCpuMs() - cpu;
    TG_RETURN_IF_ERROR(st.WithContext("Session::Reset"));
    TG_RETURN_IF_ERROR(CheckRun(session_->Exec(command), "Session::Exec " + command));
    return s;
  }

  // The same with MakeTask in the timed region: the two parts of an env reset that are not the
  // env's own code, back to back.
  StatusOr<double> MakeTaskAndReset(const std::string& command, Parts& parts) {
    const std::uint64_t seed = SeedAt(*scenario_, next_seed_++);
    const double cpu = ThreadCpuMs();
    const auto start = Clock::now();
    auto task = scenario_->MakeTask(seed);
    Status st = task.ok() ? session_->Reset(task->workspace) : task.status();
    const double s = Seconds(Clock::now() - start);
    parts["cpu_ms"] = ThreadCpuMs() - cpu;
    TG_RETURN_IF_ERROR(st.WithContext(fmt::format("MakeTask({}) and Session::Reset", seed)));
    TG_RETURN_IF_ERROR(CheckRun(session_->Exec(command), "Session::Exec " + command));
    return s;
  }

  // Session::Reset (untimed), then the timed first command: the interpreter's start-up.
  StatusOr<double> FirstExec(const std::string& command, const char* expected_stdout) {
    TG_ASSIGN_OR_RETURN(envs::Task task, scenario_->MakeTask(SeedAt(*scenario_, next_seed_++)));
    TG_RETURN_IF_ERROR(session_->Reset(task.workspace).WithContext("Session::Reset"));
    return Exec(command, expected_stdout);
  }

 private:
  SessionCase(std::shared_ptr<const Scenario> s, std::unique_ptr<Session> session,
              std::uint64_t seed_base)
      : scenario_(std::move(s)), session_(std::move(session)), next_seed_(seed_base + 1) {}
  std::shared_ptr<const Scenario> scenario_;
  std::unique_ptr<Session> session_;
  std::uint64_t next_seed_;
};

// The first `count` CPUs this process may use, or nothing when it may use `count` or fewer.
std::optional<cpu_set_t> FirstCpus(int count) {
  cpu_set_t all;
  CPU_ZERO(&all);
  if (::sched_getaffinity(0, sizeof all, &all) != 0 || CPU_COUNT(&all) <= count)
    return std::nullopt;
  cpu_set_t some;
  CPU_ZERO(&some);
  for (int cpu = 0, taken = 0; cpu < CPU_SETSIZE && taken < count; ++cpu) {
    if (CPU_ISSET(cpu, &all)) {
      CPU_SET(cpu, &some);
      ++taken;
    }
  }
  return some;
}

// Confines the calling thread to `mask` (when given) for its lifetime. A sandbox's init is
// cloned from the thread that creates it and inherits its CPU mask, and every process the init
// starts inherits the init's: envs whose sandboxes are first created inside this scope run
// entirely on those CPUs, this thread included.
class Confine {
 public:
  explicit Confine(const std::optional<cpu_set_t>& mask) : active_(mask.has_value()) {
    if (!active_) return;
    CPU_ZERO(&saved_);
    ::sched_getaffinity(0, sizeof saved_, &saved_);
    ::sched_setaffinity(0, sizeof *mask, &*mask);
  }
  ~Confine() {
    if (active_) ::sched_setaffinity(0, sizeof saved_, &saved_);
  }
  Confine(const Confine&) = delete;
  Confine& operator=(const Confine&) = delete;

 private:
  bool active_;
  cpu_set_t saved_;
};

// One family's expert runs: an env made once and reset for every episode, as a rollout worker
// would use it.
struct FamilyRun {
  std::shared_ptr<const Scenario> scenario;
  std::string kind;
  std::unique_ptr<envs::Env> env;
  agent::ExpertPolicy expert;
  std::uint64_t next_seed = 0;
  std::vector<double> episode_s;  // measured episodes only
  long steps = 0, tool_calls = 0;
  int solved = 0;
  // Summed over the measured episodes, ms, from the env's own timings: "reset" (Reset's
  // step_ms), "tool:NAME" (each call's wall_ms), "verify" (subgoals, goal and final verifier),
  // "step_other" (the rest of Step's step_ms: parsing, bookkeeping, rendering) and "outside"
  // (episode wall time minus Reset and Step: the policy, RunEpisode's trajectory records).
  std::map<std::string, double> phase_ms;
  // Sandboxed runs by verifiers (the final check, hidden tests): StepInfo verdicts that no tool
  // call of the step accounts for.
  long verifier_runs = 0;
};

// A number at `key` of a JSON object, 0 when absent or not a number.
double Number(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

void AddPhases(const agent::Trajectory& t, double episode_ms, std::map<std::string, double>& ms,
               long& verifier_runs) {
  auto timings = [](const json& info) -> const json& {
    static const json kNone = json::object();
    if (!info.is_object()) return kNone;
    auto it = info.find("timings");
    return it != info.end() ? *it : kNone;
  };
  const double reset = Number(timings(t.reset_info), "step_ms");
  double in_env = reset;
  ms["reset"] += reset;
  for (const agent::TrajectoryStep& st : t.steps) {
    const json& tm = timings(st.info);
    const double step = Number(tm, "step_ms"), verify = Number(tm, "verify_ms");
    double tools = 0;
    long tool_verdicts = 0;
    if (auto it = st.info.find("tool_calls"); it != st.info.end() && it->is_array()) {
      for (const json& c : *it) {
        if (c.contains("verdict") && c["verdict"].is_string() &&
            !c["verdict"].get<std::string>().empty())
          ++tool_verdicts;
        const double w = Number(c, "wall_ms");
        const std::string name = c.contains("name") && c["name"].is_string()
                                     ? c["name"].get<std::string>()
                                     : std::string("?");
        ms["tool:" + name] += w;
        tools += w;
      }
    }
    if (auto it = st.info.find("verdicts"); it != st.info.end() && it->is_array())
      verifier_runs += std::max<long>(0, static_cast<long>(it->size()) - tool_verdicts);
    ms["verify"] += verify;
    ms["step_other"] += step - tools - verify;
    in_env += step;
  }
  ms["outside"] += episode_ms - in_env;
}

struct ExpertFailure {
  std::string scenario;
  std::uint64_t seed = 0;
  std::string what;
};

// One expert trial: every family in turn (the first one rotates), episodes_per_family episodes
// each, confined to one CPU. Per env kind: episodes and seconds.
struct ExpertTrial {
  std::map<std::string, int> episodes;
  std::map<std::string, double> seconds;
};

StatusOr<ExpertTrial> RunExpertTrial(std::vector<FamilyRun>& families, int trial_index,
                                     int episodes_per_family, bool measured,
                                     const std::optional<cpu_set_t>& one_cpu,
                                     std::vector<ExpertFailure>& failures) {
  Confine confine(one_cpu);
  ExpertTrial t;
  const std::size_t n = families.size();
  for (std::size_t k = 0; k < n; ++k) {
    FamilyRun& f = families[(static_cast<std::size_t>(trial_index) + k) % n];
    for (int e = 0; e < episodes_per_family; ++e) {
      const std::uint64_t seed = SeedAt(*f.scenario, f.next_seed++);
      const auto start = Clock::now();
      auto traj = agent::RunEpisode(*f.env, f.expert, seed);
      const double s = Seconds(Clock::now() - start);
      if (!traj.ok())
        return traj.status().WithContext(
            fmt::format("expert episode of {} with seed {}", f.scenario->id(), seed));
      if (!traj->success || !traj->error.empty()) {
        std::string detail;
        if (!traj->steps.empty()) {
          const json& info = traj->steps.back().info;
          if (info.contains("outcome") && info["outcome"].is_object() &&
              info["outcome"].contains("detail") && info["outcome"]["detail"].is_string())
            detail = info["outcome"]["detail"].get<std::string>();
        }
        failures.push_back(
            {f.scenario->id(), seed,
             fmt::format("not solved: end_reason '{}', {} steps, outcome '{}'{}", traj->end_reason,
                         traj->steps.size(), detail.substr(0, 200),
                         traj->error.empty() ? "" : ", policy error: " + traj->error)});
      }
      if (!measured) continue;
      f.episode_s.push_back(s);
      f.steps += static_cast<long>(traj->steps.size());
      f.tool_calls += traj->tool_calls;
      AddPhases(*traj, s * 1e3, f.phase_ms, f.verifier_runs);
      if (traj->success && traj->error.empty()) ++f.solved;
      for (const std::string& key : {f.kind, std::string("all")}) {
        t.episodes[key] += 1;
        t.seconds[key] += s;
      }
    }
  }
  return t;
}

struct Target {
  std::string text;
  bool pass = false;
  bool skipped = false;
};

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "toolgym environment benchmark: env reset and step latency against raw sandbox sessions, "
      "and expert episodes per second on one CPU; prints a Markdown report"};
  app.add_option("--runs", o.runs, "measured rounds; fast cases run several times per round")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "untimed rounds first")->check(CLI::NonNegativeNumber);
  app.add_option("--trials", o.trials, "expert trials (each runs every family in turn)")
      ->check(CLI::PositiveNumber);
  app.add_option("--episodes-per-family", o.episodes_per_family,
                 "expert episodes per family in each trial")
      ->check(CLI::PositiveNumber);
  app.add_option("--shell-scenario", o.shell_scenario,
                 "scenario of the shell reset and step cases");
  app.add_option("--code-scenario", o.code_scenario, "scenario of the code reset and step cases");
  app.add_option("--cases", o.only,
                 "run only these cases (comma-separated ids as in the JSON, \"expert\" for the "
                 "expert episodes), e.g. for profiling one of them")
      ->delimiter(',');
  app.add_option("--json", o.json_path, "also write the results (and every sample) as JSON here");
  app.add_flag("--quick", o.quick,
               "a smoke run: few runs, warm-ups and trials (numbers are rough)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (o.quick) {
    if (app.count("--runs") == 0) o.runs = 10;
    if (app.count("--warmup") == 0) o.warmup = 1;
    if (app.count("--trials") == 0) o.trials = 1;
  }
  auto die = [](const Status& st) {
    std::fprintf(stderr, "env_bench: %s\n", st.ToString().c_str());
    return 2;
  };

  std::fprintf(stderr, "env_bench: loading the scenario registry\n");
  const auto setup_start = Clock::now();
  const scenarios::ScenarioRegistry& registry = scenarios::ScenarioRegistry::Default();
  const auto& load_errors = scenarios::ScenarioRegistry::DefaultErrors();
  for (const auto& e : load_errors)
    std::fprintf(stderr, "env_bench: warning: scenario load error: %s\n", e.ToString().c_str());
  auto need = [&](const std::string& id,
                  const std::string& kind) -> StatusOr<std::shared_ptr<const Scenario>> {
    auto s = registry.Get(id);
    if (s == nullptr)
      return NotFoundError(
          "scenario '{}' is not in the registry (suites dir {}, {} scenarios loaded, {} load "
          "errors); the {} env cases need it (--{}-scenario)",
          id, scenarios::ScenarioRegistry::SuitesDir(), registry.size(), load_errors.size(), kind,
          kind);
    if (s->env_kind() != kind)
      return InvalidArgumentError("scenario '{}' is a {} scenario; the {} env cases need a {} one",
                                  id, s->env_kind(), kind, kind);
    return s;
  };
  auto shell_s = need(o.shell_scenario, "shell");
  if (!shell_s.ok()) return die(shell_s.status());
  auto code_s = need(o.code_scenario, "code");
  if (!code_s.ok()) return die(code_s.status());
  std::shared_ptr<const Scenario> shell_scenario = *shell_s, code_scenario = *code_s;

  auto make_env = [&](const std::string& id) -> StatusOr<std::unique_ptr<envs::Env>> {
    auto env = registry.Make(id);
    if (!env.ok()) return env.status().WithContext("making an env of " + id);
    return env;
  };

  const std::string echo_action = ToolCallAction("bash", "command", "echo hi");
  const std::string ls_action = ToolCallAction("bash", "command", "ls");
  const std::string cell_action = ToolCallAction("python", "code", "x = 1");
  const StepCheck echo_check{[](const std::string& out) { return out == "hi"; }, "'hi'"};
  const StepCheck ls_check{
      [](const std::string& out) { return !out.empty() && out != "(no output)"; },
      "a listing of the workspace"};
  const StepCheck cell_check{[](const std::string& out) { return out == "(no output)"; },
                             "'(no output)'"};

  // Each case gets its own env or session (their states never mix) and its own seeds.
  std::vector<std::shared_ptr<StepCase>> steppers;
  auto stepper = [&](const std::shared_ptr<const Scenario>& s, const std::string& action,
                     const StepCheck& check,
                     std::uint64_t seed_base) -> StatusOr<std::shared_ptr<StepCase>> {
    TG_ASSIGN_OR_RETURN(auto env, make_env(s->id()));
    auto c = std::make_shared<StepCase>(std::move(env), s, action, check, seed_base);
    steppers.push_back(c);
    return c;
  };

  std::vector<LatencyCase> cases;
  Status setup = [&]() -> Status {
    // Shell env.
    TG_ASSIGN_OR_RETURN(auto shell_reset, stepper(shell_scenario, echo_action, echo_check, 0));
    cases.push_back(MakeCase("shell_reset",
                             fmt::format("ShellEnv Reset(seed), {}", o.shell_scenario), 2,
                             [shell_reset](Parts& p) { return shell_reset->Reset(p); }));
    cases.push_back(MakeCase(
        "shell_make_task", fmt::format("Scenario::MakeTask(seed), {}", o.shell_scenario), 2,
        [s = shell_scenario, next = std::uint64_t{100000}](Parts&) mutable -> StatusOr<double> {
          const std::uint64_t seed = SeedAt(*s, next++);
          const auto start = Clock::now();
          auto t = s->MakeTask(seed);
          const double sec = Seconds(Clock::now() - start);
          if (!t.ok()) return t.status().WithContext(fmt::format("MakeTask({})", seed));
          return sec;
        }));
    TG_ASSIGN_OR_RETURN(std::shared_ptr<SessionCase> bash,
                        SessionCase::Create(shell_scenario, sandbox::Interpreter::kBash, 200000));
    cases.push_back(MakeCase("bash_session_reset",
                             "bash Session::Reset(task workspace) (raw, after a command)", 2,
                             [bash](Parts& p) { return bash->Reset("echo hi", p); }));
    TG_ASSIGN_OR_RETURN(std::shared_ptr<SessionCase> bash_mt,
                        SessionCase::Create(shell_scenario, sandbox::Interpreter::kBash, 900000));
    cases.push_back(
        MakeCase("bash_make_task_reset",
                 "MakeTask + bash Session::Reset back to back (raw, after a command)", 2,
                 [bash_mt](Parts& p) { return bash_mt->MakeTaskAndReset("echo hi", p); }));
    {
      TG_ASSIGN_OR_RETURN(envs::Task task, shell_scenario->MakeTask(SeedAt(*shell_scenario, 1)));
      TG_ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sb,
                          Sandbox::Create(envs::EpisodeSandboxConfig(task)));
      cases.push_back(MakeCase("sandbox_reset_files",
                               "Sandbox::ResetWorkspace(task workspace) (raw, no shell)", 2,
                               [sb, s = shell_scenario,
                                next = std::uint64_t{300000}](Parts&) mutable -> StatusOr<double> {
                                 TG_ASSIGN_OR_RETURN(envs::Task t, s->MakeTask(SeedAt(*s, next++)));
                                 const auto start = Clock::now();
                                 Status st = sb->ResetWorkspace(t.workspace);
                                 const double sec = Seconds(Clock::now() - start);
                                 TG_RETURN_IF_ERROR(st.WithContext("ResetWorkspace"));
                                 return sec;
                               }));
    }
    TG_ASSIGN_OR_RETURN(auto shell_echo, stepper(shell_scenario, echo_action, echo_check, 400000));
    cases.push_back(MakeCase("shell_step_echo", "ShellEnv Step bash `echo hi` (builtin)", 5,
                             [shell_echo](Parts& p) { return shell_echo->Once(p); }));
    cases.push_back(MakeCase("bash_session_echo", "bash Session::Exec(\"echo hi\") (raw)", 5,
                             [bash](Parts&) { return bash->Exec("echo hi", "hi\n"); }));
    TG_ASSIGN_OR_RETURN(auto shell_ls, stepper(shell_scenario, ls_action, ls_check, 500000));
    cases.push_back(MakeCase("shell_step_ls", "ShellEnv Step bash `ls` (fork+exec)", 2,
                             [shell_ls](Parts& p) { return shell_ls->Once(p); }));
    TG_ASSIGN_OR_RETURN(std::shared_ptr<SessionCase> bash_ls,
                        SessionCase::Create(shell_scenario, sandbox::Interpreter::kBash, 600000));
    cases.push_back(MakeCase("bash_session_ls", "bash Session::Exec(\"ls\") (raw)", 2,
                             [bash_ls](Parts&) { return bash_ls->Exec("ls", nullptr); }));
    TG_ASSIGN_OR_RETURN(auto shell_first, stepper(shell_scenario, echo_action, echo_check, 700000));
    cases.push_back(MakeCase("shell_first_step",
                             "ShellEnv first Step `echo hi` right after Reset (bash starts)", 1,
                             [shell_first](Parts& p) { return shell_first->FirstStep(p); }));

    // Code env.
    TG_ASSIGN_OR_RETURN(auto code_reset, stepper(code_scenario, cell_action, cell_check, 0));
    cases.push_back(MakeCase("code_reset", fmt::format("CodeEnv Reset(seed), {}", o.code_scenario),
                             2, [code_reset](Parts& p) { return code_reset->Reset(p); }));
    cases.push_back(MakeCase(
        "code_make_task", fmt::format("Scenario::MakeTask(seed), {}", o.code_scenario), 2,
        [s = code_scenario, next = std::uint64_t{100000}](Parts&) mutable -> StatusOr<double> {
          const std::uint64_t seed = SeedAt(*s, next++);
          const auto start = Clock::now();
          auto t = s->MakeTask(seed);
          const double sec = Seconds(Clock::now() - start);
          if (!t.ok()) return t.status().WithContext(fmt::format("MakeTask({})", seed));
          return sec;
        }));
    TG_ASSIGN_OR_RETURN(std::shared_ptr<SessionCase> py,
                        SessionCase::Create(code_scenario, sandbox::Interpreter::kPython, 200000));
    cases.push_back(MakeCase("python_session_reset",
                             "Python Session::Reset(task workspace) (raw, after a cell)", 2,
                             [py](Parts& p) { return py->Reset("x = 1", p); }));
    TG_ASSIGN_OR_RETURN(std::shared_ptr<SessionCase> py_mt,
                        SessionCase::Create(code_scenario, sandbox::Interpreter::kPython, 900000));
    cases.push_back(MakeCase("python_make_task_reset",
                             "MakeTask + Python Session::Reset back to back (raw, after a cell)", 2,
                             [py_mt](Parts& p) { return py_mt->MakeTaskAndReset("x = 1", p); }));
    TG_ASSIGN_OR_RETURN(auto code_cell, stepper(code_scenario, cell_action, cell_check, 400000));
    cases.push_back(MakeCase("code_step_cell", "CodeEnv Step python `x = 1`", 5,
                             [code_cell](Parts& p) { return code_cell->Once(p); }));
    cases.push_back(MakeCase("python_session_cell", "Python Session::Exec(\"x = 1\") (raw)", 5,
                             [py](Parts&) { return py->Exec("x = 1", ""); }));
    TG_ASSIGN_OR_RETURN(auto code_first, stepper(code_scenario, cell_action, cell_check, 700000));
    cases.push_back(MakeCase("code_first_step",
                             "CodeEnv first Step `x = 1` right after Reset (python starts)", 1,
                             [code_first](Parts& p) { return code_first->FirstStep(p); }));
    TG_ASSIGN_OR_RETURN(std::shared_ptr<SessionCase> py_first,
                        SessionCase::Create(code_scenario, sandbox::Interpreter::kPython, 800000));
    cases.push_back(MakeCase("python_session_first",
                             "Python Session first Exec(\"x = 1\") right after Reset (raw)", 1,
                             [py_first](Parts&) { return py_first->FirstExec("x = 1", ""); }));
    return OkStatus();
  }();
  if (!setup.ok()) return die(setup.WithContext("setting up the latency cases"));
  bool run_expert = true;
  if (!o.only.empty()) {
    std::vector<std::string> known = {"expert"};
    for (const LatencyCase& c : cases) known.push_back(c.id);
    for (const std::string& id : o.only) {
      if (std::find(known.begin(), known.end(), id) == known.end()) {
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        std::fprintf(stderr, "env_bench: --cases: unknown case '%s'; the cases are: %s\n",
                     id.c_str(), list.c_str());
        return 1;
      }
    }
    std::erase_if(cases, [&](const LatencyCase& c) {
      return std::find(o.only.begin(), o.only.end(), c.id) == o.only.end();
    });
    run_expert = std::find(o.only.begin(), o.only.end(), "expert") != o.only.end();
  }

  // Expert: every family of the registry, its env made (and its sandboxes created, at the first
  // reset) inside the one-CPU confinement.
  const std::optional<cpu_set_t> one_cpu = FirstCpus(1);
  std::vector<FamilyRun> families;
  for (const std::string& id : run_expert ? registry.Ids() : std::vector<std::string>{}) {
    FamilyRun f;
    f.scenario = registry.Get(id);
    f.kind = f.scenario->env_kind();
    Confine confine(one_cpu);
    auto env = make_env(id);
    if (!env.ok()) return die(env.status());
    f.env = std::move(env).value();
    families.push_back(std::move(f));
  }
  std::vector<ExpertFailure> failures;
  std::vector<ExpertTrial> trials;
  std::fprintf(stderr,
               "env_bench: set up in %.2f s; %zu families; %d warm-up and %d measured rounds, %d "
               "expert trials\n",
               Seconds(Clock::now() - setup_start), families.size(), o.warmup, o.runs, o.trials);

  for (int round = 0; round < o.warmup; ++round) {
    for (LatencyCase& c : cases) {
      for (int rep = 0; rep < c.reps_per_round; ++rep) {
        Parts parts;
        if (auto s = c.once(parts); !s.ok())
          return die(s.status().WithContext(c.id + " (warm-up)"));
      }
    }
  }
  if (o.warmup > 0 && !families.empty()) {
    auto t = RunExpertTrial(families, 0, 1, /*measured=*/false, one_cpu, failures);
    if (!t.ok()) return die(t.status().WithContext("expert warm-up"));
  }

  const std::string load_before = LoadAverage();
  const auto measure_start = Clock::now();
  for (int round = 0; round < o.runs; ++round) {
    for (std::size_t k = 0; k < cases.size(); ++k) {
      LatencyCase& c = cases[(static_cast<std::size_t>(round) + k) % cases.size()];
      for (int rep = 0; rep < c.reps_per_round; ++rep) {
        Parts parts;
        auto s = c.once(parts);
        if (!s.ok()) return die(s.status().WithContext(c.id));
        c.samples.push_back(*s);
        for (const auto& [name, ms] : parts) c.parts[name].push_back(ms);
      }
    }
    while (!families.empty() && static_cast<int>(trials.size()) < o.trials &&
           static_cast<long>(round + 1) * o.trials >=
               static_cast<long>(trials.size() + 1) * o.runs) {
      auto t = RunExpertTrial(families, static_cast<int>(trials.size()), o.episodes_per_family,
                              /*measured=*/true, one_cpu, failures);
      if (!t.ok()) return die(t.status());
      trials.push_back(*t);
    }
    if (o.runs >= 10 && (round + 1) % (o.runs / 10) == 0)
      std::fprintf(stderr, "env_bench: round %d/%d (%.1f s)\n", round + 1, o.runs,
                   Seconds(Clock::now() - measure_start));
  }
  const double measure_s = Seconds(Clock::now() - measure_start);
  const std::string load_after = LoadAverage();

  // Report.
  const Machine m = DescribeMachine();
  std::map<std::string, Stats> stats;
  for (const LatencyCase& c : cases) stats[c.id] = Summarize(c.samples);
  auto median = [&](const std::string& id) -> std::optional<double> {
    auto it = stats.find(id);
    if (it == stats.end() || it->second.n == 0) return std::nullopt;
    return it->second.median;
  };
  auto ms = [](std::optional<double> s) {
    return s ? fmt::format("{:.3f} ms", *s * 1e3) : std::string("n/a");
  };

  std::string out;
  out += "# toolgym environment benchmark\n\n";
  out += fmt::format("Machine: {} online CPUs ({} allowed), {}, {}, {:.1f} GiB RAM\n\n",
                     m.cpus_online, m.cpus_allowed, m.cpu_model, m.kernel, m.memory_gib);
  out += fmt::format(
      "Runs: {} rounds after {} warm-up rounds, cases interleaved (fast cases several times per "
      "round); {} expert trials of {} episode(s) per family over {} families, on {}; measured in "
      "{:.1f} s. Load average before: {}; after: {}.\n\n",
      o.runs, o.warmup, o.trials, o.episodes_per_family, families.size(),
      one_cpu ? "1 CPU" : fmt::format("all {} allowed CPU(s)", m.cpus_allowed), measure_s,
      load_before, load_after);
  out += "| case | runs | median ms | p10 ms | p90 ms | mean ms |\n";
  out += "|---|---:|---:|---:|---:|---:|\n";
  for (const LatencyCase& c : cases) {
    const Stats& s = stats[c.id];
    out += fmt::format("| {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n", c.label, s.n,
                       s.median * 1e3, s.p10 * 1e3, s.p90 * 1e3, s.mean * 1e3);
  }

  json differences = json::object();
  auto diff = [&](const std::string& name, std::optional<double> a,
                  std::optional<double> b) -> std::optional<double> {
    if (!a || !b) return std::nullopt;
    differences[name] = (*a - *b) * 1e3;
    return *a - *b;
  };
  const auto echo_over = diff("shell_step_echo-bash_session_echo", median("shell_step_echo"),
                              median("bash_session_echo"));
  const auto ls_over =
      diff("shell_step_ls-bash_session_ls", median("shell_step_ls"), median("bash_session_ls"));
  const auto cell_over = diff("code_step_cell-python_session_cell", median("code_step_cell"),
                              median("python_session_cell"));
  const auto shell_reset_over =
      diff("shell_reset-bash_session_reset", median("shell_reset"), median("bash_session_reset"));
  const auto code_reset_over =
      diff("code_reset-python_session_reset", median("code_reset"), median("python_session_reset"));
  const auto shell_reset_own = diff("shell_reset-bash_make_task_reset", median("shell_reset"),
                                    median("bash_make_task_reset"));
  const auto code_reset_own = diff("code_reset-python_make_task_reset", median("code_reset"),
                                   median("python_make_task_reset"));
  const auto shell_first_over = diff("shell_first_step-shell_step_echo", median("shell_first_step"),
                                     median("shell_step_echo"));
  const auto code_first_over =
      diff("code_first_step-code_step_cell", median("code_first_step"), median("code_step_cell"));
  const auto py_start = diff("python_session_first-python_session_cell",
                             median("python_session_first"), median("python_session_cell"));
  auto fmt_ms = [](std::optional<double> s) {
    return s ? fmt::format("{:+.3f} ms", *s * 1e3) : std::string("n/a");
  };
  out += "\nDifferences of medians (same run):\n\n";
  out += fmt::format("- shell Step `echo hi` - Session `echo hi`: {}\n", fmt_ms(echo_over));
  out += fmt::format("- shell Step `ls` - Session `ls`: {}\n", fmt_ms(ls_over));
  out += fmt::format("- code Step `x = 1` - Python Session `x = 1`: {}\n", fmt_ms(cell_over));
  out += fmt::format("- shell Reset - bash Session::Reset: {} (MakeTask alone: {})\n",
                     fmt_ms(shell_reset_over), ms(median("shell_make_task")));
  out += fmt::format("- code Reset - Python Session::Reset: {} (MakeTask alone: {})\n",
                     fmt_ms(code_reset_over), ms(median("code_make_task")));
  out += fmt::format("- shell Reset - (MakeTask + bash Session::Reset): {}\n",
                     fmt_ms(shell_reset_own));
  out += fmt::format("- code Reset - (MakeTask + Python Session::Reset): {}\n",
                     fmt_ms(code_reset_own));
  out += fmt::format("- shell first Step - later Step: {}\n", fmt_ms(shell_first_over));
  out += fmt::format("- code first Step - later Step: {}\n", fmt_ms(code_first_over));
  out += fmt::format("- Python Session first Exec - later Exec: {}\n", fmt_ms(py_start));

  // Host CPU of the resets: how much of each is work in this process rather than waiting.
  out +=
      "\nThis thread's CPU time during the reset cases (medians; the rest of each is waiting for "
      "the sandbox):\n\n";
  json reset_cpu = json::object();
  for (const LatencyCase& c : cases) {
    auto it = c.parts.find("cpu_ms");
    if (it == c.parts.end()) continue;
    const double cpu = Summarize(it->second).median;
    reset_cpu[c.id] = cpu;
    out += fmt::format("- {}: {:.3f} ms CPU of {:.3f} ms\n", c.id, cpu, stats[c.id].median * 1e3);
  }

  // Inside Step: the env's own StepInfo timings.
  out +=
      "\nInside Step (medians of StepInfo's own timings, ms; tool = the Execute call, "
      "overhead = step_ms - tool, outside = measured - step_ms):\n\n";
  out += "| case | measured | step_ms | tool | overhead | parse_ms | verify_ms | outside |\n";
  out += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  json inside = json::object();
  for (const LatencyCase& c : cases) {
    auto sit = c.parts.find("step_ms");
    auto tit = c.parts.find("tool_ms");
    if (sit == c.parts.end() || tit == c.parts.end()) continue;
    std::vector<double> overhead, outside;
    for (std::size_t i = 0; i < sit->second.size(); ++i) {
      overhead.push_back(sit->second[i] - tit->second[i]);
      outside.push_back(c.samples[i] * 1e3 - sit->second[i]);
    }
    auto med = [&](const std::string& name) -> std::optional<double> {
      auto it = c.parts.find(name);
      if (it == c.parts.end()) return std::nullopt;
      return Summarize(it->second).median;
    };
    auto cell = [](std::optional<double> v) {
      return v ? fmt::format("{:.3f}", *v) : std::string("");
    };
    const double oh = Summarize(overhead).median, os = Summarize(outside).median;
    out += fmt::format("| {} | {:.3f} | {} | {} | {:.3f} | {} | {} | {:.3f} |\n", c.id,
                       stats[c.id].median * 1e3, cell(med("step_ms")), cell(med("tool_ms")), oh,
                       cell(med("parse_ms")), cell(med("verify_ms")), os);
    inside[c.id] = {{"overhead_ms", oh}, {"outside_ms", os}};
  }

  // Expert throughput.
  std::map<std::string, std::vector<double>> trial_rate;  // episodes/s per trial, by kind
  std::map<std::string, int> total_episodes;
  std::map<std::string, double> total_seconds;
  for (const ExpertTrial& t : trials) {
    for (const auto& [kind, n] : t.episodes) {
      const double s = t.seconds.at(kind);
      total_episodes[kind] += n;
      total_seconds[kind] += s;
      if (s > 0) trial_rate[kind].push_back(n / s);
    }
  }
  std::map<std::string, int> families_of_kind;
  for (const FamilyRun& f : families) {
    families_of_kind[f.kind] += 1;
    families_of_kind["all"] += 1;
  }
  out += fmt::format(
      "\nExpert episodes on {} (agent::ExpertPolicy via agent::RunEpisode, one env per family "
      "reset for each episode, seeds spread over the train range):\n\n",
      one_cpu ? "one CPU" : "the allowed CPU(s)");
  out +=
      "| env kind | families | episodes | episodes/s (all trials) | median trial episodes/s | p10 "
      "| p90 | mean episode ms |\n";
  out += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  json jkinds = json::object();
  std::vector<std::string> kinds;
  for (const auto& [kind, n] : families_of_kind)
    if (kind != "all") kinds.push_back(kind);
  kinds.push_back("all");
  for (const std::string& kind : kinds) {
    const int n = total_episodes[kind];
    const double s = total_seconds[kind];
    const Stats r = Summarize(trial_rate[kind]);
    out += fmt::format("| {} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.1f} |\n", kind,
                       families_of_kind[kind], n, s > 0 ? n / s : 0.0, r.median, r.p10, r.p90,
                       n > 0 ? s / n * 1e3 : 0.0);
    jkinds[kind] = {{"families", families_of_kind[kind]},
                    {"episodes", n},
                    {"seconds", s},
                    {"episodes_per_s", s > 0 ? n / s : 0.0},
                    {"trial_episodes_per_s", StatsJson(r, 1)},
                    {"trial_samples", trial_rate[kind]}};
  }
  out +=
      "\n| family | kind | episodes | episodes/s | median episode ms | p90 ms | steps/episode "
      "| tool calls/episode | verifier runs/episode | ms per episode: reset / tools / verify / "
      "step "
      "other / outside |\n";
  out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
  json jfamilies = json::array();
  for (const FamilyRun& f : families) {
    const Stats e = Summarize(f.episode_s);
    double total = 0;
    for (double s : f.episode_s) total += s;
    const double n = static_cast<double>(f.episode_s.size());
    auto per = [&](const std::string& key) {
      auto it = f.phase_ms.find(key);
      return n > 0 && it != f.phase_ms.end() ? it->second / n : 0.0;
    };
    double tools_ms = 0;
    json phases = json::object();
    for (const auto& [key, v] : f.phase_ms) {
      if (key.starts_with("tool:")) tools_ms += v;
      phases[key] = n > 0 ? v / n : 0.0;
    }
    out += fmt::format(
        "| {} | {} | {} | {:.2f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} / {:.1f} / "
        "{:.1f} / {:.1f} / {:.1f} |\n",
        f.scenario->id(), f.kind, f.episode_s.size(), total > 0 ? n / total : 0.0, e.median * 1e3,
        e.p90 * 1e3, n > 0 ? f.steps / n : 0.0, n > 0 ? f.tool_calls / n : 0.0,
        n > 0 ? f.verifier_runs / n : 0.0, per("reset"), n > 0 ? tools_ms / n : 0.0, per("verify"),
        per("step_other"), per("outside"));
    json samples = json::array();
    for (double s : f.episode_s) samples.push_back(s * 1e3);
    jfamilies.push_back({{"id", f.scenario->id()},
                         {"kind", f.kind},
                         {"episodes", f.episode_s.size()},
                         {"solved", f.solved},
                         {"seconds", total},
                         {"episodes_per_s", total > 0 ? n / total : 0.0},
                         {"episode_ms", StatsJson(e, 1e3)},
                         {"episode_ms_samples", samples},
                         {"steps_per_episode", n > 0 ? f.steps / n : 0.0},
                         {"tool_calls_per_episode", n > 0 ? f.tool_calls / n : 0.0},
                         {"ms_per_episode", phases},
                         {"verifier_runs_per_episode", n > 0 ? f.verifier_runs / n : 0.0}});
  }
  if (!load_errors.empty()) {
    out += fmt::format("\n{} scenario file(s) did not load and are not benchmarked:\n\n",
                       load_errors.size());
    for (const auto& e : load_errors) out += "- " + e.ToString() + "\n";
  }

  std::vector<Target> targets;
  targets.push_back({fmt::format("shell env reset median {} < 5 ms", ms(median("shell_reset"))),
                     median("shell_reset") && *median("shell_reset") < 5e-3,
                     !median("shell_reset")});
  targets.push_back(
      {fmt::format("shell env step (builtin) median {} - Session median {} = {} < 1 ms",
                   ms(median("shell_step_echo")), ms(median("bash_session_echo")),
                   fmt_ms(echo_over)),
       echo_over && *echo_over < 1e-3, !echo_over});
  out += "\nTargets:\n\n";
  for (const Target& t : targets)
    out += fmt::format("- {}: {}\n", t.skipped ? "SKIP" : (t.pass ? "PASS" : "FAIL"), t.text);
  if (!failures.empty()) {
    out += fmt::format("\nExpert failures ({}; the run fails):\n\n", failures.size());
    for (const ExpertFailure& f : failures)
      out += fmt::format("- {} seed {}: {}\n", f.scenario, f.seed, f.what);
  }
  if (o.quick) out += "\n(--quick: few runs; the numbers are rough)\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);

  if (!o.json_path.empty()) {
    json j;
    j["machine"] = {{"cpus_online", m.cpus_online},    {"cpus_allowed", m.cpus_allowed},
                    {"cpu_model", m.cpu_model},        {"kernel", m.kernel},
                    {"memory_gib", m.memory_gib},      {"load_average_before", load_before},
                    {"load_average_after", load_after}};
    j["options"] = {{"runs", o.runs},
                    {"warmup", o.warmup},
                    {"trials", o.trials},
                    {"episodes_per_family", o.episodes_per_family},
                    {"shell_scenario", o.shell_scenario},
                    {"code_scenario", o.code_scenario},
                    {"expert_confined_to_one_cpu", one_cpu.has_value() || m.cpus_allowed == 1},
                    {"quick", o.quick},
                    {"measure_s", measure_s}};
    json jcases = json::array();
    for (const LatencyCase& c : cases) {
      json jc = {{"id", c.id}, {"label", c.label}, {"unit", "ms"}};
      jc["stats"] = StatsJson(stats[c.id], 1e3);
      json samples = json::array();
      for (double s : c.samples) samples.push_back(s * 1e3);
      jc["samples"] = std::move(samples);
      if (!c.parts.empty()) {
        json parts = json::object();
        for (const auto& [name, v] : c.parts)
          parts[name] = {{"stats", StatsJson(Summarize(v), 1)}, {"samples", v}};
        jc["inside"] = std::move(parts);
      }
      jcases.push_back(std::move(jc));
    }
    j["cases"] = std::move(jcases);
    j["differences_ms"] = differences;
    j["inside_step_ms"] = inside;
    j["reset_thread_cpu_ms"] = reset_cpu;
    j["expert"] = {{"kinds", jkinds}, {"families", jfamilies}};
    json jf = json::array();
    for (const ExpertFailure& f : failures)
      jf.push_back({{"scenario", f.scenario}, {"seed", f.seed}, {"what", f.what}});
    j["expert"]["failures"] = std::move(jf);
    json jl = json::array();
    for (const auto& e : load_errors) jl.push_back(e.ToString());
    j["load_errors"] = std::move(jl);
    json jt = json::array();
    for (const Target& t : targets)
      jt.push_back(
          {{"target", t.text}, {"result", t.skipped ? "SKIP" : (t.pass ? "PASS" : "FAIL")}});
    j["targets"] = std::move(jt);
    std::ofstream f(o.json_path);
    f << j.dump(2) << "\n";
    if (!f) return die(InternalError("cannot write {}", o.json_path));
  }
  if (!failures.empty()) {
    std::fprintf(stderr, "env_bench: the expert failed %zu benchmarked episode(s)\n",
                 failures.size());
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace toolgym::bench

int main(int argc, char** argv) { return toolgym::bench::Main(argc, argv); }
