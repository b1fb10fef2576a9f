// Sandbox: verdicts and their fields, stdin/stdout/stderr handling, environment and cwd,
// configuration validation, the workspace (template, persistence, reset, fork), determinism,
// per-run scratch state, networking modes, identity, and resource hygiene over many runs.
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/sandbox/test_util.h"

namespace toolgym::sandbox {
namespace {

using testing::RunInChild;

using Argv = std::vector<std::string>;

SandboxConfig BaseConfig() {
  SandboxConfig c;
  c.limits.wall_time_s = 5;
  c.limits.cpu_time_s = 5;
  return c;
}

std::unique_ptr<Sandbox> MustCreate(SandboxConfig config = BaseConfig()) {
  auto sb = Sandbox::Create(std::move(config));
  EXPECT_TRUE(sb.ok()) << sb.status().ToString();
  return sb.ok() ? std::move(sb).value() : nullptr;
}

RunResult Sh(Sandbox& sb, const std::string& script, std::optional<Limits> limits = std::nullopt) {
  return sb.Run({.argv = {"sh", "-c", script}, .limits = limits});
}

Limits WithWall(double wall_s) {
  Limits l = BaseConfig().limits;
  l.wall_time_s = wall_s;
  return l;
}

int CountOpenFds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the fd of the listing itself
}

// How many processes the sandbox's PID namespace holds, seen from a fresh command: 2 when only
// the init and the counting process exist.
std::string CountSandboxProcesses(Sandbox& sb) {
  return sb
      .Run({.argv = {"python3", "-c",
                     "import os; print(len([p for p in os.listdir('/proc') if p.isdigit()]))"}})
      .stdout_data;
}

std::string AllBytes(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return s;
}

// ---- Verdicts -----------------------------------------------------------------------------

TEST(SandboxVerdictTest, Ok) {
  auto sb = MustCreate();
  ASSERT_NE(sb, nullptr);
  RunResult r = sb->Run({.argv = {"echo", "hello", "world"}});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_EQ(r.stdout_data, "hello world\n");
  EXPECT_EQ(r.stderr_data, "");
  EXPECT_EQ(r.stdout_total_bytes, 12u);
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.violation_syscall, "");
  EXPECT_FALSE(r.shell_restarted);
  EXPECT_GT(r.wall_time_s, 0.0);
  EXPECT_LT(r.wall_time_s, 2.0);
  EXPECT_EQ(r.warnings, sb->warnings());
}

TEST(SandboxVerdictTest, NonzeroExit) {
  auto sb = MustCreate();
  RunResult r = Sh(*sb, "echo out; echo err >&2; exit 42");
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit) << r.Summary();
  EXPECT_EQ(r.exit_code, 42);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_EQ(r.stdout_data, "out\n");
  EXPECT_EQ(r.stderr_data, "err\n");
}

TEST(SandboxVerdictTest, MissingProgramIsExit127WithTheExecError) {
  auto sb = MustCreate();
  RunResult r = sb->Run({.argv = {"no-such-program-toolgym"}});
  EXPECT_EQ(r.verdict, Verdict::kNonzeroExit) << r.Summary();
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.error.find("execve"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("ENOENT"), std::string::npos) << r.error;
  EXPECT_NE(r.stderr_data.find("no-such-program-toolgym"), std::string::npos) << r.stderr_data;
}

TEST(SandboxVerdictTest, Signaled) {
  auto sb = MustCreate();
  RunResult r = Sh(*sb, "kill -SEGV $$");
  EXPECT_EQ(r.verdict, Verdict::kSignaled) << r.Summary();
  EXPECT_EQ(r.term_signal, SIGSEGV);
  EXPECT_EQ(r.exit_code, -1);
  RunResult abrt = sb->Run({.argv = {"python3", "-c", "import os; os.abort()"}});
  EXPECT_EQ(abrt.verdict, Verdict::kSignaled) << abrt.Summary();
  EXPECT_EQ(abrt.term_signal, SIGABRT);
}

TEST(SandboxVerdictTest, CpuTimeLimit) {
  auto sb = MustCreate();
  Limits l = BaseConfig().limits;
  l.cpu_time_s = 1;
  l.wall_time_s = 8;
  RunResult r = Sh(*sb, "while :; do :; done", l);
  EXPECT_EQ(r.verdict, Verdict::kCpuTimeLimit) << r.Summary();
  // Roughly the limit. The kernel's rusage can read well under the RLIMIT_CPU that fired when
  // CPUs are contended (0.78 s for a 1 s limit seen on a 2-core VM, outside any sandbox too).
  EXPECT_GE(r.cpu_time_s, 0.6);
  EXPECT_LT(r.cpu_time_s, 3.0);
  EXPECT_LT(r.wall_time_s, 6.0);
}

TEST(SandboxVerdictTest, WallTimeLimit) {
  auto sb = MustCreate();
  RunResult r = sb->Run({.argv = {"sleep", "10"}, .limits = WithWall(0.5)});
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_GE(r.wall_time_s, 0.49);
  EXPECT_LT(r.wall_time_s, 1.5);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(r.cpu_time_s, 0.2);
}

