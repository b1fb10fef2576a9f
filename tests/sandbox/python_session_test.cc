// Session with Interpreter::kPython (the code env's notebook-like interpreter), and the episode
// operations both kinds of session offer: Reset(contents) and RunFresh.
#include <gtest/gtest.h>

#include <string>

#include "sandbox/session.h"

namespace toolgym::sandbox {
namespace {

std::unique_ptr<Session> MustCreate(Interpreter interpreter, FileTree tree = {}) {
  SandboxConfig c;
  c.limits.wall_time_s = 5;
  c.workspace_template = std::move(tree);
  auto s = Session::Create(std::move(c), SessionOptions{.interpreter = interpreter});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(PythonSessionTest, StatePersistsAcrossCells) {
  auto s = MustCreate(Interpreter::kPython);
  ASSERT_NE(s, nullptr);
  RunResult a = s->Exec("x = 20\ndef f(y):\n    return x + y\n");
  EXPECT_EQ(a.verdict, Verdict::kOk) << a.stderr_data;
  EXPECT_EQ(a.stdout_data, "");
  RunResult b = s->Exec("print(f(1)); f(22)");
  EXPECT_EQ(b.verdict, Verdict::kOk) << b.stderr_data;
  // print output, then the repr of the final expression, as a notebook shows it.
  EXPECT_EQ(b.stdout_data, "21\n42\n");
  EXPECT_EQ(s->Exec("'a' + 'b'").stdout_data, "'ab'\n");
  EXPECT_EQ(s->Exec("None").stdout_data, "");
  EXPECT_FALSE(b.shell_restarted);
}

TEST(PythonSessionTest, ExceptionGivesTracebackOfTheCellAndExitCode1) {
  auto s = MustCreate(Interpreter::kPython);
  RunResult r = s->Exec("y = 1\n1 / 0\n");
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_data.find("ZeroDivisionError: division by zero"), std::string::npos);
  EXPECT_NE(r.stderr_data.find("File \"<cell>\", line 2"), std::string::npos) << r.stderr_data;
  // The driver's own frames are not shown.
  EXPECT_EQ(r.stderr_data.find("_tg_driver"), std::string::npos) << r.stderr_data;
  // The statement before the exception ran and the interpreter lives on.
  EXPECT_EQ(s->Exec("y").stdout_data, "1\n");
  RunResult syntax = s->Exec("def broken(:\n");
  EXPECT_EQ(syntax.exit_code, 1);
  EXPECT_NE(syntax.stderr_data.find("SyntaxError"), std::string::npos);
  RunResult exit3 = s->Exec("import sys; sys.exit(3)");
  EXPECT_EQ(exit3.exit_code, 3);
  EXPECT_FALSE(exit3.shell_restarted);
  EXPECT_EQ(s->Exec("y + 1").stdout_data, "2\n");
}

TEST(PythonSessionTest, StdinIsEmptyAndFilesAndCwdPersist) {
  auto s = MustCreate(Interpreter::kPython);
  EXPECT_EQ(s->Exec("import sys; sys.stdin.read()").stdout_data, "''\n");
  ASSERT_EQ(s->Exec("open('m.py', 'w').write('VALUE = 7\\n')").verdict, Verdict::kOk);
  // The workspace is importable.
  EXPECT_EQ(s->Exec("import m; m.VALUE").stdout_data, "7\n");
  ASSERT_EQ(s->Exec("import os; os.makedirs('sub'); os.chdir('sub')").verdict, Verdict::kOk);
  EXPECT_EQ(s->cwd(), "/workspace/sub");
  EXPECT_EQ(s->Exec("os.getcwd()").stdout_data, "'/workspace/sub'\n");
}

TEST(PythonSessionTest, TimeoutRestartsTheInterpreterAndSaysSo) {
  auto s = MustCreate(Interpreter::kPython);
  ASSERT_EQ(s->Exec("kept = 1").verdict, Verdict::kOk);
  RunResult r = s->Exec("while True: pass", 0.5);
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit);
  EXPECT_TRUE(r.shell_restarted);
  RunResult after = s->Exec("'kept' in globals()");
  EXPECT_EQ(after.stdout_data, "False\n");  // state is gone with the old interpreter
  EXPECT_EQ(s->Exec("2 ** 10").stdout_data, "1024\n");
}

TEST(PythonSessionTest, LargeCellsAndBinaryOutput) {
  auto s = MustCreate(Interpreter::kPython);
  std::string cell = "data = '";
  cell += std::string(300000, 'x');
  cell += "'\nlen(data)";
  EXPECT_EQ(s->Exec(cell).stdout_data, "300000\n");
  RunResult r = s->Exec("import sys; sys.stdout.buffer.write(b'\\xff\\x00B' + b'\\nE'); None");
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_EQ(r.stdout_data, std::string("\xff\0B\nE", 5));
}

TEST(SessionResetTest, ResetWithContentsReplacesTheWorkspaceAndTheShell) {
  FileTree base;
  ASSERT_TRUE(base.AddFile("base.txt", "base\n").ok());
  auto s = MustCreate(Interpreter::kBash, base);
  ASSERT_EQ(s->Exec("echo junk > junk.txt; mkdir d; cd d; export V=1; sleep 100 &").verdict,
            Verdict::kOk);
  FileTree task;
  ASSERT_TRUE(task.AddFile("task/input.txt", "hello\n", 0600).ok());
  ASSERT_TRUE(s->Reset(task).ok());
  EXPECT_EQ(s->cwd(), "/workspace");
  RunResult r = s->Exec(
      "find . | LC_ALL=C sort; cat task/input.txt; echo \"V=$V\"; stat -c %a task/input.txt;"
      " pgrep sleep || echo no-sleep");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.stderr_data;
  EXPECT_EQ(r.stdout_data, ".\n./base.txt\n./task\n./task/input.txt\nhello\nV=\n600\nno-sleep\n");
  // The files are the sandbox user's, so the agent may change them.
  EXPECT_EQ(s->Exec("echo more >> task/input.txt && stat -c %u task/input.txt").stdout_data,
            "1000\n");
  // A second reset drops the change.
  ASSERT_TRUE(s->Reset(task).ok());
  EXPECT_EQ(s->Exec("cat task/input.txt").stdout_data, "hello\n");
}

TEST(SessionResetTest, PythonResetDropsState) {
  auto s = MustCreate(Interpreter::kPython);
  ASSERT_EQ(s->Exec("z = 5").verdict, Verdict::kOk);
  FileTree task;
  ASSERT_TRUE(task.AddFile("solution.py", "def f():\n    return 1\n").ok());
  ASSERT_TRUE(s->Reset(task).ok());
  EXPECT_EQ(s->Exec("'z' in globals()").stdout_data, "False\n");
  EXPECT_EQ(s->Exec("import solution; solution.f()").stdout_data, "1\n");
}

TEST(SessionResetTest, RunFreshSeesTheWorkspaceAndTheShellComesBack) {
  auto s = MustCreate(Interpreter::kBash);
  ASSERT_EQ(s->Exec("mkdir sub && cd sub && export K=v && echo data > f.txt").verdict,
            Verdict::kOk);
  RunOptions o;
  o.argv = {"/bin/sh", "-c", "cat sub/f.txt; pwd"};
  RunResult fresh = s->RunFresh(o);
  EXPECT_EQ(fresh.verdict, Verdict::kOk) << fresh.Summary();
  EXPECT_EQ(fresh.stdout_data, "data\n/workspace\n");
  RunResult next = s->Exec("pwd; echo $K");
  EXPECT_EQ(next.stdout_data, "/workspace/sub\nv\n");
}

}  // namespace
}  // namespace toolgym::sandbox
