#include "envs/info.h"

namespace toolgym::envs {

using nlohmann::json;

void to_json(json& j, const ToolCallInfo& c) {
  j = {{"id", c.call.id},          {"name", c.call.name},    {"arguments", c.call.arguments},
       {"error", c.error},         {"repeated", c.repeated}, {"verdict", c.verdict},
       {"exit_code", c.exit_code}, {"wall_ms", c.wall_ms}};
}

void to_json(json& j, const TaskInfo& t) {
  j = {{"scenario", t.scenario},
       {"version", t.version},
       {"seed", t.seed},
       {"split", t.split},
       {"difficulty", t.difficulty}};
  if (t.params) j["params"] = *t.params;
}

void to_json(json& j, const StepInfo& s) {
  json errors = json::array();
  for (const ActionError& e : s.tool_errors)
    errors.push_back({{"kind", ActionErrorKindName(e.kind)},
                      {"call_index", e.call_index},
                      {"tool", e.tool},
                      {"message", e.message}});
  j = {{"turn", s.turn},
       {"tool_calls", s.tool_calls},
       {"tool_errors", errors},
       {"ignored_calls", s.ignored_calls},
       {"reward_terms", s.reward_terms},
       {"verdicts", s.verdicts},
       {"timings",
        {{"parse_ms", s.parse_ms},
         {"tools_ms", s.tools_ms},
         {"verify_ms", s.verify_ms},
         {"step_ms", s.step_ms}}},
       {"task", s.task},
       {"answer", s.answer ? json(*s.answer) : json(nullptr)},
       {"format_ok", s.format_ok},
       {"subgoals_reached", s.subgoals_reached},
       {"potential", s.potential},
       {"end_reason", s.end_reason},
       {"total_tool_calls", s.total_tool_calls}};
  if (s.outcome)
    j["outcome"] = {
        {"score", s.outcome->score}, {"passed", s.outcome->passed}, {"detail", s.outcome->detail}};
  else
    j["outcome"] = nullptr;
}

json WithoutTimings(json info) {
  info.erase("timings");
  if (info.contains("tool_calls"))
    for (json& c : info["tool_calls"]) c.erase("wall_ms");
  return info;
}

}  // namespace toolgym::envs
