// How tool results and errors are shown to the agent. Deterministic: no timings, no nonces, so
// the same state and action always give the same observation text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "envs/action_parser.h"
#include "envs/utf8.h"
#include "sandbox/result.h"

namespace toolgym::envs {

// The first `max_bytes` of `s` (cut at a UTF-8 boundary) and whether anything was cut.
std::string Truncate(const std::string& s, std::uint64_t max_bytes, bool* cut);

// A command's result for the agent:
//   <stdout>
//   [stderr]
//   <stderr>
//   [output truncated: 4096 of 10000 bytes shown]
//   [exit code: 2]
// plus a line for a timeout, a limit or a restarted shell; "(no output)" when there is nothing.
std::string RenderCommandResult(const sandbox::RunResult& r, std::uint64_t max_output_bytes,
                                double timeout_s, const char* shell_name);

// A file's text as read_file shows it: the captured stdout of the command that printed it, cut to
// max_bytes with a note, or "(empty file)".
std::string RenderFileContent(const sandbox::RunResult& r, std::uint64_t max_bytes);

// "Your action could not be used:\n- bash: missing required argument 'command' (string)".
std::string RenderErrors(const std::vector<ActionError>& errors);

// POSIX single-quoted word for bash: it's -> 'it'\''s'.
std::string ShellQuote(const std::string& s);

// A Python string literal for any UTF-8 text (invalid bytes replaced).
std::string PythonStringLiteral(const std::string& s);

}  // namespace toolgym::envs
