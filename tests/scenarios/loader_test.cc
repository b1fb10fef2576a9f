// The scenario loader: every class of error it reports, each with the file, the JSON path, what
// was expected and what was found; a directory of bad files reports all of them; and the worked
// example of docs/scenarios.md loads and its expert solves it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/policy.h"
#include "agent/rollout.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"

namespace toolgym::scenarios {
namespace {

using nlohmann::json;

// A valid minimal scenario; each test breaks one thing.
json Valid() {
  return json::parse(R"({
    "id": "test.minimal", "version": "1", "env": "shell", "title": "Minimal",
    "instruction": "Submit the word {{ w }}.",
    "params": [{"name": "w", "gen": "choice", "values": ["alpha", "beta", "gamma"]},
               {"name": "n", "gen": "int", "min": 1, "max": 5}],
    "workspace": {"files": {"w.txt": "{{ w }}\n"}},
    "tools": ["bash", "submit"],
    "verifier": {"type": "exact", "expected": "{{ w }}"},
    "expert": [{"tool": "bash", "args": {"command": "cat w.txt"}},
               {"tool": "submit", "args": {"answer": "{{ obs.last | trim }}"}}],
    "budgets": {"max_turns": 5}
  })");
}

std::vector<LoadError> Load(const json& doc) {
  std::vector<LoadError> errors;
  auto s = Scenario::FromJson(doc, "case.json", &errors);
  if (errors.empty()) {
    EXPECT_NE(s, nullptr);
  }
  return errors;
}

// Expects exactly one error at `path` whose message contains every phrase.
void ExpectError(const json& doc, const std::string& path, std::vector<std::string> phrases) {
  auto errors = Load(doc);
  ASSERT_EQ(errors.size(), 1u) << [&] {
    std::string all;
    for (auto& e : errors) all += e.ToString() + "\n";
    return all;
  }();
  EXPECT_EQ(errors[0].file, "case.json");
  EXPECT_EQ(errors[0].path, path) << errors[0].ToString();
  for (const auto& p : phrases)
    EXPECT_NE(errors[0].message.find(p), std::string::npos)
        << "'" << p << "' not in: " << errors[0].message;
}

TEST(LoaderTest, TheValidScenarioLoadsAndInstantiates) {
  std::vector<LoadError> errors;
  auto s = Scenario::FromJson(Valid(), "case.json", &errors);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(s->difficulty(), 2);  // the expert's steps
  EXPECT_EQ(s->train_seeds().begin, 0u);
  auto t = s->MakeTask(5);
  ASSERT_TRUE(t.ok());
  const std::string w = t->params["w"].get<std::string>();
  EXPECT_EQ(t->instruction, "Submit the word " + w + ".");
  EXPECT_EQ(t->workspace.entries().at("w.txt").data, w + "\n");
  // Same seed, same task; the parameters depend on the seed.
  EXPECT_EQ(s->MakeTask(5)->params, t->params);
  std::set<std::string> words;
  for (int i = 0; i < 30; ++i) words.insert(s->MakeTask(i)->params["w"].get<std::string>());
  EXPECT_EQ(words.size(), 3u);
}

TEST(LoaderTest, StructuralErrors) {
  ExpectError(json::array(), "", {"expected a JSON object", "found an array"});
  json d = Valid();
  d.erase("title");
  ExpectError(d, "/title", {"missing required field 'title'"});
  d = Valid();
  d["titel"] = "x";
  ExpectError(d, "/titel", {"unknown field 'titel'", "expected one of", "title"});
  d = Valid();
  d["version"] = 3;
  ExpectError(d, "/version", {"expected a non-empty string", "found the integer 3"});
  d = Valid();
  d["id"] = "Has Spaces";
  ExpectError(d, "/id", {"dotted lowercase", "\"Has Spaces\""});
  d = Valid();
  d["env"] = "desktop";
  auto errors = Load(d);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "/env");
  EXPECT_NE(errors[0].message.find("unknown env kind \"desktop\""), std::string::npos);
  EXPECT_NE(errors[0].message.find("shell"), std::string::npos);
  d = Valid();
  d["answer"] = "yes";
  ExpectError(d, "/answer", {"expected true or false", "found the string \"yes\""});
  d = Valid();
  d["action_format"] = "xml";
  ExpectError(d, "/action_format", {"\"hermes\"", "found the string \"xml\""});
}

