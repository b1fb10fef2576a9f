#include "envs/action_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace toolgym::envs {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using K = ActionErrorKind;

ToolSpec Tool(std::string name, json properties, json required) {
  return {std::move(name), "test tool",
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
  };
}

ParsedAction Parse(ActionFormat format, std::string_view action, ParserOptions options = {}) {
  return ActionParser(format, Tools(), options).Parse(action);
}

ToolCall Call(std::string id, std::string name, json args) {
  return {std::move(id), std::move(name), std::move(args)};
}

// The error of `kind` in `a` (exactly one expected), checked for index, tool and a phrase.
void ExpectError(const ParsedAction& a, ActionErrorKind kind, int call_index,
                 const std::string& tool, const std::string& phrase) {
  std::vector<const ActionError*> found;
  for (const ActionError& e : a.errors) {
    if (e.kind == kind) found.push_back(&e);
  }
  ASSERT_EQ(found.size(), 1u) << "errors of kind " << ActionErrorKindName(kind);
  EXPECT_EQ(found[0]->call_index, call_index);
  EXPECT_EQ(found[0]->tool, tool);
  EXPECT_THAT(found[0]->message, HasSubstr(phrase));
}

std::string Hermes(const std::string& call_json) {
  return "<tool_call>" + call_json + "</tool_call>";
}

// ---------------------------------------------------------------------------------------------
// Names.

TEST(ActionParserNamesTest, FormatNamesRoundTrip) {
  for (ActionFormat f : {ActionFormat::kHermes, ActionFormat::kOpenAI, ActionFormat::kCompact,
                         ActionFormat::kAuto}) {
    StatusOr<ActionFormat> back = ParseActionFormat(ActionFormatName(f));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, f);
  }
  EXPECT_STREQ(ActionFormatName(ActionFormat::kOpenAI), "openai");
  StatusOr<ActionFormat> bad = ParseActionFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown action format 'xml'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("hermes, openai, compact, auto"));
}

TEST(ActionParserNamesTest, ErrorKindNamesAreDistinct) {
  std::set<std::string> names;
  for (int k = 0; k <= static_cast<int>(K::kMultipleAnswers); ++k) {
    names.insert(ActionErrorKindName(static_cast<K>(k)));
  }
  EXPECT_EQ(names.size(), 13u);
  EXPECT_FALSE(names.contains("unknown"));
  EXPECT_STREQ(ActionErrorKindName(K::kBadJson), "bad_json");
  EXPECT_STREQ(ActionErrorKindName(K::kUnknownTool), "unknown_tool");
  EXPECT_STREQ(ActionErrorKindName(K::kDoubleEncoded), "double_encoded");
}

// ---------------------------------------------------------------------------------------------
// Hermes.

TEST(HermesTest, HappyPath) {
  ParsedAction a = Parse(ActionFormat::kHermes,
                         "<think>I should look.</think>\nLet me list.\n"
                         "<tool_call>\n{\"name\": \"bash\", \"arguments\": {\"command\": \"ls\"}}\n"
                         "</tool_call>\n<tool_call>{\"name\": \"read_file\", \"arguments\": "
                         "{\"path\": \"a.txt\"}}</tool_call> done");
  EXPECT_TRUE(a.well_formed()) << a.errors[0].message;
  ASSERT_EQ(a.calls.size(), 2u);
  EXPECT_EQ(a.calls[0], Call("call_0", "bash", {{"command", "ls"}}));
  EXPECT_EQ(a.calls[1], Call("call_1", "read_file", {{"path", "a.txt"}}));
  EXPECT_EQ(a.attempted_calls, 2);
  EXPECT_EQ(a.think, "I should look.");
  EXPECT_EQ(a.content, "Let me list.\ndone");
  EXPECT_FALSE(a.answer.has_value());
}

TEST(HermesTest, ToleratesFencesWhitespaceMissingArgumentsAndExtraKeys) {
  ParsedAction a = Parse(ActionFormat::kHermes,
                         "<tool_call>\n```json\n{\"name\": \"read_file\", \"arguments\": "
                         "{\"path\": \"x\"}}\n```\n</tool_call>"
                         "<tool_call>  {\"name\": \"run_tests\"}  </tool_call>"
                         "<tool_call>{\"name\": \"run_tests\", \"arguments\": null, \"id\": 3, "
                         "\"note\": \"ignored\"}</tool_call>");
  EXPECT_TRUE(a.well_formed()) << a.errors[0].message;
  ASSERT_EQ(a.calls.size(), 3u);
  EXPECT_EQ(a.calls[0].arguments, json({{"path", "x"}}));
  EXPECT_EQ(a.calls[1].arguments, json::object());
  EXPECT_EQ(a.calls[2].name, "run_tests");
}

TEST(HermesTest, ParametersIsNotAnAliasOfArguments) {
  ParsedAction a =
      Parse(ActionFormat::kHermes, Hermes(R"({"name": "bash", "parameters": {"command": "ls"}})"));
  EXPECT_TRUE(a.calls.empty());
  ExpectError(a, K::kMissingArgument, 0, "bash",
              "bash: missing required argument 'command' (string)");
}

