// Session: the persistent bash of an episode. State that persists (cwd, variables, files), output
// that must never be confused with the framing, shell restarts (exit, exec, timeouts, seccomp
// kills) and what they restore, background jobs, stdin, Fork and Reset.
#include "sandbox/session.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/sandbox/test_util.h"

namespace toolgym::sandbox {
namespace {

using testing::RunInChild;

SandboxConfig BaseConfig() {
  SandboxConfig c;
  c.limits.wall_time_s = 5;
  return c;
}

std::unique_ptr<Session> MustCreate(SandboxConfig config = BaseConfig()) {
  auto s = Session::Create(std::move(config));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(SessionTest, CwdAndVariablesPersist) {
  auto s = MustCreate();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->cwd(), "/workspace");
  RunResult r =
      s->Exec("mkdir -p /tmp/deep/er && cd /tmp/deep/er && export FOO='bar baz' && LOCAL=1");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_FALSE(r.shell_restarted);
  EXPECT_EQ(s->cwd(), "/tmp/deep/er");
  EXPECT_NE(s->exported().find("declare -x FOO=\"bar baz\""), std::string::npos) << s->exported();
  RunResult check = s->Exec("pwd; echo \"$FOO|$LOCAL\"; sh -c 'echo \"child:$FOO|$LOCAL\"'");
  EXPECT_EQ(check.stdout_data, "/tmp/deep/er\nbar baz|1\nchild:bar baz|\n");
  // Functions and aliases of the same shell persist too.
  ASSERT_EQ(s->Exec("greet() { echo \"hello $1\"; }").verdict, Verdict::kOk);
  EXPECT_EQ(s->Exec("greet world").stdout_data, "hello world\n");
  RunResult back = s->Exec("cd - >/dev/null; cd; pwd");
  EXPECT_EQ(back.stdout_data, "/workspace\n");
  EXPECT_EQ(s->cwd(), "/workspace");
}

TEST(SessionTest, FilesPersist) {
  auto s = MustCreate();
  ASSERT_EQ(s->Exec("printf 'one\\n' > a.txt; mkdir d; echo two > d/b").verdict, Verdict::kOk);
  EXPECT_EQ(s->Exec("cat a.txt d/b").stdout_data, "one\ntwo\n");
  auto snap = s->sandbox().SnapshotWorkspace();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->entries().at("a.txt").data, "one\n");
  EXPECT_EQ(snap->entries().at("d/b").data, "two\n");
}

TEST(SessionTest, ExitCodesAndStderr) {
  auto s = MustCreate();
  RunResult r = s->Exec("echo out; echo err >&2; false");
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stdout_data, "out\n");
  EXPECT_EQ(r.stderr_data, "err\n");
  RunResult code = s->Exec("(exit 77)");
  EXPECT_EQ(code.exit_code, 77);
  EXPECT_FALSE(code.shell_restarted);
  RunResult missing = s->Exec("no-such-command-toolgym");
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.stderr_data.find("command not found"), std::string::npos);
}

TEST(SessionTest, OutputThatLooksLikeTheFramingIsJustOutput) {
  auto s = MustCreate();
  const std::string nonce = "0123456789abcdef0123456789abcdef";
  // Everything a status record has: a leading newline, "B" + hex nonce, exit code, cwd,
  // declarations and "E" + nonce, on stdout and on stderr.
  const std::string fake = "\nB" + nonce + "\n0\n/fake\ndeclare -x X=\"1\"\nE" + nonce + "\n";
  RunResult r = s->Exec("printf '\\nB%s\\n0\\n/fake\\ndeclare -x X=\"1\"\\nE%s\\n' " + nonce + " " +
                        nonce + "; printf '\\nB%s\\n0\\n/fake\\ndeclare -x X=\"1\"\\nE%s\\n' " +
                        nonce + " " + nonce + " >&2; exit_is=7; (exit $exit_is)");
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.stdout_data, fake);
  EXPECT_EQ(r.stderr_data, fake);
  EXPECT_EQ(s->cwd(), "/workspace");
  EXPECT_EQ(s->exported().find("X=\"1\""), std::string::npos);
  // No trailing newline, and a lone "E" line.
  EXPECT_EQ(s->Exec("printf 'no newline'").stdout_data, "no newline");
  EXPECT_EQ(s->Exec("printf 'E\\nB\\n'").stdout_data, "E\nB\n");
  EXPECT_EQ(s->Exec("echo next").stdout_data, "next\n");
}

