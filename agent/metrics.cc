#include "agent/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>
#include <type_traits>

#include "envs/info.h"

namespace toolgym::agent::metrics {

using nlohmann::json;

Interval Wilson(std::int64_t successes, std::int64_t n, double z) {
  // No information (no trials) or an impossible count: the whole range.
  if (n <= 0 || successes < 0 || successes > n) return {0.0, 1.0};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / nn;
  const double center = (p + z2 / (2.0 * nn)) / denom;
  const double half = std::abs(z) * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denom;
  Interval out{center - half, center + half};
  // Exact bounds at 0/n and n/n (0 and 1) come out a rounding error off; clamp.
  if (successes == 0) out.lo = 0.0;
  if (successes == n) out.hi = 1.0;
  out.lo = std::clamp(out.lo, 0.0, 1.0);
  out.hi = std::clamp(out.hi, 0.0, 1.0);
  return out;
}

namespace {

Status CheckNck(const char* what, std::int64_t n, std::int64_t c, std::int64_t k) {
  if (n < 0) return InvalidArgumentError("{}: n = {} samples is negative", what, n);
  if (c < 0 || c > n)
    return InvalidArgumentError("{}: c = {} successes is outside [0, n = {}]", what, c, n);
  if (k < 1 || k > n) return InvalidArgumentError("{}: k = {} is outside [1, n = {}]", what, k, n);
  return OkStatus();
}

}  // namespace

StatusOr<double> PassAtK(std::int64_t n, std::int64_t c, std::int64_t k) {
  TG_RETURN_IF_ERROR(CheckNck("pass@k", n, c, k));
  // Fewer failures than k: every draw of k samples holds a success.
  if (n - c < k) return 1.0;
  // C(n-c, k)/C(n, k) = prod_{i=n-c+1..n} (1 - k/i): each factor in (0, 1], no large numbers.
  double fail_all = 1.0;
  for (std::int64_t i = n - c + 1; i <= n; ++i)
    fail_all *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return std::clamp(1.0 - fail_all, 0.0, 1.0);
}

StatusOr<double> PassHatK(std::int64_t n, std::int64_t c, std::int64_t k) {
  TG_RETURN_IF_ERROR(CheckNck("pass^k", n, c, k));
  if (c < k) return 0.0;
  // C(c, k)/C(n, k) = prod_{i=0..k-1} (c-i)/(n-i): each factor in (0, 1].
  double all = 1.0;
  for (std::int64_t i = 0; i < k; ++i)
    all *= static_cast<double>(c - i) / static_cast<double>(n - i);
  return std::clamp(all, 0.0, 1.0);
}

namespace {

// Ranks 1..n, ties sharing the average of the ranks they span.
std::vector<double> AverageRanks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    // Positions i..j (0-based) hold ranks i+1..j+1; their average is (i+j)/2 + 1.
    const double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t t = i; t <= j; ++t) rank[order[t]] = avg;
    i = j + 1;
  }
  return rank;
}

}  // namespace