TEST(SandboxVerdictTest, WallTimeLimitKillsTheWholeTree) {
  auto sb = MustCreate();
  // A background child holding stdout open must not keep the run alive past the limit.
  RunResult r = Sh(*sb, "sleep 30 & sleep 30", WithWall(0.5));
  EXPECT_EQ(r.verdict, Verdict::kWallTimeLimit) << r.Summary();
  EXPECT_LT(r.wall_time_s, 1.5);
  // And nothing of it survives into the next run.
  EXPECT_EQ(CountSandboxProcesses(*sb), "2\n") << "only the init and the counting process";
}

TEST(SandboxVerdictTest, MemoryLimit) {
  auto sb = MustCreate();
  if (!sb->warnings().empty()) GTEST_SKIP() << "no cgroup: " << sb->warnings().front();
  Limits l = BaseConfig().limits;
  l.memory_bytes = 64ull << 20;
  RunResult r =
      sb->Run({.argv = {"python3", "-c", "b = b'x' * (256 << 20); print(len(b))"}, .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kMemoryLimit) << r.Summary();
  EXPECT_EQ(r.stdout_data, "");
  EXPECT_EQ(r.term_signal, SIGKILL);
  // The next run with the default limit is unaffected.
  RunResult ok = sb->Run({.argv = {"python3", "-c", "b = b'x' * (100 << 20); print(len(b))"}});
  EXPECT_EQ(ok.verdict, Verdict::kOk) << ok.Summary();
  EXPECT_EQ(ok.stdout_data, std::to_string(100 << 20) + "\n");
}

TEST(SandboxVerdictTest, PeakMemoryExceedsTheAllocation) {
  auto sb = MustCreate();
  RunResult r = sb->Run({.argv = {"python3", "-c", "b = b'\\x01' * (50 << 20); print(len(b))"}});
  ASSERT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_GT(r.peak_memory_bytes, 50ull << 20);
  EXPECT_LT(r.peak_memory_bytes, 200ull << 20);
  RunResult small = sb->Run({.argv = {"true"}});
  EXPECT_LT(small.peak_memory_bytes, 20ull << 20) << "peak is per run, not cumulative";
}

TEST(SandboxVerdictTest, OutputLimitFromOutputVolume) {
  auto sb = MustCreate();
  Limits l = BaseConfig().limits;
  l.output_kill_bytes = 1 << 20;
  RunResult r = sb->Run({.argv = {"yes"}, .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOutputLimit) << r.Summary();
  EXPECT_GT(r.stdout_total_bytes, 1u << 20);
  EXPECT_EQ(r.stdout_data.size(), l.stdout_bytes);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_data.substr(0, 4), "y\ny\n");
  EXPECT_LT(r.wall_time_s, 3.0);
}

TEST(SandboxVerdictTest, OutputLimitFromFileSize) {
  auto sb = MustCreate();
  Limits l = BaseConfig().limits;
  l.file_size_bytes = 1 << 20;
  RunResult r =
      sb->Run({.argv = {"dd", "if=/dev/zero", "of=big", "bs=64k", "count=48"}, .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOutputLimit) << r.Summary();
  EXPECT_EQ(r.term_signal, SIGXFSZ);
  RunResult size = sb->Run({.argv = {"stat", "-c", "%s", "big"}});
  EXPECT_EQ(size.stdout_data, std::to_string(1 << 20) + "\n");
}

// Limits hit by a process that is not the command's main process: the usual shape of a
// command (`sh -c '...'`), where the shell reaps the child that the kernel signalled. The shell
// reports it as exit status 128 + signal, and the verdict follows that convention. A command
// that goes on after the child died and exits 0 has handled it: its verdict is ok, and the
// child's status is in its output (documented in docs/sandbox.md).
TEST(SandboxVerdictTest, OutputLimitFromFileSizeInAChildOfTheMainProcess) {
  auto sb = MustCreate();
  Limits l = BaseConfig().limits;
  l.file_size_bytes = 1 << 20;
  RunResult r = Sh(*sb, "head -c 3000000 /dev/zero > big", l);
  EXPECT_EQ(r.verdict, Verdict::kOutputLimit) << r.Summary();
  EXPECT_EQ(r.exit_code, 128 + SIGXFSZ);
  RunResult handled = Sh(*sb, "head -c 3000000 /dev/zero > big; echo status $?", l);
  EXPECT_EQ(handled.verdict, Verdict::kOk) << handled.Summary();
  EXPECT_EQ(handled.stdout_data, "status 153\n");
}

TEST(SandboxVerdictTest, CpuTimeLimitInAChildOfTheMainProcess) {
  auto sb = MustCreate();
  Limits l = BaseConfig().limits;
  l.cpu_time_s = 1;
  l.wall_time_s = 8;
  RunResult r = Sh(*sb, "sh -c 'while :; do :; done'", l);
  EXPECT_EQ(r.verdict, Verdict::kCpuTimeLimit) << r.Summary();
  EXPECT_EQ(r.exit_code, 128 + SIGXCPU);
  RunResult handled = Sh(*sb, "sh -c 'while :; do :; done'; echo status $?", l);
  EXPECT_EQ(handled.verdict, Verdict::kOk) << handled.Summary();
  EXPECT_EQ(handled.stdout_data, "status 152\n");
}

TEST(SandboxVerdictTest, SeccompViolationNamesTheSyscall) {
  auto sb = MustCreate();
  RunResult r = sb->Run(
      {.argv = {"python3", "-c",
                "import ctypes; ctypes.CDLL(None).syscall(101, 0, 0, 0, 0); print('survived')"}});
  EXPECT_EQ(r.verdict, Verdict::kSeccompViolation) << r.Summary();
  EXPECT_EQ(r.violation_syscall, "ptrace");
  EXPECT_EQ(r.stdout_data, "");
  RunResult u =
      sb->Run({.argv = {"python3", "-c", "import ctypes; ctypes.CDLL(None).unshare(0x10000000)"}});
  EXPECT_EQ(u.verdict, Verdict::kSeccompViolation) << u.Summary();
  EXPECT_EQ(u.violation_syscall, "unshare");
  // The sandbox stays usable.
  RunResult ok = sb->Run({.argv = {"echo", "after"}});
  EXPECT_EQ(ok.verdict, Verdict::kOk) << ok.Summary();
  EXPECT_EQ(ok.stdout_data, "after\n");
}

TEST(SandboxVerdictTest, SeccompErrnoModeLetsTheCommandContinue) {
  SandboxConfig c = BaseConfig();
  c.seccomp.kill_on_violation = false;
  auto sb = MustCreate(c);
  RunResult r =
      sb->Run({.argv = {"python3", "-c",
                        "import ctypes, os; l = ctypes.CDLL(None, use_errno=True); "
                        "print(l.syscall(101, 0, 0, 0, 0), os.strerror(ctypes.get_errno()))"}});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_data, "-1 Operation not permitted\n");
}

TEST(SandboxVerdictTest, SandboxErrorsForBadRunOptions) {
  auto sb = MustCreate();
  RunResult empty = sb->Run({.argv = {}});
  EXPECT_EQ(empty.verdict, Verdict::kSandboxError);
  EXPECT_NE(empty.error.find("argv"), std::string::npos) << empty.error;
  RunResult no_wall = sb->Run({.argv = {"true"}, .limits = WithWall(0)});
  EXPECT_EQ(no_wall.verdict, Verdict::kSandboxError);
  EXPECT_NE(no_wall.error.find("wall_time_s"), std::string::npos) << no_wall.error;
  RunResult bad_env = sb->Run({.argv = {"true"}, .env = {{"A=B", "x"}}});
  EXPECT_EQ(bad_env.verdict, Verdict::kSandboxError);
  EXPECT_NE(bad_env.error.find("A=B"), std::string::npos) << bad_env.error;
  // None of these broke the sandbox.
  EXPECT_EQ(sb->Run({.argv = {"true"}}).verdict, Verdict::kOk);
}

TEST(SandboxVerdictTest, SecondAsyncRunWhileBusyFails) {
  auto sb = MustCreate();
  RunResult first, second;
  sb->AsyncRun({.argv = {"sleep", "0.2"}}, [&](RunResult r) { first = std::move(r); });
  sb->AsyncRun({.argv = {"echo", "x"}}, [&](RunResult r) { second = std::move(r); });
  sb->own_io_context()->restart();
  sb->own_io_context()->run();
  EXPECT_EQ(first.verdict, Verdict::kOk) << first.Summary();
  EXPECT_EQ(second.verdict, Verdict::kSandboxError);
  EXPECT_NE(second.error.find("busy"), std::string::npos) << second.error;
}

TEST(SandboxVerdictTest, RecoversAfterTheInitIsKilled) {
  auto sb = MustCreate();
  ASSERT_EQ(Sh(*sb, "echo data > keep").verdict, Verdict::kOk);
  ASSERT_GT(sb->init_pid(), 1);
  ASSERT_EQ(::kill(sb->init_pid(), SIGKILL), 0);
  RunResult first = sb->Run({.argv = {"echo", "1"}});
  EXPECT_TRUE(first.verdict == Verdict::kOk || first.verdict == Verdict::kSandboxError)
      << first.Summary();
  RunResult second = sb->Run({.argv = {"echo", "2"}});
  EXPECT_EQ(second.verdict, Verdict::kOk) << second.Summary();
  EXPECT_EQ(second.stdout_data, "2\n");
}

// ---- stdin, stdout, stderr ----------------------------------------------------------------

// argv, environment and cwd are bytes, not UTF-8: a Latin-1 file name or raw bytes in an
// argument must reach the command exactly (and never throw in the host).
TEST(SandboxIoTest, NonUtf8ArgvEnvAndCwdArriveExactly) {
  SandboxConfig c = BaseConfig();
  ASSERT_TRUE(c.workspace_template.AddDirectory("caf\xe9").ok());
  auto sb = MustCreate(c);
  const std::string arg = "caf\xe9 \xff\x80\x01";
  RunResult r = sb->Run({.argv = {"sh", "-c", "printf '%s|%s|' \"$1\" \"$V\"; pwd", "sh", arg},
                         .env = {{"V", "\xfe\xfd"}},
                         .cwd = "/workspace/caf\xe9"});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(r.stdout_data, arg + "|\xfe\xfd|/workspace/caf\xe9\n");
}

TEST(SandboxIoTest, StdinIsDeliveredExactly) {
  auto sb = MustCreate();
  const std::string text = "line one\nline two without newline";
  RunResult r = sb->Run({.argv = {"cat"}, .stdin_data = text});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_data, text);
}