TEST(HermesTest, AnswerIsTrimmedAndContentCollected) {
  ParsedAction a = Parse(ActionFormat::kHermes, "So the result is\n<answer>  42\n</answer>\n");
  EXPECT_TRUE(a.well_formed());
  EXPECT_EQ(a.answer, "42");
  EXPECT_EQ(a.content, "So the result is");
  EXPECT_EQ(a.attempted_calls, 0);
}

TEST(HermesTest, BadJsonGivesThePosition) {
  ParsedAction a =
      Parse(ActionFormat::kHermes, Hermes(R"({"name": "bash", "arguments": {"command": "ls"})"));
  EXPECT_TRUE(a.calls.empty());
  EXPECT_EQ(a.attempted_calls, 1);
  ExpectError(a, K::kBadJson, 0, "", "tool call 0: the JSON in <tool_call> does not parse");
  EXPECT_THAT(a.errors[0].message, HasSubstr("line 1, column"));
}

TEST(HermesTest, EmptyBlockIsBadJson) {
  ParsedAction a = Parse(ActionFormat::kHermes, "<tool_call> \n </tool_call>");
  ExpectError(a, K::kBadJson, 0, "", "the <tool_call> block is empty");
}

TEST(HermesTest, NotAnObject) {
  ExpectError(Parse(ActionFormat::kHermes, Hermes(R"(["bash", "ls"])")), K::kNotAnObject, 0, "",
              "must hold a JSON object");
  ExpectError(Parse(ActionFormat::kHermes, Hermes(R"({"name": "bash", "arguments": ["ls"]})")),
              K::kNotAnObject, 0, "bash",
              "bash: \"arguments\" must be a JSON object, got an array");
  // A string that is not JSON for an object is not double encoded, just not an object.
  ExpectError(Parse(ActionFormat::kHermes, Hermes(R"({"name": "bash", "arguments": "ls"})")),
              K::kNotAnObject, 0, "bash", "got a string");
}

TEST(HermesTest, MissingName) {
  ExpectError(Parse(ActionFormat::kHermes, Hermes(R"({"arguments": {"command": "ls"}})")),
              K::kMissingName, 0, "", "\"name\" must be a string naming one of the tools");
  ExpectError(Parse(ActionFormat::kHermes, Hermes(R"({"name": 7})")), K::kMissingName, 0, "",
              "got a number");
  ExpectError(Parse(ActionFormat::kHermes, Hermes(R"({"name": ""})")), K::kMissingName, 0, "",
              "got an empty string");
}

TEST(HermesTest, UnknownToolListsTheTools) {
  ParsedAction a =
      Parse(ActionFormat::kHermes, Hermes(R"({"name": "shell", "arguments": {"command": "ls"}})"));
  ExpectError(a, K::kUnknownTool, 0, "shell",
              "unknown tool 'shell'; available tools: bash, submit, read_file, write_file, "
              "run_tests, python");
}

