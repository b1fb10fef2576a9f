// Verifiers of the search env (verifiers.h lists their fields):
//   qa         the submitted answer against one or several accepted answers: SQuAD's exact
//              match and token F1 (Rajpurkar et al. 2016, the official evaluation script), and a
//              configurable mix of the two as the score
//   retrieved  a document was shown by search, opened, or either (reads VerifyContext::env_state,
//              the search env's {"retrieved", "opened"}): the gold-document subgoals
#include <fmt/format.h>

#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/check.h"
#include "scenarios/verifiers.h"
#include "scenarios/verifiers_internal.h"

namespace toolgym::scenarios {
namespace {

using envs::Verifier;
using envs::VerifyContext;
using envs::VerifyResult;
using internal::Describe;
using internal::Quote;
using internal::SquadTokens;
using internal::TokenF1;
using nlohmann::json;

enum class QaMetric { kEm, kF1, kMix };

class QaVerifier : public Verifier {
 public:
  QaVerifier(std::vector<std::string> expected, QaMetric metric, double em_weight, double f1_weight,
             std::optional<double> threshold)
      : expected_(std::move(expected)),
        metric_(metric),
        em_weight_(em_weight),
        f1_weight_(f1_weight),
        threshold_(threshold) {
    for (const auto& e : expected_) gold_.push_back(SquadTokens(e));
  }

  VerifyResult Verify(VerifyContext& ctx) const override {
    VerifyResult r;
    if (!ctx.answer) {
      r.detail = "no answer submitted";
      return r;
    }
    const std::vector<std::string> pred = SquadTokens(*ctx.answer);
    double em = 0, f1 = 0;
    std::size_t best = 0;
    for (std::size_t i = 0; i < gold_.size(); ++i) {
      const double e = pred == gold_[i] ? 1.0 : 0.0;
      const double f = TokenF1(pred, gold_[i]);
      if (e > em || (e == em && f > f1)) best = i;
      em = std::max(em, e);
      f1 = std::max(f1, f);
    }
    switch (metric_) {
      case QaMetric::kEm:
        r.score = em;
        break;
      case QaMetric::kF1:
        r.score = f1;
        break;
      case QaMetric::kMix:
        r.score = (em_weight_ * em + f1_weight_ * f1) / (em_weight_ + f1_weight_);
        break;
    }
    r.passed = threshold_ ? r.score >= *threshold_ - 1e-12 : em == 1.0;
    r.detail = fmt::format(
        "EM {:g}, F1 {:.3f} against {}{}; score {:.3f}", em, f1, Quote(expected_[best], 60),
        expected_.size() > 1 ? fmt::format(" (best of {})", expected_.size()) : std::string(),
        r.score);
    return r;
  }

 private:
  std::vector<std::string> expected_;
  std::vector<std::vector<std::string>> gold_;
  QaMetric metric_;
  double em_weight_, f1_weight_;
  std::optional<double> threshold_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildQa(const json& spec) {
  const json& e = spec["expected"];
  std::vector<std::string> expected;
  if (e.is_array()) {
    for (std::size_t i = 0; i < e.size(); ++i) {
      TG_ASSIGN_OR_RETURN(std::string s,
                          internal::ScalarText(e[i], fmt::format("expected[{}]", i)));
      expected.push_back(std::move(s));
    }
  } else if (!e.is_null()) {
    TG_ASSIGN_OR_RETURN(std::string s, internal::ScalarText(e, "expected"));
    expected.push_back(std::move(s));
  }
  if (expected.empty())
    return InvalidArgumentError(
        "'expected' must be an answer or a non-empty list of accepted answers, got {}",
        Describe(e));
  QaMetric metric = QaMetric::kMix;
  if (spec.contains("metric")) {
    const json& m = spec["metric"];
    if (m == "em") {
      metric = QaMetric::kEm;
    } else if (m == "f1") {
      metric = QaMetric::kF1;
    } else if (m != "mix") {
      return InvalidArgumentError("'metric' must be \"em\", \"f1\" or \"mix\", got {}",
                                  Describe(m));
    }
  }
  TG_ASSIGN_OR_RETURN(double em_weight, internal::GetNumber(spec, "em_weight", 0.5, 0, 1e6));
  TG_ASSIGN_OR_RETURN(double f1_weight, internal::GetNumber(spec, "f1_weight", 0.5, 0, 1e6));
  if (metric == QaMetric::kMix && em_weight + f1_weight <= 0)
    return InvalidArgumentError(
        "'em_weight' and 'f1_weight' must not both be 0 for the \"mix\" metric");
  if (metric != QaMetric::kMix && (spec.contains("em_weight") || spec.contains("f1_weight")))
    return InvalidArgumentError("'em_weight' and 'f1_weight' apply only to \"metric\": \"mix\"");
  std::optional<double> threshold;
  if (spec.contains("threshold")) {
    TG_ASSIGN_OR_RETURN(double t, internal::GetNumber(spec, "threshold", 1, 0, 1));
    if (t <= 0) return InvalidArgumentError("'threshold' must be in (0, 1], got 0");
    threshold = t;
  }
  return std::shared_ptr<const Verifier>(
      std::make_shared<QaVerifier>(std::move(expected), metric, em_weight, f1_weight, threshold));
}

class RetrievedVerifier : public Verifier {
 public:
  RetrievedVerifier(std::string doc_id, std::string via)
      : doc_id_(std::move(doc_id)), via_(std::move(via)) {}

  VerifyResult Verify(VerifyContext& ctx) const override {
    VerifyResult r;
    const json* state = ctx.env_state;
    if (state == nullptr || !state->is_object()) {
      r.detail = "no search env state (the retrieved check needs the search env)";
      return r;
    }
    auto has = [&](const char* list) {
      auto it = state->find(list);
      if (it == state->end() || !it->is_array()) return false;
      for (const json& id : *it)
        if (id.is_string() && id.get_ref<const std::string&>() == doc_id_) return true;
      return false;
    };
    const bool searched = has("retrieved"), opened = has("opened");
    r.passed = via_ == "search" ? searched : via_ == "open" ? opened : searched || opened;
    r.score = r.passed ? 1 : 0;
    r.detail = fmt::format("{} {} (shown by search: {}, opened: {})", Quote(doc_id_, 60),
                           r.passed ? "retrieved" : "not retrieved", searched ? "yes" : "no",
                           opened ? "yes" : "no");
    return r;
  }

 private:
  std::string doc_id_;
  std::string via_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildRetrieved(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string id, internal::GetString(spec, "doc_id"));
  std::string via = "any";
  if (spec.contains("via")) {
    const json& v = spec["via"];
    if (v != "search" && v != "open" && v != "any")
      return InvalidArgumentError("'via' must be \"search\", \"open\" or \"any\", got {}",
                                  Describe(v));
    via = v.get<std::string>();
  }
  return std::shared_ptr<const Verifier>(
      std::make_shared<RetrievedVerifier>(std::move(id), std::move(via)));
}

}  // namespace

void RegisterSearchVerifiers(VerifierRegistry& r) {
  auto add = [&r](VerifierInfo info) { TG_CHECK(r.Register(std::move(info)).ok()); };
  add({"qa",
       "SQuAD exact match and token F1 of the answer against `expected` (one or several), "
       "scored as `metric`: em, f1 or mix",
       {"expected", "metric", "em_weight", "f1_weight", "threshold"},
       {"expected"},
       BuildQa});
  add({"retrieved",
       "the document `doc_id` was shown by search, opened, or either (`via`)",
       {"doc_id", "via"},
       {"doc_id"},
       BuildRetrieved});
}

}  // namespace toolgym::scenarios
