// The code env through a scenario-free FakeSource: the persistent interpreter (state, final
// expression display, tracebacks, timeouts and restarts), run_tests (reports, isolation from the
// interpreter), read_file/write_file round trips, hidden tests deciding the outcome (score =
// fraction passed; tampering solutions fail), determinism, reset and fork isolation.
#include "envs/code_env.h"

#include <gtest/gtest.h>

#include "envs/info.h"
#include "envs/python_tests.h"
#include "envs/render.h"
#include "tests/envs/env_test_util.h"

namespace toolgym::envs {
namespace {

using nlohmann::json;
using testing::FakeSource;
using testing::LambdaVerifier;

std::string Call(const std::string& name, const json& args) {
  return "<tool_call>" + json({{"name", name}, {"arguments", args}}).dump() + "</tool_call>";
}
std::string Py(const std::string& code) { return Call("python", {{"code", code}}); }
std::string RunTests() { return Call("run_tests", json::object()); }
std::string Submit() { return Call("submit", json::object()); }
std::string WriteFile(const std::string& path, const std::string& content) {
  return Call("write_file", {{"path", path}, {"content", content}});
}
std::string ReadFile(const std::string& path) { return Call("read_file", {{"path", path}}); }

const char kStub[] = "def add(a, b):\n    raise NotImplementedError\n";
const char kCorrect[] = "def add(a, b):\n    return a + b\n";

// Hidden tests of the add task: one of them (negative) tells abs-based solutions apart.
json HiddenTests() {
  return json::array({
      {{"name", "hidden_big"}, {"call", "add(2**40, 1)"}, {"expect", 1099511627777LL}},
      {{"name", "hidden_negative"}, {"call", "add(-1, -1)"}, {"expect", -2}},
      {{"name", "hidden_zero_right"}, {"call", "add(7, 0)"}, {"expect", 7}},
      {{"name", "hidden_mixed"}, {"call", "add(10, 20)"}, {"expect", 30}},
  });
}

// A verifier like the hidden_tests one of scenarios/: runs the tests at the end of the episode,
// score = fraction passed, passed when all pass.
std::shared_ptr<const Verifier> HiddenTestsVerifier(json tests) {
  return std::make_shared<LambdaVerifier>(
      [tests](VerifyContext& ctx) {
        VerifyResult r;
        if (!ctx.final || ctx.workspace == nullptr) {
          r.detail = "not evaluated before the episode ends";
          return r;
        }
        TestReport report = RunPythonTests(*ctx.workspace, tests);
        r.score = report.fraction();
        r.passed = report.total > 0 && report.passed == report.total;
        r.detail = report.Render(/*show_expected=*/true);
        for (const auto& o : report.outcomes) r.verdicts.push_back(o.verdict);
        return r;
      },
      /*runs_commands=*/true);
}

// "Write add(a, b) in solution.py": a stub in the workspace, three public tests, four hidden.
Task AddTask(std::uint64_t seed) {
  Task t;
  t.scenario_id = "test.fake";
  t.scenario_version = "1";
  t.seed = seed;
  t.split = seed < 100 ? "train" : "test";
  t.env_kind = "code";
  t.instruction = "Implement add(a, b) in solution.py.";
  (void)t.workspace.AddFile("solution.py", kStub);
  t.params = {{"seed", seed}};
  t.tools = {"python", "run_tests", "submit", "read_file", "write_file"};
  t.requires_answer = false;
  t.public_tests = json::array({
      {{"name", "small"}, {"call", "add(1, 2)"}, {"expect", 3}},
      {{"name", "negative"}, {"call", "add(-5, 2)"}, {"expect", -3}},
      {{"name", "zero"}, {"call", "add(0, 0)"}, {"expect", 0}},
  });
  t.verifier = HiddenTestsVerifier(HiddenTests());
  t.tool_limits["python"].timeout_s = 10;
  t.budgets.max_turns = 30;
  return t;
}

std::unique_ptr<CodeEnv> MakeEnv(std::function<Task(std::uint64_t)> make = AddTask) {
  return std::make_unique<CodeEnv>(std::make_shared<FakeSource>("code", std::move(make)),
                                   EnvOptions{});
}

// Steps and returns the text of the single tool message.
std::string Out(Env& env, const std::string& action, StepResult* result = nullptr) {
  auto s = env.Step(action);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return "<step failed>";
  EXPECT_EQ(s->observation.messages.size(), 1u) << action;
  std::string text = s->observation.messages.empty() ? "" : s->observation.messages[0].content;
  if (result != nullptr) *result = std::move(s).value();
  return text;
}

TEST(CodeEnvTest, ResetShowsTheCodeToolsAndRules) {
  auto env = MakeEnv();
  auto r = env->Reset(1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->observation.messages.size(), 2u);
  const std::string& sys = r->observation.messages[0].content;
  EXPECT_NE(sys.find("Python 3.11"), std::string::npos) << sys;
  EXPECT_NE(sys.find("\"name\":\"python\""), std::string::npos);
  EXPECT_NE(sys.find("\"name\":\"run_tests\""), std::string::npos);
  EXPECT_EQ(r->observation.messages[1].content, "Implement add(a, b) in solution.py.");
  json tools = env->OpenAITools();
  std::vector<std::string> names;
  for (const auto& t : tools) names.push_back(t["function"]["name"].get<std::string>());
  EXPECT_EQ(names,
            (std::vector<std::string>{"python", "run_tests", "submit", "read_file", "write_file"}));
  // answer: false -> submit takes no arguments.
  EXPECT_FALSE(tools[2]["function"]["parameters"].contains("required"));
}

TEST(CodeEnvTest, InterpreterStatePersistsAcrossSteps) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  StepResult s;
  EXPECT_EQ(Out(*env, Py("x = 41\nimport math\ndef sq(v):\n    return v * v"), &s), "(no output)");
  EXPECT_FALSE(s.info.tool_calls[0].error);
  EXPECT_EQ(s.info.tool_calls[0].verdict, "ok");
  EXPECT_EQ(Out(*env, Py("x += 1")), "(no output)");
  EXPECT_EQ(Out(*env, Py("print(x, sq(3), math.gcd(12, 18))")), "42 9 6");
  // The working directory is the workspace, and chdir persists like variables.
  EXPECT_EQ(Out(*env, Py("import os\nos.getcwd()")), "'/workspace'");
  EXPECT_EQ(Out(*env, Py("os.makedirs('d', exist_ok=True); os.chdir('d')")), "(no output)");
  EXPECT_EQ(Out(*env, Py("os.getcwd()")), "'/workspace/d'");
}

TEST(CodeEnvTest, FinalExpressionIsDisplayedLikeANotebook) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  EXPECT_EQ(Out(*env, Py("1 + 1")), "2");
  EXPECT_EQ(Out(*env, Py("'a' * 3")), "'aaa'");  // repr, not str
  EXPECT_EQ(Out(*env, Py("print('out')\n[1, (2, 3), {'k': None}]")),
            "out\n[1, (2, 3), {'k': None}]");
  EXPECT_EQ(Out(*env, Py("None")), "(no output)");
  // Only the last statement is displayed, and only when it is an expression.
  EXPECT_EQ(Out(*env, Py("7\n8")), "8");
  EXPECT_EQ(Out(*env, Py("y = 5")), "(no output)");
  EXPECT_EQ(Out(*env, Py("for i in range(2):\n    i")), "(no output)");
}

