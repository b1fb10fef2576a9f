// ActionParser: action text -> zero or more validated tool calls, an optional final answer and
// optional reasoning. Never throws and never fails as a whole: everything wrong with an action
// is reported as ActionErrors whose messages are written for the agent (they become the error
// observation), so a policy can see what to fix.
//
// Formats (chosen per scenario):
//  - kHermes:  `<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>`, any
//              number of them, with text, `<think>...</think>` and `<answer>...</answer>` around.
//  - kOpenAI:  the action is a JSON assistant message as an OpenAI-compatible client returns it:
//              {"content": "...", "tool_calls": [{"id": "...", "type": "function",
//               "function": {"name": "bash", "arguments": "{\"command\": \"ls\"}"}}]}
//              (`arguments` is a JSON string, as in the OpenAI API; an object is accepted too).
//              Plain text that is not such an object is parsed as content with no calls.
//  - kCompact: `bash[ls -la]` for small policies: a call starts at the beginning of a line with
//              `name[` and runs to the last `]` before the next line that starts a call, or the
//              end of the text. A tool with exactly one parameter takes the bracket text verbatim
//              as that argument; other tools take a JSON object (`write_file[{"path": ...}]`);
//              `submit[]` passes no arguments.
//  - kAuto:    kOpenAI if the action is a JSON object with "tool_calls" or "content", else
//              kHermes if it contains `<tool_call>`, else kCompact.
// In every format `<think>...</think>` is reasoning and `<answer>...</answer>` a final answer.
//
// Thread-safety: Parse is const and may be called from several threads at once.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "envs/tool.h"

namespace toolgym::envs {

enum class ActionFormat { kHermes, kOpenAI, kCompact, kAuto };
const char* ActionFormatName(ActionFormat f);  // "hermes", "openai", "compact", "auto"
StatusOr<ActionFormat> ParseActionFormat(std::string_view name);

// Every class of malformed action the parser reports. Tests cover each one.
enum class ActionErrorKind {
  kEmptyAction,      // nothing but whitespace
  kUnclosedTag,      // <tool_call>, <think> or <answer> opened and never closed
  kBadJson,          // the call's JSON does not parse (message gives the parser's position)
  kNotAnObject,      // the call (or its arguments) is JSON but not an object
  kMissingName,      // no "name" (or function.name), or it is not a string
  kUnknownTool,      // the name is not one of the env's tools (message lists them)
  kDoubleEncoded,    // arguments is a string holding JSON that itself encodes the object
  kMissingArgument,  // a required argument is absent
  kExtraArgument,    // an argument the schema does not declare
  kWrongType,        // an argument of the wrong JSON type (or outside an enum or range)
  kNoToolCall,       // kCompact/kHermes text with no call, no answer (only if required)
  kTooManyCalls,     // more calls than ParserOptions::max_calls
  kMultipleAnswers,  // more than one <answer> block
};
const char* ActionErrorKindName(ActionErrorKind k);  // "bad_json", "unknown_tool", ...

struct ActionError {
  ActionErrorKind kind;
  int call_index = -1;  // which attempted call (0-based), or -1 for the action as a whole
  std::string tool;     // the tool name when known
  std::string message;  // for the agent: what was wrong and what was expected

  bool operator==(const ActionError&) const = default;
};

struct ParsedAction {
  std::vector<ToolCall> calls;        // the valid calls, in order
  std::vector<ActionError> errors;    // everything wrong; empty means well formed
  int attempted_calls = 0;            // valid plus invalid calls
  std::optional<std::string> answer;  // text of <answer>...</answer>, trimmed
  std::optional<std::string> think;   // text of <think>...</think>
  std::string content;                // the text outside every tag and call, trimmed

  bool well_formed() const { return errors.empty(); }
};

struct ParserOptions {
  int max_calls = 16;                   // calls beyond this are dropped with kTooManyCalls
  bool require_call_or_answer = false;  // kNoToolCall when the action has neither
  std::string id_prefix = "call_";      // ids are id_prefix + running index from first_call_id
  int first_call_id = 0;
};

class ActionParser {
 public:
  ActionParser(ActionFormat format, std::vector<ToolSpec> tools, ParserOptions options = {});
  ParsedAction Parse(std::string_view action) const;
  ParsedAction Parse(std::string_view action, int first_call_id) const;  // ids continue a count
  const std::vector<ToolSpec>& tools() const { return tools_; }
  ActionFormat format() const { return format_; }

 private:
  ActionFormat format_;
  std::vector<ToolSpec> tools_;
  ParserOptions options_;
};

// Renders calls back into action text of the given format (kAuto renders kHermes). Parsing the
// rendered text gives the same calls back; the expert and random policies use this.
std::string RenderAction(ActionFormat format, const std::vector<ToolCall>& calls,
                         const std::optional<std::string>& answer = std::nullopt,
                         const std::optional<std::string>& think = std::nullopt,
                         const std::vector<ToolSpec>& tools = {});

}  // namespace toolgym::envs
