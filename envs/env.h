// The Env API: Gymnasium semantics for multi-turn text environments.
//
//   Reset(seed, options) -> {observation, info}
//   Step(action_text)    -> {observation, reward, terminated, truncated, info}
//
// `terminated`: the task ended (answer submitted, goal reached). `truncated`: a budget ran out
// (turns, action length, wall time). Stepping an env that was never reset or whose episode has
// ended is an error (FailedPrecondition) that says so; a malformed *action* is never an error:
// it becomes an error observation, an invalid-action penalty and a StepInfo entry.
//
// Every env returns the same StepInfo schema (info.h); env kinds only supply tools
// (ToolEnv below), never their own info fields.
//
// Thread-safety: an Env is used by one thread at a time. Different envs may run in parallel.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/action_parser.h"
#include "envs/info.h"
#include "envs/task.h"
#include "envs/tool.h"

namespace toolgym::envs {

// One chat message. Roles: system, user, assistant, tool (tool results carry name and
// tool_call_id, as in the OpenAI chat format).
struct Message {
  std::string role;
  std::string content;
  std::string name;          // tool name, for role "tool"
  std::string tool_call_id;  // for role "tool"
  bool operator==(const Message&) const = default;
};
void to_json(nlohmann::json& j, const Message& m);

struct Observation {
  std::vector<Message> messages;
  // The messages' contents joined for text-only policies ("[tool bash] ...").
  std::string Text() const;
  bool operator==(const Observation&) const = default;
};
void to_json(nlohmann::json& j, const Observation& o);

struct ResetResult {
  Observation observation;
  StepInfo info;
};

struct StepResult {
  Observation observation;
  double reward = 0;
  bool terminated = false;
  bool truncated = false;
  StepInfo info;
};

// Settings given to make() that override the scenario's: {"action_format": "compact",
// "max_turns": 8, "max_output_bytes": 2048, "split": "test"}.
// The largest "max_turns" make() accepts.
inline constexpr int kMaxTurnsOption = 1'000'000;

struct EnvOptions {
  std::optional<ActionFormat> action_format;
  std::optional<int> max_turns;
  std::optional<std::uint64_t> max_output_bytes;
  std::string split = "train";      // where Reset() without a seed draws seeds from
  std::uint64_t seed_sequence = 0;  // seeds the draws of Reset() without a seed
  static StatusOr<EnvOptions> FromJson(const nlohmann::json& j);
};

class Env {
 public:
  virtual ~Env() = default;
  // seed: the task instance; absent draws the next seed of options.split's range. options:
  // {"split": "test"} for that draw.
  virtual StatusOr<ResetResult> Reset(std::optional<std::uint64_t> seed = std::nullopt,
                                      const nlohmann::json& options = nlohmann::json::object()) = 0;
  virtual StatusOr<StepResult> Step(const std::string& action) = 0;
  // A copy of this env mid-episode that shares nothing writable with it: what one is told to do
  // never shows in the other.
  virtual StatusOr<std::unique_ptr<Env>> Fork() = 0;
  // The tools of the current task (after Reset), as the system message describes them.
  virtual std::vector<ToolSpec> Tools() const = 0;
  // Tools() as OpenAI function-calling JSON: [{"type": "function", "function": {...}}].
  nlohmann::json OpenAITools() const;
  // The current task; null before the first Reset.
  virtual const Task* task() const = 0;
  // True after Reset until the episode ends.
  virtual bool active() const = 0;
};

// The shared machinery of tool-using envs: parse, validate, execute tools, shape rewards, keep
// budgets and the history, fill StepInfo. An env kind implements the hooks below (see
// shell_env.h, code_env.h, and docs/new_env.md for a walk-through).
class ToolEnv : public Env {
 public:
  ToolEnv(std::shared_ptr<const TaskSource> source, EnvOptions options);

