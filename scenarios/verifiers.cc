// The verifier registry and the verifiers that look at the answer and the history: exact, regex,
// numeric, set, f1, all, any, called, output_contains, answer_submitted.
//
// Patterns are RE2, not std::regex: they run on text the agent controls (answers, tool
// arguments), and libstdc++'s backtracking matcher takes minutes on a few KiB for patterns as
// plain as "a.*b.*z" and overflows the stack past ~10 KiB. RE2 matches in linear time. Its
// syntax is ECMAScript's without backreferences and lookaround.
#include "scenarios/verifiers.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "common/check.h"
#include "scenarios/verifiers_internal.h"

namespace toolgym::scenarios {
namespace {

using internal::SquadTokens;
using internal::TokenF1;

using envs::Verifier;
using envs::VerifyContext;
using envs::VerifyResult;
using internal::Describe;
using internal::IsSpace;
using internal::Quote;
using internal::Trim;
using nlohmann::json;

// Arguments longer than this are cut before `called` matches its pattern against them.
constexpr std::size_t kMaxCalledArgumentsBytes = 64 << 10;
// all/any nest at most this deep (a spec is data; a deep one must not exhaust the stack).
constexpr int kMaxNesting = 16;

VerifyResult Result(bool passed, std::string detail) {
  VerifyResult r;
  r.passed = passed;
  r.score = passed ? 1.0 : 0.0;
  r.detail = std::move(detail);
  return r;
}

VerifyResult NoAnswer() { return Result(false, "no answer submitted"); }

std::string JoinQuoted(const std::vector<std::string>& items, std::size_t max_items = 5) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max_items; ++i) {
    if (i) out += ", ";
    out += Quote(items[i], 40);
  }
  if (items.size() > max_items) out += fmt::format(" (+{} more)", items.size() - max_items);
  return out;
}

StatusOr<std::vector<std::string>> NormalizeField(const json& spec) {
  if (!spec.contains("normalize")) return std::vector<std::string>();
  return ParseNormalizeOptions(spec["normalize"]);
}

// Compiles a pattern given in `field`; errors quote the pattern and RE2's reason.
StatusOr<std::shared_ptr<const RE2>> CompilePattern(const std::string& pattern,
                                                    const std::string& field, bool ignore_case) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(!ignore_case);
  auto re = std::make_shared<const RE2>(pattern, options);
  if (!re->ok()) {
    return InvalidArgumentError("'{}' {} does not compile: {}", field, Quote(pattern), re->error());
  }
  return std::shared_ptr<const RE2>(std::move(re));
}

// ---------------------------------------------------------------------------------------------
// exact

class ExactVerifier : public Verifier {
 public:
  ExactVerifier(std::string expected, std::vector<std::string> normalize)
      : normalize_(std::move(normalize)),
        expected_(NormalizeText(std::move(expected), normalize_)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (!ctx.answer) return NoAnswer();
    std::string got = NormalizeText(*ctx.answer, normalize_);
    if (got == expected_) return Result(true, fmt::format("answer equals {}", Quote(expected_)));
    return Result(false, fmt::format("expected {}, got {}", Quote(expected_), Quote(got)));
  }

 private:
  std::vector<std::string> normalize_;
  std::string expected_;  // normalized
};

StatusOr<std::shared_ptr<const Verifier>> BuildExact(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string expected, internal::ScalarText(spec["expected"], "expected"));
  TG_ASSIGN_OR_RETURN(auto normalize, NormalizeField(spec));
  return std::shared_ptr<const Verifier>(
      std::make_shared<ExactVerifier>(std::move(expected), std::move(normalize)));
}

// ---------------------------------------------------------------------------------------------
// regex

