// Policies turn the conversation so far into the next action text: the scenario's expert, a
// random baseline, a replay of recorded trajectories; the OpenAI-compatible client and the
// trained policy implement the same interface. A policy that produces structured tool calls
// returns them as an OpenAI assistant message in JSON, which the env's parser reads in the
// "openai" and "auto" action formats (envs/action_parser.h).
//
// Thread-safety: a Policy instance serves one episode at a time; make one per env with a
// PolicyFactory.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "envs/env.h"

namespace toolgym::agent {

// What a policy spent on an episode's actions: the compute that evaluation reports and plots
// success against.
struct PolicyUsage {
  std::int64_t calls = 0;              // Act calls (for a model client: completions requested)
  std::int64_t prompt_tokens = 0;      // as the model server reported them
  std::int64_t completion_tokens = 0;  //
  bool tokens_reported = false;        // the token counts are the model's, not absent
  std::int64_t retries = 0;            // requests repeated after a transient failure
  double wall_ms = 0;                  // time spent in Act
  PolicyUsage& operator+=(const PolicyUsage& o);
};

// A request to continue a partial assistant message: what strategies that steer generation
// (budget forcing) need from a policy, beyond Act.
struct CompletionRequest {
  std::string prefix;             // the assistant message so far; the completion continues it
  std::int64_t max_tokens = 0;    // 0: no limit beyond the policy's own
  std::vector<std::string> stop;  // generation ends before any of these (which are not returned)
};

struct Completion {
  std::string text;              // what follows the prefix
  std::string finish_reason;     // "stop": ended by itself or at a stop sequence; "length": at
                                 // max_tokens
  std::int64_t tokens = 0;       // completion tokens of `text` (the model server's count)
  bool tokens_reported = false;  // `tokens` is a count, not absent
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string name() const = 0;
  // Called after every env reset with the new task, the tools shown and the episode's seed (a
  // sampling policy draws from it: same seed and conversation, same actions). Forgets the
  // previous episode: policies are stateless between episodes.
  virtual Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                              std::uint64_t seed) = 0;
  // The next action, given every message so far (system, user, assistant actions, tool results).
  virtual StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) = 0;
  // What the episode's Act calls spent since BeginEpisode. Policies that run no model report
  // calls only.
  virtual PolicyUsage usage() const { return usage_; }
  // Whether Continue works: a model that can resume a partial assistant message (a server with
  // vLLM's `continue_final_message`, the scripted thinker). Act is then one Continue from "".
  virtual bool can_continue() const { return false; }
  // Continues `request.prefix` as the assistant's next message after `conversation`; counts in
  // usage() like Act. Unimplemented for policies that cannot (naming the policy).
  virtual StatusOr<Completion> Continue(const std::vector<envs::Message>& conversation,
                                        const CompletionRequest& request);

 protected:
  PolicyUsage usage_;
};

// The scenario's expert: plays its steps in order, rendering each step's argument templates
// with the task's parameters and what earlier steps' observations showed:
//   obs.last      the output of the previous step's tool call; before the first call, the
//                 first user message (the instruction and what the env showed with it, such
//                 as the web env's start page)
//   obs.steps.N   the output of step N (0-based)
//   x             group 1 of the step's "extract" regex applied to obs.last
// So the expert acts only on what the conversation shows; each action can be inferred from it.
class ExpertPolicy : public Policy {
 public:
  std::string name() const override { return "expert"; }
  Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t seed) override;
  StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) override;

 private:
  const envs::Task* task_ = nullptr;
  std::vector<envs::ToolSpec> tools_;
  std::vector<std::string> outputs_;  // tool output of each step so far
  size_t next_ = 0;
};

// A floor for evaluation: each action calls a uniformly drawn tool of the task with arguments
// drawn from the tool's JSON schema -- valid calls: every required argument and about half of
// the optional ones, enums from their values, numbers within their bounds (element numbers the
// page shows, for an "id"), strings within their lengths (a shell command for bash, code for
// python, otherwise a word of the last observation). A share `malformed_rate` of the actions
// (10% by default) is malformed instead, so that evaluations see invalid actions too.
class RandomPolicy : public Policy {
 public:
  explicit RandomPolicy(std::uint64_t seed = 0, double malformed_rate = 0.1)
      : seed_(seed), malformed_rate_(malformed_rate) {}
  std::string name() const override { return "random"; }
  Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t seed) override;
  StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) override;

 private:
  std::uint64_t Draw(std::uint64_t n);  // uniform in [0, n)
  std::string RandomToken(const std::vector<envs::Message>& conversation);
  static std::string LastText(const std::vector<envs::Message>& conversation);
  nlohmann::json RandomArguments(const std::string& tool, const nlohmann::json& schema,
                                 const std::vector<envs::Message>& conversation, int depth);
  nlohmann::json RandomValue(const std::string& tool, const std::string& name,
                             const nlohmann::json& schema,
                             const std::vector<envs::Message>& conversation, int depth);
  std::uint64_t seed_;
  double malformed_rate_;
  std::mt19937_64 rng_;
  const envs::Task* task_ = nullptr;
  std::vector<envs::ToolSpec> tools_;
};

// Replays recorded trajectories (a JSONL file as `toolgym run --out` and `toolgym eval` write):
// the episode of (scenario, seed) gets the actions of the first recording of that instance, in
// order. An instance with no recording, a recording whose task differs (another scenario
// version), and an episode that outlives its recording are errors naming the file, scenario and
// seed. Instances share the loaded file.
class ReplayPolicy : public Policy {
 public:
  // Loads `path` (NotFound / InvalidArgument with the file and line when it cannot).
  static StatusOr<std::unique_ptr<ReplayPolicy>> Open(const std::string& path);
  std::string name() const override { return "replay"; }
  Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t seed) override;
  StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) override;
  std::unique_ptr<ReplayPolicy> Clone() const;

  struct Recording {
    std::string version;
    std::vector<std::string> actions;
  };
  using Library = std::map<std::pair<std::string, std::uint64_t>, Recording>;

 private:
  std::string path_;
  std::shared_ptr<const Library> library_;
  const Recording* current_ = nullptr;
  std::string scenario_;
  std::uint64_t seed_ = 0;
  std::size_t next_ = 0;
};

// Whitespace-separated words: the token count of policies that run no tokenizer (serve-policy's
// usage, the scripted thinker's tokens).
std::int64_t CountWords(std::string_view text);

// "expert" or "random" (seeded).
StatusOr<std::unique_ptr<Policy>> MakePolicy(const std::string& name, std::uint64_t seed = 0);

// Makes one policy per env or per episode: `seed` seeds a sampling policy's instance.
using PolicyFactory = std::function<StatusOr<std::unique_ptr<Policy>>(std::uint64_t seed)>;

// A factory from a policy spec: "expert", "random", "replay:FILE" (loaded once, here), and the
// scripted stand-ins of agent/scripted_policies.h, "noisy-expert:EPS" and "thinker". Specs of
// other kinds (the OpenAI client's) are made where their options are known.
StatusOr<PolicyFactory> PolicyFactoryFromSpec(const std::string& spec);

}  // namespace toolgym::agent
