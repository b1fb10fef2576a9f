// The Env API through the shell env: Gymnasium semantics, the shared info schema, every shaping
// term, budgets, malformed actions, determinism and fork isolation. Tasks come from a C++
// FakeSource so that these tests do not depend on scenario files.
#include "envs/shell_env.h"

#include <gtest/gtest.h>

#include "envs/info.h"
#include "tests/envs/env_test_util.h"

namespace toolgym::envs {
namespace {

using testing::CountingTask;
using testing::FakeSource;

std::string Call(const std::string& name, const nlohmann::json& args) {
  return "<tool_call>" + nlohmann::json({{"name", name}, {"arguments", args}}).dump() +
         "</tool_call>";
}
std::string Bash(const std::string& cmd) { return Call("bash", {{"command", cmd}}); }

std::unique_ptr<ShellEnv> MakeEnv(std::function<Task(std::uint64_t)> make = CountingTask) {
  return std::make_unique<ShellEnv>(std::make_shared<FakeSource>("shell", std::move(make)),
                                    EnvOptions{});
}

TEST(ShellEnvTest, ResetRendersTheTaskForAChatModel) {
  auto env = MakeEnv();
  auto r = env->Reset(7);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->observation.messages.size(), 2u);
  const Message& sys = r->observation.messages[0];
  EXPECT_EQ(sys.role, "system");
  EXPECT_NE(sys.content.find("<tools>"), std::string::npos);
  EXPECT_NE(sys.content.find("\"name\":\"bash\""), std::string::npos);
  EXPECT_NE(sys.content.find("<tool_call>"), std::string::npos);
  EXPECT_NE(sys.content.find("at most 6 turns"), std::string::npos);
  EXPECT_EQ(r->observation.messages[1].role, "user");
  EXPECT_EQ(r->observation.messages[1].content, "How many lines does numbers.txt have?");
  EXPECT_EQ(r->info.turn, 0);
  EXPECT_EQ(r->info.task.seed, 7u);
  EXPECT_EQ(r->info.task.split, "train");
  ASSERT_NE(r->info.task.params, nullptr);
  EXPECT_EQ((*r->info.task.params)["n"], 5);
  // Every reward term is present, all zero.
  ASSERT_EQ(r->info.reward_terms.size(), RewardTermNames().size());
  for (const auto& [k, v] : r->info.reward_terms) EXPECT_EQ(v, 0) << k;
  // The OpenAI tools JSON has the four tools with their schemas.
  nlohmann::json tools = env->OpenAITools();
  ASSERT_EQ(tools.size(), 4u);
  EXPECT_EQ(tools[0]["type"], "function");
  EXPECT_EQ(tools[0]["function"]["name"], "bash");
  EXPECT_EQ(tools[0]["function"]["parameters"]["required"][0], "command");
  EXPECT_EQ(tools[1]["function"]["parameters"]["required"][0], "answer");
}

TEST(ShellEnvTest, SolvingTheTaskTerminatesWithTheOutcomeReward) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(3).ok());  // n = 6
  auto s1 = env->Step(Bash("wc -l < numbers.txt"));
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  EXPECT_FALSE(s1->terminated);
  EXPECT_FALSE(s1->truncated);
  ASSERT_EQ(s1->observation.messages.size(), 1u);
  EXPECT_EQ(s1->observation.messages[0].role, "tool");
  EXPECT_EQ(s1->observation.messages[0].name, "bash");
  EXPECT_EQ(s1->observation.messages[0].tool_call_id, "call_0");
  EXPECT_EQ(s1->observation.messages[0].content, "6");
  ASSERT_EQ(s1->info.tool_calls.size(), 1u);
  EXPECT_EQ(s1->info.tool_calls[0].verdict, "ok");
  EXPECT_EQ(s1->info.tool_calls[0].exit_code, 0);
  EXPECT_EQ(s1->reward, 0);
  auto s2 = env->Step(Call("submit", {{"answer", "6"}}));
  ASSERT_TRUE(s2.ok());
  EXPECT_TRUE(s2->terminated);
  EXPECT_FALSE(s2->truncated);
  EXPECT_EQ(s2->reward, 1.0);
  EXPECT_EQ(s2->info.reward_terms.at("outcome"), 1.0);
  ASSERT_TRUE(s2->info.outcome.has_value());
  EXPECT_TRUE(s2->info.outcome->passed);
  EXPECT_EQ(s2->info.end_reason, "answer_submitted");
  EXPECT_EQ(s2->info.answer, "6");
  EXPECT_EQ(s2->info.turn, 2);
  EXPECT_EQ(s2->info.total_tool_calls, 2);
  EXPECT_FALSE(env->active());
  // Stepping a finished episode is an error that says why.
  auto s3 = env->Step(Bash("ls"));
  ASSERT_FALSE(s3.ok());
  EXPECT_NE(s3.status().message().find("finished episode"), std::string::npos);
  EXPECT_NE(s3.status().message().find("answer_submitted"), std::string::npos);
}