std::optional<double> Spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2) return std::nullopt;
  for (double v : x)
    if (!std::isfinite(v)) return std::nullopt;
  for (double v : y)
    if (!std::isfinite(v)) return std::nullopt;
  const std::vector<double> rx = AverageRanks(x), ry = AverageRanks(y);
  // Pearson's r of the ranks (the 1 - 6Σd²/(n(n²-1)) shortcut is wrong with ties).
  const double n = static_cast<double>(x.size());
  const double mean = (n + 1.0) / 2.0;  // the mean of any average-rank vector
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < rx.size(); ++i) {
    const double dx = rx[i] - mean, dy = ry[i] - mean;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return std::nullopt;  // a constant side
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

std::string SuiteOf(const std::string& scenario) {
  const size_t dot = scenario.find('.');
  return dot == std::string::npos ? scenario : scenario.substr(0, dot);
}

namespace {

// A tool call counts as successful when the tool did not flag an error and its verdict is one
// of a success: "" (tools that run nothing: submit, the web and search tools), "ok" (a sandboxed
// command that exited 0) or "tests_passed" (the code env's run_tests with every public test
// passing). Every other verdict ("nonzero_exit", "wall_time_limit", "tests_failed", ...) is a
// failure even if a tool forgot to set the error flag.
bool CallOk(const json& call) {
  if (!call.is_object()) return false;
  const json* err = call.contains("error") ? &call["error"] : nullptr;
  if (err != nullptr && (!err->is_boolean() || err->get<bool>())) return false;
  if (!call.contains("verdict")) return true;
  const json& v = call["verdict"];
  if (v.is_null()) return true;
  if (!v.is_string()) return false;
  const std::string s = v.get<std::string>();
  return s.empty() || s == "ok" || s == "tests_passed";
}

}  // namespace

EpisodeRecord RecordFromTrajectory(const Trajectory& t, int sample,
                                   std::optional<int> expert_tool_calls,
                                   std::optional<std::int64_t> generated_tokens) {
  EpisodeRecord r;
  r.scenario = t.scenario;
  r.suite = SuiteOf(t.scenario);
  r.split = t.split;
  r.seed = t.seed;
  r.sample = sample;
  r.difficulty = t.difficulty;
  r.success = t.success && t.error.empty();
  r.score = t.score;
  r.reward = t.total_reward;
  for (const std::string& name : envs::RewardTermNames()) r.reward_terms[name] = 0.0;
  r.turns = static_cast<int>(t.steps.size());
  for (const TrajectoryStep& s : t.steps) {
    r.generated_bytes += static_cast<std::int64_t>(s.action.size());
    const json& info = s.info;
    if (!info.is_object()) continue;
    if (info.contains("format_ok") && info["format_ok"].is_boolean() &&
        !info["format_ok"].get<bool>())
      ++r.invalid_actions;
    if (info.contains("tool_calls") && info["tool_calls"].is_array()) {
      for (const json& c : info["tool_calls"]) {
        ++r.tool_calls;
        if (CallOk(c)) ++r.tool_calls_ok;
      }
    }
    if (info.contains("reward_terms") && info["reward_terms"].is_object()) {
      for (const auto& [name, v] : info["reward_terms"].items())
        if (v.is_number()) r.reward_terms[name] += v.get<double>();
    }
  }
  r.expert_tool_calls = expert_tool_calls;
  r.generated_tokens = generated_tokens;
  r.end_reason = t.end_reason;
  r.error = t.error;
  return r;
}

namespace {

MeanStd Stats(const std::vector<double>& v) {
  MeanStd m;
  m.n = static_cast<std::int64_t>(v.size());
  if (v.empty()) return m;
  // Two passes: the mean, then squared deviations from it (no cancellation of large sums).
  double sum = 0;
  for (double x : v) sum += x;
  m.mean = sum / static_cast<double>(v.size());
  if (v.size() < 2) return m;
  double ss = 0;
  for (double x : v) ss += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
  return m;
}

bool Solved(const EpisodeRecord& r) { return r.success && r.error.empty(); }

}  // namespace

Summary Summarize(const std::vector<EpisodeRecord>& episodes) {
  Summary s;
  s.episodes = static_cast<std::int64_t>(episodes.size());

  // Tasks: (scenario, split, seed) -> (samples, successes).
  std::map<std::tuple<std::string, std::string, std::uint64_t>,
           std::pair<std::int64_t, std::int64_t>>
      tasks;
  std::set<std::string> term_names;
  for (const EpisodeRecord& r : episodes) {
    auto& [n, c] = tasks[{r.scenario, r.split, r.seed}];
    ++n;
    if (Solved(r)) ++c;
    for (const auto& [name, v] : r.reward_terms) term_names.insert(name);
  }
  s.tasks = static_cast<std::int64_t>(tasks.size());

  std::vector<double> reward, turns, calls, bytes, tokens, difficulty;
  std::map<std::string, std::vector<double>> terms;
  std::map<int, std::vector<double>> bytes_by_d;
  std::int64_t calls_ok = 0, calls_total = 0, invalid = 0, turns_total = 0;
  std::int64_t expert_sum = 0, agent_sum = 0;
  bool efficiency_seen = false;
  bool all_tokens = !episodes.empty();
  double bytes_total = 0, tokens_total = 0;
  for (const EpisodeRecord& r : episodes) {
    const bool solved = Solved(r);
    if (solved) ++s.successes;
    if (!r.error.empty()) ++s.errors;
    reward.push_back(r.reward);
    for (const std::string& name : term_names) {
      auto it = r.reward_terms.find(name);
      terms[name].push_back(it == r.reward_terms.end() ? 0.0 : it->second);
    }
    turns.push_back(r.turns);
    calls.push_back(r.tool_calls);
    calls_total += r.tool_calls;
    calls_ok += r.tool_calls_ok;
    invalid += r.invalid_actions;
    turns_total += r.turns;
    if (solved && r.expert_tool_calls) {
      efficiency_seen = true;
      expert_sum += *r.expert_tool_calls;
      agent_sum += r.tool_calls;
    }
    bytes.push_back(static_cast<double>(r.generated_bytes));
    bytes_total += static_cast<double>(r.generated_bytes);
    bytes_by_d[r.difficulty].push_back(static_cast<double>(r.generated_bytes));
    difficulty.push_back(r.difficulty);
    if (r.generated_tokens) {
      tokens.push_back(static_cast<double>(*r.generated_tokens));
      tokens_total += static_cast<double>(*r.generated_tokens);
    } else {
      all_tokens = false;
    }
  }

  s.success_rate = s.episodes > 0 ? static_cast<double>(s.successes) / s.episodes : 0.0;
  s.success_ci = Wilson(s.successes, s.episodes);
  s.reward = Stats(reward);
  for (const auto& [name, v] : terms) s.reward_terms[name] = Stats(v);

  if (!tasks.empty()) {
    std::int64_t big_k = std::numeric_limits<std::int64_t>::max();
    for (const auto& [key, nc] : tasks) big_k = std::min(big_k, nc.first);
    for (std::int64_t k = 1; k <= big_k; ++k) {
      double at = 0, hat = 0;
      for (const auto& [key, nc] : tasks) {
        // k <= K <= n for every task: the checks cannot fail.
        at += PassAtK(nc.first, nc.second, k).value();
        hat += PassHatK(nc.first, nc.second, k).value();
      }
      s.pass_at_k[static_cast<int>(k)] = at / static_cast<double>(tasks.size());
      s.pass_hat_k[static_cast<int>(k)] = hat / static_cast<double>(tasks.size());
    }
  }

  s.turns = Stats(turns);
  s.tool_calls = Stats(calls);
  s.tool_call_success_rate =
      calls_total > 0 ? static_cast<double>(calls_ok) / static_cast<double>(calls_total) : 0.0;
  s.invalid_action_rate =
      turns_total > 0 ? static_cast<double>(invalid) / static_cast<double>(turns_total) : 0.0;
  if (efficiency_seen && agent_sum > 0)
    s.tool_efficiency = static_cast<double>(expert_sum) / static_cast<double>(agent_sum);

  s.generated_bytes = Stats(bytes);
  if (s.successes > 0) s.generated_bytes_per_solve = bytes_total / s.successes;
  if (all_tokens) {
    s.generated_tokens = Stats(tokens);
    if (s.successes > 0) s.generated_tokens_per_solve = tokens_total / s.successes;
  }
  for (const auto& [d, v] : bytes_by_d) s.bytes_by_difficulty[d] = Stats(v);
  s.length_difficulty_rho = Spearman(difficulty, bytes);
  return s;
}

std::map<std::string, Summary> SummarizeGroups(const std::vector<EpisodeRecord>& episodes) {
  std::map<std::string, std::vector<EpisodeRecord>> groups;
  groups["overall"] = episodes;
  for (const EpisodeRecord& r : episodes) {
    groups["suite/" + r.suite].push_back(r);
    groups["scenario/" + r.scenario].push_back(r);
    groups[fmt::format("difficulty/{}", r.difficulty)].push_back(r);
  }
  std::map<std::string, Summary> out;
  for (const auto& [key, records] : groups) out[key] = Summarize(records);
  return out;
}

namespace {

json ToJson(const MeanStd& m) { return {{"mean", m.mean}, {"std", m.std}, {"n", m.n}}; }

json ToJson(const Interval& i) { return {{"lo", i.lo}, {"hi", i.hi}}; }

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

json ToJson(const Summary& s) {
  json terms = json::object();
  for (const auto& [name, m] : s.reward_terms) terms[name] = ToJson(m);
  json at = json::object(), hat = json::object();
  for (const auto& [k, v] : s.pass_at_k) at[std::to_string(k)] = v;
  for (const auto& [k, v] : s.pass_hat_k) hat[std::to_string(k)] = v;
  json by_d = json::object();
  for (const auto& [d, m] : s.bytes_by_difficulty) by_d[std::to_string(d)] = ToJson(m);
  return {{"episodes", s.episodes},
          {"tasks", s.tasks},
          {"successes", s.successes},
          {"success_rate", s.success_rate},
          {"success_ci", ToJson(s.success_ci)},
          {"reward", ToJson(s.reward)},
          {"reward_terms", terms},
          {"pass_at_k", at},
          {"pass_hat_k", hat},
          {"turns", ToJson(s.turns)},
          {"tool_calls", ToJson(s.tool_calls)},
          {"tool_call_success_rate", s.tool_call_success_rate},
          {"invalid_action_rate", s.invalid_action_rate},
          {"tool_efficiency", OrNull(s.tool_efficiency)},
          {"generated_bytes", ToJson(s.generated_bytes)},
          {"generated_bytes_per_solve", OrNull(s.generated_bytes_per_solve)},
          {"generated_tokens", s.generated_tokens ? ToJson(*s.generated_tokens) : json(nullptr)},
          {"generated_tokens_per_solve", OrNull(s.generated_tokens_per_solve)},
          {"bytes_by_difficulty", by_d},
          {"length_difficulty_rho", OrNull(s.length_difficulty_rho)},
          {"errors", s.errors}};
}

json ToJson(const EpisodeRecord& r) {
  return {{"scenario", r.scenario},
          {"suite", r.suite},
          {"split", r.split},
          {"seed", r.seed},
          {"sample", r.sample},
          {"difficulty", r.difficulty},
          {"success", r.success},
          {"score", r.score},
          {"reward", r.reward},
          {"reward_terms", r.reward_terms},
          {"turns", r.turns},
          {"tool_calls", r.tool_calls},
          {"tool_calls_ok", r.tool_calls_ok},
          {"invalid_actions", r.invalid_actions},
          {"expert_tool_calls", OrNull(r.expert_tool_calls)},
          {"generated_bytes", r.generated_bytes},
          {"generated_tokens", OrNull(r.generated_tokens)},
          {"end_reason", r.end_reason},
          {"error", r.error}};
}

namespace {

// Field readers: each names the field and what it expected when the JSON does not fit.
const json* Field(const json& j, const char* name, Status* st) {
  if (!j.contains(name)) {
    *st = InvalidArgumentError("episode record: missing field \"{}\"", name);
    return nullptr;
  }
  return &j[name];
}

Status Mistyped(const char* name, const char* expected, const json& v) {
  return InvalidArgumentError("episode record: field \"{}\" must be {}, found {}", name, expected,
                              v.dump().substr(0, 80));
}

// A string, bool or number field: T picks the JSON type it must have.
template <typename T>
Status ReadScalar(const json& j, const char* name, T* out) {
  Status st;
  const json* v = Field(j, name, &st);
  if (v == nullptr) return st;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v->is_string()) return Mistyped(name, "a string", *v);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v->is_boolean()) return Mistyped(name, "a bool", *v);
  } else {
    static_assert(std::is_same_v<T, double>);
    if (!v->is_number()) return Mistyped(name, "a number", *v);
  }
  *out = v->get<T>();
  return OkStatus();
}

