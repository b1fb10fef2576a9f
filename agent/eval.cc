#include "agent/eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "agent/strategies.h"
#include "common/hash.h"

namespace toolgym::agent {

using nlohmann::json;
namespace fs = std::filesystem;
namespace m = metrics;

namespace {

constexpr const char* kManifestFile = "manifest.json";
constexpr const char* kTrajectoriesFile = "trajectories.jsonl";
constexpr const char* kExpertCallsFile = "expert_calls.json";
constexpr const char* kSummaryFile = "summary.json";
constexpr const char* kReportFile = "report.md";

std::string UtcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Writes via a temporary file and a rename, so a reader (or a kill) never sees half a file.
Status WriteFileAtomic(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return InternalError("cannot write {}", tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return InternalError("cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message());
  return OkStatus();
}

StatusOr<json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open {}", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return InvalidArgumentError("{}: not valid JSON", path.string());
  return j;
}

// The instance of one episode: (scenario, seed, sample).
using EpisodeKey = std::tuple<std::string, std::uint64_t, int>;

json MeanJson(double sum, std::int64_t n) { return n > 0 ? json(sum / n) : json(nullptr); }

// Every group of SummarizeGroups gets the mean compute of its episodes.
std::map<std::string, json> ComputeGroups(const std::vector<m::EpisodeRecord>& records,
                                          const std::vector<EpisodeCompute>& compute) {
  struct Acc {
    std::int64_t n = 0, calls = 0, steps = 0, forks = 0, tokens = 0, completion = 0;
    bool all_tokens = true;
  };
  std::map<std::string, Acc> acc;
  for (size_t i = 0; i < records.size(); ++i) {
    const m::EpisodeRecord& r = records[i];
    const EpisodeCompute& c = compute[i];
    for (const std::string& key :
         {std::string("overall"), "suite/" + r.suite, "scenario/" + r.scenario,
          "difficulty/" + std::to_string(r.difficulty)}) {
      Acc& a = acc[key];
      ++a.n;
      a.calls += c.policy_calls;
      a.steps += c.env_steps;
      a.forks += c.env_forks;
      a.tokens += c.prompt_tokens + c.completion_tokens;
      a.completion += c.completion_tokens;
      a.all_tokens = a.all_tokens && c.tokens_reported;
    }
  }
  std::map<std::string, json> out;
  for (const auto& [key, a] : acc) {
    out[key] = {{"episodes", a.n},
                {"policy_calls", MeanJson(static_cast<double>(a.calls), a.n)},
                {"env_steps", MeanJson(static_cast<double>(a.steps), a.n)},
                {"env_forks", MeanJson(static_cast<double>(a.forks), a.n)},
                {"tokens", a.all_tokens ? MeanJson(static_cast<double>(a.tokens), a.n) : json()},
                {"completion_tokens",
                 a.all_tokens ? MeanJson(static_cast<double>(a.completion), a.n) : json()},
                {"total_policy_calls", a.calls},
                {"total_env_steps", a.steps}};
  }
  return out;
}

// One env per worker, remade when the worker moves to another scenario (the plan is ordered by
// scenario, so that is rare) or after a runner error (the env's state is then unknown).
class WorkerEnv {
 public:
  WorkerEnv(const scenarios::ScenarioRegistry& registry, const json& env_options)
      : registry_(registry), env_options_(env_options) {}
  StatusOr<envs::Env*> Get(const std::string& scenario) {
    if (env_ == nullptr || scenario != scenario_) {
      env_.reset();
      TG_ASSIGN_OR_RETURN(env_, registry_.Make(scenario, env_options_));
      scenario_ = scenario;
    }
    return env_.get();
  }
  void Drop() { env_.reset(); }

 private:
  const scenarios::ScenarioRegistry& registry_;
  const json& env_options_;
  std::string scenario_;
  std::unique_ptr<envs::Env> env_;
};

// Runs fn(worker, item) for items 0..n-1 on `threads` workers, each item once, until fn returns
// false (no new items are started after that; those in flight finish).
//
// Note: the harness runs its own workers over one env each rather than envs::EnvPool. The pool
// hides its envs behind Send/Recv of single steps, while a runner plays a whole episode on an env
// it holds: RunEpisode's loop, and the inference-time strategies' Env::Fork and explicit-seed
// resets, which the pool has no operation for. Driving plain policies through the pool would
// duplicate RunEpisode's trajectory bookkeeping and still need threads for the policies' own
// (model) calls.
template <typename Fn>
void ParallelFor(size_t n, int threads, const Fn& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto work = [&](int worker) {
    while (!stop.load()) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      if (!fn(worker, i)) stop.store(true);
    }
  };
  const int t = std::max(1, std::min<int>(threads, static_cast<int>(n)));
  if (t == 1) {
    work(0);
    return;
  }
  std::vector<std::thread> pool;
  for (int w = 0; w < t; ++w) pool.emplace_back(work, w);
  for (std::thread& th : pool) th.join();
}

// A failed episode when the runner (or the env's creation) fails: the instance's identity, the
// scenario's metadata and the error, so that it counts as a failure and is not redone on resume.
Trajectory ErrorTrajectory(const scenarios::Scenario& s, const std::string& split,
                           const std::string& policy, std::uint64_t seed, int sample,
                           const std::string& error) {
  Trajectory t;
  t.scenario = s.id();
  t.version = s.version();
  t.policy = policy;
  t.env_kind = s.env_kind();
  t.split = split;
  t.seed = seed;
  t.difficulty = s.difficulty();
  t.sample = sample;
  t.end_reason = "error";
  t.error = error;
  return t;
}

StatusOr<EvalEpisode> CallRunner(const EpisodeRunner& runner, envs::Env& env,
                                 const PolicyFactory& factory, const EpisodeSpec& spec) {
  try {
    return runner(env, factory, spec);
  } catch (const std::exception& e) {
    return InternalError("runner threw: {}", e.what());
  }
}

std::optional<std::int64_t> TokensOf(const EpisodeCompute& c) {
  if (!c.tokens_reported) return std::nullopt;
  return c.completion_tokens;
}

// A resume must match every field of the manifest but the start time.
Status CheckManifest(const json& found, const json& want, const std::string& path) {
  for (const auto& [key, value] : want.items()) {
    if (key == "started_at") continue;
    const json have = found.contains(key) ? found[key] : json();
    if (have != value) {
      std::string a = have.dump(), b = value.dump();
      if (a.size() > 200) a = a.substr(0, 200) + "...";
      if (b.size() > 200) b = b.substr(0, 200) + "...";
      return FailedPreconditionError(
          "cannot resume: {} has {} = {}, this run has {}; resume with the run's options or "
          "choose another output directory",
          path, key, a, b);
    }
  }
  return OkStatus();
}

struct ResumedEpisode {
  m::EpisodeRecord record;
  EpisodeCompute compute;
  json strategy;  // the line's "strategy" object; null for plain episodes
};

// Reads a run's finished episodes, one line at a time. The last line may be cut off by a kill:
// it is dropped and the file truncated to the last complete line, so that appends continue
// cleanly. Any other bad line is an error naming the file and line.
StatusOr<std::vector<ResumedEpisode>> ReadFinishedEpisodes(const fs::path& path,
                                                           bool* dropped_partial) {
  std::vector<ResumedEpisode> out;
  *dropped_partial = false;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;  // nothing written yet
  std::string line;
  int line_no = 0;
  std::optional<std::pair<int, std::uintmax_t>> bad;  // (line, offset) of an unreadable line
  bool missing_newline = false;
  std::uintmax_t offset = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::uintmax_t start = offset;
    offset += line.size() + (in.eof() ? 0 : 1);
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    if (bad)
      return InvalidArgumentError(
          "{}:{}: not valid JSON (only the last line may be cut off by a killed run)",
          path.string(), bad->first);
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      bad = {line_no, start};
      continue;
    }
    auto t = TrajectoryFromJson(j);
    if (!t.ok())
      return InvalidArgumentError("{}:{}: {}", path.string(), line_no, t.status().message());
    EpisodeCompute c = PlainCompute(*t);
    if (j.contains("compute")) {
      auto parsed = EpisodeComputeFromJson(j["compute"]);
      if (!parsed.ok())
        return InvalidArgumentError("{}:{}: {}", path.string(), line_no, parsed.status().message());
      c = *parsed;
    }
    out.push_back({m::RecordFromTrajectory(*t, t->sample, std::nullopt, TokensOf(c)), c,
                   j.value("strategy", json())});
    missing_newline = in.eof();
  }
  in.close();
  if (bad) {
    std::error_code ec;
    fs::resize_file(path, bad->second, ec);
    if (ec) return InternalError("cannot truncate {}: {}", path.string(), ec.message());
    *dropped_partial = true;
  } else if (missing_newline) {  // complete JSON without its newline: add it before appending
    std::ofstream app(path, std::ios::binary | std::ios::app);
    app << '\n';
    if (!app) return InternalError("cannot append to {}", path.string());
  }
  return out;
}

