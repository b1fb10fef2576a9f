// Policies scripted from the scenario's expert that fail in controlled ways, so that
// inference-time strategies (agent/strategies.h) can be exercised, tested and plotted on this
// machine, which runs no language model. They are stand-ins for a model, and say so in their
// names; their behaviour is a pure function of (task, seed, conversation), so episodes repeat.
//
//   noisy-expert:EPS  the expert, except that at each turn, with probability EPS, it takes a
//                     valid random tool call instead (RandomPolicy's draws, no malformed ones).
//                     A random submit ends the episode with a wrong answer; other random calls
//                     waste a turn and may change the workspace. Success falls with EPS and the
//                     episode's length, and samples differ, so best-of-N, majority vote and
//                     self-refinement have something to choose from.
//   thinker           a reasoning-model stand-in: before each action it thinks in a
//                     `<think>...</think>` block of words (one word = one token). Turn t needs D_t
//                     words of thought (drawn in [32, 256]) to find the expert's action; left
//                     alone it stops after L_t = f * D_t words (f drawn in [0.4, 1.6], so it
//                     underthinks about half the time) and then acts as noisy-expert:1 does. Told
//                     to go on with "Wait" after closing, it thinks g_j * D_t more words (g_j in
//                     [0.3, 0.8]). Thinking cut by a token cap below D_t also gives a random
//                     action. This is the behaviour budget forcing (s1) acts on: a cap saves
//                     tokens and costs success, "Wait" buys success with tokens.
//
// The expert acts on its own actions' observations only: random detours are left out of the
// conversation it sees (and so are earlier attempts given as context by self-refinement). When a
// detour has changed the workspace so that the expert's next step cannot find what it looks for,
// the policy acts at random for that turn instead of failing the episode.
//
// Thread-safety: one episode at a time per instance, like every Policy.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/policy.h"

namespace toolgym::agent {

// The expert with random detours the caller chooses; shared by both policies below.
class DetouringExpert {
 public:
  Status Begin(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
               std::uint64_t seed);
  // The turn of the episode that `conversation` asks for (0 for the first action). The first
  // call of an episode marks where the episode's own messages start: what comes before it is
  // context (an earlier attempt shown by self-refinement).
  int Turn(const std::vector<envs::Message>& conversation);
  // The expert's action for this turn, or a random valid call when `detour` (remembered, so that
  // the expert never sees the detour's observation).
  StatusOr<std::string> Action(const std::vector<envs::Message>& conversation, bool detour);

 private:
  ExpertPolicy expert_;
  RandomPolicy random_{0, 0.0};
  std::set<int> detours_;  // turns played at random
  std::size_t start_ = 0;  // index of the episode's first own message
  std::size_t head_ = 0;   // messages before the first assistant message (system, task)
  bool started_ = false;
};

class NoisyExpertPolicy : public Policy {
 public:
  // `seed` (the factory's) and each episode's seed choose the turns played at random.
  NoisyExpertPolicy(double epsilon, std::uint64_t seed) : epsilon_(epsilon), factory_seed_(seed) {}
  std::string name() const override;
  Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t seed) override;
  StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) override;

 private:
  double epsilon_;
  std::uint64_t factory_seed_;
  std::uint64_t seed_ = 0;
  DetouringExpert inner_;
};

class ThinkerPolicy : public Policy {
 public:
  explicit ThinkerPolicy(std::uint64_t seed = 0) : factory_seed_(seed) {}
  std::string name() const override { return "thinker"; }
  Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t seed) override;
  StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) override;
  bool can_continue() const override { return true; }
  StatusOr<Completion> Continue(const std::vector<envs::Message>& conversation,
                                const CompletionRequest& request) override;

  // The words of thought turn `turn` needs, its natural length, and the j-th "Wait"'s extension
  // (exposed for tests).
  int Needed(int turn) const;
  int Natural(int turn) const;
  int Extension(int turn, int wait) const;

 private:
  // The turn's action given how many words were thought, computed once per turn.
  StatusOr<std::string> Answer(const std::vector<envs::Message>& conversation, int turn,
                               int thought);
  double Uniform(int turn, int what) const;  // in [0, 1), a function of (seed, turn, what)
  std::uint64_t factory_seed_;
  std::uint64_t seed_ = 0;
  DetouringExpert inner_;
  int answered_turn_ = -1;
  std::string answer_;
};

// "noisy-expert:EPS" (EPS in [0, 1]) and "thinker"; InvalidArgument for other specs.
StatusOr<std::unique_ptr<Policy>> MakeScriptedPolicy(const std::string& spec, std::uint64_t seed);
bool IsScriptedPolicySpec(const std::string& spec);

}  // namespace toolgym::agent
