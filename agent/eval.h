// The evaluation harness: runs a policy on a fixed set of task instances of one or more scenario
// families, in parallel, writing every finished episode to a trajectory file as it goes, and
// summarizes the run with agent/metrics.h per scenario, suite, difficulty and overall.
// docs/evaluation.md is the user's guide; docs/metrics.md gives every metric's formula.
//
// A run lives in one directory:
//   manifest.json      what was run (policy spec and options, strategy and its parameters,
//                      scenarios and their versions, split, episodes, samples, seed, max_steps,
//                      env options, toolgym version, start time): written first; a resume must
//                      match it
//   trajectories.jsonl one trajectory per finished episode (docs/trajectories.md) plus a
//                      "compute" object (EpisodeCompute), appended and flushed as each episode
//                      ends, so a killed run loses only the episodes in flight
//   expert_calls.json  the expert's tool calls per instance (the reference of tool efficiency)
//   summary.json       at the end: every group's metrics and compute, and the run's timings
//   report.md          at the end: the same as Markdown tables (plots are scripts/plot_eval.py's)
//
// Instances: for each scenario, the first `episodes` seeds of the split's seed range, so every
// run and every policy sees the same tasks; each instance is played `samples` times.
//
// Thread-safety: RunEval may be called from any thread; it runs `threads` workers of its own and
// calls the runner, the policy factory and the progress callback from them (the progress callback
// under a lock, one call at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/metrics.h"
#include "agent/policy.h"
#include "agent/rollout.h"
#include "common/status.h"
#include "common/version.h"
#include "envs/env.h"
#include "scenarios/registry.h"