TEST(HermesTest, DoubleEncodedArguments) {
  ParsedAction a = Parse(ActionFormat::kHermes,
                         Hermes(R"({"name": "bash", "arguments": "{\"command\": \"ls\"}"})"));
  EXPECT_TRUE(a.calls.empty());
  ExpectError(a, K::kDoubleEncoded, 0, "bash", "pass arguments as a JSON object, not a string");
}

TEST(HermesTest, SchemaErrorsNameTheTool) {
  ExpectError(Parse(ActionFormat::kHermes, Hermes(R"({"name": "bash", "arguments": {}})")),
              K::kMissingArgument, 0, "bash", "bash: missing required argument 'command' (string)");
  ParsedAction extra =
      Parse(ActionFormat::kHermes,
            Hermes(R"({"name": "bash", "arguments": {"command": "ls", "cmd": 1}})"));
  ExpectError(extra, K::kExtraArgument, 0, "bash",
              "bash: unexpected argument 'cmd'; expected one of: command");
  ExpectError(Parse(ActionFormat::kHermes,
                    Hermes(R"({"name": "write_file", "arguments": {"path": "a", "content": 5}})")),
              K::kWrongType, 0, "write_file",
              "write_file: argument 'content' must be a string, got the number 5");
  ExpectError(Parse(ActionFormat::kHermes,
                    Hermes(R"({"name": "run_tests", "arguments": {"verbose": true}})")),
              K::kExtraArgument, 0, "run_tests", "this tool takes no arguments");
}

TEST(HermesTest, SchemaErrorsPerCallAreCapped) {
  json args = {{"command", "ls"}};
  for (int i = 0; i < 50; ++i) args["k" + std::to_string(i)] = i;
  ParsedAction a =
      Parse(ActionFormat::kHermes, Hermes(json{{"name", "bash"}, {"arguments", args}}.dump()));
  EXPECT_EQ(a.errors.size(), 8u);
  EXPECT_THAT(a.errors.back().message, HasSubstr("(and 42 more argument errors in this call)"));
}

TEST(HermesTest, UnclosedTags) {
  ParsedAction call =
      Parse(ActionFormat::kHermes,
            "<tool_call>{\"name\": \"bash\", \"arguments\": {\"command\": \"ls\"}}");
  EXPECT_TRUE(call.calls.empty());
  EXPECT_EQ(call.attempted_calls, 1);
  ExpectError(call, K::kUnclosedTag, 0, "", "<tool_call> is never closed");

  // An unclosed <think> is reported, and the call after it still runs.
  ParsedAction think =
      Parse(ActionFormat::kHermes, "<think>hmm\n" + Hermes(R"({"name": "run_tests"})"));
  ExpectError(think, K::kUnclosedTag, -1, "", "<think> is never closed; close it with </think>");
  ASSERT_EQ(think.calls.size(), 1u);
  EXPECT_EQ(think.calls[0].name, "run_tests");
  EXPECT_FALSE(think.think.has_value());

  ExpectError(Parse(ActionFormat::kHermes, "<answer>42"), K::kUnclosedTag, -1, "",
              "<answer> is never closed");
}

TEST(HermesTest, MixedValidAndInvalidCallsKeepTheValidOnes) {
  ParsedAction a = Parse(ActionFormat::kHermes,
                         Hermes(R"({"name": "bash", "arguments": {"command": "ls"}})") +
                             Hermes(R"({"name": "nope"})") + Hermes("{bad") +
                             Hermes(R"j({"name": "python", "arguments": {"code": "print(1)"}})j"));
  EXPECT_EQ(a.attempted_calls, 4);
  ASSERT_EQ(a.calls.size(), 2u);
  EXPECT_EQ(a.calls[0], Call("call_0", "bash", {{"command", "ls"}}));
  // Ids count the valid calls, so an episode's ids have no gaps.
  EXPECT_EQ(a.calls[1], Call("call_1", "python", {{"code", "print(1)"}}));
  ASSERT_EQ(a.errors.size(), 2u);
  ExpectError(a, K::kUnknownTool, 1, "nope", "unknown tool 'nope'");
  ExpectError(a, K::kBadJson, 2, "", "tool call 2");
}

TEST(HermesTest, ToolCallInsideThinkIsReasoning) {
  ParsedAction a = Parse(ActionFormat::kHermes, "<think>maybe " + Hermes(R"({"name": "bash"})") +
                                                    "</think><answer>no</answer>");
  EXPECT_TRUE(a.well_formed());
  EXPECT_TRUE(a.calls.empty());
  EXPECT_EQ(a.attempted_calls, 0);
  EXPECT_THAT(*a.think, HasSubstr("<tool_call>"));
  EXPECT_EQ(a.answer, "no");
}

// ---------------------------------------------------------------------------------------------
// Errors for the action as a whole, in every format.

TEST(ActionErrorsTest, EmptyAction) {
  for (ActionFormat f : {ActionFormat::kHermes, ActionFormat::kOpenAI, ActionFormat::kCompact,
                         ActionFormat::kAuto}) {
    ParsedAction a = Parse(f, " \n\t ");
    ASSERT_EQ(a.errors.size(), 1u) << ActionFormatName(f);
    ExpectError(a, K::kEmptyAction, -1, "", "the action is empty");
  }
  ExpectError(Parse(ActionFormat::kOpenAI, R"({"content": null, "tool_calls": []})"),
              K::kEmptyAction, -1, "", "the action is empty");
  // Text, reasoning or an answer alone is not empty.
  EXPECT_TRUE(Parse(ActionFormat::kHermes, "ok").well_formed());
  EXPECT_TRUE(Parse(ActionFormat::kCompact, "<think></think>").well_formed());
}

TEST(ActionErrorsTest, NoToolCallOnlyWhenRequired) {
  ParserOptions require;
  require.require_call_or_answer = true;
  ExpectError(Parse(ActionFormat::kHermes, "I will think about it.", require), K::kNoToolCall, -1,
              "", "the action has no tool call and no final answer");
  ExpectError(Parse(ActionFormat::kCompact, "<think>hm</think>", require), K::kNoToolCall, -1, "",
              "a line <tool>[arguments]");
  ExpectError(Parse(ActionFormat::kOpenAI, R"({"content": "thinking"})", require), K::kNoToolCall,
              -1, "", "\"tool_calls\"");
  // Not without the option, nor with an answer or a call (even an invalid one, which has its
  // own error).
  EXPECT_TRUE(Parse(ActionFormat::kHermes, "I will think about it.").well_formed());
  EXPECT_TRUE(Parse(ActionFormat::kHermes, "<answer>7</answer>", require).well_formed());
  EXPECT_TRUE(Parse(ActionFormat::kCompact, "run_tests[]", require).well_formed());
  ParsedAction invalid = Parse(ActionFormat::kCompact, "nope[x]", require);
  ASSERT_EQ(invalid.errors.size(), 1u);
  EXPECT_EQ(invalid.errors[0].kind, K::kUnknownTool);
}

TEST(ActionErrorsTest, TooManyCalls) {
  ParserOptions options;
  options.max_calls = 2;
  ParsedAction a =
      Parse(ActionFormat::kCompact, "run_tests[]\nbash[ls]\nbash[pwd]\nnope[]", options);
  EXPECT_EQ(a.attempted_calls, 4);
  ASSERT_EQ(a.calls.size(), 2u);
  EXPECT_EQ(a.calls[1].arguments, json({{"command", "ls"}}));
  ASSERT_EQ(a.errors.size(), 1u);  // the dropped calls are not checked
  ExpectError(a, K::kTooManyCalls, 2, "", "too many tool calls: 4 in one action, at most 2");
}

TEST(ActionErrorsTest, MultipleAnswersKeepTheFirst) {
  for (ActionFormat f : {ActionFormat::kHermes, ActionFormat::kCompact}) {
    ParsedAction a = Parse(f, "<answer>1</answer> or maybe <answer>2</answer>");
    EXPECT_EQ(a.answer, "1");
    ExpectError(a, K::kMultipleAnswers, -1, "", "2 <answer> blocks; give exactly one");
  }
  ParsedAction o =
      Parse(ActionFormat::kOpenAI, R"({"content": "<answer>a</answer><answer>b</answer>"})");
  ExpectError(o, K::kMultipleAnswers, -1, "", "2 <answer> blocks");
}

TEST(ActionErrorsTest, ContentIsValidUtf8) {
  ParsedAction a = Parse(ActionFormat::kHermes, "bad \xff byte<answer>\xc3\x28</answer>");
  EXPECT_EQ(a.content, "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(a.answer, "\xEF\xBF\xBD(");
}

// ---------------------------------------------------------------------------------------------
// Ids.

TEST(CallIdsTest, PrefixFirstIdAndContinuation) {
  ParserOptions options;
  options.id_prefix = "t";
  options.first_call_id = 3;
  ActionParser parser(ActionFormat::kCompact, Tools(), options);
  ParsedAction a = parser.Parse("bash[ls]\nnope[]\nrun_tests[]");
  ASSERT_EQ(a.calls.size(), 2u);
  EXPECT_EQ(a.calls[0].id, "t3");
  EXPECT_EQ(a.calls[1].id, "t4");
  ParsedAction next = parser.Parse("run_tests[]", 5);
  ASSERT_EQ(next.calls.size(), 1u);
  EXPECT_EQ(next.calls[0].id, "t5");
}

TEST(CallIdsTest, OpenAIKeepsClientIds) {
  ParsedAction a = Parse(ActionFormat::kOpenAI, R"({"tool_calls": [
      {"id": "abc", "type": "function", "function": {"name": "run_tests", "arguments": "{}"}},
      {"id": "", "function": {"name": "run_tests", "arguments": "{}"}},
      {"id": 5, "function": {"name": "run_tests"}}]})");
  EXPECT_TRUE(a.well_formed()) << a.errors[0].message;
  ASSERT_EQ(a.calls.size(), 3u);
  EXPECT_EQ(a.calls[0].id, "abc");
  EXPECT_EQ(a.calls[1].id, "call_1");
  EXPECT_EQ(a.calls[2].id, "call_2");
}

// ---------------------------------------------------------------------------------------------
// OpenAI.

TEST(OpenAITest, HappyPath) {
  json message = {
      {"role", "assistant"},
      {"content", "<think>plan</think>Listing files."},
      {"tool_calls",
       {{{"id", "call_9"},
         {"type", "function"},
         {"function", {{"name", "bash"}, {"arguments", R"({"command": "ls -la"})"}}}},
        {{"type", "function"},
         {"function",
          {{"name", "write_file"}, {"arguments", {{"path", "a"}, {"content", "b"}}}}}}}}};
  ParsedAction a = Parse(ActionFormat::kOpenAI, message.dump());
  EXPECT_TRUE(a.well_formed()) << a.errors[0].message;
  ASSERT_EQ(a.calls.size(), 2u);
  EXPECT_EQ(a.calls[0], Call("call_9", "bash", {{"command", "ls -la"}}));
  EXPECT_EQ(a.calls[1], Call("call_1", "write_file", {{"path", "a"}, {"content", "b"}}));
  EXPECT_EQ(a.think, "plan");
  EXPECT_EQ(a.content, "Listing files.");
}

TEST(OpenAITest, ArgumentsForms) {
  auto one = [](const json& arguments) {
    json fn = {{"name", "run_tests"}};
    if (!arguments.is_discarded()) fn["arguments"] = arguments;
    return Parse(ActionFormat::kOpenAI, json{{"tool_calls", {{{"function", fn}}}}}.dump());
  };
  EXPECT_TRUE(one(json(json::value_t::discarded)).well_formed());
  EXPECT_TRUE(one("").well_formed());
  EXPECT_TRUE(one(" {} ").well_formed());
  EXPECT_TRUE(one(json::object()).well_formed());
  EXPECT_TRUE(one(nullptr).well_formed());
  ExpectError(one("{\"a\": "), K::kBadJson, 0, "run_tests",
              "run_tests: \"arguments\" is not valid JSON");
  ExpectError(one("[1]"), K::kNotAnObject, 0, "run_tests",
              "\"arguments\" must encode a JSON object, got an array");
  ExpectError(one(7), K::kNotAnObject, 0, "run_tests", "got a number");
  ExpectError(one(json("{}").dump()), K::kDoubleEncoded, 0, "run_tests",
              "\"arguments\" is JSON-encoded twice");
}

TEST(OpenAITest, MalformedEntries) {
  ParsedAction a = Parse(ActionFormat::kOpenAI, R"({"content": null, "tool_calls": [
      5,
      {"function": {"arguments": "{}"}},
      {"type": "function"},
      {"function": {"name": "ghost", "arguments": "{}"}},
      {"function": {"name": "bash", "arguments": "{\"cmd\": \"ls\"}"}}]})");
  EXPECT_TRUE(a.calls.empty());
  EXPECT_EQ(a.attempted_calls, 5);
  ExpectError(a, K::kNotAnObject, 0, "", "each entry of \"tool_calls\" must be an object");
  std::vector<ActionError> missing;
  for (const auto& e : a.errors) {
    if (e.kind == K::kMissingName) missing.push_back(e);
  }
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(missing[0].call_index, 1);
  EXPECT_THAT(missing[0].message, HasSubstr("got no \"name\""));
  EXPECT_EQ(missing[1].call_index, 2);
  EXPECT_THAT(missing[1].message, HasSubstr("got no \"function\""));
  ExpectError(a, K::kUnknownTool, 3, "ghost", "unknown tool 'ghost'");
  ExpectError(a, K::kMissingArgument, 4, "bash", "missing required argument 'command'");
  ExpectError(a, K::kExtraArgument, 4, "bash", "unexpected argument 'cmd'");
}

