// python_tests: spec validation, value and program tests in a real sandbox, result comparison,
// and solutions that try to pass without producing the expected values (fake output, early
// exits, frame snooping), hang, flood output, or do not compile.
#include "envs/python_tests.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/envs/sandbox_workspace.h"

namespace toolgym::envs {
namespace {

using nlohmann::json;
using testing::SnapshotWorkspace;

std::string ValidationError(const json& tests) {
  Status s = ValidateTests(tests);
  return s.ok() ? "OK" : s.message();
}

TEST(ValidateTestsTest, AcceptsCallAndProgramTestsAndEmptyList) {
  EXPECT_EQ(ValidationError(json::array()), "OK");
  EXPECT_EQ(ValidationError(json::parse(R"J([
      {"name": "t1", "call": "solve('abc')", "expect": "cba"},
      {"call": "f()", "expect": null, "module": "pkg/sol.py", "tolerance": 0.5, "hint": "h"},
      {"program": "main.py", "stdin": "3\n", "expect_stdout": "6\n", "timeout_s": 2,
       "memory_mb": 64}])J")),
            "OK");
}

TEST(ValidateTestsTest, ErrorsNameTheIndexAndField) {
  struct Case {
    const char* tests;
    const char* want;
  };
  const Case cases[] = {
      {R"J({"call": "f()"})J", "tests must be an array"},
      {R"J([1])J", "tests[0] must be an object"},
      {R"J([{"call": "f()", "expect": 1}, {"call": "g()"}])J", "tests[1].expect is missing"},
      {R"J([{"call": "f()", "program": "m.py", "expect": 1}])J", "tests[0]: give exactly one of"},
      {R"J([{"expect": 1}])J", "neither"},
      {R"J([{"call": "", "expect": 1}])J", "tests[0].call must be a non-empty"},
      {R"J([{"call": 3, "expect": 1}])J", "tests[0].call must be a non-empty"},
      {R"J([{"program": "m.py"}])J", "tests[0].expect_stdout is missing"},
      {R"J([{"program": "m.py", "expect_stdout": 6}])J", "tests[0].expect_stdout must be a string"},
      {R"J([{"program": "m.py", "expect_stdout": "", "expect": 1}])J",
       "tests[0].expect applies to call tests only"},
      {R"J([{"call": "f()", "expect": 1, "expect_stdout": "1"}])J",
       "tests[0].expect_stdout applies to program tests only"},
      {R"J([{"call": "f()", "expect": 1, "expected": 1}])J",
       "tests[0]: unknown field \"expected\""},
      {R"J([{"call": "f()", "expect": 1, "timeout_s": 0}])J", "tests[0].timeout_s"},
      {R"J([{"call": "f()", "expect": 1, "timeout_s": 61}])J", "tests[0].timeout_s"},
      {R"J([{"call": "f()", "expect": 1, "memory_mb": 64.5}])J", "tests[0].memory_mb"},
      {R"J([{"call": "f()", "expect": 1, "memory_mb": 8}])J", "tests[0].memory_mb"},
      {R"J([{"call": "f()", "expect": 1, "module": "/etc/x.py"}])J", "tests[0].module"},
      {R"J([{"call": "f()", "expect": 1, "module": "../x.py"}])J", "tests[0].module"},
      {R"J([{"call": "f()", "expect": 1, "module": "sol.txt"}])J", "must name a .py file"},
      {R"J([{"program": "/bin/sh", "expect_stdout": ""}])J", "tests[0].program"},
      {R"J([{"call": "f()", "expect": 1, "tolerance": -1}])J", "tests[0].tolerance"},
      {R"J([{"call": "f()", "expect": 1, "hint": 3}])J", "tests[0].hint must be a string"},
      {R"J([{"name": "a", "call": "f()", "expect": 1}, {"name": "a", "call": "g()", "expect": 1}])J",
       "tests[1].name \"a\" is already used by tests[0]"},
      {R"J([{"name": "", "call": "f()", "expect": 1}])J", "tests[0].name"},
  };
  for (const auto& c : cases) {
    std::string err = ValidationError(json::parse(c.tests));
    EXPECT_NE(err.find(c.want), std::string::npos) << c.tests << " -> " << err;
  }
}

class PythonTestsTest : public ::testing::Test {
 protected:
  // A workspace holding `files` (path -> contents).
  void MakeWorkspace(const std::map<std::string, std::string>& files) {
    sandbox::FileTree tree;
    for (const auto& [path, data] : files) ASSERT_TRUE(tree.AddFile(path, data).ok()) << path;
    auto ws = SnapshotWorkspace::Create(std::move(tree));
    ASSERT_TRUE(ws.ok()) << ws.status().ToString();
    ws_ = std::move(ws).value();
  }
  TestReport Run(const char* tests) { return RunPythonTests(*ws_, json::parse(tests)); }

