// Rng: golden values pin every draw (a change here would change every generated task), and
// loose distribution checks. All draws are seeded, so the statistical bounds are deterministic.
#include "scenarios/rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace toolgym::scenarios {
namespace {

TEST(HashTest, Fnv1aKnownVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(HashTest, SplitMixKnownValue) {
  EXPECT_EQ(SplitMix64(0), 0xe220a8397b1dcdafull);
  EXPECT_NE(SplitMix64(1), SplitMix64(0));
}

TEST(RngTest, EngineIsStandardMt19937_64) {
  Rng r(5489);  // the standard requires this 10000th output for the default seed
  std::uint64_t x = 0;
  for (int i = 0; i < 10000; ++i) x = r.Next();
  EXPECT_EQ(x, 9981545732273789042ull);
}

TEST(RngTest, GoldenDraws) {
  Rng r(42);
  EXPECT_EQ(r.Next(), 13930160852258120406ull);
  EXPECT_EQ(r.Next(), 11788048577503494824ull);
  EXPECT_EQ(r.Next(), 13874630024467741450ull);

  Rng a(42);
  std::vector<std::int64_t> ints;
  for (int i = 0; i < 5; ++i) ints.push_back(a.UniformInt(1, 100));
  EXPECT_EQ(ints, (std::vector<std::int64_t>{7, 25, 51, 63, 82}));
  EXPECT_DOUBLE_EQ(a.UniformReal(), 0.094068311762837031);
  EXPECT_DOUBLE_EQ(a.UniformReal(), 0.57457030410826393);
  EXPECT_DOUBLE_EQ(a.UniformReal(), 0.37288769945618483);
  EXPECT_EQ(a.Sample(10, 4), (std::vector<std::size_t>{0, 2, 5, 3}));
  std::vector<int> v{0, 1, 2, 3, 4, 5, 6, 7};
  a.Shuffle(v);
  EXPECT_EQ(v, (std::vector<int>{7, 1, 5, 4, 2, 6, 3, 0}));
}

TEST(RngTest, GoldenForTask) {
  Rng t = Rng::ForTask("shell.find_file", "1", 7, "params");
  EXPECT_EQ(t.Next(), 10704503710640985169ull);
  EXPECT_EQ(t.UniformInt(-1000, 1000), 160);
}

TEST(RngTest, GoldenLargeSample) {
  Rng r(1);  // n > 2^16 and k small: the rejection path
  EXPECT_EQ(r.Sample(1000000000ull, 5),
            (std::vector<std::size_t>{546311528, 700432462, 463659930, 950575246, 900931384}));
}

TEST(RngTest, ForTaskSeparatesEveryInput) {
  auto first = [](Rng r) { return r.Next(); };
  std::uint64_t base = first(Rng::ForTask("s", "1", 0, ""));
  EXPECT_EQ(base, first(Rng::ForTask("s", "1", 0, "")));
  EXPECT_NE(base, first(Rng::ForTask("t", "1", 0, "")));
  EXPECT_NE(base, first(Rng::ForTask("s", "2", 0, "")));
  EXPECT_NE(base, first(Rng::ForTask("s", "1", 1, "")));
  EXPECT_NE(base, first(Rng::ForTask("s", "1", 0, "x")));
  // Boundaries between the strings matter.
  EXPECT_NE(first(Rng::ForTask("ab", "c", 0)), first(Rng::ForTask("a", "bc", 0)));
  EXPECT_NE(first(Rng::ForTask("a", "", 0, "b")), first(Rng::ForTask("a", "b", 0, "")));
}

TEST(RngTest, UniformIntBounds) {
  Rng r(7);
  EXPECT_EQ(r.UniformInt(5, 5), 5);
  EXPECT_EQ(r.UniformInt(-3, -3), -3);
  EXPECT_EQ(r.Index(1), 0u);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    std::int64_t x = r.UniformInt(-3, 3);
    ASSERT_GE(x, -3);
    ASSERT_LE(x, 3);
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 7u);  // both ends are reachable
  // The full 64-bit range and ranges wider than 2^63 do not overflow.
  bool negative = false, positive = false;
  for (int i = 0; i < 100; ++i) {
    std::int64_t x = r.UniformInt(INT64_MIN, INT64_MAX);
    negative = negative || x < 0;
    positive = positive || x > 0;
    std::int64_t y = r.UniformInt(-5, INT64_MAX);
    ASSERT_GE(y, -5);
  }
  EXPECT_TRUE(negative && positive);
}

TEST(RngDeathTest, UniformIntRejectsEmptyRange) {
  Rng r(1);
  EXPECT_DEATH(r.UniformInt(3, 2), "CHECK failed");
}

TEST(RngTest, UniformIntIsRoughlyUniform) {
  Rng r(123);
  constexpr int kBins = 10, kDraws = 100000;
  std::vector<int> counts(kBins, 0);
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<std::size_t>(r.UniformInt(0, kBins - 1))];
  double expected = static_cast<double>(kDraws) / kBins, chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 40.0);  // 9 degrees of freedom: p < 1e-5 beyond ~36
  // A range whose size does not divide 2^64 (rejection matters only in principle here).
  std::vector<int> three(3, 0);
  for (int i = 0; i < 30000; ++i) ++three[static_cast<std::size_t>(r.UniformInt(0, 2))];
  for (int c : three) EXPECT_NEAR(c, 10000, 600);
}