TEST(CodeEnvTest, ExceptionsShowTheTracebackAndTheInterpreterGoesOn) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  EXPECT_EQ(Out(*env, Py("kept = 'yes'")), "(no output)");
  StepResult s;
  std::string out = Out(*env, Py("def boom(v):\n    return 10 // v\nprint('before')\nboom(0)"), &s);
  EXPECT_NE(out.find("before"), std::string::npos) << out;
  EXPECT_NE(out.find("Traceback (most recent call last):"), std::string::npos) << out;
  EXPECT_NE(out.find("in boom"), std::string::npos) << out;
  EXPECT_NE(out.find("ZeroDivisionError: integer division or modulo by zero"), std::string::npos)
      << out;
  EXPECT_NE(out.find("[exit code: 1]"), std::string::npos) << out;
  // The driver's own frames are not in the traceback.
  EXPECT_EQ(out.find("_tg_driver"), std::string::npos) << out;
  EXPECT_TRUE(s.info.tool_calls[0].error);
  EXPECT_EQ(s.info.tool_calls[0].verdict, "nonzero_exit");
  EXPECT_FALSE(s.terminated);
  // A syntax error is reported too.
  out = Out(*env, Py("def (:"));
  EXPECT_NE(out.find("SyntaxError"), std::string::npos) << out;
  // Definitions before the failing line stay, and so does the earlier state.
  EXPECT_EQ(Out(*env, Py("kept, boom(5)")), "('yes', 2)");
}

