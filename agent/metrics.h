// Evaluation metrics over evaluated episodes: success with a Wilson interval, pass@k and pass^k,
// reward and its terms, turns, tool use, invalid actions, tool efficiency against the expert,
// generation volume and calibration against difficulty. docs/metrics.md gives every formula;
// tests/agent/metrics_test.cc checks each on hand-computed values.
//
// Pure functions over plain records: the eval harness turns trajectories into EpisodeRecords
// (RecordFromTrajectory) and summarizes them per group (overall, suite, scenario, difficulty).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/rollout.h"
#include "common/status.h"

namespace toolgym::agent::metrics {

// A two-sided confidence interval for a proportion.
struct Interval {
  double lo = 0, hi = 0;
};

// The Wilson score interval for `successes` out of `n` at normal quantile z (1.96: 95%),
// clamped to [0, 1] (exactly 0 at 0/n and 1 at n/n). n <= 0, or a count outside [0, n], gives
// [0, 1]: no information.
Interval Wilson(std::int64_t successes, std::int64_t n, double z = 1.959963984540054);

// pass@k, unbiased from n >= k samples with c successes (Chen et al. 2021):
// 1 - C(n-c, k)/C(n, k), computed as 1 - prod_{i=n-c+1..n} (1 - k/i). InvalidArgument unless
// 0 <= c <= n and 1 <= k <= n.
StatusOr<double> PassAtK(std::int64_t n, std::int64_t c, std::int64_t k);

// pass^k, all of k trials succeed (tau-bench): C(c, k)/C(n, k). Same argument checks.
StatusOr<double> PassHatK(std::int64_t n, std::int64_t c, std::int64_t k);

// Spearman's rank correlation (ties get average ranks; Pearson's r of the ranks); nullopt when
// fewer than 2 points, the sizes differ, a value is not finite, or a side is constant.
std::optional<double> Spearman(const std::vector<double>& x, const std::vector<double>& y);

// One evaluated episode: what the metrics need, extracted from its trajectory.
struct EpisodeRecord {
  std::string scenario;  // e.g. "shell.count_matches" (a task family)
  std::string suite;     // the scenario id's prefix before the first '.': "shell"
  std::string split;
  std::uint64_t seed = 0;  // the task instance
  int sample = 0;          // which of the K samples of this instance (0-based)
  int difficulty = 1;
  bool success = false;  // the verifier passed (RecordFromTrajectory: and no error)
  double score = 0;      // the verifier's score
  double reward = 0;     // the episode's total reward
  std::map<std::string, double> reward_terms;  // each term summed over the episode
  int turns = 0;                               // actions taken
  int tool_calls = 0;                          // executed tool calls, submit included
  // Executed without error: error flag false and verdict "", "ok" or "tests_passed".
  int tool_calls_ok = 0;
  int invalid_actions = 0;  // actions with any error: format_ok false (docs/metrics.md)
  std::optional<int> expert_tool_calls;          // the expert's tool calls on this instance
  std::int64_t generated_bytes = 0;              // action text bytes
  std::optional<std::int64_t> generated_tokens;  // when the policy reported token usage
  std::string end_reason;
  std::string error;  // the policy or env failed; such an episode counts as a failure
};

// suite: scenario id up to the first '.', or the whole id.
std::string SuiteOf(const std::string& scenario);

// The record of a finished trajectory. expert_tool_calls: the expert's count on the same
// instance, when known. generated_tokens: from the policy's usage report, when known.
// Counts come from the steps' StepInfo JSON (tool_calls, format_ok, reward_terms); every term of
// envs::RewardTermNames() is present (0 when no step had it); a step whose info lacks a field
// adds nothing for it. A trajectory with an error is a failure whatever its verifier said.
EpisodeRecord RecordFromTrajectory(const Trajectory& t, int sample = 0,
                                   std::optional<int> expert_tool_calls = std::nullopt,
                                   std::optional<std::int64_t> generated_tokens = std::nullopt);

struct MeanStd {
  double mean = 0, std = 0;  // std: sample standard deviation (n-1); 0 when n < 2
  std::int64_t n = 0;
};

// The metrics of one group of episodes.
struct Summary {
  std::int64_t episodes = 0;
  std::int64_t tasks = 0;      // distinct (scenario, split, seed) instances
  std::int64_t successes = 0;  // success and no error
  double success_rate = 0;     // successes / episodes; 0 with no episodes
  Interval success_ci;         // Wilson 95%
  MeanStd reward;
  std::map<std::string, MeanStd> reward_terms;  // a term an episode lacks counts as 0 there
  // pass@k and pass^k for k = 1..K, K = the fewest samples any task of the group has: the mean
  // over tasks of each task's estimator, from all n >= K of its samples (so no task is left out
  // of any reported k). Empty with no episodes.
  std::map<int, double> pass_at_k, pass_hat_k;
  MeanStd turns, tool_calls;
  double tool_call_success_rate = 0;  // sum ok / sum executed; 0 with no calls
  double invalid_action_rate = 0;     // sum invalid actions / sum turns
  // Tool efficiency: over the solved episodes with a known expert count, the expert's tool calls
  // summed over the agent's summed (a ratio of sums: no division by an episode's zero; above 1
  // when the agent needs fewer calls than the expert). nullopt when no such episode, or when the
  // agent made no calls in them.
  std::optional<double> tool_efficiency;
  MeanStd generated_bytes;                          // per episode
  std::optional<double> generated_bytes_per_solve;  // total bytes / successes; nullopt at 0
  std::optional<MeanStd> generated_tokens;          // when every episode reported tokens
  std::optional<double> generated_tokens_per_solve;
  // Calibration: mean generated bytes per difficulty level, and Spearman's rho between
  // difficulty and generated bytes over the group's episodes.
  std::map<int, MeanStd> bytes_by_difficulty;
  std::optional<double> length_difficulty_rho;
  std::int64_t errors = 0;  // episodes that ended with a policy or env error
};

Summary Summarize(const std::vector<EpisodeRecord>& episodes);

// Every group: "overall", "suite/<suite>", "scenario/<id>", "difficulty/<d>".
std::map<std::string, Summary> SummarizeGroups(const std::vector<EpisodeRecord>& episodes);

nlohmann::json ToJson(const Summary& s);
nlohmann::json ToJson(const EpisodeRecord& r);
// Every field of ToJson is required except expert_tool_calls and generated_tokens (absent or
// null: nullopt); a missing or mistyped field is InvalidArgument naming it.
StatusOr<EpisodeRecord> EpisodeRecordFromJson(const nlohmann::json& j);

}  // namespace toolgym::agent::metrics