TEST(SandboxIoTest, LargeBinaryStdinIsDeliveredExactly) {
  auto sb = MustCreate();
  const std::string data = AllBytes(3 << 20);  // > 1 MiB, every byte value, NULs included
  Limits l = BaseConfig().limits;
  l.stdout_bytes = 4 << 20;
  RunResult r = sb->Run({.argv = {"cat"}, .stdin_data = data, .limits = l});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_total_bytes, data.size());
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_TRUE(r.stdout_data == data)
      << "stdout differs from stdin (" << r.stdout_data.size() << " bytes)";
  RunResult sum = sb->Run({.argv = {"python3", "-c",
                                    "import sys, hashlib; d = sys.stdin.buffer.read(); "
                                    "print(len(d), len(set(d)), d.count(0))"},
                           .stdin_data = data});
  EXPECT_EQ(sum.stdout_data, std::to_string(data.size()) + " 256 " +
                                 std::to_string(std::count(data.begin(), data.end(), '\0')) + "\n");
}

TEST(SandboxIoTest, CommandThatIgnoresStdinStillCompletes) {
  // In a child process: the failure mode is SIGPIPE killing the host process.
  const int status = RunInChild([] {
    auto sb = Sandbox::Create(BaseConfig());
    if (!sb.ok()) return 2;
    RunResult t = (*sb)->Run({.argv = {"true"}, .stdin_data = AllBytes(2 << 20)});
    return t.verdict == Verdict::kOk ? 0 : 1;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: verdict not ok; 2: create failed";

  auto sb = MustCreate();
  // Fits in the pipe buffer: never blocks, so this part runs in-process.
  RunResult h = sb->Run({.argv = {"head", "-c", "5"}, .stdin_data = "0123456789"});
  EXPECT_EQ(h.verdict, Verdict::kOk) << h.Summary();
  EXPECT_EQ(h.stdout_data, "01234");
  // No stdin: /dev/null, immediate EOF.
  RunResult none = sb->Run({.argv = {"wc", "-c"}});
  EXPECT_EQ(none.stdout_data, "0\n");
}

TEST(SandboxIoTest, OutputCapsTruncateAndCountTotals) {
  auto sb = MustCreate();
  Limits l = BaseConfig().limits;
  l.stdout_bytes = 100;
  l.stderr_bytes = 10;
  RunResult r =
      Sh(*sb, "head -c 1000 /dev/zero | tr '\\0' o; head -c 500 /dev/zero | tr '\\0' e >&2", l);
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_data, std::string(100, 'o'));
  EXPECT_EQ(r.stderr_data, std::string(10, 'e'));
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_TRUE(r.stderr_truncated);
  EXPECT_EQ(r.stdout_total_bytes, 1000u);
  EXPECT_EQ(r.stderr_total_bytes, 500u);
}

TEST(SandboxIoTest, OutputExactlyAtTheCapIsNotTruncated) {
  auto sb = MustCreate();
  Limits l = BaseConfig().limits;
  l.stdout_bytes = 100;
  RunResult r = Sh(*sb, "head -c 100 /dev/zero", l);
  EXPECT_EQ(r.stdout_data.size(), 100u);
  EXPECT_FALSE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_total_bytes, 100u);
}

