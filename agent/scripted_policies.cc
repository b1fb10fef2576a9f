#include "agent/scripted_policies.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/hash.h"

namespace toolgym::agent {

namespace {

constexpr const char* kThinkOpen = "<think>\n";
constexpr const char* kThinkClose = "</think>";

// Words of a thought, made of a few fixed phrases: what a stand-in needs is a length.
std::string ThoughtWords(int from, int n) {
  static const std::vector<std::string> kWords = {
      "the",    "task",   "asks", "for",   "this;", "check", "what", "the",  "last",
      "output", "showed", "and",  "which", "tool",  "fits",  "the",  "next", "step."};
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (!out.empty()) out += ' ';
    out += kWords[static_cast<std::size_t>(from + i) % kWords.size()];
  }
  return out;
}

}  // namespace

Status DetouringExpert::Begin(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                              std::uint64_t seed) {
  TG_RETURN_IF_ERROR(expert_.BeginEpisode(task, tools, seed));
  TG_RETURN_IF_ERROR(random_.BeginEpisode(task, tools, SplitMix64(seed ^ 0x5eed)));
  detours_.clear();
  started_ = false;
  start_ = head_ = 0;
  return OkStatus();
}

int DetouringExpert::Turn(const std::vector<envs::Message>& conversation) {
  if (!started_) {
    started_ = true;
    start_ = conversation.size();
    head_ = conversation.size();
    for (std::size_t i = 0; i < conversation.size(); ++i)
      if (conversation[i].role == "assistant") {
        head_ = i;
        break;
      }
  }
  int turn = 0;
  for (std::size_t i = std::min(start_, conversation.size()); i < conversation.size(); ++i)
    turn += conversation[i].role == "assistant";
  return turn;
}

StatusOr<std::string> DetouringExpert::Action(const std::vector<envs::Message>& conversation,
                                              bool detour) {
  const int turn = Turn(conversation);
  if (detour) {
    detours_.insert(turn);
    return random_.Act(conversation);
  }
  // What the expert sees: the task, then its own actions and their results.
  std::vector<envs::Message> own(conversation.begin(),
                                 conversation.begin() + std::min(head_, conversation.size()));
  int t = -1;
  bool skipping = false;
  for (std::size_t i = start_; i < conversation.size(); ++i) {
    if (conversation[i].role == "assistant") {
      ++t;
      skipping = detours_.count(t) > 0;
    }
    if (!skipping) own.push_back(conversation[i]);
  }
  auto action = expert_.Act(own);
  if (action.ok() || action.status().code() != StatusCode::kFailedPrecondition) return action;
  // The expert is lost (a detour changed what its next step looks for): it acts at random from
  // here rather than ending the episode with an error, as a confused model would.
  detours_.insert(turn);
  return random_.Act(conversation);
}

std::string NoisyExpertPolicy::name() const { return fmt::format("noisy-expert:{:g}", epsilon_); }

Status NoisyExpertPolicy::BeginEpisode(const envs::Task& task,
                                       const std::vector<envs::ToolSpec>& tools,
                                       std::uint64_t seed) {
  usage_ = {};
  seed_ = SplitMix64(factory_seed_ ^ SplitMix64(seed));
  return inner_.Begin(task, tools, seed_);
}

StatusOr<std::string> NoisyExpertPolicy::Act(const std::vector<envs::Message>& conversation) {
  ++usage_.calls;
  const int turn = inner_.Turn(conversation);
  const double u = static_cast<double>(
                       SplitMix64(seed_ ^ SplitMix64(static_cast<std::uint64_t>(turn) + 1)) >> 11) *
                   0x1.0p-53;
  return inner_.Action(conversation, u < epsilon_);
}

Status ThinkerPolicy::BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                                   std::uint64_t seed) {
  if (task.action_format == envs::ActionFormat::kOpenAI)
    return FailedPreconditionError(
        "thinker: scenario {} uses the openai action format; the thinker writes <think> blocks "
        "in text actions (hermes, compact or auto)",
        task.scenario_id);
  usage_ = {};
  seed_ = SplitMix64(factory_seed_ ^ SplitMix64(seed));
  answered_turn_ = -1;
  answer_.clear();
  return inner_.Begin(task, tools, seed_);
}