std::string Pct(double x) { return fmt::format("{:.1f}%", 100.0 * x); }

std::string Num(const json& j, const char* fmt_spec = "{:.2f}") {
  if (j.is_null()) return "–";
  return fmt::format(fmt::runtime(fmt_spec), j.get<double>());
}

// Group keys in report order: overall, suites, difficulties (numerically), scenarios.
// The group keys by kind, each in report order (difficulties by number).
struct GroupKeys {
  std::vector<std::string> overall, suites, diffs, scenarios;
};

GroupKeys SplitKeys(const json& groups) {
  GroupKeys g;
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    const std::string& k = it.key();
    if (k == "overall")
      g.overall.push_back(k);
    else if (k.rfind("suite/", 0) == 0)
      g.suites.push_back(k);
    else if (k.rfind("difficulty/", 0) == 0)
      g.diffs.push_back(k);
    else
      g.scenarios.push_back(k);
  }
  std::sort(g.diffs.begin(), g.diffs.end(), [](const std::string& a, const std::string& b) {
    return std::stoi(a.substr(11)) < std::stoi(b.substr(11));
  });
  return g;
}

std::vector<std::string> OrderedKeys(const json& groups) {
  GroupKeys g = SplitKeys(groups);
  std::vector<std::string> out = g.overall;
  out.insert(out.end(), g.suites.begin(), g.suites.end());
  out.insert(out.end(), g.diffs.begin(), g.diffs.end());
  out.insert(out.end(), g.scenarios.begin(), g.scenarios.end());
  return out;
}

