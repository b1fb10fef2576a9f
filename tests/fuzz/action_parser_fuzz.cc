// libFuzzer target for envs/action_parser: every input is parsed in every format, and the
// parse must satisfy the parser's contract:
//  - it returns (no crash, no exception, no hang; libFuzzer's -timeout catches slow inputs);
//  - every kept call names a known tool and its arguments validate against the tool's schema;
//  - every string it returns (content, answer, think, messages) is valid UTF-8;
//  - rendering the kept calls, answer and reasoning back into the same format and parsing that
//    text gives them back unchanged, well formed (RenderAction's round-trip promise).
// Any violation prints what differed and aborts, which libFuzzer records as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "envs/action_parser.h"
#include "envs/json_schema.h"

namespace {

using nlohmann::json;
using toolgym::envs::ActionFormat;
using toolgym::envs::ActionParser;
using toolgym::envs::ParsedAction;
using toolgym::envs::ParserOptions;
using toolgym::envs::ToolCall;
using toolgym::envs::ToolSpec;

ToolSpec Tool(std::string name, json properties, json required) {
  return {std::move(name), "",
          json{{"type", "object"},
               {"properties", std::move(properties)},
               {"required", std::move(required)},
               {"additionalProperties", false}}};
}

std::vector<ToolSpec> Tools() {
  json str = {{"type", "string"}};
  return {
      Tool("bash", {{"command", str}}, {"command"}),
      Tool("submit", {{"answer", str}}, {"answer"}),
      Tool("read_file", {{"path", str}}, {"path"}),
      Tool("write_file", {{"path", str}, {"content", str}}, {"path", "content"}),
      Tool("run_tests", json::object(), json::array()),
      Tool("python", {{"code", str}}, {"code"}),
      // A single non-string parameter (compact takes the bracket text as JSON) and an optional
      // one with a range and an enum.
      Tool("sleep", {{"seconds", {{"type", "integer"}, {"minimum", 0}, {"maximum", 60}}}},
           {"seconds"}),
      Tool("search", {{"query", str}, {"mode", {{"type", "string"}, {"enum", {"fast", "exact"}}}}},
           {"query"}),
  };
}

[[noreturn]] void Fail(const char* what, ActionFormat format, const std::string& detail) {
  // As a JSON string, so NUL bytes, control characters and invalid UTF-8 show.
  std::fprintf(stderr, "action_parser_fuzz: %s (format %s)\n%s\n", what,
               toolgym::envs::ActionFormatName(format),
               json(detail).dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  std::abort();
}

// Strict dump: throws on invalid UTF-8.
void RequireUtf8(const std::string& s, const char* what, ActionFormat format) {
  try {
    (void)json(s).dump();
  } catch (const json::exception&) {
    Fail(what, format, "not valid UTF-8");
  }
}

std::string Show(const std::vector<ToolCall>& calls) {
  json j = json::array();
  for (const ToolCall& c : calls) j.push_back(c);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void CheckParse(const ActionParser& parser, bool require_call_or_answer, std::string_view action) {
  const ActionFormat format = parser.format();
  ParsedAction a = parser.Parse(action);
  if (static_cast<int>(a.calls.size()) > a.attempted_calls)
    Fail("more calls than attempts", format, "");
  RequireUtf8(a.content, "content", format);
  if (a.answer) RequireUtf8(*a.answer, "answer", format);
  if (a.think) RequireUtf8(*a.think, "think", format);
  for (const auto& e : a.errors) {
    RequireUtf8(e.message, "error message", format);
    RequireUtf8(e.tool, "error tool", format);
    if (e.message.empty()) Fail("empty error message", format, "");
    if (e.call_index >= a.attempted_calls) Fail("error call_index out of range", format, e.message);
  }
  for (const ToolCall& c : a.calls) {
    const ToolSpec* tool = nullptr;
    for (const ToolSpec& t : parser.tools()) {
      if (t.name == c.name) tool = &t;
    }
    if (tool == nullptr) Fail("a call to an unknown tool was kept", format, c.name);
    if (!toolgym::envs::ValidateJson(tool->parameters, c.arguments).empty()) {
      Fail("a kept call does not validate", format, Show({c}));
    }
  }

  std::string text =
      toolgym::envs::RenderAction(format, a.calls, a.answer, a.think, parser.tools());
  ParsedAction b = parser.Parse(text);
  bool same_calls = b.calls.size() == a.calls.size();
  for (std::size_t i = 0; same_calls && i < a.calls.size(); ++i) {
    // kAuto renders kHermes, which carries no call ids: ids given by an OpenAI client are
    // replaced by the parser's own on the way back.
    same_calls = a.calls[i].name == b.calls[i].name &&
                 a.calls[i].arguments == b.calls[i].arguments &&
                 (format == ActionFormat::kAuto || a.calls[i].id == b.calls[i].id);
  }
  if (!same_calls) {
    Fail("round trip changed the calls", format,
         "rendered: " + text + "\nbefore: " + Show(a.calls) + "\nafter:  " + Show(b.calls));
  }
  if (a.answer != b.answer) Fail("round trip changed the answer", format, "rendered: " + text);
  if (a.think != b.think) Fail("round trip changed the reasoning", format, "rendered: " + text);
  // Rendered text is well formed unless it is empty, or holds only reasoning for a parser that
  // requires a call or an answer.
  bool expect_well_formed = !a.calls.empty() || a.answer || (a.think && !require_call_or_answer);
  if (expect_well_formed && !b.errors.empty()) {
    Fail("rendered action is not well formed", format,
         "rendered: " + text + "\nfirst error: " + b.errors[0].message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  struct Case {
    ActionParser parser;
    bool require_call_or_answer;
  };
  static const std::vector<Case>* cases = [] {
    auto* p = new std::vector<Case>;
    for (ActionFormat f : {ActionFormat::kHermes, ActionFormat::kOpenAI, ActionFormat::kCompact,
                           ActionFormat::kAuto}) {
      p->push_back({ActionParser(f, Tools()), false});
    }
    // Small limits exercise kTooManyCalls and kNoToolCall.
    ParserOptions strict;
    strict.max_calls = 2;
    strict.require_call_or_answer = true;
    strict.id_prefix = "t";
    strict.first_call_id = 7;
    p->push_back({ActionParser(ActionFormat::kAuto, Tools(), strict), true});
    p->push_back({ActionParser(ActionFormat::kCompact, Tools(), strict), true});
    return p;
  }();
  std::string_view action(reinterpret_cast<const char*>(data), size);
  for (const Case& c : *cases) CheckParse(c.parser, c.require_call_or_answer, action);
  return 0;
}
