// Policies turn the conversation so far into the next action text. This policies: the
// scenario's expert and a random baseline; the LLM client and the trained policy come later and
// implement the same interface.
//
// Thread-safety: a Policy instance serves one episode at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/env.h"

namespace toolgym::agent {

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string name() const = 0;
  // Called after every env reset with the new task, the tools shown and the episode's seed.
  virtual Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                              std::uint64_t seed) = 0;
  // The next action, given every message so far (system, user, assistant actions, tool results).
  virtual StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) = 0;
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

// A uniformly random agent over the task's tools with plausible arguments (commands and answers
// drawn from what it has seen), and a share of malformed actions. A floor for evaluation.
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
  std::uint64_t seed_;
  double malformed_rate_;
  std::mt19937_64 rng_;
  const envs::Task* task_ = nullptr;
  std::vector<envs::ToolSpec> tools_;
};

// "expert" or "random" (seeded).
StatusOr<std::unique_ptr<Policy>> MakePolicy(const std::string& name, std::uint64_t seed = 0);

}  // namespace toolgym::agent