TEST(CodeEnvTest, RunTestsReportsEachFailureByNameAndMessage) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  // The stub: every test raises NotImplementedError.
  StepResult s;
  std::string out = Out(*env, RunTests(), &s);
  EXPECT_NE(out.find("0 of 3 public tests passed."), std::string::npos) << out;
  EXPECT_NE(out.find("FAIL small: NotImplementedError"), std::string::npos) << out;
  EXPECT_TRUE(s.info.tool_calls[0].error);
  EXPECT_EQ(s.info.tool_calls[0].verdict, "tests_failed");

  Out(*env, WriteFile("solution.py",
                      "def add(a, b):\n"
                      "    if a < 0:\n"
                      "        raise ValueError('negative a')\n"
                      "    return a + b + (1 if a == 0 else 0)\n"));
  out = Out(*env, RunTests(), &s);
  EXPECT_EQ(out,
            "1 of 3 public tests passed.\n"
            "PASS small\n"
            "FAIL negative: ValueError: negative a\n"
            "FAIL zero: expected 0, got 1\n"
            "passed 1/3");
  EXPECT_TRUE(s.info.tool_calls[0].error);

  Out(*env, WriteFile("solution.py", kCorrect));
  out = Out(*env, RunTests(), &s);
  EXPECT_EQ(out, "3 of 3 public tests passed.\nPASS small\nPASS negative\nPASS zero\npassed 3/3");
  EXPECT_FALSE(s.info.tool_calls[0].error);
  EXPECT_EQ(s.info.tool_calls[0].verdict, "tests_passed");
  EXPECT_FALSE(s.terminated);
}

TEST(CodeEnvTest, RunTestsLeavesTheInterpreterAlone) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  Out(*env, Py("marker = [1, 2]\nimport os\nos.chdir('/tmp')"));
  Out(*env, RunTests());
  EXPECT_EQ(Out(*env, Py("marker, os.getcwd()")), "([1, 2], '/tmp')");
  // A definition that lives only in the interpreter is not the solution: tests run files.
  Out(*env, Py("def add(a, b):\n    return a + b"));
  std::string out = Out(*env, RunTests());
  EXPECT_NE(out.find("0 of 3 public tests passed."), std::string::npos) << out;
  // A test cannot leave anything behind in the agent's workspace.
  Out(*env, Py("os.chdir('/workspace')"));
  Out(*env, WriteFile("solution.py",
                      "open('left_by_test.txt', 'w').write('x')\n" + std::string(kCorrect)));
  out = Out(*env, RunTests());
  EXPECT_NE(out.find("3 of 3 public tests passed."), std::string::npos) << out;
  EXPECT_EQ(Out(*env, Py("sorted(os.listdir('.'))")), "['solution.py']");
}

TEST(CodeEnvTest, RunTestsSeesFilesWrittenFromPythonAndEveryChange) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  Out(*env, Py("with open('solution.py', 'w') as f:\n    f.write('def add(a, b):\\n    return a - "
               "b\\n')"));
  std::string out = Out(*env, RunTests());
  EXPECT_NE(out.find("1 of 3 public tests passed."), std::string::npos) << out;  // zero passes
  // Changed again from Python after a run: the next run sees the new file, not a stale copy.
  Out(*env, Py("with open('solution.py', 'w') as f:\n    f.write('def add(a, b):\\n    return a + "
               "b\\n')"));
  out = Out(*env, RunTests());
  EXPECT_NE(out.find("3 of 3 public tests passed."), std::string::npos) << out;
  // A module next to solution.py can be imported by it.
  Out(*env, WriteFile("helper.py", "def plus(a, b):\n    return a + b + 100\n"));
  Out(*env, WriteFile("solution.py",
                      "from helper import plus\n\ndef add(a, b):\n    return plus(a, b)\n"));
  out = Out(*env, RunTests());
  EXPECT_NE(out.find("FAIL small: expected 3, got 103"), std::string::npos) << out;
}

