#include "envs/tool.h"

namespace toolgym::envs {

nlohmann::json ToolSpec::OpenAIFunction() const {
  return {{"type", "function"},
          {"function", {{"name", name}, {"description", description}, {"parameters", parameters}}}};
}

void to_json(nlohmann::json& j, const ToolCall& c) {
  j = {{"id", c.id}, {"name", c.name}, {"arguments", c.arguments}};
}

}  // namespace toolgym::envs
