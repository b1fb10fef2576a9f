// Policies: replay of recorded trajectories (the same episode again, errors naming file,
// scenario and seed), policy specs, usage counts, and the trajectory fields they fill.
#include "agent/policy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "agent/rollout.h"
#include "envs/info.h"
#include "scenarios/registry.h"

namespace toolgym::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("toolgym_policy_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Records `policy` on seeds of `scenario` into `file`.
  void Record(const std::string& scenario, const std::string& policy,
              const std::vector<std::uint64_t>& seeds, const fs::path& file) {
    auto env = scenarios::Make(scenario);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    auto writer = TrajectoryWriter::Open(file.string());
    ASSERT_TRUE(writer.ok());
    for (std::uint64_t seed : seeds) {
      auto p = MakePolicy(policy, seed);
      ASSERT_TRUE(p.ok());
      auto t = RunEpisode(**env, **p, seed);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      ASSERT_TRUE((*writer)->Write(*t).ok());
      recorded_.push_back(*t);
    }
  }

  fs::path dir_;
  std::vector<Trajectory> recorded_;
};

// Observations, rewards and info of two trajectories, timings aside.
void ExpectSameEpisode(const Trajectory& a, const Trajectory& b) {
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (std::size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].action, b.steps[i].action) << i;
    EXPECT_EQ(json(a.steps[i].observation), json(b.steps[i].observation)) << i;
    EXPECT_EQ(a.steps[i].reward, b.steps[i].reward) << i;
    EXPECT_EQ(envs::WithoutTimings(a.steps[i].info), envs::WithoutTimings(b.steps[i].info)) << i;
  }
  EXPECT_EQ(a.success, b.success);
  EXPECT_EQ(a.total_reward, b.total_reward);
  EXPECT_EQ(a.end_reason, b.end_reason);
}

TEST_F(PolicyTest, ReplayPlaysTheRecordedEpisodeAgain) {
  const fs::path file = dir_ / "random.jsonl";
  // The random policy: its episodes are not the expert's, so a replay that played anything else
  // would differ. Seeds on both splits.
  Record("shell.count_matches", "random", {3, 4, 10005}, file);
  Record("web.forms", "expert", {10007}, file);
  auto factory = PolicyFactoryFromSpec("replay:" + file.string());
  ASSERT_TRUE(factory.ok()) << factory.status().ToString();
  for (const Trajectory& want : recorded_) {
    auto env = scenarios::Make(want.scenario);
    ASSERT_TRUE(env.ok());
    auto replay = (*factory)(0);
    ASSERT_TRUE(replay.ok());
    EXPECT_EQ((*replay)->name(), "replay");
    auto got = RunEpisode(**env, **replay, want.seed);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(got->error.empty()) << got->error;
    ExpectSameEpisode(want, *got);
    EXPECT_EQ(got->usage.calls, static_cast<std::int64_t>(want.steps.size()));
    EXPECT_EQ(got->policy, "replay");
  }
}

TEST_F(PolicyTest, ReplayErrorsNameTheFileScenarioAndSeed) {
  const fs::path file = dir_ / "expert.jsonl";
  Record("shell.count_matches", "expert", {5}, file);
  auto replay = ReplayPolicy::Open(file.string());
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  auto env = scenarios::Make("shell.count_matches");
  ASSERT_TRUE(env.ok());

  // An instance that was not recorded.
  ASSERT_TRUE((*env)->Reset(6).ok());
  Status missing = (*replay)->BeginEpisode(*(*env)->task(), (*env)->Tools(), 6);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(),
            "replay: " + file.string() + " has no episode of shell.count_matches with seed 6");
  // RunEpisode fails when its policy cannot begin the episode.
  EXPECT_FALSE(RunEpisode(**env, **replay, 6).ok());

  // An episode longer than its recording: the recorded actions minus the last (submit), then
  // one more action asked for.
  ASSERT_TRUE((*env)->Reset(5).ok());
  ASSERT_TRUE((*replay)->BeginEpisode(*(*env)->task(), (*env)->Tools(), 5).ok());
  const std::size_t n = recorded_[0].steps.size();
  std::vector<envs::Message> conv;
  for (std::size_t i = 0; i < n; ++i) {
    auto a = (*replay)->Act(conv);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, recorded_[0].steps[i].action);
  }
  auto over = (*replay)->Act(conv);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(), "replay: the recording of shell.count_matches seed 5 in " +
                                         file.string() + " has " + std::to_string(n) +
                                         " actions; the episode asks for action " +
                                         std::to_string(n + 1));

  // A recording of another scenario version.
  std::ifstream in(file);
  json j = json::parse(in);
  j["version"] = "0.0.1-old";
  const fs::path old = dir_ / "old.jsonl";
  std::ofstream(old) << j.dump() << "\n";
  auto stale = ReplayPolicy::Open(old.string());
  ASSERT_TRUE(stale.ok());
  Status version = (*stale)->BeginEpisode(*(*env)->task(), (*env)->Tools(), 5);
  EXPECT_EQ(version.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(version.message().find("at scenario version 0.0.1-old, but this is version"),
            std::string::npos)
      << version.message();
}

