// StepInfo: the one `info` schema every env returns from Reset and Step (documented field by
// field in docs/envs.md; the JSON form is what trajectories and the HTTP server carry).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "envs/action_parser.h"
#include "envs/tool.h"

namespace toolgym::envs {

// Names of the reward terms, in report order. Every StepInfo carries all of them (0 when a term
// did not apply), so a consumer never has to guess which exist.
inline const std::vector<std::string>& RewardTermNames() {
  static const std::vector<std::string> kNames = {
      "outcome",       "outcome_tool_calls", "format",   "tool_call_cost", "invalid_action",
      "repeated_call", "progress",           "overlong", "turn_budget"};
  return kNames;
}

struct ToolCallInfo {
  ToolCall call;
  bool error = false;     // the tool ran and reported a failure (nonzero exit, bad path...)
  bool repeated = false;  // identical to an earlier call of the episode
  std::string verdict;    // sandbox verdict name, "" for tools that run nothing
  int exit_code = -1;
  double wall_ms = 0;
};

struct TaskInfo {
  std::string scenario;
  std::string version;
  std::uint64_t seed = 0;
  std::string split;
  int difficulty = 1;
  // The instance's generated parameters, shared by every StepInfo of the episode (a generated
  // site or corpus can be tens of KiB; copying it into each step cost more than the step).
  // Null in a StepInfo whose writer dropped it (trajectories keep it only in reset info).
  std::shared_ptr<const nlohmann::json> params;
};

struct OutcomeInfo {
  double score = 0;
  bool passed = false;
  std::string detail;
};

struct StepInfo {
  int turn = 0;                          // steps taken in the episode (0 after reset)
  std::vector<ToolCallInfo> tool_calls;  // executed this step, in order
  std::vector<ActionError> tool_errors;  // what was wrong with the action (parse, schema, budget)
  int ignored_calls = 0;                 // valid calls after a submit, not executed
  std::map<std::string, double> reward_terms;
  std::vector<std::string> verdicts;  // of this step's sandboxed calls and verifier runs
  double parse_ms = 0, tools_ms = 0, verify_ms = 0, step_ms = 0;
  TaskInfo task;
  std::optional<std::string> answer;          // the submitted answer, once there is one
  bool format_ok = true;                      // this action parsed without errors
  std::vector<std::string> subgoals_reached;  // all reached so far
  double potential = 0;                       // Φ after this step
  std::string end_reason;              // "", "answer_submitted", "submitted", "goal_reached",
                                       // "turn_budget", "action_too_long", "time_budget", or
                                       // what a kind's tool call named when it ended the
                                       // episode (the web env's "site_end")
  std::optional<OutcomeInfo> outcome;  // the verifier's result, when the episode terminated
  int total_tool_calls = 0;            // executed in the episode so far
};

void to_json(nlohmann::json& j, const ToolCallInfo& c);
void to_json(nlohmann::json& j, const TaskInfo& t);
void to_json(nlohmann::json& j, const StepInfo& s);
// Timings are the only fields that differ between two identical runs; this drops them (for
// determinism checks and golden files).
nlohmann::json WithoutTimings(nlohmann::json info);

}  // namespace toolgym::envs