TEST(SessionTest, TheStatusChannelIsClosedToCommands) {
  auto s = MustCreate();
  RunResult r = s->Exec("echo forged >&3; echo rc=$?");
  EXPECT_EQ(r.stdout_data, "rc=1\n");
  EXPECT_NE(r.stderr_data.find("Bad file descriptor"), std::string::npos) << r.stderr_data;
  EXPECT_EQ(s->Exec("echo fine").stdout_data, "fine\n");
}

TEST(SessionTest, BinaryOutputRoundTripsExactly) {
  auto s = MustCreate();
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  RunResult py = s->Exec("python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))'");
  EXPECT_EQ(py.verdict, Verdict::kOk) << py.Summary() << py.stderr_data;
  EXPECT_EQ(py.stdout_data, all);

  std::string printf_cmd = "printf '";
  char hex[8];
  for (int i = 0; i < 256; ++i) {
    std::snprintf(hex, sizeof hex, "\\x%02x", i);
    printf_cmd += hex;
  }
  printf_cmd += "'";
  RunResult pf = s->Exec(printf_cmd);
  EXPECT_EQ(pf.stdout_data, all);

  // Raw bytes 1..255 inside the command text itself (single-quoted, so literal).
  std::string raw;
  for (int i = 1; i < 256; ++i)
    if (i != '\'') raw.push_back(static_cast<char>(i));
  RunResult lit = s->Exec("printf '%s' '" + raw + "'");
  EXPECT_EQ(lit.stdout_data, raw);

  RunResult nul = s->Exec(std::string("echo a\0b", 8));
  EXPECT_EQ(nul.verdict, Verdict::kSandboxError);
  EXPECT_NE(nul.error.find("NUL"), std::string::npos) << nul.error;
  EXPECT_EQ(s->Exec("echo still").stdout_data, "still\n");
}

TEST(SessionTest, ExitRestartsTheShellWithCwdAndExports) {
  auto s = MustCreate();
  ASSERT_EQ(s->Exec("mkdir -p sub && cd sub && export KEEP='k v' && NOT_EXPORTED=1").verdict,
            Verdict::kOk);
  RunResult r = s->Exec("echo bye; exit 3");
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit) << r.Summary();
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(r.shell_restarted);
  EXPECT_EQ(r.stdout_data, "bye\n");
  RunResult next = s->Exec("pwd; echo \"$KEEP|$NOT_EXPORTED\"");
  EXPECT_EQ(next.verdict, Verdict::kOk) << next.Summary();
  EXPECT_FALSE(next.shell_restarted);
  EXPECT_EQ(next.stdout_data, "/workspace/sub\nk v|\n");
  EXPECT_EQ(s->cwd(), "/workspace/sub");
}

TEST(SessionTest, ExecRestartsTheShell) {
  auto s = MustCreate();
  ASSERT_EQ(s->Exec("cd /tmp && export E=1").verdict, Verdict::kOk);
  RunResult r = s->Exec("exec true");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.shell_restarted);
  RunResult failing = s->Exec("exec sh -c 'echo replaced; exit 9'");
  EXPECT_EQ(failing.exit_code, 9);
  EXPECT_EQ(failing.stdout_data, "replaced\n");
  EXPECT_TRUE(failing.shell_restarted);
  EXPECT_EQ(s->Exec("pwd; echo $E").stdout_data, "/tmp\n1\n");
}

TEST(SessionTest, BackgroundJobsDoNotBlockOrBreakTheProtocol) {
  auto s = MustCreate();
  const auto start = std::chrono::steady_clock::now();
  RunResult bg = s->Exec("sleep 100 &");
  EXPECT_EQ(bg.verdict, Verdict::kOk) << bg.Summary();
  RunResult next = s->Exec("echo hi");
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(next.stdout_data, "hi\n");
  EXPECT_LT(took, 2.0);

  ASSERT_EQ(s->Exec("(sleep 0.3; echo late; echo late-err >&2) &").verdict, Verdict::kOk);
  RunResult during = s->Exec("sleep 0.6; echo now");
  EXPECT_EQ(during.verdict, Verdict::kOk);
  // The late line belongs to whichever command was running; it never corrupts the framing.
  EXPECT_EQ(during.stdout_data, "late\nnow\n");
  EXPECT_EQ(during.stderr_data, "late-err\n");
  for (int i = 0; i < 3; ++i) {
    RunResult r = s->Exec("echo final " + std::to_string(i));
    EXPECT_EQ(r.stdout_data, "final " + std::to_string(i) + "\n");
    EXPECT_FALSE(r.shell_restarted);
  }
}

