// The search env (envs/search_env.h): its tools and observation format, paging, agent mistakes
// as observations, the env state verifiers read, subgoal shaping, fork isolation, determinism,
// the corpus sources (inline documents, generated worlds, JSONL in memory and on disk, built once
// under concurrency), option validation, and the bring-your-own example corpus. Tasks come from a
// C++ FakeSource so that these tests do not depend on scenario files.
#include "envs/search_env.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "envs/info.h"
#include "search/world.h"
#include "tests/envs/env_test_util.h"

namespace toolgym::envs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::AnswerIs;
using testing::FakeSource;
using ::testing::HasSubstr;
using testing::LambdaVerifier;
using ::testing::StartsWith;

std::string Call(const std::string& name, const json& args) {
  return "<tool_call>" + json({{"name", name}, {"arguments", args}}).dump() + "</tool_call>";
}
std::string Search(const std::string& q, int k = 5) {
  return Call("search", {{"query", q}, {"k", k}});
}
std::string Open(const std::string& id, int page = 1) {
  return Call("open", {{"doc_id", id}, {"page", page}});
}

std::string LongText() {
  std::string t;
  for (int i = 1; i <= 6; ++i)
    t += "Chapter " + std::to_string(i) +
         " of the chronicle tells how the harbor grew, which ships came and went, and who kept "
         "the lights burning through the long winters of the northern coast.\n\n";
  return t;
}

json SmallCorpus() {
  return json::array(
      {{{"id", "varno"},
        {"title", "Varno Industries"},
        {"text",
         "Varno Industries is a shipbuilding company in Tarsville.\n\nFounding year: 1987\n"
         "Founder: Mara Quill\n"}},
       {{"id", "varnow"},
        {"title", "Varnow Industries"},
        {"text", "Varnow Industries makes lamps.\n\nFounding year: 1990\n"}},
       {{"id", "tars"},
        {"title", "Tarsville"},
        {"text", "Tarsville is a port town.\n\nPopulation: 41200\n"}},
       {{"id", "quill"},
        {"title", "Mara Quill"},
        {"text", "Mara Quill founded a shipyard.\n\nBirth year: 1950\n"}},
       {{"id", "long"}, {"title", "Harbor Chronicle"}, {"text", LongText()}}});
}

Task SearchTask(json options, std::string base_dir = "") {
  Task t;
  t.scenario_id = "test.search";
  t.scenario_version = "1";
  t.env_kind = "search";
  t.instruction = "In which year was Varno Industries founded?";
  t.tools = {"search", "open", "submit"};
  t.verifier = AnswerIs("1987");
  t.options = std::move(options);
  t.base_dir = std::move(base_dir);
  t.budgets.max_turns = 30;
  return t;
}

json Inline(json extra = json::object()) {
  json o = {{"corpus", {{"documents", SmallCorpus()}}}, {"page_bytes", 400}};
  o.update(extra);
  return o;
}

std::unique_ptr<SearchEnv> MakeEnv(std::function<Task(std::uint64_t)> make) {
  return std::make_unique<SearchEnv>(std::make_shared<FakeSource>("search", std::move(make)),
                                     EnvOptions{});
}
std::unique_ptr<SearchEnv> MakeEnv(json options = Inline(), std::string base_dir = "") {
  return MakeEnv([options, base_dir](std::uint64_t seed) {
    Task t = SearchTask(options, base_dir);
    t.seed = seed;
    return t;
  });
}

// The content of the step's only tool message.
std::string Tool(const StatusOr<StepResult>& s) {
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok() || s->observation.messages.empty()) return "";
  return s->observation.messages.back().content;
}