  std::unique_ptr<SnapshotWorkspace> ws_;
};

constexpr const char* kReverse = R"J(
def solve(s):
    return s[::-1]
)J";

TEST_F(PythonTestsTest, CorrectSolutionPassesAndWrongResultFails) {
  MakeWorkspace({{"solution.py", kReverse}});
  TestReport r = Run(R"J([
      {"name": "t1", "call": "solve('abc')", "expect": "cba"},
      {"name": "t2", "call": "solve('ab')", "expect": "ab", "hint": "think about order"},
      {"name": "t3", "call": "solve('xy')", "expect": "xx"}])J");
  ASSERT_EQ(r.total, 3);
  EXPECT_EQ(r.passed, 1);
  EXPECT_DOUBLE_EQ(r.fraction(), 1.0 / 3);
  EXPECT_TRUE(r.outcomes[0].passed) << r.outcomes[0].message;
  EXPECT_EQ(r.outcomes[0].verdict, "ok");
  EXPECT_FALSE(r.outcomes[1].passed);
  EXPECT_EQ(r.outcomes[1].message, R"J(expected "ab", got "ba")J");
  EXPECT_EQ(r.Render(true),
            "PASS t1\nFAIL t2: expected \"ab\", got \"ba\"\nFAIL t3: expected \"xx\", got "
            "\"yx\"\npassed 1/3");
  // Hidden tests show the hint or "wrong result", never the expected value.
  EXPECT_EQ(r.Render(false),
            "PASS t1\nFAIL t2: think about order\nFAIL t3: wrong result\npassed 1/3");
  EXPECT_EQ(ws_->runs(), 3);  // one sandbox run per test
}