class RegexVerifier : public Verifier {
 public:
  RegexVerifier(std::shared_ptr<const RE2> re, bool search, std::vector<std::string> normalize)
      : re_(std::move(re)), search_(search), normalize_(std::move(normalize)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (!ctx.answer) return NoAnswer();
    std::string got = NormalizeText(*ctx.answer, normalize_);
    bool matched = search_ ? RE2::PartialMatch(got, *re_) : RE2::FullMatch(got, *re_);
    std::string what = search_ ? "contains a match of" : "matches";
    if (matched) return Result(true, fmt::format("answer {} /{}/", what, re_->pattern()));
    return Result(false, fmt::format("answer {} does not {} /{}/", Quote(got),
                                     search_ ? "contain a match of" : "match", re_->pattern()));
  }

 private:
  std::shared_ptr<const RE2> re_;
  bool search_;
  std::vector<std::string> normalize_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildRegex(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string pattern, internal::GetString(spec, "pattern"));
  TG_ASSIGN_OR_RETURN(bool search, internal::GetBool(spec, "search", false));
  TG_ASSIGN_OR_RETURN(bool ignore_case, internal::GetBool(spec, "ignore_case", false));
  TG_ASSIGN_OR_RETURN(auto normalize, NormalizeField(spec));
  TG_ASSIGN_OR_RETURN(auto re, CompilePattern(pattern, "pattern", ignore_case));
  return std::shared_ptr<const Verifier>(
      std::make_shared<RegexVerifier>(std::move(re), search, std::move(normalize)));
}

// ---------------------------------------------------------------------------------------------
// numeric