TEST(CodeEnvTest, RunTestsWithoutPublicTestsSaysSo) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = AddTask(seed);
    t.public_tests = json::array();
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  EXPECT_EQ(Out(*env, RunTests()), "This task has no public tests.");
}

TEST(CodeEnvTest, WriteFileAndReadFileRoundTripAwkwardContent) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  // Valid Python full of quoting hazards: triple quotes of both kinds, escaped quotes,
  // backslashes that must stay backslashes, non-ASCII text, a tab, CRLF, no final newline.
  const std::string content =
      "a = '''x \"\"\" y'''\n"
      "b = \"\"\"it's ''' here\"\"\"\n"
      "c = 'it\\'s \"q\"'\n"
      "d = r'C:\\new\\table' + '\\\\n'\n"
      "e = '\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d \xe2\x80\xa8'\n"
      "f = '{{ not a template }} %s $HOME `cmd`'\r\n"
      "\tg = 1 if False else 2  # comment \\ \n"
      "# no final newline";
  StepResult s;
  std::string out = Out(*env, WriteFile("awk.py", content), &s);
  EXPECT_FALSE(s.info.tool_calls[0].error) << out;
  EXPECT_EQ(out, "Wrote " + std::to_string(content.size()) + " bytes to awk.py");
  EXPECT_EQ(Out(*env, ReadFile("awk.py")), content);
  // The bytes on disk are exactly the content.
  EXPECT_EQ(Out(*env, Py("data = open('awk.py', 'rb').read()\nlen(data), data.count(b'\\r\\n')")),
            "(" + std::to_string(content.size()) + ", 1)");
  EXPECT_EQ(Out(*env, Py("data.decode('utf-8') == " + PythonStringLiteral(content))), "True");
  // Awkward paths: spaces, quotes, a new directory.
  const std::string path = "sub dir/it's \"q\".txt";
  out = Out(*env, WriteFile(path, "x\\y\n"), &s);
  EXPECT_FALSE(s.info.tool_calls[0].error) << out;
  EXPECT_EQ(Out(*env, ReadFile(path)), "x\\y\n");
  // The empty file.
  Out(*env, WriteFile("empty.txt", ""));
  EXPECT_EQ(Out(*env, ReadFile("empty.txt")), "(empty file)");
  // The tools' helper names do not leak into the agent's namespace.
  EXPECT_EQ(Out(*env, Py("sorted(n for n in globals() if n.startswith('__tg'))")), "[]");
  // A missing file is an error that names the problem.
  out = Out(*env, ReadFile("nope.txt"), &s);
  EXPECT_TRUE(s.info.tool_calls[0].error);
  EXPECT_EQ(out,
            "read_file failed: FileNotFoundError: [Errno 2] No such file or directory: "
            "'nope.txt'");
}

TEST(CodeEnvTest, WrittenCodeIsImportableAndRunsTheTests) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  Out(*env, WriteFile("solution.py", kCorrect));
  EXPECT_EQ(Out(*env, Py("from solution import add\nadd(2, 3)")), "5");
  std::string out = Out(*env, RunTests());
  EXPECT_NE(out.find("3 of 3 public tests passed."), std::string::npos) << out;
}

// Known bug: the interpreter writes __pycache__/solution.cpython-311.pyc into the workspace when
// the agent imports solution.py, and the test harness (python3 -B only stops *writing* bytecode)
// loads that cached bytecode when the source's size and mtime (whole seconds) match. An agent
// that imports its solution, fixes it with an edit of the same length and runs the tests within
// the same second is judged on the old code, by run_tests and by the hidden tests at submit.
// The utime below makes "within the same second" deterministic.
TEST(CodeEnvTest, TestsRunTheCurrentSourceNotStaleBytecode) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  Out(*env, WriteFile("solution.py", "def add(a, b):\n    return a - b\n"));
  EXPECT_EQ(Out(*env, Py("import os, solution\nst = os.stat('solution.py')\nsolution.add(1, 2)")),
            "-1");
  Out(*env, WriteFile("solution.py", kCorrect));  // same length: '+' for '-'
  Out(*env, Py("os.utime('solution.py', ns=(st.st_atime_ns, st.st_mtime_ns))"));
  EXPECT_EQ(Out(*env, ReadFile("solution.py")), kCorrect);
  std::string out = Out(*env, RunTests());
  EXPECT_NE(out.find("3 of 3 public tests passed."), std::string::npos) << out;
  StepResult s;
  Out(*env, Submit(), &s);
  ASSERT_TRUE(s.info.outcome.has_value());
  EXPECT_DOUBLE_EQ(s.info.outcome->score, 1.0) << s.info.outcome->detail;
}

