// The search scenario families (scenarios/suites/search/), their generators and the
// bring-your-own example (docs/examples/byo_search/): what suites_test.cc does not check for
// every family. The experts obey the rule of the suites: they search before they open, open
// only ids a search showed, answer only after opening, and every query and answer comes from
// the instruction or an earlier observation. The unanswerable family cannot be won by always
// abstaining; the retrieval subgoals are reached by the expert; generator arguments and files
// are checked with errors that name them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "agent/policy.h"
#include "agent/rollout.h"
#include "envs/registry.h"
#include "scenarios/generators.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"

namespace toolgym::scenarios {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

const std::vector<std::string> kFamilies = {"search.hop1",        "search.hop2",
                                            "search.hop3",        "search.comparison",
                                            "search.aggregation", "search.unanswerable"};

const ScenarioRegistry& Suites() {
  static const ScenarioRegistry* reg = [] {
    auto* r = new ScenarioRegistry;
    for (const auto& e : r->Load(ScenarioRegistry::SuitesDir() + "/search"))
      ADD_FAILURE() << e.ToString();
    return r;
  }();
  return *reg;
}

TEST(SearchSuitesTest, SixFamiliesWithDifficultyTagsAndFixedSeedRanges) {
  for (const std::string& id : kFamilies) {
    const Scenario* s = Suites().Find(id);
    ASSERT_NE(s, nullptr) << id;
    EXPECT_EQ(s->env_kind(), "search");
    const auto& tags = s->tags();
    const int levels = static_cast<int>(std::count(tags.begin(), tags.end(), "easy") +
                                        std::count(tags.begin(), tags.end(), "medium") +
                                        std::count(tags.begin(), tags.end(), "hard"));
    EXPECT_EQ(levels, 1) << id;
    EXPECT_EQ(s->train_seeds().begin, 0u);
    EXPECT_EQ(s->train_seeds().end, 10000u);
    EXPECT_EQ(s->test_seeds().begin, 10000u);
    EXPECT_EQ(s->test_seeds().end, 12000u);
  }
}

struct Call {
  std::string name;
  json args;
  std::string output;
};

std::vector<Call> Calls(const agent::Trajectory& t) {
  std::vector<Call> out;
  for (const auto& step : t.steps) {
    const json& calls = step.info["tool_calls"];
    std::size_t tool_message = 0;
    for (const json& c : calls) {
      while (tool_message < step.observation.messages.size() &&
             step.observation.messages[tool_message].role != "tool")
        ++tool_message;
      std::string output = tool_message < step.observation.messages.size()
                               ? step.observation.messages[tool_message++].content
                               : "";
      out.push_back({c["name"], c["arguments"], output});
    }
  }
  return out;
}

class SearchFamilyTest : public ::testing::TestWithParam<std::string> {};

// The rule of the suites, checked on what the expert actually did.
TEST_P(SearchFamilyTest, TheExpertSearchesBeforeItOpensAndOpensBeforeItAnswers) {
  auto env = Suites().Make(GetParam());
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  agent::ExpertPolicy expert;
  for (std::uint64_t seed : {3u, 141u, 5926u, 10007u, 11999u}) {
    auto t = agent::RunEpisode(**env, expert, seed);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_TRUE(t->success) << GetParam() << " seed " << seed << ": " << t->error;
    const std::string instruction = t->first_observation.messages.back().content;
    const std::vector<Call> calls = Calls(*t);
    ASSERT_GE(calls.size(), 3u);
    EXPECT_EQ(calls.front().name, "search");
    EXPECT_EQ(calls.back().name, "submit");
    std::string seen = instruction;  // what the agent has been shown so far
    bool opened = false;
    for (const Call& c : calls) {
      if (c.name == "search") {
        const std::string q = c.args["query"];
        const std::string bare = q.size() > 1 && q.front() == '"' ? q.substr(1, q.size() - 2) : q;
        EXPECT_THAT(seen, HasSubstr(bare)) << "query from nowhere: " << q;
      } else if (c.name == "open") {
        const std::string id = c.args["doc_id"];
        EXPECT_THAT(seen, HasSubstr("(id: " + id + ")")) << "opened an id no search showed";
        opened = true;
      } else if (c.name == "submit") {
        EXPECT_TRUE(opened) << "answered before opening anything";
        const std::string answer = c.args["answer"];
        // Facts and names come from what was read; sums and "unanswerable" from the instruction
        // (the fixed string) or from adding up what was read.
        if (GetParam() != "search.aggregation" && answer != "unanswerable") {
          EXPECT_THAT(seen, HasSubstr(answer));
        }
      }
      seen += "\n" + c.output;
    }
  }
}

TEST_P(SearchFamilyTest, TheExpertReachesTheRetrievalSubgoals) {
  auto env = Suites().Make(GetParam());
  ASSERT_TRUE(env.ok());
  agent::ExpertPolicy expert;
  for (std::uint64_t seed : {8u, 10008u}) {
    auto t = agent::RunEpisode(**env, expert, seed);
    ASSERT_TRUE(t.ok());
    const json& last = t->steps.back().info;
    const auto& params = t->reset_info["task"]["params"]["q"];
    if (params["reason"] == "missing_entity") continue;  // the gold doc may rank below the first
    EXPECT_DOUBLE_EQ(last["potential"].get<double>(), 1.0) << GetParam() << " seed " << seed;
    double progress = 0;
    for (const auto& st : t->steps) progress += st.info["reward_terms"]["progress"].get<double>();
    EXPECT_NEAR(progress, 0.1, 1e-9);  // the suites' progress weight times Φ going 0 -> 1
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, SearchFamilyTest, ::testing::ValuesIn(kFamilies),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '.') c = '_';
                           return n;
                         });