TEST(OpenAITest, ToolCallsAndContentShapes) {
  ExpectError(Parse(ActionFormat::kOpenAI, R"({"content": "x", "tool_calls": {"a": 1}})"),
              K::kNotAnObject, -1, "", "\"tool_calls\" must be an array");
  ExpectError(Parse(ActionFormat::kOpenAI, R"({"content": 5})"), K::kNotAnObject, -1, "",
              "\"content\" must be a string or null, got a number");
  ParsedAction parts = Parse(ActionFormat::kOpenAI, R"({"content": [
      {"type": "text", "text": "<answer>7"}, {"type": "image_url"}, {"type": "text", "text": "</answer>"}]})");
  EXPECT_TRUE(parts.well_formed());
  EXPECT_EQ(parts.answer, "7");
}

TEST(OpenAITest, PlainTextIsContent) {
  ParsedAction a = Parse(ActionFormat::kOpenAI, "Just text <answer>5</answer>");
  EXPECT_TRUE(a.well_formed());
  EXPECT_TRUE(a.calls.empty());
  EXPECT_EQ(a.content, "Just text");
  EXPECT_EQ(a.answer, "5");
  // A JSON object that is not a message, and Hermes text, are content too.
  ParsedAction obj = Parse(ActionFormat::kOpenAI, R"({"name": "bash"})");
  EXPECT_EQ(obj.content, R"({"name": "bash"})");
  EXPECT_EQ(obj.attempted_calls, 0);
  ParsedAction hermes = Parse(ActionFormat::kOpenAI, Hermes(R"({"name": "run_tests"})"));
  EXPECT_EQ(hermes.attempted_calls, 0);
  EXPECT_THAT(hermes.content, HasSubstr("<tool_call>"));
}

