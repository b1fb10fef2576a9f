// agent/metrics: every metric on values computed by hand (the arithmetic is in the comments),
// the records of hand-built trajectories, and the records of real expert and random episodes
// checked against what their trajectories say.
#include "agent/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "agent/policy.h"
#include "agent/rollout.h"
#include "envs/info.h"
#include "scenarios/registry.h"

namespace toolgym::agent::metrics {
namespace {

using nlohmann::json;

constexpr double kEps = 1e-9;

// ---------------------------------------------------------------------------------------------
// Wilson

TEST(WilsonTest, SevenOfTen) {
  // p = 0.7, n = 10, z = 1.959964, z² = 3.841459, z²/n = 0.3841459, denom = 1.3841459
  // center = (0.7 + 3.841459/20) / 1.3841459 = 0.8920729 / 1.3841459 = 0.6444934
  // half   = 1.959964 * sqrt(0.21/10 + 3.841459/400) / 1.3841459
  //        = 1.959964 * sqrt(0.021 + 0.0096036) / 1.3841459 = 1.959964 * 0.1749390 / 1.3841459
  //        = 0.2477153
  // → [0.3967781, 0.8922087] (the textbook [0.3968, 0.8922])
  const Interval ci = Wilson(7, 10);
  EXPECT_NEAR(ci.lo, 0.3967781, 1e-6);
  EXPECT_NEAR(ci.hi, 0.8922087, 1e-6);
}

TEST(WilsonTest, NoneOfTen) {
  // p = 0: center = (3.841459/20) / 1.3841459 = 0.1920729 / 1.3841459 = 0.1387664
  // half = 1.959964 * sqrt(0 + 0.0096036) / 1.3841459 = 1.959964 * 0.0979982 / 1.3841459
  //      = 0.1387664 (= center: the lower bound is exactly 0) → [0, 0.2775328]
  const Interval ci = Wilson(0, 10);
  EXPECT_EQ(ci.lo, 0.0);
  EXPECT_NEAR(ci.hi, 0.2775328, 1e-6);
}

TEST(WilsonTest, TenOfTen) {
  // Mirror of 0/10: [1 - 0.2775328, 1] = [0.7224672, 1]
  const Interval ci = Wilson(10, 10);
  EXPECT_NEAR(ci.lo, 0.7224672, 1e-6);
  EXPECT_EQ(ci.hi, 1.0);
}

TEST(WilsonTest, NoTrialsAndImpossibleCountsGiveTheWholeRange) {
  for (auto [s, n] : {std::pair<int, int>{0, 0}, {5, 3}, {-1, 4}, {1, -2}}) {
    const Interval ci = Wilson(s, n);
    EXPECT_EQ(ci.lo, 0.0) << s << "/" << n;
    EXPECT_EQ(ci.hi, 1.0) << s << "/" << n;
  }
}

TEST(WilsonTest, OtherQuantile) {
  // 1/2 at z = 1: p = 0.5, z²/n = 0.5, denom = 1.5, center = (0.5 + 0.25)/1.5 = 0.5
  // half = 1 * sqrt(0.25/2 + 1/16) / 1.5 = sqrt(0.1875) / 1.5 = 0.4330127 / 1.5 = 0.2886751
  const Interval ci = Wilson(1, 2, 1.0);
  EXPECT_NEAR(ci.lo, 0.5 - 0.2886751, 1e-6);
  EXPECT_NEAR(ci.hi, 0.5 + 0.2886751, 1e-6);
}

// ---------------------------------------------------------------------------------------------
// pass@k, pass^k

TEST(PassAtKTest, FiveSamplesTwoSuccesses) {
  // 1 - C(3, k)/C(5, k); C(5, k) = 5, 10, 10, 5, 1 and C(3, k) = 3, 3, 1, 0, 0 for k = 1..5
  const double want[] = {1 - 3.0 / 5, 1 - 3.0 / 10, 1 - 1.0 / 10, 1 - 0.0 / 5, 1 - 0.0 / 1};
  for (int k = 1; k <= 5; ++k) {
    auto p = PassAtK(5, 2, k);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_NEAR(*p, want[k - 1], kEps) << "k = " << k;
  }
  // The literals: 0.4, 0.7, 0.9, 1, 1.
  EXPECT_NEAR(PassAtK(5, 2, 1).value(), 0.4, kEps);
  EXPECT_NEAR(PassAtK(5, 2, 2).value(), 0.7, kEps);
  EXPECT_NEAR(PassAtK(5, 2, 3).value(), 0.9, kEps);
}

TEST(PassAtKTest, NoSuccessesAndAllSuccesses) {
  for (int k = 1; k <= 5; ++k) {
    EXPECT_EQ(PassAtK(5, 0, k).value(), 0.0) << k;  // C(5, k)/C(5, k) = 1 → 0
    EXPECT_EQ(PassAtK(5, 5, k).value(), 1.0) << k;  // C(0, k) = 0 → 1
  }
  EXPECT_EQ(PassAtK(1, 1, 1).value(), 1.0);
  EXPECT_EQ(PassAtK(1, 0, 1).value(), 0.0);
}

TEST(PassAtKTest, LargeNWithoutOverflow) {
  // C(1000, 100) ~ 1e139 would overflow a 64-bit integer, and a double for larger n; the product
  // form does not need it. Cross-check against log-gamma: C(a, k) = exp(lgamma(a+1) -
  // lgamma(k+1) - lgamma(a-k+1)).
  auto log_c = [](double a, double k) {
    return std::lgamma(a + 1) - std::lgamma(k + 1) - std::lgamma(a - k + 1);
  };
  auto p = PassAtK(1000, 3, 100);
  ASSERT_TRUE(p.ok());
  EXPECT_NEAR(*p, 1 - std::exp(log_c(997, 100) - log_c(1000, 100)), 1e-9);
  // prod_{i=998..1000} (1 - 100/i) = (898/998)(899/999)(900/1000)
  //   = 0.8997996 * 0.8998999 * 0.9 = 0.7287566 → 1 - 0.7287566 = 0.2712434
  EXPECT_NEAR(*p, 0.2712434, 1e-6);
  auto big = PassAtK(100000, 50000, 1000);
  ASSERT_TRUE(big.ok());
  EXPECT_TRUE(std::isfinite(*big));
  EXPECT_NEAR(*big, 1.0, 1e-12);
  auto hat = PassHatK(1000, 997, 100);
  ASSERT_TRUE(hat.ok());
  EXPECT_NEAR(*hat, std::exp(log_c(997, 100) - log_c(1000, 100)), 1e-9);
}

TEST(PassAtKTest, ArgumentErrorsNameTheBadArgument) {
  struct Case {
    std::int64_t n, c, k;
    const char* names;
  };
  for (const Case& t :
       {Case{5, 2, 0, "k = 0"}, Case{5, 2, 6, "k = 6"}, Case{5, 6, 1, "c = 6"},
        Case{5, -1, 1, "c = -1"}, Case{-1, 0, 1, "n = -1"}, Case{0, 0, 1, "k = 1"}}) {
    for (bool hat : {false, true}) {
      auto p = hat ? PassHatK(t.n, t.c, t.k) : PassAtK(t.n, t.c, t.k);
      ASSERT_FALSE(p.ok()) << t.n << " " << t.c << " " << t.k;
      EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(p.status().message().find(t.names), std::string::npos) << p.status().message();
      EXPECT_NE(p.status().message().find(hat ? "pass^k" : "pass@k"), std::string::npos);
    }
  }
}

TEST(PassHatKTest, FiveSamplesTwoSuccesses) {
  // C(2, k)/C(5, k): 2/5 = 0.4, 1/10 = 0.1, then C(2, k) = 0 for k >= 3
  EXPECT_NEAR(PassHatK(5, 2, 1).value(), 0.4, kEps);
  EXPECT_NEAR(PassHatK(5, 2, 2).value(), 0.1, kEps);
  for (int k = 3; k <= 5; ++k) EXPECT_EQ(PassHatK(5, 2, k).value(), 0.0) << k;
  // C(4, 2)/C(5, 2) = 6/10; C(4, 3)/C(5, 3) = 4/10
  EXPECT_NEAR(PassHatK(5, 4, 2).value(), 0.6, kEps);
  EXPECT_NEAR(PassHatK(5, 4, 3).value(), 0.4, kEps);
  for (int k = 1; k <= 5; ++k) {
    EXPECT_EQ(PassHatK(5, 5, k).value(), 1.0) << k;
    EXPECT_EQ(PassHatK(5, 0, k).value(), 0.0) << k;
  }
}

// ---------------------------------------------------------------------------------------------
// Spearman

TEST(SpearmanTest, MonotoneAndReversed) {
  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {10, 20, 25, 100}).value(), 1.0, kEps);
  EXPECT_NEAR(Spearman({1, 2, 3, 4}, {4, 3, 2, 1}).value(), -1.0, kEps);
}

