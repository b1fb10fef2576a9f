#include "agent/strategies.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <tuple>
#include <vector>

#include "common/hash.h"
#include "scenarios/verifiers.h"

extern char** environ;

namespace toolgym::agent {

using nlohmann::json;

namespace {

constexpr const char* kExecScorer = "exec:";
constexpr std::chrono::milliseconds kScorerTimeout{120'000};

// One strategy's parameters: name, whether required, the allowed range or words, the default.
struct Param {
  std::string key;
  bool integer = true;  // else one of `words`
  std::int64_t lo = 0, hi = 0;
  std::vector<std::string> words;
  json fallback;  // null: no default (left out of params when not given)
};

struct StrategyDef {
  std::string name;
  std::string help;
  std::vector<Param> params;  // the first may be given without its key
  bool positional = false;
  bool needs_one = false;  // at least one parameter must be given
};

const std::vector<StrategyDef>& Defs() {
  static const std::vector<StrategyDef> kDefs = {
      {"plain", "one episode, one policy", {}, false, false},
      {"best-of-n",
       "N candidates in env forks, the best by the verifier (or scorer=score|reward|exec:PROGRAM)",
       {{"n", true, 1, 1024, {}, json()},
        {"scorer", false, 0, 0, {"verifier", "score", "reward"}, "verifier"}},
       true,
       true},
      {"majority",
       "N candidates in env forks, the most submitted answer wins (self-consistency)",
       {{"n", true, 1, 1024, {}, json()}},
       true,
       true},
      {"refine",
       "retry from the start with the failed attempt and its feedback, up to R more rounds "
       "(feedback=verifier|outcome)",
       {{"rounds", true, 0, 100, {}, json()},
        {"feedback", false, 0, 0, {"verifier", "outcome"}, "verifier"}},
       true,
       true},
      {"budget",
       "budget forcing of <think> blocks: cap=C tokens, waits=W forced continuations, min=M "
       "tokens",
       {{"cap", true, 1, 1 << 30, {}, json()},
        {"waits", true, 0, 16, {}, json()},
        {"min", true, 0, 1 << 30, {}, json()}},
       false,
       true},
  };
  return kDefs;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The answer as it is compared in a vote: trimmed, lower-cased, runs of space folded to one,
// a final period dropped.
std::string NormalizeAnswer(const std::string& a) {
  std::string out = scenarios::NormalizeText(a, {"case", "whitespace", "trim"});
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

EpisodeCompute& operator+=(EpisodeCompute& a, const EpisodeCompute& b) {
  a.policy_calls += b.policy_calls;
  a.prompt_tokens += b.prompt_tokens;
  a.completion_tokens += b.completion_tokens;
  a.tokens_reported = a.tokens_reported || b.tokens_reported;
  a.env_steps += b.env_steps;
  a.env_forks += b.env_forks;
  return a;
}

std::optional<std::string> AnswerOf(const Trajectory& t) {
  if (t.steps.empty()) return std::nullopt;
  const json& info = t.steps.back().info;
  if (!info.contains("answer") || !info["answer"].is_string()) return std::nullopt;
  return info["answer"].get<std::string>();
}

// The episode's executed tool calls, canonical: the vote of a candidate that gave no answer.
std::string CallSequence(const Trajectory& t) {
  std::string out;
  for (const TrajectoryStep& s : t.steps)
    if (s.info.contains("tool_calls"))
      for (const json& c : s.info["tool_calls"])
        out += c.value("name", "") + c.value("arguments", json::object()).dump() + "\n";
  return out;
}

json CandidateJson(const Trajectory& t, int k) {
  json j = {{"candidate", k},
            {"success", t.success},
            {"score", t.score},
            {"return", t.total_reward},
            {"turns", t.steps.size()},
            {"tool_calls", t.tool_calls},
            {"end_reason", t.end_reason}};
  if (auto a = AnswerOf(t)) j["answer"] = *a;
  if (!t.error.empty()) j["error"] = t.error;
  return j;
}

// One candidate: a fork of the env as reset, a policy with the candidate's seed.
struct Candidate {
  Trajectory trajectory;
  EpisodeCompute compute;
};

StatusOr<Candidate> PlayCandidate(envs::Env& env, const envs::ResetResult& reset,
                                  const PolicyFactory& factory, const EpisodeSpec& spec, int k,
                                  const std::vector<envs::Message>& context = {}) {
  TG_ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> fork, env.Fork());
  TG_ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, factory(CandidateSeed(spec.policy_seed, k)));
  Candidate c;
  TG_ASSIGN_OR_RETURN(c.trajectory,
                      PlayEpisode(*fork, *policy, reset, spec.seed, spec.max_steps, context));
  c.compute = PlainCompute(c.trajectory);
  c.compute.env_forks = 1;
  return c;
}

// Resets the env to the episode's instance and plays candidates 0..n-1, each in its own fork:
// their trajectories, with their compute added to out->compute and their outcomes to
// *candidates (CandidateJson).
StatusOr<std::vector<Trajectory>> PlayCandidates(envs::Env& env, const PolicyFactory& factory,
                                                 const EpisodeSpec& spec, int n, EvalEpisode* out,
                                                 json* candidates) {
  TG_ASSIGN_OR_RETURN(envs::ResetResult reset, env.Reset(spec.seed));
  std::vector<Trajectory> played;
  for (int k = 0; k < n; ++k) {
    TG_ASSIGN_OR_RETURN(Candidate c, PlayCandidate(env, reset, factory, spec, k));
    out->compute += c.compute;
    candidates->push_back(CandidateJson(c.trajectory, k));
    played.push_back(std::move(c.trajectory));
  }
  return played;
}

using ScoreKey = std::tuple<double, double, double>;

// What a program printed and how it ended.
struct ProgramOutput {
  std::string out, err;
  int exit_code = -1;  // -1: killed by a signal
  bool timed_out = false;
};

// Runs argv (argv[0] a path) with stdin from /dev/null, collecting stdout and stderr (each up to
// 1 MiB), killed after `timeout`. Written here because Boost.Process needs Boost.Filesystem
// linked and the task is a pipe, posix_spawn and poll.
StatusOr<ProgramOutput> RunProgram(const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2", errno);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return ErrnoError("pipe2", errno);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return ErrnoError("posix_spawn " + args[0], rc);
  }
  ProgramOutput result;
  constexpr std::size_t kMaxOutput = 1 << 20;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[8192];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (sinks[i]->size() < kMaxOutput) sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

ScoreKey Score(const std::string& scorer, const Trajectory& t) {
  const double passed = t.success ? 1 : 0;
  if (scorer == "score") return {t.score, passed, t.total_reward};
  if (scorer == "reward") return {t.total_reward, passed, t.score};
  return {passed, t.score, t.total_reward};
}

// Runs `program FILE` where FILE holds the candidates' transcripts, and reads one score per
// candidate from its standard output: the exec scorer of best-of-n (docs/evaluation.md).
StatusOr<std::vector<double>> ExecScores(const std::string& program, const EpisodeSpec& spec,
                                         const std::vector<Trajectory>& candidates) {
  json input = {{"scenario", spec.scenario}, {"seed", spec.seed}, {"candidates", json::array()}};
  for (const Trajectory& t : candidates) {
    json messages = json::array();
    for (const envs::Message& m : t.Conversation()) messages.push_back(m);
    input["candidates"].push_back({{"messages", std::move(messages)}});
  }
  const std::string dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string path = dir + "/toolgym-candidates-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) return ErrnoError("scorer: mkstemp in " + dir, errno);
  ::close(fd);
  struct Remove {
    std::string p;
    ~Remove() { ::unlink(p.c_str()); }
  } remove{path};
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << input.dump(-1, ' ', false, json::error_handler_t::replace);
  file.close();
  if (!file) return InternalError("scorer: writing {} failed", path);
  TG_ASSIGN_OR_RETURN(ProgramOutput run, RunProgram({program, path}, kScorerTimeout));
  const std::string who = fmt::format("scorer exec:{}", program);
  if (run.timed_out)
    return Status(StatusCode::kDeadlineExceeded,
                  fmt::format("{} did not finish within {} s", who, kScorerTimeout.count() / 1000));
  if (run.exit_code != 0)
    return InvalidArgumentError("{} exited with status {}; stderr: {}", who, run.exit_code,
                                run.err.substr(0, 500));
  const json scores = json::parse(run.out, nullptr, false);
  bool ok = scores.is_array() && scores.size() == candidates.size();
  for (std::size_t i = 0; ok && i < scores.size(); ++i)
    ok = scores[i].is_number() && std::isfinite(scores[i].get<double>());
  if (!ok)
    return InvalidArgumentError(
        "{}: expected a JSON array of {} finite numbers (one score per candidate) on standard "
        "output, found: {}",
        who, candidates.size(), run.out.substr(0, 200));
  return scores.get<std::vector<double>>();
}

StatusOr<EvalEpisode> RunBestOfN(envs::Env& env, const PolicyFactory& factory,
                                 const EpisodeSpec& spec, int n, const std::string& scorer) {
  EvalEpisode out;
  json candidates = json::array();
  TG_ASSIGN_OR_RETURN(std::vector<Trajectory> played,
                      PlayCandidates(env, factory, spec, n, &out, &candidates));
  std::vector<ScoreKey> keys;
  if (scorer.rfind(kExecScorer, 0) == 0) {
    TG_ASSIGN_OR_RETURN(std::vector<double> scores,
                        ExecScores(scorer.substr(std::string(kExecScorer).size()), spec, played));
    for (int k = 0; k < n; ++k) {
      keys.push_back({scores[k], 0, 0});
      candidates[k]["scorer_score"] = scores[k];
    }
  } else {
    for (const Trajectory& t : played) keys.push_back(Score(scorer, t));
  }
  int best = 0;  // the earliest of the best
  for (int k = 1; k < n; ++k)
    if (keys[k] > keys[best]) best = k;
  out.trajectory = std::move(played[best]);
  out.strategy = {{"chosen", best}, {"scorer", scorer}, {"candidates", std::move(candidates)}};
  return out;
}

StatusOr<EvalEpisode> RunMajority(envs::Env& env, const PolicyFactory& factory,
                                  const EpisodeSpec& spec, int n) {
  EvalEpisode out;
  json candidates = json::array();
  TG_ASSIGN_OR_RETURN(std::vector<Trajectory> played,
                      PlayCandidates(env, factory, spec, n, &out, &candidates));
  // The ballots: answers when any candidate gave one, else call sequences.
  bool any_answer = false;
  for (const Trajectory& t : played) any_answer = any_answer || AnswerOf(t).has_value();
  std::vector<std::optional<std::string>> ballot;
  for (const Trajectory& t : played) {
    if (any_answer) {
      auto a = AnswerOf(t);
      ballot.push_back(a ? std::optional<std::string>(NormalizeAnswer(*a)) : std::nullopt);
    } else {
      ballot.push_back(CallSequence(t));
    }
  }
  std::map<std::string, int> votes;
  for (const auto& b : ballot)
    if (b) ++votes[*b];
  int chosen = 0, top = 0;
  for (int k = 0; k < n; ++k)  // the earliest of the most voted
    if (ballot[k] && votes[*ballot[k]] > top) {
      top = votes[*ballot[k]];
      chosen = k;
    }
  json tally = json::array();
  std::vector<std::string> seen;
  for (int k = 0; k < n; ++k)
    if (ballot[k] && std::find(seen.begin(), seen.end(), *ballot[k]) == seen.end()) {
      seen.push_back(*ballot[k]);
      tally.push_back({{any_answer ? "answer" : "calls", ballot[k]->substr(0, 200)},
                       {"votes", votes[*ballot[k]]}});
    }
  out.trajectory = std::move(played[chosen]);
  out.strategy = {{"chosen", chosen},
                  {"votes", top},
                  {"ballot", any_answer ? "answer" : "tool_calls"},
                  {"tally", std::move(tally)},
                  {"candidates", std::move(candidates)}};
  return out;
}

// The feedback message after a failed attempt.
std::string Feedback(const Trajectory& t, const std::string& mode) {
  std::string why;
  if (!t.error.empty()) {
    why = "the policy failed: " + t.error;
  } else if (t.end_reason == "turn_budget" || t.end_reason == "time_budget" ||
             t.end_reason == "action_too_long") {
    why = fmt::format("it ran out of budget ({}) before finishing", t.end_reason);
  } else {
    why = fmt::format("it ended ({}) without solving the task",
                      t.end_reason.empty() ? "no end reason" : t.end_reason);
  }
  std::string detail;
  if (mode == "verifier" && !t.steps.empty()) {
    const json& info = t.steps.back().info;
    if (info.contains("outcome") && info["outcome"].is_object())
      detail = info["outcome"].value("detail", "");
  }
  std::string msg = fmt::format("Your previous attempt did not succeed: {}.", why);
  if (!detail.empty()) msg += fmt::format(" The check reported: {}", detail.substr(0, 2000));
  msg +=
      "\nThe environment is back in its initial state. Use what the attempt above showed and "
      "solve the task again.";
  return msg;
}

StatusOr<EvalEpisode> RunRefine(envs::Env& env, const PolicyFactory& factory,
                                const EpisodeSpec& spec, int rounds, const std::string& mode) {
  TG_ASSIGN_OR_RETURN(envs::ResetResult reset, env.Reset(spec.seed));
  EvalEpisode out;
  json attempts = json::array();
  std::vector<envs::Message> context;
  for (int r = 0; r <= rounds; ++r) {
    TG_ASSIGN_OR_RETURN(Candidate c, PlayCandidate(env, reset, factory, spec, r, context));
    out.compute += c.compute;
    attempts.push_back(CandidateJson(c.trajectory, r));
    const bool last = c.trajectory.success || r == rounds;
    if (!last) {
      // The attempt as the policy saw it (its transcript after the reset's messages), then the
      // feedback.
      const std::vector<envs::Message> attempt = c.trajectory.Conversation();
      context.insert(context.end(),
                     attempt.begin() + static_cast<std::ptrdiff_t>(
                                           c.trajectory.first_observation.messages.size()),
                     attempt.end());
      context.push_back({"user", Feedback(c.trajectory, mode), "", ""});
    }
    out.trajectory = std::move(c.trajectory);
    if (last) break;
  }
  out.strategy = {{"rounds", static_cast<int>(attempts.size()) - 1},
                  {"feedback", mode},
                  {"attempts", std::move(attempts)}};
  return out;
}

StatusOr<EvalEpisode> RunBudget(envs::Env& env, const PolicyFactory& factory,
                                const EpisodeSpec& spec, BudgetForcedPolicy::Options options) {
  TG_ASSIGN_OR_RETURN(std::unique_ptr<Policy> inner, factory(spec.policy_seed));
  TG_RETURN_IF_ERROR(CheckPolicyForStrategy({"budget", json::object(), "budget"}, *inner));
  BudgetForcedPolicy policy(std::move(inner), options);
  TG_ASSIGN_OR_RETURN(Trajectory t, RunEpisode(env, policy, spec.seed, spec.max_steps));
  EvalEpisode out;
  out.compute = PlainCompute(t);
  const BudgetForcedPolicy::Stats& s = policy.stats();
  out.strategy = {{"thinking_tokens", s.thinking_tokens},
                  {"answer_tokens", s.answer_tokens},
                  {"turns", s.turns},
                  {"turns_capped", s.turns_capped},
                  {"waits", s.waits}};
  out.trajectory = std::move(t);
  return out;
}

}  // namespace

Status CheckPolicyForStrategy(const StrategySpec& strategy, const Policy& policy) {
  if (strategy.name == "budget" && !policy.can_continue())
    return FailedPreconditionError(
        "strategy {}: policy {} cannot continue a partial message; budget forcing needs one "
        "that can (thinker, or openai:MODEL with --continue-final and --chat-mode text)",
        strategy.canonical, policy.name());
  return OkStatus();
}

std::uint64_t CandidateSeed(std::uint64_t policy_seed, int k) {
  if (k == 0) return policy_seed;
  return SplitMix64(policy_seed ^ SplitMix64(0xC0FFEEull + static_cast<std::uint64_t>(k)));
}

json SummarizeStrategy(const std::string& name, const std::vector<json>& details) {
  std::vector<const json*> d;
  for (const json& j : details)
    if (j.is_object()) d.push_back(&j);
  if (d.empty() ||
      (name != "best-of-n" && name != "majority" && name != "refine" && name != "budget"))
    return nullptr;
  const double n = static_cast<double>(d.size());
  json out = {{"name", name}, {"episodes", d.size()}};
  if (name == "best-of-n" || name == "majority") {
    std::size_t width = 0;
    double passed = 0, any = 0, chosen_passed = 0;
    std::vector<std::int64_t> chosen;
    for (const json* j : d) {
      const json& c = (*j)["candidates"];
      width = std::max(width, c.size());
      int p = 0;
      for (const json& k : c) p += k.value("success", false);
      passed += p;
      any += p > 0;
      const std::size_t pick = (*j)["chosen"].get<std::size_t>();
      if (chosen.size() <= pick) chosen.resize(pick + 1, 0);
      ++chosen[pick];
      chosen_passed += pick < c.size() && c[pick].value("success", false);
    }
    out["candidates"] = width;
    out["mean_candidates_passed"] = passed / n;
    out["any_passed_rate"] = any / n;  // the oracle pass@N of the candidates
    out["chosen_passed_rate"] = chosen_passed / n;
    out["chosen_histogram"] = chosen;
    if (name == "majority") {
      double votes = 0, strict = 0, answers = 0;
      for (const json* j : d) {
        const int v = (*j)["votes"].get<int>();
        votes += v;
        strict += 2 * v > static_cast<int>((*j)["candidates"].size());
        answers += (*j)["ballot"] == "answer";
      }
      out["mean_winning_votes"] = votes / n;
      out["strict_majority_rate"] = strict / n;
      out["answer_ballot_rate"] = answers / n;
    }
  } else if (name == "refine") {
    std::vector<std::int64_t> attempts, solved_at;
    for (const json* j : d) {
      const json& a = (*j)["attempts"];
      if (attempts.size() < a.size()) attempts.resize(a.size(), 0);
      ++attempts[a.size() - 1];
      for (std::size_t r = 0; r < a.size(); ++r)
        if (a[r].value("success", false)) {
          if (solved_at.size() <= r) solved_at.resize(r + 1, 0);
          ++solved_at[r];
        }
    }
    json by_attempt = json::array();
    std::int64_t cum = 0;
    for (std::size_t r = 0; r < attempts.size(); ++r) {
      cum += r < solved_at.size() ? solved_at[r] : 0;
      by_attempt.push_back(static_cast<double>(cum) / n);
    }
    out["attempts_histogram"] = attempts;   // [episodes that used 1 attempt, 2, ...]
    out["solved_by_attempt"] = by_attempt;  // share solved within the first r+1 attempts
  } else {
    double thinking = 0, answer = 0, turns = 0, capped = 0, waits = 0;
    for (const json* j : d) {
      thinking += (*j)["thinking_tokens"].get<double>();
      answer += (*j)["answer_tokens"].get<double>();
      turns += (*j)["turns"].get<double>();
      capped += (*j)["turns_capped"].get<double>();
      waits += (*j)["waits"].get<double>();
    }
    const double t = std::max(1.0, turns);
    out["thinking_tokens_per_turn"] = thinking / t;
    out["answer_tokens_per_turn"] = answer / t;
    out["capped_turn_rate"] = capped / t;
    out["waits_per_turn"] = waits / t;
  }
  return out;
}

std::string StrategyMarkdown(const json& s) {
  if (!s.is_object()) return "";
  const std::string name = s.value("name", "");
  auto pct = [](const json& x) { return fmt::format("{:.1f}%", 100 * x.get<double>()); };
  std::string out =
      fmt::format("## Strategy: {}\n\nOver {} episodes: ", name, s["episodes"].get<std::int64_t>());
  if (name == "best-of-n" || name == "majority") {
    out += fmt::format(
        "{} candidates each; {:.2f} of them passed per episode on average; at least one passed in "
        "{} of the episodes (the oracle pass@{}), the chosen one in {}. Chosen candidate "
        "(0 = the plain episode's seed), episodes: {}.",
        s["candidates"].get<std::int64_t>(), s["mean_candidates_passed"].get<double>(),
        pct(s["any_passed_rate"]), s["candidates"].get<std::int64_t>(),
        pct(s["chosen_passed_rate"]), s["chosen_histogram"].dump());
    if (name == "majority")
      out += fmt::format(
          " The winning answer had {:.2f} votes on average, a strict majority in {}; candidates "
          "voted with answers (not call sequences) in {}.",
          s["mean_winning_votes"].get<double>(), pct(s["strict_majority_rate"]),
          pct(s["answer_ballot_rate"]));
  } else if (name == "refine") {
    std::vector<std::string> by;
    for (const json& x : s["solved_by_attempt"]) by.push_back(pct(x));
    out += fmt::format(
        "episodes by attempts used (1, 2, ...): {}; solved within the first 1, 2, ... attempts: "
        "{}.",
        s["attempts_histogram"].dump(), fmt::join(by, ", "));
  } else if (name == "budget") {
    out += fmt::format(
        "{:.1f} thinking and {:.1f} answer tokens per turn; {} of turns capped; {:.2f} Waits per "
        "turn.",
        s["thinking_tokens_per_turn"].get<double>(), s["answer_tokens_per_turn"].get<double>(),
        pct(s["capped_turn_rate"]), s["waits_per_turn"].get<double>());
  }
  return out + "\n\n";
}

std::string StrategyHelp() {
  std::string out;
  for (const StrategyDef& d : Defs()) {
    std::string form = d.name;
    for (std::size_t i = 0; i < d.params.size(); ++i)
      form += fmt::format("{}{}=…", i == 0 ? ":" : ",", d.params[i].key);
    out += fmt::format("  {:<34} {}\n", form, d.help);
  }
  return out;
}

StatusOr<StrategySpec> ParseStrategy(const std::string& text) {
  const std::size_t colon = text.find(':');
  const std::string name = Lower(text.substr(0, colon));
  auto def = std::find_if(Defs().begin(), Defs().end(),
                          [&](const StrategyDef& d) { return d.name == name; });
  if (def == Defs().end())
    return InvalidArgumentError("unknown strategy \"{}\"; expected one of:\n{}",
                                text.substr(0, 100), StrategyHelp());
  StrategySpec out;
  out.name = name;
  std::map<std::string, std::string> given;
  if (colon != std::string::npos) {
    const std::string rest = text.substr(colon + 1);
    std::size_t pos = 0;
    int index = 0;
    while (pos <= rest.size()) {
      std::size_t comma = rest.find(',', pos);
      if (comma == std::string::npos) comma = rest.size();
      const std::string item = rest.substr(pos, comma - pos);
      pos = comma + 1;
      const std::size_t eq = item.find('=');
      std::string key, value;
      if (eq == std::string::npos && index == 0 && def->positional && !def->params.empty()) {
        key = def->params[0].key;
        value = item;
      } else if (eq != std::string::npos) {
        key = Lower(item.substr(0, eq));
        value = item.substr(eq + 1);
      } else {
        return InvalidArgumentError("strategy \"{}\": \"{}\" is not KEY=VALUE", text.substr(0, 100),
                                    item.substr(0, 50));
      }
      ++index;
      auto p = std::find_if(def->params.begin(), def->params.end(),
                            [&](const Param& q) { return q.key == key; });
      if (p == def->params.end()) {
        std::vector<std::string> keys;
        for (const Param& q : def->params) keys.push_back(q.key);
        return InvalidArgumentError(
            "strategy \"{}\": unknown parameter \"{}\"; {} takes {}", text.substr(0, 100),
            key.substr(0, 50), name,
            keys.empty() ? "none" : fmt::format("{}", fmt::join(keys, ", ")));
      }
      if (given.count(key))
        return InvalidArgumentError("strategy \"{}\": {} is given twice", text.substr(0, 100), key);
      given[key] = value;
    }
  }
  for (const Param& p : def->params) {
    auto it = given.find(p.key);
    if (it == given.end()) {
      if (!p.fallback.is_null()) out.params[p.key] = p.fallback;
      continue;
    }
    const std::string& v = it->second;
    if (p.integer) {
      std::int64_t x = 0;
      bool ok = !v.empty() && v.size() <= 12;
      for (char c : v) ok = ok && std::isdigit(static_cast<unsigned char>(c));
      if (ok) x = std::stoll(v);
      if (!ok || x < p.lo || x > p.hi)
        return InvalidArgumentError(
            "strategy \"{}\": {} must be an integer in [{}, {}], not \"{}\"", text.substr(0, 100),
            p.key, p.lo, p.hi, v.substr(0, 50));
      out.params[p.key] = x;
    } else if (p.key == "scorer" && v.rfind(kExecScorer, 0) == 0) {
      // A program that scores the candidates' transcripts (a reward model, a judge).
      const std::string program = v.substr(std::string(kExecScorer).size());
      if (program.empty() || ::access(program.c_str(), X_OK) != 0)
        return InvalidArgumentError(
            "strategy \"{}\": scorer {}: expected the path of an executable program that scores "
            "candidates (docs/evaluation.md), found {}",
            text.substr(0, 100), v.substr(0, 200),
            program.empty() ? "no path" : "no executable file there");
      out.params[p.key] = v;
    } else {
      if (std::find(p.words.begin(), p.words.end(), v) == p.words.end())
        return InvalidArgumentError("strategy \"{}\": {} must be one of {}{}, not \"{}\"",
                                    text.substr(0, 100), p.key, fmt::join(p.words, ", "),
                                    p.key == "scorer" ? ", exec:PROGRAM" : "", v.substr(0, 50));
      out.params[p.key] = v;
    }
  }
  if (def->needs_one && given.empty())
    return InvalidArgumentError("strategy \"{}\" needs its parameters: {}", text.substr(0, 100),
                                StrategyHelp());
  if (def->positional && !def->params.empty() && !out.params.contains(def->params[0].key))
    return InvalidArgumentError("strategy \"{}\": {} is required ({}:{})", text.substr(0, 100),
                                def->params[0].key, name, def->params[0].key == "n" ? "4" : "2");
  out.canonical = name;
  int i = 0;
  for (const Param& p : def->params)
    if (out.params.contains(p.key)) {
      const json& v = out.params[p.key];
      out.canonical += fmt::format("{}{}={}", i++ == 0 ? ":" : ",", p.key,
                                   v.is_string() ? v.get<std::string>() : v.dump());
    }
  return out;
}

EpisodeRunner MakeStrategyRunner(const StrategySpec& s) {
  const json& p = s.params;
  if (s.name == "best-of-n") {
    const int n = p["n"].get<int>();
    const std::string scorer = p["scorer"].get<std::string>();
    return [n, scorer](envs::Env& env, const PolicyFactory& f, const EpisodeSpec& spec) {
      return RunBestOfN(env, f, spec, n, scorer);
    };
  }
  if (s.name == "majority") {
    const int n = p["n"].get<int>();
    return [n](envs::Env& env, const PolicyFactory& f, const EpisodeSpec& spec) {
      return RunMajority(env, f, spec, n);
    };
  }
  if (s.name == "refine") {
    const int rounds = p["rounds"].get<int>();
    const std::string mode = p["feedback"].get<std::string>();
    return [rounds, mode](envs::Env& env, const PolicyFactory& f, const EpisodeSpec& spec) {
      return RunRefine(env, f, spec, rounds, mode);
    };
  }
  if (s.name == "budget") {
    BudgetForcedPolicy::Options o;
    o.cap = p.value("cap", std::int64_t{0});
    o.waits = p.value("waits", 0);
    o.min = p.value("min", std::int64_t{0});
    return [o](envs::Env& env, const PolicyFactory& f, const EpisodeSpec& spec) {
      return RunBudget(env, f, spec, o);
    };
  }
  return EpisodeRunner(RunPlainEpisode);
}

Status BudgetForcedPolicy::BeginEpisode(const envs::Task& task,
                                        const std::vector<envs::ToolSpec>& tools,
                                        std::uint64_t seed) {
  stats_ = {};
  return inner_->BeginEpisode(task, tools, seed);
}

StatusOr<std::string> BudgetForcedPolicy::Act(const std::vector<envs::Message>& conversation) {
  constexpr int kMaxWaits = 16;
  constexpr const char* kClose = "</think>";
  ++stats_.turns;
  std::string prefix;
  std::int64_t thinking = 0;
  int waits = 0;
  for (;;) {
    CompletionRequest req;
    req.prefix = prefix;
    req.stop = {kClose};
    if (options_.cap > 0) req.max_tokens = std::max<std::int64_t>(1, options_.cap - thinking);
    TG_ASSIGN_OR_RETURN(Completion c, inner_->Continue(conversation, req));
    prefix += c.text;
    thinking += c.tokens;
    if (prefix.find("<think>") == std::string::npos) {
      // No thinking at all: what came is the answer (or the start of one, cut by the cap).
      stats_.answer_tokens += c.tokens;
      if (c.finish_reason != "length") return prefix;
      CompletionRequest rest;
      rest.prefix = prefix;
      TG_ASSIGN_OR_RETURN(Completion r, inner_->Continue(conversation, rest));
      stats_.answer_tokens += r.tokens;
      return prefix + r.text;
    }
    if (c.finish_reason == "length") {  // the cap: end the thinking here
      ++stats_.turns_capped;
      break;
    }
    // The model ended its thinking: let it, or make it go on.
    const bool extend = waits < kMaxWaits && (waits < options_.waits || thinking < options_.min) &&
                        (options_.cap == 0 || thinking < options_.cap);
    if (!extend) break;
    prefix += "\nWait";
    ++waits;
    ++stats_.waits;
  }
  stats_.thinking_tokens += thinking;
  if (prefix.empty() || prefix.back() != '\n') prefix += '\n';
  prefix += kClose;
  prefix += '\n';
  CompletionRequest answer;
  answer.prefix = prefix;
  TG_ASSIGN_OR_RETURN(Completion a, inner_->Continue(conversation, answer));
  stats_.answer_tokens += a.tokens;
  return prefix + a.text;
}

}  // namespace toolgym::agent