double ThinkerPolicy::Uniform(int turn, int what) const {
  const std::uint64_t h = SplitMix64(seed_ ^ SplitMix64((static_cast<std::uint64_t>(turn) << 16) ^
                                                        static_cast<std::uint64_t>(what)));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

int ThinkerPolicy::Needed(int turn) const { return 32 + static_cast<int>(Uniform(turn, 1) * 225); }

int ThinkerPolicy::Natural(int turn) const {
  return static_cast<int>(Needed(turn) * (0.4 + 1.2 * Uniform(turn, 2)));
}

int ThinkerPolicy::Extension(int turn, int wait) const {
  return static_cast<int>(Needed(turn) * (0.3 + 0.5 * Uniform(turn, 3 + wait)));
}

StatusOr<std::string> ThinkerPolicy::Answer(const std::vector<envs::Message>& conversation,
                                            int turn, int thought) {
  if (answered_turn_ != turn) {
    TG_ASSIGN_OR_RETURN(answer_, inner_.Action(conversation, thought < Needed(turn)));
    answered_turn_ = turn;
  }
  return answer_;
}

StatusOr<std::string> ThinkerPolicy::Act(const std::vector<envs::Message>& conversation) {
  TG_ASSIGN_OR_RETURN(Completion c, Continue(conversation, {}));
  return c.text;
}

StatusOr<Completion> ThinkerPolicy::Continue(const std::vector<envs::Message>& conversation,
                                             const CompletionRequest& request) {
  ++usage_.calls;
  usage_.tokens_reported = true;
  const int turn = inner_.Turn(conversation);
  // Where the turn's message stands: how much was thought, how many "Wait"s, whether closed.
  const std::string& prefix = request.prefix;
  const std::size_t open = prefix.find("<think>");
  const std::size_t close = prefix.find(kThinkClose);
  const bool closed = close != std::string::npos;
  std::string_view thinking;
  if (open != std::string::npos)
    thinking =
        std::string_view(prefix).substr(open + 7, closed ? close - open - 7 : std::string::npos);
  int waits = 0;
  for (std::size_t p = thinking.find("Wait"); p != std::string::npos;
       p = thinking.find("Wait", p + 4))
    ++waits;
  const int thought = static_cast<int>(CountWords(thinking)) - waits;
  Completion out;
  out.tokens_reported = true;
  out.finish_reason = "stop";
  auto answer = [&](int words) -> Status {
    TG_ASSIGN_OR_RETURN(std::string a, Answer(conversation, turn, words));
    out.text += a;
    out.tokens += CountWords(a);
    return OkStatus();
  };
  if (closed) {
    TG_RETURN_IF_ERROR(answer(thought));
  } else {
    if (open == std::string::npos) {
      out.text = kThinkOpen;
      out.tokens = 1;
    }
    // The natural end of this stretch of thought: after L_t words, plus an extension per Wait.
    int target = Natural(turn);
    for (int j = 0; j < waits; ++j) target += Extension(turn, j);
    int n = std::max(0, target - thought);
    const std::int64_t room = request.max_tokens > 0 ? request.max_tokens - out.tokens : -1;
    const bool capped = room >= 0 && n > room;
    if (capped) n = static_cast<int>(std::max<std::int64_t>(0, room));
    std::string words = ThoughtWords(thought, n);
    if (!words.empty() && open != std::string::npos && !thinking.empty() &&
        thinking.back() != ' ' && thinking.back() != '\n')
      words = " " + words;
    out.text += words;
    out.tokens += n;
    if (capped) {
      out.finish_reason = "length";
    } else if (std::find(request.stop.begin(), request.stop.end(), kThinkClose) ==
               request.stop.end()) {
      out.text += "\n";
      out.text += kThinkClose;
      out.text += "\n";
      out.tokens += 1;
      TG_RETURN_IF_ERROR(answer(thought + n));
    }
  }
  usage_.completion_tokens += out.tokens;
  return out;
}

bool IsScriptedPolicySpec(const std::string& spec) {
  return spec == "thinker" || spec.rfind("noisy-expert:", 0) == 0;
}

StatusOr<std::unique_ptr<Policy>> MakeScriptedPolicy(const std::string& spec, std::uint64_t seed) {
  if (spec == "thinker") return std::unique_ptr<Policy>(new ThinkerPolicy(seed));
  if (spec.rfind("noisy-expert:", 0) == 0) {
    const std::string v = spec.substr(13);
    char* end = nullptr;
    const double eps = v.empty() ? -1 : std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || !(eps >= 0 && eps <= 1))
      return InvalidArgumentError(
          "policy \"{}\": expected noisy-expert:EPS with EPS a number in [0, 1] (the chance of a "
          "random call at each turn)",
          spec.substr(0, 100));
    return std::unique_ptr<Policy>(new NoisyExpertPolicy(eps, seed));
  }
  return InvalidArgumentError(
      "unknown scripted policy \"{}\"; expected noisy-expert:EPS or thinker", spec.substr(0, 100));
}

}  // namespace toolgym::agent