TEST_F(PolicyTest, SpecsAndTheirErrors) {
  auto expert = PolicyFactoryFromSpec("expert");
  ASSERT_TRUE(expert.ok());
  EXPECT_EQ((*expert)(0).value()->name(), "expert");
  auto random = PolicyFactoryFromSpec("random");
  ASSERT_TRUE(random.ok());
  EXPECT_EQ((*random)(3).value()->name(), "random");

  auto unknown = PolicyFactoryFromSpec("greedy");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "unknown policy \"greedy\"; expected expert, random, replay:FILE, noisy-expert:EPS or "
            "thinker");
  auto empty = PolicyFactoryFromSpec("replay:");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "policy \"replay:\" needs a file: replay:FILE");
  auto absent = PolicyFactoryFromSpec("replay:" + (dir_ / "none.jsonl").string());
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.status().code(), StatusCode::kNotFound);
  const fs::path bad = dir_ / "bad.jsonl";
  std::ofstream(bad) << "{\"schema\": \"toolgym.trajectory/1\"}\nnot json\n";
  auto malformed = PolicyFactoryFromSpec("replay:" + bad.string());
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.status().message().find(bad.string() + ":1: malformed trajectory"),
            std::string::npos)
      << malformed.status().message();
}

TEST_F(PolicyTest, UsageCountsActionsPerEpisodeAndRoundTrips) {
  auto env = scenarios::Make("web.info");
  ASSERT_TRUE(env.ok());
  auto expert = MakePolicy("expert");
  ASSERT_TRUE(expert.ok());
  auto t1 = RunEpisode(**env, **expert, 1);
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(t1->usage.calls, static_cast<std::int64_t>(t1->steps.size()));
  EXPECT_FALSE(t1->usage.tokens_reported);
  // A new episode starts the count again.
  auto t2 = RunEpisode(**env, **expert, 2);
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(t2->usage.calls, static_cast<std::int64_t>(t2->steps.size()));

  Trajectory t = *t2;
  t.sample = 3;
  t.usage.tokens_reported = true;
  t.usage.prompt_tokens = 1200;
  t.usage.completion_tokens = 345;
  t.usage.retries = 2;
  const json j = ToJson(t);
  EXPECT_EQ(j["sample"], 3);
  EXPECT_EQ(j["usage"]["completion_tokens"], 345);
  auto back = TrajectoryFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->sample, 3);
  EXPECT_EQ(back->usage.calls, t.usage.calls);
  EXPECT_TRUE(back->usage.tokens_reported);
  EXPECT_EQ(back->usage.prompt_tokens, 1200);
  EXPECT_EQ(back->usage.completion_tokens, 345);
  EXPECT_EQ(back->usage.retries, 2);
  // Without reported tokens the counts are not written, and read back as not reported.
  const json plain = ToJson(*t1);
  EXPECT_FALSE(plain["usage"].contains("completion_tokens"));
  EXPECT_FALSE(plain.contains("sample"));
  EXPECT_FALSE(TrajectoryFromJson(plain)->usage.tokens_reported);

  PolicyUsage sum;
  sum += t.usage;
  sum += t1->usage;
  EXPECT_EQ(sum.calls, t.usage.calls + t1->usage.calls);
  EXPECT_EQ(sum.completion_tokens, 345);
  EXPECT_TRUE(sum.tokens_reported);
}

// With no malformed share, every action of the random policy is a valid call of one of the task's
// tools (the env finds no error in it), on every shipped family; with the default share some are
// malformed. Both are reproducible from the seed.
TEST(RandomPolicyTest, CallsAreValidForEveryFamilyAndSeeded) {
  const auto& reg = scenarios::ScenarioRegistry::Default();
  int actions = 0, malformed = 0;
  std::map<std::string, int> tools_used;
  std::uint64_t family = 0;
  for (const std::string& id : reg.Ids()) {
    auto env = scenarios::Make(id);
    ASSERT_TRUE(env.ok()) << id << ": " << env.status().ToString();
    // Seeds differ between families: the tool drawn does not depend on the task, so families
    // of one kind would otherwise all play the same sequence of tools.
    ++family;
    for (std::uint64_t seed : {10 * family + 1, 10 * family + 2, 10 * family + 3}) {
      RandomPolicy valid(seed, /*malformed_rate=*/0.0);
      auto t = RunEpisode(**env, valid, seed, /*max_steps=*/8);
      ASSERT_TRUE(t.ok()) << id << ": " << t.status().ToString();
      for (const TrajectoryStep& s : t->steps) {
        EXPECT_TRUE(s.info["format_ok"].get<bool>())
            << id << " seed " << seed << ": " << s.action << "\n"
            << s.info["tool_errors"].dump();
        for (const json& c : s.info["tool_calls"]) ++tools_used[c["name"].get<std::string>()];
        ++actions;
      }
      // The same seed plays the same actions.
      RandomPolicy again(seed, 0.0);
      auto t2 = RunEpisode(**env, again, seed, 8);
      ASSERT_TRUE(t2.ok());
      ASSERT_EQ(t2->steps.size(), t->steps.size());
      for (std::size_t i = 0; i < t->steps.size(); ++i)
        EXPECT_EQ(t2->steps[i].action, t->steps[i].action);

      RandomPolicy noisy(seed, 0.5);
      auto t3 = RunEpisode(**env, noisy, seed, 6);
      ASSERT_TRUE(t3.ok());
      for (const TrajectoryStep& s : t3->steps) malformed += !s.info["format_ok"].get<bool>();
    }
  }
  EXPECT_GT(actions, 99);
  EXPECT_GT(malformed, 0);
  // Every kind's tools get called, not only submit.
  for (const char* tool : {"bash", "python", "search", "open", "click", "type", "back"})
    EXPECT_GT(tools_used[tool], 0) << tool << " " << json(tools_used).dump();
}

}  // namespace
}  // namespace toolgym::agent