TEST(SpearmanTest, TiesGetAverageRanks) {
  // x = 1, 2, 2, 3 → ranks 1, 2.5, 2.5, 4; y = 1, 3, 2, 4 → ranks 1, 3, 2, 4; both means 2.5
  // dx = -1.5, 0, 0, 1.5; dy = -1.5, 0.5, -0.5, 1.5
  // Σdxdy = 2.25 + 0 + 0 + 2.25 = 4.5; Σdx² = 4.5; Σdy² = 2.25 + 0.25 + 0.25 + 2.25 = 5
  // rho = 4.5 / sqrt(4.5 * 5) = 4.5 / 4.7434165 = 0.9486833
  EXPECT_NEAR(Spearman({1, 2, 2, 3}, {1, 3, 2, 4}).value(), 0.9486833, 1e-6);
  // Ties on both sides: x = 1, 1, 2, 2 → 1.5, 1.5, 3.5, 3.5; y = 5, 6, 6, 7 → 1, 2.5, 2.5, 4
  // dx = -1, -1, 1, 1; dy = -1.5, 0, 0, 1.5; Σdxdy = 1.5 + 0 + 0 + 1.5 = 3; Σdx² = 4;
  // Σdy² = 4.5; rho = 3 / sqrt(18) = 0.7071068
  EXPECT_NEAR(Spearman({1, 1, 2, 2}, {5, 6, 6, 7}).value(), 0.7071068, 1e-6);
}

TEST(SpearmanTest, UndefinedCases) {
  EXPECT_FALSE(Spearman({}, {}).has_value());
  EXPECT_FALSE(Spearman({1}, {2}).has_value());
  EXPECT_FALSE(Spearman({1, 1, 1}, {1, 2, 3}).has_value());  // constant x
  EXPECT_FALSE(Spearman({1, 2, 3}, {4, 4, 4}).has_value());  // constant y
  EXPECT_FALSE(Spearman({1, 2, 3}, {1, 2}).has_value());     // sizes differ
  EXPECT_FALSE(Spearman({1, NAN, 3}, {1, 2, 3}).has_value());
}

// ---------------------------------------------------------------------------------------------
// Summarize

