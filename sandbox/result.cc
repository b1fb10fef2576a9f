#include "sandbox/result.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "sandbox/config.h"

namespace toolgym::sandbox {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kNonzeroExit:
      return "nonzero_exit";
    case Verdict::kSignaled:
      return "signaled";
    case Verdict::kCpuTimeLimit:
      return "cpu_time_limit";
    case Verdict::kWallTimeLimit:
      return "wall_time_limit";
    case Verdict::kMemoryLimit:
      return "memory_limit";
    case Verdict::kOutputLimit:
      return "output_limit";
    case Verdict::kSeccompViolation:
      return "seccomp_violation";
    case Verdict::kSandboxError:
      return "sandbox_error";
  }
  return "unknown";
}

const char* NetworkModeName(NetworkMode mode) {
  switch (mode) {
    case NetworkMode::kNone:
      return "none";
    case NetworkMode::kLoopback:
      return "loopback";
    case NetworkMode::kHost:
      return "host";
  }
  return "unknown";
}

std::string RunResult::Summary() const {
  std::string s =
      fmt::format("{} exit={} signal={} wall={:.3f}s cpu={:.3f}s peak={}KiB", VerdictName(verdict),
                  exit_code, term_signal, wall_time_s, cpu_time_s, peak_memory_bytes / 1024);
  if (!violation_syscall.empty()) s += " syscall=" + violation_syscall;
  if (!error.empty()) s += " error=\"" + error + "\"";
  return s;
}

void to_json(nlohmann::json& j, const RunResult& r) {
  j = nlohmann::json{{"verdict", VerdictName(r.verdict)},
                     {"exit_code", r.exit_code},
                     {"signal", r.term_signal},
                     {"violation_syscall", r.violation_syscall},
                     {"error", r.error},
                     {"wall_time_s", r.wall_time_s},
                     {"cpu_time_s", r.cpu_time_s},
                     {"peak_memory_bytes", r.peak_memory_bytes},
                     {"stdout", r.stdout_data},
                     {"stderr", r.stderr_data},
                     {"stdout_truncated", r.stdout_truncated},
                     {"stderr_truncated", r.stderr_truncated},
                     {"stdout_total_bytes", r.stdout_total_bytes},
                     {"stderr_total_bytes", r.stderr_total_bytes},
                     {"shell_restarted", r.shell_restarted},
                     {"warnings", r.warnings}};
}

}  // namespace toolgym::sandbox
