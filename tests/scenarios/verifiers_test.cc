// Verifier registry and the answer/history verifiers: spec validation with errors naming the
// field, and for each type the answers that must pass and the near misses that must not.
#include "scenarios/verifiers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace toolgym::scenarios {
namespace {

using envs::ToolRecord;
using envs::Verifier;
using envs::VerifyContext;
using envs::VerifyResult;
using nlohmann::json;

std::shared_ptr<const Verifier> MustBuild(const char* spec) {
  auto v = VerifierRegistry::Default().Build(json::parse(spec));
  EXPECT_TRUE(v.ok()) << spec << ": " << v.status().ToString();
  return v.ok() ? *v : nullptr;
}

std::string BuildError(const json& spec) {
  auto v = VerifierRegistry::Default().Build(spec);
  return v.ok() ? "OK" : v.status().message();
}

VerifyResult Check(const Verifier& v, std::optional<std::string> answer,
                   const std::vector<ToolRecord>& history = {}) {
  static const json kParams = json::object();
  VerifyContext ctx{kParams, answer, history};
  return v.Verify(ctx);
}

bool Passes(const char* spec, std::optional<std::string> answer) {
  auto v = MustBuild(spec);
  if (!v) return false;
  VerifyResult r = Check(*v, std::move(answer));
  EXPECT_EQ(r.score, r.passed ? 1.0 : 0.0) << spec;  // binary verifiers
  return r.passed;
}

ToolRecord Record(const std::string& name, json args, std::string output = "", bool error = false) {
  ToolRecord r;
  r.call.name = name;
  r.call.arguments = std::move(args);
  r.output = std::move(output);
  r.error = error;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Registry

TEST(VerifierRegistryTest, DefaultHasEveryBuiltInType) {
  EXPECT_EQ(VerifierRegistry::Default().Names(), (std::vector<std::string>{"all",
                                                                           "answer_submitted",
                                                                           "any",
                                                                           "called",
                                                                           "command",
                                                                           "event",
                                                                           "exact",
                                                                           "f1",
                                                                           "file_absent",
                                                                           "file_contains",
                                                                           "file_equals",
                                                                           "file_exists",
                                                                           "file_mode",
                                                                           "file_sha256",
                                                                           "hidden_tests",
                                                                           "numeric",
                                                                           "output_contains",
                                                                           "qa",
                                                                           "regex",
                                                                           "retrieved",
                                                                           "set",
                                                                           "site_state",
                                                                           "webshop"}));
  const VerifierInfo* exact = VerifierRegistry::Default().Find("exact");
  ASSERT_NE(exact, nullptr);
  EXPECT_EQ(exact->required, std::vector<std::string>{"expected"});
  EXPECT_EQ(VerifierRegistry::Default().Find("nope"), nullptr);
}

TEST(VerifierRegistryTest, BuildChecksTypeAndFields) {
  EXPECT_NE(BuildError(json::array()).find("must be a JSON object"), std::string::npos);
  std::string no_type = BuildError(json::parse(R"J({"expected": "x"})J"));
  EXPECT_NE(no_type.find("has no \"type\""), std::string::npos) << no_type;
  EXPECT_NE(no_type.find("exact, f1"), std::string::npos) << no_type;
  EXPECT_NE(BuildError(json::parse(R"J({"type": 3})J")).find("\"type\" must be a string"),
            std::string::npos);
  std::string unknown = BuildError(json::parse(R"J({"type": "exactly"})J"));
  EXPECT_NE(unknown.find("unknown verifier type \"exactly\"; known types: all, answer_submitted"),
            std::string::npos)
      << unknown;
  EXPECT_EQ(BuildError(json::parse(R"J({"type": "exact", "expected": "x", "expect": "y"})J")),
            "verifier 'exact': unknown field \"expect\"; accepted fields: expected, normalize");
  EXPECT_EQ(BuildError(json::parse(R"J({"type": "answer_submitted", "x": 1})J")),
            "verifier 'answer_submitted': unknown field \"x\"; it takes no fields");
  EXPECT_EQ(BuildError(json::parse(R"J({"type": "exact"})J")),
            "verifier 'exact': missing field 'expected'");
  // Factory errors are prefixed with the type and name the field.
  EXPECT_EQ(BuildError(json::parse(R"J({"type": "numeric", "expected": 1, "abs_tol": "x"})J")),
            "verifier 'numeric': 'abs_tol' must be a number, got \"x\"");
}

TEST(VerifierRegistryTest, RegisterRejectsDuplicatesAndBadInfo) {
  VerifierRegistry r;
  RegisterAnswerVerifiers(r);
  EXPECT_NE(r.Find("exact"), nullptr);
  EXPECT_EQ(r.Find("file_exists"), nullptr);
  Status dup = r.Register(VerifierInfo{"exact", "", {}, {}, [](const json&) {
                                         return StatusOr<std::shared_ptr<const Verifier>>(
                                             InternalError("unused"));
                                       }});
  EXPECT_FALSE(dup.ok());
  EXPECT_NE(dup.message().find("already registered"), std::string::npos);
  EXPECT_FALSE(r.Register(VerifierInfo{"x", "", {}, {}, nullptr}).ok());
  EXPECT_FALSE(r.Register(VerifierInfo{"", "", {}, {}, nullptr}).ok());
  Status req = r.Register(VerifierInfo{"y", "", {"a"}, {"b"}, [](const json&) {
                                         return StatusOr<std::shared_ptr<const Verifier>>(
                                             InternalError("unused"));
                                       }});
  EXPECT_NE(req.message().find("required field 'b'"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Normalization

TEST(NormalizeTextTest, Options) {
  EXPECT_EQ(NormalizeText("  Hello,  World!\n", {}), "  Hello,  World!\n");
  EXPECT_EQ(NormalizeText("  Hello,  World!\n", {"trim"}), "Hello,  World!");
  EXPECT_EQ(NormalizeText("  Hello,  World!\n", {"case"}), "  hello,  world!\n");
  EXPECT_EQ(NormalizeText("  Hello,  World!\n", {"punctuation"}), "  Hello  World\n");
  EXPECT_EQ(NormalizeText("  Hello,\t\n World!\n", {"whitespace"}), " Hello, World! ");
  // Fixed order whatever the listing order: punctuation before whitespace before trim.
  EXPECT_EQ(NormalizeText(" Paris . ", {"trim", "whitespace", "punctuation", "case"}), "paris");
  EXPECT_EQ(NormalizeText("a\n", {"trailing_newline"}), "a");
  EXPECT_EQ(NormalizeText("a\r\n", {"trailing_newline"}), "a");
  EXPECT_EQ(NormalizeText("a\n\n", {"trailing_newline"}), "a\n");  // one newline only
  EXPECT_EQ(NormalizeText("\xc3\x89"
                          "COLE",
                          {"case"}),
            "\xc3\x89"
            "cole");  // ASCII only
}

TEST(NormalizeTextTest, ParseOptions) {
  auto one = ParseNormalizeOptions(json("trim"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, std::vector<std::string>{"trim"});
  auto many = ParseNormalizeOptions(json::parse(R"J(["case", "trailing_newline"])J"));
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->size(), 2u);
  auto bad = ParseNormalizeOptions(json::parse(R"J(["case", "lower"])J"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "'normalize' option \"lower\" is unknown; expected any of: trim, case, whitespace, "
            "punctuation, trailing_newline");
  EXPECT_FALSE(ParseNormalizeOptions(json(3)).ok());
  EXPECT_FALSE(ParseNormalizeOptions(json::parse("[1]")).ok());
}

// ---------------------------------------------------------------------------------------------
// exact

TEST(ExactVerifierTest, NormalizationDecidesNearMisses) {
  const char* plain = R"J({"type": "exact", "expected": "paris"})J";
  const char* norm =
      R"J({"type": "exact", "expected": "paris", "normalize": ["punctuation", "case"]})J";
  const char* case_only = R"J({"type": "exact", "expected": "paris", "normalize": ["case"]})J";
  EXPECT_TRUE(Passes(plain, "paris"));
  EXPECT_FALSE(Passes(plain, "Paris."));
  EXPECT_FALSE(Passes(plain, "paris "));
  EXPECT_FALSE(Passes(case_only, "Paris."));
  EXPECT_TRUE(Passes(norm, "Paris."));
  EXPECT_FALSE(Passes(norm, "Paris, France"));
  EXPECT_FALSE(Passes(norm, " Paris"));  // no trim asked
  EXPECT_TRUE(
      Passes(R"J({"type": "exact", "expected": "paris", "normalize": "trim"})J", " paris\n"));
}

TEST(ExactVerifierTest, NumbersAndDetails) {
  // A template "{{ count }}" renders to a number; the answer is text.
  EXPECT_TRUE(Passes(R"J({"type": "exact", "expected": 42})J", "42"));
  EXPECT_FALSE(Passes(R"J({"type": "exact", "expected": 42})J", "42.0"));
  EXPECT_TRUE(Passes(R"J({"type": "exact", "expected": true})J", "true"));
  auto v = MustBuild(R"J({"type": "exact", "expected": "cba"})J");
  VerifyResult r = Check(*v, std::string("abc"));
  EXPECT_EQ(r.detail, R"J(expected "cba", got "abc")J");
  VerifyResult none = Check(*v, std::nullopt);
  EXPECT_FALSE(none.passed);
  EXPECT_EQ(none.score, 0);
  EXPECT_EQ(none.detail, "no answer submitted");
  EXPECT_NE(BuildError(json::parse(R"J({"type": "exact", "expected": null})J"))
                .find("'expected' must be a string, number or boolean, got null"),
            std::string::npos);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "exact", "expected": "x", "normalize": ["x"]})J"))
                .find("option \"x\" is unknown"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// regex

TEST(RegexVerifierTest, WholeAnswerUnlessSearch) {
  const char* whole = R"J({"type": "regex", "pattern": "\\d{3}-\\d{4}"})J";
  const char* search = R"J({"type": "regex", "pattern": "\\d{3}-\\d{4}", "search": true})J";
  EXPECT_TRUE(Passes(whole, "555-1234"));
  EXPECT_FALSE(Passes(whole, "call 555-1234"));  // a partial match is not enough
  EXPECT_FALSE(Passes(whole, "555-12345"));
  EXPECT_TRUE(Passes(search, "call 555-1234 now"));
  EXPECT_FALSE(Passes(search, "call 555-123 now"));
  EXPECT_FALSE(Passes(whole, std::nullopt));
  const char* icase = R"J({"type": "regex", "pattern": "yes|y", "ignore_case": true})J";
  EXPECT_TRUE(Passes(icase, "YES"));
  EXPECT_FALSE(Passes(icase, "YES!"));
  EXPECT_FALSE(Passes(R"J({"type": "regex", "pattern": "yes|y"})J", "YES"));
  const char* norm = R"J({"type": "regex", "pattern": "ok", "normalize": ["trim", "case"]})J";
  EXPECT_TRUE(Passes(norm, "  OK\n"));
}

TEST(RegexVerifierTest, BadPatternsAreBuildErrors) {
  std::string err = BuildError(json::parse(R"J({"type": "regex", "pattern": "a(b"})J"));
  EXPECT_NE(err.find("'pattern' \"a(b\" does not compile: missing )"), std::string::npos) << err;
  EXPECT_NE(
      BuildError(json::parse(R"J({"type": "regex", "pattern": ""})J")).find("must not be empty"),
      std::string::npos);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "regex", "pattern": "x", "search": "yes"})J"))
                .find("'search' must be true or false"),
            std::string::npos);
}

TEST(RegexVerifierTest, HostileAnswerIsMatchedInLinearTime) {
  // std::regex backtracks: "a.*b.*z" takes minutes on 16 KiB and overflows the stack on 12 KiB.
  auto v = MustBuild(R"J({"type": "regex", "pattern": "a.*b.*z", "search": true})J");
  std::string answer;
  for (int i = 0; i < (1 << 20); ++i) answer += "ab"[i % 2];
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(Check(*v, answer).passed);
  EXPECT_TRUE(Check(*v, answer + "z").passed);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
}

// ---------------------------------------------------------------------------------------------
// numeric

TEST(NumericVerifierTest, AnswerSyntax) {
  const char* v42 = R"J({"type": "numeric", "expected": 42})J";
  for (const char* ok :
       {"42", " 42 ", "42.", "+42", "42.0", "4.2e1", "4.2E+1", "42.000000000001", "\n42\n"}) {
    EXPECT_TRUE(Passes(v42, ok)) << ok;
  }
  for (const char* bad : {"42 apples", "about 42", "0x2A", "42..", "4 2", "", "forty-two", "42%",
                          "$42", "inf", "nan", "42e", "--42", ".", "42.5", "41"}) {
    EXPECT_FALSE(Passes(v42, bad)) << bad;
  }
  const char* v1234 = R"J({"type": "numeric", "expected": 1234567.5})J";
  EXPECT_TRUE(Passes(v1234, "1,234,567.5"));
  EXPECT_TRUE(Passes(v1234, "1234567.5"));
  for (const char* bad :
       {"1,23,4567.5", "12,34567.5", "1,234,5675", ",234,567.5", "1234,567.5", "1,234,567,.5"}) {
    EXPECT_FALSE(Passes(v1234, bad)) << bad;
  }
  EXPECT_TRUE(Passes(R"J({"type": "numeric", "expected": -0.5})J", "-.5"));
  EXPECT_TRUE(Passes(R"J({"type": "numeric", "expected": 0})J", "-0"));
}

TEST(NumericVerifierTest, Tolerances) {
  const char* abs = R"J({"type": "numeric", "expected": 42, "abs_tol": 0.1})J";
  EXPECT_TRUE(Passes(abs, "42.1"));
  EXPECT_TRUE(Passes(abs, "41.95"));
  EXPECT_FALSE(Passes(abs, "42.5"));
  EXPECT_FALSE(Passes(abs, "42.11"));
  const char* rel = R"J({"type": "numeric", "expected": 1000, "rel_tol": 0.01})J";
  EXPECT_TRUE(Passes(rel, "1,009"));
  EXPECT_FALSE(Passes(rel, "1011"));
  // The larger of the two tolerances applies.
  const char* both = R"J({"type": "numeric", "expected": 1000, "rel_tol": 0.01, "abs_tol": 50})J";
  EXPECT_TRUE(Passes(both, "1049"));
  auto v = MustBuild(abs);
  EXPECT_EQ(Check(*v, std::string("42.5")).detail, "expected 42 (tolerance 0.1), got 42.5");
  EXPECT_EQ(Check(*v, std::string("12 apples")).detail,
            "expected the number 42, got \"12 apples\" (not a number)");
}

TEST(NumericVerifierTest, ExpectedMayBeANumericString) {
  EXPECT_TRUE(Passes(R"J({"type": "numeric", "expected": "1,000"})J", "1000"));
  EXPECT_TRUE(Passes(R"J({"type": "numeric", "expected": " 2.5 "})J", "2.50"));
  EXPECT_EQ(BuildError(json::parse(R"J({"type": "numeric", "expected": "ten"})J")),
            "verifier 'numeric': 'expected' must be a number, got \"ten\"");
  EXPECT_NE(BuildError(json::parse(R"J({"type": "numeric", "expected": [1]})J"))
                .find("'expected' must be a number or a numeric string"),
            std::string::npos);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "numeric", "expected": 1, "rel_tol": -1})J"))
                .find("'rel_tol' must be a number in [0, "),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// set

TEST(SetVerifierTest, ItemsInAnyOrderNothingMoreNothingLess) {
  const char* s = R"J({"type": "set", "expected": ["a.txt", "b.txt", "c.txt"]})J";
  EXPECT_TRUE(Passes(s, "c.txt, a.txt, b.txt"));
  EXPECT_TRUE(Passes(s, "a.txt\nb.txt\nc.txt\n"));
  EXPECT_TRUE(Passes(s, " a.txt ,, b.txt,c.txt,a.txt\n"));  // empty items, duplicates
  EXPECT_FALSE(Passes(s, "a.txt, b.txt, c.txt, d.txt"));    // one extra item
  EXPECT_FALSE(Passes(s, "a.txt, b.txt"));                  // one missing
  EXPECT_FALSE(Passes(s, "a.txt b.txt c.txt"));             // not split on spaces
  EXPECT_FALSE(Passes(s, "A.txt, b.txt, c.txt"));           // no normalization asked
  auto v = MustBuild(s);
  EXPECT_EQ(
      Check(*v, std::string("a.txt, d.txt, e.txt")).detail,
      R"J(expected 3 items, got 3; missing: "b.txt", "c.txt"; unexpected: "d.txt", "e.txt")J");
}

TEST(SetVerifierTest, SeparatorNormalizationAndStringExpected) {
  const char* semi = R"J({"type": "set", "expected": "x;y, z", "separator": ";"})J";
  EXPECT_TRUE(Passes(semi, "y, z ; x"));
  EXPECT_FALSE(Passes(semi, "x;y;z"));
  const char* norm = R"J({"type": "set", "expected": ["Alice", "Bob"], "normalize": ["case"]})J";
  EXPECT_TRUE(Passes(norm, "bob,ALICE"));
  EXPECT_TRUE(Passes(R"J({"type": "set", "expected": [3, 1, 2]})J", "1, 2, 3"));
  EXPECT_TRUE(Passes(R"J({"type": "set", "expected": []})J", " ,\n"));
  EXPECT_FALSE(Passes(R"J({"type": "set", "expected": []})J", "none"));
  EXPECT_NE(BuildError(json::parse(R"J({"type": "set", "expected": ["a", " "]})J"))
                .find("'expected[1]' is empty"),
            std::string::npos);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "set", "expected": ["a"], "separator": ""})J"))
                .find("'separator' must not be empty"),
            std::string::npos);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "set", "expected": {"a": 1}})J"))
                .find("'expected' must be an array"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// f1

TEST(F1VerifierTest, SquadTokenF1) {
  auto exact = MustBuild(R"J({"type": "f1", "expected": "The Eiffel Tower"})J");
  VerifyResult r = Check(*exact, std::string("eiffel tower!"));  // articles, case, punctuation
  EXPECT_TRUE(r.passed);
  EXPECT_DOUBLE_EQ(r.score, 1.0);
  r = Check(*exact, std::string("the tower"));  // precision 1, recall 1/2
  EXPECT_FALSE(r.passed);
  EXPECT_NEAR(r.score, 2.0 / 3, 1e-12);
  r = Check(*exact, std::string("eiffel tower in paris"));  // precision 1/2, recall 1
  EXPECT_NEAR(r.score, 2.0 / 3, 1e-12);
  EXPECT_EQ(r.detail, "token F1 0.667 against \"The Eiffel Tower\" (threshold 1)");
  EXPECT_DOUBLE_EQ(Check(*exact, std::string("")).score, 0.0);
  EXPECT_DOUBLE_EQ(Check(*exact, std::string("theeiffel tower")).score, 0.5);
  EXPECT_FALSE(Check(*exact, std::nullopt).passed);

  auto loose = MustBuild(R"J({"type": "f1", "expected": ["big apple", "new york city"],
                            "threshold": 0.6})J");
  r = Check(*loose, std::string("New York"));  // best of the two: 2*1*(2/3)/(5/3) = 0.8
  EXPECT_TRUE(r.passed);
  EXPECT_NEAR(r.score, 0.8, 1e-12);
  r = Check(*loose, std::string("york"));  // 0.5 against "new york city"
  EXPECT_FALSE(r.passed);
  EXPECT_DOUBLE_EQ(r.score, 0.5);
  // Repeated tokens count once per occurrence in the gold answer.
  auto rep = MustBuild(R"J({"type": "f1", "expected": "cat"})J");
  EXPECT_NEAR(Check(*rep, std::string("cat cat")).score, 2.0 / 3, 1e-12);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "f1", "expected": "x", "threshold": 0})J"))
                .find("'threshold'"),
            std::string::npos);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "f1", "expected": "x", "threshold": 1.5})J"))
                .find("'threshold'"),
            std::string::npos);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "f1", "expected": []})J")).find("non-empty"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// all / any

