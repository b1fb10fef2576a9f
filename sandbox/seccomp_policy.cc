#include "sandbox/seccomp_policy.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "sandbox/fd.h"

namespace toolgym::sandbox {
namespace {

// Escape-class syscalls (METHODS.md): never needed by a task, dangerous to the host.
constexpr const char* kKillSyscalls[] = {
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "fsopen",
    "fsconfig",
    "fsmount",
    "move_mount",
    "fspick",
    "open_tree",
    "mount_setattr",
    "bpf",
    "userfaultfd",
    "add_key",
    "request_key",
    "keyctl",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "open_by_handle_at",
    "clock_settime",
    "settimeofday",
    "swapon",
    "swapoff",
    "acct",
    "iopl",
    "ioperm",
    "modify_ldt",
    "lookup_dcookie",
    "vhangup",
    "quotactl",
    "quotactl_fd",
};

// Refused with an errno because ordinary programs probe them and cope with failure.
struct ErrnoRule {
  const char* name;
  int err;
};
constexpr ErrnoRule kErrnoSyscalls[] = {
    {"clone3", ENOSYS},  // glibc falls back to clone, whose flags we can inspect
    {"io_uring_setup", ENOSYS},
    {"io_uring_enter", ENOSYS},
    {"io_uring_register", ENOSYS},
    {"perf_event_open", EACCES},
    {"kcmp", EPERM},
    {"syslog", EPERM},
    {"name_to_handle_at", EOPNOTSUPP},
    {"adjtimex", EPERM},
    {"clock_adjtime", EPERM},
};

constexpr std::uint64_t kNamespaceCloneFlags[] = {
    CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
};

// personality() flags that weaken the process (no ASLR, executable data...).
constexpr std::uint64_t kUnsafePersonality[] = {
    ADDR_NO_RANDOMIZE,
    READ_IMPLIES_EXEC,
    ADDR_COMPAT_LAYOUT,
    MMAP_PAGE_ZERO,
};

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

std::string ErrName(int err) {
  const char* n = strerrorname_np(err);
  return n != nullptr ? n : std::to_string(err);
}

Status Check(int rc, const std::string& what) {
  // libseccomp returns a negative errno rather than setting errno.
  if (rc < 0) return ErrnoError("libseccomp " + what, -rc);
  return OkStatus();
}

}  // namespace

std::vector<SeccompRuleInfo> DescribeSeccompPolicy(const SeccompOptions& options,
                                                   NetworkMode network) {
  std::vector<SeccompRuleInfo> rules;
  if (!options.enabled) return rules;
  const std::string kill = options.kill_on_violation ? "kill (reported)" : "errno EPERM";
  for (const char* s : kKillSyscalls) rules.push_back({s, "", kill});
  rules.push_back({"clone", "flags & any CLONE_NEW*", kill});
  rules.push_back({"ioctl", "(cmd & 0xffffffff) == TIOCSTI", kill});
  rules.push_back({"ioctl", "(cmd & 0xffffffff) == TIOCLINUX", kill});
  for (const ErrnoRule& r : kErrnoSyscalls)
    rules.push_back({r.name, "", "errno " + ErrName(r.err)});
  rules.push_back({"personality",
                   "ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ADDR_COMPAT_LAYOUT or MMAP_PAGE_ZERO "
                   "(except the 0xffffffff query)",
                   "errno EPERM"});
  rules.push_back({"socket", "domain AF_VSOCK", "errno EACCES"});
  rules.push_back({"socket", "domain AF_PACKET", "errno EACCES"});
  if (network == NetworkMode::kNone) {
    rules.push_back({"socket", "domain AF_INET", "errno EACCES"});
    rules.push_back({"socket", "domain AF_INET6", "errno EACCES"});
  }
  rules.push_back({"<foreign ABI>", "i386 (int 0x80) or x32 syscall", "kill process"});
  return rules;
}

StatusOr<std::string> BuildSeccompBpf(const SeccompOptions& options, NetworkMode network) {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return InternalError("seccomp_init failed");
  void* c = ctx.get();
  TG_RETURN_IF_ERROR(Check(seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS),
                           "set bad-arch action"));
  // The filter is exported, not loaded by libseccomp; NNP is set by the launcher itself.
  TG_RETURN_IF_ERROR(Check(seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0), "set NNP attribute"));
  // A binary tree of syscall numbers instead of a linear chain: every syscall of the command
  // runs through this filter.
  (void)seccomp_attr_set(c, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  const std::uint32_t kill = options.kill_on_violation ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(EPERM);

  auto add = [&](const char* name, std::uint32_t action, unsigned count,
                 const scmp_arg_cmp* cmps) -> Status {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return OkStatus();  // not on this architecture
    return Check(seccomp_rule_add_array(c, action, nr, count, cmps), std::string("rule ") + name);
  };

  for (const char* s : kKillSyscalls) TG_RETURN_IF_ERROR(add(s, kill, 0, nullptr));
  for (std::uint64_t flag : kNamespaceCloneFlags) {
    scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag);
    TG_RETURN_IF_ERROR(add("clone", kill, 1, &cmp));
  }
  // ioctl's cmd is an unsigned int: the kernel ignores the upper 32 bits, so must the filter.
  for (std::uint64_t cmd : {std::uint64_t{TIOCSTI}, std::uint64_t{TIOCLINUX}}) {
    scmp_arg_cmp cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, cmd);
    TG_RETURN_IF_ERROR(add("ioctl", kill, 1, &cmp));
  }
  for (const ErrnoRule& r : kErrnoSyscalls)
    TG_RETURN_IF_ERROR(add(r.name, SCMP_ACT_ERRNO(static_cast<std::uint32_t>(r.err)), 0, nullptr));
  // An unsafe persona flag goes to the init, which lets the 0xffffffff query through and refuses
  // everything else with EPERM (HandleNotification). libseccomp 2.5 allows one comparison per
  // argument, so "flag set but not the query" cannot be said in the filter without ~370
  // instructions, which would slow every command's filter installation.
  for (std::uint64_t flag : kUnsafePersonality) {
    scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag);
    TG_RETURN_IF_ERROR(add("personality", SCMP_ACT_NOTIFY, 1, &cmp));
  }
  std::vector<int> denied_domains = {AF_VSOCK, AF_PACKET};
  if (network == NetworkMode::kNone) {
    denied_domains.push_back(AF_INET);
    denied_domains.push_back(AF_INET6);
  }
  for (int domain : denied_domains) {
    scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, static_cast<std::uint64_t>(domain));
    TG_RETURN_IF_ERROR(add("socket", SCMP_ACT_ERRNO(EACCES), 1, &cmp));
  }

  UniqueFd mem(::memfd_create("toolgym-seccomp-bpf", MFD_CLOEXEC));
  if (!mem.valid()) return ErrnoError("memfd_create", errno);
  TG_RETURN_IF_ERROR(Check(seccomp_export_bpf(c, mem.get()), "export BPF"));
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0)
    return InternalError("exported BPF has odd size {}", static_cast<long>(size));
  std::string bpf(static_cast<size_t>(size), '\0');
  if (::pread(mem.get(), bpf.data(), bpf.size(), 0) != size) return ErrnoError("read BPF", errno);
  return bpf;
}

