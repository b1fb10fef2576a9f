// Starting a sandbox's init: clone into new namespaces, map a private uid, join the cgroup,
// exec toolgym-sandbox-init. This is the purpose-built clone/exec path DESIGN.md asks for:
// Boost.Process cannot stop an exec after a failed setup step, and its waits are not thread-safe.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "common/status.h"
#include "sandbox/fd.h"

namespace toolgym::sandbox {

// Host uids for sandboxes. Every sandbox gets its own unprivileged host uid for the command's
// user (so RLIMIT_NPROC counts that sandbox only) from a per-process slot; the inits of all
// sandboxes share one host uid for the sandbox's root. Both lie in [2^30 - 1, 2^31).
class UidSlot {
 public:
  static StatusOr<UidSlot> Allocate();
  UidSlot() = default;
  UidSlot(UidSlot&& o) noexcept;
  UidSlot& operator=(UidSlot&& o) noexcept;
  ~UidSlot();
  uid_t host_uid() const { return host_uid_; }
  static uid_t init_host_uid();

 private:
  int slot_ = -1;
  uid_t host_uid_ = 0;
};

struct LaunchSpec {
  std::string init_path;
  bool own_network = true;
  uid_t host_uid = 0;  // mapped to `sandbox_uid` inside
  unsigned sandbox_uid = 1000;
  // Runs after the uid maps are written and before the init may proceed (cgroup attach).
  std::function<Status(pid_t)> before_start;
};

struct LaunchedInit {
  pid_t pid = -1;
  UniqueFd pidfd;    // for waiting and for signalling without pid-reuse races
  UniqueFd control;  // host end of the control socket (SOCK_SEQPACKET, non-blocking)
};

StatusOr<LaunchedInit> LaunchInit(const LaunchSpec& spec);

// Kills the init (and with it the namespace) and reaps it.
void KillInit(LaunchedInit& init);

// Where toolgym-sandbox-init is, per SandboxConfig::init_path's rules.
StatusOr<std::string> FindInitHelper(const std::string& configured);

}  // namespace toolgym::sandbox