// Submits a fixed answer after one search.
class FixedAnswer : public agent::Policy {
 public:
  explicit FixedAnswer(std::string answer) : answer_(std::move(answer)) {}
  std::string name() const override { return "fixed"; }
  Status BeginEpisode(const envs::Task& task, const std::vector<envs::ToolSpec>& tools,
                      std::uint64_t) override {
    task_ = &task;
    tools_ = tools;
    return OkStatus();
  }
  StatusOr<std::string> Act(const std::vector<envs::Message>&) override {
    envs::ToolCall c{"call_0", "submit", {{"answer", answer_}}};
    return envs::RenderAction(task_->action_format, {c}, std::nullopt, std::nullopt, tools_);
  }

 private:
  std::string answer_;
  const envs::Task* task_ = nullptr;
  std::vector<envs::ToolSpec> tools_;
};

TEST(SearchSuitesTest, AlwaysAbstainingWinsOnlyTheUnanswerableHalf) {
  auto env = Suites().Make("search.unanswerable");
  ASSERT_TRUE(env.ok());
  FixedAnswer abstain("unanswerable");
  agent::ExpertPolicy expert;
  int abstain_wins = 0, unanswerable = 0, expert_wins = 0;
  std::map<std::string, int> reasons;
  const int n = 60;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t seed = 10000 + static_cast<std::uint64_t>(i);
    auto a = agent::RunEpisode(**env, abstain, seed);
    ASSERT_TRUE(a.ok());
    abstain_wins += a->success;
    const json q = a->reset_info["task"]["params"]["q"];
    unanswerable += !q["answerable"].get<bool>();
    ++reasons[q["reason"].get<std::string>()];
    EXPECT_EQ(a->success, !q["answerable"].get<bool>()) << "seed " << seed;
    auto e = agent::RunEpisode(**env, expert, seed);
    ASSERT_TRUE(e.ok());
    expert_wins += e->success;
  }
  EXPECT_EQ(abstain_wins, unanswerable);
  EXPECT_GT(unanswerable, n / 4);
  EXPECT_LT(unanswerable, 3 * n / 4);
  EXPECT_GT(reasons["missing_entity"], 0);
  EXPECT_GT(reasons["missing_fact"], 0);
  EXPECT_EQ(expert_wins, n);
}