TEST(SearchEnvTest, OffersSearchOpenAndSubmitAndDescribesTheCollection) {
  auto env = MakeEnv();
  auto r = env->Reset(1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> names;
  for (const ToolSpec& t : env->Tools()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"search", "open", "submit"}));
  EXPECT_THAT(r->observation.messages[0].content, HasSubstr("a collection of 5 documents"));
  EXPECT_THAT(r->observation.messages[0].content, HasSubstr("one page (400 bytes)"));
  const json tools = env->OpenAITools();
  EXPECT_EQ(tools[0]["function"]["parameters"]["properties"]["k"]["maximum"], SearchEnv::kMaxK);
  EXPECT_EQ(tools[0]["function"]["parameters"]["required"], json({"query"}));
  EXPECT_EQ(tools[1]["function"]["parameters"]["required"], json({"doc_id"}));
}

TEST(SearchEnvTest, SearchShowsRankTitleIdAndAHighlightedSnippet) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  const std::string out = Tool(env->Step(Search("Varno")));
  EXPECT_THAT(out, StartsWith("Search results for \"Varno\" (1 shown):\n"
                              "1. Varno Industries (id: varno)\n   "));
  EXPECT_THAT(out, HasSubstr("**Varno** Industries is a shipbuilding company"));
  EXPECT_EQ(out.find('\n', out.find("\n   ") + 1), std::string::npos);  // the snippet is one line

  // Several hits, best first; k limits them.
  const std::string both = Tool(env->Step(Search("industries founding", 2)));
  EXPECT_THAT(both, StartsWith("Search results for \"industries founding\" (2 shown):\n1. "));
  EXPECT_THAT(both, HasSubstr("(id: varno)"));
  EXPECT_THAT(both, HasSubstr("(id: varnow)"));
  EXPECT_THAT(both, HasSubstr("\n2. "));
  EXPECT_THAT(both, ::testing::Not(HasSubstr("\n3. ")));
}

TEST(SearchEnvTest, AQueryWithoutHitsSaysSo) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  auto s = env->Step(Search("zeppelin"));
  EXPECT_EQ(Tool(s), "No documents match \"zeppelin\". Try other words.");
  EXPECT_FALSE(s->info.tool_calls[0].error);
  // Stopwords only, a stray quote and a lone operator are no errors either.
  EXPECT_THAT(Tool(env->Step(Search("the of and"))), StartsWith("No documents match"));
  auto odd = env->Step(Search("\"Varno AND ("));
  ASSERT_TRUE(odd.ok());
  EXPECT_FALSE(odd->info.tool_calls[0].error) << Tool(odd);
  EXPECT_THAT(Tool(env->Step(Search("Varno AND ("))), HasSubstr("(id: varno)"));
  // Line breaks in the query are shown as spaces.
  EXPECT_THAT(Tool(env->Step(Search("Mara\nQuill"))),
              StartsWith("Search results for \"Mara Quill\""));
}

TEST(SearchEnvTest, OpenShowsPagesOfBoundedSize) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  const std::string p1 = Tool(env->Step(Open("long")));
  ASSERT_THAT(p1, StartsWith("long · Harbor Chronicle · page 1 of "));
  const int pages = std::stoi(p1.substr(p1.find(" of ") + 4));
  EXPECT_GE(pages, 3);
  EXPECT_THAT(p1, HasSubstr("\n\nHarbor Chronicle\n\nChapter 1 of the chronicle"));
  EXPECT_THAT(p1, HasSubstr(fmt::format("[page 1 of {}: open page 2 for more]", pages)));
  std::string all;
  for (int p = 1; p <= pages; ++p) {
    const std::string out = Tool(env->Step(Open("long", p)));
    const std::string header = fmt::format("long · Harbor Chronicle · page {} of {}\n\n", p, pages);
    ASSERT_THAT(out, StartsWith(header));
    std::string body = out.substr(header.size());
    if (p < pages) body = body.substr(0, body.rfind("\n[page"));
    EXPECT_LE(body.size(), 400u);
    all += body;
  }
  for (int i = 1; i <= 6; ++i) EXPECT_THAT(all, HasSubstr("Chapter " + std::to_string(i)));
  const std::string last = Tool(env->Step(Open("long", pages)));
  EXPECT_THAT(last, ::testing::Not(HasSubstr("open page")));
  // A short document has one page and no note.
  EXPECT_EQ(Tool(env->Step(Open("tars"))),
            "tars · Tarsville · page 1 of 1\n\nTarsville\n\nTarsville is a port town.\n\n"
            "Population: 41200");
}