TEST(ShellEnvTest, StepBeforeResetIsAnError) {
  auto env = MakeEnv();
  auto s = env->Step(Bash("ls"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("before reset"), std::string::npos);
}

TEST(ShellEnvTest, WrongAnswerGetsTheFailureReward) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.reward.failure = -0.5;
    return t;
  });
  ASSERT_TRUE(env->Reset(0).ok());
  auto s = env->Step(Call("submit", {{"answer", "999"}}));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->terminated);
  EXPECT_EQ(s->reward, -0.5);
  EXPECT_FALSE(s->info.outcome->passed);
}

TEST(ShellEnvTest, AnswerTagSubmitsToo) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(0).ok());  // n = 3
  auto s = env->Step("<think>three numbers</think><answer>3</answer>");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->terminated);
  EXPECT_EQ(s->reward, 1.0);
}

TEST(ShellEnvTest, MalformedActionsArePenalizedAndExplainedNeverThrown) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.reward.invalid_action = 0.25;
    t.budgets.max_turns = 20;
    return t;
  });
  ASSERT_TRUE(env->Reset(0).ok());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"<tool_call>{\"name\": \"bash\", \"arguments\": {\"command\": }</tool_call>", "bad_json"},
      {Call("rm_rf", {{"x", 1}}), "unknown_tool"},
      {Call("bash", nlohmann::json::object()), "missing_argument"},
      {Call("bash", {{"command", "ls"}, {"cwd", "/"}}), "extra_argument"},
      {Call("bash", {{"command", 5}}), "wrong_type"},
      {"<tool_call>{\"name\": \"bash\", \"arguments\": \"{\\\"command\\\": "
       "\\\"ls\\\"}\"}</tool_call>",
       "double_encoded"},
  };
  for (const auto& [action, kind] : cases) {
    auto s = env->Step(action);
    ASSERT_TRUE(s.ok()) << action;
    EXPECT_FALSE(s->terminated);
    EXPECT_FALSE(s->info.format_ok);
    ASSERT_FALSE(s->info.tool_errors.empty()) << action;
    EXPECT_STREQ(ActionErrorKindName(s->info.tool_errors[0].kind), kind.c_str()) << action;
    EXPECT_EQ(s->info.reward_terms.at("invalid_action"), -0.25);
    EXPECT_EQ(s->reward, -0.25);
    ASSERT_FALSE(s->observation.messages.empty());
    EXPECT_NE(s->observation.messages[0].content.find("could not be used"), std::string::npos);
    EXPECT_TRUE(s->info.tool_calls.empty());
  }
  // The env still works afterwards.
  auto ok = env->Step(Bash("echo fine"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->observation.messages[0].content, "fine");
  EXPECT_TRUE(ok->info.format_ok);
}

