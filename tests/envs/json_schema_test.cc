#include "envs/json_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace toolgym::envs {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using Kind = SchemaError::Kind;

// {command: string (required), timeout: integer 1..600}, closed.
json BashSchema() {
  return json::parse(R"({
    "type": "object",
    "properties": {
      "command": {"type": "string", "minLength": 1, "description": "shell command"},
      "timeout": {"type": "integer", "minimum": 1, "maximum": 600}
    },
    "required": ["command"],
    "additionalProperties": false
  })");
}

TEST(ValidateJsonTest, AcceptsValidArguments) {
  EXPECT_TRUE(ValidateJson(BashSchema(), {{"command", "ls"}}).empty());
  EXPECT_TRUE(ValidateJson(BashSchema(), {{"command", "ls"}, {"timeout", 30}}).empty());
}

TEST(ValidateJsonTest, IntegralNumberIsAnInteger) {
  EXPECT_TRUE(
      ValidateJson(BashSchema(), json::parse(R"({"command": "ls", "timeout": 5.0})")).empty());
  auto errors = ValidateJson(BashSchema(), json::parse(R"({"command": "ls", "timeout": 5.5})"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, Kind::kType);
  EXPECT_EQ(errors[0].message, "argument 'timeout' must be an integer, got the number 5.5");
}

TEST(ValidateJsonTest, StringIsNotAnInteger) {
  auto errors = ValidateJson(BashSchema(), {{"command", "ls"}, {"timeout", "5"}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, Kind::kType);
  EXPECT_EQ(errors[0].path, "/timeout");
  EXPECT_EQ(errors[0].message, "argument 'timeout' must be an integer, got the string \"5\"");
}

TEST(ValidateJsonTest, BooleansAreNeverNumbers) {
  json schema = {{"type", "object"},
                 {"properties", {{"n", {{"type", "number"}}}, {"i", {{"type", "integer"}}}}}};
  auto errors = ValidateJson(schema, {{"n", true}, {"i", false}});
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].message, "argument 'i' must be an integer, got the boolean false");
  EXPECT_EQ(errors[1].message, "argument 'n' must be a number, got the boolean true");
  EXPECT_TRUE(ValidateJson(schema, {{"n", 1}, {"i", 2}}).empty());  // integers are numbers
}

TEST(ValidateJsonTest, MissingRequiredArgumentNamesItsType) {
  auto errors = ValidateJson(BashSchema(), json::object());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, Kind::kMissing);
  EXPECT_EQ(errors[0].path, "/command");
  EXPECT_EQ(errors[0].message, "missing required argument 'command' (string)");
}

TEST(ValidateJsonTest, UnexpectedArgumentListsTheExpectedOnes) {
  auto errors = ValidateJson(BashSchema(), {{"cmd", "ls"}});
  ASSERT_EQ(errors.size(), 2u);
  // Missing arguments come first, then the value's keys in order.
  EXPECT_EQ(errors[0].kind, Kind::kMissing);
  EXPECT_EQ(errors[1].kind, Kind::kExtra);
  EXPECT_EQ(errors[1].path, "/cmd");
  EXPECT_EQ(errors[1].message, "unexpected argument 'cmd'; expected one of: command, timeout");
}

TEST(ValidateJsonTest, ExtraArgumentsAllowedUnlessClosed) {
  json open = BashSchema();
  open.erase("additionalProperties");
  EXPECT_TRUE(ValidateJson(open, {{"command", "ls"}, {"extra", 1}}).empty());
  open["additionalProperties"] = true;
  EXPECT_TRUE(ValidateJson(open, {{"command", "ls"}, {"extra", 1}}).empty());
}

