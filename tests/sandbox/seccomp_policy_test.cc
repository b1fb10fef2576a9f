// The seccomp policy: the compiled BPF, its description, syscall naming, and the filter's
// effect on real syscalls in a forked child (errno mode, so each refusal is observable).
#include "sandbox/seccomp_policy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <string>
#include <vector>

namespace toolgym::sandbox {
namespace {

constexpr NetworkMode kAllModes[] = {NetworkMode::kNone, NetworkMode::kLoopback,
                                     NetworkMode::kHost};

std::string MustBuild(bool kill_on_violation, NetworkMode network) {
  SeccompOptions opts;
  opts.kill_on_violation = kill_on_violation;
  auto bpf = BuildSeccompBpf(opts, network);
  EXPECT_TRUE(bpf.ok()) << bpf.status().ToString();
  return bpf.ok() ? *bpf : std::string();
}

const SeccompRuleInfo* FindRule(const std::vector<SeccompRuleInfo>& rules,
                                const std::string& syscall,
                                const std::string& condition_part = "") {
  for (const SeccompRuleInfo& r : rules)
    if (r.syscall == syscall && r.condition.find(condition_part) != std::string::npos) return &r;
  return nullptr;
}

TEST(BuildSeccompBpfTest, ProducesWholeInstructionsForEveryMode) {
  for (bool kill : {true, false}) {
    for (NetworkMode mode : kAllModes) {
      const std::string bpf = MustBuild(kill, mode);
      EXPECT_GT(bpf.size(), 10 * sizeof(sock_filter)) << NetworkModeName(mode) << " kill=" << kill;
      EXPECT_EQ(bpf.size() % sizeof(sock_filter), 0u) << NetworkModeName(mode);
      EXPECT_EQ(sizeof(sock_filter), 8u);
      // The kernel's limit on one program.
      EXPECT_LE(bpf.size() / sizeof(sock_filter), static_cast<size_t>(BPF_MAXINSNS));
    }
  }
}

TEST(BuildSeccompBpfTest, IsDeterministicAndDependsOnModeAndAction) {
  EXPECT_EQ(MustBuild(true, NetworkMode::kNone), MustBuild(true, NetworkMode::kNone));
  // kNone refuses inet sockets, kHost does not.
  EXPECT_NE(MustBuild(true, NetworkMode::kNone), MustBuild(true, NetworkMode::kHost));
  EXPECT_NE(MustBuild(false, NetworkMode::kNone), MustBuild(false, NetworkMode::kHost));
  // Notify versus errno for the escape class.
  EXPECT_NE(MustBuild(true, NetworkMode::kNone), MustBuild(false, NetworkMode::kNone));
  // Loopback and host differ only in namespaces, not in the filter.
  EXPECT_EQ(MustBuild(true, NetworkMode::kLoopback), MustBuild(true, NetworkMode::kHost));
}

TEST(DescribeSeccompPolicyTest, ListsEscapeSyscallsAsKill) {
  const auto rules = DescribeSeccompPolicy(SeccompOptions{}, NetworkMode::kNone);
  for (const char* name : {"mount", "ptrace", "bpf", "unshare", "setns", "pivot_root",
                           "process_vm_readv", "userfaultfd", "kexec_load", "open_by_handle_at"}) {
    const SeccompRuleInfo* r = FindRule(rules, name);
    ASSERT_NE(r, nullptr) << name;
    EXPECT_EQ(r->condition, "") << name;
    EXPECT_NE(r->action.find("kill"), std::string::npos) << name << ": " << r->action;
  }
  const SeccompRuleInfo* clone = FindRule(rules, "clone", "CLONE_NEW");
  ASSERT_NE(clone, nullptr);
  EXPECT_NE(clone->action.find("kill"), std::string::npos);
  const SeccompRuleInfo* tiocsti = FindRule(rules, "ioctl", "TIOCSTI");
  ASSERT_NE(tiocsti, nullptr);
  EXPECT_NE(tiocsti->condition.find("0xffffffff"), std::string::npos) << tiocsti->condition;
  EXPECT_NE(tiocsti->action.find("kill"), std::string::npos);
}

TEST(DescribeSeccompPolicyTest, ListsErrnoRules) {
  const auto rules = DescribeSeccompPolicy(SeccompOptions{}, NetworkMode::kNone);
  const std::pair<const char*, const char*> want[] = {
      {"clone3", "errno ENOSYS"},          {"io_uring_setup", "errno ENOSYS"},
      {"perf_event_open", "errno EACCES"}, {"kcmp", "errno EPERM"},
      {"syslog", "errno EPERM"},           {"adjtimex", "errno EPERM"},
  };
  for (const auto& [name, action] : want) {
    const SeccompRuleInfo* r = FindRule(rules, name);
    ASSERT_NE(r, nullptr) << name;
    EXPECT_EQ(r->action, action) << name;
  }
}

TEST(DescribeSeccompPolicyTest, InetSocketsRefusedOnlyWithoutNetwork) {
  for (NetworkMode mode : kAllModes) {
    const auto rules = DescribeSeccompPolicy(SeccompOptions{}, mode);
    const SeccompRuleInfo* inet = FindRule(rules, "socket", "AF_INET");
    const SeccompRuleInfo* inet6 = FindRule(rules, "socket", "AF_INET6");
    if (mode == NetworkMode::kNone) {
      ASSERT_NE(inet, nullptr);
      ASSERT_NE(inet6, nullptr);
      EXPECT_EQ(inet->action, "errno EACCES");
    } else {
      EXPECT_EQ(inet, nullptr) << NetworkModeName(mode);
      EXPECT_EQ(inet6, nullptr) << NetworkModeName(mode);
    }
    // Packet and vsock sockets are refused in every mode.
    EXPECT_NE(FindRule(rules, "socket", "AF_PACKET"), nullptr) << NetworkModeName(mode);
    EXPECT_NE(FindRule(rules, "socket", "AF_VSOCK"), nullptr) << NetworkModeName(mode);
  }
}

TEST(DescribeSeccompPolicyTest, ErrnoModeAndDisabledPolicy) {
  SeccompOptions errno_mode;
  errno_mode.kill_on_violation = false;
  const auto rules = DescribeSeccompPolicy(errno_mode, NetworkMode::kNone);
  const SeccompRuleInfo* mount = FindRule(rules, "mount");
  ASSERT_NE(mount, nullptr);
  EXPECT_EQ(mount->action, "errno EPERM");

  SeccompOptions disabled;
  disabled.enabled = false;
  EXPECT_TRUE(DescribeSeccompPolicy(disabled, NetworkMode::kNone).empty());
}

TEST(SyscallNameTest, NamesNativeAndForeignSyscalls) {
  EXPECT_EQ(SyscallName(AUDIT_ARCH_X86_64, __NR_ptrace), "ptrace");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_X86_64, __NR_mount), "mount");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_X86_64, __NR_getpid), "getpid");
  // i386 numbers: 20 getpid, 26 ptrace, 21 mount.
  EXPECT_EQ(SyscallName(AUDIT_ARCH_I386, 20), "i386:getpid");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_I386, 26), "i386:ptrace");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_I386, 21), "i386:mount");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_X86_64, 99999), "syscall 99999");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_I386, 99999), "i386:syscall 99999");
}