std::string GroupLabel(const std::string& key) {
  const size_t slash = key.find('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

int MaxK(const json& g) {
  int k = 0;
  for (auto it = g["pass_at_k"].begin(); it != g["pass_at_k"].end(); ++it)
    k = std::max(k, std::stoi(it.key()));
  return k;
}

std::string MetricsTable(const json& groups, const std::vector<std::string>& keys,
                         const std::string& first_column) {
  int k_max = 0;
  for (const std::string& key : keys) k_max = std::max(k_max, MaxK(groups[key]));
  std::string out = fmt::format(
      "| {} | episodes | success | 95% CI |{} mean reward | turns | tool calls | tool-call "
      "success | invalid actions | tool efficiency | policy calls | errors |\n",
      first_column, k_max > 1 ? fmt::format(" pass@{} | pass^{} |", k_max, k_max) : "");
  out += fmt::format("|---|--:|--:|--:|{}--:|--:|--:|--:|--:|--:|--:|--:|\n",
                     k_max > 1 ? "--:|--:|" : "");
  for (const std::string& key : keys) {
    const json& g = groups[key];
    std::string pass;
    if (k_max > 1) {
      const std::string k = std::to_string(k_max);
      pass = fmt::format(" {} | {} |",
                         g["pass_at_k"].contains(k) ? Pct(g["pass_at_k"][k].get<double>()) : "–",
                         g["pass_hat_k"].contains(k) ? Pct(g["pass_hat_k"][k].get<double>()) : "–");
    }
    const json& c = g["compute"];
    out += fmt::format(
        "| {} | {} | {} | {}–{} |{} {:+.3f} | {:.2f} | {:.2f} | {} | {} | {} | {} | {} |\n",
        key == "overall" ? "**overall**" : GroupLabel(key), g["episodes"].get<std::int64_t>(),
        Pct(g["success_rate"].get<double>()), Pct(g["success_ci"]["lo"].get<double>()),
        Pct(g["success_ci"]["hi"].get<double>()), pass, g["reward"]["mean"].get<double>(),
        g["turns"]["mean"].get<double>(), g["tool_calls"]["mean"].get<double>(),
        Pct(g["tool_call_success_rate"].get<double>()), Pct(g["invalid_action_rate"].get<double>()),
        Num(g["tool_efficiency"], "{:.3f}"), Num(c["policy_calls"]),
        g["errors"].get<std::int64_t>());
  }
  return out;
}

std::string Title(const json& manifest) {
  const size_t n = manifest["scenarios"].size();
  return fmt::format("{} on {} scenario famil{} ({} split)", manifest["policy"].get<std::string>(),
                     n, n == 1 ? "y" : "ies", manifest["split"].get<std::string>());
}

json GroupSide(const json& g) {
  if (g.is_null()) return nullptr;
  return {{"episodes", g["episodes"]},
          {"successes", g["successes"]},
          {"success_rate", g["success_rate"]},
          {"success_ci", g["success_ci"]},
          {"reward", g["reward"]["mean"]},
          {"tool_calls", g["tool_calls"]["mean"]},
          {"tool_efficiency", g["tool_efficiency"]},
          {"policy_calls", g.contains("compute") ? g["compute"]["policy_calls"] : json()}};
}

Status ValidateOptions(const EvalOptions& o) {
  if (o.split != "train" && o.split != "test")
    return InvalidArgumentError("split must be \"train\" or \"test\", got \"{}\"", o.split);
  if (o.episodes < 1)
    return InvalidArgumentError("episodes per scenario must be >= 1, got {}", o.episodes);
  if (o.samples < 1) return InvalidArgumentError("samples must be >= 1, got {}", o.samples);
  if (o.threads < 1) return InvalidArgumentError("threads must be >= 1, got {}", o.threads);
  if (o.max_steps < 1) return InvalidArgumentError("max_steps must be >= 1, got {}", o.max_steps);
  if (o.out_dir.empty()) return InvalidArgumentError("no output directory given");
  if (!o.policy) return InvalidArgumentError("no policy factory given");
  if (o.policy_spec.empty()) return InvalidArgumentError("no policy spec given (for the manifest)");
  if (!o.env_options.is_object())
    return InvalidArgumentError("env options must be a JSON object, got {}", o.env_options.dump());
  return OkStatus();
}

struct Plan {
  std::vector<EpisodeKey> episodes;  // per scenario the split's first seeds, each K times
  std::map<std::string, const scenarios::Scenario*> scenario_of;
  json manifest;
};

StatusOr<Plan> MakePlan(const EvalOptions& o, const scenarios::ScenarioRegistry& registry,
                        const StrategySpec& strategy) {
  TG_ASSIGN_OR_RETURN(std::vector<std::string> ids, ExpandScenarios(registry, o.scenarios));
  Plan plan;
  json versions = json::object();
  for (const std::string& id : ids) {
    const scenarios::Scenario* s = registry.Find(id);
    plan.scenario_of[id] = s;
    versions[id] = s->version();
    const auto range = o.split == "test" ? s->test_seeds() : s->train_seeds();
    if (range.end - range.begin < static_cast<std::uint64_t>(o.episodes))
      return InvalidArgumentError("{} has {} {} seeds; {} episodes per scenario asked for", id,
                                  range.end - range.begin, o.split, o.episodes);
    for (int i = 0; i < o.episodes; ++i)
      for (int k = 0; k < o.samples; ++k) plan.episodes.emplace_back(id, range.begin + i, k);
  }
  plan.manifest = {{"schema", kEvalManifestSchema},
                   {"policy", o.policy_spec},
                   {"policy_options", o.policy_options},
                   {"strategy", strategy.canonical},
                   {"strategy_params", strategy.params},
                   {"scenarios", ids},
                   {"scenario_versions", versions},
                   {"split", o.split},
                   {"episodes", o.episodes},
                   {"samples", o.samples},
                   {"seed", o.seed},
                   {"max_steps", o.max_steps},
                   {"env_options", o.env_options},
                   {"toolgym_version", kToolgymVersion},
                   {"started_at", UtcNow()}};
  return plan;
}

using ExpertCalls = std::map<std::pair<std::string, std::uint64_t>, int>;

StatusOr<ExpertCalls> ReadExpertCalls(const fs::path& path) {
  ExpertCalls out;
  if (!fs::exists(path)) return out;
  TG_ASSIGN_OR_RETURN(json cached, ReadJsonFile(path));
  const auto bad = [&] {
    return InvalidArgumentError(
        "{}: expected an object {{scenario: {{seed: tool calls}}}}; delete it to recompute",
        path.string());
  };
  if (!cached.is_object()) return bad();
  for (auto s = cached.begin(); s != cached.end(); ++s) {
    if (!s.value().is_object()) return bad();
    for (auto e = s.value().begin(); e != s.value().end(); ++e) {
      if (!e.value().is_number_integer() || e.key().empty() ||
          e.key().find_first_not_of("0123456789") != std::string::npos)
        return bad();
      out[{s.key(), std::stoull(e.key())}] = e.value().get<int>();
    }
  }
  return out;
}

// Runs the expert once on each instance of the plan that `calls` lacks and adds its executed
// tool calls. An instance whose env fails is left out (its episodes get no efficiency).
void RunExpertReference(const EvalOptions& o, const scenarios::ScenarioRegistry& registry,
                        const std::vector<EpisodeKey>& plan, ExpertCalls* calls) {
  std::vector<std::pair<std::string, std::uint64_t>> missing;
  for (const auto& [scenario, seed, sample] : plan)
    if (sample == 0 && calls->count({scenario, seed}) == 0) missing.emplace_back(scenario, seed);
  std::mutex mu;
  std::vector<std::unique_ptr<WorkerEnv>> envs;
  for (int w = 0; w < o.threads; ++w)
    envs.push_back(std::make_unique<WorkerEnv>(registry, o.env_options));
  ParallelFor(missing.size(), o.threads, [&](int worker, size_t i) {
    auto env = envs[worker]->Get(missing[i].first);
    if (!env.ok()) return true;
    ExpertPolicy expert;
    auto t = RunEpisode(**env, expert, missing[i].second, o.max_steps);
    if (!t.ok()) {
      envs[worker]->Drop();
      return true;
    }
    const int n = m::RecordFromTrajectory(*t).tool_calls;
    std::lock_guard<std::mutex> lock(mu);
    (*calls)[missing[i]] = n;
    return true;
  });
}

}  // namespace

json ToJson(const EpisodeCompute& c) {
  json j = {
      {"policy_calls", c.policy_calls}, {"env_steps", c.env_steps}, {"env_forks", c.env_forks}};
  if (c.tokens_reported) {
    j["prompt_tokens"] = c.prompt_tokens;
    j["completion_tokens"] = c.completion_tokens;
  }
  return j;
}

StatusOr<EpisodeCompute> EpisodeComputeFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgumentError("compute: expected an object");
  EpisodeCompute c;
  try {
    c.policy_calls = j.at("policy_calls").get<std::int64_t>();
    c.env_steps = j.at("env_steps").get<std::int64_t>();
    c.env_forks = j.value("env_forks", std::int64_t{0});
    c.tokens_reported = j.contains("completion_tokens");
    c.prompt_tokens = j.value("prompt_tokens", std::int64_t{0});
    c.completion_tokens = j.value("completion_tokens", std::int64_t{0});
  } catch (const json::exception& e) {
    return InvalidArgumentError("compute: {}", e.what());
  }
  return c;
}

