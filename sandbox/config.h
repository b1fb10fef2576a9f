// Configuration of a sandbox: what is isolated, which limits apply, what the root looks like.
// Defaults are documented in docs/sandbox.md; keep the two in step.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/workspace.h"

namespace toolgym::sandbox {

// How the sandbox reaches the network.
enum class NetworkMode {
  kNone,      // own network namespace with only `lo` up; seccomp refuses inet/packet sockets
  kLoopback,  // own network namespace with `lo` up; inet sockets allowed (they reach only lo)
  kHost,      // the host's network namespace; inet sockets allowed. Explicit opt-in only.
};
const char* NetworkModeName(NetworkMode mode);

// Per-command resource limits. 0 means "no limit" for the byte and count limits.
struct Limits {
  double wall_time_s = 10.0;  // enforced by the parent (timer + kill)
  double cpu_time_s = 10.0;   // RLIMIT_CPU per process (SIGXCPU then SIGKILL)
  // Memory of the whole process tree and the files it writes during the command (cgroup).
  // Files earlier commands left in the workspace are not counted against it.
  std::uint64_t memory_bytes = 512ull << 20;
  std::uint64_t address_space_bytes = 4ull << 30;  // RLIMIT_AS per process
  std::uint64_t max_processes = 128;               // RLIMIT_NPROC (own uid) and pids cgroup
  std::uint64_t file_size_bytes = 64ull << 20;     // RLIMIT_FSIZE
  std::uint64_t open_files = 256;                  // RLIMIT_NOFILE
  std::uint64_t stdout_bytes = 64 << 10;           // captured; the rest is dropped (truncated flag)
  std::uint64_t stderr_bytes = 64 << 10;
  // Output (stdout + stderr) past which the command is killed with Verdict::kOutputLimit.
  std::uint64_t output_kill_bytes = 16ull << 20;
};

// Which syscalls are refused and how (METHODS.md "Sandbox policy"). Built into BPF once per
// sandbox by seccomp_policy.cc.
struct SeccompOptions {
  bool enabled = true;
  // When true, escape-class syscalls (mount, ptrace, bpf...) kill the command tree and the
  // result names the syscall; when false they fail with EPERM and the command goes on.
  bool kill_on_violation = true;
};

struct SandboxConfig {
  NetworkMode network = NetworkMode::kNone;
  SeccompOptions seccomp;
  Limits limits;  // defaults for every command; a run may override them
  std::string workspace_path = "/workspace";
  std::uint64_t workspace_bytes = 256ull << 20;  // size of the writable layer of the workspace
  std::uint64_t tmp_bytes = 64ull << 20;         // size of /tmp and of /dev/shm, each
  FileTree workspace_template;                   // initial contents of the workspace
  std::string hostname = "sandbox";
  // Extra read-only binds from the host: {host path, sandbox path}. Missing host paths are an
  // error (the caller asked for them explicitly).
  std::vector<std::pair<std::string, std::string>> extra_ro_binds;
  // Environment every command starts from; a run's own variables are added on top. The host's
  // environment is never passed.
  std::map<std::string, std::string> env = {
      {"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"},
      {"LANG", "C.UTF-8"},
      {"TERM", "dumb"},
      {"USER", "user"},
      {"LOGNAME", "user"},
  };
  // HOME defaults to the workspace path.
  std::optional<std::string> home;
  // Path of the toolgym-sandbox-init helper. Empty: $TOOLGYM_SANDBOX_INIT, then the build's
  // bin/ directory, then the directory of the running executable.
  std::string init_path;
  // Use cgroups (memory, pids) when the host offers them. Off: rlimits only.
  bool use_cgroups = true;
};

}  // namespace toolgym::sandbox