int InstallSeccompBpf(const std::string& bpf, int* err) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(bpf.size() / sizeof(sock_filter));
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(bpf.data()));
  long fd =
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd < 0) *err = errno;
  return static_cast<int>(fd);
}

std::string SyscallName(std::uint32_t audit_arch, int nr) {
  std::uint32_t scmp_arch = SCMP_ARCH_NATIVE;
  std::string prefix;
  if (audit_arch == AUDIT_ARCH_I386) {
    scmp_arch = SCMP_ARCH_X86;
    prefix = "i386:";
  }
  char* name = seccomp_syscall_resolve_num_arch(scmp_arch, nr);
  std::string out = name != nullptr ? prefix + name : prefix + "syscall " + std::to_string(nr);
  std::free(name);
  return out;
}

bool IsPersonalityNotification(std::uint32_t audit_arch, int nr) {
  return audit_arch == AUDIT_ARCH_X86_64 && nr == __NR_personality;
}

bool PersonalityAllowed(std::uint64_t arg0) {
  // The kernel takes an unsigned int: only the low 32 bits count.
  return static_cast<std::uint32_t>(arg0) == 0xffffffffu;
}

Status CheckSeccompSupport() {
  if (::prctl(PR_GET_SECCOMP) < 0 && errno == EINVAL)
    return FailedPreconditionError(
        "seccomp is not available in this kernel (CONFIG_SECCOMP_FILTER); toolgym needs it to "
        "filter sandboxed syscalls");
  auto actions = ReadSmallFile("/proc/sys/kernel/seccomp/actions_avail");
  if (actions.ok() && actions->find("user_notif") == std::string::npos)
    return FailedPreconditionError(
        "the kernel's seccomp lacks user notification (needs Linux >= 5.0); set "
        "SeccompOptions::kill_on_violation = false to use errno-only filtering");
  return OkStatus();
}

}  // namespace toolgym::sandbox