TEST(LoaderTest, ParameterErrors) {
  json d = Valid();
  d["params"][1]["gen"] = "integer";
  ExpectError(d, "/params/1/gen", {"unknown generator \"integer\"", "expected one of", "int"});
  d = Valid();
  d["params"][1]["maximum"] = 3;
  ExpectError(d, "/params/1/maximum", {"unknown argument 'maximum' for generator 'int'", "max"});
  d = Valid();
  d["params"][1].erase("max");
  ExpectError(d, "/params/1/max", {"missing required argument 'max' of generator 'int'"});
  d = Valid();
  d["params"][1]["name"] = "w";
  ExpectError(d, "/params/1/name", {"duplicate parameter name \"w\""});
  d = Valid();
  d["params"][1]["name"] = "obs";
  ExpectError(d, "/params/1/name", {"identifier other than obs and x"});
  d = Valid();
  d["params"] = {{"name", "w"}};
  auto not_a_list = Load(d);
  ASSERT_EQ(not_a_list.size(), 2u);  // and then the instruction's 'w' names no parameter
  EXPECT_EQ(not_a_list[0].path, "/params");
  EXPECT_NE(not_a_list[0].message.find("expected an array of parameters"), std::string::npos);
  // Values are checked by the generator when the first instances are made.
  d = Valid();
  d["params"][1]["min"] = 9;
  auto errors = Load(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("instance with seed 0 fails"), std::string::npos);
  EXPECT_NE(errors[0].message.find("/params/1 (n, generator int)"), std::string::npos)
      << errors[0].message;
}

TEST(LoaderTest, TemplateErrors) {
  json d = Valid();
  d["instruction"] = "Submit {{ word }}.";
  ExpectError(d, "/instruction", {"placeholder 'word' names no parameter", "w"});
  d = Valid();
  d["workspace"]["files"]["w.txt"] = "{{ w | nosuchfilter }}";
  auto errors = Load(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("/workspace/files/w.txt"), std::string::npos)
      << errors[0].message;
  EXPECT_NE(errors[0].message.find("nosuchfilter"), std::string::npos) << errors[0].message;
}

TEST(LoaderTest, ToolErrors) {
  json d = Valid();
  d["tools"] = {"bash", "submit", "browser"};
  ExpectError(d, "/tools/2", {"the shell env has no tool \"browser\"", "bash"});
  d = Valid();
  d["tools"] = {"bash"};
  ExpectError(d, "/tools", {"must include \"submit\""});
  d = Valid();
  d["tools"] = {{"bash", {{"timeout_s", -1}}}, {"submit", json::object()}};
  ExpectError(d, "/tools/bash", {"timeout_s", "(0, 600]"});
  d = Valid();
  d["tools"] = {{"bash", {{"timeout", 5}}}, {"submit", json::object()}};
  ExpectError(d, "/tools/bash", {"unknown tool setting", "timeout_s"});
}