// ---------------------------------------------------------------------------------------------
// Compact.

TEST(CompactTest, HappyPath) {
  ParsedAction a = Parse(ActionFormat::kCompact,
                         "<think>look around</think>\nFirst list.\nbash[ls -la | grep ']' ]\n"
                         "  read_file[src/main.py]\nrun_tests[]\n");
  EXPECT_TRUE(a.well_formed()) << a.errors[0].message;
  ASSERT_EQ(a.calls.size(), 3u);
  // Verbatim, not trimmed, and up to the last ']' before the next call line.
  EXPECT_EQ(a.calls[0], Call("call_0", "bash", {{"command", "ls -la | grep ']' "}}));
  EXPECT_EQ(a.calls[1], Call("call_1", "read_file", {{"path", "src/main.py"}}));
  EXPECT_EQ(a.calls[2], Call("call_2", "run_tests", json::object()));
  EXPECT_EQ(a.think, "look around");
  EXPECT_EQ(a.content, "First list.");
}

TEST(CompactTest, MultiLineArgumentKeepsIndexingLines) {
  ParsedAction a = Parse(ActionFormat::kCompact,
                         "python[import sys\na = [1, 2]\na[0] = 3\nprint(a[0])\n]\nbash[echo ok]");
  EXPECT_TRUE(a.well_formed()) << a.errors[0].message;
  ASSERT_EQ(a.calls.size(), 2u);
  EXPECT_EQ(a.calls[0].arguments["code"], "import sys\na = [1, 2]\na[0] = 3\nprint(a[0])\n");
  EXPECT_EQ(a.calls[1].arguments["command"], "echo ok");
}