TEST(SandboxIoTest, BinaryStdoutIsCapturedExactly) {
  auto sb = MustCreate();
  RunResult r = sb->Run(
      {.argv = {"python3", "-c", "import sys; sys.stdout.buffer.write(bytes(range(256)) * 3)"}});
  std::string want;
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 256; ++i) want.push_back(static_cast<char>(i));
  EXPECT_EQ(r.stdout_data, want);
}

// ---- Environment, cwd, identity -----------------------------------------------------------

TEST(SandboxEnvTest, EnvironmentIsExactlyConfigPlusRun) {
  ::setenv("TOOLGYM_HOST_ONLY_SECRET", "leaked", 1);
  auto sb = MustCreate();
  RunResult r = sb->Run({.argv = {"env"}, .env = {{"FOO", "bar baz"}, {"LANG", "C"}}});
  ::unsetenv("TOOLGYM_HOST_ONLY_SECRET");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_data.find("leaked"), std::string::npos) << r.stdout_data;
  EXPECT_EQ(r.stdout_data,
            "FOO=bar baz\n"
            "HOME=/workspace\n"
            "LANG=C\n"
            "LOGNAME=user\n"
            "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin\n"
            "TERM=dumb\n"
            "USER=user\n");
  // Run variables do not stick to the sandbox.
  RunResult next = Sh(*sb, "echo \"[$FOO]\"");
  EXPECT_EQ(next.stdout_data, "[]\n");
}

TEST(SandboxEnvTest, CwdOption) {
  auto sb = MustCreate();
  EXPECT_EQ(sb->Run({.argv = {"pwd"}}).stdout_data, "/workspace\n");
  EXPECT_EQ(sb->Run({.argv = {"pwd"}, .cwd = "/tmp"}).stdout_data, "/tmp\n");
  ASSERT_EQ(Sh(*sb, "mkdir -p sub/dir").verdict, Verdict::kOk);
  EXPECT_EQ(sb->Run({.argv = {"pwd"}, .cwd = "/workspace/sub/dir"}).stdout_data,
            "/workspace/sub/dir\n");
  RunResult missing = sb->Run({.argv = {"pwd"}, .cwd = "/does/not/exist"});
  EXPECT_EQ(missing.verdict, Verdict::kNonzeroExit) << missing.Summary();
  EXPECT_NE(missing.error.find("chdir"), std::string::npos) << missing.error;
}