TEST(SearchSuitesTest, ReadingTheSimilarlyNamedDocumentGivesAWrongAnswer) {
  // On a missing_entity instance, the first result is about another entity; its fact is wrong.
  auto env = Suites().Make("search.unanswerable");
  ASSERT_TRUE(env.ok());
  int checked = 0;
  for (std::uint64_t seed = 0; seed < 200 && checked < 5; ++seed) {
    auto r = (*env)->Reset(seed);
    ASSERT_TRUE(r.ok());
    const json q = (*env)->task()->params["q"];
    if (q["reason"] != "missing_entity") continue;
    ++checked;
    auto s = (*env)->Step(
        "<tool_call>" +
        json({{"name", "search"}, {"arguments", {{"query", q["entity"]}, {"k", 5}}}}).dump() +
        "</tool_call>");
    ASSERT_TRUE(s.ok());
    const std::string results = s->observation.messages[0].content;
    EXPECT_THAT(results,
                ::testing::Not(HasSubstr(". " + q["entity"].get<std::string>() + " (id:")));
    auto done = (*env)->Step(
        "<tool_call>" + json({{"name", "submit"}, {"arguments", {{"answer", "1987"}}}}).dump() +
        "</tool_call>");
    ASSERT_TRUE(done.ok());
    EXPECT_FALSE(done->info.outcome->passed);
  }
  EXPECT_EQ(checked, 5);
}

TEST(SearchGeneratorsTest, SearchQuestionIsDeterministicAndComplete) {
  const GeneratorRegistry& g = GeneratorRegistry::Default();
  const json spec = {
      {"gen", "search_question"}, {"kind", "hop2"}, {"entities", 30}, {"distractors", 10}};
  Rng r1(5), r2(5), r3(6);
  auto a = g.Generate(spec, r1), b = g.Generate(spec, r2), c = g.Generate(spec, r3);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status().ToString();
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  for (const char* key :
       {"kind", "question", "answer", "aliases", "expected", "answerable", "reason", "entity",
        "entities", "labels", "extreme", "gold", "hops", "world"})
    EXPECT_TRUE(a->contains(key)) << key;
  EXPECT_EQ((*a)["kind"], "hop2");
  EXPECT_EQ((*a)["labels"].size(), 2u);
  EXPECT_EQ((*a)["gold"].size(), 2u);
  EXPECT_EQ((*a)["world"]["entities"], 30);
  EXPECT_EQ((*a)["expected"][0], (*a)["answer"]);
  EXPECT_FALSE(a->contains("documents"));
  // With "documents": true the world's documents come along, for an inline corpus.
  json with_docs = spec;
  with_docs["documents"] = true;
  Rng r4(5);
  auto d = g.Generate(with_docs, r4);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ((*d)["documents"].size(), 40u);
  std::set<std::string> ids;
  for (const json& doc : (*d)["documents"]) ids.insert(doc["id"].get<std::string>());
  EXPECT_TRUE(ids.count((*d)["gold"][0].get<std::string>()));
  EXPECT_EQ((*d)["question"], (*a)["question"]);
}