TEST(CheckSeccompSupportTest, ThisKernelSupportsUserNotification) {
  Status st = CheckSeccompSupport();
  EXPECT_TRUE(st.ok()) << st.ToString();
}

// Runs `body` in a forked child after installing the filter built for (errno mode, network).
// The child exits 0 when every expectation held, or with the number of the first failed check;
// `what` names each check for the failure message.
struct ChildChecks {
  std::vector<std::string> what;
  std::vector<std::function<bool()>> check;
  void Add(std::string name, std::function<bool()> f) {
    what.push_back(std::move(name));
    check.push_back(std::move(f));
  }
};

void RunFiltered(NetworkMode network, const ChildChecks& checks) {
  const std::string bpf = MustBuild(/*kill_on_violation=*/false, network);
  ASSERT_FALSE(bpf.empty());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(200);
    int err = 0;
    int listener = InstallSeccompBpf(bpf, &err);
    if (listener < 0) _exit(201);
    ::close(listener);
    for (size_t i = 0; i < checks.check.size(); ++i)
      if (!checks.check[i]()) _exit(static_cast<int>(i + 1));
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  const int code = WEXITSTATUS(status);
  ASSERT_NE(code, 200) << "prctl(PR_SET_NO_NEW_PRIVS) failed";
  ASSERT_NE(code, 201) << "InstallSeccompBpf failed";
  EXPECT_EQ(code, 0) << "failed check: "
                     << (code >= 1 && code <= static_cast<int>(checks.what.size())
                             ? checks.what[code - 1]
                             : "?");
}