TEST(SandboxEnvTest, IdentityHostnameAndUser) {
  auto sb = MustCreate();
  EXPECT_EQ(sb->Run({.argv = {"hostname"}}).stdout_data, "sandbox\n");
  EXPECT_EQ(sb->Run({.argv = {"cat", "/etc/hostname"}}).stdout_data, "sandbox\n");
  EXPECT_EQ(sb->Run({.argv = {"id", "-u"}}).stdout_data, "1000\n");
  EXPECT_EQ(sb->Run({.argv = {"id", "-g"}}).stdout_data, "1000\n");
  EXPECT_EQ(sb->Run({.argv = {"id", "-un"}}).stdout_data, "user\n");
  EXPECT_GE(sb->host_uid(), 1u << 30);
  EXPECT_EQ(UidSlot::init_host_uid(), (1u << 30) - 1);

  SandboxConfig c = BaseConfig();
  c.hostname = "box-7";
  auto named = MustCreate(c);
  EXPECT_EQ(named->Run({.argv = {"hostname"}}).stdout_data, "box-7\n");
}

// ---- Configuration validation -------------------------------------------------------------

void ExpectInvalid(const SandboxConfig& c, std::vector<std::string> fragments) {
  Status st = ValidateConfig(c);
  ASSERT_FALSE(st.ok()) << "accepted; expected an error naming " << fragments.front();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  for (const std::string& f : fragments)
    EXPECT_NE(st.message().find(f), std::string::npos) << "'" << f << "' not in: " << st.message();
}

TEST(ValidateConfigTest, DefaultConfigIsValid) {
  EXPECT_TRUE(ValidateConfig(SandboxConfig{}).ok());
}

TEST(ValidateConfigTest, ErrorsNameTheFieldAndTheValue) {
  SandboxConfig c;
  c.workspace_path = "relative/ws";
  ExpectInvalid(c, {"workspace_path", "relative/ws"});
  c.workspace_path = "/";
  ExpectInvalid(c, {"workspace_path", "'/'"});
  c.workspace_path = "/work/../etc";
  ExpectInvalid(c, {"workspace_path", "/work/../etc"});
  c.workspace_path = "/usr/ws";
  ExpectInvalid(c, {"workspace_path", "/usr/ws", "/usr"});
  c.workspace_path = "/proc";
  ExpectInvalid(c, {"workspace_path", "/proc"});
  c.workspace_path = "/home/user/project";
  EXPECT_TRUE(ValidateConfig(c).ok());

  c = SandboxConfig{};
  c.hostname = "bad_host!";
  ExpectInvalid(c, {"hostname", "bad_host!"});
  c.hostname = std::string(64, 'h');
  ExpectInvalid(c, {"hostname", std::string(64, 'h')});
  c.hostname = "";
  ExpectInvalid(c, {"hostname"});

  c = SandboxConfig{};
  c.limits.wall_time_s = 0;
  ExpectInvalid(c, {"wall_time_s", "0"});
  c.limits.wall_time_s = -2.5;
  ExpectInvalid(c, {"wall_time_s", "-2.5"});
  c.limits.wall_time_s = std::nan("");
  ExpectInvalid(c, {"wall_time_s", "nan"});

  c = SandboxConfig{};
  c.workspace_bytes = 100;
  ASSERT_TRUE(c.workspace_template.AddFile("big", std::string(250, 'x')).ok());
  ExpectInvalid(c, {"workspace_bytes", "100", "250"});

  c = SandboxConfig{};
  c.extra_ro_binds = {{"/nonexistent/toolgym/data", "/data"}};
  ExpectInvalid(c, {"extra_ro_binds", "/nonexistent/toolgym/data"});
  c.extra_ro_binds = {{"/usr/share", "/workspace/share"}};
  ExpectInvalid(c, {"extra_ro_binds", "/workspace/share"});

  c = SandboxConfig{};
  c.env["BAD=NAME"] = "x";
  ExpectInvalid(c, {"env", "BAD=NAME"});
}

TEST(ValidateConfigTest, CreateRefusesAnInvalidConfig) {
  SandboxConfig c = BaseConfig();
  c.hostname = "no spaces";
  auto sb = Sandbox::Create(c);
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(sb.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(sb.status().message().find("no spaces"), std::string::npos) << sb.status().message();
}

// ---- Workspace ----------------------------------------------------------------------------

FileTree Template() {
  FileTree t;
  EXPECT_TRUE(t.AddFile("README.md", "# task\n").ok());
  EXPECT_TRUE(t.AddFile("run.sh", "#!/bin/sh\necho ran \"$@\"\n", 0755).ok());
  EXPECT_TRUE(t.AddDirectory("src").ok());
  EXPECT_TRUE(t.AddFile("src/main.py", "print(6 * 7)\n").ok());
  EXPECT_TRUE(t.AddDirectory("src/pkg", 0700).ok());
  EXPECT_TRUE(t.AddFile("src/pkg/data.bin", std::string("\0\xff\x01", 3), 0600).ok());
  EXPECT_TRUE(t.AddSymlink("main", "src/main.py").ok());
  return t;
}

TEST(SandboxWorkspaceTest, TemplateIsVisibleAndSnapshotMatchesIt) {
  SandboxConfig c = BaseConfig();
  c.workspace_template = Template();
  auto sb = MustCreate(c);
  EXPECT_EQ(sb->Run({.argv = {"python3", "main"}}).stdout_data, "42\n");
  EXPECT_EQ(sb->Run({.argv = {"./run.sh", "a", "b"}}).stdout_data, "ran a b\n");
  EXPECT_EQ(Sh(*sb, "stat -c '%a %U' README.md src/pkg src/pkg/data.bin").stdout_data,
            "644 user\n700 user\n600 user\n");
  auto snap = sb->SnapshotWorkspace();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->entries(), c.workspace_template.entries());
}