EpisodeRecord Rec(const std::string& scenario, std::uint64_t seed, int sample, int difficulty,
                  bool success, double reward, int turns, int calls, int ok, int invalid,
                  int expert, std::int64_t bytes, std::optional<std::int64_t> tokens,
                  const std::string& error = "") {
  EpisodeRecord r;
  r.scenario = scenario;
  r.suite = SuiteOf(scenario);
  r.split = "test";
  r.seed = seed;
  r.sample = sample;
  r.difficulty = difficulty;
  r.success = success;
  r.score = success ? 1.0 : 0.0;
  r.reward = reward;
  r.reward_terms = {{"outcome", success && error.empty() ? 1.0 : 0.0},
                    {"tool_call_cost", -0.01 * calls}};
  r.turns = turns;
  r.tool_calls = calls;
  r.tool_calls_ok = ok;
  r.invalid_actions = invalid;
  r.expert_tool_calls = expert;
  r.generated_bytes = bytes;
  r.generated_tokens = tokens;
  r.end_reason = error.empty() ? "answer_submitted" : "";
  r.error = error;
  return r;
}

// Two scenarios (two suites, difficulties 1 and 3), one task each, 3 samples per task.
//
//   #  task        ok?  reward  turns calls ok inv expert bytes tokens
//   0  alpha/1     yes   0.9    2     2     2  0   2      100   30
//   1  alpha/1     yes   0.8    4     4     3  1   2      200   50
//   2  alpha/1     no   -0.1    3     3     1  0   2      150   40
//   3  beta/7      yes   0.9    3     3     3  0   4      300   -
//   4  beta/7      ERR   0.0    1     0     0  1   4       50   -   (success flag set, but the
//                                                                    error makes it a failure;
//                                                                    no tool_call_cost term)
//   5  beta/7      no   -0.5    5     5     2  2   4      400   -
std::vector<EpisodeRecord> HandMadeRecords() {
  std::vector<EpisodeRecord> v = {
      Rec("shell.alpha", 1, 0, 1, true, 0.9, 2, 2, 2, 0, 2, 100, 30),
      Rec("shell.alpha", 1, 1, 1, true, 0.8, 4, 4, 3, 1, 2, 200, 50),
      Rec("shell.alpha", 1, 2, 1, false, -0.1, 3, 3, 1, 0, 2, 150, 40),
      Rec("web.beta", 7, 0, 3, true, 0.9, 3, 3, 3, 0, 4, 300, std::nullopt),
      Rec("web.beta", 7, 1, 3, true, 0.0, 1, 0, 0, 1, 4, 50, std::nullopt, "policy: timed out"),
      Rec("web.beta", 7, 2, 3, false, -0.5, 5, 5, 2, 2, 4, 400, std::nullopt),
  };
  v[4].reward_terms.erase("tool_call_cost");  // a missing term counts as 0
  return v;
}

void ExpectMeanStd(const MeanStd& m, double mean, double std, std::int64_t n,
                   const std::string& what) {
  EXPECT_NEAR(m.mean, mean, 1e-6) << what;
  EXPECT_NEAR(m.std, std, 1e-6) << what;
  EXPECT_EQ(m.n, n) << what;
}