TEST(LoaderTest, VerifierErrors) {
  json d = Valid();
  d["verifier"] = {{"type", "exactly"}, {"expected", "x"}};
  ExpectError(d, "/verifier/type", {"unknown verifier type \"exactly\"", "exact"});
  d = Valid();
  d["verifier"]["tolerance"] = 1;
  ExpectError(d, "/verifier/tolerance", {"unknown field 'tolerance' for verifier 'exact'"});
  d = Valid();
  d["verifier"] = {{"type", "numeric"}};
  ExpectError(d, "/verifier/expected", {"missing required field 'expected' of verifier 'numeric'"});
  d = Valid();
  d["verifier"] = {{"type", "regex"}, {"pattern", "(unclosed"}};
  auto errors = Load(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("/verifier"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].message.find("(unclosed"), std::string::npos) << errors[0].message;
  d = Valid();
  d["answer"] = false;
  d["end_on_goal"] = true;
  d["verifier"] = {{"type", "command"}, {"command", "test -f done"}};
  d["expert"] = {{{"tool", "bash"}, {"args", {{"command", "touch done"}}}}};
  errors = Load(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("cannot be checked after every step"), std::string::npos)
      << errors[0].message;
  d = Valid();
  d["subgoals"] = {{{"name", "ran"}, {"check", {{"type", "command"}, {"command", "true"}}}}};
  errors = Load(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("must not run commands"), std::string::npos);
  d = Valid();
  d["subgoals"] = {{{"name", "x"}}};
  ExpectError(d, "/subgoals/0/check", {"missing required field 'check'"});
}

TEST(LoaderTest, ExpertErrors) {
  json d = Valid();
  d["expert"][1]["args"]["answer"] = "{{ w }}x{{ n }}";
  ExpectError(d, "/expert/1/args", {"the expert uses 'n', which the agent is never shown"});
  d = Valid();
  d["expert"][0]["tool"] = "python";
  ExpectError(d, "/expert/0/tool", {"the shell env has no tool \"python\""});
  d = Valid();
  d["expert"] = {d["expert"][0]};
  ExpectError(d, "/expert", {"last step must be submit"});
  d = Valid();
  d["expert"][1]["extract"] = "[0-9]+";
  ExpectError(d, "/expert/1/extract", {"with a capture group"});
  d = Valid();
  d["expert"][1]["extract"] = "([0-9]+";
  ExpectError(d, "/expert/1/extract", {"invalid regular expression"});
  d = Valid();
  d["expert"][1]["args"]["answer"] = "{{ x }}";
  ExpectError(d, "/expert/1/args", {"uses x but has no \"extract\""});
  d = Valid();
  d["expert"] = {{"variants", json::array()}};
  ExpectError(d, "/expert", {"expected an array of steps or {\"variants\""});
  d = Valid();
  d["budgets"]["max_turns"] = 1;
  ExpectError(d, "/budgets/max_turns", {"the expert needs 2 turns"});
  // Declared expert knowledge may write state but never becomes an answer.
  d = Valid();
  d["expert_may_use"] = {"n"};
  d["expert"][1]["args"]["answer"] = "{{ n }}";
  ExpectError(d, "/expert/1/args", {"the expert uses 'n'"});
  d = Valid();
  d["expert_may_use"] = {"nope.path"};
  ExpectError(d, "/expert_may_use/0", {"expected a parameter path"});
}

TEST(LoaderTest, SeedRewardAndBudgetErrors) {
  json d = Valid();
  d["seeds"] = {{"train", {0, 100}}, {"test", {50, 200}}};
  ExpectError(d, "/seeds", {"overlap"});
  d = Valid();
  d["seeds"] = {{"train", {10, 5}}};
  ExpectError(d, "/seeds/train", {"begin < end", "found an array [10,5]"});
  d = Valid();
  d["reward"] = {{"tool_call_cost", -0.1}};
  ExpectError(d, "/reward/tool_call_cost", {"penalty magnitude >= 0"});
  d = Valid();
  d["reward"] = {{"tool_costs", {{"bash", -1}}}};
  ExpectError(d, "/reward/tool_costs/bash", {"expected a cost between 0 and 1e6", "-1"});
  d = Valid();
  d["reward"] = {{"tool_costs", {{"python", 0.1}}}};
  ExpectError(d, "/reward/tool_costs/python", {"does not allow a tool \"python\""});
  d = Valid();
  d["reward"] = {{"tool_costs", 0.1}};
  ExpectError(d, "/reward/tool_costs", {"expected an object of tool name -> cost"});
  d = Valid();
  d["reward"] = {{"sucess", 1}};
  ExpectError(d, "/reward/sucess", {"unknown field 'sucess'", "success"});
  d = Valid();
  d["budgets"]["max_turns"] = "ten";
  ExpectError(d, "/budgets/max_turns", {"expected an integer in [1, 1000]", "\"ten\""});
  d = Valid();
  d["workspace"]["files"]["w.txt"] = {{"content", "x"}, {"mode", "999"}};
  auto errors = Load(d);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("permission mode"), std::string::npos) << errors[0].message;
  d = Valid();
  d["env"] = "code";
  d["tools"] = {"python", "submit"};
  d["expert"] = {{{"tool", "python"}, {"args", {{"code", "print(1)"}}}}, {{"tool", "submit"}}};
  d["answer"] = false;
  ExpectError(d, "/public_tests", {"needs public tests"});
}

