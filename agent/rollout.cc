#include "agent/rollout.h"

#include <fmt/format.h>

#include <chrono>
#include <sstream>

namespace toolgym::agent {

using nlohmann::json;

std::vector<envs::Message> Trajectory::Conversation() const {
  std::vector<envs::Message> conv = first_observation.messages;
  for (const TrajectoryStep& s : steps) {
    conv.push_back({"assistant", s.action, "", ""});
    conv.insert(conv.end(), s.observation.messages.begin(), s.observation.messages.end());
  }
  return conv;
}

StatusOr<Trajectory> RunEpisode(envs::Env& env, Policy& policy, std::uint64_t seed, int max_steps) {
  const auto start = std::chrono::steady_clock::now();
  TG_ASSIGN_OR_RETURN(envs::ResetResult reset, env.Reset(seed));
  TG_ASSIGN_OR_RETURN(Trajectory t, PlayEpisode(env, policy, reset, seed, max_steps));
  t.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return t;
}

StatusOr<Trajectory> PlayEpisode(envs::Env& env, Policy& policy, const envs::ResetResult& reset,
                                 std::uint64_t seed, int max_steps,
                                 const std::vector<envs::Message>& context) {
  const auto start = std::chrono::steady_clock::now();
  if (env.task() == nullptr || !env.active())
    return FailedPreconditionError("PlayEpisode: the env has no episode in progress");
  const envs::Task& task = *env.task();
  Trajectory t;
  t.scenario = task.scenario_id;
  t.version = task.scenario_version;
  t.policy = policy.name();
  t.env_kind = task.env_kind;
  t.split = task.split;
  t.seed = seed;
  t.difficulty = task.difficulty;
  t.first_observation = reset.observation;
  t.reset_info = reset.info;
  TG_RETURN_IF_ERROR(policy.BeginEpisode(task, env.Tools(), seed));
  std::vector<envs::Message> conv = reset.observation.messages;
  conv.insert(conv.end(), context.begin(), context.end());
  for (int i = 0; i < max_steps && env.active(); ++i) {
    auto action = policy.Act(conv);
    if (!action.ok()) {
      t.error = action.status().ToString();
      break;
    }
    TG_ASSIGN_OR_RETURN(envs::StepResult r, env.Step(*action));
    conv.push_back({"assistant", *action, "", ""});
    conv.insert(conv.end(), r.observation.messages.begin(), r.observation.messages.end());
    t.total_reward += r.reward;
    t.tool_calls = r.info.total_tool_calls;
    t.end_reason = r.info.end_reason;
    if (r.info.outcome) {
      t.success = r.info.outcome->passed;
      t.score = r.info.outcome->score;
    }
    r.info.task.params = nullptr;  // written once, in reset_info
    t.steps.push_back({*action, r.observation, r.reward, r.terminated, r.truncated, r.info});
  }
  t.usage = policy.usage();
  t.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return t;
}

json ToJson(const Trajectory& t) {
  json steps = json::array();
  for (const TrajectoryStep& s : t.steps) {
    // The task's parameters are written once, in reset.info (RunEpisode drops them from the
    // steps); repeating them in every step would multiply the file's size by the episode's
    // length. Steps read from older files may still carry them.
    json info = s.info;
    if (info.contains("task") && info["task"].is_object()) info["task"].erase("params");
    steps.push_back({{"action", s.action},
                     {"observation", s.observation},
                     {"reward", s.reward},
                     {"terminated", s.terminated},
                     {"truncated", s.truncated},
                     {"info", std::move(info)}});
  }
  json j = {{"schema", kTrajectorySchema},
            {"scenario", t.scenario},
            {"version", t.version},
            {"env", t.env_kind},
            {"seed", t.seed},
            {"split", t.split},
            {"difficulty", t.difficulty},
            {"policy", t.policy},
            {"reset", {{"observation", t.first_observation}, {"info", t.reset_info}}},
            {"steps", steps},
            {"return", t.total_reward},
            {"success", t.success},
            {"score", t.score},
            {"turns", t.steps.size()},
            {"tool_calls", t.tool_calls},
            {"end_reason", t.end_reason},
            {"wall_ms", t.wall_ms}};
  if (!t.error.empty()) j["error"] = t.error;
  if (t.sample != 0) j["sample"] = t.sample;
  j["usage"] = {
      {"calls", t.usage.calls}, {"retries", t.usage.retries}, {"wall_ms", t.usage.wall_ms}};
  if (t.usage.tokens_reported) {
    j["usage"]["prompt_tokens"] = t.usage.prompt_tokens;
    j["usage"]["completion_tokens"] = t.usage.completion_tokens;
  }
  return j;
}

namespace {

StatusOr<envs::Observation> ObservationFromJson(const json& j, const std::string& where) {
  if (!j.is_array()) return InvalidArgumentError("{}: expected an array of messages", where);
  envs::Observation o;
  for (const json& m : j) {
    if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
        !m["content"].is_string())
      return InvalidArgumentError("{}: expected messages {{\"role\", \"content\"}}, found {}",
                                  where, m.dump().substr(0, 80));
    o.messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>(),
                          m.value("name", ""), m.value("tool_call_id", "")});
  }
  return o;
}

}  // namespace

