// Inference-time strategies: episode runners (agent/eval.h) that spend more compute on an
// episode to raise its success, each reporting what it spent (policy calls, tokens, env steps
// and forks) so that success can be plotted against compute. docs/evaluation.md
// "Inference-time strategies" is the user's guide; METHODS.md names the methods.
//
//   plain                      one episode, one policy (RunPlainEpisode)
//   best-of-n:N[,scorer=S]     resets the env, forks it N times and plays one candidate episode
//                              per fork; records the best by scorer S:
//                                verifier  passed, then score, then return (default)
//                                score     the verifier's score, then passed, then return
//                                reward    the episode's return (shaped reward)
//                                exec:P    program P (a reward model, a judge) given a file of
//                                          the candidates' transcripts only, printing a JSON
//                                          array of one score per candidate
//                              The first three read the scenario's verifier or reward, as
//                              best-of-N-with-a-verifier does: an upper bound for a model that
//                              must judge its own candidates. Ties go to the earliest candidate.
//   majority:N                 self-consistency: N candidates in forks, and the answer most of
//                              them submitted wins (answers compared trimmed, case- and
//                              space-folded); the first candidate with it is recorded. Nothing
//                              of the verifier is read. When no candidate submits an answer
//                              (tasks judged by the workspace), the candidates vote with their
//                              sequence of tool calls instead.
//   refine:R[,feedback=F]      self-refinement with execution feedback: plays an attempt in a fork;
//                              while the verifier says it failed and fewer than R rounds were
//                              spent, plays again from the initial state (a new fork) with the
//                              failed attempt's transcript and a feedback message as context.
//                              F = verifier (default): the message carries the verifier's detail;
//                              F = outcome: only that the attempt failed and how it ended.
//   budget:cap=C,waits=W,min=M budget forcing (s1) for policies that think in <think> blocks and
//                              can continue a partial message (Policy::can_continue): thinking
//                              of a turn is ended at C tokens by appending </think>; its first W
//                              attempts to end are suppressed by appending "Wait", and so are
//                              those before M tokens of thought (at most 16 Waits a turn). Any
//                              of C, W, M may be left out.
//
// Candidate k of best-of-n and majority, and round k of refine, get the policy
// factory(CandidateSeed(spec.policy_seed, k)); candidate 0's seed is the plain episode's, so the
// plain episode is always among the candidates: best-of-n with the verifier never lowers success.
//
// Thread-safety: runners are stateless and may be shared by eval's workers.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/eval.h"
#include "common/status.h"

namespace toolgym::agent {

struct StrategySpec {
  std::string name;                                  // plain, best-of-n, majority, refine, budget
  nlohmann::json params = nlohmann::json::object();  // the parameters, defaults filled in
  std::string canonical;  // the spec written back in one form ("best-of-n:4,scorer=verifier")
};

// Parses "NAME[:VALUE][,KEY=VALUE...]" (the first value may be given without its key: n for
// best-of-n and majority, rounds for refine). InvalidArgument naming the spec and what was
// expected otherwise.
StatusOr<StrategySpec> ParseStrategy(const std::string& spec);

// The runner of a parsed strategy.
EpisodeRunner MakeStrategyRunner(const StrategySpec& strategy);

// FailedPrecondition when `policy` cannot play `strategy` (budget forcing needs
// Policy::can_continue), naming both; OK otherwise.
Status CheckPolicyForStrategy(const StrategySpec& strategy, const Policy& policy);

// The policy seed of candidate (or round) k: k = 0 gives `policy_seed` itself.
std::uint64_t CandidateSeed(std::uint64_t policy_seed, int k);

// The strategies' names and one line on each, for --help and errors.
std::string StrategyHelp();

// What a strategy did over a run, from its episodes' "strategy" objects (null ones skipped):
// best-of-n and majority: candidates, how many passed per episode, how often any did (the oracle
// pass@N), which candidate was chosen; majority also the winning votes and how often they were a
// strict majority; refine: attempts used and the share solved by attempt r; budget: thinking
// and answer tokens per turn, the share of turns capped, Waits per turn. Null for plain and for
// runners it does not know.
nlohmann::json SummarizeStrategy(const std::string& name,
                                 const std::vector<nlohmann::json>& details);
// summary.json's "strategy" as a Markdown section ("" for null).
std::string StrategyMarkdown(const nlohmann::json& summary);

// Budget forcing as a policy wrapper (what the budget strategy plays with): Act runs the
// wrapped policy's Continue as described above. usage() is the wrapped policy's (every Continue
// is a call); `stats()` adds what forcing did.
class BudgetForcedPolicy : public Policy {
 public:
  struct Options {
    std::int64_t cap = 0;  // thinking tokens per turn; 0: no cap
    int waits = 0;         // ends of thinking suppressed per turn, whatever its length
    std::int64_t min = 0;  // suppress ends of thinking before this many tokens
  };
  struct Stats {
    std::int64_t thinking_tokens = 0;  // inside <think> blocks, over the episode
    std::int64_t answer_tokens = 0;    // after them
    int turns = 0;
    int turns_capped = 0;  // thinking ended by the cap
    int waits = 0;         // "Wait"s appended
  };
  BudgetForcedPolicy(std::unique_ptr<Policy> inner, Options options)
      : inner_(std::move(inner)), options_(options) {}
  std::string name() const override { return inner_->name(); }
  Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t seed) override;
  StatusOr<std::string> Act(const std::vector<envs::Message>& conversation) override;
  PolicyUsage usage() const override { return inner_->usage(); }
  const Stats& stats() const { return stats_; }

 private:
  std::unique_ptr<Policy> inner_;
  Options options_;
  Stats stats_;
};

}  // namespace toolgym::agent