TEST(RngTest, UniformRealRangeAndMean) {
  Rng r(9);
  double sum = 0;
  for (int i = 0; i < 50000; ++i) {
    double x = r.UniformReal();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    sum += x;
  }
  EXPECT_NEAR(sum / 50000, 0.5, 0.01);
}

TEST(RngTest, BernoulliFrequencies) {
  Rng r(11);
  int hits = 0;
  for (int i = 0; i < 20000; ++i) hits += r.Bernoulli(0.3);
  EXPECT_NEAR(hits / 20000.0, 0.3, 0.02);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(r.Bernoulli(0.0));
    ASSERT_TRUE(r.Bernoulli(1.0));
  }
}

TEST(RngTest, SampleIsDistinctAndInRange) {
  Rng r(5);
  for (std::size_t n : {1u, 5u, 100u, 70000u}) {
    for (std::size_t k : {std::size_t{0}, std::size_t{1}, n / 2, n}) {
      auto s = r.Sample(n, k);
      ASSERT_EQ(s.size(), k);
      std::set<std::size_t> u(s.begin(), s.end());
      ASSERT_EQ(u.size(), k) << "n=" << n << " k=" << k;
      for (std::size_t x : s) ASSERT_LT(x, n);
    }
  }
  // The rejection path (large n, small k) keeps the same guarantees.
  auto s = r.Sample(10'000'000, 1000);
  std::set<std::size_t> u(s.begin(), s.end());
  EXPECT_EQ(u.size(), 1000u);
  EXPECT_LT(*u.rbegin(), 10'000'000u);
}

TEST(RngTest, SampleCoversIndicesUniformly) {
  Rng r(17);
  std::vector<int> counts(20, 0);
  for (int i = 0; i < 20000; ++i) {
    for (std::size_t x : r.Sample(20, 3)) ++counts[x];
  }
  for (int c : counts) EXPECT_NEAR(c, 3000, 300);
  // Order is random too: the first element is not biased towards small indices.
  std::vector<int> first(5, 0);
  for (int i = 0; i < 10000; ++i) ++first[r.Sample(5, 5)[0]];
  for (int c : first) EXPECT_NEAR(c, 2000, 250);
}

TEST(RngTest, ShuffleIsAUniformPermutation) {
  Rng r(3);
  std::map<std::vector<int>, int> seen;
  for (int i = 0; i < 6000; ++i) {
    std::vector<int> v{1, 2, 3};
    r.Shuffle(v);
    ++seen[v];
  }
  ASSERT_EQ(seen.size(), 6u);
  for (const auto& [perm, c] : seen) EXPECT_NEAR(c, 1000, 150);
  std::vector<int> big(1000);
  std::iota(big.begin(), big.end(), 0);
  auto copy = big;
  r.Shuffle(copy);
  EXPECT_NE(copy, big);
  std::sort(copy.begin(), copy.end());
  EXPECT_EQ(copy, big);
}

TEST(RngTest, ChoiceReturnsAnElement) {
  Rng r(8);
  std::vector<std::string> v{"a", "b", "c"};
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) seen.insert(r.Choice(v));
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace toolgym::scenarios
