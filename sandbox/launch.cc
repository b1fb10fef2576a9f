#include "sandbox/launch.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bitset>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "sandbox/protocol.h"

#ifndef TOOLGYM_SANDBOX_INIT_BUILD_PATH
#define TOOLGYM_SANDBOX_INIT_BUILD_PATH ""
#endif

namespace toolgym::sandbox {
namespace {

constexpr uid_t kUidBase = 1u << 30;
constexpr int kSlotsPerProcess = 1024;

std::mutex slot_mutex;
std::bitset<kSlotsPerProcess> slots_used;

Status UserNamespaceHint(int err) {
  std::string hint;
  if (auto v = ReadSmallFile("/proc/sys/user/max_user_namespaces");
      v.ok() && std::atoi(v->c_str()) == 0)
    hint = "user.max_user_namespaces is 0; set it with `sysctl -w user.max_user_namespaces=15000`";
  else if (auto u = ReadSmallFile("/proc/sys/kernel/unprivileged_userns_clone");
           u.ok() && u->starts_with("0"))
    hint = "set kernel.unprivileged_userns_clone=1";
  else if (auto a = ReadSmallFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
           a.ok() && a->starts_with("1"))
    hint = "AppArmor restricts user namespaces; set kernel.apparmor_restrict_unprivileged_userns=0";
  else
    hint =
        "in a container, allow clone(CLONE_NEWUSER) (e.g. docker --security-opt "
        "seccomp=unconfined, or run on a VM)";
  return FailedPreconditionError("cannot create the sandbox's user namespace ({}): {}",
                                 strerrorname_np(err) ? strerrorname_np(err) : "?", hint);
}

}  // namespace

StatusOr<UidSlot> UidSlot::Allocate() {
  std::lock_guard<std::mutex> lock(slot_mutex);
  for (int i = 0; i < kSlotsPerProcess; ++i) {
    if (slots_used[i]) continue;
    slots_used[i] = true;
    UidSlot s;
    s.slot_ = i;
    // pid modulo 2^20: two live toolgym processes share uids only if their pids differ by a
    // multiple of 2^20, and even then only RLIMIT_NPROC accounting is shared (the pids cgroup
    // and the PID namespaces still separate them).
    s.host_uid_ = kUidBase + ((static_cast<uid_t>(::getpid()) % (1u << 20)) << 10) + i;
    return s;
  }
  return ResourceExhaustedError("more than {} live sandboxes in one process", kSlotsPerProcess);
}

UidSlot::UidSlot(UidSlot&& o) noexcept
    : slot_(std::exchange(o.slot_, -1)), host_uid_(o.host_uid_) {}
UidSlot& UidSlot::operator=(UidSlot&& o) noexcept {
  if (this != &o) {
    this->~UidSlot();
    slot_ = std::exchange(o.slot_, -1);
    host_uid_ = o.host_uid_;
  }
  return *this;
}
UidSlot::~UidSlot() {
  if (slot_ < 0) return;
  std::lock_guard<std::mutex> lock(slot_mutex);
  slots_used[slot_] = false;
  slot_ = -1;
}
uid_t UidSlot::init_host_uid() { return kUidBase - 1; }

StatusOr<std::string> FindInitHelper(const std::string& configured) {
  if (!configured.empty()) {
    if (::access(configured.c_str(), X_OK) == 0) return configured;
    return NotFoundError("SandboxConfig::init_path '{}' is not an executable file", configured);
  }
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("TOOLGYM_SANDBOX_INIT")) candidates.emplace_back(env);
  if (std::string(TOOLGYM_SANDBOX_INIT_BUILD_PATH).size() > 0)
    candidates.emplace_back(TOOLGYM_SANDBOX_INIT_BUILD_PATH);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back((exe.parent_path() / "toolgym-sandbox-init").string());
  for (const std::string& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return NotFoundError(
      "toolgym-sandbox-init not found (looked in: SandboxConfig::init_path, $TOOLGYM_SANDBOX_INIT, "
      "the build's bin/, next to the executable); build it or set TOOLGYM_SANDBOX_INIT");
}

StatusOr<LaunchedInit> LaunchInit(const LaunchSpec& spec) {
  if (::geteuid() != 0)
    return FailedPreconditionError(
        "the sandbox needs root on the host to map a private uid per sandbox (running as uid {}); "
        "run toolgym as root, e.g. on a VM or in a container with CAP_SYS_ADMIN",
        ::geteuid());
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return ErrnoError("socketpair", errno);
  UniqueFd host_end(sv[0]), init_end(sv[1]);
  // A SOCK_SEQPACKET message must fit the send buffer whole; the default (~208 KiB) is below
  // protocol::kMaxMessageBytes. As root, *FORCE sets it past net.core.wmem_max.
  for (int fd : sv) {
    const int size = 2 * static_cast<int>(protocol::kMaxMessageBytes);
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      return ErrnoError("setsockopt control socket buffers", errno);
  }
  TG_ASSIGN_OR_RETURN(Pipe go, MakePipe());

  // Everything the child does before execve must be async-signal-safe: the host may be
  // multi-threaded and another thread may hold the malloc lock at the time of clone.
  const char* path = spec.init_path.c_str();
  char* const argv[] = {const_cast<char*>("toolgym-sandbox-init"), nullptr};
  char* const envp[] = {nullptr};
  const int init_fd = init_end.get();
  const int go_fd = go.read.get();

  unsigned long flags =
      CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD;
  if (spec.own_network) flags |= CLONE_NEWNET;
  int pidfd = -1;
  // Exit signal 0: no SIGCHLD, and only waits with __WALL see it, so a host that reaps with
  // waitpid(-1) elsewhere cannot steal the init's status.
  long pid = ::syscall(SYS_clone, flags, nullptr, &pidfd, nullptr, nullptr);
  if (pid < 0) {
    int err = errno;
    if (err == EPERM || err == EINVAL || err == ENOSPC || err == EUSERS)
      return UserNamespaceHint(err);
    return ErrnoError("clone", err);
  }
  if (pid == 0) {
    char c;
    while (::read(go_fd, &c, 1) < 0 && errno == EINTR) {
    }
    if (c != 'g') _exit(1);
    // Become root of the new user namespace (the maps are written now) so execve keeps the
    // namespace capabilities. Raw syscalls: glibc's setxid wrappers signal the parent's other
    // threads, which do not exist in this child.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, 0, 0, 0) != 0 ||
        ::syscall(SYS_setresuid, 0, 0, 0) != 0)
      _exit(1);
    if (init_fd == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else if (::dup2(init_fd, 3) < 0) {
      _exit(1);
    }
    ::execve(path, argv, envp);
    const char msg[] =
        "{\"type\":\"error\",\"step\":\"exec init\",\"message\":\"execve of toolgym-sandbox-init "
        "failed\"}";
    ::write(3, msg, sizeof msg - 1);
    _exit(127);
  }

  LaunchedInit out;
  out.pid = static_cast<pid_t>(pid);
  out.pidfd.Reset(pidfd);
  out.control = std::move(host_end);
  init_end.Reset();
  go.read.Reset();

  auto fail = [&](Status st) -> Status {
    KillInit(out);
    return st;
  };
  // uid 0 inside (the init) is the shared init uid; the command's uid is this sandbox's own.
  const std::string proc = "/proc/" + std::to_string(pid);
  const std::string map = "0 " + std::to_string(UidSlot::init_host_uid()) + " 1\n" +
                          std::to_string(spec.sandbox_uid) + " " + std::to_string(spec.host_uid) +
                          " 1\n";
  if (Status st = WriteSmallFile(proc + "/uid_map", map); !st.ok())
    return fail(st.WithContext("uid_map"));
  if (Status st = WriteSmallFile(proc + "/gid_map", map); !st.ok())
    return fail(st.WithContext("gid_map"));
  if (spec.before_start) {
    if (Status st = spec.before_start(out.pid); !st.ok()) return fail(st);
  }
  if (::write(go.write.get(), "g", 1) != 1) return fail(ErrnoError("start init", errno));
  TG_RETURN_IF_ERROR(SetNonBlocking(out.control.get(), true));
  return out;
}

void KillInit(LaunchedInit& init) {
  if (init.pid <= 0) return;
  if (init.pidfd.valid()) {
    ::syscall(SYS_pidfd_send_signal, init.pidfd.get(), SIGKILL, nullptr, 0);
    siginfo_t si{};
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(init.pidfd.get()), &si,
                    WEXITED | __WALL) != 0 &&
           errno == EINTR) {
    }
  }
  init.pid = -1;
  init.pidfd.Reset();
  init.control.Reset();
}

}  // namespace toolgym::sandbox