TEST(SearchEnvTest, AgentMistakesAreObservationsNotErrors) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());
  auto unknown = env->Step(Open("nosuch"));
  EXPECT_EQ(
      Tool(unknown),
      "No document has the id \"nosuch\". Use an id that search showed, as in \"(id: ...)\".");
  EXPECT_TRUE(unknown->info.tool_calls[0].error);
  EXPECT_TRUE(unknown->info.format_ok);  // a well-formed call that failed

  // Ids longer than any term the index can hold, and odd bytes, are just unknown.
  for (const std::string& action :
       {Open(std::string(256, 'x')), Open(" "),
        std::string("<tool_call>{\"name\": \"open\", \"arguments\": {\"doc_id\": "
                    "\"\xff\xfe\"}}</tool_call>")}) {
    auto odd = env->Step(action);
    ASSERT_TRUE(odd.ok()) << odd.status().ToString();
    EXPECT_TRUE(odd->info.tool_calls.empty() || odd->info.tool_calls[0].error);
  }

  auto page = env->Step(Open("tars", 2));
  EXPECT_EQ(Tool(page), "Document tars has 1 page; there is no page 2.");
  EXPECT_TRUE(page->info.tool_calls[0].error);

  // Schema violations are malformed actions: nothing runs, the parser says what was wrong.
  for (const std::string& bad :
       {Call("search", {{"query", "Varno"}, {"k", 0}}),
        Call("search", {{"query", "Varno"}, {"k", 21}}), Call("search", {{"query", ""}}),
        Call("search", {{"k", 3}}),
        Call("search", {{"query", std::string(SearchEnv::kMaxQueryBytes + 1, 'a')}}),
        Call("open", {{"doc_id", "tars"}, {"page", 0}}), Call("open", {{"page", 1}}),
        Call("open", {{"doc_id", "tars"}, {"line", 3}}), Call("open", {{"doc_id", 7}}),
        Call("browse", {{"url", "x"}}), std::string("<tool_call>{\"name\": \"search\", ")}) {
    auto s = env->Step(bad);
    ASSERT_TRUE(s.ok()) << bad.substr(0, 80) << ": " << s.status().ToString();
    EXPECT_FALSE(s->info.format_ok) << bad;
    EXPECT_TRUE(s->info.tool_calls.empty()) << bad;
    EXPECT_FALSE(s->terminated);
  }
  // Prose without a call runs nothing and says how to act.
  auto prose = env->Step("search for Varno please");
  ASSERT_TRUE(prose.ok());
  EXPECT_TRUE(prose->info.tool_calls.empty());
  EXPECT_THAT(Tool(prose), HasSubstr("No tool call found"));
  // The episode goes on normally after all that.
  EXPECT_THAT(Tool(env->Step(Search("Varno"))), HasSubstr("(id: varno)"));
}

TEST(SearchEnvTest, OutputIsCutToTheToolsLimit) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = SearchTask(Inline());
    t.seed = seed;
    t.tool_limits["open"].max_output_bytes = 100;
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  const std::string out = Tool(env->Step(Open("long")));
  EXPECT_THAT(out, HasSubstr("[output truncated: 100 of "));
  EXPECT_LT(out.size(), 160u);
}

// Captures VerifyContext::env_state at every check, as the "retrieved" verifier sees it.
struct StateProbe {
  std::shared_ptr<json> last = std::make_shared<json>();
  std::shared_ptr<const Verifier> Check() const {
    auto sink = last;
    return std::make_shared<LambdaVerifier>([sink](VerifyContext& ctx) {
      *sink = ctx.env_state ? *ctx.env_state : json("no state");
      return VerifyResult{};
    });
  }
};

// A subgoal reached when `id` is in the state's `list`.
Subgoal InState(std::string name, std::string list, std::string id) {
  return {name, std::make_shared<LambdaVerifier>([list, id](VerifyContext& ctx) {
            VerifyResult r;
            if (ctx.env_state != nullptr)
              for (const json& x : (*ctx.env_state)[list]) r.passed = r.passed || x == id;
            r.score = r.passed;
            return r;
          })};
}