TEST(ValidateJsonTest, ToolWithoutArguments) {
  json schema = {
      {"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}};
  EXPECT_TRUE(ValidateJson(schema, json::object()).empty());
  auto errors = ValidateJson(schema, {{"x", 1}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "unexpected argument 'x'; this tool takes no arguments");
}

TEST(ValidateJsonTest, RootMustHaveTheRightType) {
  auto errors = ValidateJson(BashSchema(), json::array({1, 2}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "");
  EXPECT_EQ(errors[0].message, "arguments must be an object, got an array of 2 items");
}

TEST(ValidateJsonTest, Ranges) {
  auto low = ValidateJson(BashSchema(), {{"command", "ls"}, {"timeout", 0}});
  ASSERT_EQ(low.size(), 1u);
  EXPECT_EQ(low[0].kind, Kind::kRange);
  EXPECT_EQ(low[0].message, "argument 'timeout' must be at least 1, got 0");
  auto high = ValidateJson(BashSchema(), {{"command", "ls"}, {"timeout", 601}});
  ASSERT_EQ(high.size(), 1u);
  EXPECT_EQ(high[0].message, "argument 'timeout' must be at most 600, got 601");
  EXPECT_TRUE(ValidateJson(BashSchema(), {{"command", "ls"}, {"timeout", 600}}).empty());
}

TEST(ValidateJsonTest, StringLengthCountsCharacters) {
  json schema = {{"type", "string"}, {"minLength", 1}, {"maxLength", 3}};
  EXPECT_TRUE(ValidateJson(schema, "\u00e9\u00e9\u00e9").empty());  // 6 bytes, 3 characters
  auto errors = ValidateJson(schema, "abcd");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, Kind::kRange);
  EXPECT_EQ(errors[0].message, "arguments must be at most 3 characters long, got 4 characters");
  errors = ValidateJson(BashSchema(), {{"command", ""}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message,
            "argument 'command' must be at least 1 character long, got 0 characters");
}

TEST(ValidateJsonTest, Enum) {
  json schema = {{"type", "object"},
                 {"properties", {{"mode", {{"type", "string"}, {"enum", {"fast", "slow"}}}}}}};
  EXPECT_TRUE(ValidateJson(schema, {{"mode", "slow"}}).empty());
  auto errors = ValidateJson(schema, {{"mode", "medium"}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, Kind::kEnum);
  EXPECT_EQ(errors[0].message,
            "argument 'mode' must be one of \"fast\", \"slow\", got the string \"medium\"");
}

TEST(ValidateJsonTest, ArraysAndNestedObjects) {
  json schema = json::parse(R"({
    "type": "object",
    "properties": {
      "files": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
      "opts": {"type": "object", "properties": {"depth": {"type": "integer"}},
               "required": ["depth"], "additionalProperties": false}
    }
  })");
  EXPECT_TRUE(ValidateJson(schema, {{"files", {"a"}}, {"opts", {{"depth", 2}}}}).empty());

  auto errors = ValidateJson(schema, {{"files", {"a", 7}}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "/files/1");
  EXPECT_EQ(errors[0].message, "argument 'files[1]' must be a string, got the number 7");

  errors = ValidateJson(schema, {{"files", json::array()}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].kind, Kind::kRange);
  EXPECT_EQ(errors[0].message, "argument 'files' must have at least 1 item, got 0");
  errors = ValidateJson(schema, {{"files", {"a", "b", "c"}}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "argument 'files' must have at most 2 items, got 3");

  errors = ValidateJson(schema, {{"opts", {{"deep", 1}}}});
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "/opts/depth");
  EXPECT_EQ(errors[0].message, "missing required argument 'opts.depth' (integer)");
  EXPECT_EQ(errors[1].path, "/opts/deep");
  EXPECT_EQ(errors[1].message, "unexpected argument 'opts.deep'; expected one of: depth");
}

TEST(ValidateJsonTest, TypeLists) {
  json schema = {{"type", "object"}, {"properties", {{"x", {{"type", {"string", "null"}}}}}}};
  EXPECT_TRUE(ValidateJson(schema, {{"x", nullptr}}).empty());
  EXPECT_TRUE(ValidateJson(schema, {{"x", "s"}}).empty());
  auto errors = ValidateJson(schema, {{"x", 1}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "argument 'x' must be a string or null, got the number 1");
}

TEST(ValidateJsonTest, LongValuesAreClippedInMessages) {
  std::string long_value(10000, 'x');
  auto errors = ValidateJson(BashSchema(), {{"command", "ls"}, {"timeout", long_value}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_LT(errors[0].message.size(), 200u);
  EXPECT_THAT(errors[0].message, HasSubstr("xxx...\""));
}

TEST(CheckSchemaTest, AcceptsToolSchemas) {
  EXPECT_TRUE(CheckSchema(BashSchema()).ok());
  EXPECT_TRUE(CheckSchema({{"type", "object"}, {"properties", json::object()}}).ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"type": ["string", "null"], "default": null,
                                          "title": "t", "enum": ["a", null]})"))
                  .ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"type": "array", "items": {"type": "integer"},
                                          "minItems": 0, "maxItems": 3})"))
                  .ok());
}

struct BadSchema {
  const char* schema;
  const char* phrase;
};

class CheckSchemaRejectsTest : public ::testing::TestWithParam<BadSchema> {};

TEST_P(CheckSchemaRejectsTest, NamesTheProblem) {
  Status s = CheckSchema(json::parse(GetParam().schema));
  ASSERT_FALSE(s.ok()) << GetParam().schema;
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(GetParam().phrase));
}

INSTANTIATE_TEST_SUITE_P(
    Subset, CheckSchemaRejectsTest,
    ::testing::Values(
        BadSchema{R"("string")", "schema must be a JSON object, got the string"},
        BadSchema{R"({"type": "string", "pattern": "^a"})", "unsupported keyword 'pattern'"},
        BadSchema{R"({"type": "text"})", "'type' must be one of string, integer"},
        BadSchema{R"({"type": []})", "'type' must not be an empty list"},
        BadSchema{R"({"type": ["string", "string"]})", "lists \"string\" twice"},
        BadSchema{R"({"type": "object", "properties": {"a": {"type": "strin"}}})",
                  "schema at /properties/a: 'type'"},
        BadSchema{R"({"type": "object", "properties": {"a": {}}, "required": ["b"]})",
                  "names \"b\", which 'properties' does not declare"},
        BadSchema{R"({"type": "object", "required": "a"})", "'required' must be an array"},
        BadSchema{R"({"type": "object", "additionalProperties": {"type": "string"}})",
                  "'additionalProperties' must be true or false"},
        BadSchema{R"({"enum": []})", "'enum' must be a non-empty array"},
        BadSchema{R"({"minimum": "1"})", "'minimum' must be a number"},
        BadSchema{R"({"minLength": -1})", "'minLength' must be a non-negative integer"},
        BadSchema{R"({"minimum": 5, "maximum": 1})", "'minimum' (5) is greater than 'maximum' (1)"},
        BadSchema{R"({"type": "array", "items": {"type": "integer", "format": "x"}})",
                  "schema at /items: unsupported keyword 'format'"},
        BadSchema{R"({"description": 5})", "'description' must be a string"},
        BadSchema{R"({"type": "integer", "default": "x"})",
                  "'default' does not match its own schema: arguments must be an integer"}));

}  // namespace
}  // namespace toolgym::envs