// Known bug: read_file and write_file run as cells in the agent's own namespace
// (envs/code_env.cc), so (1) a failed read leaves its helper names (__tg_sys) in the agent's
// globals, and (2) names the agent rebinds, here the builtin open, break both tools.
TEST(CodeEnvTest, ReadAndWriteFileAreIndependentOfTheAgentsNamespace) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  Out(*env, ReadFile("nope.txt"));
  EXPECT_EQ(Out(*env, Py("sorted(n for n in globals() if n.startswith('__tg'))")), "[]");
  Out(*env, Py("open = lambda *a, **k: 1 / 0"));
  StepResult s;
  std::string out = Out(*env, WriteFile("notes.txt", "hello\n"), &s);
  EXPECT_FALSE(s.info.tool_calls[0].error) << out;
  out = Out(*env, ReadFile("solution.py"), &s);
  EXPECT_FALSE(s.info.tool_calls[0].error) << out;
  EXPECT_EQ(out, kStub);
}

TEST(CodeEnvTest, ALoopingCellTimesOutAndTheInterpreterRestartsEmpty) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = AddTask(seed);
    t.tool_limits["python"].timeout_s = 1;
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  Out(*env, Py("state = 'before'\nimport os\nos.makedirs('w', exist_ok=True)\nos.chdir('w')"));
  StepResult s;
  std::string out = Out(*env, Py("print('started', flush=True)\nwhile True:\n    pass"), &s);
  EXPECT_EQ(s.info.tool_calls[0].verdict, "wall_time_limit") << out;
  EXPECT_TRUE(s.info.tool_calls[0].error);
  EXPECT_NE(out.find("started"), std::string::npos) << out;
  EXPECT_NE(out.find("[timed out after 1 s and was killed]"), std::string::npos) << out;
  EXPECT_NE(out.find("[the interpreter ended and a new one was started; its variables are gone]"),
            std::string::npos)
      << out;
  EXPECT_FALSE(s.terminated);
  // State is gone, the working directory is the workspace again (sandbox/session.cc starts a
  // new interpreter from nothing), files stay.
  EXPECT_EQ(Out(*env, Py("'state' in globals()")), "False");
  out = Out(*env, Py("import os\nos.getcwd(), os.path.isdir('/workspace/w')"));
  EXPECT_EQ(out, "('/workspace', True)");
  EXPECT_EQ(Out(*env, Py("z = 3\nz * 2")), "6");
  // Sleeping is stopped the same way.
  out = Out(*env, Py("import time\ntime.sleep(30)"), &s);
  EXPECT_EQ(s.info.tool_calls[0].verdict, "wall_time_limit") << out;
  EXPECT_EQ(Out(*env, Py("'z' in globals()")), "False");
}