TEST_F(PythonTestsTest, ResultsCompareAsJson) {
  MakeWorkspace({{"solution.py", R"J(
def pair(): return (1, "a")
def nested(): return {"k": [(1, 2), (3, 4)], 5: None, True: 1.5}
def aset(): return {3, 1, 2}
def mixed_set(): return {"b", 1}
def third(): return 0.1 + 0.2
def three(): return 3
def threef(): return 3.0
def yes(): return True
def big(): return 10**18 + 1
def nan(): return float("nan")
class P:
    def __repr__(self): return "P()"
def obj(): return P()
def gen(): return (i for i in range(3))
)J"}});
  TestReport r = Run(R"J([
      {"name": "tuple_as_list", "call": "pair()", "expect": [1, "a"]},
      {"name": "dict_keys", "call": "nested()", "expect": {"k": [[1, 2], [3, 4]], "5": null, "true": 1.5}},
      {"name": "set_sorted", "call": "aset()", "expect": [1, 2, 3]},
      {"name": "mixed_set", "call": "mixed_set()", "expect": ["b", 1]},
      {"name": "float_tol", "call": "third()", "expect": 0.3},
      {"name": "int_float", "call": "three()", "expect": 3.0},
      {"name": "float_int", "call": "threef()", "expect": 3},
      {"name": "repr", "call": "obj()", "expect": {"__repr__": "P()"}},
      {"name": "expr", "call": "pair()[1] * 3", "expect": "aaa"},
      {"name": "bool_is_not_1", "call": "yes()", "expect": 1},
      {"name": "tolerance_too_tight", "call": "third()", "expect": 0.30001},
      {"name": "tolerance_wide", "call": "third()", "expect": 0.31, "tolerance": 0.1},
      {"name": "big_int_exact", "call": "big()", "expect": 1000000000000000000},
      {"name": "nan_is_not_a_number", "call": "nan()", "expect": 0},
      {"name": "generator_is_not_a_list", "call": "gen()", "expect": [0, 1, 2]},
      {"name": "wrong_length", "call": "pair()", "expect": [1, "a", 2]}])J");
  std::map<std::string, bool> passed;
  for (const auto& o : r.outcomes) passed[o.name] = o.passed;
  for (const char* name : {"tuple_as_list", "dict_keys", "set_sorted", "mixed_set", "float_tol",
                           "int_float", "float_int", "repr", "expr", "tolerance_wide"}) {
    EXPECT_TRUE(passed[name]) << name << "\n" << r.Render(true);
  }
  for (const char* name : {"bool_is_not_1", "tolerance_too_tight", "big_int_exact",
                           "nan_is_not_a_number", "generator_is_not_a_list", "wrong_length"}) {
    EXPECT_FALSE(passed[name]) << name << "\n" << r.Render(true);
  }
  EXPECT_EQ(r.passed, 10);
}

TEST_F(PythonTestsTest, ExceptionsFailWithTheirTypeAndMessage) {
  MakeWorkspace({{"solution.py", "def f(x):\n    return 1 / x\n"}});
  TestReport r = Run(R"J([{"name": "zero", "call": "f(0)", "expect": 0},
                         {"name": "missing", "call": "g(1)", "expect": 0},
                         {"name": "ok", "call": "f(2)", "expect": 0.5}])J");
  ASSERT_EQ(r.total, 3);
  EXPECT_FALSE(r.outcomes[0].passed);
  EXPECT_EQ(r.outcomes[0].message, "ZeroDivisionError: division by zero");
  EXPECT_EQ(r.outcomes[0].hidden_message, "raised ZeroDivisionError");
  EXPECT_EQ(r.outcomes[0].verdict, "ok");
  EXPECT_FALSE(r.outcomes[1].passed);
  EXPECT_EQ(r.outcomes[1].message, "NameError: name 'g' is not defined");
  EXPECT_TRUE(r.outcomes[2].passed) << r.outcomes[2].message;
}

TEST_F(PythonTestsTest, SyntaxErrorFailsEveryTest) {
  MakeWorkspace({{"solution.py", "def solve(s)\n    return s\n"}});
  TestReport r = Run(R"J([{"call": "solve('a')", "expect": "a"},
                         {"call": "solve('b')", "expect": "b"}])J");
  ASSERT_EQ(r.total, 2);
  EXPECT_EQ(r.passed, 0);
  for (const auto& o : r.outcomes) {
    EXPECT_NE(o.message.find("SyntaxError"), std::string::npos) << o.message;
    EXPECT_EQ(o.hidden_message, "raised SyntaxError");
  }
}

TEST_F(PythonTestsTest, MissingModuleFails) {
  MakeWorkspace({{"other.py", kReverse}});
  TestReport r = Run(R"J([{"call": "solve('a')", "expect": "a"}])J");
  ASSERT_EQ(r.total, 1);
  EXPECT_FALSE(r.outcomes[0].passed);
  EXPECT_NE(r.outcomes[0].message.find("FileNotFoundError"), std::string::npos)
      << r.outcomes[0].message;
}

