// Runs Python unit tests against code in an episode's workspace, each test in its own fresh
// sandboxed process with limits. Used by the code env's run_tests() tool (public tests) and by
// the hidden_tests verifier (scenarios/verifiers.h).
//
// Tamper resistance: the solution runs in the same process as the test harness, so it could
// print anything or exit early. The harness therefore only reports *values* (the JSON of what the
// call returned, or the program's stdout), framed by a random nonce; the host compares them with
// the expected values, which never enter the sandbox. A solution can only pass a value test by
// producing the expected value.
//
// Test spec (JSON object):
//   {"name": "t1", "call": "solve('abc')", "expect": "cba"}
//       evaluates the expression in the namespace of `module` (default "solution.py") and compares
//       the JSON of the result with `expect` (tuples compare as lists; numbers within
//       `tolerance`, default 1e-9 relative-or-absolute, when either side is a float).
//   {"name": "t2", "program": "main.py", "stdin": "3\n", "expect_stdout": "6\n"}
//       runs the program with stdin and compares stdout (trailing whitespace of each line and
//       trailing blank lines ignored).
//   Optional: "module", "timeout_s" (default 5), "memory_mb" (default 256), "hint" (shown on
//   failure instead of the expected value, for hidden tests).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/task.h"

namespace toolgym::envs {

struct TestOutcome {
  std::string name;
  bool passed = false;
  std::string message;  // for failures: "expected 'cba', got 'abc'" or the exception's last line
  std::string verdict;  // sandbox verdict of the test's run
};

struct TestReport {
  std::vector<TestOutcome> outcomes;
  int passed = 0;
  int total = 0;
  double fraction() const { return total == 0 ? 0.0 : static_cast<double>(passed) / total; }
  // One line per test for the agent ("PASS t1", "FAIL t2: expected 6, got 5"); with
  // show_expected=false (hidden tests) failures give the hint or "wrong result" only.
  std::string Render(bool show_expected) const;
};

// Checks the spec of every test; errors name the test index and field.
Status ValidateTests(const nlohmann::json& tests);

// Path of the Python interpreter used for solutions and tests: Debian's /usr/bin/python3.
inline constexpr const char* kPythonPath = "/usr/bin/python3";

TestReport RunPythonTests(WorkspaceView& workspace, const nlohmann::json& tests);

}  // namespace toolgym::envs