TEST(SandboxWorkspaceTest, ChangesPersistAcrossRuns) {
  auto sb = MustCreate();
  ASSERT_EQ(Sh(*sb, "echo one > a.txt && mkdir d && echo two > d/b.txt").verdict, Verdict::kOk);
  EXPECT_EQ(Sh(*sb, "cat a.txt d/b.txt").stdout_data, "one\ntwo\n");
  ASSERT_EQ(Sh(*sb, "rm a.txt && echo three >> d/b.txt").verdict, Verdict::kOk);
  EXPECT_EQ(Sh(*sb, "ls; cat d/b.txt").stdout_data, "d\ntwo\nthree\n");
}

TEST(SandboxWorkspaceTest, ResetRestoresTheTemplateExactly) {
  SandboxConfig c = BaseConfig();
  c.workspace_template = Template();
  auto sb = MustCreate(c);
  RunResult mess = Sh(*sb,
                      "rm README.md && rm -r src/pkg && echo changed > src/main.py && "
                      "chmod 600 run.sh && echo new > new.txt && mkdir newdir && "
                      "rm main && ln -s elsewhere main");
  ASSERT_EQ(mess.verdict, Verdict::kOk) << mess.Summary() << mess.stderr_data;
  auto dirty = sb->SnapshotWorkspace();
  ASSERT_TRUE(dirty.ok());
  EXPECT_NE(dirty->entries(), c.workspace_template.entries());

  ASSERT_TRUE(sb->ResetWorkspace().ok());
  auto snap = sb->SnapshotWorkspace();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->entries(), c.workspace_template.entries());
  EXPECT_EQ(sb->Run({.argv = {"python3", "main"}}).stdout_data, "42\n");
  // Reset twice in a row and after a run that changed nothing: still the template.
  ASSERT_TRUE(sb->ResetWorkspace().ok());
  ASSERT_TRUE(sb->ResetWorkspace().ok());
  auto again = sb->SnapshotWorkspace();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->entries(), c.workspace_template.entries());
}

TEST(SandboxWorkspaceTest, ResetOfAnEmptyTemplateEmptiesTheWorkspace) {
  auto sb = MustCreate();
  ASSERT_EQ(Sh(*sb, "mkdir -p a/b && echo x > a/b/c && echo y > .hidden").verdict, Verdict::kOk);
  ASSERT_TRUE(sb->ResetWorkspace().ok());
  auto snap = sb->SnapshotWorkspace();
  ASSERT_TRUE(snap.ok());
  EXPECT_TRUE(snap->empty());
  EXPECT_EQ(Sh(*sb, "ls -A").stdout_data, "");
}

TEST(SandboxWorkspaceTest, TemplateWithAReadOnlyDirectory) {
  SandboxConfig c = BaseConfig();
  ASSERT_TRUE(c.workspace_template.AddDirectory("ro", 0555).ok());
  ASSERT_TRUE(c.workspace_template.AddFile("ro/inside.txt", "data\n").ok());
  auto sb = Sandbox::Create(c);
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  EXPECT_EQ((*sb)->Run({.argv = {"cat", "ro/inside.txt"}}).stdout_data, "data\n");
  RunResult w = (*sb)->Run({.argv = {"sh", "-c", "echo x > ro/new"}});
  EXPECT_EQ(w.verdict, Verdict::kNonzeroExit) << "a 0555 directory must stay read-only";
}

TEST(SandboxWorkspaceTest, ForkStartsFromTheCurrentWorkspaceAndThenDiverges) {
  SandboxConfig c = BaseConfig();
  c.workspace_template = Template();
  auto a = MustCreate(c);
  ASSERT_EQ(Sh(*a, "echo before > shared.txt && rm README.md").verdict, Verdict::kOk);
  auto b_or = a->Fork();
  ASSERT_TRUE(b_or.ok()) << b_or.status().ToString();
  auto& b = *b_or;
  EXPECT_NE(a->host_uid(), b->host_uid());
  EXPECT_NE(a->init_pid(), b->init_pid());
  auto snap_a = a->SnapshotWorkspace();
  auto snap_b = b->SnapshotWorkspace();
  ASSERT_TRUE(snap_a.ok() && snap_b.ok());
  EXPECT_EQ(snap_a->entries(), snap_b->entries());
  EXPECT_EQ(Sh(*b, "cat shared.txt; ls README.md 2>/dev/null; echo $?").stdout_data, "before\n2\n");

  ASSERT_EQ(Sh(*a, "echo a > only_a && echo from-a >> shared.txt").verdict, Verdict::kOk);
  ASSERT_EQ(Sh(*b, "echo b > only_b && echo from-b >> shared.txt && rm -r src").verdict,
            Verdict::kOk);
  EXPECT_EQ(Sh(*a, "ls only_a only_b 2>&1; cat shared.txt; ls -d src").stdout_data,
            "ls: cannot access 'only_b': No such file or directory\nonly_a\nbefore\nfrom-a\nsrc\n");
  EXPECT_EQ(Sh(*b, "ls only_a only_b 2>&1; cat shared.txt; ls -d src 2>&1 | wc -l").stdout_data,
            "ls: cannot access 'only_a': No such file or directory\nonly_b\nbefore\nfrom-b\n1\n");
}

