// ActionParser: action text -> zero or more validated tool calls, an optional final answer and
// optional reasoning. Never throws and never fails as a whole: everything wrong with an action
// is reported as ActionErrors whose messages are written for the agent (they become the error
// observation), so a policy can see what to fix.
//
// Formats (chosen per scenario):
//  - kHermes:  `<tool_call>{"name": "bash", "arguments": {"command": "ls"}}</tool_call>`, any
//              number of them, with text, `<think>...</think>` and `<answer>...</answer>` around.
//              The JSON may be wrapped in a ```json fence; keys other than "name" and
//              "arguments" are ignored (no aliases such as "parameters"); a missing or null
//              "arguments" means {}. A block ends at the first `</tool_call>`, so argument text
//              containing it must escape '<' as \u003c (RenderAction does).
//  - kOpenAI:  the action is a JSON assistant message as an OpenAI-compatible client returns it:
//              {"content": "...", "tool_calls": [{"id": "...", "type": "function",
//               "function": {"name": "bash", "arguments": "{\"command\": \"ls\"}"}}]}
//              (`arguments` is a JSON string, as in the OpenAI API; an object is accepted too,
//              and "" means {}). "content" may be a string, null or a list of text parts.
//              Plain text that is not such an object is parsed as content with no calls.
//  - kCompact: `bash[ls -la]` for small policies: a call starts at the beginning of a line
//              (after optional spaces or tabs) with `name[`, and runs to the last `]` before the
//              next line that ends it, or the end of the text. A line with a known tool's name
//              always ends the call before it; a line with another identifier
//              ([A-Za-z_][A-Za-z0-9_-]*) does only where a call plausibly starts there (the text
//              before it ends in `]` and so does the line), so that lines such as `a[i] = 1` stay
//              inside multi-line code. Outside calls, a line starting with any `identifier[` is
//              an attempted call (kUnknownTool for an unknown name); `name[` in mid-line is text.
//              The bracket text, if it is a JSON object ({...}, surrounding whitespace allowed),
//              is the arguments object for every tool (`write_file[{"path": ...}]`). Otherwise a
//              tool with exactly one parameter takes the bracket text verbatim, untrimmed, as
//              that argument (as JSON when the parameter's type does not allow a string:
//              `sleep[5]`; invalid UTF-8 is kWrongType); a tool without parameters takes `[]`
//              (whitespace allowed, other text is kExtraArgument); other tools need the object.
//  - kAuto:    kOpenAI if the action is a JSON object with "tool_calls" or "content", else
//              kHermes if it contains `<tool_call>`, else kCompact.
// In every format `<think>...</think>` is reasoning and `<answer>...</answer>` a final answer;
// scanning is left to right and a tag's body runs to its first closing tag, so a call inside
// <think> is reasoning and tags inside a call's text are argument text. Several <think> blocks
// are joined with newlines; of several <answer> blocks the first is kept (kMultipleAnswers).
// A tag opened and never closed is reported once per tag name and dropped; the text after it is
// parsed as usual. Content, answer and think are valid UTF-8 (invalid bytes become U+FFFD).
//
// Call ids: id_prefix + n where n counts the *valid* calls from first_call_id, so an env that
// continues with first_call_id + calls.size() gets gapless ids over an episode; an OpenAI
// client's non-empty "id" string is kept (and still counts).
//
// Bounds: parsing is linear in the action's length; JSON arguments may nest 64 levels;
// calls past max_calls are counted in attempted_calls but not parsed; a call reports at most 8
// schema errors; messages quote at most a few dozen bytes of the action.
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
  kEmptyAction,      // nothing but whitespace (or an OpenAI message without content or calls)
  kUnclosedTag,      // <tool_call>, <think>, <answer> or a compact `name[` never closed
  kBadJson,          // the call's JSON does not parse (message gives the parser's position)
  kNotAnObject,      // the call (or its arguments) is JSON but not an object
  kMissingName,      // no "name" (or function.name), or it is not a string
  kUnknownTool,      // the name is not one of the env's tools (message lists them)
  kDoubleEncoded,    // arguments is a string holding JSON that itself encodes the object
  kMissingArgument,  // a required argument is absent
  kExtraArgument,    // an argument the schema does not declare
  kWrongType,        // wrong JSON type, outside an enum or range, or not UTF-8
  kNoToolCall,       // no call and no answer (only if required, and no other error)
  kTooManyCalls,     // more calls than ParserOptions::max_calls
  kMultipleAnswers,  // more than one <answer> block
  kActionTooLong,    // the action exceeds the env's byte budget (reported by the env)
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
  int attempted_calls = 0;            // valid plus invalid calls, and those past max_calls
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
// rendered text with the same tools gives the same calls back (ids included, except that Hermes
// and compact text carry no ids: the parser numbers them again), and the same answer and think
// when they do not contain their own closing tag. The expert and random policies use this.
//  - kHermes: <think>, then one `<tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>`
//    per call (JSON with ", " and ": " separators, '<' written \u003c), then <answer>.
//  - kOpenAI: {"role": "assistant", "content": tags or null, "tool_calls": [...]} with
//    arguments as a JSON string.
//  - kCompact: the tags first (a tag after the calls could be read as argument text), then one
//    call per line: verbatim `name[text]` for one-parameter tools when that parses back to the
//    same call, `name[]` for tools without parameters, else `name[{JSON object}]`. `tools`
//    gives the parameters; without them every call is written as a JSON object.
std::string RenderAction(ActionFormat format, const std::vector<ToolCall>& calls,
                         const std::optional<std::string>& answer = std::nullopt,
                         const std::optional<std::string>& think = std::nullopt,
                         const std::vector<ToolSpec>& tools = {});

}  // namespace toolgym::envs