TEST(CodeEnvTest, HiddenTestsDecideTheOutcomeAtSubmit) {
  auto env = MakeEnv();
  // abs() breaks only the negative hidden test (the public tests show a negative case too, but
  // the score comes from the hidden ones): 3 of 4 pass.
  ASSERT_TRUE(env->Reset(1).ok());
  Out(*env, WriteFile("solution.py", "def add(a, b):\n    return abs(a) + abs(b)\n"));
  StepResult s;
  Out(*env, Submit(), &s);
  EXPECT_TRUE(s.terminated);
  EXPECT_EQ(s.info.end_reason, "submitted");
  ASSERT_TRUE(s.info.outcome.has_value());
  EXPECT_FALSE(s.info.outcome->passed);
  EXPECT_DOUBLE_EQ(s.info.outcome->score, 0.75);
  EXPECT_DOUBLE_EQ(s.reward, 0.75);
  EXPECT_NE(s.info.outcome->detail.find("FAIL hidden_negative: expected -2, got 2"),
            std::string::npos)
      << s.info.outcome->detail;

  // The correct solution passes every hidden test.
  ASSERT_TRUE(env->Reset(2).ok());
  Out(*env, WriteFile("solution.py", kCorrect));
  Out(*env, Submit(), &s);
  EXPECT_TRUE(s.info.outcome->passed);
  EXPECT_DOUBLE_EQ(s.info.outcome->score, 1.0);
  EXPECT_DOUBLE_EQ(s.reward, 1.0);

  // Passing the public tests by memorizing them is not enough.
  ASSERT_TRUE(env->Reset(3).ok());
  Out(*env, WriteFile("solution.py",
                      "def add(a, b):\n    return {(1, 2): 3, (-5, 2): -3, (0, 0): 0}[(a, b)]\n"));
  EXPECT_NE(Out(*env, RunTests()).find("3 of 3 public tests passed."), std::string::npos);
  Out(*env, Submit(), &s);
  EXPECT_FALSE(s.info.outcome->passed);
  EXPECT_DOUBLE_EQ(s.reward, 0.0);

  // A function defined only in the interpreter is not submitted: the file is still the stub.
  ASSERT_TRUE(env->Reset(4).ok());
  Out(*env, Py("def add(a, b):\n    return a + b\nadd(1, 2)"));
  Out(*env, Submit(), &s);
  EXPECT_DOUBLE_EQ(s.info.outcome->score, 0.0);
  EXPECT_DOUBLE_EQ(s.reward, 0.0);
}

TEST(CodeEnvTest, TamperingSolutionsFailTheHiddenTests) {
  const std::vector<std::pair<std::string, std::string>> cheats = {
      {"fake PASS lines and look-alike result lines on stdout",
       "import os, sys\n"
       "print('PASS hidden_big')\n"
       "sys.__stdout__.write('PASS hidden_negative\\npassed 4/4\\n')\n"
       "sys.__stdout__.flush()\n"
       "os.write(1, b'\\nTGR00000000000000000000000000000000 30\\nPASS hidden_mixed\\n')\n"
       "def add(a, b):\n    return None\n"},
      {"os._exit(0) at import",
       "import os\nprint('PASS all', flush=True)\nos._exit(0)\n"
       "def add(a, b):\n    return a + b\n"},
      {"sys.exit(0) at import", "import sys\nsys.exit(0)\ndef add(a, b):\n    return a + b\n"},
      {"os._exit(0) inside the call",
       "import os\ndef add(a, b):\n    os.write(1, b'PASS\\n')\n    os._exit(0)\n"},
      {"killing its own process", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"},
  };
  for (const auto& [what, source] : cheats) {
    auto env = MakeEnv();
    ASSERT_TRUE(env->Reset(1).ok());
    Out(*env, WriteFile("solution.py", source));
    std::string out = Out(*env, RunTests());
    EXPECT_NE(out.find("0 of 3 public tests passed."), std::string::npos) << what << "\n" << out;
    StepResult s;
    Out(*env, Submit(), &s);
    ASSERT_TRUE(s.info.outcome.has_value()) << what;
    EXPECT_FALSE(s.info.outcome->passed) << what;
    EXPECT_DOUBLE_EQ(s.info.outcome->score, 0.0) << what << ": " << s.info.outcome->detail;
    EXPECT_DOUBLE_EQ(s.reward, 0.0) << what;
  }
}

TEST(CodeEnvTest, ResetStartsAFreshInterpreterAndWorkspace) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  Out(*env, Py("leftover = 1\nimport os\nos.chdir('/tmp')"));
  Out(*env, WriteFile("/workspace/solution.py", kCorrect));
  Out(*env, WriteFile("/workspace/junk.txt", "junk"));
  ASSERT_TRUE(env->Reset(2).ok());
  EXPECT_EQ(Out(*env, Py("import os\n'leftover' in globals(), os.getcwd(), sorted(os.listdir())")),
            "(False, '/workspace', ['solution.py'])");
  EXPECT_EQ(Out(*env, ReadFile("solution.py")), kStub);
}