TEST(SandboxWorkspaceTest, ForkOfAWorkspaceWithAReadOnlyDirectory) {
  auto a = MustCreate();
  ASSERT_EQ(Sh(*a, "mkdir ro && echo x > ro/f && chmod 555 ro").verdict, Verdict::kOk);
  auto b = a->Fork();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(Sh(**b, "cat ro/f; stat -c %a ro").stdout_data, "x\n555\n");
}

TEST(SandboxWorkspaceTest, LargeArgvDoesNotLoseTheWorkspace) {
  auto sb = MustCreate();
  ASSERT_EQ(Sh(*sb, "echo precious > keep.txt").verdict, Verdict::kOk);
  // Four arguments of 60 KB: within execve's limits (128 KiB per string), but the spawn request
  // exceeds the control socket's default send buffer. Running it or refusing it cleanly are both
  // acceptable; losing the workspace is not.
  Argv argv = {"sh", "-c", "echo $#", "sh"};
  for (int i = 0; i < 4; ++i) argv.push_back(std::string(60000, 'a' + i));
  RunResult big = sb->Run({.argv = argv});
  RunResult after = sb->Run({.argv = {"cat", "keep.txt"}});
  EXPECT_EQ(after.verdict, Verdict::kOk) << after.Summary();
  EXPECT_EQ(after.stdout_data, "precious\n");
  if (big.verdict == Verdict::kOk) {
    EXPECT_EQ(big.stdout_data, "4\n");
  } else {
    EXPECT_EQ(big.verdict, Verdict::kSandboxError) << big.Summary();
    EXPECT_NE(big.error, "");
  }
}

// ---- Determinism and per-run state ---------------------------------------------------------

TEST(SandboxDeterminismTest, SameCommandsGiveSameResultsInFreshSandboxes) {
  const std::vector<Argv> commands = {
      {"sh", "-c",
       "seq 1 1000 > nums && mkdir -p out/deep && sort -rn nums | head -3 | tee out/deep/top"},
      {"python3", "-c",
       "import hashlib, os, random; d = open('nums', 'rb').read(); "
       "print(hashlib.sha256(d).hexdigest()); os.symlink('nums', 'link'); os.chmod('out', 0o700); "
       "random.seed(7); print(random.random())"},
      {"sh", "-c", "ls -la --time-style=+ | awk '{print $1, $3, $4, $NF}'"},
      {"sh", "-c", "echo pid=$$; id; hostname; cat /etc/passwd | wc -l"},
      {"sh", "-c", "echo to-stderr >&2; exit 3"},
      {"python3", "-c", "import os; print(sorted(os.listdir('.')), os.getcwd())"},
  };
  SandboxConfig c = BaseConfig();
  c.workspace_template = Template();
  std::vector<std::vector<RunResult>> results(2);
  std::vector<FileTree> snaps;
  for (int k = 0; k < 2; ++k) {
    auto sb = MustCreate(c);
    for (const Argv& argv : commands) results[k].push_back(sb->Run({.argv = argv}));
    auto snap = sb->SnapshotWorkspace();
    ASSERT_TRUE(snap.ok());
    snaps.push_back(std::move(snap).value());
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    const RunResult& x = results[0][i];
    const RunResult& y = results[1][i];
    EXPECT_EQ(x.verdict, y.verdict) << "command " << i;
    EXPECT_EQ(x.exit_code, y.exit_code) << "command " << i;
    EXPECT_EQ(x.stdout_data, y.stdout_data) << "command " << i;
    EXPECT_EQ(x.stderr_data, y.stderr_data) << "command " << i;
  }
  EXPECT_EQ(results[0][0].stdout_data, "1000\n999\n998\n");
  EXPECT_EQ(results[0][4].verdict, Verdict::kNonzeroExit);
  EXPECT_EQ(results[0][4].exit_code, 3);
  EXPECT_EQ(snaps[0].entries(), snaps[1].entries());
  EXPECT_EQ(snaps[0].entries().at("out/deep/top").data, "1000\n999\n998\n");
}

