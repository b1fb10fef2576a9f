// Verifiers and subgoal checks registered by name and composed in scenario JSON:
//   "verifier": {"type": "exact", "expected": "{{ count }}", "normalize": ["trim", "case"]}
// A verifier spec is rendered against the task's params first (templates allowed anywhere),
// then built by its factory, which validates it and reports errors naming the field.
//
// Built-in types (verifiers.cc, verifiers_files.cc, verifiers_web.cc, verifiers_search.cc):
//   exact        answer == expected after "normalize": any of trim, case, whitespace, punctuation
//                (trailing_newline too); "expected" may be a string, number or boolean
//   regex        answer matches "pattern" (whole answer unless "search": true; "ignore_case",
//                "normalize" optional). Patterns are RE2 (ECMAScript-like, without
//                backreferences or lookaround): linear time on text the agent controls.
//   numeric      |answer - expected| <= max(abs_tol, rel_tol * |expected|) (defaults 1e-9, 0).
//                The answer must be one number, optionally surrounded by whitespace and followed
//                by one period ("42."); thousands separators only as exact 3-digit groups
//                ("1,234.5"); "12 apples", "0x10", "1,23", "inf" fail. "expected" is a number or
//                a numeric string in the same syntax.
//   set          answer split on "separator" (default: commas and newlines) equals the expected
//                set ("expected": array, or a string split the same way); items trimmed, empty
//                items dropped, "normalize" applied per item, duplicates ignored. Binary score.
//   f1           SQuAD token F1 (lowercase, punctuation and articles a/an/the removed, whitespace
//                tokens) against "expected" (a string or several); passed when F1 >= "threshold"
//                (default 1.0); score is the F1 (the best over several expected strings)
//   file_exists  {"path", "kind"?: "file" (default) | "directory" | "any", "allow_symlink"?}
//                A symlink is never a file or directory (the agent could plant one) unless
//                "allow_symlink": true, which accepts a link whatever it points to.
//   file_absent  {"path"}: nothing at all (not even a dangling link) at the path
//   file_equals  {"path", "content", "normalize"?}: exact bytes, or equal after NormalizeText
//   file_contains {"path", "text", "normalize"?}
//   file_mode    {"path", "mode"}: permission bits of a file or directory; "0644" / "644" / "0o644"
//                as an octal string (up to 07777), or an integer taken as its value (420 ==
//                0644) up to 0777, so that 644 is an error rather than 01204
//   file_sha256  {"path", "sha256"}: 64 hex digits, either case
//   command      {"command", "timeout_s"? (10), "expect_stdout"?}: /bin/bash -c in the sandbox,
//                passes on exit 0 (and stdout == expect_stdout, both trimmed); only when
//                ctx.final, else "not evaluated before the episode ends"
//   hidden_tests {"tests": [...]} (envs/python_tests.h), score = fraction passed, passed when all;
//                only when ctx.final
//   all / any    {"of": [verifier, ...]}: every / at least one passes (score: 1 or 0 for all,
//                or the mean of the parts with "partial": true; max for any)
//   called       {"tool", "pattern"?, "succeeded"?}: a history entry called `tool` whose compact
//                JSON arguments (first 64 KiB) contain a match of `pattern` (RE2, a search);
//                "succeeded": true counts only calls that did not fail
//   output_contains {"text"}: some tool output so far contains `text` (for subgoals)
//   answer_submitted: an answer was submitted (possibly empty)
// Web env state (verifiers_web.cc; they read VerifyContext::env_state, Browser::Snapshot()):
//   webshop      {"goal": {"type" (or "category"), "department"?, "attributes"?, "options"?,
//                "price_max"?}, "event"? ("purchase")}: WebShop's reward on the last such event,
//                r = r_type * (attrs matched + options matched + [price <= price_max]) /
//                (|attrs| + |options| + 1); r_type 1 for the exact type, 0.5 for a related one
//                (a shared word, or the goal's department), else 0; passed when r == 1.
//                A cart of n items ({"items": [...]}) scores its best item / n.
//   site_state   {"path": JSON pointer into env_state, one of "equals" | "in" (list) |
//                "matches" (RE2, whole value) | "exists" (bool, default true), "normalize"?}
//   event        {"name", "where"?: {field or /pointer: value}, "normalize"?, "partial"?}: some
//                event of that name has every field; "partial" scores the best fraction matched
// Search env (verifiers_search.cc):
//   qa           {"expected": an answer or a list of accepted answers, "metric"?: "em" | "f1" |
//                "mix" (default), "em_weight"?, "f1_weight"? (0.5 each), "threshold"?}: SQuAD
//                normalization (lower case, ASCII punctuation and the articles a/an/the removed,
//                whitespace collapsed); EM and token F1 take the best accepted answer; score = EM,
//                F1 or (em_weight * EM + f1_weight * F1) / (em_weight + f1_weight); passed when
//                EM is 1, or when score >= threshold if one is given
//   retrieved    {"doc_id", "via"?: "search" | "open" | "any" (default)}: the document was shown
//                by search / opened (reads env_state: {"retrieved", "opened"}); for subgoals
// Paths in file verifiers are relative to the workspace; absolute paths and "." / ".."
// components are rejected when the verifier is built.
//
// Thread-safety: built verifiers are immutable and may be shared across threads.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/task.h"

