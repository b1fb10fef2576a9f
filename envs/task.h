// Task: one instance of a scenario family, everything an env needs to run an episode. Built by
// scenarios/ from a scenario file and a seed; envs/ never reads scenario JSON itself.
//
// Also the contract verifiers (scenarios/verifiers.h) are written against: a Verifier looks at
// the submitted answer, the episode's history and the workspace through VerifyContext.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/action_parser.h"
#include "sandbox/result.h"
#include "sandbox/sandbox.h"
#include "sandbox/workspace.h"

namespace toolgym::envs {

// Read access to the episode's workspace and a way to run a fresh command in its sandbox. Paths
// are relative to the workspace root; symlinks are never followed (the agent may have planted
// them), so a link is reported as a link.
class WorkspaceView {
 public:
  struct FileStat {
    sandbox::FileEntry::Type type = sandbox::FileEntry::Type::kFile;
    std::uint32_t mode = 0;  // permission bits
    std::uint64_t size = 0;
  };
  virtual ~WorkspaceView() = default;
  // nullopt when nothing exists at `path`; an error for an invalid path.
  virtual StatusOr<std::optional<FileStat>> Stat(const std::string& path) = 0;
  // Contents of a regular file, at most max_bytes (kResourceExhausted past it).
  virtual StatusOr<std::string> ReadFile(const std::string& path,
                                         std::uint64_t max_bytes = 16u << 20) = 0;
  // A fresh process tree in the episode's sandbox, with the workspace as it is now. Ends any
  // long-lived shell or interpreter of the episode first: call it only when the episode is over
  // (verifiers) or from a tool that says so.
  virtual sandbox::RunResult Run(const sandbox::RunOptions& options) = 0;
};

// What one executed tool call produced: kept in the history that verifiers and subgoals see.
struct ToolRecord {
  ToolCall call;
  std::string output;  // the text shown to the agent
  bool error = false;  // the call failed (bad arguments at run time, nonzero exit...)
  std::string
      verdict;  // sandbox verdict name for sandboxed tools ("ok", "wall_time_limit"), else ""
  int exit_code = -1;  // for sandboxed tools
  double wall_time_s = 0;
};

struct VerifyContext {
  const nlohmann::json& params;              // the task's generated parameters
  const std::optional<std::string>& answer;  // the submitted answer, if any
  const std::vector<ToolRecord>& history;    // every executed call of the episode so far
  WorkspaceView* workspace = nullptr;        // null for envs without a workspace
  bool final = false;  // the episode is over; only then may a verifier call workspace->Run()
  // What envs without a workspace expose to verifiers, as JSON (null for shell and code):
  // the web env's {"page", "state", "events", ...}, the search env's {"retrieved", "opened"}.
  // Each kind documents its shape (docs/envs.md).
  const nlohmann::json* env_state = nullptr;
};

struct VerifyResult {
  double score = 0;     // in [0, 1]: 1 or 0 for binary checks, the fraction passed for tests
  bool passed = false;  // the task counts as solved
  std::string detail;   // one line for people ("expected 42, got 41"); never shown to the agent
  std::vector<std::string> verdicts;  // sandbox verdicts of commands the verifier ran
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual VerifyResult Verify(VerifyContext& ctx) const = 0;
  // True when Verify runs commands in the sandbox (check commands, hidden tests): such a
  // verifier is evaluated only at the end of an episode and cannot serve as a subgoal or goal.
  virtual bool RunsCommands() const { return false; }
};

// A named milestone for potential-based progress shaping. Φ(s) = fraction reached.
struct Subgoal {
  std::string name;
  std::shared_ptr<const Verifier> check;  // must not run commands
};

// Shaping terms (METHODS.md "Reward shaping"); every weight is per scenario and every term is
// reported by name in StepInfo::reward_terms. Penalties are given as positive magnitudes.
struct RewardConfig {
  // Outcome at termination: failure + (success - failure) * score, plus the tool-call term
  // n_calls * (passed ? per_call_success : per_call_failure) ("Demystifying RL in Agentic
  // Reasoning", arXiv 2510.11701, made configurable).
  double success = 1.0;
  double failure = 0.0;
  double per_call_success = 0.0;
  double per_call_failure = 0.0;
  double format = 0.0;          // at the end: format * (well-formed actions / actions)
  double tool_call_cost = 0.0;  // per executed call
  // Per-tool costs that replace tool_call_cost for the tools they name (a cost per search).
  std::map<std::string, double> tool_costs;
  double CostOf(const std::string& tool) const {
    auto it = tool_costs.find(tool);
    return it == tool_costs.end() ? tool_call_cost : it->second;
  }
  double invalid_action = 0.0;  // per malformed action (once per action, however many errors)
  double repeated_call = 0.0;   // per call identical (name and arguments) to an earlier one
  double progress = 0.0;        // weight of F = gamma * Φ(s') - Φ(s) (Ng, Harada, Russell 1999)
  double progress_gamma = 1.0;
  // DAPO overlong shaping (arXiv 2503.14476) on the action length in bytes: 0 up to
  // max - buffer, linear to -1 at max, -1 beyond; multiplied by overlong. 0 disables.
  double overlong = 0.0;
  std::uint64_t overlong_max_bytes = 0;
  std::uint64_t overlong_buffer_bytes = 0;
  double turn_budget = 0.0;  // once, when the episode is truncated by its turn budget
};

struct Budgets {
  int max_turns = 20;                          // steps before truncation
  std::uint64_t max_action_bytes = 32u << 10;  // a longer action truncates the episode
  double max_episode_seconds = 600;            // wall time from reset
};

// Per-tool settings: timeouts, output caps.
struct ToolLimits {
  double timeout_s = 10;                  // per call
  std::uint64_t max_output_bytes = 4096;  // shown to the agent; the rest is cut with a note
};

// The expert's plan: the steps of one variant (chosen by seed), each a tool call whose
// arguments are templates that may refer to the task's params and to what earlier steps'
// observations showed ({{obs.last}}, {{obs.steps.0}}); see scenarios/expert.h.
struct ExpertStep {
  std::string tool;
  nlohmann::json arguments = nlohmann::json::object();  // templates, rendered at play time
  std::string extract;  // optional regex applied to obs.last before rendering; group 1 -> {{x}}
};

// A problem an env kind found in a task it was given (EnvKind::validate): a site that does not
// parse, a corpus file that is missing. `file` is the file the problem is in ("" for the task's
// own options) and `path` the JSON pointer inside it: inside that file, or relative to
// Task::options ("/site/pages/home") for the task's own options (the loader prefixes
// "/options").
struct TaskError {
  std::string file;
  std::string path;
  std::string message;
};

struct Task {
  std::string scenario_id;
  std::string scenario_version;
  std::uint64_t seed = 0;
  std::string split;  // "train", "test" or "" (a seed outside both ranges)
  int difficulty = 1;
  std::string env_kind;  // "shell", "code"
  std::string title;
  std::string instruction;  // rendered, shown as the user message
  std::string rules;        // extra system-prompt text from the scenario
  nlohmann::json params = nlohmann::json::object();
  sandbox::FileTree workspace;
  std::vector<std::string> tools;                 // allowed tool names
  std::map<std::string, ToolLimits> tool_limits;  // by tool name; absent = defaults
  ActionFormat action_format = ActionFormat::kHermes;
  std::shared_ptr<const Verifier> verifier;
  std::vector<Subgoal> subgoals;
  RewardConfig reward;
  Budgets budgets;
  bool requires_answer = true;  // submit(answer) ends the episode with an answer
  bool end_on_goal = false;     // terminate as soon as the verifier passes (state tasks)
  std::vector<ExpertStep> expert;
  nlohmann::json public_tests = nlohmann::json::array();  // code env: run_tests() runs these
  // Env-kind specific settings: the scenario's "options", rendered against the params (a
  // search corpus, a web site).
  nlohmann::json options = nlohmann::json::object();
  // Directory of the scenario file: where kind files named in options (a corpus, a site file)
  // are resolved from.
  std::string base_dir;

  const ToolLimits& limits_for(const std::string& tool) const;
};

// Where an env gets its tasks: one scenario family.
class TaskSource {
 public:
  struct SeedRange {
    std::uint64_t begin = 0, end = 0;  // [begin, end)
    bool contains(std::uint64_t s) const { return s >= begin && s < end; }
  };
  virtual ~TaskSource() = default;
  virtual StatusOr<Task> MakeTask(std::uint64_t seed) const = 0;
  virtual const std::string& id() const = 0;
  virtual std::string env_kind() const = 0;
  virtual SeedRange train_seeds() const = 0;
  virtual SeedRange test_seeds() const = 0;
};

}  // namespace toolgym::envs