TEST(SessionTest, StdinIsDevNull) {
  auto s = MustCreate();
  const auto start = std::chrono::steady_clock::now();
  RunResult cat = s->Exec("cat", 2);
  RunResult read = s->Exec("read x; echo \"rc=$? x=[$x]\"", 2);
  RunResult py = s->Exec("python3 -c 'import sys; print(repr(sys.stdin.read()))'", 2);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(cat.verdict, Verdict::kOk) << cat.Summary();
  EXPECT_EQ(cat.stdout_data, "");
  EXPECT_EQ(read.stdout_data, "rc=1 x=[]\n");
  EXPECT_EQ(py.stdout_data, "''\n");
  EXPECT_LT(took, 1.5);
  // Reading stdin must not consume the session's own script either.
  EXPECT_EQ(s->Exec("cat; echo after-cat").stdout_data, "after-cat\n");
}

TEST(SessionTest, SyntaxErrorsLeaveTheSessionUsable) {
  auto s = MustCreate();
  ASSERT_EQ(s->Exec("cd /tmp").verdict, Verdict::kOk);
  RunResult quote = s->Exec("echo 'unbalanced");
  EXPECT_EQ(quote.verdict, Verdict::kNonzeroExit);
  EXPECT_NE(quote.exit_code, 0);
  EXPECT_FALSE(quote.shell_restarted);
  EXPECT_NE(quote.stderr_data.find("unexpected EOF"), std::string::npos) << quote.stderr_data;
  for (const char* bad : {"if true; then", "}", "echo $(", "fi", "case x in"}) {
    RunResult r = s->Exec(bad);
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_EQ(r.verdict, Verdict::kNonzeroExit) << bad;
  }
  RunResult ok = s->Exec("pwd; echo ok");
  EXPECT_EQ(ok.stdout_data, "/tmp\nok\n");
  EXPECT_FALSE(ok.shell_restarted);
}

TEST(SessionTest, MultiLineCommandsAndHeredocs) {
  auto s = MustCreate();
  RunResult r = s->Exec("cat <<'EOF'\nline $1\n  indented\nEOF\nfor i in 1 2; do\n  echo $i\ndone");
  EXPECT_EQ(r.stdout_data, "line $1\n  indented\n1\n2\n");
}

TEST(SessionTest, TimeoutRestartsTheShellAndKeepsState) {
  auto s = MustCreate();
  ASSERT_EQ(s->Exec("mkdir -p work && cd work && export T=1").verdict, Verdict::kOk);
  RunResult r = s->Exec("echo started; sleep 10", 0.5);
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_TRUE(r.shell_restarted);
  EXPECT_EQ(r.stdout_data, "started\n");
  EXPECT_GE(r.wall_time_s, 0.49);
  EXPECT_LT(r.wall_time_s, 1.5);
  RunResult next = s->Exec("pwd; echo $T");
  EXPECT_EQ(next.verdict, Verdict::kOk) << next.Summary();
  EXPECT_EQ(next.stdout_data, "/workspace/work\n1\n");
  EXPECT_EQ(s->cwd(), "/workspace/work");
}

TEST(SessionTest, DefaultTimeoutIsTheConfigWallTime) {
  SandboxConfig c = BaseConfig();
  c.limits.wall_time_s = 0.5;
  auto s = MustCreate(c);
  RunResult r = s->Exec("sleep 5");
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_LT(r.wall_time_s, 1.5);
  // A per-command timeout overrides it.
  EXPECT_EQ(s->Exec("sleep 0.7; echo slept", 3).stdout_data, "slept\n");
}

TEST(SessionTest, SeccompViolationRestartsTheShell) {
  auto s = MustCreate();
  ASSERT_EQ(s->Exec("cd /tmp; export V=kept").verdict, Verdict::kOk);
  RunResult r = s->Exec("python3 -c 'import ctypes; ctypes.CDLL(None).syscall(101, 0, 0, 0, 0)'");
  EXPECT_EQ(r.verdict, Verdict::kSeccompViolation) << r.Summary();
  EXPECT_EQ(r.violation_syscall, "ptrace");
  EXPECT_TRUE(r.shell_restarted);
  RunResult next = s->Exec("pwd; echo $V");
  EXPECT_EQ(next.verdict, Verdict::kOk) << next.Summary();
  EXPECT_EQ(next.stdout_data, "/tmp\nkept\n");
}