TEST(SummarizeTest, EveryFieldOnAHandMadeSet) {
  const Summary s = Summarize(HandMadeRecords());
  EXPECT_EQ(s.episodes, 6);
  EXPECT_EQ(s.tasks, 2);
  EXPECT_EQ(s.successes, 3);  // #0, #1, #3 (#4 has an error)
  EXPECT_EQ(s.errors, 1);
  EXPECT_NEAR(s.success_rate, 0.5, kEps);
  // Wilson 3/6: p = 0.5, z²/n = 3.841459/6 = 0.6402432, denom = 1.6402432,
  // center = (0.5 + 0.3201216)/1.6402432 = 0.5,
  // half = 1.959964 * sqrt(0.25/6 + 3.841459/144) / 1.6402432
  //      = 1.959964 * sqrt(0.0416667 + 0.0266768) / 1.6402432 = 1.959964 * 0.2614258 / 1.6402432
  //      = 0.3123837 → [0.1876163, 0.8123837]
  EXPECT_NEAR(s.success_ci.lo, 0.1876163, 1e-6);
  EXPECT_NEAR(s.success_ci.hi, 0.8123837, 1e-6);

  // reward 0.9, 0.8, -0.1, 0.9, 0, -0.5: sum 2.0, mean 1/3 = 0.3333333
  // deviations 0.5667, 0.4667, -0.4333, 0.5667, -0.3333, -0.8333; squares 0.3211111,
  // 0.2177778, 0.1877778, 0.3211111, 0.1111111, 0.6944444: sum 1.8533333, /5 = 0.3706667,
  // std = 0.6088240
  ExpectMeanStd(s.reward, 1.0 / 3, 0.6088240, 6, "reward");
  ASSERT_EQ(s.reward_terms.size(), 2u);
  // outcome 1, 1, 0, 1, 0, 0: mean 0.5, deviations ±0.5, Σ = 6 * 0.25 = 1.5, /5 = 0.3,
  // std = 0.5477226
  ExpectMeanStd(s.reward_terms.at("outcome"), 0.5, 0.5477226, 6, "outcome");
  // tool_call_cost = -0.01 * calls, calls 2, 4, 3, 3, 0 (#4: missing, counted 0), 5
  // calls: sum 17, mean 2.8333333; deviations -0.8333, 1.1667, 0.1667, 0.1667, -2.8333, 2.1667;
  // squares 0.6944, 1.3611, 0.0278, 0.0278, 8.0278, 4.6944: Σ = 14.8333333, /5 = 2.9666667,
  // std = 1.7224014; the cost is 0.01 times that with the opposite sign
  ExpectMeanStd(s.reward_terms.at("tool_call_cost"), -0.0283333, 0.0172240, 6, "cost");
  ExpectMeanStd(s.tool_calls, 17.0 / 6, 1.7224014, 6, "tool_calls");
  // turns 2, 4, 3, 3, 1, 5: sum 18, mean 3, squares 1, 1, 0, 0, 4, 4 = 10, /5 = 2, std = √2
  ExpectMeanStd(s.turns, 3.0, std::sqrt(2.0), 6, "turns");
  // ok 2 + 3 + 1 + 3 + 0 + 2 = 11 of 17 calls
  EXPECT_NEAR(s.tool_call_success_rate, 11.0 / 17, kEps);
  // invalid 0 + 1 + 0 + 0 + 1 + 2 = 4 of 18 turns
  EXPECT_NEAR(s.invalid_action_rate, 4.0 / 18, kEps);
  // solved with an expert count: #0 (2 vs 2), #1 (2 vs 4), #3 (4 vs 3): (2+2+4)/(2+4+3) = 8/9
  ASSERT_TRUE(s.tool_efficiency.has_value());
  EXPECT_NEAR(*s.tool_efficiency, 8.0 / 9, kEps);

  // pass@k: alpha n = 3, c = 2; beta n = 3, c = 1 (the error is a failure); K = 3
  //   k = 1: alpha 2/3, beta 1/3 → 0.5
  //   k = 2: alpha 1 - C(1,2)/C(3,2) = 1; beta 1 - C(2,2)/C(3,2) = 2/3 → 5/6
  //   k = 3: both 1 - 0 → 1
  ASSERT_EQ(s.pass_at_k.size(), 3u);
  EXPECT_NEAR(s.pass_at_k.at(1), 0.5, kEps);
  EXPECT_NEAR(s.pass_at_k.at(2), 5.0 / 6, kEps);
  EXPECT_NEAR(s.pass_at_k.at(3), 1.0, kEps);
  // pass^k: k = 1 as pass@1; k = 2: alpha C(2,2)/C(3,2) = 1/3, beta 0 → 1/6; k = 3: 0
  ASSERT_EQ(s.pass_hat_k.size(), 3u);
  EXPECT_NEAR(s.pass_hat_k.at(1), 0.5, kEps);
  EXPECT_NEAR(s.pass_hat_k.at(2), 1.0 / 6, kEps);
  EXPECT_NEAR(s.pass_hat_k.at(3), 0.0, kEps);

  // bytes 100, 200, 150, 300, 50, 400: sum 1200, mean 200; squares 10000, 0, 2500, 10000,
  // 22500, 40000 = 85000, /5 = 17000, std = 130.3840481
  ExpectMeanStd(s.generated_bytes, 200, 130.3840481, 6, "bytes");
  ASSERT_TRUE(s.generated_bytes_per_solve.has_value());
  EXPECT_NEAR(*s.generated_bytes_per_solve, 1200.0 / 3, kEps);
  // beta reported no tokens: not every episode did
  EXPECT_FALSE(s.generated_tokens.has_value());
  EXPECT_FALSE(s.generated_tokens_per_solve.has_value());
  // difficulty 1: 100, 200, 150 → mean 150, squares 2500, 2500, 0, /2 → std 50
  // difficulty 3: 300, 50, 400 → mean 250, squares 2500, 40000, 22500 = 65000, /2 = 32500,
  //   std = 180.2775638
  ASSERT_EQ(s.bytes_by_difficulty.size(), 2u);
  ExpectMeanStd(s.bytes_by_difficulty.at(1), 150, 50, 3, "d1");
  ExpectMeanStd(s.bytes_by_difficulty.at(3), 250, 180.2775638, 3, "d3");
  // rho(difficulty, bytes): difficulty ranks 2, 2, 2, 5, 5, 5; bytes ranks (50 → 1 ... 400 → 6)
  // 2, 4, 3, 5, 1, 6; mean 3.5; dx = ±1.5; dy = -1.5, 0.5, -0.5, 1.5, -2.5, 2.5
  // Σdxdy = -1.5 * (-1.5) + 1.5 * 1.5 = 4.5; Σdx² = 13.5; Σdy² = 17.5
  // rho = 4.5 / sqrt(236.25) = 4.5 / 15.3704261 = 0.2927700
  ASSERT_TRUE(s.length_difficulty_rho.has_value());
  EXPECT_NEAR(*s.length_difficulty_rho, 0.2927700, 1e-6);
}

