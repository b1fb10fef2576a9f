// Running episodes and recording them as trajectories (docs/trajectories.md is the schema).
#pragma once

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/policy.h"
#include "common/status.h"
#include "envs/env.h"

namespace toolgym::agent {

inline constexpr const char* kTrajectorySchema = "toolgym.trajectory/1";

struct TrajectoryStep {
  std::string action;
  envs::Observation observation;
  double reward = 0;
  bool terminated = false;
  bool truncated = false;
  nlohmann::json info;  // StepInfo as JSON
};

struct Trajectory {
  std::string scenario, version, policy, env_kind, split;
  std::uint64_t seed = 0;
  int difficulty = 1;
  envs::Observation first_observation;
  nlohmann::json reset_info;
  std::vector<TrajectoryStep> steps;
  double total_reward = 0;
  bool success = false;  // the verifier passed
  double score = 0;
  int tool_calls = 0;
  std::string end_reason;
  double wall_ms = 0;
  std::string error;  // the policy failed (the episode stopped early); empty otherwise
  PolicyUsage usage;  // what the policy spent on the episode (policy.usage() at its end)
  int sample = 0;     // which of several samples of this instance (evaluation with --samples)

  // The conversation as a chat transcript: system, user, then per step the assistant action
  // and the observation's messages.
  std::vector<envs::Message> Conversation() const;
};

nlohmann::json ToJson(const Trajectory& t);
StatusOr<Trajectory> TrajectoryFromJson(const nlohmann::json& j);

// Runs one episode to its end (or max_steps as a safety net). A policy error ends the episode
// and is recorded in Trajectory::error; env errors are returned.
StatusOr<Trajectory> RunEpisode(envs::Env& env, Policy& policy, std::uint64_t seed,
                                int max_steps = 1000);

// Plays an episode that has begun: `env` was just reset to instance `seed` (or forked from an
// env that was), and `reset` is what that Reset returned. `context` goes to the policy between
// the reset's messages and the episode's own (self-refinement shows an earlier attempt and its
// feedback there); the trajectory does not record it.
StatusOr<Trajectory> PlayEpisode(envs::Env& env, Policy& policy, const envs::ResetResult& reset,
                                 std::uint64_t seed, int max_steps = 1000,
                                 const std::vector<envs::Message>& context = {});

// Appends trajectories as JSON lines; flushes after each so that nothing produced is lost.
class TrajectoryWriter {
 public:
  static StatusOr<std::unique_ptr<TrajectoryWriter>> Open(const std::string& path);
  Status Write(const Trajectory& t);

 private:
  std::ofstream out_;
  std::string path_;
};

StatusOr<std::vector<Trajectory>> ReadTrajectories(const std::string& path);

}  // namespace toolgym::agent
