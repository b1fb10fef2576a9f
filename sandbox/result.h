// The outcome of one sandboxed command: verdict, exit status, usage and captured output.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace toolgym::sandbox {

// Verdicts in the manner of programming-contest judges. Exactly one per run; when several
// causes apply, the first in this order wins: sandbox error, seccomp, wall time, output, memory,
// CPU time, signal, nonzero exit.
enum class Verdict {
  kOk,                // exited with status 0
  kNonzeroExit,       // exited with a nonzero status (including 127 for a missing program)
  kSignaled,          // killed by a signal not caused by a limit (SIGABRT, SIGSEGV...)
  kCpuTimeLimit,      // a process of the tree exceeded RLIMIT_CPU
  kWallTimeLimit,     // the parent's wall-clock timer fired
  kMemoryLimit,       // the cgroup OOM killer fired
  kOutputLimit,       // stdout+stderr passed output_kill_bytes, or a file passed RLIMIT_FSIZE
  kSeccompViolation,  // a refused syscall; `violation_syscall` names it
  kSandboxError,      // the sandbox itself failed; `error` names the step and errno
};
const char* VerdictName(Verdict v);

struct RunResult {
  Verdict verdict = Verdict::kSandboxError;
  int exit_code = -1;             // valid when the main process exited normally
  int term_signal = 0;            // the signal that killed the main process, or 0
  std::string violation_syscall;  // for kSeccompViolation, e.g. "ptrace" or "i386:getpid"
  std::string error;              // for kSandboxError, and exec failures ("execve foo: ENOENT")
  double wall_time_s = 0;
  double cpu_time_s = 0;                // user+system of every process of the tree
  std::uint64_t peak_memory_bytes = 0;  // largest resident set of any process of the tree
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  std::uint64_t stdout_total_bytes = 0;  // bytes the command wrote, captured or not
  std::uint64_t stderr_total_bytes = 0;
  std::vector<std::string> warnings;  // e.g. "no cgroup: memory limit is RLIMIT_AS only"
  // Session only: the shell ended (exit, exec, timeout, violation) and a new one was started
  // with the last known cwd and exported variables.
  bool shell_restarted = false;

  bool ok() const { return verdict == Verdict::kOk; }
  std::string Summary() const;  // one line: verdict, status, times
};

// stdout and stderr are bytes and may not be UTF-8: dump the JSON with
// nlohmann::json::error_handler_t::replace (or carry the bytes some other way).
void to_json(nlohmann::json& j, const RunResult& r);

}  // namespace toolgym::sandbox