namespace toolgym::scenarios {

struct VerifierInfo {
  std::string type;
  std::string summary;
  std::vector<std::string> fields;  // accepted fields besides "type"
  std::vector<std::string> required;
  // Builds from a rendered spec. Errors name the field: "'abs_tol' must be a number >= 0, got
  // \"x\"".
  std::function<StatusOr<std::shared_ptr<const envs::Verifier>>(const nlohmann::json& spec)> build;
};

class VerifierRegistry {
 public:
  // Every built-in verifier (RegisterAnswerVerifiers, RegisterStateVerifiers,
  // RegisterWebVerifiers and RegisterSearchVerifiers).
  static const VerifierRegistry& Default();
  Status Register(VerifierInfo info);  // error on a duplicate or empty type
  const VerifierInfo* Find(const std::string& type) const;
  std::vector<std::string> Names() const;
  // Checks that `spec` is an object with a known "type", no unknown and no missing fields, then
  // calls the factory. Never throws.
  StatusOr<std::shared_ptr<const envs::Verifier>> Build(const nlohmann::json& spec) const;

 private:
  std::map<std::string, VerifierInfo> verifiers_;
};

void RegisterAnswerVerifiers(VerifierRegistry& r);  // verifiers.cc
void RegisterStateVerifiers(VerifierRegistry& r);   // verifiers_files.cc: files, command, tests
void RegisterWebVerifiers(VerifierRegistry& r);     // verifiers_web.cc: web env state
void RegisterSearchVerifiers(VerifierRegistry& r);  // verifiers_search.cc: answers, retrieval

// Normalization used by exact/regex/set/file_*. Options, applied in this order whatever order
// they are listed in: "case" (ASCII lowercase), "punctuation" (ASCII punctuation removed),
// "whitespace" (runs of whitespace become one space), "trim" (leading and trailing whitespace),
// "trailing_newline" (one final "\n" or "\r\n" removed). Unknown options are ignored here and
// rejected by ParseNormalizeOptions.
std::string NormalizeText(std::string s, const std::vector<std::string>& options);
inline const std::vector<std::string>& NormalizeOptionNames() {
  static const std::vector<std::string> kNames = {"trim", "case", "whitespace", "punctuation",
                                                  "trailing_newline"};
  return kNames;
}
// Reads a "normalize" field: an array of option names or a single name. Errors name `field`,
// the bad value and the accepted options.
StatusOr<std::vector<std::string>> ParseNormalizeOptions(const nlohmann::json& value,
                                                         const std::string& field = "normalize");

}  // namespace toolgym::scenarios
