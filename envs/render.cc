#include "envs/render.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace toolgym::envs {

std::string Truncate(const std::string& s, std::uint64_t max_bytes, bool* cut) {
  if (s.size() <= max_bytes) {
    *cut = false;
    return s;
  }
  *cut = true;
  size_t end = max_bytes;
  // Do not split a multi-byte character.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::string RenderCommandResult(const sandbox::RunResult& r, std::uint64_t max_output_bytes,
                                double timeout_s, const char* shell_name) {
  using sandbox::Verdict;
  std::string out;
  bool cut_out = false, cut_err = false;
  const std::uint64_t total = r.stdout_total_bytes + r.stderr_total_bytes;
  std::string so = Truncate(r.stdout_data, max_output_bytes, &cut_out);
  std::uint64_t left = max_output_bytes > so.size() ? max_output_bytes - so.size() : 0;
  std::string se = Truncate(r.stderr_data, std::max<std::uint64_t>(left, 256), &cut_err);
  out += SanitizeUtf8(so);
  if (!se.empty()) {
    if (!out.empty() && out.back() != '\n') out += "\n";
    out += "[stderr]\n" + SanitizeUtf8(se);
  }
  const std::uint64_t shown = so.size() + se.size();
  if (!out.empty() && out.back() != '\n') out += "\n";
  if (cut_out || cut_err || r.stdout_truncated || r.stderr_truncated || shown < total)
    out += fmt::format("[output truncated: {} of {} bytes shown]\n", shown, total);
  switch (r.verdict) {
    case Verdict::kOk:
      break;
    case Verdict::kNonzeroExit:
      out += fmt::format("[exit code: {}]\n", r.exit_code);
      break;
    case Verdict::kWallTimeLimit:
      out += fmt::format("[timed out after {:g} s and was killed]\n", timeout_s);
      break;
    case Verdict::kCpuTimeLimit:
      out += "[killed: CPU time limit]\n";
      break;
    case Verdict::kMemoryLimit:
      out += "[killed: memory limit]\n";
      break;
    case Verdict::kOutputLimit:
      out += "[killed: too much output]\n";
      break;
    case Verdict::kSeccompViolation:
      out += fmt::format("[killed: forbidden system call {}]\n", r.violation_syscall);
      break;
    case Verdict::kSignaled:
      out += fmt::format("[killed by signal {}]\n", r.term_signal);
      break;
    case Verdict::kSandboxError:
      out += "[the sandbox failed to run the command]\n";
      break;
  }
  if (r.shell_restarted)
    out += fmt::format("[the {} ended and a new one was started{}]\n", shell_name,
                       std::string(shell_name) == "shell"
                           ? " in the same directory with the same exported variables"
                           : "; its variables are gone");
  if (out.empty()) out = "(no output)\n";
  if (out.back() == '\n') out.pop_back();
  return out;
}

std::string RenderFileContent(const sandbox::RunResult& r, std::uint64_t max_bytes) {
  bool cut = false;
  std::string out = SanitizeUtf8(Truncate(r.stdout_data, max_bytes, &cut));
  if (cut || r.stdout_truncated)
    out +=
        fmt::format("\n[file truncated: {} of {} bytes shown]",
                    std::min<std::uint64_t>(max_bytes, r.stdout_data.size()), r.stdout_total_bytes);
  if (out.empty()) out = "(empty file)";
  return out;
}

std::string RenderErrors(const std::vector<ActionError>& errors) {
  std::string out = "Your action could not be used as given:";
  for (const ActionError& e : errors) out += "\n- " + e.message;
  return out;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out + "'";
}

std::string PythonStringLiteral(const std::string& s) {
  // A JSON string without \/ escapes and with non-ASCII as raw UTF-8 is a valid Python literal.
  return nlohmann::json(SanitizeUtf8(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace toolgym::envs