TEST(CompactTest, ProseIsNotACall) {
  ParsedAction a = Parse(ActionFormat::kCompact,
                         "The value a[0] is the first; see bash[ls] mid-line.\n<answer>x</answer>");
  EXPECT_TRUE(a.well_formed());
  EXPECT_EQ(a.attempted_calls, 0);
  EXPECT_EQ(a.answer, "x");
  EXPECT_THAT(a.content, HasSubstr("a[0]"));
}

TEST(CompactTest, UnknownNameAtLineStart) {
  ParsedAction a = Parse(ActionFormat::kCompact, "shell[ls]\nbash[pwd]");
  ExpectError(a, K::kUnknownTool, 0, "shell", "unknown tool 'shell'; available tools: bash");
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0], Call("call_0", "bash", {{"command", "pwd"}}));
}

TEST(CompactTest, UnknownNameAfterACallEndsIt) {
  // A line with an unknown name ends the call before it where a call plausibly starts (the text
  // before ends in ']' and so does the line)...
  ParsedAction typo = Parse(ActionFormat::kCompact, "bash[ls]\nbsh[pwd]\nrun_tests[]");
  ASSERT_EQ(typo.calls.size(), 2u);
  EXPECT_EQ(typo.calls[0].arguments["command"], "ls");
  EXPECT_EQ(typo.calls[1].name, "run_tests");
  ExpectError(typo, K::kUnknownTool, 1, "bsh", "unknown tool 'bsh'");
  // ... and nowhere else, so indexing lines of multi-line code stay in the code.
  ParsedAction code =
      Parse(ActionFormat::kCompact, "python[for i in range(3):\n    a[i] = i\nb[0] = a[1]\n]");
  EXPECT_TRUE(code.well_formed()) << code.errors[0].message;
  ASSERT_EQ(code.calls.size(), 1u);
  EXPECT_EQ(code.calls[0].arguments["code"], "for i in range(3):\n    a[i] = i\nb[0] = a[1]\n");
}

TEST(CompactTest, JsonArguments) {
  ParsedAction a = Parse(ActionFormat::kCompact,
                         "write_file[{\"path\": \"a.txt\", \"content\": \"x]\\ny\"}]\n"
                         "bash[ {\"command\": \"pwd\"} ]\nrun_tests[ {} ]\nread_file[]");
  EXPECT_TRUE(a.well_formed()) << a.errors[0].message;
  ASSERT_EQ(a.calls.size(), 4u);
  EXPECT_EQ(a.calls[0].arguments, json({{"path", "a.txt"}, {"content", "x]\ny"}}));
  EXPECT_EQ(a.calls[1].arguments, json({{"command", "pwd"}}));  // a JSON object is the object
  EXPECT_EQ(a.calls[2].arguments, json::object());
  EXPECT_EQ(a.calls[3].arguments, json({{"path", ""}}));  // verbatim empty text
}

TEST(CompactTest, ArgumentErrors) {
  ExpectError(Parse(ActionFormat::kCompact, "run_tests[now]"), K::kExtraArgument, 0, "run_tests",
              "run_tests: this tool takes no arguments; call it as run_tests[]");
  ExpectError(Parse(ActionFormat::kCompact, "write_file[a.txt hello]"), K::kBadJson, 0,
              "write_file", "the arguments must be a JSON object like write_file[{\"content\"");
  ExpectError(Parse(ActionFormat::kCompact, "write_file[[1, 2]]"), K::kNotAnObject, 0, "write_file",
              "got an array");
  ExpectError(Parse(ActionFormat::kCompact, R"(write_file["{\"path\": \"p\"}"])"),
              K::kDoubleEncoded, 0, "write_file", "a JSON string holding an object");
  ExpectError(Parse(ActionFormat::kCompact, R"(write_file[{"path": "p"}])"), K::kMissingArgument, 0,
              "write_file", "write_file: missing required argument 'content' (string)");
  ExpectError(Parse(ActionFormat::kCompact, "bash[ls\nrun_tests[]"), K::kUnclosedTag, 0, "bash",
              "bash: '[' is never closed");
  ExpectError(Parse(ActionFormat::kCompact, "bash[echo \xff]"), K::kWrongType, 0, "bash",
              "argument 'command' is not valid UTF-8 text (byte 0xff at offset 5)");
}

TEST(CompactTest, NonStringParameterTakesJson) {
  std::vector<ToolSpec> tools = {Tool("sleep", {{"seconds", {{"type", "integer"}}}}, {"seconds"})};
  ActionParser parser(ActionFormat::kCompact, tools);
  ParsedAction ok = parser.Parse("sleep[5]");
  ASSERT_EQ(ok.calls.size(), 1u);
  EXPECT_EQ(ok.calls[0].arguments, json({{"seconds", 5}}));
  ParsedAction bad = parser.Parse("sleep[soon]");
  ExpectError(bad, K::kWrongType, 0, "sleep",
              "argument 'seconds' must be an integer, got the string \"soon\"");
}

TEST(CompactTest, TagsAroundCalls) {
  ParsedAction a = Parse(ActionFormat::kCompact,
                         "<think>\nbash[not a call]\n</think>\nbash[ls]\n<answer>done</answer>");
  EXPECT_TRUE(a.well_formed());
  ASSERT_EQ(a.calls.size(), 1u);
  EXPECT_EQ(a.calls[0].arguments["command"], "ls");
  EXPECT_EQ(a.answer, "done");
  EXPECT_EQ(a.think, "\nbash[not a call]\n");
}

