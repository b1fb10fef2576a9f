#include "agent/policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "agent/rollout.h"
#include "agent/scripted_policies.h"
#include "scenarios/template.h"

namespace toolgym::agent {

using nlohmann::json;

namespace {

// Tool results of the last step (the messages after the last assistant message).
std::vector<const envs::Message*> LastToolMessages(const std::vector<envs::Message>& conv) {
  std::vector<const envs::Message*> out;
  for (auto it = conv.rbegin(); it != conv.rend() && it->role != "assistant"; ++it)
    if (it->role == "tool") out.insert(out.begin(), &*it);
  return out;
}

}  // namespace

PolicyUsage& PolicyUsage::operator+=(const PolicyUsage& o) {
  calls += o.calls;
  prompt_tokens += o.prompt_tokens;
  completion_tokens += o.completion_tokens;
  tokens_reported = tokens_reported || o.tokens_reported;
  retries += o.retries;
  wall_ms += o.wall_ms;
  return *this;
}

std::int64_t CountWords(std::string_view text) {
  std::int64_t n = 0;
  bool in = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

StatusOr<Completion> Policy::Continue(const std::vector<envs::Message>&, const CompletionRequest&) {
  return FailedPreconditionError(
      "policy {} cannot continue a partial message (budget forcing needs one that can: the "
      "thinker, or openai:MODEL with --continue-final on a server that supports it)",
      name());
}

Status ExpertPolicy::BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                                  std::uint64_t) {
  if (task.expert.empty())
    return FailedPreconditionError("scenario {} has no expert", task.scenario_id);
  task_ = &task;
  tools_ = tools;
  outputs_.clear();
  next_ = 0;
  usage_ = {};
  return OkStatus();
}

StatusOr<std::string> ExpertPolicy::Act(const std::vector<envs::Message>& conversation) {
  if (task_ == nullptr) return FailedPreconditionError("expert: BeginEpisode was not called");
  ++usage_.calls;
  if (next_ > 0) {
    auto msgs = LastToolMessages(conversation);
    outputs_.push_back(msgs.empty() ? std::string() : msgs.back()->content);
  }
  if (next_ >= task_->expert.size())
    return FailedPreconditionError(
        "expert of {} (seed {}) has no step {}: the episode should have "
        "ended",
        task_->scenario_id, task_->seed, next_);
  const envs::ExpertStep& step = task_->expert[next_];
  // Before the first tool call, obs.last is the first user message: the instruction and what
  // the env showed with it (the web env's start page).
  std::string first_view;
  if (next_ == 0)
    for (auto it = conversation.rbegin(); it != conversation.rend(); ++it)
      if (it->role == "user") {
        first_view = it->content;
        break;
      }
  const std::string& last = outputs_.empty() ? first_view : outputs_.back();
  json ctx = task_->params;
  ctx["obs"] = {{"last", last}, {"steps", outputs_}};
  if (!step.extract.empty()) {
    auto pattern = scenarios::RenderString(step.extract, ctx);
    if (!pattern.ok())
      return pattern.status().WithContext(fmt::format("expert of {} (seed {}), step {}: extract",
                                                      task_->scenario_id, task_->seed, next_));
    std::smatch m;
    std::regex re;
    try {
      re = std::regex(*pattern);
    } catch (const std::regex_error& e) {
      return InvalidArgumentError("expert of {} (seed {}), step {}: extract /{}/: {}",
                                  task_->scenario_id, task_->seed, next_, *pattern, e.what());
    }
    if (!std::regex_search(last, m, re) || m.size() < 2)
      return FailedPreconditionError(
          "expert of {} (seed {}), step {}: extract /{}/ found nothing in the last observation: "
          "{}",
          task_->scenario_id, task_->seed, next_, step.extract, last.substr(0, 300));
    ctx["x"] = m[1].str();
  }
  auto args = scenarios::RenderJson(step.arguments, ctx);
  if (!args.ok())
    return args.status().WithContext(
        fmt::format("expert of {} (seed {}), step {}", task_->scenario_id, task_->seed, next_));
  envs::ToolCall call;
  call.id = fmt::format("call_{}", next_);
  call.name = step.tool;
  call.arguments = std::move(args).value();
  ++next_;
  return envs::RenderAction(task_->action_format, {call}, std::nullopt, std::nullopt, tools_);
}

Status RandomPolicy::BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                                  std::uint64_t seed) {
  task_ = &task;
  tools_ = tools;
  rng_.seed(seed_ * 0x9E3779B97F4A7C15ull + seed);
  usage_ = {};
  return OkStatus();
}

std::uint64_t RandomPolicy::Draw(std::uint64_t n) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do x = rng_();
  while (x >= limit);
  return x % n;
}

std::string RandomPolicy::RandomToken(const std::vector<envs::Message>& conversation) {
  // A word of the last tool output (or the instruction): random, but of the right kind.
  const std::string text = LastText(conversation);
  std::vector<std::string> words;
  std::string cur;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) words.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) words.push_back(cur);
  if (words.empty()) return std::to_string(Draw(100));
  return words[Draw(words.size())];
}