TEST(CombineVerifierTest, AllAndAny) {
  const char* all = R"J({"type": "all", "of": [
      {"type": "regex", "pattern": "\\d+"},
      {"type": "numeric", "expected": 7}]})J";
  const char* any = R"J({"type": "any", "of": [
      {"type": "exact", "expected": "seven"},
      {"type": "numeric", "expected": 7}]})J";
  auto a = MustBuild(all);
  VerifyResult r = Check(*a, std::string("7"));
  EXPECT_TRUE(r.passed);
  EXPECT_DOUBLE_EQ(r.score, 1);
  r = Check(*a, std::string("8"));
  EXPECT_FALSE(r.passed);
  // All or nothing by default: half the checks passing is a failure worth 0.
  EXPECT_DOUBLE_EQ(r.score, 0);
  auto partial = MustBuild(R"J({"type": "all", "partial": true, "of": [
      {"type": "regex", "pattern": "\\d+"}, {"type": "numeric", "expected": 7}]})J");
  EXPECT_DOUBLE_EQ(Check(*partial, std::string("8")).score, 0.5);
  EXPECT_FALSE(Check(*partial, std::string("8")).passed);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "any", "partial": true, "of": [
      {"type": "answer_submitted"}]})J"))
                .find("unknown field \"partial\""),
            std::string::npos);
  EXPECT_EQ(r.detail,
            "all: 1/2 passed; [0] pass: answer matches /\\d+/; [1] fail: expected 7 (tolerance "
            "1e-09), got 8");
  auto b = MustBuild(any);
  EXPECT_TRUE(Check(*b, std::string("seven")).passed);
  EXPECT_TRUE(Check(*b, std::string("7")).passed);
  r = Check(*b, std::string("eight"));
  EXPECT_FALSE(r.passed);
  EXPECT_DOUBLE_EQ(r.score, 0);
  EXPECT_FALSE(a->RunsCommands());
  auto with_command = MustBuild(R"J({"type": "any", "of": [{"type": "answer_submitted"},
      {"type": "all", "of": [{"type": "command", "command": "true"}]}]})J");
  EXPECT_TRUE(with_command->RunsCommands());
}

