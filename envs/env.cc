#include "envs/env.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/check.h"
#include "envs/render.h"

namespace toolgym::envs {

using nlohmann::json;

namespace {

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// DAPO overlong shaping (arXiv 2503.14476): 0 up to max - buffer, linear down to -1 at max,
// -1 beyond.
double OverlongPenalty(std::uint64_t length, std::uint64_t max, std::uint64_t buffer) {
  if (max == 0) return 0;
  const double l = static_cast<double>(length);
  const double soft = static_cast<double>(max > buffer ? max - buffer : 0);
  if (l <= soft) return 0;
  if (l > static_cast<double>(max)) return -1;
  return buffer == 0 ? 0 : (soft - l) / static_cast<double>(buffer);
}

std::string FormatInstructions(ActionFormat f, const Task& task) {
  std::string out;
  switch (f) {
    case ActionFormat::kCompact:
      out =
          "To call a tool, write a line of the form tool[argument], for example "
          "bash[ls -la]. The argument runs to the last ] before the next call or the end of "
          "your message, so it may span lines. A tool with several arguments takes a JSON "
          "object: write_file[{\"path\": \"a.txt\", \"content\": \"hi\"}]. A tool without "
          "arguments is called as submit[].";
      break;
    case ActionFormat::kOpenAI:
      out = "Call the tools through the function-calling interface.";
      break;
    case ActionFormat::kHermes:
    case ActionFormat::kAuto:
      out =
          "For each tool call, return a JSON object with the function name and arguments "
          "within <tool_call></tool_call> tags:\n<tool_call>\n{\"name\": <function-name>, "
          "\"arguments\": <args-json-object>}\n</tool_call>";
      break;
  }
  out += "\nYou may reason inside <think>...</think> before acting.";
  if (task.requires_answer) {
    out += " When you know the answer, call submit with it; that ends the episode.";
  } else {
    out += " When the task is done, call submit to end the episode.";
  }
  out += fmt::format(" You have at most {} turns.", task.budgets.max_turns);
  return out;
}

std::string CanonicalCall(const ToolCall& c) { return c.name + "\x1f" + c.arguments.dump(); }

}  // namespace

void to_json(json& j, const Message& m) {
  j = {{"role", m.role}, {"content", m.content}};
  if (!m.name.empty()) j["name"] = m.name;
  if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
}

void to_json(json& j, const Observation& o) { j = o.messages; }

std::string Observation::Text() const {
  std::string out;
  for (const Message& m : messages) {
    if (!out.empty()) out += "\n";
    if (m.role == "tool") {
      out += "[tool " + m.name + "]\n";
    } else if (m.role != "user" || messages.size() > 1) {
      out += "[" + m.role + "]\n";
    }
    out += m.content;
  }
  return out;
}

json Env::OpenAITools() const {
  json out = json::array();
  for (const ToolSpec& t : Tools()) out.push_back(t.OpenAIFunction());
  return out;
}

StatusOr<EnvOptions> EnvOptions::FromJson(const json& j) {
  EnvOptions o;
  if (j.is_null()) return o;
  if (!j.is_object())
    return InvalidArgumentError("env options must be a JSON object, got {}", j.dump());
  for (const auto& [key, value] : j.items()) {
    if (key == "action_format") {
      if (!value.is_string())
        return InvalidArgumentError("env option 'action_format' must be a string, got {}",
                                    value.dump());
      TG_ASSIGN_OR_RETURN(ActionFormat f, ParseActionFormat(value.get<std::string>()));
      o.action_format = f;
    } else if (key == "max_turns") {
      // Checked as a signed 64-bit value first: a huge unsigned one must not wrap into range.
      if (!value.is_number_integer() ||
          (value.is_number_unsigned() && value.get<std::uint64_t>() > kMaxTurnsOption) ||
          value.get<long long>() < 1 || value.get<long long>() > kMaxTurnsOption)
        return InvalidArgumentError("env option 'max_turns' must be an integer in [1, {}], got {}",
                                    kMaxTurnsOption, value.dump());
      o.max_turns = value.get<int>();
    } else if (key == "max_output_bytes") {
      if (!value.is_number_integer() || value.get<long long>() < 64)
        return InvalidArgumentError(
            "env option 'max_output_bytes' must be an integer >= 64, got {}", value.dump());
      o.max_output_bytes = value.get<std::uint64_t>();
    } else if (key == "split") {
      if (value != "train" && value != "test")
        return InvalidArgumentError("env option 'split' must be \"train\" or \"test\", got {}",
                                    value.dump());
      o.split = value.get<std::string>();
    } else if (key == "seed_sequence") {
      if (!value.is_number_unsigned())
        return InvalidArgumentError("env option 'seed_sequence' must be an integer >= 0, got {}",
                                    value.dump());
      o.seed_sequence = value.get<std::uint64_t>();
    } else {
      return InvalidArgumentError(
          "unknown env option '{}'; expected one of: action_format, max_turns, max_output_bytes, "
          "split, seed_sequence",
          key);
    }
  }
  return o;
}

ToolEnv::ToolEnv(std::shared_ptr<const TaskSource> source, EnvOptions options)
    : source_(std::move(source)), options_(std::move(options)), seed_rng_(options_.seed_sequence) {}

std::uint64_t ToolEnv::DrawSeed(const std::string& split) {
  const TaskSource::SeedRange r = split == "test" ? source_->test_seeds() : source_->train_seeds();
  const std::uint64_t n = r.end > r.begin ? r.end - r.begin : 1;
  // Rejection sampling on the engine's raw output: the same on every standard library.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x;
  do x = seed_rng_();
  while (x >= limit);
  return r.begin + x % n;
}

std::map<std::string, double> ToolEnv::ZeroTerms() const {
  std::map<std::string, double> terms;
  for (const std::string& n : RewardTermNames()) terms[n] = 0.0;
  return terms;
}

void ToolEnv::FillTaskInfo(StepInfo& info) const {
  const Task& t = *task_;
  info.task = TaskInfo{t.scenario_id, t.scenario_version, t.seed, t.split, t.difficulty, params_};
  info.turn = turn_;
  info.answer = answer_;
  info.subgoals_reached.assign(reached_.begin(), reached_.end());
  info.potential = potential_;
  info.total_tool_calls = calls_;
}

Observation ToolEnv::RenderFirstObservation() const {
  const Task& t = *task_;
  std::string system = KindRules(t);
  if (!t.rules.empty()) system += "\n\n" + t.rules;
  system +=
      "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n";
  for (const ToolSpec& s : tools_) system += s.OpenAIFunction().dump() + "\n";
  system += "</tools>\n\n" + FormatInstructions(parser_->format(), t);
  Observation o;
  o.messages.push_back({"system", system, "", ""});
  std::string view = InitialView();
  o.messages.push_back(
      {"user", view.empty() ? t.instruction : t.instruction + "\n\n" + view, "", ""});
  return o;
}

StatusOr<ResetResult> ToolEnv::Reset(std::optional<std::uint64_t> seed, const json& options) {
  const auto start = std::chrono::steady_clock::now();
  std::string split = options_.split;
  if (!options.is_null() && !options.is_object())
    return InvalidArgumentError("reset options must be a JSON object, got {}", options.dump());
  if (options.is_object()) {
    for (const auto& [k, v] : options.items()) {
      if (k != "split")
        return InvalidArgumentError("unknown reset option '{}'; expected: split", k);
      if (v != "train" && v != "test")
        return InvalidArgumentError("reset option 'split' must be \"train\" or \"test\", got {}",
                                    v.dump());
      split = v.get<std::string>();
    }
  }
  const std::uint64_t s = seed.has_value() ? *seed : DrawSeed(split);
  TG_ASSIGN_OR_RETURN(Task task, source_->MakeTask(s));
  if (options_.action_format) task.action_format = *options_.action_format;
  if (options_.max_turns) task.budgets.max_turns = *options_.max_turns;
  if (options_.max_output_bytes)
    for (const std::string& name : task.tools) {
      task.tool_limits[name].max_output_bytes = *options_.max_output_bytes;
    }
  // The tools shown: those of the kind the task allows, in the task's order.
  std::vector<ToolSpec> kind_tools = KindTools(task);
  std::vector<ToolSpec> tools;
  for (const std::string& name : task.tools) {
    auto it = std::find_if(kind_tools.begin(), kind_tools.end(),
                           [&](const ToolSpec& t) { return t.name == name; });
    if (it == kind_tools.end())
      return InvalidArgumentError("scenario '{}' allows tool '{}', which the {} env does not have",
                                  task.scenario_id, name, task.env_kind);
    tools.push_back(*it);
  }
  TG_RETURN_IF_ERROR(BeginEpisode(task).WithContext("starting episode of " + task.scenario_id));
  task_ = std::move(task);
  params_ = std::make_shared<const json>(task_->params);
  tools_ = std::move(tools);
  parser_.emplace(task_->action_format, tools_);
  history_.clear();
  seen_calls_.clear();
  answer_.reset();
  turn_ = calls_ = actions_ = well_formed_ = 0;
  reached_.clear();
  done_ = false;
  end_reason_.clear();
  elapsed_before_fork_ = 0;
  episode_start_ = std::chrono::steady_clock::now();
  // Φ of the initial state (a subgoal may hold from the start, e.g. a file already absent).
  {
    std::optional<std::string> none;
    VerifyContext ctx{task_->params, none, history_, workspace(), false, EnvState()};
    std::vector<std::string> reached;
    potential_ = Potential(ctx, &reached);
  }
  ResetResult r;
  r.observation = RenderFirstObservation();
  r.info.reward_terms = ZeroTerms();
  FillTaskInfo(r.info);
  r.info.step_ms = MsSince(start);
  return r;
}

double ToolEnv::Potential(VerifyContext& ctx, std::vector<std::string>* reached) {
  const auto& goals = task_->subgoals;
  if (goals.empty()) return 0;
  for (const Subgoal& g : goals) {
    if (reached_.count(g.name)) continue;
    if (g.check->Verify(ctx).passed) {
      reached_.insert(g.name);
      reached->push_back(g.name);
    }
  }
  return static_cast<double>(reached_.size()) / static_cast<double>(goals.size());
}

StatusOr<StepResult> ToolEnv::Step(const std::string& action) {
  if (!task_) return FailedPreconditionError("step() called before reset()");
  if (done_)
    return FailedPreconditionError(
        "step() called on a finished episode (it ended at turn {}: {}); call reset() first", turn_,
        end_reason_);
  const auto start = std::chrono::steady_clock::now();
  const Task& t = *task_;
  const RewardConfig& w = t.reward;
  StepResult out;
  StepInfo& info = out.info;
  info.reward_terms = ZeroTerms();
  auto& terms = info.reward_terms;
  ++turn_;
  ++actions_;

  terms["overlong"] =
      w.overlong * OverlongPenalty(action.size(), w.overlong_max_bytes, w.overlong_buffer_bytes);
  bool submitted = false;
  std::string kind_end_reason;  // set when a tool call itself ended the episode
  if (action.size() > t.budgets.max_action_bytes) {
    info.format_ok = false;
    info.tool_errors.push_back(
        {ActionErrorKind::kActionTooLong, -1, "",
         fmt::format("the action has {} bytes, more than the {} allowed; nothing was run",
                     action.size(), t.budgets.max_action_bytes)});
    out.observation.messages.push_back({"user", RenderErrors(info.tool_errors), "", ""});
    terms["invalid_action"] = -w.invalid_action;
    out.truncated = true;
    end_reason_ = "action_too_long";
  } else {
    const auto parse_start = std::chrono::steady_clock::now();
    ParsedAction parsed = parser_->Parse(action, calls_);
    info.parse_ms = MsSince(parse_start);
    info.format_ok = parsed.well_formed();
    info.tool_errors = parsed.errors;
    if (!parsed.well_formed())
      terms["invalid_action"] = -w.invalid_action;
    else
      ++well_formed_;
    if (!parsed.errors.empty())
      out.observation.messages.push_back({"user", RenderErrors(parsed.errors), "", ""});

    const auto tools_start = std::chrono::steady_clock::now();
    for (const ToolCall& call : parsed.calls) {
      if (submitted) {
        ++info.ignored_calls;
        continue;
      }
      ToolCallInfo ci;
      ci.call = call;
      ci.repeated = !seen_calls_.insert(CanonicalCall(call)).second;
      if (ci.repeated) terms["repeated_call"] -= w.repeated_call;
      terms["tool_call_cost"] -= w.CostOf(call.name);
      ++calls_;
      ToolRecord rec;
      rec.call = call;
      if (call.name == "submit") {
        submitted = true;
        if (call.arguments.contains("answer") && call.arguments["answer"].is_string())
          answer_ = call.arguments["answer"].get<std::string>();
        rec.output = t.requires_answer ? "Answer submitted. The episode is over."
                                       : "Submitted. The episode is over.";
      } else {
        const auto call_start = std::chrono::steady_clock::now();
        ToolOutcome o = Execute(call);
        rec.output = std::move(o.output);
        rec.error = o.error;
        rec.verdict = o.verdict;
        rec.exit_code = o.exit_code;
        rec.wall_time_s = o.wall_time_s;
        ci.wall_ms = MsSince(call_start);
        if (!o.verdict.empty()) info.verdicts.push_back(o.verdict);
        if (o.ends_episode) {
          submitted = true;
          kind_end_reason = o.end_reason.empty() ? "ended_by_tool" : o.end_reason;
        }
      }
      ci.error = rec.error;
      ci.verdict = rec.verdict;
      ci.exit_code = rec.exit_code;
      out.observation.messages.push_back({"tool", rec.output, call.name, call.id});
      history_.push_back(std::move(rec));
      info.tool_calls.push_back(std::move(ci));
    }
    if (info.ignored_calls > 0)
      out.observation.messages.push_back(
          {"user", fmt::format("{} tool call(s) after submit were not run.", info.ignored_calls),
           "", ""});
    // <answer>...</answer> is a submission too, for scenarios that take an answer.
    if (!submitted && parsed.answer.has_value() && t.requires_answer) {
      submitted = true;
      answer_ = *parsed.answer;
      out.observation.messages.push_back(
          {"user", "Answer submitted. The episode is over.", "", ""});
    }
    info.tools_ms = MsSince(tools_start);
    if (out.observation.messages.empty())
      out.observation.messages.push_back(
          {"user", "No tool call found in your message. Call a tool, or submit.", "", ""});
  }

  // Progress shaping: F = gamma * Φ(s') - Φ(s) over the scenario's subgoals.
  const auto verify_start = std::chrono::steady_clock::now();
  {
    VerifyContext ctx{t.params, answer_, history_, workspace(), false, EnvState()};
    std::vector<std::string> newly;
    const double phi = Potential(ctx, &newly);
    terms["progress"] = w.progress * (w.progress_gamma * phi - potential_);
    potential_ = phi;
  }

  if (submitted) {
    out.terminated = true;
    end_reason_ = !kind_end_reason.empty() ? kind_end_reason
                  : t.requires_answer      ? "answer_submitted"
                                           : "submitted";
  } else if (!out.truncated && t.end_on_goal && !t.verifier->RunsCommands()) {
    VerifyContext ctx{t.params, answer_, history_, workspace(), false, EnvState()};
    if (t.verifier->Verify(ctx).passed) {
      out.terminated = true;
      end_reason_ = "goal_reached";
      out.observation.messages.push_back(
          {"user", "The goal is reached. The episode is over.", "", ""});
    }
  }
  if (!out.terminated && !out.truncated) {
    const double elapsed =
        elapsed_before_fork_ +
        std::chrono::duration<double>(std::chrono::steady_clock::now() - episode_start_).count();
    if (turn_ >= t.budgets.max_turns) {
      out.truncated = true;
      end_reason_ = "turn_budget";
      terms["turn_budget"] = -w.turn_budget;
      out.observation.messages.push_back(
          {"user",
           fmt::format("The turn budget ({}) is used up. The episode is over.",
                       t.budgets.max_turns),
           "", ""});
    } else if (elapsed > t.budgets.max_episode_seconds) {
      out.truncated = true;
      end_reason_ = "time_budget";
      out.observation.messages.push_back(
          {"user", "The time budget is used up. The episode is over.", "", ""});
    }
  }

  if (out.terminated || out.truncated) {
    done_ = true;
    OutcomeInfo oi;
    if (out.terminated) {
      VerifyContext ctx{t.params, answer_, history_, workspace(), true, EnvState()};
      VerifyResult v = t.verifier->Verify(ctx);
      oi = OutcomeInfo{std::clamp(v.score, 0.0, 1.0), v.passed, v.detail};
      for (auto& verdict : v.verdicts) info.verdicts.push_back(std::move(verdict));
    } else {
      oi.detail = "truncated (" + end_reason_ + ")";
    }
    terms["outcome"] = w.failure + (w.success - w.failure) * oi.score;
    terms["outcome_tool_calls"] = calls_ * (oi.passed ? w.per_call_success : w.per_call_failure);
    terms["format"] = w.format * static_cast<double>(well_formed_) / actions_;
    info.outcome = oi;
  }
  info.verify_ms = MsSince(verify_start);
  info.end_reason = end_reason_;
  FillTaskInfo(info);
  double reward = 0;
  for (const std::string& n : RewardTermNames()) reward += terms[n];
  out.reward = reward;
  info.step_ms = MsSince(start);
  return out;
}

StatusOr<std::unique_ptr<Env>> ToolEnv::Fork() {
  if (!task_) return FailedPreconditionError("fork() called before reset()");
  TG_ASSIGN_OR_RETURN(std::unique_ptr<ToolEnv> copy, ForkKind());
  copy->task_ = task_;
  copy->params_ = params_;
  copy->tools_ = tools_;
  copy->parser_.emplace(task_->action_format, tools_);
  copy->history_ = history_;
  copy->seen_calls_ = seen_calls_;
  copy->answer_ = answer_;
  copy->turn_ = turn_;
  copy->calls_ = calls_;
  copy->actions_ = actions_;
  copy->well_formed_ = well_formed_;
  copy->potential_ = potential_;
  copy->reached_ = reached_;
  copy->done_ = done_;
  copy->end_reason_ = end_reason_;
  copy->elapsed_before_fork_ =
      elapsed_before_fork_ +
      std::chrono::duration<double>(std::chrono::steady_clock::now() - episode_start_).count();
  copy->episode_start_ = std::chrono::steady_clock::now();
  copy->seed_rng_ = seed_rng_;
  return std::unique_ptr<Env>(std::move(copy));
}

}  // namespace toolgym::envs