// The number an answer states: see verifiers.h for the accepted syntax.
std::optional<double> ParseNumber(std::string_view text) {
  std::string s = Trim(text);
  if (s.size() > 1 && s.back() == '.' && std::isdigit(static_cast<unsigned char>(s[s.size() - 2])))
    s.pop_back();  // "42." as the end of a sentence
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  auto digit = [&](std::size_t k) {
    return k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]));
  };
  // Integer part, with commas allowed only as separators of exact 3-digit groups.
  std::string clean = negative ? "-" : "";
  std::size_t start = i, first_group = 0;
  bool commas = false;
  while (i < s.size() && (digit(i) || s[i] == ',')) {
    if (s[i] == ',') {
      if (!commas) first_group = i - start;
      if (!digit(i + 1) || !digit(i + 2) || !digit(i + 3) || (i + 4 < s.size() && digit(i + 4)))
        return std::nullopt;
      if (!commas && (first_group < 1 || first_group > 3)) return std::nullopt;
      commas = true;
    } else {
      clean += s[i];
    }
    ++i;
  }
  bool int_digits = i > start;
  bool frac_digits = false;
  if (i < s.size() && s[i] == '.') {
    clean += s[i++];
    while (digit(i)) {
      clean += s[i++];
      frac_digits = true;
    }
  }
  if (!int_digits && !frac_digits) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    clean += s[i++];
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) clean += s[i++];
    if (!digit(i)) return std::nullopt;
    while (digit(i)) clean += s[i++];
  }
  if (i != s.size()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), value);
  if (ec != std::errc() || end != clean.data() + clean.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

class NumericVerifier : public Verifier {
 public:
  NumericVerifier(double expected, double abs_tol, double rel_tol)
      : expected_(expected), abs_tol_(abs_tol), rel_tol_(rel_tol) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (!ctx.answer) return NoAnswer();
    std::optional<double> got = ParseNumber(*ctx.answer);
    if (!got) {
      return Result(false, fmt::format("expected the number {}, got {} (not a number)", expected_,
                                       Quote(*ctx.answer)));
    }
    double tol = std::max(abs_tol_, rel_tol_ * std::fabs(expected_));
    double diff = std::fabs(*got - expected_);
    // A few ULPs of slack so that a bound stated in decimal holds: 42.1 - 42 > 0.1 in doubles.
    double slack = 8 * std::numeric_limits<double>::epsilon() *
                   std::max(std::fabs(*got), std::fabs(expected_));
    if (diff <= tol + slack)
      return Result(true, fmt::format("{} is within {} of {}", *got, tol, expected_));
    return Result(false, fmt::format("expected {} (tolerance {}), got {}", expected_, tol, *got));
  }

 private:
  double expected_, abs_tol_, rel_tol_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildNumeric(const json& spec) {
  const json& e = spec["expected"];
  double expected = 0;
  if (e.is_number()) {
    expected = e.get<double>();
  } else if (e.is_string()) {
    std::optional<double> v = ParseNumber(e.get<std::string>());
    if (!v) return InvalidArgumentError("'expected' must be a number, got {}", Describe(e));
    expected = *v;
  } else {
    return InvalidArgumentError("'expected' must be a number or a numeric string, got {}",
                                Describe(e));
  }
  if (!std::isfinite(expected)) {
    return InvalidArgumentError("'expected' must be finite, got {}", Describe(e));
  }
  TG_ASSIGN_OR_RETURN(double abs_tol, internal::GetNumber(spec, "abs_tol", 1e-9, 0, 1e300));
  TG_ASSIGN_OR_RETURN(double rel_tol, internal::GetNumber(spec, "rel_tol", 0, 0, 1e300));
  return std::shared_ptr<const Verifier>(
      std::make_shared<NumericVerifier>(expected, abs_tol, rel_tol));
}

// ---------------------------------------------------------------------------------------------
// set

std::set<std::string> SplitSet(std::string_view text, const std::optional<std::string>& separator,
                               const std::vector<std::string>& normalize) {
  std::vector<std::string_view> parts;
  if (separator) {
    std::size_t pos = 0;
    while (true) {
      std::size_t next = text.find(*separator, pos);
      if (next == std::string_view::npos) break;
      parts.push_back(text.substr(pos, next - pos));
      pos = next + separator->size();
    }
    parts.push_back(text.substr(pos));
  } else {
    std::size_t pos = 0;
    for (std::size_t k = 0; k <= text.size(); ++k) {
      if (k == text.size() || text[k] == ',' || text[k] == '\n') {
        parts.push_back(text.substr(pos, k - pos));
        pos = k + 1;
      }
    }
  }
  std::set<std::string> items;
  for (std::string_view p : parts) {
    std::string item = Trim(NormalizeText(Trim(p), normalize));
    if (!item.empty()) items.insert(std::move(item));
  }
  return items;
}

class SetVerifier : public Verifier {
 public:
  SetVerifier(std::set<std::string> expected, std::optional<std::string> separator,
              std::vector<std::string> normalize)
      : expected_(std::move(expected)),
        separator_(std::move(separator)),
        normalize_(std::move(normalize)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (!ctx.answer) return NoAnswer();
    std::set<std::string> got = SplitSet(*ctx.answer, separator_, normalize_);
    if (got == expected_) {
      return Result(true, fmt::format("the answer's {} items equal the expected set", got.size()));
    }
    std::vector<std::string> missing, extra;
    std::set_difference(expected_.begin(), expected_.end(), got.begin(), got.end(),
                        std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), expected_.begin(), expected_.end(),
                        std::back_inserter(extra));
    std::string detail = fmt::format("expected {} items, got {}", expected_.size(), got.size());
    if (!missing.empty()) detail += "; missing: " + JoinQuoted(missing);
    if (!extra.empty()) detail += "; unexpected: " + JoinQuoted(extra);
    return Result(false, detail);
  }

 private:
  std::set<std::string> expected_;
  std::optional<std::string> separator_;
  std::vector<std::string> normalize_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildSet(const json& spec) {
  TG_ASSIGN_OR_RETURN(auto normalize, NormalizeField(spec));
  TG_ASSIGN_OR_RETURN(auto separator, internal::GetOptionalString(spec, "separator"));
  if (separator && separator->empty()) {
    return InvalidArgumentError("'separator' must not be empty");
  }
  const json& e = spec["expected"];
  std::set<std::string> expected;
  if (e.is_string()) {
    expected = SplitSet(e.get<std::string>(), separator, normalize);
  } else if (e.is_array()) {
    for (std::size_t i = 0; i < e.size(); ++i) {
      TG_ASSIGN_OR_RETURN(std::string item,
                          internal::ScalarText(e[i], fmt::format("expected[{}]", i)));
      item = Trim(NormalizeText(Trim(item), normalize));
      if (item.empty()) {
        return InvalidArgumentError("'expected[{}]' is empty after trimming and normalization", i);
      }
      expected.insert(std::move(item));
    }
  } else {
    return InvalidArgumentError("'expected' must be an array of items or a string, got {}",
                                Describe(e));
  }
  return std::shared_ptr<const Verifier>(std::make_shared<SetVerifier>(
      std::move(expected), std::move(separator), std::move(normalize)));
}

// ---------------------------------------------------------------------------------------------
// f1

class F1Verifier : public Verifier {
 public:
  F1Verifier(std::vector<std::string> expected, double threshold)
      : expected_(std::move(expected)), threshold_(threshold) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (!ctx.answer) return NoAnswer();
    std::vector<std::string> pred = SquadTokens(*ctx.answer);
    double best = 0;
    std::size_t best_i = 0;
    for (std::size_t i = 0; i < expected_.size(); ++i) {
      double f1 = TokenF1(pred, SquadTokens(expected_[i]));
      if (f1 > best) best = f1, best_i = i;
    }
    VerifyResult r;
    r.score = best;
    r.passed = best >= threshold_ - 1e-12;
    r.detail = fmt::format("token F1 {:.3f} against {} (threshold {})", best,
                           Quote(expected_[best_i]), threshold_);
    return r;
  }

 private:
  std::vector<std::string> expected_;
  double threshold_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildF1(const json& spec) {
  const json& e = spec["expected"];
  std::vector<std::string> expected;
  if (e.is_string()) {
    expected.push_back(e.get<std::string>());
  } else if (e.is_array() && !e.empty()) {
    for (std::size_t i = 0; i < e.size(); ++i) {
      TG_ASSIGN_OR_RETURN(std::string s,
                          internal::ScalarText(e[i], fmt::format("expected[{}]", i)));
      expected.push_back(std::move(s));
    }
  } else {
    return InvalidArgumentError(
        "'expected' must be a string or a non-empty array of strings, got {}", Describe(e));
  }
  TG_ASSIGN_OR_RETURN(double threshold, internal::GetNumber(spec, "threshold", 1.0, 0, 1));
  if (threshold <= 0) return InvalidArgumentError("'threshold' must be in (0, 1], got 0");
  return std::shared_ptr<const Verifier>(
      std::make_shared<F1Verifier>(std::move(expected), threshold));
}

// ---------------------------------------------------------------------------------------------
// all / any

class CombineVerifier : public Verifier {
 public:
  CombineVerifier(bool all, bool partial, std::vector<std::shared_ptr<const Verifier>> children)
      : all_(all), partial_(partial), children_(std::move(children)) {
    for (const auto& c : children_) runs_commands_ = runs_commands_ || c->RunsCommands();
  }
  VerifyResult Verify(VerifyContext& ctx) const override {
    VerifyResult r;
    int passed = 0;
    double sum = 0, max = 0;
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < children_.size(); ++i) {
      VerifyResult c = children_[i]->Verify(ctx);
      passed += c.passed;
      sum += c.score;
      max = std::max(max, c.score);
      r.verdicts.insert(r.verdicts.end(), c.verdicts.begin(), c.verdicts.end());
      parts.push_back(fmt::format("[{}] {}: {}", i, c.passed ? "pass" : "fail", c.detail));
    }
    int n = static_cast<int>(children_.size());
    r.passed = all_ ? passed == n : passed > 0;
    // `all` scores 1 or 0 unless the scenario asks for partial credit: with partial credit a
    // policy that changes nothing still earns every check the initial state already passes.
    r.score = all_ ? (partial_ ? sum / n : (r.passed ? 1.0 : 0.0)) : max;
    r.detail = fmt::format("{}: {}/{} passed", all_ ? "all" : "any", passed, n);
    for (const auto& p : parts) r.detail += "; " + p;
    return r;
  }
  bool RunsCommands() const override { return runs_commands_; }

 private:
  bool all_;
  bool partial_ = false;
  std::vector<std::shared_ptr<const Verifier>> children_;
  bool runs_commands_ = false;
};