TEST(SearchGeneratorsTest, SearchQuestionArgumentErrors) {
  const GeneratorRegistry& g = GeneratorRegistry::Default();
  Rng rng(1);
  auto bad = [&](json spec) {
    spec["gen"] = "search_question";
    auto v = g.Generate(spec, rng);
    EXPECT_FALSE(v.ok()) << spec.dump();
    return v.ok() ? std::string() : v.status().message();
  };
  EXPECT_THAT(bad({}), HasSubstr("missing argument 'kind'"));
  EXPECT_THAT(bad({{"kind", "hop4"}}), HasSubstr("unknown question kind \"hop4\""));
  EXPECT_THAT(bad({{"kind", "hop1"}, {"entities", 5}}), HasSubstr("'entities' must be in [10,"));
  EXPECT_THAT(bad({{"kind", "aggregation"}, {"count", 9}}), HasSubstr("'count' must be in [2, 5]"));
  EXPECT_THAT(bad({{"kind", "hop1"}, {"withheld_rate", 0.9}}), HasSubstr("'withheld_rate'"));
  EXPECT_THAT(bad({{"kind", "hop1"}, {"size", 3}}), HasSubstr("unknown argument 'size'"));
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/toolgym_search_suites_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name, std::ios::binary) << text;
  }

 private:
  std::string path_;
};

TEST(SearchGeneratorsTest, JsonlRecordReadsAFileNextToTheScenario) {
  TempDir dir;
  dir.Write("q.jsonl", "{\"n\": 0}\n\n{\"n\": 1}\n{\"n\": 2}\n");
  const GeneratorRegistry& g = GeneratorRegistry::Default();
  std::set<int> drawn;
  for (std::uint64_t s = 0; s < 40; ++s) {
    Rng rng(s);
    auto v =
        g.Generate({{"gen", "jsonl_record"}, {"file", "q.jsonl"}, {"$base_dir", dir.path()}}, rng);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    drawn.insert((*v)["n"].get<int>());
  }
  EXPECT_EQ(drawn, (std::set<int>{0, 1, 2}));  // blank lines are skipped
  Rng rng(1);
  auto fixed = g.Generate(
      {{"gen", "jsonl_record"}, {"file", "q.jsonl"}, {"index", 2}, {"$base_dir", dir.path()}}, rng);
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ((*fixed)["n"], 2);

  auto err = [&](json spec) {
    spec["gen"] = "jsonl_record";
    spec["$base_dir"] = dir.path();
    auto v = g.Generate(spec, rng);
    EXPECT_FALSE(v.ok()) << spec.dump();
    return v.ok() ? std::string() : v.status().message();
  };
  EXPECT_THAT(err({{"file", "q.jsonl"}, {"index", 3}}), HasSubstr("'index' must be in [0, 2]"));
  EXPECT_THAT(err({{"file", "none.jsonl"}}), HasSubstr(dir.path() + "/none.jsonl"));
  dir.Write("bad.jsonl", "{\"n\": 0}\n[1, 2]\n");
  EXPECT_THAT(err({{"file", "bad.jsonl"}}), HasSubstr("bad.jsonl:2: expected a JSON object"));
  dir.Write("broken.jsonl", "{\"n\": 0}\n{\"n\": \n");
  EXPECT_THAT(err({{"file", "broken.jsonl"}}), HasSubstr("broken.jsonl:2: not valid JSON"));
  // A changed file is read again.
  dir.Write("q.jsonl", "{\"n\": 7}\n{\"n\": 8, \"pad\": \"make the size differ\"}\n");
  Rng again(1);
  auto v = g.Generate(
      {{"gen", "jsonl_record"}, {"file", "q.jsonl"}, {"index", 1}, {"$base_dir", dir.path()}},
      again);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)["n"], 8);
}