TEST(ShellEnvTest, ToolCostRepeatPenaltyAndTurnBudget) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.reward.tool_call_cost = 0.01;
    t.reward.repeated_call = 0.1;
    t.reward.turn_budget = 0.5;
    t.reward.failure = 0;
    t.budgets.max_turns = 3;
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  auto a = env->Step(Bash("ls"));
  EXPECT_DOUBLE_EQ(a->reward, -0.01);
  EXPECT_FALSE(a->info.tool_calls[0].repeated);
  // Two calls in one action; the second repeats the first step's call.
  auto b = env->Step(Bash("pwd") + Bash("ls"));
  EXPECT_DOUBLE_EQ(b->info.reward_terms.at("tool_call_cost"), -0.02);
  // tool_costs gives a tool its own cost in place of tool_call_cost.
  {
    auto env2 = MakeEnv([](std::uint64_t seed) {
      Task t = CountingTask(seed);
      t.reward.tool_call_cost = 0.01;
      t.reward.tool_costs = {{"bash", 0.25}};
      return t;
    });
    ASSERT_TRUE(env2->Reset(1).ok());
    auto s = env2->Step(Bash("ls") + Bash("pwd"));
    ASSERT_TRUE(s.ok());
    EXPECT_DOUBLE_EQ(s->info.reward_terms.at("tool_call_cost"), -0.5);
  }
  EXPECT_DOUBLE_EQ(b->info.reward_terms.at("repeated_call"), -0.1);
  EXPECT_TRUE(b->info.tool_calls[1].repeated);
  EXPECT_FALSE(b->truncated);
  auto c = env->Step(Bash("true"));
  EXPECT_TRUE(c->truncated);
  EXPECT_FALSE(c->terminated);
  EXPECT_EQ(c->info.end_reason, "turn_budget");
  EXPECT_DOUBLE_EQ(c->info.reward_terms.at("turn_budget"), -0.5);
  EXPECT_DOUBLE_EQ(c->reward, -0.01 - 0.5);
  ASSERT_TRUE(c->info.outcome.has_value());
  EXPECT_FALSE(c->info.outcome->passed);
  EXPECT_FALSE(env->Step(Bash("ls")).ok());
}

TEST(ShellEnvTest, OverlongShapingFollowsDapo) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.reward.overlong = 1.0;
    t.reward.overlong_max_bytes = 200;
    t.reward.overlong_buffer_bytes = 100;
    t.budgets.max_turns = 10;
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  auto pad = [](size_t n) {  // a bash call of exactly n bytes
    std::string base = Bash("");
    return Bash(std::string(n - base.size(), ' '));
  };
  EXPECT_DOUBLE_EQ(env->Step(pad(100))->info.reward_terms.at("overlong"), 0.0);
  EXPECT_DOUBLE_EQ(env->Step(pad(150))->info.reward_terms.at("overlong"), -0.5);
  EXPECT_DOUBLE_EQ(env->Step(pad(200))->info.reward_terms.at("overlong"), -1.0);
  EXPECT_DOUBLE_EQ(env->Step(pad(260))->info.reward_terms.at("overlong"), -1.0);
}

TEST(ShellEnvTest, TooLongActionTruncatesWithoutRunning) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.budgets.max_action_bytes = 100;
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  auto s = env->Step(Bash("touch marker; " + std::string(200, '#')));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->truncated);
  EXPECT_EQ(s->info.end_reason, "action_too_long");
  EXPECT_TRUE(s->info.tool_calls.empty());
  ASSERT_EQ(s->info.tool_errors.size(), 1u);
  EXPECT_STREQ(ActionErrorKindName(s->info.tool_errors[0].kind), "action_too_long");
  EXPECT_NE(s->info.tool_errors[0].message.find("more than the 100 allowed"), std::string::npos);
}

TEST(ShellEnvTest, ProgressShapingIsPotentialBased) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.requires_answer = false;
    t.tools = {"bash", "submit"};
    t.verifier = testing::FileIs("b.txt", "2\n");
    t.subgoals = {{"a", testing::FileIs("a.txt", "1\n")}, {"b", testing::FileIs("b.txt", "2\n")}};
    t.reward.progress = 1.0;
    t.reward.progress_gamma = 1.0;
    return t;
  });
  auto r = env->Reset(2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->info.potential, 0);
  auto a = env->Step(Bash("echo 1 > a.txt"));
  EXPECT_DOUBLE_EQ(a->info.reward_terms.at("progress"), 0.5);
  EXPECT_EQ(a->info.subgoals_reached, std::vector<std::string>{"a"});
  auto again = env->Step(Bash("echo 1 > a.txt; true"));
  EXPECT_DOUBLE_EQ(again->info.reward_terms.at("progress"), 0.0);  // no new subgoal
  auto b = env->Step(Bash("echo 2 > b.txt"));
  EXPECT_DOUBLE_EQ(b->info.reward_terms.at("progress"), 0.5);
  EXPECT_DOUBLE_EQ(b->info.potential, 1.0);
  auto done = env->Step(Call("submit", nlohmann::json::object()));
  EXPECT_TRUE(done->terminated);
  EXPECT_EQ(done->info.end_reason, "submitted");
  EXPECT_TRUE(done->info.outcome->passed);
}