namespace {

// Element numbers shown as "[N]" in the text (the web env's page), in order of appearance.
std::vector<std::int64_t> ShownIds(const std::string& text) {
  std::vector<std::int64_t> ids;
  for (std::size_t i = text.find('['); i != std::string::npos; i = text.find('[', i + 1)) {
    std::size_t j = i + 1;
    std::int64_t v = 0;
    while (j < text.size() && j - i <= 6 && std::isdigit(static_cast<unsigned char>(text[j])))
      v = v * 10 + (text[j++] - '0');
    if (j > i + 1 && j < text.size() && text[j] == ']') ids.push_back(v);
  }
  return ids;
}

}  // namespace

json RandomPolicy::RandomValue(const std::string& tool, const std::string& name, const json& schema,
                               const std::vector<envs::Message>& conversation, int depth) {
  static const std::vector<std::string> kCommands = {"ls",
                                                     "ls -la",
                                                     "pwd",
                                                     "find . -type f | head",
                                                     "cat *",
                                                     "wc -l *",
                                                     "ls -R",
                                                     "echo hello",
                                                     "grep -r a . | head",
                                                     "head -n 3 *",
                                                     "du -a .",
                                                     "sort * | head",
                                                     "cd ..",
                                                     "ls /tmp"};
  static const std::vector<std::string> kCode = {"print(1)",
                                                 "import os; os.listdir('.')",
                                                 "x = 1",
                                                 "open('solution.py').read()",
                                                 "def f(x):\n    return x",
                                                 "1 / 0",
                                                 "import math; math.pi"};
  if (schema.contains("enum") && schema["enum"].is_array() && !schema["enum"].empty())
    return schema["enum"][Draw(schema["enum"].size())];
  std::string type = "string";
  if (schema.contains("type")) {
    const json& t = schema["type"];
    if (t.is_string()) {
      type = t.get<std::string>();
    } else if (t.is_array() && !t.empty()) {
      type = t[Draw(t.size())].get<std::string>();
    }
  }
  if (type == "integer" || type == "number") {
    // An element number the page shows, when the tool takes one; else within the bounds.
    const std::vector<std::int64_t> shown = ShownIds(LastText(conversation));
    std::int64_t lo = schema.contains("minimum") ? schema["minimum"].get<std::int64_t>() : 0;
    std::int64_t hi = schema.contains("maximum") ? schema["maximum"].get<std::int64_t>() : lo + 20;
    if (!shown.empty() && name == "id") return shown[Draw(shown.size())];
    if (hi < lo) hi = lo;
    return lo + static_cast<std::int64_t>(Draw(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  if (type == "boolean") return Draw(2) == 1;
  if (type == "null") return nullptr;
  if (type == "array") {
    json out = json::array();
    const std::uint64_t n = schema.value("minItems", 0) + Draw(3);
    for (std::uint64_t i = 0; i < n && depth < 4; ++i)
      out.push_back(
          RandomValue(tool, name, schema.value("items", json::object()), conversation, depth + 1));
    return out;
  }
  if (type == "object") return RandomArguments(tool, schema, conversation, depth + 1);
  // A string: a command or code for the tools that run them, else a word of what was shown.
  std::string v;
  if (tool == "bash" && name == "command") {
    v = kCommands[Draw(kCommands.size())];
  } else if (tool == "python" && name == "code") {
    v = kCode[Draw(kCode.size())];
  } else {
    v = RandomToken(conversation);
  }
  const std::size_t max_len = schema.value("maxLength", std::size_t{1000});
  if (v.size() > max_len) v.resize(max_len);
  while (v.size() < schema.value("minLength", std::size_t{0})) v += "x";
  return v;
}

json RandomPolicy::RandomArguments(const std::string& tool, const json& schema,
                                   const std::vector<envs::Message>& conversation, int depth) {
  json args = json::object();
  if (!schema.contains("properties") || !schema["properties"].is_object()) return args;
  std::vector<std::string> required;
  if (schema.contains("required"))
    for (const json& r : schema["required"]) required.push_back(r.get<std::string>());
  for (const auto& [name, prop] : schema["properties"].items()) {
    const bool needed = std::find(required.begin(), required.end(), name) != required.end();
    if (needed || Draw(2) == 0) args[name] = RandomValue(tool, name, prop, conversation, depth);
  }
  return args;
}

std::string RandomPolicy::LastText(const std::vector<envs::Message>& conversation) {
  auto msgs = LastToolMessages(conversation);
  if (!msgs.empty()) return msgs.back()->content;
  for (auto it = conversation.rbegin(); it != conversation.rend(); ++it)
    if (it->role == "user") return it->content;
  return "";
}

StatusOr<std::string> RandomPolicy::Act(const std::vector<envs::Message>& conversation) {
  if (task_ == nullptr) return FailedPreconditionError("random: BeginEpisode was not called");
  if (tools_.empty()) return FailedPreconditionError("random: the task offers no tools");
  ++usage_.calls;
  static const std::vector<std::string> kMalformed = {
      "<tool_call>{\"name\": \"bash\", \"arguments\": {\"command\": </tool_call>",
      "<tool_call>{\"name\": \"nosuchtool\", \"arguments\": {}}</tool_call>",
      "I am not sure what to do.", "bash[", "<tool_call>{\"arguments\": {}}</tool_call>"};
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  if (u < malformed_rate_) return kMalformed[Draw(kMalformed.size())];
  const envs::ToolSpec& tool = tools_[Draw(tools_.size())];
  envs::ToolCall call;
  call.id = "call_r";
  call.name = tool.name;
  call.arguments = RandomArguments(tool.name, tool.parameters, conversation, 0);
  return envs::RenderAction(task_->action_format, {call}, std::nullopt, std::nullopt, tools_);
}

StatusOr<std::unique_ptr<ReplayPolicy>> ReplayPolicy::Open(const std::string& path) {
  TG_ASSIGN_OR_RETURN(std::vector<Trajectory> trajectories, ReadTrajectories(path));
  auto library = std::make_shared<Library>();
  for (const Trajectory& t : trajectories) {
    Recording r;
    r.version = t.version;
    for (const TrajectoryStep& s : t.steps) r.actions.push_back(s.action);
    library->emplace(std::make_pair(t.scenario, t.seed), std::move(r));  // the first one wins
  }
  auto p = std::unique_ptr<ReplayPolicy>(new ReplayPolicy);
  p->path_ = path;
  p->library_ = std::move(library);
  return p;
}

std::unique_ptr<ReplayPolicy> ReplayPolicy::Clone() const {
  auto p = std::unique_ptr<ReplayPolicy>(new ReplayPolicy);
  p->path_ = path_;
  p->library_ = library_;
  return p;
}

Status ReplayPolicy::BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>&,
                                  std::uint64_t) {
  usage_ = {};
  next_ = 0;
  current_ = nullptr;
  scenario_ = task.scenario_id;
  seed_ = task.seed;
  auto it = library_->find({task.scenario_id, task.seed});
  if (it == library_->end())
    return NotFoundError("replay: {} has no episode of {} with seed {}", path_, task.scenario_id,
                         task.seed);
  if (it->second.version != task.scenario_version)
    return FailedPreconditionError(
        "replay: {} recorded {} seed {} at scenario version {}, but this is version {}", path_,
        task.scenario_id, task.seed, it->second.version, task.scenario_version);
  current_ = &it->second;
  return OkStatus();
}

StatusOr<std::string> ReplayPolicy::Act(const std::vector<envs::Message>&) {
  if (current_ == nullptr)
    return FailedPreconditionError("replay: BeginEpisode did not find an episode to replay");
  if (next_ >= current_->actions.size())
    return FailedPreconditionError(
        "replay: the recording of {} seed {} in {} has {} actions; the episode asks for action {}",
        scenario_, seed_, path_, current_->actions.size(), next_ + 1);
  ++usage_.calls;
  return current_->actions[next_++];
}

StatusOr<std::unique_ptr<Policy>> MakePolicy(const std::string& name, std::uint64_t seed) {
  if (name == "expert") return std::unique_ptr<Policy>(new ExpertPolicy);
  if (name == "random") return std::unique_ptr<Policy>(new RandomPolicy(seed));
  return InvalidArgumentError("unknown policy \"{}\"; expected expert or random", name);
}

StatusOr<PolicyFactory> PolicyFactoryFromSpec(const std::string& spec) {
  if (spec == "expert" || spec == "random")
    return PolicyFactory([spec](std::uint64_t seed) { return MakePolicy(spec, seed); });
  if (spec.rfind("replay:", 0) == 0) {
    const std::string path = spec.substr(7);
    if (path.empty()) return InvalidArgumentError("policy \"replay:\" needs a file: replay:FILE");
    TG_ASSIGN_OR_RETURN(std::unique_ptr<ReplayPolicy> proto, ReplayPolicy::Open(path));
    std::shared_ptr<const ReplayPolicy> shared = std::move(proto);
    return PolicyFactory([shared](std::uint64_t) -> StatusOr<std::unique_ptr<Policy>> {
      return std::unique_ptr<Policy>(shared->Clone());
    });
  }
  if (IsScriptedPolicySpec(spec)) {
    TG_RETURN_IF_ERROR(MakeScriptedPolicy(spec, 0).status());  // a bad EPS fails here, once
    return PolicyFactory([spec](std::uint64_t seed) { return MakeScriptedPolicy(spec, seed); });
  }
  return InvalidArgumentError(
      "unknown policy \"{}\"; expected expert, random, replay:FILE, noisy-expert:EPS or thinker",
      spec.substr(0, 200));
}

}  // namespace toolgym::agent
