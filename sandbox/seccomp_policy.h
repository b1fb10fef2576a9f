// The seccomp filter of METHODS.md "Sandbox policy", compiled with libseccomp on the host side
// and installed with plain syscalls in the command's process just before execve.
//
// Default allow. Escape-class syscalls return SECCOMP_RET_USER_NOTIF so that the sandbox init,
// which holds the listener, can kill the tree and report the syscall by name; with
// kill_on_violation off they fail with EPERM instead. Foreign ABIs (i386 `int 0x80`, x32) kill
// the process outright.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "sandbox/config.h"

namespace toolgym::sandbox {

struct SeccompRuleInfo {
  std::string syscall;
  std::string condition;  // "" or e.g. "arg1 & 0xffffffff == TIOCSTI"
  std::string action;     // "kill", "errno EPERM", "errno ENOSYS", "errno EACCES"
};

// The rules for this configuration, for docs and the `toolgym sandbox policy` listing.
std::vector<SeccompRuleInfo> DescribeSeccompPolicy(const SeccompOptions& options,
                                                   NetworkMode network);

// BPF program (an array of struct sock_filter, as raw bytes) for the given options.
StatusOr<std::string> BuildSeccompBpf(const SeccompOptions& options, NetworkMode network);

// Installs `bpf` on the calling thread with SECCOMP_FILTER_FLAG_NEW_LISTENER and returns the
// listener fd. Requires no_new_privs. Async-signal-safe (no allocation): usable after fork.
int InstallSeccompBpf(const std::string& bpf, int* err);

// "ptrace", or "i386:getpid" for a foreign ABI; "syscall N" when libseccomp has no name.
std::string SyscallName(std::uint32_t audit_arch, int nr);

// Whether a user notification is a personality() call the init answers itself (allow the
// 0xffffffff query, refuse unsafe flags with EPERM) rather than a violation.
bool IsPersonalityNotification(std::uint32_t audit_arch, int nr);
// For such a call: true to let it run (the query), false to fail it with EPERM.
bool PersonalityAllowed(std::uint64_t arg0);

// Whether the running kernel can enforce the filter (seccomp with user notification).
Status CheckSeccompSupport();

}  // namespace toolgym::sandbox
