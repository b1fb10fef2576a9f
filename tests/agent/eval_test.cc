// The evaluation harness: the expert solves every kind of env with tool efficiency 1.0, random
// scores low, groups and counts, resume after a kill (a truncated last line) equals an
// uninterrupted run, manifest mismatches, determinism across thread counts, runner errors, and
// the comparison of two runs (Newcombe's interval checked against Newcombe 1998).
#include "agent/eval.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace toolgym::agent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class EvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("toolgym_eval_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  EvalOptions Options(const std::string& policy, std::vector<std::string> scenarios,
                      const std::string& out, int episodes = 2) {
    EvalOptions o;
    o.scenarios = std::move(scenarios);
    o.episodes = episodes;
    o.threads = 2;
    o.out_dir = (dir_ / out).string();
    o.policy_spec = policy;
    auto f = PolicyFactoryFromSpec(policy);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    o.policy = *f;
    return o;
  }

  static std::vector<std::string> Lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(line);
    return out;
  }

  fs::path dir_;
};

// One family of each env kind.
const std::vector<std::string> kOneOfEachKind = {"shell.count_matches", "code.fix_bug",
                                                 "search.hop1", "web.shop_easy"};

TEST_F(EvalTest, ExpertSolvesEveryKindWithToolEfficiencyOne) {
  auto r = RunEval(Options("expert", kOneOfEachKind, "expert", 3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->complete);
  const json& groups = r->summary["groups"];
  EXPECT_EQ(groups["overall"]["episodes"], 12);
  EXPECT_EQ(groups["overall"]["errors"], 0);
  for (const std::string& id : kOneOfEachKind) {
    const json& g = groups["scenario/" + id];
    EXPECT_EQ(g["episodes"], 3) << id;
    EXPECT_DOUBLE_EQ(g["success_rate"].get<double>(), 1.0) << id;
    ASSERT_FALSE(g["tool_efficiency"].is_null()) << id;
    EXPECT_DOUBLE_EQ(g["tool_efficiency"].get<double>(), 1.0) << id;
    EXPECT_GT(g["compute"]["policy_calls"].get<double>(), 0) << id;
  }
  // The expert is its own reference: no separate expert runs.
  EXPECT_FALSE(fs::exists(dir_ / "expert" / "expert_calls.json"));
  EXPECT_EQ(Lines(dir_ / "expert" / "trajectories.jsonl").size(), 12u);
  EXPECT_TRUE(fs::exists(dir_ / "expert" / "summary.json"));
  EXPECT_TRUE(fs::exists(dir_ / "expert" / "report.md"));
}

TEST_F(EvalTest, RandomScoresLowAndGetsExpertReference) {
  auto r = RunEval(Options("random", kOneOfEachKind, "random", 3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& overall = r->summary["groups"]["overall"];
  EXPECT_EQ(overall["episodes"], 12);
  EXPECT_LE(overall["success_rate"].get<double>(), 0.25);
  EXPECT_GT(overall["invalid_action_rate"].get<double>(), 0.0);
  // The expert ran once per instance for the efficiency reference, cached in the run.
  std::ifstream in(dir_ / "random" / "expert_calls.json");
  const json cache = json::parse(in);
  ASSERT_EQ(cache.size(), 4u);
  for (const std::string& id : kOneOfEachKind) {
    ASSERT_EQ(cache[id].size(), 3u) << id;
    for (auto it = cache[id].begin(); it != cache[id].end(); ++it)
      EXPECT_GE(it.value().get<int>(), 1) << id;
  }
  for (const auto& rec : r->records) EXPECT_TRUE(rec.expert_tool_calls.has_value());
}

TEST_F(EvalTest, GroupsCountsAndManifest) {
  EvalOptions o = Options("random", {"search", "shell.count_matches"}, "groups", 2);
  o.samples = 3;
  o.seed = 7;
  auto r = RunEval(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& reg = scenarios::ScenarioRegistry::Default();
  std::vector<std::string> search_ids;
  for (const std::string& id : reg.Ids())
    if (id.rfind("search.", 0) == 0) search_ids.push_back(id);
  ASSERT_GE(search_ids.size(), 2u);
  const std::int64_t families = static_cast<std::int64_t>(search_ids.size()) + 1;
  const json& g = r->summary["groups"];
  EXPECT_EQ(g["overall"]["episodes"], families * 2 * 3);
  EXPECT_EQ(g["overall"]["tasks"], families * 2);
  EXPECT_EQ(g["suite/search"]["episodes"], static_cast<std::int64_t>(search_ids.size()) * 6);
  EXPECT_EQ(g["suite/shell"]["episodes"], 6);
  EXPECT_EQ(g["scenario/shell.count_matches"]["tasks"], 2);
  EXPECT_EQ(g["overall"]["pass_at_k"].size(), 3u);
  std::int64_t by_difficulty = 0;
  for (auto it = g.begin(); it != g.end(); ++it)
    if (it.key().rfind("difficulty/", 0) == 0) by_difficulty += it.value()["episodes"].get<int>();
  EXPECT_EQ(by_difficulty, families * 6);
  // Instances are the split's first seeds; records are sorted and each key appears once.
  const auto range = reg.Find("shell.count_matches")->test_seeds();
  std::set<std::tuple<std::string, std::uint64_t, int>> keys;
  for (const auto& rec : r->records) {
    keys.insert({rec.scenario, rec.seed, rec.sample});
    if (rec.scenario == "shell.count_matches") {
      EXPECT_GE(rec.seed, range.begin);
      EXPECT_LT(rec.seed, range.begin + 2);
    }
  }
  EXPECT_EQ(keys.size(), r->records.size());
  const json& m = r->summary["manifest"];
  EXPECT_EQ(m["policy"], "random");
  EXPECT_EQ(m["split"], "test");
  EXPECT_EQ(m["samples"], 3);
  EXPECT_EQ(m["seed"], 7);
  EXPECT_EQ(m["scenarios"].back(), "shell.count_matches");
  EXPECT_EQ(m["scenarios"].size(), static_cast<size_t>(families));
  EXPECT_EQ(r->summary["run"]["episodes_run"], families * 6);
  // Samples of one instance differ (the policy seed mixes in the sample).
  EXPECT_NE(PolicySeed(7, "shell.count_matches", 5, 0), PolicySeed(7, "shell.count_matches", 5, 1));
  EXPECT_NE(PolicySeed(7, "shell.count_matches", 5, 0), PolicySeed(8, "shell.count_matches", 5, 0));
}

TEST_F(EvalTest, ResumeAfterKillEqualsUninterruptedRun) {
  const std::vector<std::string> scen = {"shell.count_matches", "search.hop1", "web.forms"};
  EvalOptions full = Options("random", scen, "full", 3);
  full.samples = 2;
  auto a = RunEval(full);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->records.size(), 18u);

  EvalOptions part = Options("random", scen, "part", 3);
  part.samples = 2;
  part.stop_after = 7;
  std::int64_t progress_calls = 0;
  part.progress = [&](const EvalProgress& p) {
    ++progress_calls;
    EXPECT_EQ(p.total, 18);
    EXPECT_LE(p.done, 18);
  };
  auto b1 = RunEval(part);
  ASSERT_TRUE(b1.ok()) << b1.status().ToString();
  EXPECT_FALSE(b1->complete);
  EXPECT_GE(b1->episodes_run, 7);
  EXPECT_EQ(progress_calls, b1->episodes_run);
  EXPECT_FALSE(fs::exists(dir_ / "part" / "summary.json"));
  // A kill mid-write: the last line is cut in half.
  const fs::path traj = dir_ / "part" / "trajectories.jsonl";
  const std::vector<std::string> lines = Lines(traj);
  ASSERT_EQ(static_cast<std::int64_t>(lines.size()), b1->episodes_run);
  fs::resize_file(traj, fs::file_size(traj) - lines.back().size() / 2 - 1);

  part.stop_after = 0;
  part.progress = nullptr;
  part.resume = true;
  auto b2 = RunEval(part);
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  ASSERT_TRUE(b2->complete);
  EXPECT_EQ(b2->episodes_resumed, b1->episodes_run - 1);
  EXPECT_EQ(b2->episodes_run, 18 - b2->episodes_resumed);
  EXPECT_TRUE(b2->summary["run"]["dropped_partial_line"].get<bool>());
  EXPECT_EQ(Lines(traj).size(), 18u);  // nothing redone, the cut line replaced
  EXPECT_EQ(b2->summary["groups"], a->summary["groups"]);
  EXPECT_EQ(b2->summary["manifest"]["scenarios"], a->summary["manifest"]["scenarios"]);

  // Resuming a finished run redoes nothing and writes the same summary.
  auto b3 = RunEval(part);
  ASSERT_TRUE(b3.ok()) << b3.status().ToString();
  EXPECT_EQ(b3->episodes_run, 0);
  EXPECT_EQ(b3->summary["groups"], a->summary["groups"]);
}

TEST_F(EvalTest, ResumeChecksTheManifestAndRefusesToOverwrite) {
  EvalOptions o = Options("random", {"shell.count_matches"}, "run", 2);
  ASSERT_TRUE(RunEval(o).ok());
  // Without --resume an existing run is never overwritten.
  auto again = RunEval(o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("already holds an evaluation run"), std::string::npos);
  o.resume = true;
  o.episodes = 3;
  auto bad = RunEval(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("episodes = 2, this run has 3"), std::string::npos)
      << bad.status().message();
  o.episodes = 2;
  o.policy_spec = "expert";
  o.policy = PolicyFactoryFromSpec("expert").value();
  bad = RunEval(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("policy = \"random\""), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(Lines(dir_ / "run" / "trajectories.jsonl").size(), 2u);  // untouched
}

TEST_F(EvalTest, ResumeAfterKillBetweenLineAndNewline) {
  EvalOptions o = Options("expert", {"shell.count_matches"}, "run", 3);
  o.threads = 1;
  o.stop_after = 2;
  ASSERT_TRUE(RunEval(o).ok());
  const fs::path traj = dir_ / "run" / "trajectories.jsonl";
  fs::resize_file(traj, fs::file_size(traj) - 1);  // the last line's newline never written
  o.stop_after = 0;
  o.resume = true;
  auto r = RunEval(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->episodes_resumed, 2);
  EXPECT_EQ(r->episodes_run, 1);
  EXPECT_FALSE(r->summary["run"]["dropped_partial_line"].get<bool>());
  const std::vector<std::string> lines = Lines(traj);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) EXPECT_TRUE(json::accept(line)) << line.substr(0, 80);
  EXPECT_EQ(r->summary["groups"]["overall"]["successes"], 3);
}

TEST_F(EvalTest, CorruptLineBeforeTheLastIsAnError) {
  EvalOptions o = Options("random", {"shell.count_matches"}, "run", 3);
  ASSERT_TRUE(RunEval(o).ok());
  const fs::path traj = dir_ / "run" / "trajectories.jsonl";
  std::vector<std::string> lines = Lines(traj);
  lines[1] = lines[1].substr(0, 40);
  std::ofstream(traj, std::ios::trunc) << lines[0] << "\n" << lines[1] << "\n" << lines[2] << "\n";
  o.resume = true;
  auto r = RunEval(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trajectories.jsonl:2: not valid JSON"), std::string::npos)
      << r.status().message();
}

TEST_F(EvalTest, MalformedExpertCacheIsAnErrorNamingTheFile) {
  EvalOptions o = Options("random", {"shell.count_matches"}, "run", 2);
  fs::create_directories(o.out_dir);
  std::ofstream(fs::path(o.out_dir) / "expert_calls.json") << R"({"shell.count_matches": [3]})";
  o.resume = true;  // a directory without a manifest starts a new run
  auto r = RunEval(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expert_calls.json: expected an object"), std::string::npos)
      << r.status().message();
  const std::uint64_t first =
      scenarios::ScenarioRegistry::Default().Find("shell.count_matches")->test_seeds().begin;
  std::ofstream(fs::path(o.out_dir) / "expert_calls.json", std::ios::trunc)
      << json({{"shell.count_matches", {{std::to_string(first), 7}}}}).dump();
  r = RunEval(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The cached count is used as is; the missing instance was computed and added.
  std::ifstream in(fs::path(o.out_dir) / "expert_calls.json");
  const json cache = json::parse(in);
  EXPECT_EQ(cache["shell.count_matches"].size(), 2u);
  EXPECT_EQ(cache["shell.count_matches"][std::to_string(first)], 7);
  int checked = 0;
  for (const auto& rec : r->records)
    if (rec.seed == first) {
      EXPECT_EQ(rec.expert_tool_calls, 7);
      ++checked;
    }
  EXPECT_EQ(checked, 1);
}

TEST_F(EvalTest, DeterministicAcrossThreadCounts) {
  const std::vector<std::string> scen = {"shell.find_by_name", "web.info"};
  EvalOptions one = Options("random", scen, "one", 3);
  one.threads = 1;
  one.samples = 2;
  EvalOptions two = one;
  two.threads = 2;
  two.out_dir = (dir_ / "two").string();
  auto a = RunEval(one);
  auto b = RunEval(two);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->summary["groups"], b->summary["groups"]);
  ASSERT_EQ(a->records.size(), b->records.size());
  for (size_t i = 0; i < a->records.size(); ++i)
    EXPECT_EQ(metrics::ToJson(a->records[i]), metrics::ToJson(b->records[i]));
}

TEST_F(EvalTest, RunnerErrorsAreRecordedAsFailures) {
  EvalOptions o = Options("expert", {"shell.count_matches"}, "run", 3);
  const auto range =
      scenarios::ScenarioRegistry::Default().Find("shell.count_matches")->test_seeds();
  o.runner = [&](envs::Env& env, const PolicyFactory& f,
                 const EpisodeSpec& spec) -> StatusOr<EvalEpisode> {
    if (spec.seed == range.begin + 1) return UnavailableError("model server down");
    return RunPlainEpisode(env, f, spec);
  };
  o.strategy = "flaky";
  auto r = RunEval(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->errors, 1);
  EXPECT_NE(r->first_error.find("model server down"), std::string::npos);
  const json& g = r->summary["groups"]["overall"];
  EXPECT_EQ(g["episodes"], 3);
  EXPECT_EQ(g["successes"], 2);
  EXPECT_EQ(g["errors"], 1);
  EXPECT_EQ(r->summary["manifest"]["strategy"], "flaky");
  // Recorded, so a resume does not redo it.
  o.resume = true;
  auto again = RunEval(o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->episodes_run, 0);
}

TEST_F(EvalTest, BadOptionsNameTheInput) {
  auto r = RunEval(Options("expert", {"shell.no_such_family"}, "x"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shell.no_such_family"), std::string::npos);
  EXPECT_NE(r.status().message().find("a suite (code, search, shell, web)"), std::string::npos)
      << r.status().message();
  EvalOptions o = Options("expert", {"shell.count_matches"}, "y", 100000);
  r = RunEval(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shell.count_matches has"), std::string::npos)
      << r.status().message();
  o = Options("expert", {"shell.count_matches"}, "z");
  o.split = "validation";
  r = RunEval(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"validation\""), std::string::npos);
}

TEST_F(EvalTest, ExpandScenarios) {
  const auto& reg = scenarios::ScenarioRegistry::Default();
  auto all = ExpandScenarios(reg, {"all"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, reg.Ids());
  auto mixed = ExpandScenarios(reg, {"web.info", "web", "web.info"});
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->front(), "web.info");
  EXPECT_EQ(std::set<std::string>(mixed->begin(), mixed->end()).size(), mixed->size());
  for (const std::string& id : *mixed) EXPECT_EQ(id.rfind("web.", 0), 0u) << id;
  EXPECT_FALSE(ExpandScenarios(reg, {}).ok());
}

// Records of `n` episodes of which `s` succeed, on instances 0..n-1 of one scenario.
std::vector<metrics::EpisodeRecord> Made(const std::string& scenario, int n, int s, int calls) {
  std::vector<metrics::EpisodeRecord> out;
  for (int i = 0; i < n; ++i) {
    metrics::EpisodeRecord r;
    r.scenario = scenario;
    r.suite = metrics::SuiteOf(scenario);
    r.split = "test";
    r.seed = static_cast<std::uint64_t>(i);
    r.success = i < s;
    r.reward = r.success ? 1.0 : 0.0;
    r.turns = calls;
    r.tool_calls = calls;
    r.tool_calls_ok = calls;
    r.expert_tool_calls = 2;
    out.push_back(r);
  }
  return out;
}

json HandMadeRun(const std::string& policy, int n_a, int s_a, int n_b, int s_b, int calls) {
  std::vector<metrics::EpisodeRecord> records = Made("shell.a", n_a, s_a, calls);
  for (auto& r : Made("web.b", n_b, s_b, calls)) records.push_back(r);
  std::vector<EpisodeCompute> compute(records.size());
  for (auto& c : compute) c.policy_calls = calls;
  const json manifest = {{"policy", policy}, {"strategy", "plain"},
                         {"split", "test"},  {"episodes", 80},
                         {"samples", 1},     {"scenarios", {"shell.a", "web.b"}},
                         {"started_at", "t"}};
  return SummarizeRun(manifest, records, compute);
}

TEST(EvalCompareTest, NewcombeIntervalMatchesPublishedExample) {
  // Newcombe (1998), Statistics in Medicine 17:873, Table II example (a): 56/70 - 48/80,
  // method 10 (hybrid score): 0.0524 to 0.3339.
  const metrics::Interval d = NewcombeDifference(56, 70, 48, 80);
  EXPECT_NEAR(d.lo, 0.0524, 5e-4);
  EXPECT_NEAR(d.hi, 0.3339, 5e-4);
}

TEST(EvalCompareTest, ComparesHandMadeRuns) {
  // A: shell 80/80, web 10/80. B: shell 76/80, web 40/80.
  const json a = HandMadeRun("expert", 80, 80, 80, 10, 2);
  const json b = HandMadeRun("model", 80, 76, 80, 40, 4);
  const json c = CompareRuns(a, b);
  EXPECT_EQ(c["a"]["policy"], "expert");
  EXPECT_EQ(c["b"]["policy"], "model");
  EXPECT_TRUE(c["warnings"].empty());
  std::map<std::string, json> rows;
  for (const json& r : c["groups"]) rows[r["group"]] = r;
  ASSERT_EQ(c["groups"][0]["group"], "overall");
  const json& web = rows.at("scenario/web.b");
  EXPECT_NEAR(web["difference"].get<double>(), 30.0 / 80, 1e-12);
  EXPECT_TRUE(web["significant"].get<bool>());
  EXPECT_FALSE(web["intervals_overlap"].get<bool>());
  const json& shell = rows.at("suite/shell");
  EXPECT_NEAR(shell["difference"].get<double>(), -4.0 / 80, 1e-12);
  EXPECT_FALSE(shell["significant"].get<bool>());  // 76/80 vs 80/80: within the noise
  EXPECT_TRUE(shell["intervals_overlap"].get<bool>());
  const metrics::Interval want = NewcombeDifference(76, 80, 80, 80);
  EXPECT_DOUBLE_EQ(shell["difference_ci"]["lo"].get<double>(), want.lo);
  EXPECT_DOUBLE_EQ(shell["a"]["tool_efficiency"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(shell["b"]["tool_efficiency"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(shell["b"]["policy_calls"].get<double>(), 4.0);
  const std::string md = CompareMarkdown(c);
  EXPECT_NE(md.find("| scenario/web.b | 12.5% (6.9%–21.5%, n=80) | 50.0% (39.3%–60.7%, n=80) | "
                    "+37.5 pp |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("**yes**"), std::string::npos);
  // A group in only one run has no difference.
  json b2 = b;
  b2["groups"].erase("scenario/web.b");
  int found = 0;
  const json c2 = CompareRuns(a, b2);  // kept: a range over a temporary's member dangles
  for (const json& r : c2["groups"])
    if (r["group"] == "scenario/web.b") {
      ++found;
      EXPECT_FALSE(r["a"].is_null());
      EXPECT_TRUE(r["b"].is_null());
      EXPECT_TRUE(r["significant"].is_null());
    }
  EXPECT_EQ(found, 1);
}

TEST(EvalCompareTest, MarkdownReportHasEveryGroup) {
  json run = HandMadeRun("expert", 4, 4, 4, 1, 2);
  run["manifest"]["max_steps"] = 1000;
  run["manifest"]["seed"] = 0;
  run["manifest"]["env_options"] = json::object();
  run["manifest"]["toolgym_version"] = kToolgymVersion;
  const std::string md = MarkdownReport(run, {"success_by_family.png"});
  EXPECT_NE(md.find("# Evaluation: expert on 2 scenario families (test split)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| **overall** | 8 | 62.5% |"), std::string::npos) << md;
  EXPECT_NE(md.find("| shell.a | 4 | 100.0% |"), std::string::npos) << md;
  EXPECT_NE(md.find("| web.b | 4 | 25.0% |"), std::string::npos) << md;
  EXPECT_NE(md.find("![success by family](success_by_family.png)"), std::string::npos);
}

}  // namespace
}  // namespace toolgym::agent