EpisodeCompute PlainCompute(const Trajectory& t) {
  EpisodeCompute c;
  c.policy_calls = t.usage.calls;
  c.prompt_tokens = t.usage.prompt_tokens;
  c.completion_tokens = t.usage.completion_tokens;
  c.tokens_reported = t.usage.tokens_reported;
  c.env_steps = static_cast<std::int64_t>(t.steps.size());
  return c;
}

StatusOr<EvalEpisode> RunPlainEpisode(envs::Env& env, const PolicyFactory& factory,
                                      const EpisodeSpec& spec) {
  TG_ASSIGN_OR_RETURN(std::unique_ptr<Policy> policy, factory(spec.policy_seed));
  TG_ASSIGN_OR_RETURN(Trajectory t, RunEpisode(env, *policy, spec.seed, spec.max_steps));
  t.sample = spec.sample;
  EvalEpisode e;
  e.compute = PlainCompute(t);
  e.trajectory = std::move(t);
  return e;
}

std::uint64_t PolicySeed(std::uint64_t run_seed, const std::string& scenario, std::uint64_t seed,
                         int sample) {
  std::uint64_t h = SplitMix64(run_seed);
  h = SplitMix64(h ^ Fnv1a(scenario));
  h = SplitMix64(h ^ seed);
  return SplitMix64(h ^ static_cast<std::uint64_t>(sample));
}

StatusOr<std::vector<std::string>> ExpandScenarios(const scenarios::ScenarioRegistry& registry,
                                                   const std::vector<std::string>& entries) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  const std::vector<std::string> ids = registry.Ids();
  std::set<std::string> suites;
  for (const std::string& id : ids) suites.insert(m::SuiteOf(id));
  auto add = [&](const std::string& id) {
    if (seen.insert(id).second) out.push_back(id);
  };
  if (entries.empty())
    return InvalidArgumentError("no scenarios given: expected ids, suite names or \"all\"");
  for (const std::string& e : entries) {
    if (e == "all") {
      for (const std::string& id : ids) add(id);
    } else if (registry.Find(e) != nullptr) {
      add(e);
    } else if (suites.count(e) != 0) {
      for (const std::string& id : ids)
        if (m::SuiteOf(id) == e) add(id);
    } else {
      auto made = registry.Make(e);
      std::string suite_list;
      for (const std::string& s : suites) suite_list += (suite_list.empty() ? "" : ", ") + s;
      return NotFoundError(
          "{}; expected a scenario id, a suite ({}) or \"all\"",
          made.ok() ? fmt::format("unknown scenario \"{}\"", e) : made.status().message(),
          suite_list);
    }
  }
  return out;
}

