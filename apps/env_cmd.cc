// Scenario and episode commands:
//   toolgym list [--json]                        every registered scenario
//   toolgym show SCENARIO [--seed N] [--json]    a rendered task: system and user messages,
//                                                workspace files, tools
//   toolgym validate PATH...                     load scenario files or directories and report
//                                                every error (exit 1 if any)
//   toolgym play SCENARIO [--seed N]             a person types actions and sees observations,
//                                                rewards and the reward breakdown
//   toolgym run SCENARIO --policy expert|random --episodes N [--seed S] [--split train|test]
//               [--out FILE.jsonl]               episodes to a trajectory file, with a summary
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/policy.h"
#include "agent/rollout.h"
#include "apps/commands.h"
#include "envs/registry.h"
#include "scenarios/registry.h"

namespace toolgym::apps {
namespace {

using nlohmann::json;
using scenarios::ScenarioRegistry;

// The default registry plus any --scenarios paths; load errors are printed once.
struct Registry {
  ScenarioRegistry reg;
  bool ok = true;
};

Registry LoadRegistry(const std::vector<std::string>& extra) {
  Registry r;
  for (const std::string& path : std::vector<std::string>{ScenarioRegistry::SuitesDir()}) {
    for (const auto& e : r.reg.Load(path)) {
      std::fprintf(stderr, "%s\n", e.ToString().c_str());
      r.ok = false;
    }
  }
  for (const std::string& path : extra)
    for (const auto& e : r.reg.Load(path)) {
      std::fprintf(stderr, "%s\n", e.ToString().c_str());
      r.ok = false;
    }
  return r;
}

void PrintObservation(const envs::Observation& o) {
  for (const auto& m : o.messages) {
    if (m.role == "tool")
      std::printf("── tool %s (%s) ──\n", m.name.c_str(), m.tool_call_id.c_str());
    else
      std::printf("── %s ──\n", m.role.c_str());
    std::printf("%s\n", m.content.c_str());
  }
}

int List(const std::vector<std::string>& extra, bool as_json) {
  Registry r = LoadRegistry(extra);
  json out = json::array();
  for (const std::string& id : r.reg.Ids()) {
    const auto* s = r.reg.Find(id);
    out.push_back({{"id", id},
                   {"version", s->version()},
                   {"env", s->env_kind()},
                   {"difficulty", s->difficulty()},
                   {"answer", s->requires_answer()},
                   {"title", s->title()},
                   {"train", {s->train_seeds().begin, s->train_seeds().end}},
                   {"test", {s->test_seeds().begin, s->test_seeds().end}}});
  }
  if (as_json) {
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%-34s %-5s %4s %-6s %s\n", "SCENARIO", "ENV", "DIFF", "KIND", "TITLE");
    for (const auto& s : out)
      std::printf("%-34s %-5s %4d %-6s %s\n", s["id"].get<std::string>().c_str(),
                  s["env"].get<std::string>().c_str(), s["difficulty"].get<int>(),
                  s["answer"].get<bool>() ? "answer" : "state",
                  s["title"].get<std::string>().c_str());
    std::printf("%zu scenarios\n", out.size());
  }
  return r.ok ? 0 : 1;
}

int Show(const std::string& id, std::uint64_t seed, const std::vector<std::string>& extra,
         bool as_json) {
  Registry r = LoadRegistry(extra);
  const auto* s = r.reg.Find(id);
  if (s == nullptr) {
    auto e = r.reg.Make(id);
    std::fprintf(stderr, "toolgym show: %s\n", e.status().message().c_str());
    return 2;
  }
  auto env = r.reg.Make(id);
  if (!env.ok()) {
    std::fprintf(stderr, "toolgym show: %s\n", env.status().ToString().c_str());
    return 2;
  }
  auto reset = (*env)->Reset(seed);
  if (!reset.ok()) {
    std::fprintf(stderr, "toolgym show: %s\n", reset.status().ToString().c_str());
    return 2;
  }
  const envs::Task& t = *(*env)->task();
  if (as_json) {
    json files = json::object();
    for (const auto& [p, e] : t.workspace.entries())
      if (e.type == sandbox::FileEntry::Type::kFile) files[p] = e.data;
    std::printf("%s\n", json({{"observation", reset->observation},
                              {"info", reset->info},
                              {"tools", (*env)->OpenAITools()},
                              {"workspace", files}})
                            .dump(2, ' ', false, json::error_handler_t::replace)
                            .c_str());
    return 0;
  }
  std::printf("%s (v%s), seed %llu, split %s, difficulty %d\n\n", t.scenario_id.c_str(),
              t.scenario_version.c_str(), static_cast<unsigned long long>(seed),
              t.split.empty() ? "none" : t.split.c_str(), t.difficulty);
  PrintObservation(reset->observation);
  std::printf("── workspace (%zu entries) ──\n", t.workspace.entries().size());
  for (const auto& [p, e] : t.workspace.entries())
    std::printf("  %s%s (%zu bytes)\n", p.c_str(),
                e.type == sandbox::FileEntry::Type::kDirectory ? "/" : "", e.data.size());
  return 0;
}

int Validate(const std::vector<std::string>& paths) {
  ScenarioRegistry reg;
  size_t errors = 0;
  for (const std::string& p : paths) {
    for (const auto& e : reg.Load(p)) {
      std::printf("%s\n", e.ToString().c_str());
      ++errors;
    }
  }
  std::printf("%zu scenario(s) valid, %zu error(s)\n", reg.size(), errors);
  return errors == 0 ? 0 : 1;
}

void PrintStep(const envs::StepResult& r) {
  PrintObservation(r.observation);
  std::printf("reward %+.4f", r.reward);
  std::string terms;
  for (const auto& [name, v] : r.info.reward_terms)
    if (v != 0) terms += fmt::format(" {}={:+.4f}", name, v);
  if (!terms.empty()) std::printf(" (%s )", terms.c_str());
  std::printf("%s%s\n", r.terminated ? "  [terminated]" : "", r.truncated ? "  [truncated]" : "");
  if (r.info.outcome)
    std::printf("outcome: %s, score %.3f: %s\n", r.info.outcome->passed ? "PASSED" : "failed",
                r.info.outcome->score, r.info.outcome->detail.c_str());
}

int Play(const std::string& id, std::uint64_t seed, const std::vector<std::string>& extra) {
  Registry r = LoadRegistry(extra);
  auto env = r.reg.Make(id);
  if (!env.ok()) {
    std::fprintf(stderr, "toolgym play: %s\n", env.status().message().c_str());
    return 2;
  }
  auto reset = (*env)->Reset(seed);
  if (!reset.ok()) {
    std::fprintf(stderr, "toolgym play: %s\n", reset.status().ToString().c_str());
    return 2;
  }
  PrintObservation(reset->observation);
  std::printf(
      "\nType an action, then a line with a single '.' to send it (':quit' to stop). The "
      "action format is %s.\n",
      envs::ActionFormatName((*env)->task()->action_format));
  double total = 0;
  while ((*env)->active()) {
    std::printf("\naction> ");
    std::fflush(stdout);
    std::string action, line;
    bool eof = true;
    while (std::getline(std::cin, line)) {
      eof = false;
      if (line == ":quit") return 0;
      if (line == ".") break;
      action += (action.empty() ? "" : "\n") + line;
      eof = true;
    }
    if (eof && action.empty()) return 0;
    auto step = (*env)->Step(action);
    if (!step.ok()) {
      std::fprintf(stderr, "toolgym play: %s\n", step.status().ToString().c_str());
      return 2;
    }
    PrintStep(*step);
    total += step->reward;
  }
  std::printf("\nepisode over: return %+.4f\n", total);
  return 0;
}

int Run(const std::string& id, const std::string& policy_name, int episodes, std::uint64_t seed,
        const std::string& split, const std::string& out_path,
        const std::vector<std::string>& extra) {
  Registry r = LoadRegistry(extra);
  const auto* s = r.reg.Find(id);
  auto env = r.reg.Make(id);
  if (!env.ok() || s == nullptr) {
    std::fprintf(stderr, "toolgym run: %s\n", env.status().message().c_str());
    return 2;
  }
  auto policy = agent::MakePolicy(policy_name, seed);
  if (!policy.ok()) {
    std::fprintf(stderr, "toolgym run: %s\n", policy.status().message().c_str());
    return 2;
  }
  std::unique_ptr<agent::TrajectoryWriter> writer;
  if (!out_path.empty()) {
    auto w = agent::TrajectoryWriter::Open(out_path);
    if (!w.ok()) {
      std::fprintf(stderr, "toolgym run: %s\n", w.status().message().c_str());
      return 2;
    }
    writer = std::move(w).value();
  }
  const auto range = split == "test" ? s->test_seeds() : s->train_seeds();
  int solved = 0, failed_runs = 0;
  double ret = 0, turns = 0, wall = 0;
  for (int i = 0; i < episodes; ++i) {
    const std::uint64_t episode_seed = range.begin + (seed + i) % (range.end - range.begin);
    auto t = agent::RunEpisode(**env, **policy, episode_seed);
    if (!t.ok()) {
      std::fprintf(stderr, "toolgym run: seed %llu: %s\n",
                   static_cast<unsigned long long>(episode_seed), t.status().ToString().c_str());
      ++failed_runs;
      continue;
    }
    if (!t->error.empty())
      std::fprintf(stderr, "toolgym run: seed %llu: policy: %s\n",
                   static_cast<unsigned long long>(episode_seed), t->error.c_str());
    solved += t->success;
    ret += t->total_reward;
    turns += static_cast<double>(t->steps.size());
    wall += t->wall_ms;
    if (writer) {
      if (Status st = writer->Write(*t); !st.ok()) {
        std::fprintf(stderr, "toolgym run: %s\n", st.message().c_str());
        return 2;
      }
    }
  }
  const int n = episodes - failed_runs;
  std::printf(
      "%s  policy=%s  episodes=%d  solved=%d (%.1f%%)  mean return=%.3f  mean turns=%.2f  "
      "mean episode=%.1f ms\n",
      id.c_str(), policy_name.c_str(), n, solved, n ? 100.0 * solved / n : 0.0, n ? ret / n : 0.0,
      n ? turns / n : 0.0, n ? wall / n : 0.0);
  return failed_runs == 0 ? 0 : 1;
}

}  // namespace

void AddEnvCommands(CLI::App& app) {
  static std::vector<std::string> extra;
  static bool as_json = false;
  static std::string id, policy = "expert", split = "train", out;
  static std::uint64_t seed = 0;
  static int episodes = 10;
  static std::vector<std::string> paths;

  auto* list = app.add_subcommand("list", "List every registered scenario");
  list->add_option("--scenarios", extra, "Extra scenario files or directories");
  list->add_flag("--json", as_json, "Print JSON");
  list->callback([] { SetExitCode(List(extra, as_json)); });

  auto* show = app.add_subcommand("show", "Print a rendered task");
  show->add_option("scenario", id, "Scenario id")->required();
  show->add_option("--seed", seed, "Task seed");
  show->add_option("--scenarios", extra, "Extra scenario files or directories");
  show->add_flag("--json", as_json, "Print JSON");
  show->callback([] { SetExitCode(Show(id, seed, extra, as_json)); });

  auto* validate = app.add_subcommand("validate", "Validate scenario files or directories");
  validate->add_option("paths", paths, "Files or directories")->required();
  validate->callback([] { SetExitCode(Validate(paths)); });

  auto* play = app.add_subcommand("play", "Play a scenario in the terminal");
  play->add_option("scenario", id, "Scenario id")->required();
  play->add_option("--seed", seed, "Task seed");
  play->add_option("--scenarios", extra, "Extra scenario files or directories");
  play->callback([] { SetExitCode(Play(id, seed, extra)); });

  auto* run = app.add_subcommand("run", "Run episodes with a policy and write trajectories");
  run->add_option("scenario", id, "Scenario id")->required();
  run->add_option("--policy", policy, "expert or random")
      ->check(CLI::IsMember({"expert", "random"}));
  run->add_option("--episodes", episodes, "Number of episodes")->check(CLI::PositiveNumber);
  run->add_option("--seed", seed, "First seed offset within the split's range");
  run->add_option("--split", split, "train or test")->check(CLI::IsMember({"train", "test"}));
  run->add_option("--out", out, "Trajectory JSONL file (appended)");
  run->add_option("--scenarios", extra, "Extra scenario files or directories");
  run->callback([] { SetExitCode(Run(id, policy, episodes, seed, split, out, extra)); });
}

}  // namespace toolgym::apps