TEST(SummarizeTest, KIsTheFewestSamplesOfAnyTask) {
  // X: 4 samples, 1 success; Y: 2 samples, both solved → K = 2
  //   pass@1 = (1/4 + 1)/2 = 0.625; pass@2: X 1 - C(3,2)/C(4,2) = 1 - 3/6 = 0.5, Y 1 → 0.75
  //   pass^2: X C(1,2)/.. = 0, Y C(2,2)/C(2,2) = 1 → 0.5
  std::vector<EpisodeRecord> v;
  for (int i = 0; i < 4; ++i) v.push_back(Rec("s.x", 1, i, 1, i == 2, 0, 1, 1, 1, 0, 1, 10, 5));
  for (int i = 0; i < 2; ++i) v.push_back(Rec("s.y", 1, i, 1, true, 0, 1, 1, 1, 0, 1, 10, 5));
  const Summary s = Summarize(v);
  EXPECT_EQ(s.tasks, 2);
  ASSERT_EQ(s.pass_at_k.size(), 2u);
  EXPECT_NEAR(s.pass_at_k.at(1), 0.625, kEps);
  EXPECT_NEAR(s.pass_at_k.at(2), 0.75, kEps);
  ASSERT_EQ(s.pass_hat_k.size(), 2u);
  EXPECT_NEAR(s.pass_hat_k.at(1), 0.625, kEps);
  EXPECT_NEAR(s.pass_hat_k.at(2), 0.5, kEps);
  // The same seed in two splits is two tasks.
  v[0].split = "train";
  EXPECT_EQ(Summarize(v).tasks, 3);
  // Every episode has tokens (5 each): mean 5, std 0; per solve 6 * 5 / 3 = 10
  ASSERT_TRUE(s.generated_tokens.has_value());
  ExpectMeanStd(*s.generated_tokens, 5, 0, 6, "tokens");
  EXPECT_NEAR(s.generated_tokens_per_solve.value(), 10.0, kEps);
  // One difficulty: rho undefined
  EXPECT_FALSE(s.length_difficulty_rho.has_value());
}

TEST(SummarizeTest, NoEpisodes) {
  const Summary s = Summarize({});
  EXPECT_EQ(s.episodes, 0);
  EXPECT_EQ(s.tasks, 0);
  EXPECT_EQ(s.success_rate, 0.0);
  EXPECT_EQ(s.success_ci.lo, 0.0);
  EXPECT_EQ(s.success_ci.hi, 1.0);
  EXPECT_TRUE(s.pass_at_k.empty());
  EXPECT_TRUE(s.pass_hat_k.empty());
  EXPECT_EQ(s.reward.n, 0);
  EXPECT_EQ(s.tool_call_success_rate, 0.0);
  EXPECT_EQ(s.invalid_action_rate, 0.0);
  EXPECT_FALSE(s.tool_efficiency.has_value());
  EXPECT_FALSE(s.generated_bytes_per_solve.has_value());
  EXPECT_FALSE(s.generated_tokens.has_value());
  EXPECT_FALSE(s.length_difficulty_rho.has_value());
  EXPECT_TRUE(s.bytes_by_difficulty.empty());
}

TEST(SummarizeTest, NothingSolved) {
  std::vector<EpisodeRecord> v = {Rec("s.x", 1, 0, 1, false, 0, 2, 0, 0, 2, 3, 10, 7),
                                  Rec("s.x", 1, 1, 1, false, 0, 2, 0, 0, 2, 3, 30, 9)};
  const Summary s = Summarize(v);
  EXPECT_EQ(s.successes, 0);
  // Wilson 0/2: center = half → lo = 0; hi = 2 * (3.841459/4)/(1 + 3.841459/2)
  //   = 1.9207295 / 2.9207295 = 0.6576198
  EXPECT_EQ(s.success_ci.lo, 0.0);
  EXPECT_NEAR(s.success_ci.hi, 0.6576198, 1e-6);
  EXPECT_EQ(s.pass_at_k.at(2), 0.0);
  EXPECT_FALSE(s.tool_efficiency.has_value());  // no solved episode
  EXPECT_FALSE(s.generated_bytes_per_solve.has_value());
  ASSERT_TRUE(s.generated_tokens.has_value());
  EXPECT_NEAR(s.generated_tokens->mean, 8.0, kEps);
  EXPECT_FALSE(s.generated_tokens_per_solve.has_value());
  EXPECT_EQ(s.tool_call_success_rate, 0.0);  // no calls
  EXPECT_NEAR(s.invalid_action_rate, 1.0, kEps);
  // Solved without calls: efficiency has no denominator
  v[0].success = true;
  EXPECT_FALSE(Summarize(v).tool_efficiency.has_value());
}

TEST(SummarizeGroupsTest, KeysAndGroupValues) {
  const auto g = SummarizeGroups(HandMadeRecords());
  std::vector<std::string> keys;
  for (const auto& [k, s] : g) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"difficulty/1", "difficulty/3", "overall",
                                            "scenario/shell.alpha", "scenario/web.beta",
                                            "suite/shell", "suite/web"}));
  EXPECT_EQ(g.at("overall").episodes, 6);
  const Summary& alpha = g.at("scenario/shell.alpha");
  EXPECT_EQ(alpha.episodes, 3);
  EXPECT_EQ(alpha.successes, 2);
  EXPECT_EQ(alpha.errors, 0);
  // tokens 30, 50, 40: mean 40, squares 100, 100, 0 → /2 → std 10; per solve 120/2 = 60
  ASSERT_TRUE(alpha.generated_tokens.has_value());
  ExpectMeanStd(*alpha.generated_tokens, 40, 10, 3, "alpha tokens");
  EXPECT_NEAR(alpha.generated_tokens_per_solve.value(), 60.0, kEps);
  EXPECT_NEAR(alpha.tool_efficiency.value(), 4.0 / 6, kEps);  // (2+2)/(2+4)
  EXPECT_FALSE(alpha.length_difficulty_rho.has_value());      // one difficulty
  const Summary& web = g.at("suite/web");
  EXPECT_EQ(web.episodes, 3);
  EXPECT_EQ(web.errors, 1);
  EXPECT_EQ(web.successes, 1);
  EXPECT_NEAR(web.tool_efficiency.value(), 4.0 / 3, kEps);  // #3 only: 4 expert / 3 agent
  EXPECT_NEAR(web.pass_at_k.at(2), 2.0 / 3, kEps);          // 1 - C(2,2)/C(3,2)
  EXPECT_EQ(g.at("difficulty/3").episodes, 3);
  EXPECT_EQ(g.at("difficulty/3").successes, 1);
  EXPECT_EQ(g.at("difficulty/1").successes, 2);
  EXPECT_EQ(g.at("suite/shell").tasks, 1);
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(JsonTest, SummaryHasEveryField) {
  const json j = ToJson(Summarize(HandMadeRecords()));
  for (const char* f : {"episodes",
                        "tasks",
                        "successes",
                        "success_rate",
                        "success_ci",
                        "reward",
                        "reward_terms",
                        "pass_at_k",
                        "pass_hat_k",
                        "turns",
                        "tool_calls",
                        "tool_call_success_rate",
                        "invalid_action_rate",
                        "tool_efficiency",
                        "generated_bytes",
                        "generated_bytes_per_solve",
                        "generated_tokens",
                        "generated_tokens_per_solve",
                        "bytes_by_difficulty",
                        "length_difficulty_rho",
                        "errors"})
    EXPECT_TRUE(j.contains(f)) << f;
  EXPECT_EQ(j["episodes"], 6);
  EXPECT_NEAR(j["pass_at_k"]["2"].get<double>(), 5.0 / 6, kEps);
  EXPECT_NEAR(j["success_ci"]["lo"].get<double>(), 0.1876163, 1e-6);
  EXPECT_EQ(j["reward"]["n"], 6);
  EXPECT_TRUE(j["generated_tokens"].is_null());
  EXPECT_NEAR(j["tool_efficiency"].get<double>(), 8.0 / 9, kEps);
  EXPECT_NEAR(j["bytes_by_difficulty"]["3"]["mean"].get<double>(), 250, kEps);
}