TEST_F(PythonTestsTest, ModuleInSubdirectoryImportsItsSiblings) {
  MakeWorkspace({{"pkg/sol.py", "from helper import twice\ndef f(x):\n    return twice(x)\n"},
                 {"pkg/helper.py", "def twice(x):\n    return 2 * x\n"}});
  TestReport r = Run(R"J([{"call": "f(21)", "expect": 42, "module": "pkg/sol.py"}])J");
  ASSERT_EQ(r.total, 1);
  EXPECT_TRUE(r.outcomes[0].passed) << r.outcomes[0].message;
  // -B: importing wrote no bytecode into the workspace.
  auto st = ws_->Stat("pkg/__pycache__");
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->has_value());
}

TEST_F(PythonTestsTest, StaleBytecodeIsNeverLoaded) {
  // The agent's interpreter compiled an older solution.py and helper.py; the current sources
  // have the same sizes and mtimes, so Python's default cache check would accept the old .pyc.
  MakeWorkspace({{"solution.py", "from helper import k\ndef f():\n    return k - 1\n"},
                 {"helper.py", "k = 1\n"},
                 {"main.py", "from helper import k\nprint(k)\n"}});
  sandbox::RunResult setup = ws_->Sh(
      "python3 -c 'import py_compile; py_compile.compile(\"solution.py\"); "
      "py_compile.compile(\"helper.py\")' && "
      "ms=$(stat -c %Y solution.py) && mh=$(stat -c %Y helper.py) && "
      "printf 'from helper import k\\ndef f():\\n    return k + 1\\n' > solution.py && "
      "printf 'k = 2\\n' > helper.py && "
      "touch -d @$ms solution.py && touch -d @$mh helper.py && "
      "test -f __pycache__/solution.cpython-311.pyc && test -f __pycache__/helper.cpython-311.pyc");
  ASSERT_TRUE(setup.ok()) << setup.Summary() << setup.stderr_data;
  TestReport r = Run(R"J([{"call": "f()", "expect": 3},
                          {"program": "main.py", "expect_stdout": "2\n"}])J");
  ASSERT_EQ(r.total, 2);
  EXPECT_TRUE(r.outcomes[0].passed) << r.outcomes[0].message;
  EXPECT_TRUE(r.outcomes[1].passed) << r.outcomes[1].message;
}

TEST_F(PythonTestsTest, PrintsOfTheSolutionDoNotDisturbTheResult) {
  // 200 KB of prints (more than the default 64 KiB capture) go to stderr, not the result channel.
  MakeWorkspace({{"solution.py", R"J(
print("RESULT 42")
def f():
    for _ in range(2000):
        print("x" * 100)
    return 42
)J"}});
  TestReport r = Run(R"J([{"call": "f()", "expect": 42}])J");
  ASSERT_EQ(r.total, 1);
  EXPECT_TRUE(r.outcomes[0].passed) << r.outcomes[0].message;
}

// Each of these solutions tries to pass `solve('abc') == 'cba'` without computing it.
TEST_F(PythonTestsTest, TamperingSolutionsFail) {
  struct Case {
    const char* name;
    const char* code;
    const char* message;  // expected in the failure message
  };
  const Case cases[] = {
      {"fake_lines_then_exit0", R"J(
import os, sys
for line in ['PASS', '"cba"', 'ok', 'passed 1/1', 'OK 1 "cba"']:
    sys.__stdout__.write(line + "\n")
sys.__stdout__.flush()
os._exit(0)
)J",
       "no result"},
      {"sys_exit_at_import", "import sys\nsys.exit(0)\n", "SystemExit: 0"},
      {"os_exit_in_call", "import os\ndef solve(s):\n    os._exit(0)\n", "no result"},
      {"sys_exit_in_call", "import sys\ndef solve(s):\n    sys.exit(0)\n", "SystemExit"},
      {"raise_keyboard_interrupt", "def solve(s):\n    raise KeyboardInterrupt\n",
       "KeyboardInterrupt"},
      // Reads what it can of the request: stdin is already consumed, and the expected value
      // never entered the sandbox. Snooping the harness's frames finds the nonce and the call.
      {"snoop_request_and_frames", R"J(
import sys, gc
def solve(s):
    found = sys.stdin.read()
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "expect" in obj:
            return obj["expect"]
    f = sys._getframe()
    while f is not None:
        if "req" in f.f_locals:
            return f.f_locals["req"].get("expect", found)
        f = f.f_back
    return found
)J",
       "expected \"cba\", got \"\""},
      // Forges a result line with the real nonce (taken from the harness's frame): it still has
      // to name a value, and the right one is not in the sandbox.
      {"forged_nonce_line", R"J(
import sys, os
def solve(s):
    f = sys._getframe()
    while "nonce" not in f.f_locals:
        f = f.f_back
    os.write(1, ("\n" + f.f_locals["nonce"] + ' "forged"\n').encode())
    os._exit(0)
)J",
       "expected \"cba\", got \"forged\""},
      {"close_stdout", "import os\nos.close(1)\ndef solve(s):\n    return s[::-1]\n", "no result"},
      {"atexit_exit_code", R"J(
import atexit, os
atexit.register(lambda: os._exit(3))
def solve(s):
    raise SystemExit(3)
)J",
       "SystemExit: 3"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    MakeWorkspace({{"solution.py", c.code}});
    TestReport r = Run(R"J([{"name": "t", "call": "solve('abc')", "expect": "cba"}])J");
    ASSERT_EQ(r.total, 1);
    EXPECT_EQ(r.passed, 0);
    EXPECT_FALSE(r.outcomes[0].passed);
    EXPECT_NE(r.outcomes[0].message.find(c.message), std::string::npos) << r.outcomes[0].message;
  }
}

