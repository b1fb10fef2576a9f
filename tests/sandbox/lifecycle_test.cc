// Sandbox lifecycle: the host's death kills the whole tree, and hosts without the needed
// features get a refusal that names the missing feature (never an unsandboxed run).
#include <dirent.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "sandbox/sandbox.h"
#include "tests/sandbox/test_util.h"

namespace toolgym::sandbox {
namespace {

// Host processes whose real uid is `uid`.
int CountProcessesWithUid(uid_t uid) {
  int count = 0;
  DIR* d = ::opendir("/proc");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream status(std::string("/proc/") + e->d_name + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) == 0) {
        if (std::stoul(line.substr(4)) == uid) ++count;
        break;
      }
    }
  }
  ::closedir(d);
  return count;
}

TEST(SandboxLifecycle, HostDeathKillsTheWholeTree) {
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipefd[0]);
    auto sb = Sandbox::Create(SandboxConfig{});
    if (!sb.ok()) _exit(1);
    uid_t uid = (*sb)->host_uid();
    pid_t init = (*sb)->init_pid();
    // A command tree with a daemonised grandchild, left running when the host dies.
    (*sb)->AsyncRun({.argv = {"sh", "-c", "setsid sleep 100 & sleep 100"}}, [](RunResult) {});
    std::thread io([&] { (*sb)->own_io_context()->run(); });
    io.detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    (void)!::write(pipefd[1], &uid, sizeof uid);
    (void)!::write(pipefd[1], &init, sizeof init);
    ::pause();
    _exit(0);
  }
  ::close(pipefd[1]);
  uid_t uid = 0;
  pid_t init = 0;
  ASSERT_EQ(::read(pipefd[0], &uid, sizeof uid), static_cast<ssize_t>(sizeof uid));
  ASSERT_EQ(::read(pipefd[0], &init, sizeof init), static_cast<ssize_t>(sizeof init));
  ::close(pipefd[0]);
  ASSERT_GE(CountProcessesWithUid(uid), 2) << "the command tree should be running";
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  int left = -1;
  for (int i = 0; i < 100; ++i) {
    left = CountProcessesWithUid(uid);
    if (left == 0 && ::kill(init, 0) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(left, 0) << "processes of the sandbox survived the host";
  EXPECT_NE(::kill(init, 0), 0) << "the sandbox init survived the host";
}

// The exit code of `fn` run in a forked child (100 + signal if it was killed).
template <typename F>
int InChild(F fn) {
  const int status = testing::RunInChild(fn);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(SandboxLifecycle, RefusesClearlyWithoutUserNamespaces) {
  // Emulate a container that forbids user namespaces: clone(CLONE_NEWUSER) fails with EPERM.
  int code = InChild([] {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
    if (seccomp_load(ctx) != 0) return 10;
    auto sb = Sandbox::Create(SandboxConfig{});
    if (sb.ok()) return 11;  // must never run without the namespaces
    if (sb.status().code() != StatusCode::kFailedPrecondition) return 12;
    if (sb.status().message().find("user namespace") == std::string::npos) return 13;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(SandboxLifecycle, RefusesClearlyWhenNotRoot) {
  int code = InChild([] {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) return 10;
    auto sb = Sandbox::Create(SandboxConfig{});
    if (sb.ok()) return 11;
    if (sb.status().code() != StatusCode::kFailedPrecondition) return 12;
    if (sb.status().message().find("root") == std::string::npos) return 13;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(SandboxLifecycle, MissingInitHelperIsAClearError) {
  SandboxConfig cfg;
  cfg.init_path = "/nonexistent/toolgym-sandbox-init";
  auto sb = Sandbox::Create(cfg);
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(sb.status().code(), StatusCode::kNotFound);
  EXPECT_NE(sb.status().message().find("/nonexistent/toolgym-sandbox-init"), std::string::npos)
      << sb.status().message();
}

TEST(SandboxLifecycle, DestroyingASandboxFreesItsUidAndProcesses) {
  uid_t uid;
  pid_t init;
  {
    auto sb = Sandbox::Create(SandboxConfig{});
    ASSERT_TRUE(sb.ok()) << sb.status().ToString();
    uid = (*sb)->host_uid();
    init = (*sb)->init_pid();
    EXPECT_EQ((*sb)->Run({.argv = {"true"}}).verdict, Verdict::kOk);
    EXPECT_EQ(::kill(init, 0), 0);
  }
  EXPECT_EQ(CountProcessesWithUid(uid), 0);
  EXPECT_NE(::kill(init, 0), 0) << "init still exists after the Sandbox was destroyed";
}

}  // namespace
}  // namespace toolgym::sandbox