TEST(LoaderTest, SeveralErrorsInOneFileAreAllReported) {
  json d = Valid();
  d.erase("title");
  d["bogus"] = 1;
  d["params"][1]["gen"] = "nope";
  auto errors = Load(d);
  EXPECT_EQ(errors.size(), 3u);
}

TEST(LoaderTest, ADirectoryReportsEveryBadFileAndKeepsTheGoodOnes) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("toolgym_loader_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "sub");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
  };
  write("good.json", Valid().dump());
  write("broken.json", "{\"id\": \"x\",");
  json missing = Valid();
  missing["id"] = "test.other";
  missing.erase("verifier");
  write("sub/missing.json", missing.dump());
  json dup = Valid();
  write("sub/zdup.json", dup.dump());
  write("notes.txt", "not a scenario");
  ScenarioRegistry reg;
  auto errors = reg.Load(dir.string());
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].file.find("broken.json"), std::string::npos);
  EXPECT_NE(errors[0].message.find("not valid JSON"), std::string::npos);
  EXPECT_NE(errors[1].file.find("missing.json"), std::string::npos);
  EXPECT_EQ(errors[1].path, "/verifier");
  EXPECT_NE(errors[2].file.find("zdup.json"), std::string::npos);
  EXPECT_NE(errors[2].message.find("duplicate scenario id \"test.minimal\""), std::string::npos);
  EXPECT_EQ(reg.Ids(), std::vector<std::string>{"test.minimal"});
  std::filesystem::remove_all(dir);
  // A path that does not exist is an error too.
  EXPECT_EQ(reg.Load("/nonexistent/scenarios").size(), 1u);
}

TEST(LoaderTest, UnknownScenarioIdSuggestsCloseOnes) {
  ScenarioRegistry reg;
  std::vector<LoadError> errors;
  ASSERT_TRUE(reg.Add(Scenario::FromJson(Valid(), "case.json", &errors)).ok());
  auto env = reg.Make("test.minimall");
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.status().message().find("unknown scenario \"test.minimall\""), std::string::npos);
  auto bad_opts = reg.Make("test.minimal", {{"max_turn", 3}});
  ASSERT_FALSE(bad_opts.ok());
  EXPECT_NE(bad_opts.status().message().find("unknown env option 'max_turn'"), std::string::npos);
}

// docs/scenarios.md walks through docs/examples/fruit_count.json; it must load and be solvable.
TEST(LoaderTest, TheGuideExampleLoadsAndItsExpertSolvesIt) {
  ScenarioRegistry reg;
  auto errors = reg.Load(std::string(TOOLGYM_SOURCE_DIR) + "/docs/examples");
  for (const auto& e : errors) ADD_FAILURE() << e.ToString();
  auto env = reg.Make("example.fruit_count");
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  agent::ExpertPolicy expert;
  for (std::uint64_t seed : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10000, 10001, 10002, 10003, 10004}) {
    auto t = agent::RunEpisode(**env, expert, seed);
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(t->success) << "seed " << seed << ": " << t->error;
    // The subgoal (the agent saw the line) is reached on the first step: 0.2 progress.
    EXPECT_DOUBLE_EQ(t->steps[0].info["reward_terms"]["progress"].get<double>(), 0.2);
  }
}

}  // namespace
}  // namespace toolgym::scenarios