void ExpectSameRecord(const EpisodeRecord& a, const EpisodeRecord& b) {
  EXPECT_EQ(a.scenario, b.scenario);
  EXPECT_EQ(a.suite, b.suite);
  EXPECT_EQ(a.split, b.split);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.sample, b.sample);
  EXPECT_EQ(a.difficulty, b.difficulty);
  EXPECT_EQ(a.success, b.success);
  EXPECT_EQ(a.score, b.score);
  EXPECT_EQ(a.reward, b.reward);
  EXPECT_EQ(a.reward_terms, b.reward_terms);
  EXPECT_EQ(a.turns, b.turns);
  EXPECT_EQ(a.tool_calls, b.tool_calls);
  EXPECT_EQ(a.tool_calls_ok, b.tool_calls_ok);
  EXPECT_EQ(a.invalid_actions, b.invalid_actions);
  EXPECT_EQ(a.expert_tool_calls, b.expert_tool_calls);
  EXPECT_EQ(a.generated_bytes, b.generated_bytes);
  EXPECT_EQ(a.generated_tokens, b.generated_tokens);
  EXPECT_EQ(a.end_reason, b.end_reason);
  EXPECT_EQ(a.error, b.error);
}

TEST(JsonTest, EpisodeRecordRoundTrips) {
  std::vector<EpisodeRecord> v = HandMadeRecords();
  v[0].seed = 18446744073709551615ull;  // the largest seed survives
  v[1].expert_tool_calls.reset();
  v[2].generated_bytes = 5'000'000'000;  // more than 32 bits
  v[3].reward = 0.1 + 0.2;               // no rounding in the text form
  for (const EpisodeRecord& r : v) {
    const std::string text = ToJson(r).dump();
    auto back = EpisodeRecordFromJson(json::parse(text));
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
    ExpectSameRecord(*back, r);
  }
  // Optional fields may be absent as well as null.
  json j = ToJson(v[0]);
  j.erase("expert_tool_calls");
  j.erase("generated_tokens");
  auto back = EpisodeRecordFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->expert_tool_calls.has_value());
  EXPECT_FALSE(back->generated_tokens.has_value());
}