StatusOr<std::shared_ptr<const Verifier>> BuildCombine(bool all, const json& spec) {
  thread_local int depth = 0;
  struct DepthGuard {
    DepthGuard() { ++depth; }
    ~DepthGuard() { --depth; }
  } guard;
  if (depth > kMaxNesting) {
    return InvalidArgumentError("all/any nested more than {} deep", kMaxNesting);
  }
  const json& of = spec["of"];
  if (!of.is_array() || of.empty()) {
    return InvalidArgumentError("'of' must be a non-empty array of verifiers, got {}",
                                Describe(of));
  }
  bool partial = false;
  if (spec.contains("partial")) {
    if (!all || !spec["partial"].is_boolean())
      return InvalidArgumentError("'partial' is a boolean option of 'all' only, got {}",
                                  Describe(spec["partial"]));
    partial = spec["partial"].get<bool>();
  }
  std::vector<std::shared_ptr<const Verifier>> children;
  for (std::size_t i = 0; i < of.size(); ++i) {
    auto child = VerifierRegistry::Default().Build(of[i]);
    if (!child.ok()) return child.status().WithContext(fmt::format("of[{}]", i));
    children.push_back(std::move(child).value());
  }
  return std::shared_ptr<const Verifier>(
      std::make_shared<CombineVerifier>(all, partial, std::move(children)));
}