  StatusOr<ResetResult> Reset(std::optional<std::uint64_t> seed = std::nullopt,
                              const nlohmann::json& options = nlohmann::json::object()) override;
  StatusOr<StepResult> Step(const std::string& action) override;
  StatusOr<std::unique_ptr<Env>> Fork() override;
  std::vector<ToolSpec> Tools() const override { return tools_; }
  const Task* task() const override { return task_ ? &*task_ : nullptr; }
  bool active() const override { return task_.has_value() && !done_; }
  const std::vector<ToolRecord>& history() const { return history_; }

 protected:
  // What a tool call did, as the agent will see it.
  struct ToolOutcome {
    std::string output;
    bool error = false;
    std::string verdict;
    int exit_code = -1;
    double wall_time_s = 0;
    // The call ended the episode by itself (the web env's "Buy now" on a site whose action
    // says so): the episode terminates after this step, with `end_reason` as its reason.
    bool ends_episode = false;
    std::string end_reason;
  };
  // The tools this kind offers for `task`, of which the task's allowed ones are shown. Called
  // at every reset.
  virtual std::vector<ToolSpec> KindTools(const Task& task) const = 0;
  // Prepare the sandbox for a new episode of `task` (workspace, fresh shell).
  virtual Status BeginEpisode(const Task& task) = 0;
  // Runs one validated call of a tool other than submit.
  virtual ToolOutcome Execute(const ToolCall& call) = 0;
  // The workspace for verifiers and subgoals; null for envs without one.
  virtual WorkspaceView* workspace() = 0;
  // A new env of the same kind whose sandbox state is a copy of this one's; the base class then
  // copies the episode state (task, history, counters).
  virtual StatusOr<std::unique_ptr<ToolEnv>> ForkKind() = 0;
  // Text of the system message besides the tool list (kind-specific rules).
  virtual std::string KindRules(const Task& task) const = 0;
  // What the agent sees before its first action besides the instruction (the web env's start
  // page), appended to the first user message; "" for none. Called after BeginEpisode.
  virtual std::string InitialView() const { return ""; }
  // The kind's state for verifiers and subgoals (VerifyContext::env_state); null for kinds
  // whose state is their workspace.
  virtual const nlohmann::json* EnvState() { return nullptr; }

  // For ForkKind implementations that replay calls: makes current_task() valid before the base
  // class copies the episode state.
  void AdoptTaskForReplay(const Task& task) { task_ = task; }
  const EnvOptions& options() const { return options_; }
  const Task& current_task() const { return *task_; }
  std::shared_ptr<const TaskSource> source() const { return source_; }

 private:
  Observation RenderFirstObservation() const;
  std::map<std::string, double> ZeroTerms() const;
  double Potential(VerifyContext& ctx, std::vector<std::string>* reached);
  void FillTaskInfo(StepInfo& info) const;
  std::uint64_t DrawSeed(const std::string& split);

  std::shared_ptr<const TaskSource> source_;
  EnvOptions options_;
  std::mt19937_64 seed_rng_;
  // Episode state: everything below is copied by Fork.
  std::optional<Task> task_;
  std::vector<ToolSpec> tools_;
  std::shared_ptr<const nlohmann::json> params_;  // task_->params, shared with every StepInfo
  std::optional<ActionParser> parser_;
  std::vector<ToolRecord> history_;
  std::set<std::string> seen_calls_;  // name + canonical arguments, for the repeat penalty
  std::optional<std::string> answer_;
  int turn_ = 0;
  int calls_ = 0;                  // executed tool calls
  int actions_ = 0;                // steps taken
  int well_formed_ = 0;            // steps whose action parsed without errors
  double potential_ = 0;           // Φ of the current state
  std::set<std::string> reached_;  // subgoals reached so far (monotone)
  bool done_ = false;
  std::string end_reason_;
  double elapsed_before_fork_ = 0;  // wall time of the episode before this env was forked
  std::chrono::steady_clock::time_point episode_start_;
};

}  // namespace toolgym::envs