// Same task, seed and actions: the same observations, rewards and info (timings aside).
TEST(CodeEnvTest, Determinism) {
  const std::vector<std::string> actions = {
      Py("import os\nsorted(os.listdir('.'))"),
      ReadFile("solution.py"),
      Py("1 / 0"),
      "not an action",
      WriteFile("solution.py", "def add(a, b):\n    return a + b if a >= 0 else b\n"),
      RunTests(),
      Py("from solution import add\nadd(3, 4), add(-1, 5)"),
      Submit()};
  auto run = [&] {
    auto env = MakeEnv();
    std::vector<json> out;
    auto r = env->Reset(11);
    EXPECT_TRUE(r.ok());
    out.push_back({{"obs", r->observation}, {"info", WithoutTimings(json(r->info))}});
    for (const auto& a : actions) {
      auto s = env->Step(a);
      EXPECT_TRUE(s.ok());
      out.push_back({{"obs", s->observation},
                     {"reward", s->reward},
                     {"term", s->terminated},
                     {"trunc", s->truncated},
                     {"info", WithoutTimings(json(s->info))}});
    }
    return out;
  };
  auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;
  // The episode really happened: the last step submitted a solution passing 3 of 4.
  EXPECT_EQ(a.back()["term"], true);
  EXPECT_DOUBLE_EQ(a.back()["reward"].get<double>(), 0.75);
}

TEST(CodeEnvTest, ForkDivergesOnlyByWhatEachWasTold) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(4).ok());
  Out(*env, Py("v = 'base'\ncount = 1\nimport os\nos.makedirs('w', exist_ok=True)"));
  Out(*env, WriteFile("shared.txt", "base\n"));
  Out(*env, Py("count += 1"));  // replayed once in the fork: count == 2 there too
  Out(*env, RunTests());
  auto forked = env->Fork();
  ASSERT_TRUE(forked.ok()) << forked.status().ToString();
  Env& fork = **forked;
  EXPECT_TRUE(fork.active());
  // Different values in each.
  Out(*env, Py("v = 'orig'"));
  Out(fork, Py("v = 'fork'\nonly_in_fork = True"));
  Out(*env, WriteFile("own.txt", "orig\n"));
  Out(fork, WriteFile("own.txt", "fork\n"));
  Out(fork, WriteFile("solution.py", kCorrect));
  StepResult a, b;
  EXPECT_EQ(Out(*env, Py("v, count, 'only_in_fork' in globals()"), &a), "('orig', 2, False)");
  EXPECT_EQ(Out(fork, Py("v, count, 'only_in_fork' in globals()"), &b), "('fork', 2, True)");
  EXPECT_EQ(Out(*env, ReadFile("own.txt")), "orig\n");
  EXPECT_EQ(Out(fork, ReadFile("own.txt")), "fork\n");
  EXPECT_EQ(Out(*env, ReadFile("shared.txt")), "base\n");
  EXPECT_EQ(Out(fork, ReadFile("shared.txt")), "base\n");
  // Episode state was copied: turn counts continue from the fork point (4 steps) in both.
  EXPECT_EQ(a.info.turn, 7);
  EXPECT_EQ(b.info.turn, 8);
  // Each is judged on its own workspace: the fork wrote the solution, the original did not.
  StepResult fs, os;
  Out(fork, Submit(), &fs);
  EXPECT_TRUE(fs.terminated);
  EXPECT_DOUBLE_EQ(fs.reward, 1.0);
  EXPECT_TRUE(env->active());
  Out(*env, Submit(), &os);
  EXPECT_DOUBLE_EQ(os.reward, 0.0);
}

TEST(CodeEnvTest, ForkAfterATimeoutKeepsTheRestartedState) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = AddTask(seed);
    t.tool_limits["python"].timeout_s = 1;
    return t;
  });
  ASSERT_TRUE(env->Reset(4).ok());
  Out(*env, Py("lost = 1"));
  Out(*env, Py("while True:\n    pass"));
  Out(*env, Py("kept = 2"));
  auto forked = env->Fork();
  ASSERT_TRUE(forked.ok()) << forked.status().ToString();
  EXPECT_EQ(Out(**forked, Py("'lost' in globals(), kept")), "(False, 2)");
  EXPECT_EQ(Out(*env, Py("'lost' in globals(), kept")), "(False, 2)");
}

}  // namespace
}  // namespace toolgym::envs