TEST(SearchEnvTest, EnvStateListsRetrievedAndOpenedDocumentsInOrder) {
  StateProbe probe;
  auto env = MakeEnv([&](std::uint64_t seed) {
    Task t = SearchTask(Inline());
    t.seed = seed;
    t.subgoals = {{"probe", probe.Check()}};
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  EXPECT_EQ(*probe.last,
            json({{"retrieved", json::array()}, {"opened", json::array()}, {"searches", 0}}));
  ASSERT_TRUE(env->Step(Search("Tarsville")).ok());
  ASSERT_EQ((*probe.last)["retrieved"][0], "tars");
  const json after_first = (*probe.last)["retrieved"];
  ASSERT_TRUE(env->Step(Search("Varno")).ok());
  ASSERT_TRUE(env->Step(Search("Tarsville")).ok());  // nothing new: first appearance counts
  ASSERT_TRUE(env->Step(Open("varno")).ok());
  ASSERT_TRUE(env->Step(Open("nosuch")).ok());  // failed opens are not recorded
  ASSERT_TRUE(env->Step(Open("varno", 1)).ok());
  ASSERT_TRUE(env->Step(Open("quill")).ok());
  json expected_retrieved = after_first;
  if (std::find(after_first.begin(), after_first.end(), json("varno")) == after_first.end())
    expected_retrieved.push_back("varno");
  EXPECT_EQ((*probe.last)["retrieved"], expected_retrieved);
  EXPECT_EQ((*probe.last)["opened"], json({"varno", "quill"}));
  EXPECT_EQ((*probe.last)["searches"], 3);
  // A new episode starts from nothing.
  ASSERT_TRUE(env->Reset(2).ok());
  EXPECT_EQ((*probe.last)["searches"], 0);
  EXPECT_TRUE((*probe.last)["opened"].empty());
}

TEST(SearchEnvTest, RetrievalSubgoalsShapeTheReward) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = SearchTask(Inline());
    t.seed = seed;
    t.reward.progress = 1.0;
    t.reward.tool_call_cost = 0.01;
    t.subgoals = {InState("found_varno", "retrieved", "varno"),
                  InState("read_varno", "opened", "varno")};
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  auto s1 = env->Step(Search("lamps"));
  EXPECT_THAT(Tool(s1), ::testing::Not(HasSubstr("(id: varno)")));
  EXPECT_DOUBLE_EQ(s1->info.reward_terms.at("progress"), 0);
  auto s2 = env->Step(Search("Varno"));
  EXPECT_DOUBLE_EQ(s2->info.reward_terms.at("progress"), 0.5);
  EXPECT_DOUBLE_EQ(s2->reward, 0.5 - 0.01);
  EXPECT_EQ(s2->info.subgoals_reached, (std::vector<std::string>{"found_varno"}));
  auto s3 = env->Step(Open("varno"));
  EXPECT_DOUBLE_EQ(s3->info.reward_terms.at("progress"), 0.5);
  EXPECT_DOUBLE_EQ(s3->info.potential, 1.0);
  auto s4 = env->Step(Call("submit", {{"answer", "1987"}}));
  EXPECT_TRUE(s4->terminated);
  EXPECT_TRUE(s4->info.outcome->passed);
  EXPECT_DOUBLE_EQ(s4->info.reward_terms.at("outcome"), 1.0);
}

TEST(SearchEnvTest, ForkIsIsolatedAndHasItsOwnIndex) {
  StateProbe probe;
  auto env = MakeEnv([&](std::uint64_t seed) {
    Task t = SearchTask(Inline());
    t.seed = seed;
    t.subgoals = {{"probe", probe.Check()}};
    return t;
  });
  ASSERT_TRUE(env->Reset(1).ok());
  ASSERT_TRUE(env->Step(Search("Varno")).ok());
  auto fork = env->Fork();
  ASSERT_TRUE(fork.ok()) << fork.status().ToString();
  // The fork continues the episode: same turn, same state.
  auto f1 = (*fork)->Step(Open("varno"));
  EXPECT_THAT(Tool(f1), StartsWith("varno · Varno Industries · page 1 of 1"));
  EXPECT_EQ(f1->info.turn, 2);
  EXPECT_EQ((*probe.last)["opened"], json({"varno"}));
  EXPECT_EQ((*probe.last)["searches"], 1);
  // The original did not open anything.
  auto o1 = env->Step(Search("Tarsville"));
  EXPECT_EQ(o1->info.turn, 2);
  EXPECT_TRUE((*probe.last)["opened"].empty());
  EXPECT_EQ((*probe.last)["searches"], 2);
  // Both keep working after the other is gone.
  env.reset();
  EXPECT_THAT(Tool((*fork)->Step(Search("Quill"))), HasSubstr("(id: quill)"));
  auto done = (*fork)->Step(Call("submit", {{"answer", "1987"}}));
  EXPECT_TRUE(done->info.outcome->passed);
}

json WorldOptions(std::uint64_t seed) {
  return {{"corpus", {{"world", {{"seed", seed}, {"entities", 30}, {"distractors", 10}}}}}};
}

TEST(SearchEnvTest, AGeneratedWorldIsTheCorpus) {
  auto env = MakeEnv(WorldOptions(5));
  auto r = env->Reset(1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(r->observation.messages[0].content, HasSubstr("a collection of 40 documents"));
  search::WorldOptions wo;
  wo.entities = 30;
  wo.distractors = 10;
  auto world = search::GenerateWorld(5, wo);
  ASSERT_TRUE(world.ok());
  const search::Document& d = world->documents[3];
  EXPECT_THAT(Tool(env->Step(Search(d.title))), HasSubstr(d.title + " (id: " + d.id + ")"));
  EXPECT_THAT(Tool(env->Step(Open(d.id))), HasSubstr(d.text.substr(0, 40)));
}

TEST(SearchEnvTest, SameSeedAndActionsGiveTheSameEpisode) {
  auto run = [] {
    auto env = MakeEnv(WorldOptions(9));
    std::vector<json> out;
    auto r = env->Reset(4);
    EXPECT_TRUE(r.ok());
    out.push_back(json(r->observation));
    for (const std::string& a : {Search("Industries", 10), Open("nosuch"), Search("festival"),
                                 Call("submit", {{"answer", "x"}})}) {
      auto s = env->Step(a);
      EXPECT_TRUE(s.ok());
      out.push_back({{"obs", s->observation},
                     {"reward", s->reward},
                     {"info", WithoutTimings(json(s->info))}});
    }
    return out;
  };
  const auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;
  EXPECT_THAT(a[1]["obs"][0]["content"].get<std::string>(), HasSubstr("\n2. "));
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/toolgym_search_env_XXXXXX";
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

std::string Jsonl(const json& docs) {
  std::string out;
  for (const json& d : docs) out += d.dump() + "\n";
  return out;
}

TEST(SearchEnvTest, AJsonlCorpusIsIndexedInMemoryRelativeToTheScenario) {
  TempDir dir;
  dir.Write("corpus.jsonl", Jsonl(SmallCorpus()));
  auto env = MakeEnv({{"corpus", {{"jsonl", "corpus.jsonl"}}}}, dir.path());
  ASSERT_TRUE(env->Reset(1).ok());
  EXPECT_THAT(Tool(env->Step(Search("Mara Quill"))), HasSubstr("1. Mara Quill (id: quill)"));
  // Nothing was written next to the corpus.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(SearchEnvTest, AnOnDiskIndexIsBuiltOnceThenOpened) {
  TempDir dir;
  dir.Write("corpus.jsonl", Jsonl(SmallCorpus()));
  const json options = {{"corpus", {{"jsonl", "corpus.jsonl"}, {"index", "corpus.index"}}}};
  auto first = MakeEnv(options, dir.path());
  ASSERT_TRUE(first->Reset(1).ok());
  ASSERT_TRUE(fs::is_directory(dir.path() + "/corpus.index"));
  EXPECT_THAT(Tool(first->Step(Search("Varno"))), HasSubstr("(id: varno)"));

  // A document added to the JSONL later is not seen: the index is opened, not rebuilt.
  json more = SmallCorpus();
  more.push_back({{"id", "zep"}, {"title", "Zeppelin"}, {"text", "An airship."}});
  dir.Write("corpus.jsonl", Jsonl(more));
  auto second = MakeEnv(options, dir.path());
  ASSERT_TRUE(second->Reset(1).ok());
  EXPECT_THAT(Tool(second->Step(Search("Zeppelin"))), StartsWith("No documents match"));
  EXPECT_THAT(Tool(second->Step(Search("Varno"))), HasSubstr("(id: varno)"));

  // Asking for other BM25 settings than the index was built with is refused, with the remedy.
  json other = options;
  other["search"] = {{"k1", 1.5}};
  auto third = MakeEnv(other, dir.path());
  auto r = third->Reset(1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("delete the index to rebuild it"));
  Task t = SearchTask(other, dir.path());
  auto problems = SearchEnv::Validate(t);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, dir.path() + "/corpus.index");
  EXPECT_THAT(problems[0].message, HasSubstr("k1 1.5"));
}

TEST(SearchEnvTest, ConcurrentFirstRunsBuildTheIndexOnceAndAllSucceed) {
  TempDir dir;
  json docs = SmallCorpus();
  for (int i = 0; i < 300; ++i)
    docs.push_back({{"id", "n" + std::to_string(i)},
                    {"title", "Note " + std::to_string(i)},
                    {"text", "A note about harbor number " + std::to_string(i) + "."}});
  dir.Write("corpus.jsonl", Jsonl(docs));
  const json options = {{"corpus", {{"jsonl", "corpus.jsonl"}, {"index", "idx"}}}};
  std::vector<std::string> outputs(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      auto env = MakeEnv(options, dir.path());
      auto r = env->Reset(1);
      if (!r.ok()) {
        outputs[i] = r.status().ToString();
        return;
      }
      outputs[i] = Tool(env->Step(Search("Tarsville")));
    });
  for (auto& t : threads) t.join();
  for (const std::string& out : outputs) EXPECT_THAT(out, HasSubstr("(id: tars)"));
  // The index and the corpus, no temporary directories left behind.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"corpus.jsonl", "idx"}));
}

// Validation errors: path under /options (or the corpus file) and what was expected.
std::vector<TaskError> Problems(json options, std::string base_dir = "") {
  return SearchEnv::Validate(SearchTask(std::move(options), std::move(base_dir)));
}

void ExpectProblem(const json& options, const std::string& path, const std::string& text) {
  auto p = Problems(options);
  ASSERT_FALSE(p.empty()) << options.dump();
  bool found = false;
  for (const TaskError& e : p)
    found = found || (e.path == path && e.message.find(text) != std::string::npos);
  EXPECT_TRUE(found) << options.dump() << " gave " << p[0].path << ": " << p[0].message;
}

TEST(SearchEnvTest, ValidateNamesEveryBadOptionByItsPath) {
  EXPECT_TRUE(Problems(Inline()).empty());
  EXPECT_TRUE(Problems(WorldOptions(1)).empty());
  ExpectProblem(json::object(), "/corpus", "the search env needs a corpus");
  ExpectProblem({{"corpus", {{"documents", SmallCorpus()}}}, {"pages", 3}}, "/pages",
                "unknown option 'pages'");
  ExpectProblem({{"corpus", {{"documents", SmallCorpus()}, {"world", {{"seed", 1}}}}}}, "/corpus",
                "exactly one of");
  ExpectProblem({{"corpus", "corpus.jsonl"}}, "/corpus", "expected {\"documents\"");
  json docs = SmallCorpus();
  docs[1]["id"] = "";
  ExpectProblem({{"corpus", {{"documents", docs}}}}, "/corpus/documents/1/id", "non-empty string");
  docs = SmallCorpus();
  docs[2]["id"] = "varno";
  ExpectProblem({{"corpus", {{"documents", docs}}}}, "/corpus/documents/2/id",
                "duplicate document id \"varno\"");
  docs = SmallCorpus();
  docs[0].erase("text");
  ExpectProblem({{"corpus", {{"documents", docs}}}}, "/corpus/documents/0/text", "found nothing");
  ExpectProblem({{"corpus", {{"documents", json::array()}}}}, "/corpus/documents", "non-empty");
  ExpectProblem({{"corpus", {{"world", {{"seed", -1}}}}}}, "/corpus/world/seed", "integer >= 0");
  ExpectProblem({{"corpus", {{"world", {{"seed", 1}, {"entities", 3}}}}}}, "/corpus/world/entities",
                "in [10, 20000], found 3");
  ExpectProblem({{"corpus", {{"world", {{"seed", 1}, {"size", 3}}}}}}, "/corpus/world/size",
                "unknown option");
  ExpectProblem({{"corpus", {{"documents", SmallCorpus()}}}, {"page_bytes", 10}}, "/page_bytes",
                "in [256, 65536], found 10");
  ExpectProblem(Inline({{"search", {{"k1", "high"}}}}), "/search/k1", "expected a number");
  ExpectProblem(Inline({{"search", {{"b", 2}}}}), "/search/b", "in [0, 1]");
  ExpectProblem(Inline({{"search", {{"stopwords", "yes"}}}}), "/search/stopwords", "true or false");
  ExpectProblem(Inline({{"search", {{"language", "klingon"}}}}), "/search", "klingon");
  ExpectProblem({{"corpus", {{"documents", SmallCorpus()}, {"index", "x"}}}}, "/corpus/index",
                "goes with \"jsonl\"");
}

TEST(SearchEnvTest, ValidateChecksTheCorpusFileAndNamesIt) {
  TempDir dir;
  auto missing = Problems({{"corpus", {{"jsonl", "nope.jsonl"}}}}, dir.path());
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].path, "/corpus/jsonl");
  EXPECT_THAT(missing[0].message, HasSubstr(dir.path() + "/nope.jsonl does not exist"));

  dir.Write("bad.jsonl",
            "{\"id\": \"a\", \"title\": \"A\", \"text\": \"x\"}\n{\"title\": \"B\"}\n");
  auto bad = Problems({{"corpus", {{"jsonl", "bad.jsonl"}}}}, dir.path());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].file, dir.path() + "/bad.jsonl");
  EXPECT_THAT(bad[0].message, HasSubstr(":2"));
  // The env refuses the episode with the same reason.
  auto env = MakeEnv({{"corpus", {{"jsonl", "bad.jsonl"}}}}, dir.path());
  EXPECT_FALSE(env->Reset(1).ok());
}

// The bring-your-own example next to the docs (docs/examples/byo_search/).
TEST(SearchEnvTest, TheBringYourOwnExampleCorpusWorks) {
  const std::string dir =
      (fs::path(__FILE__).parent_path() / "../../docs/examples/byo_search").lexically_normal();
  ASSERT_TRUE(fs::exists(dir + "/corpus.jsonl")) << dir;
  const json options = {{"corpus", {{"jsonl", "corpus.jsonl"}}}};
  EXPECT_TRUE(Problems(options, dir).empty());
  auto env = MakeEnv(options, dir);
  auto r = env->Reset(1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string out = Tool(env->Step(Search("Carrick Island")));
  EXPECT_THAT(out, HasSubstr("1. Carrick Island (id: isle-carrick)"));
  const std::string page = Tool(env->Step(Open("isle-carrick")));
  EXPECT_THAT(page, HasSubstr("Main town: Port Ellis"));
  // Its overview article is long enough to page through.
  EXPECT_THAT(Tool(env->Step(Open("merrow-isles"))), HasSubstr("page 1 of 2"));
}

}  // namespace
}  // namespace toolgym::envs