TEST(ShellEnvTest, EndOnGoalTerminatesWhenTheStateIsReached) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.requires_answer = false;
    t.end_on_goal = true;
    t.verifier = testing::FileIs("done.txt", "yes\n");
    return t;
  });
  ASSERT_TRUE(env->Reset(2).ok());
  auto a = env->Step(Bash("echo no > done.txt"));
  EXPECT_FALSE(a->terminated);
  auto b = env->Step(Bash("echo yes > done.txt"));
  EXPECT_TRUE(b->terminated);
  EXPECT_EQ(b->info.end_reason, "goal_reached");
  EXPECT_EQ(b->reward, 1.0);
}

TEST(ShellEnvTest, OutputIsTruncatedWithANoteAndExitCodesShown) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.tool_limits["bash"].max_output_bytes = 100;
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  auto s = env->Step(Bash("head -c 1000 /dev/zero | tr '\\0' a"));
  const std::string& out = s->observation.messages[0].content;
  EXPECT_EQ(out.substr(0, 100), std::string(100, 'a'));
  EXPECT_NE(out.find("[output truncated: 100 of 1000 bytes shown]"), std::string::npos) << out;
  auto e = env->Step(Bash("echo oops >&2; (exit 3)"));
  EXPECT_EQ(e->observation.messages[0].content, "[stderr]\noops\n[exit code: 3]");
  EXPECT_TRUE(e->info.tool_calls[0].error);
  EXPECT_EQ(e->info.tool_calls[0].verdict, "nonzero_exit");
}

TEST(ShellEnvTest, TimeoutsAreShownAndTheShellComesBack) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = CountingTask(seed);
    t.tool_limits["bash"].timeout_s = 0.5;
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  ASSERT_TRUE(env->Step(Bash("mkdir d && cd d && export Q=1")).ok());
  auto s = env->Step(Bash("sleep 5"));
  EXPECT_EQ(s->info.tool_calls[0].verdict, "wall_time_limit");
  EXPECT_NE(s->observation.messages[0].content.find("timed out after 0.5 s"), std::string::npos);
  EXPECT_NE(s->observation.messages[0].content.find("new one was started"), std::string::npos);
  auto after = env->Step(Bash("pwd; echo $Q"));
  EXPECT_EQ(after->observation.messages[0].content, "/workspace/d\n1");
}

TEST(ShellEnvTest, ReadAndWriteFileRoundTripAwkwardContent) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  const std::string content = "it's \"quoted\" $HOME `cmd` \\n\n\ttab\n\xc3\xa9t\xc3\xa9\n\n";
  auto w = env->Step(Call("write_file", {{"path", "sub dir/f'1.txt"}, {"content", content}}));
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->info.tool_calls[0].error) << w->observation.messages[0].content;
  auto r = env->Step(Call("read_file", {{"path", "sub dir/f'1.txt"}}));
  EXPECT_EQ(r->observation.messages[0].content, content);
  auto check = env->Step(Bash("md5sum < 'sub dir/f'\\''1.txt'"));
  auto missing = env->Step(Call("read_file", {{"path", "nope.txt"}}));
  EXPECT_TRUE(missing->info.tool_calls[0].error);
  EXPECT_NE(missing->observation.messages[0].content.find("No such file"), std::string::npos);
}

// Same scenario, seed and actions: the same observations, rewards and info (timings aside).
TEST(ShellEnvTest, Determinism) {
  const std::vector<std::string> actions = {
      Bash("ls -la --time-style=+ | awk '{print $1, $5, $7}'"),
      Bash("cat numbers.txt; echo $RANDOM > /dev/null"), "nonsense",
      Call("submit", {{"answer", "4"}})};
  auto run = [&] {
    auto env = MakeEnv();
    std::vector<nlohmann::json> out;
    auto r = env->Reset(11);
    out.push_back({{"obs", r->observation}, {"info", WithoutTimings(nlohmann::json(r->info))}});
    for (const auto& a : actions) {
      auto s = env->Step(a);
      out.push_back({{"obs", s->observation},
                     {"reward", s->reward},
                     {"term", s->terminated},
                     {"trunc", s->truncated},
                     {"info", WithoutTimings(nlohmann::json(s->info))}});
    }
    return out;
  };
  auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;
}

