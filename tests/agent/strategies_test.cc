// Inference-time strategies (agent/strategies.h) and the scripted policies they are exercised
// with (agent/scripted_policies.h): spec parsing; best-of-N with the verifier never lowers
// success and its first candidate is the plain episode; majority vote picks the most submitted
// answer; self-refinement stops at the first success and shows the failed attempt and its
// feedback; budget forcing caps and extends thinking with the effects the thinker promises; the
// compute each reports; and the strategies inside toolgym eval (manifest, lines, resume).
#include "agent/strategies.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/scripted_policies.h"
#include "scenarios/registry.h"

namespace toolgym::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- parsing ----

TEST(ParseStrategyTest, CanonicalFormsAndDefaults) {
  struct Case {
    std::string in, canonical;
  };
  for (const Case& c : std::vector<Case>{
           {"plain", "plain"},
           {"best-of-n:4", "best-of-n:n=4,scorer=verifier"},
           {"best-of-n:n=8,scorer=reward", "best-of-n:n=8,scorer=reward"},
           {"Best-Of-N:2,scorer=score", "best-of-n:n=2,scorer=score"},
           {"majority:5", "majority:n=5"},
           {"refine:3", "refine:rounds=3,feedback=verifier"},
           {"refine:rounds=0,feedback=outcome", "refine:rounds=0,feedback=outcome"},
           {"budget:cap=64", "budget:cap=64"},
           {"budget:waits=2,min=100", "budget:waits=2,min=100"},
       }) {
    auto s = ParseStrategy(c.in);
    ASSERT_TRUE(s.ok()) << c.in << ": " << s.status().ToString();
    EXPECT_EQ(s->canonical, c.canonical) << c.in;
    // The canonical form parses to itself.
    auto again = ParseStrategy(s->canonical);
    ASSERT_TRUE(again.ok()) << s->canonical;
    EXPECT_EQ(again->canonical, s->canonical);
    EXPECT_EQ(again->params, s->params);
  }
  auto b = ParseStrategy("best-of-n:4");
  EXPECT_EQ(b->name, "best-of-n");
  EXPECT_EQ(b->params, (json{{"n", 4}, {"scorer", "verifier"}}));
}

TEST(ParseStrategyTest, BadSpecsNameWhatWasExpected) {
  struct Case {
    std::string in, needle;
  };
  for (const Case& c : std::vector<Case>{
           {"beam:4", "unknown strategy \"beam:4\""},
           {"best-of-n", "needs its parameters"},
           {"best-of-n:0", "n must be an integer in [1, 1024]"},
           {"best-of-n:x", "n must be an integer"},
           {"best-of-n:4,scorer=judge", "scorer must be one of verifier, score, reward"},
           {"best-of-n:4,k=2", "unknown parameter \"k\""},
           {"majority:3,n=4", "n is given twice"},
           {"refine:101", "rounds must be an integer in [0, 100]"},
           {"budget:64", "\"64\" is not KEY=VALUE"},
           {"budget:waits=17", "waits must be an integer in [0, 16]"},
           {"budget", "needs its parameters"},
           {"plain:n=2", "plain takes none"},
       }) {
    auto s = ParseStrategy(c.in);
    ASSERT_FALSE(s.ok()) << c.in;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << c.in;
    EXPECT_NE(s.status().message().find(c.needle), std::string::npos)
        << c.in << ": " << s.status().message();
  }
}

// ---- what a run's strategy did, summarized (hand-computed) ----