// ---------------------------------------------------------------------------------------------
// called, output_contains, answer_submitted

class CalledVerifier : public Verifier {
 public:
  CalledVerifier(std::string tool, std::shared_ptr<const RE2> re, bool succeeded)
      : tool_(std::move(tool)), re_(std::move(re)), succeeded_(succeeded) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    int calls = 0;
    for (std::size_t i = 0; i < ctx.history.size(); ++i) {
      const envs::ToolRecord& rec = ctx.history[i];
      if (rec.call.name != tool_ || (succeeded_ && rec.error)) continue;
      ++calls;
      if (re_) {
        std::string args = rec.call.arguments.dump(-1, ' ', false, json::error_handler_t::replace);
        if (args.size() > kMaxCalledArgumentsBytes) args.resize(kMaxCalledArgumentsBytes);
        if (!RE2::PartialMatch(args, *re_)) continue;
      }
      return Result(
          true,
          fmt::format("history[{}] calls '{}'{}", i, tool_,
                      re_ ? fmt::format(" with arguments matching /{}/", re_->pattern()) : ""));
    }
    std::string what = succeeded_ ? "successful call" : "call";
    if (calls == 0) return Result(false, fmt::format("no {} to '{}'", what, tool_));
    return Result(false, fmt::format("{} {}(s) to '{}', none with arguments matching /{}/", calls,
                                     what, tool_, re_->pattern()));
  }

 private:
  std::string tool_;
  std::shared_ptr<const RE2> re_;  // null: any arguments
  bool succeeded_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildCalled(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string tool, internal::GetString(spec, "tool"));
  TG_ASSIGN_OR_RETURN(bool succeeded, internal::GetBool(spec, "succeeded", false));
  std::shared_ptr<const RE2> re;
  if (spec.contains("pattern")) {
    TG_ASSIGN_OR_RETURN(std::string pattern, internal::GetString(spec, "pattern"));
    TG_ASSIGN_OR_RETURN(re, CompilePattern(pattern, "pattern", false));
  }
  return std::shared_ptr<const Verifier>(
      std::make_shared<CalledVerifier>(std::move(tool), std::move(re), succeeded));
}