// ---------------------------------------------------------------------------------------------
// Auto.

TEST(AutoTest, DetectsTheFormat) {
  ParsedAction openai = Parse(
      ActionFormat::kAuto,
      R"( {"content": "", "tool_calls": [{"function": {"name": "bash", "arguments": "{\"command\": \"ls\"}"}}]} )");
  ASSERT_EQ(openai.calls.size(), 1u);
  EXPECT_EQ(openai.calls[0].arguments["command"], "ls");

  ParsedAction hermes = Parse(ActionFormat::kAuto, "x " + Hermes(R"({"name": "run_tests"})"));
  ASSERT_EQ(hermes.calls.size(), 1u);
  EXPECT_EQ(hermes.calls[0].name, "run_tests");
  EXPECT_EQ(hermes.content, "x");

  ParsedAction compact = Parse(ActionFormat::kAuto, "bash[ls]");
  ASSERT_EQ(compact.calls.size(), 1u);
  EXPECT_EQ(compact.calls[0].arguments["command"], "ls");

  // A JSON object that is not a message falls through to the text formats.
  ParsedAction other = Parse(ActionFormat::kAuto, "{\"answer\": 1}\nrun_tests[]");
  ASSERT_EQ(other.calls.size(), 1u);
  EXPECT_EQ(other.calls[0].name, "run_tests");
  // Hermes detection wins over compact lines.
  ParsedAction both = Parse(ActionFormat::kAuto, "bash[ls]\n" + Hermes(R"({"name": "run_tests"})"));
  ASSERT_EQ(both.calls.size(), 1u);
  EXPECT_EQ(both.calls[0].name, "run_tests");
}

// ---------------------------------------------------------------------------------------------
// Rendering.

std::vector<ToolCall> TrickyCalls() {
  return {
      Call("call_0", "bash", {{"command", "echo \"hi\" 'there' > out.txt && cat out.txt"}}),
      Call("call_1", "bash", {{"command", "printf 'a]\\nb[' ; echo ] ]"}}),
      Call("call_2", "python", {{"code", "a = [1]\na[0] = 2\nprint(a)\n"}}),
      Call("call_3", "write_file",
           {{"path", "notes/\u00fcber \u4e2d\u6587.txt"},
            {"content", "</tool_call>\n<answer>no</answer>\n<think>\n\u2603 \U0001F600"}}),
      Call("call_4", "run_tests", json::object()),
      Call("call_5", "submit", {{"answer", ""}}),
      Call("call_6", "bash", {{"command", "  padded  "}}),
      Call("call_7", "bash", {{"command", "{\"command\": \"ls\"}"}}),
      Call("call_8", "python", {{"code", "x = 1\nbash[ls]\n"}}),  // a call line inside
      Call("call_9", "read_file", {{"path", "C:\\dir\\file]"}}),
      Call("call_10", "bash", {{"command", "tab\there\r\nnul\u0001"}}),
  };
}

TEST(RenderActionTest, RoundTripsEveryFormat) {
  std::vector<ToolCall> calls = TrickyCalls();
  ParserOptions options;
  options.max_calls = 100;
  for (ActionFormat f : {ActionFormat::kHermes, ActionFormat::kOpenAI, ActionFormat::kCompact,
                         ActionFormat::kAuto}) {
    std::string text = RenderAction(f, calls, "the answer", "step 1\nstep 2", Tools());
    ParsedAction back = ActionParser(f, Tools(), options).Parse(text);
    EXPECT_TRUE(back.well_formed()) << ActionFormatName(f) << ": " << back.errors[0].message << "\n"
                                    << text;
    EXPECT_EQ(back.calls, calls) << ActionFormatName(f) << ":\n" << text;
    EXPECT_EQ(back.answer, "the answer") << ActionFormatName(f);
    EXPECT_EQ(back.think, "step 1\nstep 2") << ActionFormatName(f);
    EXPECT_EQ(back.content, "") << ActionFormatName(f);
  }
}

TEST(RenderActionTest, RoundTripsEachCallAlone) {
  for (const ToolCall& call : TrickyCalls()) {
    ToolCall first = call;
    first.id = "call_0";
    for (ActionFormat f : {ActionFormat::kHermes, ActionFormat::kOpenAI, ActionFormat::kCompact}) {
      std::string text = RenderAction(f, {first}, std::nullopt, std::nullopt, Tools());
      ParsedAction back = ActionParser(f, Tools()).Parse(text);
      ASSERT_EQ(back.calls.size(), 1u) << ActionFormatName(f) << ": " << text;
      EXPECT_EQ(back.calls[0], first) << ActionFormatName(f) << ": " << text;
    }
  }
}