TEST_F(PythonTestsTest, TimeoutFailsThatTestAndTheOthersStillRun) {
  MakeWorkspace({{"solution.py", R"J(
import time
def spin():
    while True:
        pass
def sleepy():
    time.sleep(100)
def fine():
    return 7
)J"}});
  auto start = std::chrono::steady_clock::now();
  TestReport r = Run(R"J([{"name": "spin", "call": "spin()", "expect": 0, "timeout_s": 1},
                         {"name": "sleepy", "call": "sleepy()", "expect": 0, "timeout_s": 1},
                         {"name": "fine", "call": "fine()", "expect": 7}])J");
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.total, 3);
  for (int i : {0, 1}) {
    EXPECT_FALSE(r.outcomes[i].passed);
    EXPECT_EQ(r.outcomes[i].verdict, "wall_time_limit");
    EXPECT_EQ(r.outcomes[i].message, "timed out after 1 s (wall_time_limit)");
    EXPECT_EQ(r.outcomes[i].hidden_message, "wall_time_limit");
  }
  EXPECT_TRUE(r.outcomes[2].passed) << r.outcomes[2].message;
  EXPECT_LT(elapsed, 8.0);
}

TEST_F(PythonTestsTest, InfiniteOutputFails) {
  MakeWorkspace({{"solution.py", R"J(
import os, sys
def prints():
    while True:
        print("y" * 1000)
def writes():
    while True:
        os.write(1, b"z" * 65536)
def big():
    return "q" * (2 << 20)
)J"},
                 {"flood.py", "while True:\n    print('w' * 1000)\n"}});
  TestReport r = Run(R"J([{"name": "prints", "call": "prints()", "expect": 0},
                         {"name": "writes", "call": "writes()", "expect": 0},
                         {"name": "big", "call": "big()", "expect": "q"},
                         {"name": "flood", "program": "flood.py", "expect_stdout": ""}])J");
  ASSERT_EQ(r.total, 4);
  EXPECT_EQ(r.passed, 0);
  EXPECT_EQ(r.outcomes[0].verdict, "output_limit");
  EXPECT_EQ(r.outcomes[1].verdict, "output_limit");
  // A 2 MiB result passes the stdout capture: truncated output never passes.
  EXPECT_NE(r.outcomes[2].message.find("capture limit"), std::string::npos)
      << r.outcomes[2].message;
  EXPECT_EQ(r.outcomes[3].verdict, "output_limit");
}

