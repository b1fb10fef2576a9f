// The search env's verifiers (scenarios/verifiers_search.cc): "qa" with SQuAD normalization,
// exact match, token F1 and their mix, checked against values computed by hand (and against the
// answers that must not pass), and "retrieved" over the env state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "scenarios/verifiers.h"

namespace toolgym::scenarios {
namespace {

using envs::VerifyContext;
using envs::VerifyResult;
using nlohmann::json;
using ::testing::HasSubstr;

std::shared_ptr<const envs::Verifier> Build(const json& spec) {
  auto v = VerifierRegistry::Default().Build(spec);
  EXPECT_TRUE(v.ok()) << spec.dump() << ": " << v.status().ToString();
  return v.ok() ? *v : nullptr;
}

std::string BuildError(const json& spec) {
  auto v = VerifierRegistry::Default().Build(spec);
  EXPECT_FALSE(v.ok()) << spec.dump() << " built";
  return v.ok() ? "" : v.status().message();
}

VerifyResult Check(const json& spec, std::optional<std::string> answer,
                   const json* state = nullptr) {
  auto v = Build(spec);
  if (v == nullptr) return {};
  const json params = json::object();
  const std::vector<envs::ToolRecord> history;
  VerifyContext ctx{params, answer, history, nullptr, true, state};
  return v->Verify(ctx);
}

json Qa(json expected, json extra = json::object()) {
  json spec = {{"type", "qa"}, {"expected", std::move(expected)}};
  spec.update(extra);
  return spec;
}

TEST(QaVerifierTest, ExactMatchAfterSquadNormalization) {
  // Case, punctuation, articles and spacing do not matter.
  for (const char* answer : {"Varno Industries", "varno industries", "The Varno Industries.",
                             "  Varno,  Industries!", "VARNO INDUSTRIES\n"}) {
    VerifyResult r = Check(Qa("Varno Industries", {{"metric", "em"}}), answer);
    EXPECT_TRUE(r.passed) << answer;
    EXPECT_DOUBLE_EQ(r.score, 1.0) << answer;
  }
  // Punctuation is deleted, not replaced by a space: "1,234" is "1234", "$129" is "129".
  EXPECT_TRUE(Check(Qa("1234567", {{"metric", "em"}}), "1,234,567").passed);
  EXPECT_TRUE(Check(Qa("$129", {{"metric", "em"}}), "129").passed);
  EXPECT_TRUE(Check(Qa("unanswerable", {{"metric", "em"}}), "Unanswerable.").passed);
}

TEST(QaVerifierTest, NearMissesDoNotPass) {
  // A distractor's name, a different number, extra words, a partial name: all fail EM.
  for (const char* answer : {"Varnow Industries", "Varno", "Varno Industries Ltd",
                             "not Varno Industries", "Industries Varno x", ""}) {
    VerifyResult r = Check(Qa("Varno Industries", {{"metric", "em"}}), answer);
    EXPECT_FALSE(r.passed) << answer;
    EXPECT_DOUBLE_EQ(r.score, 0.0) << answer;
  }
  EXPECT_FALSE(Check(Qa("1987", {{"metric", "em"}}), "1978").passed);
  EXPECT_FALSE(Check(Qa("1987", {{"metric", "em"}}), "19 87").passed);
  // Articles are removed only as words: "another" keeps its "an".
  EXPECT_FALSE(Check(Qa("other", {{"metric", "em"}}), "another").passed);
  // No answer at all.
  VerifyResult none = Check(Qa("x"), std::nullopt);
  EXPECT_FALSE(none.passed);
  EXPECT_EQ(none.score, 0);
  EXPECT_EQ(none.detail, "no answer submitted");
}

TEST(QaVerifierTest, TokenF1IsComputedAsSquadDoes) {
  // pred {varno, industries, ltd} vs gold {varno, industries}: P 2/3, R 1, F1 0.8.
  EXPECT_NEAR(Check(Qa("Varno Industries", {{"metric", "f1"}}), "Varno Industries Ltd").score, 0.8,
              1e-12);
  // pred {varnow, industries} vs gold {varno, industries}: P 1/2, R 1/2, F1 0.5.
  EXPECT_NEAR(Check(Qa("Varno Industries", {{"metric", "f1"}}), "Varnow Industries").score, 0.5,
              1e-12);
  // Repeated tokens count once per occurrence: pred {a1, a1, b} vs gold {a1, b, c}:
  // common 2 (a1 once, b), P 2/3, R 2/3, F1 2/3.
  EXPECT_NEAR(Check(Qa("a1 b c", {{"metric", "f1"}}), "a1 a1 b").score, 2.0 / 3, 1e-12);
  // Nothing in common.
  EXPECT_EQ(Check(Qa("Tarsville", {{"metric", "f1"}}), "Kelmport").score, 0);
  // An answer that normalizes to nothing against a real answer: 0.
  EXPECT_EQ(Check(Qa("Tarsville", {{"metric", "f1"}}), "the !").score, 0);
  // Without a threshold, F1 < 1 does not pass even under the f1 metric; EM decides.
  EXPECT_FALSE(Check(Qa("Varno Industries", {{"metric", "f1"}}), "Varno Industries Ltd").passed);
}

TEST(QaVerifierTest, TheMixIsAWeightedMeanOfEmAndF1) {
  // Default mix 0.5/0.5: EM 0, F1 0.8 -> 0.4.
  VerifyResult r = Check(Qa("Varno Industries"), "Varno Industries Ltd");
  EXPECT_NEAR(r.score, 0.4, 1e-12);
  EXPECT_FALSE(r.passed);
  EXPECT_THAT(r.detail, HasSubstr("EM 0, F1 0.800"));
  // 3:1 weights: (3 * 0 + 1 * 0.5) / 4 = 0.125.
  EXPECT_NEAR(
      Check(Qa("Varno Industries", {{"em_weight", 3}, {"f1_weight", 1}}), "Varnow Industries")
          .score,
      0.125, 1e-12);
  // EM 1 and F1 1 -> 1 whatever the weights.
  VerifyResult exact =
      Check(Qa("Varno Industries", {{"em_weight", 0.2}, {"f1_weight", 0.7}}), "varno industries");
  EXPECT_NEAR(exact.score, 1.0, 1e-12);
  EXPECT_TRUE(exact.passed);
  // Only F1 weighted: the mix is F1.
  EXPECT_NEAR(Check(Qa("x y", {{"em_weight", 0}, {"f1_weight", 2}}), "x").score, 2.0 / 3, 1e-12);
}

TEST(QaVerifierTest, AThresholdDecidesPassingOnTheScore) {
  const json spec = Qa("Varno Industries", {{"metric", "f1"}, {"threshold", 0.8}});
  EXPECT_TRUE(Check(spec, "Varno Industries Ltd").passed);  // F1 0.8
  EXPECT_FALSE(Check(spec, "Varnow Industries").passed);    // F1 0.5
  // The known cost of F1 thresholds: a negated answer keeps most tokens.
  EXPECT_TRUE(Check(spec, "not Varno Industries").passed);  // F1 0.8
  EXPECT_FALSE(Check(Qa("Varno Industries", {{"metric", "em"}}), "not Varno Industries").passed);
}

TEST(QaVerifierTest, SeveralAcceptedAnswersTakeTheBest) {
  const json spec = Qa(json({"$129", "129 dollars"}), {{"metric", "mix"}});
  EXPECT_TRUE(Check(spec, "129").passed);  // "$129" normalizes to "129"
  VerifyResult r = Check(spec, "129 dollars");
  EXPECT_TRUE(r.passed);
  EXPECT_THAT(r.detail, HasSubstr("best of 2"));
  // F1 takes the best answer too: "129 usd" vs "129 dollars" F1 0.5, vs "$129" F1 2/3.
  EXPECT_NEAR(Check(Qa(json({"$129", "129 dollars"}), {{"metric", "f1"}}), "129 usd").score,
              2.0 / 3, 1e-12);
  // Numbers are accepted answers too.
  EXPECT_TRUE(Check(Qa(json({1987})), "1987").passed);
}

TEST(QaVerifierTest, BadSpecsAreErrorsNamingTheField) {
  EXPECT_THAT(BuildError({{"type", "qa"}}), HasSubstr("missing field 'expected'"));
  EXPECT_THAT(BuildError(Qa(json::array())), HasSubstr("non-empty list"));
  EXPECT_THAT(BuildError(Qa(json::object())), HasSubstr("'expected'"));
  EXPECT_THAT(BuildError(Qa(json({"a", json::object()}))), HasSubstr("expected[1]"));
  EXPECT_THAT(BuildError(Qa("a", {{"metric", "bleu"}})),
              HasSubstr("'metric' must be \"em\", \"f1\" or \"mix\", got \"bleu\""));
  EXPECT_THAT(BuildError(Qa("a", {{"em_weight", 0}, {"f1_weight", 0}})),
              HasSubstr("must not both be 0"));
  EXPECT_THAT(BuildError(Qa("a", {{"em_weight", -1}})), HasSubstr("'em_weight'"));
  EXPECT_THAT(BuildError(Qa("a", {{"metric", "em"}, {"f1_weight", 1}})),
              HasSubstr("apply only to \"metric\": \"mix\""));
  EXPECT_THAT(BuildError(Qa("a", {{"threshold", 0}})), HasSubstr("'threshold' must be in (0, 1]"));
  EXPECT_THAT(BuildError(Qa("a", {{"threshold", 1.5}})), HasSubstr("'threshold'"));
  EXPECT_THAT(BuildError(Qa("a", {{"normalize", "case"}})), HasSubstr("unknown field"));
}

json State(json retrieved, json opened) {
  return {{"retrieved", std::move(retrieved)}, {"opened", std::move(opened)}, {"searches", 2}};
}

TEST(RetrievedVerifierTest, ReadsTheSearchEnvState) {
  const json state = State({"a1", "gold"}, {"a1"});
  auto check = [&](const char* via, const char* id) {
    json spec = {{"type", "retrieved"}, {"doc_id", id}};
    if (via != nullptr) spec["via"] = via;
    return Check(spec, std::nullopt, &state);
  };
  EXPECT_TRUE(check("search", "gold").passed);
  EXPECT_FALSE(check("open", "gold").passed);  // shown, never opened
  EXPECT_TRUE(check(nullptr, "gold").passed);  // "any" by default
  EXPECT_TRUE(check("open", "a1").passed);
  EXPECT_FALSE(check("any", "gol").passed);  // whole ids only
  EXPECT_FALSE(check("any", "GOLD").passed);
  VerifyResult r = check("open", "gold");
  EXPECT_EQ(r.score, 0);
  EXPECT_THAT(r.detail, HasSubstr("shown by search: yes, opened: no"));
  EXPECT_EQ(check("search", "gold").score, 1);
}

TEST(RetrievedVerifierTest, WithoutSearchStateNothingIsRetrieved) {
  VerifyResult r = Check({{"type", "retrieved"}, {"doc_id", "gold"}}, std::nullopt, nullptr);
  EXPECT_FALSE(r.passed);
  EXPECT_THAT(r.detail, HasSubstr("needs the search env"));
  const json odd = {{"retrieved", "gold"}};  // not a list: nothing matches
  EXPECT_FALSE(Check({{"type", "retrieved"}, {"doc_id", "gold"}}, std::nullopt, &odd).passed);
}

TEST(RetrievedVerifierTest, BadSpecs) {
  EXPECT_THAT(BuildError({{"type", "retrieved"}}), HasSubstr("missing field 'doc_id'"));
  EXPECT_THAT(BuildError({{"type", "retrieved"}, {"doc_id", ""}}), HasSubstr("must not be empty"));
  EXPECT_THAT(BuildError({{"type", "retrieved"}, {"doc_id", "a"}, {"via", "click"}}),
              HasSubstr("'via' must be \"search\", \"open\" or \"any\""));
  // Never runs commands: usable as a subgoal.
  EXPECT_FALSE(Build({{"type", "retrieved"}, {"doc_id", "a"}})->RunsCommands());
}

}  // namespace
}  // namespace toolgym::scenarios
