// Tools as the agent sees them: a name, a description and a JSON Schema for the arguments (the
// OpenAI function-calling shape), and the calls an action is parsed into.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace toolgym::envs {

struct ToolSpec {
  std::string name;
  std::string description;
  // JSON Schema of the arguments: {"type": "object", "properties": {...}, "required": [...],
  // "additionalProperties": false}. The subset json_schema.h checks is documented there.
  nlohmann::json parameters = nlohmann::json::object();

  // {"type": "function", "function": {"name", "description", "parameters"}}: what an
  // OpenAI-compatible client passes as one entry of `tools`.
  nlohmann::json OpenAIFunction() const;
};

// The submit tool every env kind offers: submit(answer) when the task takes an answer, else
// submit() to declare the task done. Either ends the episode.
ToolSpec SubmitTool(bool requires_answer);

// One call parsed out of an action and validated against its tool's schema.
struct ToolCall {
  std::string id;  // "call_0", "call_1"... in order within the episode, or the client's id
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();

  bool operator==(const ToolCall&) const = default;
};

void to_json(nlohmann::json& j, const ToolCall& c);

}  // namespace toolgym::envs