json SummarizeRun(const json& manifest, std::vector<m::EpisodeRecord> records,
                  std::vector<EpisodeCompute> compute) {
  std::vector<size_t> order(records.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(records[a].scenario, records[a].seed, records[a].sample) <
           std::tie(records[b].scenario, records[b].seed, records[b].sample);
  });
  std::vector<m::EpisodeRecord> sorted;
  std::vector<EpisodeCompute> sorted_compute;
  for (size_t i : order) {
    sorted.push_back(std::move(records[i]));
    sorted_compute.push_back(compute[i]);
  }
  const auto groups = m::SummarizeGroups(sorted);
  const auto compute_groups = ComputeGroups(sorted, sorted_compute);
  json g = json::object();
  for (const auto& [key, s] : groups) {
    json j = m::ToJson(s);
    auto it = compute_groups.find(key);
    j["compute"] = it != compute_groups.end() ? it->second : json();
    g[key] = std::move(j);
  }
  return {{"schema", kEvalSummarySchema}, {"manifest", manifest}, {"groups", std::move(g)}};
}

StatusOr<EvalResult> RunEval(const EvalOptions& o) {
  const auto run_start = std::chrono::steady_clock::now();
  const scenarios::ScenarioRegistry& registry =
      o.registry != nullptr ? *o.registry : scenarios::ScenarioRegistry::Default();
  TG_RETURN_IF_ERROR(ValidateOptions(o));
  // The strategy: parsed from its spec, unless the caller brings its own runner (then the name
  // is only recorded).
  StrategySpec strategy;
  if (o.runner) {
    strategy.name = strategy.canonical = o.strategy;
  } else {
    TG_ASSIGN_OR_RETURN(strategy, ParseStrategy(o.strategy));
    // A policy the strategy cannot drive is refused before any episode.
    if (strategy.name == "budget") {
      TG_ASSIGN_OR_RETURN(std::unique_ptr<Policy> probe, o.policy(0));
      TG_RETURN_IF_ERROR(CheckPolicyForStrategy(strategy, *probe));
    }
  }
  TG_ASSIGN_OR_RETURN(Plan plan_info, MakePlan(o, registry, strategy));
  const std::vector<EpisodeKey>& plan = plan_info.episodes;
  const auto& scenario_of = plan_info.scenario_of;
  json manifest = std::move(plan_info.manifest);

  const fs::path dir(o.out_dir);
  const fs::path manifest_path = dir / kManifestFile;
  const fs::path traj_path = dir / kTrajectoriesFile;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InternalError("cannot create {}: {}", dir.string(), ec.message());
  const bool has_manifest = fs::exists(manifest_path);
  const bool has_trajectories = fs::exists(traj_path) && fs::file_size(traj_path, ec) > 0;
  if (!o.resume && (has_manifest || has_trajectories))
    return FailedPreconditionError(
        "{} already holds an evaluation run; resume it (--resume) or choose another output "
        "directory",
        dir.string());
  if (has_trajectories && !has_manifest)
    return FailedPreconditionError("{} has {} but no {}: not a run this build can resume",
                                   dir.string(), kTrajectoriesFile, kManifestFile);
  if (has_manifest) {
    TG_ASSIGN_OR_RETURN(json found, ReadJsonFile(manifest_path));
    TG_RETURN_IF_ERROR(CheckManifest(found, manifest, manifest_path.string()));
    manifest["started_at"] = found.value("started_at", manifest["started_at"]);
  } else {
    TG_RETURN_IF_ERROR(WriteFileAtomic(manifest_path, manifest.dump(2) + "\n"));
  }

  // What is already done.
  const std::set<EpisodeKey> planned(plan.begin(), plan.end());
  std::map<EpisodeKey, ResumedEpisode> done;
  bool dropped_partial = false;
  TG_ASSIGN_OR_RETURN(std::vector<ResumedEpisode> resumed,
                      ReadFinishedEpisodes(traj_path, &dropped_partial));
  EvalResult result;
  for (ResumedEpisode& e : resumed) {
    EpisodeKey key{e.record.scenario, e.record.seed, e.record.sample};
    if (planned.count(key) == 0)
      return FailedPreconditionError(
          "{}: episode ({}, seed {}, sample {}) is not part of this run's plan", traj_path.string(),
          e.record.scenario, e.record.seed, e.record.sample);
    if (done.count(key) != 0) continue;  // a duplicate: the first recording counts
    if (!e.record.error.empty()) {
      ++result.errors;
      if (result.first_error.empty()) result.first_error = e.record.error;
    }
    done[key] = std::move(e);
  }
  result.episodes_resumed = static_cast<std::int64_t>(done.size());
  resumed.clear();

  std::vector<EpisodeKey> todo;
  for (const EpisodeKey& key : plan)
    if (done.count(key) == 0) todo.push_back(key);

  // The expert's tool calls per instance: from the run itself when the policy is the expert,
  // else from DIR/expert_calls.json, running the expert on the instances it lacks.
  const bool self_expert = o.policy_spec == "expert" && strategy.name == "plain";
  ExpertCalls expert_calls;
  const fs::path expert_path = dir / kExpertCallsFile;
  if (!self_expert) {
    TG_ASSIGN_OR_RETURN(expert_calls, ReadExpertCalls(expert_path));
    const size_t before = expert_calls.size();
    RunExpertReference(o, registry, plan, &expert_calls);
    if (expert_calls.size() != before || !fs::exists(expert_path)) {
      json cache = json::object();
      for (const auto& [key, calls] : expert_calls)
        cache[key.first][std::to_string(key.second)] = calls;
      TG_RETURN_IF_ERROR(WriteFileAtomic(expert_path, cache.dump(1) + "\n"));
    }
  }

  // The episodes.
  std::ofstream traj_out(traj_path, std::ios::binary | std::ios::app);
  if (!traj_out) return InternalError("cannot open {} for appending", traj_path.string());
  const EpisodeRunner runner = o.runner ? o.runner : MakeStrategyRunner(strategy);
  std::mutex mu;
  Status write_error;
  EvalProgress progress;
  progress.total = static_cast<std::int64_t>(plan.size());
  progress.resumed = result.episodes_resumed;
  progress.done = result.episodes_resumed;
  progress.errors = result.errors;
  for (const auto& [key, e] : done) progress.successes += e.record.success;
  const auto episodes_start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<WorkerEnv>> envs;
  for (int w = 0; w < o.threads; ++w)
    envs.push_back(std::make_unique<WorkerEnv>(registry, o.env_options));
  ParallelFor(todo.size(), o.threads, [&](int worker, size_t i) {
    const std::string& scenario = std::get<0>(todo[i]);
    const std::uint64_t seed = std::get<1>(todo[i]);
    const int sample = std::get<2>(todo[i]);
    const EpisodeSpec spec{scenario, seed, sample, PolicySeed(o.seed, scenario, seed, sample),
                           o.max_steps};
    StatusOr<EvalEpisode> ep = [&]() -> StatusOr<EvalEpisode> {
      TG_ASSIGN_OR_RETURN(envs::Env * env, envs[worker]->Get(spec.scenario));
      return CallRunner(runner, *env, o.policy, spec);
    }();
    if (!ep.ok()) {
      envs[worker]->Drop();
      EvalEpisode failed;
      failed.trajectory = ErrorTrajectory(*scenario_of.at(scenario), o.split, o.policy_spec, seed,
                                          sample, ep.status().ToString());
      ep = std::move(failed);
    }
    ep->trajectory.sample = sample;
    json line = ToJson(ep->trajectory);
    line["compute"] = ToJson(ep->compute);
    if (!ep->strategy.is_null()) line["strategy"] = ep->strategy;
    const std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    ResumedEpisode rec{
        m::RecordFromTrajectory(ep->trajectory, sample, std::nullopt, TokensOf(ep->compute)),
        ep->compute, ep->strategy};
    std::lock_guard<std::mutex> lock(mu);
    if (!write_error.ok()) return false;
    traj_out << text;
    traj_out.flush();
    if (!traj_out) {
      write_error = InternalError("writing {} failed", traj_path.string());
      return false;
    }
    ++result.episodes_run;
    if (!ep->trajectory.error.empty()) {
      ++result.errors;
      if (result.first_error.empty()) result.first_error = ep->trajectory.error;
      progress.last_error = ep->trajectory.error;
    }
    progress.successes += rec.record.success;
    done[{scenario, seed, sample}] = std::move(rec);
    progress.done = static_cast<std::int64_t>(done.size());
    progress.errors = result.errors;
    progress.elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - episodes_start).count();
    progress.episodes_per_s =
        progress.elapsed_s > 0 ? static_cast<double>(result.episodes_run) / progress.elapsed_s : 0;
    progress.eta_s =
        progress.episodes_per_s > 0
            ? std::optional<double>((progress.total - progress.done) / progress.episodes_per_s)
            : std::nullopt;
    if (o.progress) o.progress(progress);
    return o.stop_after <= 0 || result.episodes_run < o.stop_after;
  });
  traj_out.close();
  TG_RETURN_IF_ERROR(write_error);
  const double episodes_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - episodes_start).count();

  result.manifest = manifest;
  result.complete = done.size() == plan.size();
  result.episodes_wall_s = episodes_s;
  result.episodes_per_s =
      episodes_s > 0 ? static_cast<double>(result.episodes_run) / episodes_s : 0;
  std::vector<m::EpisodeRecord> records;
  std::vector<EpisodeCompute> compute;
  if (self_expert)
    for (const auto& [key, e] : done)
      if (std::get<2>(key) == 0)
        expert_calls[{std::get<0>(key), std::get<1>(key)}] = e.record.tool_calls;
  std::vector<json> details;
  for (auto& [key, e] : done) {
    auto it = expert_calls.find({std::get<0>(key), std::get<1>(key)});
    if (it != expert_calls.end()) e.record.expert_tool_calls = it->second;
    records.push_back(e.record);
    compute.push_back(e.compute);
    details.push_back(e.strategy);
  }
  result.records = records;
  result.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  if (!result.complete) return result;

  result.summary = SummarizeRun(manifest, std::move(records), std::move(compute));
  result.summary["strategy"] = SummarizeStrategy(strategy.name, details);
  result.summary["run"] = {{"finished_at", UtcNow()},
                           {"wall_s", result.wall_s},
                           {"episodes_run", result.episodes_run},
                           {"episodes_resumed", result.episodes_resumed},
                           {"episodes_wall_s", result.episodes_wall_s},
                           {"episodes_per_s", result.episodes_per_s},
                           {"threads", o.threads},
                           {"dropped_partial_line", dropped_partial}};
  TG_RETURN_IF_ERROR(
      WriteFileAtomic(dir / kSummaryFile,
                      result.summary.dump(2, ' ', false, json::error_handler_t::replace) + "\n"));
  std::vector<std::string> plots;
  for (const char* p : {"success_by_family.png", "pass_at_k.png", "success_vs_compute.png",
                        "tool_calls_vs_success.png"})
    if (fs::exists(dir / p)) plots.push_back(p);
  TG_RETURN_IF_ERROR(WriteFileAtomic(dir / kReportFile, MarkdownReport(result.summary, plots)));
  return result;
}