TEST(ShellEnvTest, ForkDivergesOnlyByWhatEachWasTold) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(4).ok());
  ASSERT_TRUE(env->Step(Bash("mkdir w && cd w && export SHARED=1 && echo base > f")).ok());
  auto forked = env->Fork();
  ASSERT_TRUE(forked.ok()) << forked.status().ToString();
  Env& fork = **forked;
  EXPECT_TRUE(fork.active());
  // Each one changes something different.
  ASSERT_TRUE(env->Step(Bash("echo original >> f; export ONLY=orig")).ok());
  ASSERT_TRUE(fork.Step(Bash("echo fork >> f; export ONLY=fork; touch forkfile")).ok());
  auto a = env->Step(Bash("pwd; cat f; echo $SHARED $ONLY; ls"));
  auto b = fork.Step(Bash("pwd; cat f; echo $SHARED $ONLY; ls"));
  EXPECT_EQ(a->observation.messages[0].content, "/workspace/w\nbase\noriginal\n1 orig\nf");
  EXPECT_EQ(b->observation.messages[0].content, "/workspace/w\nbase\nfork\n1 fork\nf\nforkfile");
  // Episode state was copied: turn counts continue, and both can finish independently.
  EXPECT_EQ(a->info.turn, 3);
  EXPECT_EQ(b->info.turn, 3);
  auto fa = fork.Step(Call("submit", {{"answer", "7"}}));  // seed 4: n = 7
  EXPECT_TRUE(fa->terminated);
  EXPECT_EQ(fa->reward, 1.0);
  EXPECT_TRUE(env->active());
  // A fork's next episode starts clean.
  ASSERT_TRUE(fork.Reset(4).ok());
  auto clean = fork.Step(Bash("ls"));
  EXPECT_EQ(clean->observation.messages[0].content, "numbers.txt");
}

TEST(ShellEnvTest, ResetStartsEachEpisodeFromTheTask) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  ASSERT_TRUE(env->Step(Bash("rm numbers.txt; touch junk; cd /tmp")).ok());
  ASSERT_TRUE(env->Reset(2).ok());
  auto s = env->Step(Bash("pwd; ls; cat numbers.txt"));
  EXPECT_EQ(s->observation.messages[0].content, "/workspace\nnumbers.txt\n3\n6\n9\n12\n15");
  // Reset without a seed draws from the train range, reproducibly for a given seed_sequence.
  auto r1 = env->Reset();
  ASSERT_TRUE(r1.ok());
  EXPECT_LT(r1->info.task.seed, 100u);
  auto r2 = env->Reset(std::nullopt, {{"split", "test"}});
  ASSERT_TRUE(r2.ok());
  EXPECT_GE(r2->info.task.seed, 100u);
  EXPECT_EQ(r2->info.task.split, "test");
  EXPECT_FALSE(env->Reset(std::nullopt, {{"split", "validation"}}).ok());
  EXPECT_FALSE(env->Reset(std::nullopt, {{"bogus", 1}}).ok());
  // An unknown option is refused even next to a valid split (Schemathesis found it ignored).
  auto both = env->Reset(std::nullopt, {{"split", "test"}, {"bogus", 1}});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().message(), "unknown reset option 'bogus'; expected: split");
  EXPECT_FALSE(env->Reset(std::nullopt, nlohmann::json::array()).ok());
}

TEST(ShellEnvTest, MaxTurnsOptionIsBoundedWithoutWrapping) {
  using nlohmann::json;
  EXPECT_EQ(EnvOptions::FromJson({{"max_turns", 7}})->max_turns, 7);
  EXPECT_EQ(EnvOptions::FromJson({{"max_turns", kMaxTurnsOption}})->max_turns, kMaxTurnsOption);
  // 2^32 + 5 would wrap to 5 as an int; 2^64 - 1 to -1.
  for (const json& bad : {json(0), json(-3), json(kMaxTurnsOption + 1), json(4294967301ULL),
                          json(18446744073709551615ULL), json(2.5), json("8")}) {
    auto o = EnvOptions::FromJson({{"max_turns", bad}});
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_NE(o.status().message().find("'max_turns' must be an integer in [1, 1000000]"),
              std::string::npos)
        << o.status().message();
  }
}

}  // namespace
}  // namespace toolgym::envs