TEST(JsonTest, EpisodeRecordErrorsNameTheField) {
  const json good = ToJson(HandMadeRecords()[0]);
  struct Case {
    const char* field;
    json value;  // null: remove the field
  };
  const std::vector<Case> cases = {{"scenario", nullptr},
                                   {"scenario", 3},
                                   {"seed", -1},
                                   {"seed", "7"},
                                   {"sample", 1.5},
                                   {"success", 1},
                                   {"reward", "high"},
                                   {"turns", nullptr},
                                   {"turns", 3e12},
                                   {"tool_calls_ok", true},
                                   {"reward_terms", json::array()},
                                   {"expert_tool_calls", "2"},
                                   {"generated_tokens", -0.5},
                                   {"error", nullptr},
                                   {"generated_bytes", nullptr},
                                   {"difficulty", 1e10},
                                   {"turns", std::int64_t{3'000'000'000}},  // above INT_MAX
                                   {"sample", std::int64_t{-3'000'000'000}}};
  for (const Case& c : cases) {
    json j = good;
    if (c.value.is_null())
      j.erase(c.field);
    else
      j[c.field] = c.value;
    auto r = EpisodeRecordFromJson(j);
    ASSERT_FALSE(r.ok()) << c.field << " = " << c.value.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(std::string("\"") + c.field + "\""), std::string::npos)
        << r.status().message();
    if (c.value.is_null()) {
      EXPECT_NE(r.status().message().find("missing"), std::string::npos);
    }
  }
  json j = good;
  j["reward_terms"]["outcome"] = "one";
  auto r = EpisodeRecordFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("reward_terms.outcome"), std::string::npos);
  EXPECT_FALSE(EpisodeRecordFromJson(json::array()).ok());
}

// ---------------------------------------------------------------------------------------------
// RecordFromTrajectory

TEST(SuiteOfTest, PrefixBeforeTheFirstDot) {
  EXPECT_EQ(SuiteOf("shell.count_matches"), "shell");
  EXPECT_EQ(SuiteOf("a.b.c"), "a");
  EXPECT_EQ(SuiteOf("nodot"), "nodot");
  EXPECT_EQ(SuiteOf(""), "");
}

TrajectoryStep Step(const std::string& action, json info) {
  TrajectoryStep s;
  s.action = action;
  s.info = std::move(info);
  return s;
}

TEST(RecordFromTrajectoryTest, HandBuiltTrajectory) {
  Trajectory t;
  t.scenario = "code.fix_bug";
  t.version = "1.0";
  t.policy = "test";
  t.env_kind = "code";
  t.split = "test";
  t.seed = 10005;
  t.difficulty = 2;
  // Step 1 (action "call-one", 8 bytes): python ok; run_tests with failing tests (error).
  t.steps.push_back(Step("call-one", json::parse(R"({
    "turn": 1, "format_ok": true,
    "tool_calls": [
      {"id": "call_0", "name": "python", "error": false, "verdict": "ok", "exit_code": 0},
      {"id": "call_1", "name": "run_tests", "error": true, "verdict": "tests_failed"}],
    "reward_terms": {"outcome": 0, "tool_call_cost": -0.02, "invalid_action": 0, "progress": 0.5}
  })")));
  // Step 2 (action "{broken", 7 bytes): did not parse, nothing ran.
  t.steps.push_back(Step("{broken", json::parse(R"({
    "turn": 2, "format_ok": false, "tool_calls": [],
    "reward_terms": {"outcome": 0, "tool_call_cost": 0, "invalid_action": -0.1, "progress": 0}
  })")));
  // Step 3 (action "final calls", 11 bytes): python timed out (error); bash exited nonzero but
  // without the error flag (the verdict decides: not ok); run_tests passed; submit (verdict "").
  t.steps.push_back(Step("final calls", json::parse(R"({
    "turn": 3, "format_ok": true,
    "tool_calls": [
      {"id": "call_2", "name": "python", "error": true, "verdict": "wall_time_limit"},
      {"id": "call_3", "name": "bash", "error": false, "verdict": "nonzero_exit", "exit_code": 1},
      {"id": "call_4", "name": "run_tests", "error": false, "verdict": "tests_passed"},
      {"id": "call_5", "name": "submit", "error": false, "verdict": ""}],
    "reward_terms": {"outcome": 1, "tool_call_cost": -0.04, "invalid_action": 0, "progress": 0.5},
    "end_reason": "submitted", "outcome": {"score": 1, "passed": true, "detail": ""}
  })")));
  t.total_reward = 1.86;  // -0.02 + 0.5 - 0.1 + 1 - 0.04 + 0.5
  t.success = true;
  t.score = 1.0;
  t.tool_calls = 6;
  t.end_reason = "submitted";

  const EpisodeRecord r = RecordFromTrajectory(t, 2, 5, 1234);
  EXPECT_EQ(r.scenario, "code.fix_bug");
  EXPECT_EQ(r.suite, "code");
  EXPECT_EQ(r.split, "test");
  EXPECT_EQ(r.seed, 10005u);
  EXPECT_EQ(r.sample, 2);
  EXPECT_EQ(r.difficulty, 2);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.score, 1.0);
  EXPECT_NEAR(r.reward, 1.86, kEps);
  EXPECT_EQ(r.turns, 3);
  EXPECT_EQ(r.tool_calls, 6);     // 2 + 0 + 4
  EXPECT_EQ(r.tool_calls_ok, 3);  // python ok, run_tests passed, submit
  EXPECT_EQ(r.invalid_actions, 1);
  EXPECT_EQ(r.generated_bytes, 26);  // 8 + 7 + 11
  EXPECT_EQ(r.expert_tool_calls, 5);
  EXPECT_EQ(r.generated_tokens, 1234);
  EXPECT_EQ(r.end_reason, "submitted");
  EXPECT_EQ(r.error, "");
  // Terms summed over steps; every known term present, 0 when no step had it.
  EXPECT_NEAR(r.reward_terms.at("outcome"), 1.0, kEps);
  EXPECT_NEAR(r.reward_terms.at("tool_call_cost"), -0.06, kEps);
  EXPECT_NEAR(r.reward_terms.at("invalid_action"), -0.1, kEps);
  EXPECT_NEAR(r.reward_terms.at("progress"), 1.0, kEps);
  for (const std::string& name : envs::RewardTermNames())
    EXPECT_TRUE(r.reward_terms.contains(name)) << name;
  EXPECT_EQ(r.reward_terms.at("overlong"), 0.0);

  // A policy error makes the episode a failure even if the verifier had passed.
  t.error = "INTERNAL: the model went away";
  const EpisodeRecord failed = RecordFromTrajectory(t);
  EXPECT_FALSE(failed.success);
  EXPECT_EQ(failed.error, t.error);
  EXPECT_EQ(failed.sample, 0);
  EXPECT_FALSE(failed.expert_tool_calls.has_value());
  EXPECT_FALSE(failed.generated_tokens.has_value());

  // No steps (the policy failed at once): zero counts, all terms 0.
  Trajectory empty;
  empty.scenario = "shell.x";
  empty.error = "policy failed";
  const EpisodeRecord e = RecordFromTrajectory(empty);
  EXPECT_EQ(e.turns, 0);
  EXPECT_EQ(e.tool_calls, 0);
  EXPECT_EQ(e.generated_bytes, 0);
  EXPECT_EQ(e.reward_terms.size(), envs::RewardTermNames().size());
}

TEST(RecordFromTrajectoryTest, SurvivesTheTrajectoryJson) {
  // A trajectory read back from its file gives the same record.
  Trajectory t;
  t.scenario = "web.x";
  t.split = "train";
  t.seed = 3;
  t.steps.push_back(Step("abc", json::parse(R"({"format_ok": false, "tool_calls": [],
      "reward_terms": {"invalid_action": -0.05}})")));
  t.steps.push_back(Step("defg", json::parse(R"({"format_ok": true, "tool_calls":
      [{"name": "click", "error": true, "verdict": ""}], "reward_terms": {}})")));
  auto back = TrajectoryFromJson(ToJson(t));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const EpisodeRecord a = RecordFromTrajectory(t), b = RecordFromTrajectory(*back);
  ExpectSameRecord(a, b);
  EXPECT_EQ(b.invalid_actions, 1);
  EXPECT_EQ(b.tool_calls, 1);
  EXPECT_EQ(b.tool_calls_ok, 0);  // the web tool flagged an error
  EXPECT_EQ(b.generated_bytes, 7);
}

// ---------------------------------------------------------------------------------------------
// Real episodes

class RealEpisodeTest : public ::testing::TestWithParam<std::string> {};

// What the record must agree with, from the trajectory and the env, by other routes than
// RecordFromTrajectory's: the env's own call counter, the conversation's assistant messages,
// the invalid-action term's weight, the sum of the reward terms.
void ExpectRecordAgrees(const Trajectory& t, const EpisodeRecord& r, const envs::Task& task) {
  EXPECT_EQ(r.scenario, t.scenario);
  EXPECT_EQ(r.suite, t.env_kind);  // the shipped ids start with their env kind
  EXPECT_EQ(r.seed, t.seed);
  EXPECT_EQ(r.difficulty, t.difficulty);
  EXPECT_EQ(r.success, t.success);
  EXPECT_EQ(r.turns, static_cast<int>(t.steps.size()));
  EXPECT_EQ(r.tool_calls, t.tool_calls);
  EXPECT_LE(r.tool_calls_ok, r.tool_calls);
  EXPECT_EQ(r.reward, t.total_reward);
  std::int64_t bytes = 0;
  for (const envs::Message& m : t.Conversation())
    if (m.role == "assistant") bytes += static_cast<std::int64_t>(m.content.size());
  EXPECT_EQ(r.generated_bytes, bytes);
  // Each invalid action costs exactly the scenario's invalid_action weight.
  EXPECT_NEAR(r.reward_terms.at("invalid_action"), -task.reward.invalid_action * r.invalid_actions,
              1e-9);
  double terms = 0;
  for (const auto& [name, v] : r.reward_terms) terms += v;
  EXPECT_NEAR(terms, t.total_reward, 1e-9);
  EXPECT_EQ(r.end_reason, t.end_reason);
}

TEST_P(RealEpisodeTest, ExpertRecordAgreesWithItsTrajectory) {
  auto env = scenarios::Make(GetParam());
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto expert = MakePolicy("expert");
  ASSERT_TRUE(expert.ok());
  std::vector<EpisodeRecord> records;
  for (std::uint64_t seed : {10000u, 10001u}) {
    auto t = RunEpisode(**env, **expert, seed);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_TRUE(t->error.empty()) << t->error;
    ASSERT_TRUE(t->success) << GetParam() << " seed " << seed;
    EpisodeRecord r = RecordFromTrajectory(*t, 0, t->tool_calls);
    ExpectRecordAgrees(*t, r, *(*env)->task());
    EXPECT_EQ(r.split, "test");
    EXPECT_GT(r.tool_calls, 0);
    EXPECT_EQ(r.invalid_actions, 0);
    EXPECT_EQ(r.tool_calls_ok, r.tool_calls);  // the expert's calls all succeed
    records.push_back(std::move(r));
  }
  const Summary s = Summarize(records);
  EXPECT_EQ(s.successes, 2);
  EXPECT_EQ(s.tasks, 2);
  ASSERT_TRUE(s.tool_efficiency.has_value());
  EXPECT_EQ(*s.tool_efficiency, 1.0);  // the expert against itself
  EXPECT_EQ(s.invalid_action_rate, 0.0);
  EXPECT_EQ(s.tool_call_success_rate, 1.0);
}

TEST_P(RealEpisodeTest, RandomRecordAgreesWithItsTrajectory) {
  auto env = scenarios::Make(GetParam());
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  // Episodes until 100 actions (random episodes are short: it often submits at once).
  int invalid = 0, turns = 0;
  for (std::uint64_t seed = 10000; seed < 10500 && turns < 100; ++seed) {
    auto random = MakePolicy("random", seed);
    ASSERT_TRUE(random.ok());
    auto t = RunEpisode(**env, **random, seed);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    const EpisodeRecord r = RecordFromTrajectory(*t);
    ExpectRecordAgrees(*t, r, *(*env)->task());
    invalid += r.invalid_actions;
    turns += r.turns;
  }
  // The random policy's share of malformed actions (10%) shows up over 100 actions.
  EXPECT_GT(invalid, 0) << "over " << turns << " turns";
  EXPECT_LT(invalid, turns);
}

INSTANTIATE_TEST_SUITE_P(Suites, RealEpisodeTest,
                         ::testing::Values("shell.count_matches", "web.info"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace toolgym::agent::metrics
