#include "envs/action_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <utility>

#include "envs/json_schema.h"
#include "envs/utf8.h"

// How the parser bounds its work (it sees raw policy output, up to megabytes of anything):
//  - Tags and compact call lines are found by hand-written scans, never std::regex (libstdc++'s
//    is recursive and overflows the stack on long inputs). Every search runs forward from a
//    position that only grows, and MonotonicFinder remembers its last answer, so a whole parse is
//    linear in the action's length however many unclosed tags or brackets it holds.
//  - JSON is parsed only after a scan shows it nests no deeper than a limit: nlohmann::json
//    parses iteratively, but copying, comparing and dumping a value recurse.
//  - Messages quote at most kMaxQuotedBytes of agent text, always as valid UTF-8, and a call
//    reports at most kMaxSchemaErrorsPerCall schema errors.

namespace toolgym::envs {
namespace {

using json = nlohmann::json;
constexpr std::size_t kNpos = std::string_view::npos;

// Nesting depth allowed in a call's arguments ({} is depth 1). The JSON that wraps the arguments
// (a Hermes call object, an OpenAI message) may nest as much deeper as its own structure needs,
// so arguments accepted in one format render into every other.
constexpr int kMaxArgumentsDepth = 64;
constexpr int kHermesWrapperDepth = 1;  // {"name", "arguments": ARGS}
constexpr int kOpenAIWrapperDepth = 4;  // {"tool_calls": [{"function": {"arguments": ARGS}}]}
constexpr std::size_t kMaxQuotedBytes = 64;
constexpr std::size_t kMaxJsonErrorBytes = 240;
constexpr int kMaxSchemaErrorsPerCall = 8;

constexpr std::string_view kToolCallOpen = "<tool_call>";

// ---------------------------------------------------------------------------------------------
// Text helpers.

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Agent text for a message: valid UTF-8, cut on a character boundary, "..." when cut.
std::string Quote(std::string_view s, std::size_t max = kMaxQuotedBytes) {
  std::string clean = SanitizeUtf8(s.substr(0, std::min(s.size(), max + 4)));
  if (clean.size() <= max && s.size() <= max) return clean;
  std::size_t end = std::min(max, clean.size());
  while (end > 0 && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;
  return clean.substr(0, end) + "...";
}

// Dumps never throw (invalid UTF-8, possible only in values built in C++, becomes U+FFFD).
std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

const char* JsonKind(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

// Finds `needle` at or after positions that (mostly) only grow. Remembers its last answer: a
// search from `pos` is answered from memory when the last search started at or before `pos` and
// found nothing before it, so a sequence of growing searches reads the text once.
class MonotonicFinder {
 public:
  MonotonicFinder(std::string_view text, std::string_view needle) : text_(text), needle_(needle) {}

  std::size_t Find(std::size_t pos) {
    if (searched_ && from_ <= pos && (found_ == kNpos || found_ >= pos)) return found_;
    searched_ = true;
    from_ = pos;
    found_ = text_.find(needle_, pos);
    return found_;
  }

 private:
  std::string_view text_;
  std::string_view needle_;
  bool searched_ = false;
  std::size_t from_ = 0;
  std::size_t found_ = kNpos;
};

// ---------------------------------------------------------------------------------------------
// JSON helpers.

// True when `text`, read as JSON, opens more than `limit` nested arrays or objects. Strings are
// skipped (with their escapes), so brackets inside them do not count; text that is not JSON may
// give either answer, and the parser rejects it afterwards.
bool NestsDeeperThan(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// Parses `text` as JSON nested at most `depth_limit` deep; on failure sets `error` to a message
// that names the position.
std::optional<json> ParseJson(std::string_view text, int depth_limit, std::string& error) {
  if (NestsDeeperThan(text, depth_limit)) {
    error = fmt::format("it nests arrays and objects deeper than {} levels", depth_limit);
    return std::nullopt;
  }
  try {
    return json::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 9: syntax error ..."
    std::string_view what = e.what();
    if (std::size_t p = what.find("] "); p != kNpos) what.remove_prefix(p + 2);
    error = what.empty() ? std::string("it is not valid JSON") : Quote(what, kMaxJsonErrorBytes);
    return std::nullopt;
  }
}

// Like ParseJson but without a message; for probing text that may or may not be JSON.
std::optional<json> TryParseJson(std::string_view text, int depth_limit) {
  if (NestsDeeperThan(text, depth_limit)) return std::nullopt;
  json v = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) return std::nullopt;
  return v;
}

// Whether a string argument value holds a JSON object (arguments encoded once too often).
bool EncodesObject(const json& v) {
  if (!v.is_string()) return false;
  std::string_view s = Trim(v.get_ref<const std::string&>());
  if (s.empty() || s.front() != '{') return false;
  std::optional<json> inner = TryParseJson(s, kMaxArgumentsDepth);
  return inner && inner->is_object();
}

// Hermes-style call JSON with '<' escaped, so argument text such as "</tool_call>" cannot end
// the block early. '<' occurs in JSON text only inside strings, where \u003c means the same.
std::string EscapeAngles(const std::string& json_text) {
  std::string out;
  out.reserve(json_text.size());
  for (char c : json_text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tools.

const ToolSpec* FindTool(const std::vector<ToolSpec>& tools, std::string_view name) {
  for (const ToolSpec& t : tools) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string ToolList(const std::vector<ToolSpec>& tools) {
  if (tools.empty()) return "(none)";
  std::string out;
  for (const ToolSpec& t : tools) out += (out.empty() ? "" : ", ") + t.name;
  return out;
}

// The declared properties of a tool's schema (empty when there are none).
const json& Properties(const ToolSpec& tool) {
  static const json kEmpty = json::object();
  if (!tool.parameters.is_object()) return kEmpty;
  auto it = tool.parameters.find("properties");
  return (it != tool.parameters.end() && it->is_object()) ? *it : kEmpty;
}

// Whether the schema of a property allows a string (no "type" allows anything).
bool AllowsString(const json& property_schema) {
  if (!property_schema.is_object()) return true;
  auto t = property_schema.find("type");
  if (t == property_schema.end()) return true;
  if (t->is_string()) return *t == "string";
  if (t->is_array()) {
    for (const json& x : *t) {
      if (x == "string") return true;
    }
    return false;
  }
  return true;
}

ActionErrorKind KindOf(SchemaError::Kind k) {
  switch (k) {
    case SchemaError::Kind::kMissing:
      return ActionErrorKind::kMissingArgument;
    case SchemaError::Kind::kExtra:
      return ActionErrorKind::kExtraArgument;
    case SchemaError::Kind::kType:
    case SchemaError::Kind::kEnum:
    case SchemaError::Kind::kRange:
      return ActionErrorKind::kWrongType;
  }
  return ActionErrorKind::kWrongType;
}

// ---------------------------------------------------------------------------------------------
// Compact call lines: a line that starts (after spaces or tabs) with a known tool name, or an
// identifier ([A-Za-z_][A-Za-z0-9_-]*), immediately followed by '['.

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '-'; }

struct CallLine {
  std::size_t line_start;
  std::size_t name_begin;
  std::size_t bracket;   // position of '['
  const ToolSpec* tool;  // null for an unknown name
  // Whether this line ends the call of a known tool before it: a known name always does; an
  // unknown name only where a call plausibly starts, i.e. the text before the line ends in ']'
  // and the line itself ends in ']' (`bash[ls]` NL `bsh[pwd]`), so that lines such as
  // `a[i] = 1` inside multi-line code stay in the code.
  bool ends_known_call;
  std::size_t next_end = kNpos;  // index of the next CallLine that ends a known call, or kNpos
};

std::vector<CallLine> FindCallLines(std::string_view text, const std::vector<ToolSpec>& tools) {
  std::vector<CallLine> lines;
  int last_before = -1;  // last non-space character before the current line, -1 for none
  for (std::size_t start = 0; start < text.size();) {
    std::size_t eol = text.find('\n', start);
    std::size_t end = eol == kNpos ? text.size() : eol;
    std::size_t q = start;
    while (q < end && (text[q] == ' ' || text[q] == '\t')) ++q;
    std::string_view rest = text.substr(q, end - q);
    std::string_view trimmed = Trim(rest);
    int last = trimmed.empty() ? -1 : static_cast<unsigned char>(trimmed.back());
    const ToolSpec* known = nullptr;
    std::size_t bracket = kNpos;
    for (const ToolSpec& t : tools) {
      if (!t.name.empty() && rest.size() > t.name.size() && rest.starts_with(t.name) &&
          rest[t.name.size()] == '[') {
        known = &t;
        bracket = q + t.name.size();
        break;
      }
    }
    if (known == nullptr && !rest.empty() && IsIdentStart(rest[0])) {
      std::size_t r = 1;
      while (r < rest.size() && IsIdentChar(rest[r])) ++r;
      if (r < rest.size() && rest[r] == '[') bracket = q + r;
    }
    if (bracket != kNpos) {
      bool ends = known != nullptr || (last_before == ']' && last == ']');
      lines.push_back({start, q, bracket, known, ends});
    }
    if (last != -1) last_before = last;
    if (eol == kNpos) break;
    start = eol + 1;
  }
  std::size_t next = kNpos;
  for (std::size_t i = lines.size(); i-- > 0;) {
    lines[i].next_end = next;
    if (lines[i].ends_known_call) next = i;
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// One parse: the state shared by the format-specific scanners.

enum class ScanMode {
  kHermes,   // <tool_call> blocks, <think>, <answer>
  kCompact,  // call lines, <think>, <answer>
  kPlain,    // <think>, <answer> only (OpenAI content)
};

class ParseRun {
 public:
  ParseRun(ActionFormat format, const std::vector<ToolSpec>& tools, const ParserOptions& options,
           int first_call_id, ParsedAction& out)
      : format_(format),
        tools_(tools),
        options_(options),
        first_call_id_(first_call_id),
        out_(out) {}

  void Scan(std::string_view text, ScanMode mode);
  void OpenAIMessage(json& message);
  void Finish(std::string_view action);

 private:
  struct Tag {
    std::string_view open;
    std::string_view close;
  };
  static constexpr Tag kTags[] = {
      {"<tool_call>", "</tool_call>"}, {"<think>", "</think>"}, {"<answer>", "</answer>"}};
  enum TagIndex { kToolCallTag = 0, kThinkTag = 1, kAnswerTag = 2 };

  // Starts call number out_.attempted_calls; returns its index, or -1 past max_calls.
  int BeginCall() {
    int index = out_.attempted_calls++;
    return index < options_.max_calls ? index : -1;
  }
  void Error(ActionErrorKind kind, int index, std::string tool, std::string message) {
    out_.errors.push_back({kind, index, std::move(tool), std::move(message)});
  }
  void AddContent(std::string_view text) {
    std::string_view t = Trim(text);
    if (!t.empty()) content_.emplace_back(t);
  }
  void TagBody(int tag, std::string_view body);
  void UnclosedTag(int tag);

  // The name and arguments of one call, however the format wrote them.
  void HermesCall(int index, std::string_view body);
  void OpenAICall(int index, json& entry);
  std::size_t CompactCall(std::string_view text, const std::vector<CallLine>& lines,
                          std::size_t li);
  void CompactArguments(int index, const ToolSpec& tool, std::string_view text);
  // `name` is none of the tools: kUnknownTool, with the tools listed.
  void UnknownTool(int index, std::string_view name);
  // Validates `args` (an object) against the tool's schema; adds the call when valid.
  void Accept(int index, const ToolSpec& tool, json args, std::string client_id = "");

  ActionFormat format_;
  const std::vector<ToolSpec>& tools_;
  const ParserOptions& options_;
  int first_call_id_;
  ParsedAction& out_;
  std::vector<std::string> content_;
  std::vector<std::string> thinks_;
  int answers_ = 0;
  bool unclosed_[3] = {false, false, false};
};

void ParseRun::Scan(std::string_view text, ScanMode mode) {
  MonotonicFinder open[3] = {{text, kTags[0].open}, {text, kTags[1].open}, {text, kTags[2].open}};
  MonotonicFinder close[3] = {
      {text, kTags[0].close}, {text, kTags[1].close}, {text, kTags[2].close}};
  // A tag that was once found unclosed has no closing tag anywhere after: later openings of it
  // are plain text (and reported once).
  bool dead[3] = {mode != ScanMode::kHermes, false, false};
  std::vector<CallLine> lines;
  if (mode == ScanMode::kCompact) lines = FindCallLines(text, tools_);
  std::size_t li = 0;

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t tag_at = kNpos;
    int tag = -1;
    for (int t = 0; t < 3; ++t) {
      if (dead[t]) continue;
      std::size_t p = open[t].Find(pos);
      if (p < tag_at) {
        tag_at = p;
        tag = t;
      }
    }
    while (li < lines.size() && lines[li].line_start < pos) ++li;
    std::size_t call_at = li < lines.size() ? lines[li].line_start : kNpos;
    if (call_at != kNpos && call_at <= tag_at) {
      AddContent(text.substr(pos, call_at - pos));
      pos = CompactCall(text, lines, li);
      ++li;
      continue;
    }
    if (tag < 0) {
      AddContent(text.substr(pos));
      break;
    }
    AddContent(text.substr(pos, tag_at - pos));
    std::size_t body = tag_at + kTags[tag].open.size();
    std::size_t end = close[tag].Find(body);
    if (end == kNpos) {
      dead[tag] = true;
      UnclosedTag(tag);
      pos = body;  // the opening tag is dropped; what follows is scanned as usual
      continue;
    }
    TagBody(tag, text.substr(body, end - body));
    pos = end + kTags[tag].close.size();
  }
}

void ParseRun::TagBody(int tag, std::string_view body) {
  switch (tag) {
    case kToolCallTag:
      if (int index = BeginCall(); index >= 0) HermesCall(index, body);
      break;
    case kThinkTag:
      thinks_.emplace_back(body);
      break;
    case kAnswerTag:
      if (answers_++ == 0) out_.answer = SanitizeUtf8(Trim(body));
      break;
  }
}

void ParseRun::UnclosedTag(int tag) {
  if (unclosed_[tag]) return;
  unclosed_[tag] = true;
  if (tag == kToolCallTag) {
    int index = BeginCall();
    if (index < 0) return;
    Error(ActionErrorKind::kUnclosedTag, index, "",
          fmt::format("tool call {}: <tool_call> is never closed; end each call with "
                      "</tool_call>",
                      index));
    return;
  }
  Error(ActionErrorKind::kUnclosedTag, -1, "",
        fmt::format("{} is never closed; close it with {}", kTags[tag].open, kTags[tag].close));
}

void ParseRun::UnknownTool(int index, std::string_view name) {
  std::string shown = Quote(name);
  Error(ActionErrorKind::kUnknownTool, index, shown,
        fmt::format("tool call {}: unknown tool '{}'; available tools: {}", index, shown,
                    ToolList(tools_)));
}

void ParseRun::Accept(int index, const ToolSpec& tool, json args, std::string client_id) {
  std::vector<SchemaError> errors = ValidateJson(tool.parameters, args);
  if (errors.empty()) {
    int number = first_call_id_ + static_cast<int>(out_.calls.size());
    std::string id =
        client_id.empty() ? options_.id_prefix + std::to_string(number) : std::move(client_id);
    out_.calls.push_back({std::move(id), tool.name, std::move(args)});
    return;
  }
  int shown = 0;
  for (SchemaError& e : errors) {
    if (shown == kMaxSchemaErrorsPerCall) {
      out_.errors.back().message +=
          fmt::format(" (and {} more argument errors in this call)", errors.size() - shown);
      break;
    }
    Error(KindOf(e.kind), index, tool.name, fmt::format("{}: {}", tool.name, e.message));
    ++shown;
  }
}

// Strips a Markdown fence around a call (```json ... ```), which models often add.
std::string_view StripFence(std::string_view s) {
  if (!s.starts_with("```")) return s;
  s.remove_prefix(3);
  while (!s.empty() && IsIdentChar(s.front())) s.remove_prefix(1);  // the language tag
  if (s.ends_with("```")) s.remove_suffix(3);
  return Trim(s);
}

void ParseRun::HermesCall(int index, std::string_view body) {
  std::string_view text = StripFence(Trim(body));
  if (text.empty()) {
    Error(ActionErrorKind::kBadJson, index, "",
          fmt::format("tool call {}: the <tool_call> block is empty; write "
                      "<tool_call>{{\"name\": \"<tool>\", \"arguments\": {{...}}}}</tool_call>",
                      index));
    return;
  }
  std::string error;
  std::optional<json> parsed = ParseJson(text, kMaxArgumentsDepth + kHermesWrapperDepth, error);
  if (!parsed) {
    Error(ActionErrorKind::kBadJson, index, "",
          fmt::format("tool call {}: the JSON in <tool_call> does not parse: {}", index, error));
    return;
  }
  json& call = *parsed;
  if (!call.is_object()) {
    Error(ActionErrorKind::kNotAnObject, index, "",
          fmt::format("tool call {}: <tool_call> must hold a JSON object {{\"name\": ..., "
                      "\"arguments\": {{...}}}}, got {}",
                      index, JsonKind(call)));
    return;
  }
  auto name = call.find("name");
  if (name == call.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    Error(ActionErrorKind::kMissingName, index, "",
          fmt::format("tool call {}: \"name\" must be a string naming one of the tools ({}), "
                      "got {}",
                      index, ToolList(tools_),
                      name == call.end()  ? "no \"name\""
                      : name->is_string() ? "an empty string"
                                          : JsonKind(*name)));
    return;
  }
  const std::string& tool_name = name->get_ref<const std::string&>();
  const ToolSpec* tool = FindTool(tools_, tool_name);
  if (tool == nullptr) return UnknownTool(index, tool_name);
  json args = json::object();
  if (auto a = call.find("arguments"); a != call.end() && !a->is_null()) {
    if (EncodesObject(*a)) {
      Error(ActionErrorKind::kDoubleEncoded, index, tool->name,
            fmt::format("{}: \"arguments\" is a string holding JSON; pass arguments as a JSON "
                        "object, not a string: \"arguments\": {{...}}",
                        tool->name));
      return;
    }
    if (!a->is_object()) {
      Error(
          ActionErrorKind::kNotAnObject, index, tool->name,
          fmt::format("{}: \"arguments\" must be a JSON object, got {}", tool->name, JsonKind(*a)));
      return;
    }
    args = std::move(*a);
  }
  Accept(index, *tool, std::move(args));
}

void ParseRun::OpenAIMessage(json& message) {
  if (auto c = message.find("content"); c != message.end() && !c->is_null()) {
    if (c->is_string()) {
      Scan(c->get_ref<const std::string&>(), ScanMode::kPlain);
    } else if (c->is_array()) {
      // Content parts: [{"type": "text", "text": "..."}, ...]; other part types are ignored.
      std::string text;
      for (const json& part : *c) {
        if (!part.is_object() || part.value("type", json()) != "text") continue;
        if (auto t = part.find("text"); t != part.end() && t->is_string()) {
          text += t->get_ref<const std::string&>();
        }
      }
      Scan(text, ScanMode::kPlain);
    } else {
      Error(ActionErrorKind::kNotAnObject, -1, "",
            fmt::format("\"content\" must be a string or null, got {}", JsonKind(*c)));
    }
  }
  auto calls = message.find("tool_calls");
  if (calls == message.end() || calls->is_null()) return;
  if (!calls->is_array()) {
    Error(ActionErrorKind::kNotAnObject, -1, "",
          fmt::format("\"tool_calls\" must be an array of {{\"id\": ..., \"type\": \"function\", "
                      "\"function\": {{\"name\": ..., \"arguments\": ...}}}} objects, got {}",
                      JsonKind(*calls)));
    return;
  }
  for (json& entry : *calls) {
    int index = BeginCall();
    if (index >= 0) OpenAICall(index, entry);
  }
}

void ParseRun::OpenAICall(int index, json& entry) {
  if (!entry.is_object()) {
    Error(ActionErrorKind::kNotAnObject, index, "",
          fmt::format("tool call {}: each entry of \"tool_calls\" must be an object, got {}", index,
                      JsonKind(entry)));
    return;
  }
  auto fn = entry.find("function");
  const json* name = nullptr;
  if (fn != entry.end() && fn->is_object()) {
    if (auto n = fn->find("name"); n != fn->end()) name = &*n;
  }
  if (name == nullptr || !name->is_string() || name->get_ref<const std::string&>().empty()) {
    Error(ActionErrorKind::kMissingName, index, "",
          fmt::format("tool call {}: \"function\": {{\"name\": ...}} must name one of the tools "
                      "({}), got {}",
                      index, ToolList(tools_),
                      fn == entry.end()   ? "no \"function\""
                      : !fn->is_object()  ? "a \"function\" that is not an object"
                      : name == nullptr   ? "no \"name\""
                      : name->is_string() ? "an empty string"
                                          : JsonKind(*name)));
    return;
  }
  const ToolSpec* tool = FindTool(tools_, name->get_ref<const std::string&>());
  if (tool == nullptr) return UnknownTool(index, name->get_ref<const std::string&>());
  std::string client_id;
  if (auto id = entry.find("id"); id != entry.end() && id->is_string()) {
    client_id = id->get<std::string>();
  }
  json args = json::object();
  auto a = fn->find("arguments");
  if (a != fn->end() && a->is_string()) {
    // The API's form: the arguments object encoded once as a JSON string.
    std::string_view encoded = Trim(a->get_ref<const std::string&>());
    if (!encoded.empty()) {
      std::string error;
      std::optional<json> decoded = ParseJson(encoded, kMaxArgumentsDepth, error);
      if (!decoded) {
        Error(ActionErrorKind::kBadJson, index, tool->name,
              fmt::format("{}: \"arguments\" is not valid JSON: {}", tool->name, error));
        return;
      }
      if (EncodesObject(*decoded)) {
        Error(ActionErrorKind::kDoubleEncoded, index, tool->name,
              fmt::format("{}: \"arguments\" is JSON-encoded twice; encode the arguments object "
                          "once: \"arguments\": \"{{\\\"key\\\": ...}}\"",
                          tool->name));
        return;
      }
      if (!decoded->is_object()) {
        Error(ActionErrorKind::kNotAnObject, index, tool->name,
              fmt::format("{}: \"arguments\" must encode a JSON object, got {}", tool->name,
                          JsonKind(*decoded)));
        return;
      }
      args = std::move(*decoded);
    }
  } else if (a != fn->end() && !a->is_null()) {
    if (!a->is_object()) {
      Error(ActionErrorKind::kNotAnObject, index, tool->name,
            fmt::format("{}: \"arguments\" must be a JSON object or a string encoding one, got {}",
                        tool->name, JsonKind(*a)));
      return;
    }
    args = std::move(*a);
  }
  Accept(index, *tool, std::move(args), std::move(client_id));
}

// Parses the compact call starting at lines[li]; returns where scanning resumes.
std::size_t ParseRun::CompactCall(std::string_view text, const std::vector<CallLine>& lines,
                                  std::size_t li) {
  const CallLine& line = lines[li];
  // A known tool's call runs to the next line that ends it (see CallLine::ends_known_call); an
  // unknown name's call runs to the next call-like line of any name.
  std::size_t next = line.tool != nullptr ? line.next_end : li + 1;
  std::size_t end = next < lines.size() ? lines[next].line_start : text.size();
  std::string_view region = text.substr(line.bracket + 1, end - line.bracket - 1);
  std::size_t close = region.rfind(']');
  std::string_view name = text.substr(line.name_begin, line.bracket - line.name_begin);

  int index = BeginCall();
  if (index >= 0) {
    if (line.tool == nullptr) {
      UnknownTool(index, name);
    } else if (close == kNpos) {
      Error(ActionErrorKind::kUnclosedTag, index, line.tool->name,
            fmt::format("{}: '[' is never closed; write the call as {}[...] with the closing ']'",
                        line.tool->name, line.tool->name));
    } else {
      CompactArguments(index, *line.tool, region.substr(0, close));
    }
  }
  return close == kNpos ? end : line.bracket + 1 + close + 1;
}

void ParseRun::CompactArguments(int index, const ToolSpec& tool, std::string_view text) {
  const json& props = Properties(tool);
  std::string_view trimmed = Trim(text);
  // Bracket text that is a JSON object is the arguments object, for every tool.
  if (!trimmed.empty() && trimmed.front() == '{' && trimmed.back() == '}') {
    if (std::optional<json> v = TryParseJson(trimmed, kMaxArgumentsDepth); v && v->is_object()) {
      return Accept(index, tool, std::move(*v));
    }
  }
  if (props.size() == 1) {
    const std::string& param = props.begin().key();
    if (!AllowsString(props.begin().value())) {
      // sleep[5]: a parameter that cannot be a string takes the bracket text as JSON.
      if (std::optional<json> v = TryParseJson(trimmed, kMaxArgumentsDepth)) {
        return Accept(index, tool, json{{param, std::move(*v)}});
      }
    }
    if (std::size_t bad = FirstInvalidUtf8(text); bad != kNpos) {
      Error(ActionErrorKind::kWrongType, index, tool.name,
            fmt::format("{}: argument '{}' is not valid UTF-8 text (byte 0x{:02x} at offset {})",
                        tool.name, param, static_cast<unsigned char>(text[bad]), bad));
      return;
    }
    return Accept(index, tool, json{{param, std::string(text)}});
  }
  if (trimmed.empty()) return Accept(index, tool, json::object());
  if (props.empty()) {
    Error(ActionErrorKind::kExtraArgument, index, tool.name,
          fmt::format("{}: this tool takes no arguments; call it as {}[]", tool.name, tool.name));
    return;
  }
  std::string error;
  std::optional<json> parsed = ParseJson(trimmed, kMaxArgumentsDepth, error);
  std::string example = fmt::format("{}[{{\"{}\": ...}}]", tool.name, props.begin().key());
  if (!parsed) {
    Error(ActionErrorKind::kBadJson, index, tool.name,
          fmt::format("{}: the arguments must be a JSON object like {}, but they do not parse: {}",
                      tool.name, example, error));
  } else if (EncodesObject(*parsed)) {
    Error(ActionErrorKind::kDoubleEncoded, index, tool.name,
          fmt::format("{}: the arguments are a JSON string holding an object; write the object "
                      "itself: {}",
                      tool.name, example));
  } else {
    Error(ActionErrorKind::kNotAnObject, index, tool.name,
          fmt::format("{}: the arguments must be a JSON object like {}, got {}", tool.name, example,
                      JsonKind(*parsed)));
  }
}

void ParseRun::Finish(std::string_view action) {
  if (out_.attempted_calls > options_.max_calls) {
    int limit = std::max(options_.max_calls, 0);
    Error(ActionErrorKind::kTooManyCalls, limit, "",
          fmt::format("too many tool calls: {} in one action, at most {} allowed; the calls "
                      "after the first {} were ignored",
                      out_.attempted_calls, limit, limit));
  }
  if (answers_ > 1) {
    Error(ActionErrorKind::kMultipleAnswers, -1, "",
          fmt::format("{} <answer> blocks; give exactly one final answer (the first was kept)",
                      answers_));
  }
  std::string content;
  for (const std::string& piece : content_) content += (content.empty() ? "" : "\n") + piece;
  out_.content = SanitizeUtf8(content);
  if (!thinks_.empty()) {
    std::string think;
    for (std::size_t i = 0; i < thinks_.size(); ++i) think += (i ? "\n" : "") + thinks_[i];
    out_.think = SanitizeUtf8(think);
  }
  bool nothing = out_.attempted_calls == 0 && !out_.answer && !out_.think && out_.content.empty();
  if (out_.errors.empty() && (nothing || Trim(action).empty())) {
    Error(ActionErrorKind::kEmptyAction, -1, "",
          "the action is empty; call a tool or give a final answer in <answer>...</answer>");
  } else if (out_.errors.empty() && options_.require_call_or_answer && out_.attempted_calls == 0 &&
             !out_.answer) {
    std::string how;
    switch (format_) {
      case ActionFormat::kHermes:
        how = "<tool_call>{\"name\": \"<tool>\", \"arguments\": {...}}</tool_call>";
        break;
      case ActionFormat::kOpenAI:
        how = "an entry in \"tool_calls\"";
        break;
      default:
        how = "a line <tool>[arguments]";
        break;
    }
    Error(ActionErrorKind::kNoToolCall, -1, "",
          fmt::format("the action has no tool call and no final answer; call a tool with {} "
                      "(tools: {}) or answer with <answer>...</answer>",
                      how, ToolList(tools_)));
  }
}

// The action as an OpenAI assistant message, if it is one: a JSON object with "content" or
// "tool_calls".
std::optional<json> AsOpenAIMessage(std::string_view action) {
  std::string_view t = Trim(action);
  if (t.size() < 2 || t.front() != '{' || t.back() != '}') return std::nullopt;
  std::optional<json> v = TryParseJson(t, kMaxArgumentsDepth + kOpenAIWrapperDepth);
  if (!v || !v->is_object() || !(v->contains("content") || v->contains("tool_calls"))) {
    return std::nullopt;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Rendering.

std::string TagText(const std::optional<std::string>& think,
                    const std::optional<std::string>& answer) {
  std::string out;
  if (think) out += "<think>" + *think + "</think>";
  if (answer) out += (out.empty() ? "" : "\n") + ("<answer>" + *answer + "</answer>");
  return out;
}

// JSON with the separators ", " and ": ", as chat templates (Python's json.dumps) write tool
// calls. Recursion is bounded by the value's depth, which parsing limits.
void AppendSpacedJson(const json& v, std::string& out) {
  if (v.is_object()) {
    out += '{';
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it != v.begin()) out += ", ";
      out += Dump(json(it.key()));
      out += ": ";
      AppendSpacedJson(it.value(), out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out += ", ";
      AppendSpacedJson(v[i], out);
    }
    out += ']';
  } else {
    out += Dump(v);
  }
}

std::string HermesCallText(const ToolCall& call) {
  std::string body = "{\"name\": " + Dump(json(call.name)) + ", \"arguments\": ";
  AppendSpacedJson(call.arguments, body);
  body += '}';
  return "<tool_call>\n" + EscapeAngles(body) + "\n</tool_call>";
}

// name[text] with the bracket text verbatim when that parses back to the same call, else with
// the arguments as a JSON object (always unambiguous: one line, and an object is taken as the
// arguments by every tool).
std::string CompactCallText(const ToolCall& call, const ActionParser& checker) {
  const ToolSpec* tool = FindTool(checker.tools(), call.name);
  if (tool != nullptr && call.arguments.is_object()) {
    const json& props = Properties(*tool);
    std::optional<std::string> verbatim;
    if (props.empty() && call.arguments.empty()) {
      verbatim = "";
    } else if (props.size() == 1 && call.arguments.size() == 1 &&
               call.arguments.contains(props.begin().key())) {
      const json& v = call.arguments.begin().value();
      if (v.is_string()) {
        verbatim = v.get<std::string>();
      } else if (!AllowsString(props.begin().value())) {
        verbatim = Dump(v);
      }
    }
    if (verbatim) {
      std::string text = call.name + "[" + *verbatim + "]";
      ParsedAction back = checker.Parse(text);
      if (back.errors.empty() && back.calls.size() == 1 && back.calls[0].name == call.name &&
          back.calls[0].arguments == call.arguments) {
        return text;
      }
    }
  }
  return call.name + "[" + Dump(call.arguments) + "]";
}

}  // namespace

const char* ActionFormatName(ActionFormat f) {
  switch (f) {
    case ActionFormat::kHermes:
      return "hermes";
    case ActionFormat::kOpenAI:
      return "openai";
    case ActionFormat::kCompact:
      return "compact";
    case ActionFormat::kAuto:
      return "auto";
  }
  return "unknown";
}

StatusOr<ActionFormat> ParseActionFormat(std::string_view name) {
  for (ActionFormat f : {ActionFormat::kHermes, ActionFormat::kOpenAI, ActionFormat::kCompact,
                         ActionFormat::kAuto}) {
    if (name == ActionFormatName(f)) return f;
  }
  return InvalidArgumentError(
      "unknown action format '{}'; expected one of: hermes, openai, "
      "compact, auto",
      Quote(name));
}

const char* ActionErrorKindName(ActionErrorKind k) {
  switch (k) {
    case ActionErrorKind::kEmptyAction:
      return "empty_action";
    case ActionErrorKind::kUnclosedTag:
      return "unclosed_tag";
    case ActionErrorKind::kBadJson:
      return "bad_json";
    case ActionErrorKind::kNotAnObject:
      return "not_an_object";
    case ActionErrorKind::kMissingName:
      return "missing_name";
    case ActionErrorKind::kUnknownTool:
      return "unknown_tool";
    case ActionErrorKind::kDoubleEncoded:
      return "double_encoded";
    case ActionErrorKind::kMissingArgument:
      return "missing_argument";
    case ActionErrorKind::kExtraArgument:
      return "extra_argument";
    case ActionErrorKind::kWrongType:
      return "wrong_type";
    case ActionErrorKind::kNoToolCall:
      return "no_tool_call";
    case ActionErrorKind::kTooManyCalls:
      return "too_many_calls";
    case ActionErrorKind::kMultipleAnswers:
      return "multiple_answers";
    case ActionErrorKind::kActionTooLong:
      return "action_too_long";
  }
  return "unknown";
}

ActionParser::ActionParser(ActionFormat format, std::vector<ToolSpec> tools, ParserOptions options)
    : format_(format), tools_(std::move(tools)), options_(std::move(options)) {}

ParsedAction ActionParser::Parse(std::string_view action) const {
  return Parse(action, options_.first_call_id);
}

ParsedAction ActionParser::Parse(std::string_view action, int first_call_id) const {
  ParsedAction out;
  ActionFormat format = format_;
  std::optional<json> message;
  if (format == ActionFormat::kOpenAI || format == ActionFormat::kAuto) {
    message = AsOpenAIMessage(action);
  }
  if (format == ActionFormat::kAuto) {
    format = message                               ? ActionFormat::kOpenAI
             : action.find(kToolCallOpen) != kNpos ? ActionFormat::kHermes
                                                   : ActionFormat::kCompact;
  }
  ParseRun run(format, tools_, options_, first_call_id, out);
  switch (format) {
    case ActionFormat::kOpenAI:
      if (message) {
        run.OpenAIMessage(*message);
      } else {
        run.Scan(action, ScanMode::kPlain);
      }
      break;
    case ActionFormat::kHermes:
      run.Scan(action, ScanMode::kHermes);
      break;
    default:
      run.Scan(action, ScanMode::kCompact);
      break;
  }
  run.Finish(action);
  return out;
}

std::string RenderAction(ActionFormat format, const std::vector<ToolCall>& calls,
                         const std::optional<std::string>& answer,
                         const std::optional<std::string>& think,
                         const std::vector<ToolSpec>& tools) {
  switch (format) {
    case ActionFormat::kOpenAI: {
      nlohmann::ordered_json message = {{"role", "assistant"}};
      std::string tags = TagText(think, answer);
      message["content"] = nullptr;
      if (!tags.empty()) message["content"] = tags;
      if (!calls.empty()) {
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const ToolCall& c : calls) {
          nlohmann::ordered_json entry;
          if (!c.id.empty()) entry["id"] = c.id;
          entry["type"] = "function";
          entry["function"] = {{"name", c.name}, {"arguments", Dump(c.arguments)}};
          list.push_back(std::move(entry));
        }
        message["tool_calls"] = std::move(list);
      }
      return message.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    case ActionFormat::kCompact: {
      // Tags first: a call's bracket text runs to the last ']' before the next call line, so a
      // tag after the calls could be swallowed by the last call.
      std::string out = TagText(think, answer);
      ParserOptions options;
      options.max_calls = 1;
      ActionParser checker(ActionFormat::kCompact, tools, options);
      for (const ToolCall& c : calls) {
        out += (out.empty() ? "" : "\n") + CompactCallText(c, checker);
      }
      return out;
    }
    case ActionFormat::kHermes:
    case ActionFormat::kAuto:
      break;
  }
  std::string out;
  if (think) out += "<think>" + *think + "</think>";
  for (const ToolCall& c : calls) out += (out.empty() ? "" : "\n") + HermesCallText(c);
  if (answer) out += (out.empty() ? "" : "\n") + ("<answer>" + *answer + "</answer>");
  return out;
}

}  // namespace toolgym::envs