namespace toolgym::agent {

inline constexpr const char* kEvalManifestSchema = "toolgym.eval/1";
inline constexpr const char* kEvalSummarySchema = "toolgym.eval_summary/1";
inline constexpr const char* kToolgymVersion = kVersion;  // common/version.h

// What one episode spent, whatever strategy ran it. A plain episode has one policy call per turn
// and one env step per turn; an inference-time strategy (best-of-N over env forks, self-refinement)
// adds the calls, tokens and steps of every candidate it tried.
struct EpisodeCompute {
  std::int64_t policy_calls = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  bool tokens_reported = false;  // the token counts are the model server's
  std::int64_t env_steps = 0;    // Env::Step calls, in forks included
  std::int64_t env_forks = 0;    // Env::Fork calls
};
nlohmann::json ToJson(const EpisodeCompute& c);
StatusOr<EpisodeCompute> EpisodeComputeFromJson(const nlohmann::json& j);

// The episode a runner is asked to play.
struct EpisodeSpec {
  std::string scenario;
  std::uint64_t seed = 0;         // the task instance
  int sample = 0;                 // 0..samples-1
  std::uint64_t policy_seed = 0;  // for the policy factory: a function of (run seed, scenario,
                                  // seed, sample), so that samples differ and runs repeat
  int max_steps = 1000;
};

// A finished episode: the trajectory that is recorded (its `sample` set) and what it cost.
struct EvalEpisode {
  Trajectory trajectory;
  EpisodeCompute compute;
  // What a strategy did (its candidates, votes, rounds; agent/strategies.h), written with the
  // trajectory as "strategy"; null for a plain episode.
  nlohmann::json strategy;
};

// Plays one episode on `env` (made for spec.scenario; a runner may Reset, Step and Fork it, and
// must leave it usable for the next episode) with policies from `factory`. An error status is
// recorded as a failed episode carrying the error (docs/evaluation.md). Called from worker
// threads, one episode per env at a time: a runner shared by workers must be thread-safe.
using EpisodeRunner = std::function<StatusOr<EvalEpisode>(
    envs::Env& env, const PolicyFactory& factory, const EpisodeSpec& spec)>;

// The default runner: RunEpisode with a fresh policy from factory(spec.policy_seed).
StatusOr<EvalEpisode> RunPlainEpisode(envs::Env& env, const PolicyFactory& factory,
                                      const EpisodeSpec& spec);

// The compute of a plain episode: the policy's usage and one env step per trajectory step.
EpisodeCompute PlainCompute(const Trajectory& t);

struct EvalProgress {
  std::int64_t done = 0;        // episodes finished, resumed ones included
  std::int64_t total = 0;       // episodes of the run
  std::int64_t resumed = 0;     // finished before this invocation (read from the file)
  std::int64_t successes = 0;   // among `done`
  std::int64_t errors = 0;      // among `done`: runner or policy errors
  double elapsed_s = 0;         // since this invocation's episodes started
  double episodes_per_s = 0;    // this invocation's episodes / elapsed_s
  std::optional<double> eta_s;  // at the current rate; nullopt before the first episode
  std::string last_error;       // the latest error message, if any
};

struct EvalOptions {
  // Scenario ids, suite names ("shell") or "all"; expanded in order, duplicates dropped.
  std::vector<std::string> scenarios;
  std::string split = "test";  // "train" or "test"
  int episodes = 10;           // instances per scenario: the split's first `episodes` seeds
  int samples = 1;             // episodes per instance (pass@k needs samples >= k)
  int threads = 1;             // workers, one env each
  std::string out_dir;
  bool resume = false;  // continue the run in out_dir (its manifest must match)
  int max_steps = 1000;
  std::uint64_t seed = 0;   // mixed into every policy seed
  std::string policy_spec;  // recorded in the manifest (e.g. "expert", "replay:FILE")
  // The policy's settings that change its actions (the OpenAI client's server, model and
  // sampling options), recorded in the manifest as "policy_options"; null for none.
  nlohmann::json policy_options;
  PolicyFactory policy;
  // The strategy (agent/strategies.h), recorded in the manifest; `runner` plays it. A strategy
  // given without a runner is parsed here (ParseStrategy) and its runner made.
  std::string strategy = "plain";
  EpisodeRunner runner;  // empty: the strategy's runner (RunPlainEpisode for "plain")
  nlohmann::json env_options = nlohmann::json::object();
  // Stop (the run stays resumable, no summary is written) after this many episodes finished in
  // this invocation; 0: run to the end. For budgets and for testing resume.
  int stop_after = 0;
  const scenarios::ScenarioRegistry* registry = nullptr;  // null: ScenarioRegistry::Default()
  std::function<void(const EvalProgress&)> progress;      // after each finished episode
};

struct EvalResult {
  bool complete = false;  // every episode finished (else stopped by stop_after)
  nlohmann::json manifest;
  nlohmann::json summary;                       // summary.json's content (null when not complete)
  std::vector<metrics::EpisodeRecord> records;  // sorted by (scenario, seed, sample)
  std::int64_t episodes_run = 0;                // in this invocation
  std::int64_t episodes_resumed = 0;            // read from trajectories.jsonl
  std::int64_t errors = 0;
  std::string first_error;
  double wall_s = 0;           // the whole invocation, expert reference runs included
  double episodes_wall_s = 0;  // the episodes alone
  double episodes_per_s = 0;   // episodes_run / episodes_wall_s
};

// Expands ids, suite names and "all" against the registry: NotFound naming the unknown entry
// (with close matches) otherwise.
StatusOr<std::vector<std::string>> ExpandScenarios(const scenarios::ScenarioRegistry& registry,
                                                   const std::vector<std::string>& entries);

// The deterministic policy seed of an episode.
std::uint64_t PolicySeed(std::uint64_t run_seed, const std::string& scenario, std::uint64_t seed,
                         int sample);

// Runs (or resumes) the evaluation and writes the run directory. Errors: bad options, an
// unknown scenario, a run directory that already holds a run (without resume) or whose manifest
// differs from these options (naming the field), an unreadable trajectory line other than a
// truncated last one, an I/O failure.
StatusOr<EvalResult> RunEval(const EvalOptions& options);

// Summary JSON from records (sorted first), with every group's compute: the content of
// summary.json without "run". `compute` is per record, in the same order as `records`.
nlohmann::json SummarizeRun(const nlohmann::json& manifest,
                            std::vector<metrics::EpisodeRecord> records,
                            std::vector<EpisodeCompute> compute);

// report.md from summary.json's content. `plots`: PNG file names to show (those that exist).
std::string MarkdownReport(const nlohmann::json& summary, const std::vector<std::string>& plots);

// Reads DIR/summary.json (NotFound / InvalidArgument naming the file).
StatusOr<nlohmann::json> ReadRunSummary(const std::string& dir);

// Compares two runs' summaries group by group (docs/evaluation.md "Comparing runs"): success
// rates with Wilson intervals, the difference with Newcombe's hybrid score interval and whether
// it excludes 0, reward, tool calls and tool efficiency. Groups of only one run are listed with
// the other side null.
nlohmann::json CompareRuns(const nlohmann::json& a, const nlohmann::json& b);
std::string CompareMarkdown(const nlohmann::json& comparison);

// Newcombe's hybrid score interval (method 10) for p_a - p_b from Wilson intervals at 95%.
metrics::Interval NewcombeDifference(std::int64_t successes_a, std::int64_t n_a,
                                     std::int64_t successes_b, std::int64_t n_b);

}  // namespace toolgym::agent