bool FailsWith(long rc, int err) { return rc == -1 && errno == err; }

TEST(InstalledFilterTest, RefusesEscapeSyscallsAndAllowsOrdinaryOnes) {
  ChildChecks c;
  c.Add("getpid works", [] { return ::syscall(SYS_getpid) == ::getpid() && ::getpid() > 0; });
  // Without the filter this mount fails with ENOENT (no such target), so EPERM is the filter's.
  c.Add("mount EPERM", [] {
    return FailsWith(::mount("none", "/nonexistent-toolgym-target", "tmpfs", 0, nullptr), EPERM);
  });
  // Without the filter clone3 with size 0 fails with EINVAL.
  c.Add("clone3 ENOSYS", [] { return FailsWith(::syscall(SYS_clone3, nullptr, 0), ENOSYS); });
  c.Add("ptrace EPERM",
        [] { return FailsWith(::ptrace(PTRACE_PEEKDATA, 1, nullptr, nullptr), EPERM); });
  c.Add("unshare EPERM", [] { return FailsWith(::unshare(CLONE_NEWUTS), EPERM); });
  c.Add("socket(AF_INET) EACCES",
        [] { return FailsWith(::socket(AF_INET, SOCK_STREAM, 0), EACCES); });
  c.Add("socket(AF_INET6) EACCES",
        [] { return FailsWith(::socket(AF_INET6, SOCK_DGRAM, 0), EACCES); });
  c.Add("socket(AF_PACKET) EACCES",
        [] { return FailsWith(::socket(AF_PACKET, SOCK_RAW, 0), EACCES); });
  c.Add("socket(AF_UNIX) works", [] {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  });
  // On /dev/null, an unfiltered TIOCSTI fails with ENOTTY; the upper 32 bits must not let the
  // command slip past the filter (the kernel ignores them).
  c.Add("ioctl(TIOCSTI | 1<<32) EPERM", [] {
    int fd = ::open("/dev/null", O_RDONLY);
    char ch = 'x';
    const unsigned long cmd = TIOCSTI | (1ul << 32);
    long rc = ::syscall(SYS_ioctl, fd, cmd, &ch);
    const int err = errno;
    ::close(fd);
    errno = err;
    return FailsWith(rc, EPERM);
  });
  c.Add("ioctl(TIOCSTI) EPERM", [] {
    int fd = ::open("/dev/null", O_RDONLY);
    char ch = 'x';
    long rc = ::ioctl(fd, TIOCSTI, &ch);
    const int err = errno;
    ::close(fd);
    errno = err;
    return FailsWith(rc, EPERM);
  });
  c.Add("ordinary ioctl reaches the kernel", [] {
    int fd = ::open("/dev/null", O_RDONLY);
    int n = 0;
    long rc = ::ioctl(fd, FIONREAD, &n);
    const int err = errno;
    ::close(fd);
    // /dev/null has no FIONREAD: the kernel's own answer, not the filter's EPERM.
    return rc == 0 || err != EPERM;
  });
  c.Add("clone with CLONE_NEWNS EPERM", [] {
    long rc = ::syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc == 0) _exit(0);  // not refused: this is the new child
    if (rc > 0) ::waitpid(static_cast<pid_t>(rc), nullptr, 0);
    return FailsWith(rc, EPERM);
  });
  c.Add("plain fork works", [] {
    pid_t p = ::fork();
    if (p == 0) _exit(42);
    int st = 0;
    return p > 0 && ::waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 42;
  });
  c.Add("perf_event_open EACCES",
        [] { return FailsWith(::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0), EACCES); });
  RunFiltered(NetworkMode::kNone, c);
}

TEST(InstalledFilterTest, HostNetworkAllowsInetSockets) {
  ChildChecks c;
  c.Add("socket(AF_INET) works", [] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    ::close(fd);
    return true;
  });
  c.Add("socket(AF_PACKET) still EACCES",
        [] { return FailsWith(::socket(AF_PACKET, SOCK_RAW, 0), EACCES); });
  c.Add("mount still EPERM", [] {
    return FailsWith(::mount("none", "/nonexistent-toolgym-target", "tmpfs", 0, nullptr), EPERM);
  });
  RunFiltered(NetworkMode::kHost, c);
}

}  // namespace
}  // namespace toolgym::sandbox