std::string MarkdownReport(const json& summary, const std::vector<std::string>& plots) {
  const json& man = summary["manifest"];
  const json& groups = summary["groups"];
  std::string out = fmt::format("# Evaluation: {}\n\n", Title(man));
  const std::int64_t episodes =
      groups.contains("overall") ? groups["overall"]["episodes"].get<std::int64_t>() : 0;
  out += fmt::format(
      "Policy `{}`, strategy `{}`; {} scenario families; {} instances each (the first seeds of "
      "the {} split) × {} sample{} = {} episodes; seed {}, at most {} steps per episode; env "
      "options `{}`; toolgym {}, started {}.\n\n",
      man["policy"].get<std::string>(), man["strategy"].get<std::string>(), man["scenarios"].size(),
      man["episodes"].get<int>(), man["split"].get<std::string>(), man["samples"].get<int>(),
      man["samples"].get<int>() == 1 ? "" : "s", episodes, man["seed"].get<std::uint64_t>(),
      man["max_steps"].get<int>(), man["env_options"].dump(),
      man["toolgym_version"].get<std::string>(), man["started_at"].get<std::string>());
  out +=
      "Success is the verifier's verdict (an episode with a policy or env error fails); the "
      "interval is Wilson's 95% score interval over episodes. Tool efficiency is the expert's "
      "tool calls over the agent's on solved episodes (1.0: as few as the expert). "
      "docs/metrics.md defines every column.\n\n";
  const GroupKeys keys = SplitKeys(groups);
  std::vector<std::string> top = keys.overall;
  top.insert(top.end(), keys.suites.begin(), keys.suites.end());
  out += "## Overall and by suite\n\n" + MetricsTable(groups, top, "suite") + "\n";
  out += "## By difficulty\n\n" + MetricsTable(groups, keys.diffs, "difficulty") + "\n";
  out += "## By scenario family\n\n" + MetricsTable(groups, keys.scenarios, "family") + "\n";
  if (groups.contains("overall") && MaxK(groups["overall"]) > 1) {
    const json& g = groups["overall"];
    out += "## pass@k and pass^k (overall)\n\n| k | pass@k | pass^k |\n|--:|--:|--:|\n";
    for (int k = 1; k <= MaxK(g); ++k) {
      const std::string ks = std::to_string(k);
      out += fmt::format("| {} | {} | {} |\n", k, Pct(g["pass_at_k"][ks].get<double>()),
                         Pct(g["pass_hat_k"][ks].get<double>()));
    }
    out += "\n";
  }
  if (groups.contains("overall")) {
    const json& c = groups["overall"]["compute"];
    out += fmt::format(
        "## Compute\n\nPer episode: {} policy calls, {} env steps, {} env forks, {} tokens "
        "(– when the policy reports none).\n\n",
        Num(c["policy_calls"]), Num(c["env_steps"]), Num(c["env_forks"]),
        Num(c["tokens"], "{:.0f}"));
  }
  if (summary.contains("strategy") && !summary["strategy"].is_null())
    out += StrategyMarkdown(summary["strategy"]);
  if (!plots.empty()) {
    out += "## Plots\n\n";
    for (const std::string& p : plots) {
      std::string caption = p.substr(0, p.size() - 4);
      std::replace(caption.begin(), caption.end(), '_', ' ');
      out += fmt::format("![{}]({})\n\n", caption, p);
    }
  }
  if (summary.contains("run")) {
    const json& r = summary["run"];
    out += fmt::format(
        "## Run\n\nFinished {}; this invocation ran {} episodes ({} resumed from an earlier one) "
        "on {} worker{} in {:.1f} s: {:.2f} episodes/s ({:.1f} s in all, expert reference runs "
        "included).\n",
        r["finished_at"].get<std::string>(), r["episodes_run"].get<std::int64_t>(),
        r["episodes_resumed"].get<std::int64_t>(), r["threads"].get<int>(),
        r["threads"].get<int>() == 1 ? "" : "s", r.value("episodes_wall_s", 0.0),
        r["episodes_per_s"].get<double>(), r["wall_s"].get<double>());
  }
  return out;
}