TEST(SandboxScratchTest, TmpAndShmAreEmptyAtTheStartOfEveryRun) {
  auto sb = MustCreate();
  EXPECT_EQ(Sh(*sb, "ls -A /tmp /dev/shm | grep -v '^/' | grep -v '^$'; echo end").stdout_data,
            "end\n");
  for (int i = 0; i < 3; ++i) {
    RunResult w = Sh(*sb,
                     "echo x > /tmp/a && mkdir /tmp/d && touch /tmp/d/e /tmp/.hidden && "
                     "echo y > /dev/shm/s && : > /tmp/empty");
    ASSERT_EQ(w.verdict, Verdict::kOk) << w.Summary() << w.stderr_data;
    RunResult r = Sh(*sb, "ls -A /tmp; ls -A /dev/shm; echo end");
    EXPECT_EQ(r.stdout_data, "end\n") << "iteration " << i;
  }
  // A single empty file is state too.
  ASSERT_EQ(Sh(*sb, "touch /tmp/flag").verdict, Verdict::kOk);
  EXPECT_EQ(Sh(*sb, "ls -A /tmp; echo end").stdout_data, "end\n");
}

TEST(SandboxScratchTest, ProcessesDoNotSurviveTheirRun) {
  auto sb = MustCreate();
  RunResult r = Sh(*sb, "(sleep 30 &) ; setsid sleep 30 & echo started");
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_data, "started\n");
  EXPECT_LT(r.wall_time_s, 2.0);
  EXPECT_EQ(CountSandboxProcesses(*sb), "2\n") << "only the init and the counting process";
}

// ---- Network ------------------------------------------------------------------------------

constexpr char kLoopbackScript[] = R"(
import socket
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(1)
c = socket.create_connection(s.getsockname())
a, _ = s.accept()
c.sendall(b'ping')
print(a.recv(4).decode())
print([name for _, name in socket.if_nameindex()])
)";

constexpr char kNoNetworkScript[] = R"(
import errno, socket
for family in (socket.AF_INET, socket.AF_INET6):
    try:
        socket.socket(family)
        print('allowed')
    except OSError as e:
        print(errno.errorcode[e.errno])
a, b = socket.socketpair()
a.sendall(b'unix')
print(b.recv(4).decode())
)";

TEST(SandboxNetworkTest, LoopbackAllowsTcpOn127001Only) {
  SandboxConfig c = BaseConfig();
  c.network = NetworkMode::kLoopback;
  auto sb = MustCreate(c);
  RunResult r = sb->Run({.argv = {"python3", "-c", kLoopbackScript}});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "ping\n['lo']\n");
}

TEST(SandboxNetworkTest, NoneRefusesInetSocketsButAllowsUnix) {
  auto sb = MustCreate();
  ASSERT_EQ(sb->config().network, NetworkMode::kNone);
  RunResult r = sb->Run({.argv = {"python3", "-c", kNoNetworkScript}});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary() << r.stderr_data;
  EXPECT_EQ(r.stdout_data, "EACCES\nEACCES\nunix\n");
  RunResult tcp = sb->Run({.argv = {"python3", "-c", kLoopbackScript}});
  EXPECT_EQ(tcp.verdict, Verdict::kNonzeroExit);
  EXPECT_NE(tcp.stderr_data.find("PermissionError"), std::string::npos) << tcp.stderr_data;
}

// ---- Hygiene ------------------------------------------------------------------------------

// Process-wide fds opened once on first use (e.g. a shared /dev/null) are not leaks: measure
// after one sandbox has come and gone.
void WarmUp() {
  auto sb = MustCreate();
  ASSERT_NE(sb, nullptr);
  ASSERT_EQ(sb->Run({.argv = {"true"}}).verdict, Verdict::kOk);
}

TEST(SandboxHygieneTest, TwoHundredRunsLeakNoFds) {
  WarmUp();
  const int before_create = CountOpenFds();
  {
    auto sb = MustCreate();
    ASSERT_EQ(sb->Run({.argv = {"true"}}).verdict, Verdict::kOk);
    const int before = CountOpenFds();
    for (int i = 0; i < 200; ++i) {
      RunResult r = i % 2 == 0 ? sb->Run({.argv = {"echo", std::to_string(i)}})
                               : sb->Run({.argv = {"cat"}, .stdin_data = std::to_string(i)});
      ASSERT_EQ(r.verdict, Verdict::kOk) << "run " << i << ": " << r.Summary();
      ASSERT_EQ(r.stdout_data, std::to_string(i) + (i % 2 == 0 ? "\n" : "")) << "run " << i;
    }
    EXPECT_EQ(CountOpenFds(), before);
    // Limit verdicts take other paths through the host side; they must not leak either.
    Sh(*sb, "sleep 5", WithWall(0.2));
    Limits l = BaseConfig().limits;
    l.output_kill_bytes = 100000;
    sb->Run({.argv = {"yes"}, .limits = l});
    sb->Run({.argv = {"no-such-program"}});
    EXPECT_EQ(CountOpenFds(), before);
  }
  EXPECT_EQ(CountOpenFds(), before_create);
}

TEST(SandboxHygieneTest, ManyCreateForkAndDestroyCyclesLeakNoFds) {
  WarmUp();
  const int before = CountOpenFds();
  for (int i = 0; i < 40; ++i) {
    auto sb = MustCreate();
    ASSERT_NE(sb, nullptr);
    ASSERT_EQ(sb->Run({.argv = {"true"}}).verdict, Verdict::kOk);
    if (i % 5 == 0) {
      auto fork = sb->Fork();
      ASSERT_TRUE(fork.ok()) << fork.status().ToString();
    }
  }
  EXPECT_EQ(CountOpenFds(), before);
}

}  // namespace
}  // namespace toolgym::sandbox