TEST(SearchGeneratorsTest, TheLoaderGivesJsonlRecordTheScenariosDirectory) {
  TempDir dir;
  dir.Write("questions.jsonl",
            "{\"entity\": \"Alpha\", \"field\": \"Color\", \"answer\": \"red\"}\n");
  dir.Write(
      "corpus.jsonl",
      "{\"id\": \"alpha\", \"title\": \"Alpha\", \"text\": \"Alpha is a thing.\\n\\nColor: "
      "red\"}\n{\"id\": \"beta\", \"title\": \"Beta\", \"text\": \"Beta.\\n\\nColor: blue\"}\n");
  json doc = {{"id", "test.byo"},
              {"version", "1"},
              {"env", "search"},
              {"title", "t"},
              {"instruction", "What is the {{ q.field | lower }} of {{ q.entity }}?"},
              {"params", {{{"name", "q"}, {"gen", "jsonl_record"}, {"file", "questions.jsonl"}}}},
              {"tools", {"search", "open", "submit"}},
              {"options", {{"corpus", {{"jsonl", "corpus.jsonl"}}}}},
              {"verifier", {{"type", "qa"}, {"expected", "{{ q.answer }}"}}},
              {"expert",
               {{{"tool", "search"}, {"args", {{"query", "{{ q.entity }}"}}}},
                {{"tool", "open"},
                 {"extract", "\\n\\d+\\. {{ q.entity }} \\(id: ([^)]+)\\)"},
                 {"args", {{"doc_id", "{{ x }}"}}}},
                {{"tool", "submit"},
                 {"extract", "\\n{{ q.field }}: ([^\\n]+)"},
                 {"args", {{"answer", "{{ x }}"}}}}}}};
  std::vector<LoadError> errors;
  const std::string file = dir.path() + "/scenario.json";
  auto s = Scenario::FromJson(doc, file, &errors);
  for (const auto& e : errors) ADD_FAILURE() << e.ToString();
  ASSERT_NE(s, nullptr);
  auto env = envs::MakeEnv(s);
  ASSERT_TRUE(env.ok());
  agent::ExpertPolicy expert;
  auto t = agent::RunEpisode(**env, expert, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->success) << t->error;

  // A scenario cannot set "$base_dir" itself.
  json forged = doc;
  forged["params"][0]["$base_dir"] = "/etc";
  errors.clear();
  EXPECT_EQ(Scenario::FromJson(forged, file, &errors), nullptr);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "/params/0/$base_dir");
  // A missing question file is a load error naming it.
  json missing = doc;
  missing["params"][0]["file"] = "nope.jsonl";
  errors.clear();
  EXPECT_EQ(Scenario::FromJson(missing, file, &errors), nullptr);
  ASSERT_FALSE(errors.empty());
  EXPECT_THAT(errors[0].message, HasSubstr(dir.path() + "/nope.jsonl"));
  // So is a bad corpus, with the corpus file named.
  dir.Write("corpus.jsonl", "{\"id\": \"alpha\"}\n");
  errors.clear();
  EXPECT_EQ(Scenario::FromJson(doc, file, &errors), nullptr);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].file, dir.path() + "/corpus.jsonl");
}

TEST(SearchSuitesTest, TheBringYourOwnExampleLoadsAndItsExpertSolvesEveryQuestion) {
  const std::string path =
      std::string(TOOLGYM_SOURCE_DIR) + "/docs/examples/byo_search/scenario.json";
  std::vector<LoadError> errors;
  auto s = Scenario::FromFile(path, &errors);
  for (const auto& e : errors) ADD_FAILURE() << e.ToString();
  ASSERT_NE(s, nullptr);
  auto env = envs::MakeEnv(s);
  ASSERT_TRUE(env.ok());
  agent::ExpertPolicy expert;
  std::set<std::string> questions;
  for (std::uint64_t seed = 0; seed < 60; ++seed) {
    auto t = agent::RunEpisode(**env, expert, seed);
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(t->success) << "seed " << seed << ": " << t->error;
    questions.insert(t->reset_info["task"]["params"]["q"]["id"].get<std::string>());
  }
  EXPECT_EQ(questions.size(), 8u);  // every line of questions.jsonl
  agent::RandomPolicy random(3);
  int solved = 0;
  for (std::uint64_t seed = 800; seed < 820; ++seed) {
    auto t = agent::RunEpisode(**env, random, seed);
    ASSERT_TRUE(t.ok());
    solved += t->success;
  }
  EXPECT_LE(solved, 2);
}

}  // namespace
}  // namespace toolgym::scenarios
