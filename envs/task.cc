#include "envs/task.h"

namespace toolgym::envs {

const ToolLimits& Task::limits_for(const std::string& tool) const {
  static const ToolLimits kDefaults;
  auto it = tool_limits.find(tool);
  return it == tool_limits.end() ? kDefaults : it->second;
}

}  // namespace toolgym::envs