TEST(SummarizeStrategyTest, BestOfNAndMajority) {
  auto cand = [](bool s) { return json{{"success", s}}; };
  const std::vector<json> bon = {
      {{"chosen", 0}, {"candidates", {cand(true), cand(false), cand(false)}}},
      {{"chosen", 2}, {"candidates", {cand(false), cand(false), cand(true)}}},
      {{"chosen", 0}, {"candidates", {cand(false), cand(false), cand(false)}}},
      json()};  // a plain line (an errored episode) is skipped
  const json s = SummarizeStrategy("best-of-n", bon);
  EXPECT_EQ(s["episodes"], 3);
  EXPECT_EQ(s["candidates"], 3);
  EXPECT_DOUBLE_EQ(s["mean_candidates_passed"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(s["any_passed_rate"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(s["chosen_passed_rate"].get<double>(), 2.0 / 3);
  EXPECT_EQ(s["chosen_histogram"], json({2, 0, 1}));
  const std::vector<json> maj = {
      {{"chosen", 1},
       {"votes", 3},
       {"ballot", "answer"},
       {"candidates", {cand(false), cand(true), cand(true), cand(true), cand(false)}}},
      {{"chosen", 0},
       {"votes", 2},
       {"ballot", "tool_calls"},
       {"candidates", {cand(false), cand(false), cand(true), cand(true), cand(false)}}}};
  const json m = SummarizeStrategy("majority", maj);
  EXPECT_DOUBLE_EQ(m["mean_winning_votes"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(m["strict_majority_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["answer_ballot_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["any_passed_rate"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m["chosen_passed_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["mean_candidates_passed"].get<double>(), 2.5);
  EXPECT_TRUE(SummarizeStrategy("plain", bon).is_null());
  EXPECT_TRUE(SummarizeStrategy("best-of-n", {json(), json()}).is_null());
  const std::string md = StrategyMarkdown(s);
  EXPECT_NE(md.find("## Strategy: best-of-n"), std::string::npos) << md;
  EXPECT_NE(md.find("the oracle pass@3"), std::string::npos) << md;
}

TEST(SummarizeStrategyTest, RefineAndBudget) {
  auto att = [](bool s) { return json{{"success", s}}; };
  const std::vector<json> refine = {{{"attempts", {att(true)}}},
                                    {{"attempts", {att(false), att(true)}}},
                                    {{"attempts", {att(false), att(false), att(false)}}}};
  const json r = SummarizeStrategy("refine", refine);
  EXPECT_EQ(r["attempts_histogram"], json({1, 1, 1}));
  ASSERT_EQ(r["solved_by_attempt"].size(), 3u);
  EXPECT_DOUBLE_EQ(r["solved_by_attempt"][0].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(r["solved_by_attempt"][1].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(r["solved_by_attempt"][2].get<double>(), 2.0 / 3);
  const std::vector<json> budget = {{{"thinking_tokens", 100},
                                     {"answer_tokens", 20},
                                     {"turns", 4},
                                     {"turns_capped", 1},
                                     {"waits", 2}},
                                    {{"thinking_tokens", 60},
                                     {"answer_tokens", 10},
                                     {"turns", 2},
                                     {"turns_capped", 0},
                                     {"waits", 0}}};
  const json b = SummarizeStrategy("budget", budget);
  EXPECT_DOUBLE_EQ(b["thinking_tokens_per_turn"].get<double>(), 160.0 / 6);
  EXPECT_DOUBLE_EQ(b["answer_tokens_per_turn"].get<double>(), 30.0 / 6);
  EXPECT_DOUBLE_EQ(b["capped_turn_rate"].get<double>(), 1.0 / 6);
  EXPECT_DOUBLE_EQ(b["waits_per_turn"].get<double>(), 2.0 / 6);
  EXPECT_NE(StrategyMarkdown(r).find("33.3%, 66.7%, 66.7%"), std::string::npos)
      << StrategyMarkdown(r);
}

TEST(CandidateSeedTest, FirstCandidateIsThePlainEpisode) {
  EXPECT_EQ(CandidateSeed(12345, 0), 12345u);
  std::set<std::uint64_t> seeds;
  for (int k = 0; k < 64; ++k) seeds.insert(CandidateSeed(12345, k));
  EXPECT_EQ(seeds.size(), 64u);
}

// ---- runners on real envs ----

class StrategyRunTest : public ::testing::Test {
 protected:
  envs::Env& Env(const std::string& scenario) {
    auto it = envs_.find(scenario);
    if (it == envs_.end()) {
      auto e = scenarios::Make(scenario, json{{"split", "test"}});
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      it = envs_.emplace(scenario, std::move(e).value()).first;
    }
    return *it->second;
  }
  static PolicyFactory Factory(const std::string& spec) {
    auto f = PolicyFactoryFromSpec(spec);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return *f;
  }
  StatusOr<EvalEpisode> Run(const std::string& strategy, const std::string& policy,
                            const std::string& scenario, std::uint64_t seed,
                            std::uint64_t policy_seed) {
    auto s = ParseStrategy(strategy);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    EpisodeSpec spec{scenario, seed, 0, policy_seed, 200};
    return MakeStrategyRunner(*s)(Env(scenario), Factory(policy), spec);
  }
  static std::vector<std::string> Actions(const Trajectory& t) {
    std::vector<std::string> out;
    for (const TrajectoryStep& s : t.steps) out.push_back(s.action);
    return out;
  }
  std::map<std::string, std::unique_ptr<envs::Env>> envs_;
};

// Instances of families with short episodes, of three env kinds; answers and workspace state.
const std::vector<std::string> kFamilies = {
    "shell.count_matches", "shell.edit_config", "search.hop1",
    "search.hop2",         "web.info",          "web.shop_easy"};
// The i-th seed of the family's test split.
std::uint64_t TestSeed(const std::string& id, int i) {
  return scenarios::ScenarioRegistry::Default().Find(id)->test_seeds().begin +
         static_cast<std::uint64_t>(i);
}

TEST_F(StrategyRunTest, BestOfNWithTheExpertsVerifierKeepsItsSuccess) {
  for (const std::string& id : kFamilies)
    for (int i = 0; i < 2; ++i) {
      auto plain = Run("plain", "expert", id, TestSeed(id, i), 7);
      auto best = Run("best-of-n:3", "expert", id, TestSeed(id, i), 7);
      ASSERT_TRUE(plain.ok() && best.ok()) << id;
      EXPECT_TRUE(plain->trajectory.success) << id;
      EXPECT_TRUE(best->trajectory.success) << id;
      EXPECT_EQ(Actions(best->trajectory), Actions(plain->trajectory)) << id;
      // Three candidates' compute: three forks, three times the steps and calls.
      EXPECT_EQ(best->compute.env_forks, 3) << id;
      EXPECT_EQ(best->compute.env_steps, 3 * plain->compute.env_steps) << id;
      EXPECT_EQ(best->compute.policy_calls, 3 * plain->compute.policy_calls) << id;
      EXPECT_EQ(best->strategy["candidates"].size(), 3u);
      EXPECT_EQ(best->strategy["chosen"], 0) << id;
    }
}

TEST_F(StrategyRunTest, BestOfNNeverLowersSuccessAndRaisesItForANoisyPolicy) {
  int plain_wins = 0, best_wins = 0, instances = 0;
  for (const std::string& id : kFamilies)
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t ps = 100 + i;
      auto plain = Run("plain", "noisy-expert:0.35", id, TestSeed(id, i), ps);
      auto best = Run("best-of-n:4", "noisy-expert:0.35", id, TestSeed(id, i), ps);
      ASSERT_TRUE(plain.ok()) << plain.status().ToString();
      ASSERT_TRUE(best.ok()) << best.status().ToString();
      ++instances;
      plain_wins += plain->trajectory.success;
      best_wins += best->trajectory.success;
      // The plain episode is candidate 0, played in a fork: the same actions and outcome.
      const json& c0 = best->strategy["candidates"][0];
      EXPECT_EQ(c0["success"], plain->trajectory.success) << id << " " << i;
      EXPECT_EQ(c0["turns"], plain->trajectory.steps.size()) << id << " " << i;
      if (plain->trajectory.success) {
        EXPECT_TRUE(best->trajectory.success) << id << " " << i;
      }
      // The recorded episode is the best candidate: none passed that it did not.
      bool any = false;
      for (const json& c : best->strategy["candidates"]) any = any || c["success"].get<bool>();
      EXPECT_EQ(best->trajectory.success, any) << id << " " << i;
      const int chosen = best->strategy["chosen"].get<int>();
      EXPECT_EQ(best->strategy["candidates"][chosen]["success"], best->trajectory.success);
    }
  EXPECT_GE(best_wins, plain_wins);
  // With eps = 0.35 over episodes of 2-8 turns, the noisy expert fails often enough alone and
  // one of four samples succeeds often enough that the difference shows.
  EXPECT_LT(plain_wins, instances);
  EXPECT_GT(best_wins, plain_wins);
}

// A scorer program for best-of-n (scorer=exec:PROGRAM), written to a temporary file.
class ScorerProgram {
 public:
  explicit ScorerProgram(const std::string& body) {
    path_ = fs::temp_directory_path() /
            ("toolgym_scorer_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::ofstream(path_) << body;
    fs::permissions(path_, fs::perms::owner_all);
  }
  ~ScorerProgram() { fs::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

TEST_F(StrategyRunTest, BestOfNWithAScorerProgramPicksItsTopCandidate) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "needs /usr/bin/python3 for the scorer";
  // Prefers the shortest transcript; fails if the candidates carry anything but messages (the
  // verifier's outcome must not leak to a scorer).
  ScorerProgram shortest(R"(#!/usr/bin/python3
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"scenario", "seed", "candidates"}, d.keys()
for c in d["candidates"]:
    if set(c) != {"messages"}:
        sys.exit(3)
print(json.dumps([-sum(m["role"] == "assistant" for m in c["messages"]) for c in d["candidates"]]))
)");
  int checked = 0;
  for (const std::string& id : {"search.hop2", "web.shop_easy", "shell.count_matches"})
    for (int i = 0; i < 2; ++i) {
      auto r = Run("best-of-n:4,scorer=exec:" + shortest.path(), "noisy-expert:0.4", id,
                   TestSeed(id, i), 50 + i);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      const json& cands = r->strategy["candidates"];
      ASSERT_EQ(cands.size(), 4u);
      int best = 0;
      for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(cands[k]["scorer_score"].get<double>(), -cands[k]["turns"].get<double>());
        if (cands[k]["turns"] < cands[best]["turns"]) best = k;
      }
      EXPECT_EQ(r->strategy["chosen"], best) << id << " " << i;
      EXPECT_EQ(r->trajectory.steps.size(), cands[best]["turns"].get<size_t>());
      ++checked;
    }
  EXPECT_EQ(checked, 6);
}

TEST_F(StrategyRunTest, ScorerProgramFailuresAreNamedErrors) {
  ScorerProgram fails("#!/bin/sh\necho 'no model loaded' >&2\nexit 3\n");
  auto r = Run("best-of-n:2,scorer=exec:" + fails.path(), "expert", "search.hop1",
               TestSeed("search.hop1", 0), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exited with status 3"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("no model loaded"), std::string::npos);
  ScorerProgram short_list("#!/bin/sh\necho '[1]'\n");
  auto s = Run("best-of-n:3,scorer=exec:" + short_list.path(), "expert", "search.hop1",
               TestSeed("search.hop1", 0), 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("expected a JSON array of 3 finite numbers"),
            std::string::npos)
      << s.status().message();
  auto missing = ParseStrategy("best-of-n:2,scorer=exec:/no/such/scorer");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no executable file there"), std::string::npos)
      << missing.status().message();
}

TEST_F(StrategyRunTest, MajorityVotePicksTheMostSubmittedAnswer) {
  int checked = 0;
  for (const std::string& id : {"search.hop1", "shell.count_matches", "web.info"})
    for (int i = 0; i < 3; ++i) {
      auto r = Run("majority:5", "noisy-expert:0.3", id, TestSeed(id, i), 40 + i);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      const json& s = r->strategy;
      ASSERT_EQ(s["candidates"].size(), 5u);
      if (s["ballot"] != "answer") continue;  // no candidate answered
      ++checked;
      // Recount the votes from the candidates' answers.
      std::map<std::string, int> votes;
      for (const json& c : s["candidates"])
        if (c.contains("answer")) {
          std::string a = c["answer"].get<std::string>();
          std::string norm;
          for (char ch : a) norm += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          while (!norm.empty() && std::isspace(static_cast<unsigned char>(norm.back())))
            norm.pop_back();
          if (!norm.empty() && norm.back() == '.') norm.pop_back();
          ++votes[norm];
        }
      int top = 0;
      for (const auto& [a, n] : votes) top = std::max(top, n);
      EXPECT_EQ(s["votes"], top) << id << " " << i;
      // The chosen candidate holds a most-voted answer and is the first that does.
      const int chosen = s["chosen"].get<int>();
      const json& c = s["candidates"][chosen];
      ASSERT_TRUE(c.contains("answer"));
      EXPECT_EQ(c["success"], r->trajectory.success);
      int tally_total = 0;
      for (const json& t : s["tally"]) tally_total += t["votes"].get<int>();
      int answered = 0;
      for (const json& cc : s["candidates"]) answered += cc.contains("answer");
      EXPECT_EQ(tally_total, answered);
      EXPECT_EQ(s["tally"][0]["votes"].get<int>() >= 1, true);
      EXPECT_EQ(r->compute.env_forks, 5);
    }
  EXPECT_GT(checked, 0);
}

TEST_F(StrategyRunTest, MajorityOfTheExpertIsTheExpert) {
  auto plain = Run("plain", "expert", "search.hop2", TestSeed("search.hop2", 0), 1);
  auto maj = Run("majority:3", "expert", "search.hop2", TestSeed("search.hop2", 0), 1);
  ASSERT_TRUE(plain.ok() && maj.ok());
  EXPECT_TRUE(maj->trajectory.success);
  EXPECT_EQ(maj->strategy["votes"], 3);
  EXPECT_EQ(maj->strategy["tally"].size(), 1u);
  EXPECT_EQ(Actions(maj->trajectory), Actions(plain->trajectory));
}

// Records every conversation its policies are given (a factory wrapper).
struct Recorder {
  std::vector<std::vector<envs::Message>> seen;
};

class RecordingPolicy : public Policy {
 public:
  RecordingPolicy(std::unique_ptr<Policy> inner, Recorder* rec)
      : inner_(std::move(inner)), rec_(rec) {}
  std::string name() const override { return inner_->name(); }
  Status BeginEpisode(const envs::Task& t, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t seed) override {
    return inner_->BeginEpisode(t, tools, seed);
  }
  StatusOr<std::string> Act(const std::vector<envs::Message>& c) override {
    rec_->seen.push_back(c);
    return inner_->Act(c);
  }
  PolicyUsage usage() const override { return inner_->usage(); }

 private:
  std::unique_ptr<Policy> inner_;
  Recorder* rec_;
};

TEST_F(StrategyRunTest, RefineRetriesWithTheFailedAttemptAndStopsAtSuccess) {
  int improved = 0, instances = 0;
  for (const std::string& id : kFamilies)
    for (int i = 0; i < 3; ++i) {
      const std::uint64_t ps = 900 + i;
      auto plain = Run("plain", "noisy-expert:0.35", id, TestSeed(id, i), ps);
      Recorder rec;
      auto inner = Factory("noisy-expert:0.35");
      PolicyFactory f = [&](std::uint64_t seed) -> StatusOr<std::unique_ptr<Policy>> {
        TG_ASSIGN_OR_RETURN(auto p, inner(seed));
        return std::unique_ptr<Policy>(new RecordingPolicy(std::move(p), &rec));
      };
      auto s = ParseStrategy("refine:3");
      auto r = MakeStrategyRunner(*s)(Env(id), f, EpisodeSpec{id, TestSeed(id, i), 0, ps, 200});
      ASSERT_TRUE(plain.ok() && r.ok()) << r.status().ToString();
      ++instances;
      const json& attempts = r->strategy["attempts"];
      ASSERT_GE(attempts.size(), 1u);
      ASSERT_LE(attempts.size(), 4u);
      // Attempt 0 is the plain episode.
      EXPECT_EQ(attempts[0]["success"], plain->trajectory.success);
      // It stops at the first success, and only then or after the last round.
      for (size_t k = 0; k + 1 < attempts.size(); ++k) EXPECT_FALSE(attempts[k]["success"]);
      EXPECT_EQ(r->trajectory.success, attempts.back()["success"].get<bool>());
      if (!r->trajectory.success) EXPECT_EQ(attempts.size(), 4u);
      if (plain->trajectory.success) EXPECT_EQ(attempts.size(), 1u);
      improved += !plain->trajectory.success && r->trajectory.success;
      EXPECT_EQ(r->compute.env_forks, static_cast<std::int64_t>(attempts.size()));
      std::int64_t steps = 0;
      for (const json& a : attempts) steps += a["turns"].get<std::int64_t>();
      EXPECT_EQ(r->compute.env_steps, steps);
      // A second attempt's first action saw the first attempt and the feedback.
      if (attempts.size() >= 2) {
        const size_t first_turns = attempts[0]["turns"].get<size_t>();
        ASSERT_GT(rec.seen.size(), first_turns);
        EXPECT_FALSE(attempts[0].contains("error"));  // the scripted policy never errs
        const std::vector<envs::Message>& conv = rec.seen[first_turns];
        ASSERT_FALSE(conv.empty());
        EXPECT_EQ(conv.back().role, "user");
        EXPECT_NE(conv.back().content.find("Your previous attempt did not succeed"),
                  std::string::npos);
        EXPECT_NE(conv.back().content.find("initial state"), std::string::npos);
        int assistant = 0;
        for (const envs::Message& m : conv) assistant += m.role == "assistant";
        EXPECT_EQ(assistant, static_cast<int>(first_turns));
      }
    }
  EXPECT_GT(improved, 0);
}

TEST_F(StrategyRunTest, BudgetForcingNeedsAPolicyThatCanContinue) {
  auto r = Run("budget:cap=32", "expert", "search.hop1", TestSeed("search.hop1", 0), 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("cannot continue a partial message"), std::string::npos);
}

TEST_F(StrategyRunTest, BudgetCapLowersAndWaitRaisesTheThinkersSuccess) {
  int plain_wins = 0, capped_wins = 0, waited_wins = 0, n = 0;
  std::int64_t plain_tokens = 0, plain_turns = 0, waited_tokens = 0, waited_turns = 0;
  for (const std::string& id : kFamilies)
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t ps = 300 + i;
      auto plain = Run("plain", "thinker", id, TestSeed(id, i), ps);
      auto capped = Run("budget:cap=40", "thinker", id, TestSeed(id, i), ps);
      auto waited = Run("budget:waits=2", "thinker", id, TestSeed(id, i), ps);
      ASSERT_TRUE(plain.ok()) << plain.status().ToString();
      ASSERT_TRUE(capped.ok()) << capped.status().ToString();
      ASSERT_TRUE(waited.ok()) << waited.status().ToString();
      ++n;
      plain_wins += plain->trajectory.success;
      capped_wins += capped->trajectory.success;
      waited_wins += waited->trajectory.success;
      // Thought only grows with Waits and only shrinks under a cap, turn by turn.
      if (plain->trajectory.success) EXPECT_TRUE(waited->trajectory.success) << id << " " << i;
      if (capped->trajectory.success) EXPECT_TRUE(plain->trajectory.success) << id << " " << i;
      // The cap holds: at most 40 tokens of thought per turn.
      const json& cs = capped->strategy;
      EXPECT_LE(cs["thinking_tokens"].get<std::int64_t>(), 40 * cs["turns"].get<std::int64_t>());
      EXPECT_EQ(cs["waits"], 0);
      EXPECT_EQ(waited->strategy["waits"], 2 * waited->strategy["turns"].get<int>());
      // Tokens are the thinker's and are reported as compute.
      EXPECT_TRUE(waited->compute.tokens_reported);
      plain_tokens += plain->compute.completion_tokens;
      plain_turns += static_cast<std::int64_t>(plain->trajectory.steps.size());
      waited_tokens += waited->compute.completion_tokens;
      waited_turns += static_cast<std::int64_t>(waited->trajectory.steps.size());
      EXPECT_EQ(waited->compute.completion_tokens,
                waited->strategy["thinking_tokens"].get<std::int64_t>() +
                    waited->strategy["answer_tokens"].get<std::int64_t>());
      // Every action is a think block and then the call.
      for (const TrajectoryStep& s : waited->trajectory.steps) {
        EXPECT_EQ(s.action.rfind("<think>\n", 0), 0u) << s.action.substr(0, 80);
        EXPECT_NE(s.action.find("\nWait"), std::string::npos);
        EXPECT_NE(s.action.find("</think>"), std::string::npos);
      }
    }
  EXPECT_LT(capped_wins, plain_wins);
  EXPECT_GT(waited_wins, plain_wins);
  // Waits buy that success with tokens: more per turn.
  EXPECT_GT(static_cast<double>(waited_tokens) / waited_turns,
            1.3 * static_cast<double>(plain_tokens) / plain_turns);
}

// ---- the thinker's contract ----

TEST(ThinkerTest, ContinueStopsAtTheCapAndAtTheCloseAndExtendsAfterWait) {
  auto env = scenarios::Make("search.hop1", json{{"split", "test"}});
  ASSERT_TRUE(env.ok());
  auto reset = (*env)->Reset(TestSeed("search.hop1", 0));
  ASSERT_TRUE(reset.ok());
  ThinkerPolicy p(5);
  ASSERT_TRUE(p.BeginEpisode(*(*env)->task(), (*env)->Tools(), TestSeed("search.hop1", 0)).ok());
  const auto& conv = reset->observation.messages;
  const int natural = p.Natural(0);
  ASSERT_GE(natural, 12);
  // Capped below its natural length: "length", exactly the cap's tokens.
  auto c = p.Continue(conv, {"", 10, {"</think>"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->finish_reason, "length");
  EXPECT_EQ(c->tokens, 10);
  EXPECT_EQ(c->text.rfind("<think>\n", 0), 0u);
  // Resumed with room: stops before "</think>" after `natural` words in all.
  auto d = p.Continue(conv, {c->text, 0, {"</think>"}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->finish_reason, "stop");
  EXPECT_EQ(d->text.find("</think>"), std::string::npos);
  EXPECT_EQ(d->tokens, natural - 9);  // the first call's 10 include "<think>"
  // Told to wait: Extension(0, 0) more words.
  auto e = p.Continue(conv, {c->text + d->text + "\nWait", 0, {"</think>"}});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->tokens, p.Extension(0, 0));
  // Closed: the answer follows, the expert's call when thought reached the need.
  auto a = p.Continue(conv, {c->text + d->text + "\n</think>\n", 0, {}});
  ASSERT_TRUE(a.ok());
  EXPECT_NE(a->text.find("<tool_call>"), std::string::npos) << a->text;
  EXPECT_EQ(p.usage().calls, 4);
  EXPECT_TRUE(p.usage().tokens_reported);
  // The need and natural length are drawn in their documented ranges.
  for (int t = 0; t < 50; ++t) {
    EXPECT_GE(p.Needed(t), 32);
    EXPECT_LE(p.Needed(t), 256);
    EXPECT_GE(p.Natural(t), static_cast<int>(0.4 * p.Needed(t)) - 1);
    EXPECT_LE(p.Natural(t), static_cast<int>(1.6 * p.Needed(t)) + 1);
  }
}

TEST(ScriptedPolicyTest, SpecsAndErrors) {
  EXPECT_TRUE(PolicyFactoryFromSpec("noisy-expert:0").ok());
  EXPECT_TRUE(PolicyFactoryFromSpec("noisy-expert:0.25").ok());
  EXPECT_TRUE(PolicyFactoryFromSpec("thinker").ok());
  for (const std::string bad : {"noisy-expert:", "noisy-expert:1.5", "noisy-expert:-0.1",
                                "noisy-expert:abc", "noisy-expert:0.1x"}) {
    auto f = PolicyFactoryFromSpec(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_NE(f.status().message().find("EPS a number in [0, 1]"), std::string::npos)
        << f.status().message();
  }
}

TEST_F(StrategyRunTest, NoisyExpertAtZeroIsTheExpertAndAtOneNeverSolves) {
  for (const std::string& id : {"shell.count_matches", "search.hop2", "web.shop_easy"}) {
    auto expert = Run("plain", "expert", id, TestSeed(id, 1), 3);
    auto zero = Run("plain", "noisy-expert:0", id, TestSeed(id, 1), 3);
    auto one = Run("plain", "noisy-expert:1", id, TestSeed(id, 1), 3);
    ASSERT_TRUE(expert.ok() && zero.ok() && one.ok());
    EXPECT_EQ(Actions(zero->trajectory), Actions(expert->trajectory)) << id;
    EXPECT_TRUE(zero->trajectory.success);
    EXPECT_FALSE(one->trajectory.success) << id;
  }
}

TEST_F(StrategyRunTest, StrategiesRepeat) {
  for (const std::string& strategy : {"best-of-n:3", "majority:3", "refine:2", "budget:cap=64"}) {
    const std::string policy = strategy.rfind("budget", 0) == 0 ? "thinker" : "noisy-expert:0.3";
    auto a = Run(strategy, policy, "search.hop2", TestSeed("search.hop2", 2), 77);
    auto b = Run(strategy, policy, "search.hop2", TestSeed("search.hop2", 2), 77);
    ASSERT_TRUE(a.ok() && b.ok()) << strategy;
    EXPECT_EQ(Actions(a->trajectory), Actions(b->trajectory)) << strategy;
    EXPECT_EQ(a->strategy, b->strategy) << strategy;
    EXPECT_EQ(ToJson(a->compute), ToJson(b->compute)) << strategy;
  }
}

// ---- inside toolgym eval ----

class StrategyEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("toolgym_strategy_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  EvalOptions Options(const std::string& policy, const std::string& strategy,
                      const std::string& out) {
    EvalOptions o;
    o.scenarios = {"search.hop1", "web.info"};
    o.episodes = 3;
    o.threads = 2;
    o.out_dir = (dir_ / out).string();
    o.policy_spec = policy;
    o.policy = PolicyFactoryFromSpec(policy).value();
    o.strategy = strategy;
    return o;
  }
  fs::path dir_;
};

TEST_F(StrategyEvalTest, ManifestLinesAndComputeOfAStrategyRun) {
  auto r = RunEval(Options("noisy-expert:0.3", "best-of-n:3", "bon"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->manifest["strategy"], "best-of-n:n=3,scorer=verifier");
  EXPECT_EQ(r->manifest["strategy_params"], (json{{"n", 3}, {"scorer", "verifier"}}));
  EXPECT_TRUE(r->manifest["policy_options"].is_null());
  std::ifstream in(dir_ / "bon" / "trajectories.jsonl");
  int lines = 0;
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    ++lines;
    EXPECT_EQ(j["strategy"]["candidates"].size(), 3u);
    EXPECT_EQ(j["compute"]["env_forks"], 3);
    // The compute is every candidate's: their turns are the env steps.
    std::int64_t steps = 0;
    for (const json& c : j["strategy"]["candidates"]) steps += c["turns"].get<std::int64_t>();
    EXPECT_EQ(j["compute"]["env_steps"], steps);
    const int chosen = j["strategy"]["chosen"].get<int>();
    EXPECT_EQ(j["turns"], j["strategy"]["candidates"][chosen]["turns"]);
  }
  EXPECT_EQ(lines, 6);
  const json& c = r->summary["groups"]["overall"]["compute"];
  EXPECT_DOUBLE_EQ(c["env_forks"].get<double>(), 3.0);
  // The strategy's own summary agrees with the overall success (verifier scorer: the chosen
  // candidate passed exactly when any did) and shows in the report.
  const json& st = r->summary["strategy"];
  ASSERT_TRUE(st.is_object());
  EXPECT_EQ(st["name"], "best-of-n");
  EXPECT_EQ(st["episodes"], 6);
  EXPECT_DOUBLE_EQ(st["any_passed_rate"].get<double>(),
                   r->summary["groups"]["overall"]["success_rate"].get<double>());
  std::ifstream report(dir_ / "bon" / "report.md");
  const std::string md((std::istreambuf_iterator<char>(report)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("## Strategy: best-of-n"), std::string::npos);
  // A plain run of the same policy: a third of the compute, no more success.
  auto p = RunEval(Options("noisy-expert:0.3", "plain", "plain"));
  ASSERT_TRUE(p.ok());
  EXPECT_GE(r->summary["groups"]["overall"]["success_rate"].get<double>(),
            p->summary["groups"]["overall"]["success_rate"].get<double>());
  EXPECT_DOUBLE_EQ(p->summary["groups"]["overall"]["compute"]["env_forks"].get<double>(), 0.0);
}

TEST_F(StrategyEvalTest, ResumeMustMatchTheStrategy) {
  EvalOptions o = Options("noisy-expert:0.3", "majority:3", "maj");
  o.threads = 1;
  o.stop_after = 2;
  ASSERT_TRUE(RunEval(o).ok());
  EvalOptions other = Options("noisy-expert:0.3", "majority:5", "maj");
  other.resume = true;
  auto bad = RunEval(other);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("strategy"), std::string::npos) << bad.status().message();
  o.stop_after = 0;
  o.resume = true;
  auto done = RunEval(o);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->complete);
  EXPECT_EQ(done->episodes_resumed, 2);
  // The same as an uninterrupted run.
  auto whole = RunEval(Options("noisy-expert:0.3", "majority:3", "whole"));
  ASSERT_TRUE(whole.ok());
  json a = done->summary["groups"], b = whole->summary["groups"];
  for (json* g : {&a, &b})
    for (auto& [k, v] : g->items()) v.erase("wall_ms");
  EXPECT_EQ(a["overall"]["success_rate"], b["overall"]["success_rate"]);
  EXPECT_EQ(a["overall"]["compute"], b["overall"]["compute"]);
}

TEST_F(StrategyEvalTest, ABadStrategyIsAnErrorBeforeAnythingRuns) {
  auto r = RunEval(Options("expert", "best-of-n:0", "bad"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("n must be an integer in [1, 1024]"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "manifest.json"));
  // Budget forcing with a policy that cannot continue messages: refused before any episode.
  auto budget = RunEval(Options("expert", "budget:cap=64", "budget"));
  ASSERT_FALSE(budget.ok());
  EXPECT_EQ(budget.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(budget.status().message().find("policy expert cannot continue a partial message"),
            std::string::npos)
      << budget.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "budget" / "manifest.json"));
}

}  // namespace
}  // namespace toolgym::agent