TEST_F(PythonTestsTest, MemoryHogFails) {
  MakeWorkspace({{"solution.py", "def hog():\n    x = bytearray(1 << 30)\n    return len(x)\n"}});
  TestReport r = Run(R"J([{"call": "hog()", "expect": 1073741824, "memory_mb": 64}])J");
  ASSERT_EQ(r.total, 1);
  EXPECT_FALSE(r.outcomes[0].passed);
  // Killed by the cgroup (memory_limit) or refused by the allocator (MemoryError).
  bool memory = r.outcomes[0].verdict == "memory_limit" ||
                r.outcomes[0].message.find("MemoryError") != std::string::npos;
  EXPECT_TRUE(memory) << r.outcomes[0].verdict << ": " << r.outcomes[0].message;
}

TEST_F(PythonTestsTest, ProgramTests) {
  MakeWorkspace({{"main.py", R"J(
import sys
from helper import total
nums = [int(x) for x in sys.stdin.read().split()]
print(total(nums), "   ")
print()
print()
)J"},
                 {"helper.py", "def total(xs):\n    return sum(xs)\n"},
                 {"crash.py", "print('partial')\nraise ValueError('bad input')\n"},
                 {"exits.py", "import sys\nprint('6')\nsys.exit(2)\n"}});
  TestReport r = Run(R"J([
      {"name": "sum", "program": "main.py", "stdin": "1 2 3\n", "expect_stdout": "6\n"},
      {"name": "sum_no_newline", "program": "main.py", "stdin": "4 5", "expect_stdout": "9"},
      {"name": "wrong", "program": "main.py", "stdin": "1 1", "expect_stdout": "3\n"},
      {"name": "extra_line_expected", "program": "main.py", "stdin": "1", "expect_stdout": "1\n2\n"},
      {"name": "crash", "program": "crash.py", "expect_stdout": "partial\n"},
      {"name": "nonzero_exit_with_right_output", "program": "exits.py", "expect_stdout": "6\n"},
      {"name": "missing", "program": "nope.py", "expect_stdout": ""}])J");
  ASSERT_EQ(r.total, 7);
  EXPECT_TRUE(r.outcomes[0].passed) << r.outcomes[0].message;
  EXPECT_TRUE(r.outcomes[1].passed) << r.outcomes[1].message;
  EXPECT_FALSE(r.outcomes[2].passed);
  EXPECT_EQ(r.outcomes[2].message, R"J(line 1: expected "3", got "2")J");
  EXPECT_EQ(r.outcomes[2].hidden_message, "wrong output");
  EXPECT_FALSE(r.outcomes[3].passed);
  EXPECT_EQ(r.outcomes[3].message, R"J(expected 2 lines, got 1; line 2 missing: expected "2")J");
  EXPECT_FALSE(r.outcomes[4].passed);
  EXPECT_EQ(r.outcomes[4].message, "exited with status 1: ValueError: bad input");
  EXPECT_FALSE(r.outcomes[5].passed);
  EXPECT_EQ(r.outcomes[5].message, "exited with status 2");
  EXPECT_FALSE(r.outcomes[6].passed);
  EXPECT_NE(r.outcomes[6].message.find("exited with status"), std::string::npos);
  EXPECT_EQ(r.passed, 2);
}

TEST_F(PythonTestsTest, InvalidSpecGivesOneFailedOutcome) {
  MakeWorkspace({{"solution.py", kReverse}});
  TestReport r = Run(R"J([{"call": "solve('a')"}])J");
  ASSERT_EQ(r.total, 1);
  EXPECT_EQ(r.passed, 0);
  EXPECT_EQ(r.outcomes[0].name, "tests");
  EXPECT_NE(r.outcomes[0].message.find("tests[0].expect is missing"), std::string::npos);
  EXPECT_EQ(ws_->runs(), 0);
  EXPECT_EQ(TestReport{}.fraction(), 0.0);
}

}  // namespace
}  // namespace toolgym::envs