StatusOr<json> ReadRunSummary(const std::string& dir) {
  const fs::path path = fs::path(dir) / kSummaryFile;
  if (!fs::exists(path)) {
    if (fs::exists(fs::path(dir) / kManifestFile))
      return NotFoundError(
          "{} has no {}: the run did not finish; resume it with toolgym eval "
          "--resume --out {}",
          dir, kSummaryFile, dir);
    return NotFoundError("{} is not an evaluation run directory (no {})", dir, kSummaryFile);
  }
  TG_ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
  if (!j.is_object() || j.value("schema", "") != kEvalSummarySchema || !j.contains("groups") ||
      !j.contains("manifest"))
    return InvalidArgumentError("{}: not a {} summary", path.string(), kEvalSummarySchema);
  return j;
}

m::Interval NewcombeDifference(std::int64_t sa, std::int64_t na, std::int64_t sb, std::int64_t nb) {
  const double pa = static_cast<double>(sa) / static_cast<double>(na);
  const double pb = static_cast<double>(sb) / static_cast<double>(nb);
  const m::Interval a = m::Wilson(sa, na), b = m::Wilson(sb, nb);
  const double d = pa - pb;
  return {d - std::sqrt((pa - a.lo) * (pa - a.lo) + (b.hi - pb) * (b.hi - pb)),
          d + std::sqrt((a.hi - pa) * (a.hi - pa) + (pb - b.lo) * (pb - b.lo))};
}