class OutputContainsVerifier : public Verifier {
 public:
  explicit OutputContainsVerifier(std::string text) : text_(std::move(text)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    for (std::size_t i = 0; i < ctx.history.size(); ++i) {
      if (ctx.history[i].output.find(text_) != std::string::npos) {
        return Result(true, fmt::format("history[{}] output contains {}", i, Quote(text_)));
      }
    }
    return Result(false, fmt::format("no tool output contains {} ({} calls)", Quote(text_),
                                     ctx.history.size()));
  }

 private:
  std::string text_;
};

class AnswerSubmittedVerifier : public Verifier {
 public:
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (!ctx.answer) return NoAnswer();
    return Result(true, fmt::format("answer submitted ({} bytes)", ctx.answer->size()));
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Normalization

std::string NormalizeText(std::string s, const std::vector<std::string>& options) {
  auto has = [&](std::string_view name) {
    return std::find(options.begin(), options.end(), name) != options.end();
  };
  if (has("case")) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (has("punctuation")) {
    std::erase_if(s, [](char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; });
  }
  if (has("whitespace")) {
    std::string out;
    out.reserve(s.size());
    bool in_space = false;
    for (char c : s) {
      if (IsSpace(c)) {
        if (!in_space) out += ' ';
        in_space = true;
      } else {
        out += c;
        in_space = false;
      }
    }
    s = std::move(out);
  }
  if (has("trim")) s = Trim(s);
  if (has("trailing_newline")) {
    if (s.ends_with("\r\n")) {
      s.resize(s.size() - 2);
    } else if (s.ends_with('\n')) {
      s.pop_back();
    }
  }
  return s;
}

StatusOr<std::vector<std::string>> ParseNormalizeOptions(const json& value,
                                                         const std::string& field) {
  std::vector<std::string> options;
  if (value.is_string()) {
    options.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const auto& v : value) {
      if (!v.is_string()) {
        return InvalidArgumentError("'{}' must be an array of option names, got {}", field,
                                    Describe(value));
      }
      options.push_back(v.get<std::string>());
    }
  } else {
    return InvalidArgumentError("'{}' must be an array of option names, got {}", field,
                                Describe(value));
  }
  const auto& known = NormalizeOptionNames();
  for (const auto& o : options) {
    if (std::find(known.begin(), known.end(), o) == known.end()) {
      return InvalidArgumentError("'{}' option {} is unknown; expected any of: {}", field, Quote(o),
                                  fmt::join(known, ", "));
    }
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Registry

Status VerifierRegistry::Register(VerifierInfo info) {
  if (info.type.empty()) return InvalidArgumentError("a verifier type must have a name");
  if (!info.build) return InvalidArgumentError("verifier '{}' has no factory", info.type);
  if (verifiers_.count(info.type)) {
    return InvalidArgumentError("verifier type '{}' is already registered", info.type);
  }
  for (const auto& r : info.required) {
    if (std::find(info.fields.begin(), info.fields.end(), r) == info.fields.end()) {
      return InvalidArgumentError("verifier '{}': required field '{}' is not among its fields",
                                  info.type, r);
    }
  }
  std::string type = info.type;
  verifiers_.emplace(std::move(type), std::move(info));
  return OkStatus();
}

const VerifierInfo* VerifierRegistry::Find(const std::string& type) const {
  auto it = verifiers_.find(type);
  return it == verifiers_.end() ? nullptr : &it->second;
}

std::vector<std::string> VerifierRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, info] : verifiers_) names.push_back(name);
  return names;
}