StatusOr<Trajectory> TrajectoryFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("a trajectory must be a JSON object");
  if (j.value("schema", "") != kTrajectorySchema)
    return InvalidArgumentError("unsupported trajectory schema {}; this build reads {}",
                                j.contains("schema") ? j["schema"].dump() : "(none)",
                                kTrajectorySchema);
  Trajectory t;
  try {
    t.scenario = j.at("scenario").get<std::string>();
    t.version = j.at("version").get<std::string>();
    t.env_kind = j.at("env").get<std::string>();
    t.seed = j.at("seed").get<std::uint64_t>();
    t.split = j.at("split").get<std::string>();
    t.difficulty = j.at("difficulty").get<int>();
    t.policy = j.at("policy").get<std::string>();
    TG_ASSIGN_OR_RETURN(t.first_observation,
                        ObservationFromJson(j.at("reset").at("observation"), "reset.observation"));
    t.reset_info = j.at("reset").at("info");
    const json& steps = j.at("steps");
    for (size_t i = 0; i < steps.size(); ++i) {
      const json& s = steps[i];
      TrajectoryStep st;
      st.action = s.at("action").get<std::string>();
      TG_ASSIGN_OR_RETURN(
          st.observation,
          ObservationFromJson(s.at("observation"), fmt::format("steps[{}].observation", i)));
      st.reward = s.at("reward").get<double>();
      st.terminated = s.at("terminated").get<bool>();
      st.truncated = s.at("truncated").get<bool>();
      st.info = s.at("info");
      t.steps.push_back(std::move(st));
    }
    t.total_reward = j.at("return").get<double>();
    t.success = j.at("success").get<bool>();
    t.score = j.at("score").get<double>();
    t.tool_calls = j.at("tool_calls").get<int>();
    t.end_reason = j.at("end_reason").get<std::string>();
    t.wall_ms = j.at("wall_ms").get<double>();
    t.error = j.value("error", "");
    t.sample = j.value("sample", 0);
    if (j.contains("usage")) {  // absent in files written before it existed
      const json& u = j.at("usage");
      t.usage.calls = u.value("calls", std::int64_t{0});
      t.usage.retries = u.value("retries", std::int64_t{0});
      t.usage.wall_ms = u.value("wall_ms", 0.0);
      t.usage.tokens_reported = u.contains("completion_tokens");
      t.usage.prompt_tokens = u.value("prompt_tokens", std::int64_t{0});
      t.usage.completion_tokens = u.value("completion_tokens", std::int64_t{0});
    }
  } catch (const json::exception& e) {
    return InvalidArgumentError("malformed trajectory: {}", e.what());
  }
  return t;
}

StatusOr<std::unique_ptr<TrajectoryWriter>> TrajectoryWriter::Open(const std::string& path) {
  auto w = std::unique_ptr<TrajectoryWriter>(new TrajectoryWriter);
  w->out_.open(path, std::ios::out | std::ios::app | std::ios::binary);
  if (!w->out_) return InvalidArgumentError("cannot open {} for writing", path);
  w->path_ = path;
  return w;
}

Status TrajectoryWriter::Write(const Trajectory& t) {
  out_ << ToJson(t).dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  out_.flush();
  if (!out_) return InternalError("writing {} failed", path_);
  return OkStatus();
}

StatusOr<std::vector<Trajectory>> ReadTrajectories(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open {}", path);
  std::vector<Trajectory> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) return InvalidArgumentError("{}:{}: not valid JSON", path, n);
    auto t = TrajectoryFromJson(j);
    if (!t.ok()) return InvalidArgumentError("{}:{}: {}", path, n, t.status().message());
    out.push_back(std::move(t).value());
  }
  return out;
}

}  // namespace toolgym::agent