json CompareRuns(const json& a, const json& b) {
  json rows = json::array();
  json all = a["groups"];
  for (auto it = b["groups"].begin(); it != b["groups"].end(); ++it)
    if (!all.contains(it.key())) all[it.key()] = it.value();
  for (const std::string& key : OrderedKeys(all)) {
    const json ga = a["groups"].contains(key) ? a["groups"][key] : json();
    const json gb = b["groups"].contains(key) ? b["groups"][key] : json();
    json row = {{"group", key}, {"a", GroupSide(ga)}, {"b", GroupSide(gb)}};
    if (!ga.is_null() && !gb.is_null() && ga["episodes"].get<std::int64_t>() > 0 &&
        gb["episodes"].get<std::int64_t>() > 0) {
      const std::int64_t sa = ga["successes"], na = ga["episodes"], sb = gb["successes"],
                         nb = gb["episodes"];
      const m::Interval d = NewcombeDifference(sb, nb, sa, na);  // B - A
      const double diff = gb["success_rate"].get<double>() - ga["success_rate"].get<double>();
      const bool overlap =
          ga["success_ci"]["lo"].get<double>() <= gb["success_ci"]["hi"].get<double>() &&
          gb["success_ci"]["lo"].get<double>() <= ga["success_ci"]["hi"].get<double>();
      row["difference"] = diff;
      row["difference_ci"] = {{"lo", d.lo}, {"hi", d.hi}};
      row["significant"] = d.lo > 0 || d.hi < 0;
      row["intervals_overlap"] = overlap;
    } else {
      row["difference"] = nullptr;
      row["difference_ci"] = nullptr;
      row["significant"] = nullptr;
      row["intervals_overlap"] = nullptr;
    }
    rows.push_back(std::move(row));
  }
  auto info = [](const json& s) {
    const json& man = s["manifest"];
    return json{{"policy", man["policy"]},        {"strategy", man["strategy"]},
                {"split", man["split"]},          {"episodes", man["episodes"]},
                {"samples", man["samples"]},      {"scenarios", man["scenarios"]},
                {"started_at", man["started_at"]}};
  };
  json warnings = json::array();
  const json ia = info(a), ib = info(b);
  if (ia["split"] != ib["split"]) warnings.push_back("the runs use different splits");
  if (ia["scenarios"] != ib["scenarios"])
    warnings.push_back("the runs cover different scenario families: groups may not be comparable");
  if (ia["episodes"] != ib["episodes"])
    warnings.push_back("the runs have different numbers of instances per family");
  return {{"a", ia}, {"b", ib}, {"groups", rows}, {"warnings", warnings}};
}

std::string CompareMarkdown(const json& c) {
  auto label = [](const json& i) {
    return fmt::format(
        "`{}`{} ({} split, {} instances × {} sample{})", i["policy"].get<std::string>(),
        i["strategy"] == "plain" ? "" : fmt::format(" with {}", i["strategy"].get<std::string>()),
        i["split"].get<std::string>(), i["episodes"].get<int>(), i["samples"].get<int>(),
        i["samples"].get<int>() == 1 ? "" : "s");
  };
  std::string out =
      fmt::format("# Comparison\n\n- A: {}\n- B: {}\n\n", label(c["a"]), label(c["b"]));
  for (const json& w : c["warnings"]) out += fmt::format("**Note:** {}.\n\n", w.get<std::string>());
  out +=
      "Success with Wilson 95% intervals; B − A with Newcombe's 95% interval for a difference of "
      "proportions; *significant* when that interval excludes 0 (docs/evaluation.md).\n\n";
  out +=
      "| group | success A | success B | B − A | 95% CI of B − A | significant | Wilson CIs "
      "overlap | reward A / B | tool calls A / B | tool efficiency A / B | policy calls A / B |\n"
      "|---|--:|--:|--:|--:|:-:|:-:|--:|--:|--:|--:|\n";
  auto side = [](const json& s) {
    if (s.is_null()) return std::string("–");
    return fmt::format("{} ({}–{}, n={})", Pct(s["success_rate"].get<double>()),
                       Pct(s["success_ci"]["lo"].get<double>()),
                       Pct(s["success_ci"]["hi"].get<double>()), s["episodes"].get<std::int64_t>());
  };
  auto pair = [](const json& a, const json& b, const char* field, const char* spec) {
    auto one = [&](const json& s) { return s.is_null() ? std::string("–") : Num(s[field], spec); };
    return one(a) + " / " + one(b);
  };
  for (const json& r : c["groups"]) {
    const std::string key = r["group"];
    const bool has_diff = !r["difference"].is_null();
    out += fmt::format(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        key == "overall" ? "**overall**" : key, side(r["a"]), side(r["b"]),
        has_diff ? fmt::format("{:+.1f} pp", 100.0 * r["difference"].get<double>()) : "–",
        has_diff
            ? fmt::format("{:+.1f} to {:+.1f} pp", 100.0 * r["difference_ci"]["lo"].get<double>(),
                          100.0 * r["difference_ci"]["hi"].get<double>())
            : "–",
        has_diff ? (r["significant"].get<bool>() ? "**yes**" : "no") : "–",
        has_diff ? (r["intervals_overlap"].get<bool>() ? "yes" : "no") : "–",
        pair(r["a"], r["b"], "reward", "{:+.3f}"), pair(r["a"], r["b"], "tool_calls", "{:.2f}"),
        pair(r["a"], r["b"], "tool_efficiency", "{:.3f}"),
        pair(r["a"], r["b"], "policy_calls", "{:.2f}"));
  }
  return out;
}

}  // namespace toolgym::agent
