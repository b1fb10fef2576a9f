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
// A call test is one run of `python3 -I -S -B -c HARNESS` with a JSON request on stdin (nonce,
// module path, call). The harness reads the request before importing anything, sends the
// solution's prints to stderr, loads the module by file path (its directory first on sys.path,
// so sibling imports work), evaluates the call in the module's namespace and writes one line
// "<nonce> <json>" (or "<nonce>!ERR <json string>" for an exception, SystemExit included) to fd 1,
// then os._exit(0)s. The host takes the last line that starts with the nonce and passes the test
// only if the run's verdict is ok, stdout was not truncated and the value equals `expect`; a
// solution that exits, hangs, crashes or floods output before the harness reports fails.
// JSON of results: tuples as lists, sets as sorted lists (by their JSON text when the items do
// not compare: {"b", 1} -> ["b", 1]), dict keys as JSON-ish strings (1 -> "1"), NaN,
// infinities and other objects as {"__repr__": repr(x)}.
// A program test runs `python3 -I -S -B -c RUNNER program` (runpy with the program's directory on
// sys.path) and passes when the verdict is ok and the normalized stdout matches.
// -B keeps __pycache__ out of the workspace, and neither runner reads bytecode of workspace
// modules (sys.pycache_prefix points nowhere): tests run the current sources, never a stale or
// planted .pyc.
//
// Test spec (JSON object):
//   {"name": "t1", "call": "solve('abc')", "expect": "cba"}
//       evaluates the expression in the namespace of `module` (default "solution.py") and compares
//       the JSON of the result with `expect` (tuples compare as lists; numbers within
//       `tolerance`, default 1e-9 relative-or-absolute, when either side is a float).
//   {"name": "t2", "program": "main.py", "stdin": "3\n", "expect_stdout": "6\n"}
//       runs the program with stdin and compares stdout (trailing whitespace of each line and
//       trailing blank lines ignored).
//   Optional: "module" (call tests, a relative .py path), "tolerance" (call tests, >= 0),
//   "stdin" (program tests), "timeout_s" (default 5, at most 60: wall time; CPU time gets one
//   second more), "memory_mb" (default 256, 32 to 4096), "hint" (shown on failure instead of the
//   expected value, for hidden tests).
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
  std::string message;  // for failures: "expected \"cba\", got \"abc\"" or the exception's line
  std::string verdict;  // sandbox verdict of the test's run ("ok", "wall_time_limit"...)
  // What a hidden test shows for a failure: the test's hint, else "wrong result" / "wrong
  // output", "raised ValueError" (type only), "no result" or the verdict name. Never the inputs
  // or the expected value.
  std::string hidden_message;
};

struct TestReport {
  std::vector<TestOutcome> outcomes;
  int passed = 0;
  int total = 0;
  double fraction() const { return total == 0 ? 0.0 : static_cast<double>(passed) / total; }
  // One line per test for the agent ("PASS t1", "FAIL t2: expected 6, got 5"), then
  // "passed 1/2"; with show_expected=false (hidden tests) failures give hidden_message only.
  std::string Render(bool show_expected) const;
};

// Checks the spec of every test (an array, possibly empty); errors name the test index and field
// ("tests[3].expect is missing"). Names default to "test1", "test2"... and must be unique.
Status ValidateTests(const nlohmann::json& tests);

// Path of the Python interpreter used for solutions and tests: Debian's /usr/bin/python3.
inline constexpr const char* kPythonPath = "/usr/bin/python3";

// Runs every test in order, each in its own sandboxed process through workspace.Run (so only
// when the episode may run commands; see WorkspaceView::Run). An invalid spec gives one failed
// outcome named "tests" carrying the validation error.
TestReport RunPythonTests(WorkspaceView& workspace, const nlohmann::json& tests);

}  // namespace toolgym::envs