TEST(RenderActionTest, CallTextDoesNotDependOnTheCallBefore) {
  // Found by the fuzzer: a line ending in a NUL byte once counted as no line, so `r[]` after it
  // looked like a call start following `run_tests[]` and cut the argument short.
  std::vector<ToolCall> calls = {
      Call("call_0", "run_tests", json::object()),
      Call("call_1", "read_file", {{"path", std::string("a\0\nr[", 5)}})};
  std::string text =
      RenderAction(ActionFormat::kCompact, calls, std::nullopt, std::nullopt, Tools());
  EXPECT_EQ(text, std::string("run_tests[]\nread_file[a\0\nr[]", 28));
  EXPECT_EQ(ActionParser(ActionFormat::kCompact, Tools()).Parse(text).calls, calls);
}

TEST(RenderActionTest, Shapes) {
  // Hermes escapes '<' so argument text cannot close the block.
  std::string hermes =
      RenderAction(ActionFormat::kHermes, {Call("c", "bash", {{"command", "echo </tool_call>"}})});
  EXPECT_EQ(hermes,
            "<tool_call>\n{\"name\": \"bash\", \"arguments\": {\"command\": \"echo "
            "\\u003c/tool_call>\"}}\n</tool_call>");
  EXPECT_EQ(RenderAction(ActionFormat::kAuto, {Call("c", "run_tests", json::object())}),
            "<tool_call>\n{\"name\": \"run_tests\", \"arguments\": {}}\n</tool_call>");
  // OpenAI: arguments are a JSON string, as the API sends them.
  json openai = json::parse(
      RenderAction(ActionFormat::kOpenAI, {Call("abc", "bash", {{"command", "ls"}})}, "4"));
  EXPECT_EQ(openai["content"], "<answer>4</answer>");
  EXPECT_EQ(openai["tool_calls"][0]["id"], "abc");
  EXPECT_EQ(openai["tool_calls"][0]["function"]["arguments"], "{\"command\":\"ls\"}");
  // Compact: one-parameter tools verbatim, others (and all without tool specs) as JSON.
  std::vector<ToolCall> calls = {Call("c", "bash", {{"command", "ls -la"}}),
                                 Call("c", "write_file", {{"path", "p"}, {"content", "c"}}),
                                 Call("c", "run_tests", json::object()),
                                 Call("c", "python", {{"code", "x = 1\nbash[ls]"}})};
  EXPECT_EQ(RenderAction(ActionFormat::kCompact, calls, std::nullopt, std::nullopt, Tools()),
            "bash[ls -la]\nwrite_file[{\"content\":\"c\",\"path\":\"p\"}]\nrun_tests[]\n"
            "python[{\"code\":\"x = 1\\nbash[ls]\"}]");
  std::string no_specs = RenderAction(ActionFormat::kCompact, {calls[0]});
  EXPECT_EQ(no_specs, "bash[{\"command\":\"ls -la\"}]");
  ParsedAction back = ActionParser(ActionFormat::kCompact, Tools()).Parse(no_specs);
  ASSERT_EQ(back.calls.size(), 1u);
  EXPECT_EQ(back.calls[0].arguments, calls[0].arguments);
}

// ---------------------------------------------------------------------------------------------
// Robustness: hostile inputs finish quickly with bounded reports (the fuzzer covers the rest).

TEST(RobustnessTest, PathologicalInputs) {
  std::string many_opens;
  for (int i = 0; i < 100000; ++i) many_opens += "<tool_call><think><answer>";
  ParsedAction a = Parse(ActionFormat::kHermes, many_opens);
  EXPECT_EQ(a.attempted_calls, 1);  // only the first unclosed <tool_call> counts
  EXPECT_EQ(a.errors.size(), 3u);   // one kUnclosedTag per tag

  std::string lines;
  for (int i = 0; i < 100000; ++i) lines += "bash[\n";
  ParsedAction b = Parse(ActionFormat::kCompact, lines);
  EXPECT_EQ(b.attempted_calls, 100000);
  EXPECT_TRUE(b.calls.empty());
  EXPECT_LE(b.errors.size(), 17u);  // max_calls errors plus kTooManyCalls

  std::string deep = R"({"name": "bash", "arguments": {"command": "ls", "x": )" +
                     std::string(100000, '[') + std::string(100000, ']') + "}}";
  ExpectError(Parse(ActionFormat::kHermes, Hermes(deep)), K::kBadJson, 0, "",
              "nests arrays and objects deeper than 65 levels");
  // The same nesting inside OpenAI arguments, and as the whole action.
  ExpectError(
      Parse(ActionFormat::kOpenAI,
            json{{"tool_calls", {{{"function", {{"name", "bash"}, {"arguments", deep}}}}}}}.dump()),
      K::kBadJson, 0, "bash", "deeper than 64 levels");
  EXPECT_EQ(Parse(ActionFormat::kAuto, std::string(100000, '{')).attempted_calls, 0);
}

TEST(RobustnessTest, ParseIsThreadSafe) {
  ActionParser parser(ActionFormat::kAuto, Tools());
  std::string text = RenderAction(ActionFormat::kHermes, TrickyCalls(), "a", "t", Tools());
  ParsedAction expected = parser.Parse(text);
  ASSERT_EQ(expected.calls.size(), 11u);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) mismatches[t] += parser.Parse(text).calls != expected.calls;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace toolgym::envs
