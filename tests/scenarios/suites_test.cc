// The shipped scenario suites (scenarios/suites/): every family loads; its expert solves every
// instance of a sample of train and test seeds; a random policy solves few; the same seed and
// actions give the same episode; seeds give at least 1,000 distinct instances; train and test
// ranges are disjoint. One parameterized case per family, so ctest runs them in parallel.
#include <gtest/gtest.h>

#include <set>

#include "agent/policy.h"
#include "agent/rollout.h"
#include "envs/info.h"
#include "scenarios/registry.h"

namespace toolgym::scenarios {
namespace {

using nlohmann::json;

constexpr int kSeedsPerSplit = 20;

const ScenarioRegistry& Suites() {
  static const ScenarioRegistry* reg = [] {
    auto* r = new ScenarioRegistry;
    auto errors = r->Load(ScenarioRegistry::SuitesDir());
    for (const auto& e : errors) ADD_FAILURE() << e.ToString();
    return r;
  }();
  return *reg;
}

std::vector<std::string> FamilyIds() {
  std::vector<std::string> ids = Suites().Ids();
  if (ids.empty()) ids.push_back("none");
  return ids;
}

TEST(SuitesTest, EnoughFamiliesOfEachKind) {
  int shell = 0, code = 0, search = 0, web = 0;
  for (const auto& id : Suites().Ids()) {
    const std::string kind = Suites().Find(id)->env_kind();
    shell += kind == "shell";
    code += kind == "code";
    search += kind == "search";
    web += kind == "web";
  }
  EXPECT_GE(shell, 12);
  EXPECT_GE(code, 8);
  EXPECT_GE(search, 6);
  EXPECT_GE(web, 6);
}

TEST(SuitesTest, AnswerAndStateTasksAreMixed) {
  int answer = 0, state = 0;
  for (const auto& id : Suites().Ids()) {
    const auto* s = Suites().Find(id);
    if (s->env_kind() != "shell") continue;
    (s->requires_answer() ? answer : state)++;
  }
  EXPECT_GE(answer, 4);
  EXPECT_GE(state, 4);
}

class FamilyTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::shared_ptr<const Scenario> scenario() const { return Suites().Get(GetParam()); }
};

TEST_P(FamilyTest, ExpertSolvesEveryInstanceOfTheSample) {
  auto s = scenario();
  ASSERT_NE(s, nullptr);
  auto env = Suites().Make(GetParam());
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  agent::ExpertPolicy expert;
  for (const auto& range : {s->train_seeds(), s->test_seeds()}) {
    for (int i = 0; i < kSeedsPerSplit; ++i) {
      const std::uint64_t seed =
          range.begin + static_cast<std::uint64_t>(i) * 37 % (range.end - range.begin);
      auto t = agent::RunEpisode(**env, expert, seed);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_TRUE(t->error.empty()) << "seed " << seed << ": " << t->error;
      EXPECT_TRUE(t->success) << GetParam() << " seed " << seed << ": "
                              << (t->steps.empty() ? json() : t->steps.back().info).dump(1)
                              << "\nconversation:\n"
                              << json(t->Conversation()).dump(1);
      // The expert never makes malformed actions.
      for (const auto& st : t->steps) EXPECT_TRUE(st.info["format_ok"].get<bool>());
    }
  }
}

TEST_P(FamilyTest, RandomPolicySolvesFew) {
  auto s = scenario();
  ASSERT_NE(s, nullptr);
  auto env = Suites().Make(GetParam());
  ASSERT_TRUE(env.ok());
  agent::RandomPolicy random(7);
  int solved = 0;
  const int n = 10;
  for (int i = 0; i < n; ++i) {
    auto t =
        agent::RunEpisode(**env, random, s->test_seeds().begin + static_cast<std::uint64_t>(i));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    solved += t->success;
  }
  EXPECT_LE(solved, 2) << GetParam() << ": a random policy solved " << solved << " of " << n;
}

TEST_P(FamilyTest, SameSeedAndActionsGiveTheSameEpisode) {
  auto s = scenario();
  ASSERT_NE(s, nullptr);
  const std::uint64_t seed = s->test_seeds().begin + 3;
  auto record = [&](const std::vector<std::string>* actions) {
    auto env = Suites().Make(GetParam());
    EXPECT_TRUE(env.ok());
    std::vector<json> out;
    std::vector<std::string> played;
    auto r = (*env)->Reset(seed);
    EXPECT_TRUE(r.ok());
    out.push_back({{"obs", r->observation}, {"info", envs::WithoutTimings(json(r->info))}});
    agent::ExpertPolicy expert;
    EXPECT_TRUE(expert.BeginEpisode(*(*env)->task(), (*env)->Tools(), seed).ok());
    std::vector<envs::Message> conv = r->observation.messages;
    for (size_t i = 0; (*env)->active() && i < 50; ++i) {
      std::string action;
      if (actions != nullptr) {
        if (i >= actions->size()) break;
        action = (*actions)[i];
      } else {
        auto a = expert.Act(conv);
        EXPECT_TRUE(a.ok()) << a.status().ToString();
        action = *a;
      }
      played.push_back(action);
      auto st = (*env)->Step(action);
      EXPECT_TRUE(st.ok());
      conv.push_back({"assistant", action, "", ""});
      conv.insert(conv.end(), st->observation.messages.begin(), st->observation.messages.end());
      out.push_back({{"obs", st->observation},
                     {"reward", st->reward},
                     {"terminated", st->terminated},
                     {"truncated", st->truncated},
                     {"info", envs::WithoutTimings(json(st->info))}});
    }
    return std::make_pair(out, played);
  };
  auto [first, actions] = record(nullptr);
  auto [second, replayed] = record(&actions);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i], second[i]) << "step " << i;
}

TEST_P(FamilyTest, SeedsGiveAtLeastAThousandDistinctInstances) {
  auto s = scenario();
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->train_seeds().begin < s->test_seeds().end &&
               s->test_seeds().begin < s->train_seeds().end);
  const std::uint64_t train = s->train_seeds().end - s->train_seeds().begin;
  const std::uint64_t test = s->test_seeds().end - s->test_seeds().begin;
  EXPECT_GE(train + test, 1000u);
  std::set<std::string> distinct;
  const std::uint64_t n = std::min<std::uint64_t>(train, 1200);
  for (std::uint64_t i = 0; i < n; ++i) {
    auto task = s->MakeTask(s->train_seeds().begin + i);
    ASSERT_TRUE(task.ok()) << task.status().ToString();
    std::string key = task->instruction;
    for (const auto& [p, e] : task->workspace.entries()) key += "\x1f" + p + "\x1e" + e.data;
    distinct.insert(key);
  }
  EXPECT_GE(distinct.size(), std::min<std::uint64_t>(n, 1000)) << GetParam();
  // Nearly every seed is its own instance.
  EXPECT_GE(distinct.size(), n * 9 / 10);
}

INSTANTIATE_TEST_SUITE_P(Shipped, FamilyTest, ::testing::ValuesIn(FamilyIds()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace toolgym::scenarios