// An integer that fits T; a number with a fraction, or one out of T's range, is mistyped.
template <typename T>
Status ReadInt(const json& j, const char* name, T* out) {
  Status st;
  const json* v = Field(j, name, &st);
  if (v == nullptr) return st;
  if constexpr (std::is_unsigned_v<T>) {
    if (!v->is_number_unsigned()) return Mistyped(name, "a non-negative integer", *v);
    *out = v->get<T>();
  } else {
    if (!v->is_number_integer()) return Mistyped(name, "an integer", *v);
    if (v->is_number_unsigned() &&
        v->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
      return Mistyped(name, "an integer in range", *v);
    const std::int64_t x = v->get<std::int64_t>();
    if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
      return Mistyped(name, "an integer in range", *v);
    *out = static_cast<T>(x);
  }
  return OkStatus();
}

// Absent or null: nullopt.
template <typename T>
Status ReadOptionalInt(const json& j, const char* name, std::optional<T>* out) {
  if (!j.contains(name) || j[name].is_null()) {
    out->reset();
    return OkStatus();
  }
  T v{};
  TG_RETURN_IF_ERROR(ReadInt(j, name, &v));
  *out = v;
  return OkStatus();
}

}  // namespace

StatusOr<EpisodeRecord> EpisodeRecordFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("episode record: expected a JSON object");
  EpisodeRecord r;
  TG_RETURN_IF_ERROR(ReadScalar(j, "scenario", &r.scenario));
  TG_RETURN_IF_ERROR(ReadScalar(j, "suite", &r.suite));
  TG_RETURN_IF_ERROR(ReadScalar(j, "split", &r.split));
  TG_RETURN_IF_ERROR(ReadInt(j, "seed", &r.seed));
  TG_RETURN_IF_ERROR(ReadInt(j, "sample", &r.sample));
  TG_RETURN_IF_ERROR(ReadInt(j, "difficulty", &r.difficulty));
  TG_RETURN_IF_ERROR(ReadScalar(j, "success", &r.success));
  TG_RETURN_IF_ERROR(ReadScalar(j, "score", &r.score));
  TG_RETURN_IF_ERROR(ReadScalar(j, "reward", &r.reward));
  {
    Status st;
    const json* terms = Field(j, "reward_terms", &st);
    if (terms == nullptr) return st;
    if (!terms->is_object()) return Mistyped("reward_terms", "an object of numbers", *terms);
    for (const auto& [name, v] : terms->items()) {
      if (!v.is_number())
        return InvalidArgumentError(
            "episode record: field \"reward_terms.{}\" must be a number, found {}", name,
            v.dump().substr(0, 80));
      r.reward_terms[name] = v.get<double>();
    }
  }
  TG_RETURN_IF_ERROR(ReadInt(j, "turns", &r.turns));
  TG_RETURN_IF_ERROR(ReadInt(j, "tool_calls", &r.tool_calls));
  TG_RETURN_IF_ERROR(ReadInt(j, "tool_calls_ok", &r.tool_calls_ok));
  TG_RETURN_IF_ERROR(ReadInt(j, "invalid_actions", &r.invalid_actions));
  TG_RETURN_IF_ERROR(ReadOptionalInt(j, "expert_tool_calls", &r.expert_tool_calls));
  TG_RETURN_IF_ERROR(ReadInt(j, "generated_bytes", &r.generated_bytes));
  TG_RETURN_IF_ERROR(ReadOptionalInt(j, "generated_tokens", &r.generated_tokens));
  TG_RETURN_IF_ERROR(ReadScalar(j, "end_reason", &r.end_reason));
  TG_RETURN_IF_ERROR(ReadScalar(j, "error", &r.error));
  return r;
}

}  // namespace toolgym::agent::metrics
