#include "envs/tool.h"

namespace toolgym::envs {

nlohmann::json ToolSpec::OpenAIFunction() const {
  return {{"type", "function"},
          {"function", {{"name", name}, {"description", description}, {"parameters", parameters}}}};
}

ToolSpec SubmitTool(bool requires_answer) {
  if (requires_answer)
    return {
        "submit",
        "Submit the final answer. This ends the episode.",
        {{"type", "object"},
         {"properties", {{"answer", {{"type", "string"}, {"description", "The final answer"}}}}},
         {"required", {"answer"}},
         {"additionalProperties", false}}};
  return {"submit",
          "Declare the task done. This ends the episode.",
          {{"type", "object"},
           {"properties", nlohmann::json::object()},
           {"additionalProperties", false}}};
}

void to_json(nlohmann::json& j, const ToolCall& c) {
  j = {{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}};
}

}  // namespace toolgym::envs