TEST(CombineVerifierTest, BuildErrorsNameTheChild) {
  EXPECT_EQ(BuildError(json::parse(R"J({"type": "all", "of": [{"type": "exact", "expected": "x"},
                                                               {"type": "exact"}]})J")),
            "verifier 'all': of[1]: verifier 'exact': missing field 'expected'");
  EXPECT_NE(BuildError(json::parse(R"J({"type": "any", "of": []})J")).find("non-empty array"),
            std::string::npos);
  json deep = json::parse(R"J({"type": "answer_submitted"})J");
  for (int i = 0; i < 40; ++i) deep = json{{"type", "all"}, {"of", json::array({deep})}};
  EXPECT_NE(BuildError(deep).find("nested more than 16 deep"), std::string::npos);
  json ok = json::parse(R"J({"type": "answer_submitted"})J");
  for (int i = 0; i < 10; ++i) ok = json{{"type", "any"}, {"of", json::array({ok})}};
  EXPECT_EQ(BuildError(ok), "OK");
}

// ---------------------------------------------------------------------------------------------
// called, output_contains, answer_submitted

TEST(HistoryVerifierTest, Called) {
  std::vector<ToolRecord> history = {
      Record("bash", {{"command", "ls -la"}}),
      Record("bash", {{"command", "rm -rf build"}}, "", /*error=*/true),
      Record("read_file", {{"path", "notes.txt"}}),
  };
  auto any_bash = MustBuild(R"J({"type": "called", "tool": "bash"})J");
  EXPECT_TRUE(Check(*any_bash, std::nullopt, history).passed);
  EXPECT_FALSE(Check(*any_bash, std::nullopt, {}).passed);
  auto rm = MustBuild(R"J({"type": "called", "tool": "bash", "pattern": "rm\\s+-rf"})J");
  VerifyResult r = Check(*rm, std::nullopt, history);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.detail, "history[1] calls 'bash' with arguments matching /rm\\s+-rf/");
  auto rm_ok = MustBuild(
      R"J({"type": "called", "tool": "bash", "pattern": "rm\\s+-rf", "succeeded": true})J");
  r = Check(*rm_ok, std::nullopt, history);
  EXPECT_FALSE(r.passed);  // the only rm failed
  EXPECT_EQ(r.detail, "1 successful call(s) to 'bash', none with arguments matching /rm\\s+-rf/");
  // The pattern sees the compact JSON of the arguments.
  EXPECT_TRUE(Check(*MustBuild(R"J({"type": "called", "tool": "read_file",
                                    "pattern": "\"path\":\"notes\\.txt\""})J"),
                    std::nullopt, history)
                  .passed);
  // The tool name must match exactly; the pattern alone is not enough.
  EXPECT_FALSE(Check(*MustBuild(R"J({"type": "called", "tool": "read", "pattern": "notes"})J"),
                     std::nullopt, history)
                   .passed);
  // Arguments are cut at 64 KiB before matching.
  std::vector<ToolRecord> huge = {Record("bash", {{"command", std::string(70000, 'x') + "MARK"}})};
  EXPECT_FALSE(Check(*MustBuild(R"J({"type": "called", "tool": "bash", "pattern": "MARK"})J"),
                     std::nullopt, huge)
                   .passed);
  EXPECT_TRUE(
      Check(
          *MustBuild(R"J({"type": "called", "tool": "bash", "pattern": "^\\{\"command\":\"x+$"})J"),
          std::nullopt, huge)
          .passed);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "called", "tool": "bash", "pattern": "("})J"))
                .find("does not compile"),
            std::string::npos);
}

TEST(HistoryVerifierTest, OutputContainsAndAnswerSubmitted) {
  std::vector<ToolRecord> history = {Record("bash", {{"command", "make"}}, "Build OK\n"),
                                     Record("bash", {{"command", "ls"}}, "a b c\n")};
  auto oc = MustBuild(R"J({"type": "output_contains", "text": "Build OK"})J");
  EXPECT_TRUE(Check(*oc, std::nullopt, history).passed);
  EXPECT_FALSE(Check(*MustBuild(R"J({"type": "output_contains", "text": "build ok"})J"),
                     std::nullopt, history)
                   .passed);  // case matters
  EXPECT_FALSE(Check(*oc, std::nullopt, {}).passed);
  EXPECT_NE(BuildError(json::parse(R"J({"type": "output_contains", "text": ""})J"))
                .find("must not be empty"),
            std::string::npos);

  auto sub = MustBuild(R"J({"type": "answer_submitted"})J");
  EXPECT_TRUE(Check(*sub, std::string("")).passed);
  VerifyResult none = Check(*sub, std::nullopt);
  EXPECT_FALSE(none.passed);
  EXPECT_EQ(none.detail, "no answer submitted");
}

}  // namespace
}  // namespace toolgym::scenarios