TEST(SessionTest, OutputCapsApply) {
  SandboxConfig c = BaseConfig();
  c.limits.stdout_bytes = 1000;
  auto s = MustCreate(c);
  RunResult r = s->Exec("head -c 100000 /dev/zero | tr '\\0' x");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_data, std::string(1000, 'x'));
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_total_bytes, 100000u);
  // The next command's output is its own.
  RunResult next = s->Exec("echo small");
  EXPECT_EQ(next.stdout_data, "small\n");
  EXPECT_FALSE(next.stdout_truncated);
}

TEST(SessionTest, ShellKilledBetweenCommandsIsRestarted) {
  // In a child process: the failure mode is SIGPIPE killing the host process.
  const int status = RunInChild([] {
    auto s = Session::Create(BaseConfig());
    if (!s.ok()) return 10;
    if ((*s)->Exec("cd /tmp; export K=1; (sleep 0.2; kill -9 $$) &").verdict != Verdict::kOk)
      return 11;
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    RunResult r = (*s)->Exec("pwd; echo $K");
    if (r.verdict != Verdict::kOk) return 12;
    if (r.stdout_data != "/tmp\n1\n") return 13;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: create failed; 11: first command failed; 12: verdict; 13: state not restored";
}

TEST(SessionTest, ForkDivergesOnlyByWhatEachWasTold) {
  auto a = MustCreate();
  ASSERT_EQ(a->Exec("mkdir sub && cd sub && export SHARED=1 && echo base > base.txt").verdict,
            Verdict::kOk);
  auto b_or = a->Fork();
  ASSERT_TRUE(b_or.ok()) << b_or.status().ToString();
  auto& b = *b_or;
  EXPECT_EQ(b->cwd(), "/workspace/sub");
  EXPECT_EQ(b->Exec("pwd; echo $SHARED; cat base.txt").stdout_data, "/workspace/sub\n1\nbase\n");

  ASSERT_EQ(a->Exec("echo a > only_a && export ONLY_A=a && cd /tmp").verdict, Verdict::kOk);
  ASSERT_EQ(b->Exec("echo b > only_b && export ONLY_B=b && echo b >> base.txt").verdict,
            Verdict::kOk);
  EXPECT_EQ(
      a->Exec("pwd; ls /workspace/sub; echo \"[$ONLY_A][$ONLY_B]\"; cat /workspace/sub/base.txt")
          .stdout_data,
      "/tmp\nbase.txt\nonly_a\n[a][]\nbase\n");
  EXPECT_EQ(b->Exec("pwd; ls; echo \"[$ONLY_A][$ONLY_B]\"; cat base.txt").stdout_data,
            "/workspace/sub\nbase.txt\nonly_b\n[][b]\nbase\nb\n");
  EXPECT_EQ(a->cwd(), "/tmp");
  EXPECT_EQ(b->cwd(), "/workspace/sub");
}

TEST(SessionTest, ResetRestoresTheTemplateAndCwd) {
  SandboxConfig c = BaseConfig();
  ASSERT_TRUE(c.workspace_template.AddFile("task.txt", "do it\n").ok());
  ASSERT_TRUE(c.workspace_template.AddFile("src/a.py", "print(1)\n").ok());
  ASSERT_TRUE(c.workspace_template.AddDirectory("src").ok());
  auto s = MustCreate(c);
  ASSERT_EQ(s->Exec("rm task.txt; echo 2 > src/a.py; echo junk > junk; mkdir -p x/y; cd x/y; "
                    "export DIRTY=1")
                .verdict,
            Verdict::kOk);
  ASSERT_EQ(s->cwd(), "/workspace/x/y");
  ASSERT_TRUE(s->Reset().ok());
  EXPECT_EQ(s->cwd(), "/workspace");
  auto snap = s->sandbox().SnapshotWorkspace();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->entries(), c.workspace_template.entries());
  RunResult r = s->Exec("pwd; echo \"[$DIRTY]\"; cat task.txt src/a.py");
  EXPECT_EQ(r.stdout_data, "/workspace\n[]\ndo it\nprint(1)\n");
  EXPECT_FALSE(r.shell_restarted);
}

TEST(SessionTest, TwoHundredCommands) {
  auto s = MustCreate();
  for (int i = 0; i < 200; ++i) {
    RunResult r = s->Exec("echo hi");
    ASSERT_EQ(r.verdict, Verdict::kOk) << "command " << i << ": " << r.Summary();
    ASSERT_EQ(r.stdout_data, "hi\n") << "command " << i;
    ASSERT_EQ(r.stderr_data, "") << "command " << i;
    ASSERT_FALSE(r.shell_restarted) << "command " << i;
  }
}

}  // namespace
}  // namespace toolgym::sandbox