StatusOr<std::shared_ptr<const Verifier>> VerifierRegistry::Build(const json& spec) const {
  if (!spec.is_object()) {
    return InvalidArgumentError("a verifier must be a JSON object with a \"type\", got {}",
                                Describe(spec));
  }
  auto type_it = spec.find("type");
  if (type_it == spec.end()) {
    return InvalidArgumentError("verifier {} has no \"type\"; known types: {}", Describe(spec),
                                fmt::join(Names(), ", "));
  }
  if (!type_it->is_string()) {
    return InvalidArgumentError("verifier \"type\" must be a string, got {}", Describe(*type_it));
  }
  const std::string type = type_it->get<std::string>();
  const VerifierInfo* info = Find(type);
  if (info == nullptr) {
    return InvalidArgumentError("unknown verifier type {}; known types: {}", Quote(type),
                                fmt::join(Names(), ", "));
  }
  for (const auto& [key, value] : spec.items()) {
    if (key == "type") continue;
    if (std::find(info->fields.begin(), info->fields.end(), key) == info->fields.end()) {
      if (info->fields.empty()) {
        return InvalidArgumentError("verifier '{}': unknown field {}; it takes no fields", type,
                                    Quote(key));
      }
      return InvalidArgumentError("verifier '{}': unknown field {}; accepted fields: {}", type,
                                  Quote(key), fmt::join(info->fields, ", "));
    }
  }
  for (const auto& r : info->required) {
    if (!spec.contains(r)) {
      return InvalidArgumentError("verifier '{}': missing field '{}'", type, r);
    }
  }
  StatusOr<std::shared_ptr<const Verifier>> built = InternalError("not built");
  try {
    built = info->build(spec);
  } catch (const std::exception& e) {
    built = InternalError("factory threw: {}", e.what());
  }
  if (!built.ok()) return built.status().WithContext(fmt::format("verifier '{}'", type));
  if (*built == nullptr) return InternalError("verifier '{}': factory returned null", type);
  return built;
}

const VerifierRegistry& VerifierRegistry::Default() {
  static const VerifierRegistry* registry = [] {
    auto* r = new VerifierRegistry;
    RegisterAnswerVerifiers(*r);
    RegisterStateVerifiers(*r);
    RegisterWebVerifiers(*r);
    RegisterSearchVerifiers(*r);
    return r;
  }();
  return *registry;
}

void RegisterAnswerVerifiers(VerifierRegistry& r) {
  auto add = [&r](VerifierInfo info) { TG_CHECK(r.Register(std::move(info)).ok()); };
  add({"exact",
       "the answer equals `expected` after optional normalization",
       {"expected", "normalize"},
       {"expected"},
       BuildExact});
  add({"regex",
       "the answer matches `pattern` (whole answer unless `search`)",
       {"pattern", "search", "ignore_case", "normalize"},
       {"pattern"},
       BuildRegex});
  add({"numeric",
       "the answer is a number within tolerance of `expected`",
       {"expected", "abs_tol", "rel_tol"},
       {"expected"},
       BuildNumeric});
  add({"set",
       "the answer's items equal the expected set",
       {"expected", "separator", "normalize"},
       {"expected"},
       BuildSet});
  add({"f1",
       "SQuAD token F1 of the answer against `expected` reaches `threshold`",
       {"expected", "threshold"},
       {"expected"},
       BuildF1});
  add({"all",
       "every verifier in `of` passes (score 1 or 0; the mean with \"partial\": true)",
       {"of", "partial"},
       {"of"},
       [](const json& spec) { return BuildCombine(true, spec); }});
  add({"any",
       "at least one verifier in `of` passes (score: max)",
       {"of"},
       {"of"},
       [](const json& spec) { return BuildCombine(false, spec); }});
  add({"called",
       "some executed call of `tool` has arguments matching `pattern`",
       {"tool", "pattern", "succeeded"},
       {"tool"},
       BuildCalled});
  add({"output_contains",
       "some tool output contains `text`",
       {"text"},
       {"text"},
       [](const json& spec) -> StatusOr<std::shared_ptr<const Verifier>> {
         TG_ASSIGN_OR_RETURN(std::string text, internal::GetString(spec, "text"));
         return std::shared_ptr<const Verifier>(
             std::make_shared<OutputContainsVerifier>(std::move(text)));
       }});
  add({"answer_submitted",
       "an answer was submitted",
       {},
       {},
       [](const json&) -> StatusOr<std::shared_ptr<const Verifier>> {
         return std::shared_ptr<const Verifier>(std::make_shared<AnswerSubmittedVerifier>());
       }});
}

}  // namespace toolgym::scenarios
