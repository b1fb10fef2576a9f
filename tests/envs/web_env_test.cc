// The web env: tools, observations, the episode ending from a site effect, env_state for
// verifiers and subgoals, malformed actions, determinism, fork isolation, site files and the
// kind's validation hook. Tasks come from a C++ FakeSource with an inline site.
#include "envs/web_env.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "envs/info.h"
#include "envs/registry.h"
#include "tests/envs/env_test_util.h"

namespace toolgym::envs {
namespace {

using nlohmann::json;
using testing::FakeSource;
using testing::LambdaVerifier;

std::string Call(const std::string& name, const json& args) {
  return "<tool_call>" + json({{"name", name}, {"arguments", args}}).dump() + "</tool_call>";
}

// A two-product shop; the seed picks which product the task wants.
json ShopSite() {
  return json::parse(R"({
    "title": "Mini Shop", "start": "home", "viewport_lines": 8,
    "state": {"size": "", "bought": ""},
    "data": {"products": [{"id": "p1", "title": "Blue mug", "sizes": ["small", "large"]},
                          {"id": "p2", "title": "Green cup", "sizes": ["one size"]}]},
    "pages": {
      "home": {"title": "Home", "elements": [
        {"list": "{data.products}", "as": "p",
         "elements": [{"link": "{p.title}", "to": "product", "item": "{p.id}"}]}]},
      "product": {"title": "{item.title}", "item_of": "products", "elements": [
        {"select": "size", "label": "Size", "options": "{item.sizes}"},
        {"button": "Buy", "do": [
          {"check": {"not": {"empty": "{state.size}"}}, "error": "Pick a size"},
          {"set": "bought", "value": "{item.id}"},
          {"emit": "purchase", "value": {"id": "{item.id}", "size": "{state.size}"}},
          {"end": "purchased"}], "to": "thanks"}]},
      "thanks": {"title": "Thanks", "elements": [{"text": "Bought {state.bought}"}]}}})");
}

// Passes when the last purchase event is the wanted product.
std::shared_ptr<const Verifier> BoughtIs(std::string id) {
  return std::make_shared<LambdaVerifier>([id](VerifyContext& ctx) {
    VerifyResult r;
    const json* s = ctx.env_state;
    r.passed =
        s != nullptr && !(*s)["events"].empty() && (*s)["events"].back()["value"]["id"] == id;
    r.score = r.passed ? 1 : 0;
    return r;
  });
}

Task ShopTask(std::uint64_t seed) {
  Task t;
  t.scenario_id = "test.web";
  t.scenario_version = "1";
  t.seed = seed;
  t.split = "train";
  t.env_kind = "web";
  const std::string want = seed % 2 ? "p2" : "p1";
  t.instruction = "Buy product " + want;
  t.params = {{"want", want}};
  t.options = {{"site", ShopSite()}};
  t.tools = {"click", "type", "select", "back", "scroll", "submit"};
  t.requires_answer = false;
  t.verifier = BoughtIs(want);
  t.subgoals.push_back({"on_product", std::make_shared<LambdaVerifier>([](VerifyContext& ctx) {
                          VerifyResult r;
                          r.passed =
                              ctx.env_state != nullptr && (*ctx.env_state)["page"] == "product";
                          return r;
                        })});
  t.reward.progress = 0.5;
  t.reward.invalid_action = 0.1;
  t.budgets.max_turns = 10;
  return t;
}

std::unique_ptr<WebEnv> MakeEnv(std::function<Task(std::uint64_t)> make = ShopTask) {
  return std::make_unique<WebEnv>(std::make_shared<FakeSource>("web", std::move(make)),
                                  EnvOptions{});
}

const std::string& ToolText(const StatusOr<StepResult>& s, std::size_t i = 0) {
  return s->observation.messages.at(i).content;
}

TEST(WebEnvTest, ResetShowsTheToolsAndTheStartPage) {
  auto env = MakeEnv();
  auto r = env->Reset(0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The start page follows the instruction in the first user message.
  ASSERT_EQ(r->observation.messages.size(), 2u);
  EXPECT_EQ(r->observation.messages[0].role, "system");
  EXPECT_EQ(r->observation.messages[0].content.find("The browser shows"), std::string::npos);
  const std::string& user = r->observation.messages[1].content;
  EXPECT_EQ(user.rfind(env->task()->instruction + "\n\nThe browser shows:\n\n", 0), 0u) << user;
  EXPECT_NE(user.find("The browser shows:\n\nMini Shop | Home\n[1] link \"Blue mug\"\n"
                      "[2] link \"Green cup\"\n"),
            std::string::npos)
      << user;
  std::vector<std::string> names;
  for (const ToolSpec& t : env->Tools()) names.push_back(t.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"click", "type", "select", "back", "scroll", "submit"}));
  EXPECT_EQ(env->Tools().back().parameters["properties"], json::object());  // submit()
  EXPECT_EQ(env->task()->instruction, "Buy product p1");
}

TEST(WebEnvTest, BuyingEndsTheEpisodeWithTheSiteEndAndTheVerifierReadsEnvState) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(0).ok());
  auto s1 = env->Step(Call("click", {{"id", 1}}));
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(ToolText(s1),
            "Mini Shop | Blue mug\n[1] select \"Size\" value=\"\" options=[small, large]\n"
            "[2] button \"Buy\"\n");
  EXPECT_FALSE(s1->info.tool_calls[0].error);
  EXPECT_EQ(s1->info.subgoals_reached, std::vector<std::string>{"on_product"});
  EXPECT_DOUBLE_EQ(s1->reward, 0.5);  // progress: Φ 0 -> 1
  // A failed check is a normal page, not an error.
  auto s2 = env->Step(Call("click", {{"id", 2}}));
  EXPECT_FALSE(s2->info.tool_calls[0].error);
  EXPECT_NE(ToolText(s2).find("error \"Pick a size\""), std::string::npos);
  EXPECT_FALSE(s2->terminated);
  auto s3 = env->Step(Call("select", {{"id", 1}, {"option", "large"}}));
  EXPECT_NE(ToolText(s3).find("value=\"large\""), std::string::npos);
  auto s4 = env->Step(Call("click", {{"id", 2}}));
  ASSERT_TRUE(s4.ok());
  EXPECT_TRUE(s4->terminated);
  EXPECT_FALSE(s4->truncated);
  EXPECT_EQ(s4->info.end_reason, "site_end");
  EXPECT_EQ(ToolText(s4),
            "Mini Shop | Thanks\ntext \"Bought p1\"\nThe session is over (purchased).\n");
  ASSERT_TRUE(s4->info.outcome.has_value());
  EXPECT_TRUE(s4->info.outcome->passed);
  EXPECT_DOUBLE_EQ(s4->reward, 1.0);
  EXPECT_FALSE(env->active());
  EXPECT_FALSE(env->Step(Call("back", json::object())).ok());
}

TEST(WebEnvTest, BuyingTheWrongProductFails) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(1).ok());  // wants p2
  ASSERT_TRUE(env->Step(Call("click", {{"id", 1}})).ok());
  ASSERT_TRUE(env->Step(Call("select", {{"id", 1}, {"option", "small"}})).ok());
  auto s = env->Step(Call("click", {{"id", 2}}));
  EXPECT_TRUE(s->terminated);
  EXPECT_FALSE(s->info.outcome->passed);
  EXPECT_DOUBLE_EQ(s->reward, 0.0);  // outcome 0, progress 0 (Φ stays 1)
}

TEST(WebEnvTest, WrongActionsAreErrorObservationsWithThePage) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(0).ok());
  auto s = env->Step(Call("click", {{"id", 9}}));
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->info.tool_calls[0].error);
  EXPECT_TRUE(s->info.format_ok);
  EXPECT_EQ(ToolText(s),
            "Error: no element [9] on this page; ids go from [1] to [2]\n\n"
            "Mini Shop | Home\n[1] link \"Blue mug\"\n[2] link \"Green cup\"\n");
  s = env->Step(Call("type", {{"id", 1}, {"text", "x"}}));
  EXPECT_EQ(ToolText(s).substr(0, 60),
            "Error: [1] is a link; type() works on inputs (inputs on this");
  s = env->Step(Call("back", json::object()));
  EXPECT_NE(ToolText(s).find("Error: there is no previous page"), std::string::npos);
  s = env->Step(Call("scroll", {{"direction", "down"}}));
  EXPECT_NE(ToolText(s).find("Error: already at the bottom of the page"), std::string::npos);
  EXPECT_FALSE(s->terminated);
  EXPECT_EQ(s->info.turn, 4);
}

TEST(WebEnvTest, MalformedActionsArePenalizedNotRun) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(0).ok());
  for (const std::string& action :
       {Call("click", {{"id", "first"}}), Call("click", json::object()),
        Call("scroll", {{"direction", "sideways"}}),
        Call("type", {{"id", 1}, {"text", std::string(1001, 'a')}}),
        Call("navigate", {{"url", "http://x"}}), std::string("<tool_call>{\"name\": \"click\""),
        Call("click", {{"id", 0}})}) {
    auto s = env->Step(action);
    ASSERT_TRUE(s.ok()) << action;
    EXPECT_FALSE(s->info.format_ok) << action;
    EXPECT_TRUE(s->info.tool_calls.empty()) << action;
    EXPECT_DOUBLE_EQ(s->reward, -0.1) << action;
    EXPECT_EQ(env->browser()->page(), "home");
  }
}

TEST(WebEnvTest, EnvStateIsTheBrowserSnapshot) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(0).ok());
  ASSERT_TRUE(env->Step(Call("click", {{"id", 2}})).ok());
  ASSERT_TRUE(env->Step(Call("select", {{"id", 1}, {"option", "one size"}})).ok());
  EXPECT_EQ(env->browser()->Snapshot(), json::parse(R"({"page": "product", "item": "p2",
      "state": {"size": "one size", "bought": ""}, "data": {}, "events": [],
      "history": ["home", "product"]})"));
}

TEST(WebEnvTest, Determinism) {
  const std::vector<std::string> actions = {Call("click", {{"id", 2}}),
                                            "nonsense",
                                            Call("click", {{"id", 2}}),
                                            Call("select", {{"id", 1}, {"option", "ONE SIZE"}}),
                                            Call("back", json::object()),
                                            Call("click", {{"id", 2}}),
                                            Call("select", {{"id", 1}, {"option", "one size"}}),
                                            Call("click", {{"id", 2}})};
  auto run = [&] {
    auto env = MakeEnv();
    std::vector<json> out;
    auto r = env->Reset(1);
    out.push_back({{"obs", r->observation}, {"info", WithoutTimings(json(r->info))}});
    for (const auto& a : actions) {
      auto s = env->Step(a);
      out.push_back({{"obs", s->observation},
                     {"reward", s->reward},
                     {"term", s->terminated},
                     {"info", WithoutTimings(json(s->info))}});
    }
    return out;
  };
  auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;
  EXPECT_EQ(a.back()["term"], true);
  EXPECT_EQ(a.back()["info"]["outcome"]["passed"], true);
}

TEST(WebEnvTest, ForkIsolation) {
  auto env = MakeEnv();
  ASSERT_TRUE(env->Reset(0).ok());
  ASSERT_TRUE(env->Step(Call("click", {{"id", 1}})).ok());
  auto forked = env->Fork();
  ASSERT_TRUE(forked.ok()) << forked.status().ToString();
  Env& fork = **forked;
  // The fork buys; the original goes back and is still mid-episode on its own page.
  ASSERT_TRUE(fork.Step(Call("select", {{"id", 1}, {"option", "small"}})).ok());
  auto fb = fork.Step(Call("click", {{"id", 2}}));
  EXPECT_TRUE(fb->terminated);
  EXPECT_TRUE(fb->info.outcome->passed);
  EXPECT_EQ(fb->info.turn, 3);
  auto ob = env->Step(Call("back", json::object()));
  EXPECT_EQ(ToolText(ob), "Mini Shop | Home\n[1] link \"Blue mug\"\n[2] link \"Green cup\"\n");
  EXPECT_TRUE(env->active());
  auto* original = env.get();
  EXPECT_EQ(original->browser()->state()["size"], "");
  EXPECT_EQ(original->browser()->events(), json::array());
}

TEST(WebEnvTest, SubmitWithAnAnswer) {
  auto env = MakeEnv([](std::uint64_t seed) {
    Task t = ShopTask(seed);
    t.requires_answer = true;
    t.verifier = testing::AnswerIs("2");
    t.subgoals.clear();
    return t;
  });
  ASSERT_TRUE(env->Reset(0).ok());
  EXPECT_EQ(env->Tools().back().parameters["required"], json::array({"answer"}));
  auto s = env->Step(Call("submit", {{"answer", "2"}}));
  EXPECT_TRUE(s->terminated);
  EXPECT_EQ(s->info.end_reason, "answer_submitted");
  EXPECT_TRUE(s->info.outcome->passed);
}

TEST(WebEnvTest, SiteFilesResolveFromTheBaseDirAndAreParsedOnce) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "web_env_site";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "shop.json") << ShopSite().dump(); }
  auto make = [&](std::uint64_t seed) {
    Task t = ShopTask(seed);
    t.options = {{"site", "shop.json"}};
    t.base_dir = dir.string();
    return t;
  };
  auto env = MakeEnv(make);
  ASSERT_TRUE(env->Reset(0).ok());
  const web::Site* first = &env->browser()->site();
  ASSERT_TRUE(env->Reset(1).ok());
  EXPECT_EQ(&env->browser()->site(), first);  // cached by path
  auto s = env->Step(Call("click", {{"id", 2}}));
  EXPECT_EQ(env->browser()->page(), "product");
  EXPECT_TRUE(WebEnv::Validate(make(0)).empty());
}

TEST(WebEnvTest, ValidationNamesTheFileAndThePath) {
  Task inline_bad = ShopTask(0);
  inline_bad.options["site"]["pages"]["home"]["elements"][0]["elements"][0]["to"] = "prodcut";
  auto errors = WebEnv::Validate(inline_bad);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "");
  EXPECT_EQ(errors[0].path, "/site/pages/home/elements/0/elements/0/to");
  EXPECT_EQ(errors[0].message, "unknown page \"prodcut\"; pages: home, product, thanks");

  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "web_env_bad";
  std::filesystem::create_directories(dir);
  {
    json site = ShopSite();
    site["state"].erase("size");
    std::ofstream(dir / "bad.json") << site.dump();
  }
  Task file_bad = ShopTask(0);
  file_bad.options = {{"site", "bad.json"}};
  file_bad.base_dir = dir.string();
  errors = WebEnv::Validate(file_bad);
  ASSERT_GE(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, (dir / "bad.json").string());
  EXPECT_EQ(errors[0].path, "/pages/product/elements/0/select");
  EXPECT_NE(errors[0].message.find("unknown state variable \"size\""), std::string::npos);

  Task none = ShopTask(0);
  none.options = {{"sight", "x.json"}};
  errors = WebEnv::Validate(none);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "");
  EXPECT_NE(errors[0].message.find("the web env needs options {\"site\""), std::string::npos);

  Task missing = ShopTask(0);
  missing.options = {{"site", "no_such_site.json"}, {"colour", 1}};
  missing.base_dir = dir.string();
  errors = WebEnv::Validate(missing);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "/colour");
  EXPECT_EQ(errors[1].file, (dir / "no_such_site.json").string());
  EXPECT_EQ(errors[1].message, "cannot open the site file");

  // A reset of a task with a broken site is an error of Reset, naming the problem.
  auto env = MakeEnv([&](std::uint64_t) { return inline_bad; });
  auto r = env->Reset(0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("options: /options/site/pages/home/elements/0/elements/0/to"),
            std::string::npos)
      << r.status().message();
}

TEST(WebEnvTest, RegisteredAsAKindWithValidation) {
  const EnvKind* k = FindEnvKind("web");
  ASSERT_NE(k, nullptr);
  ASSERT_TRUE(static_cast<bool>(k->validate));
  EXPECT_TRUE(k->validate(ShopTask(0)).empty());
  Task bad = ShopTask(0);
  bad.options = json::object();
  EXPECT_EQ(k->validate(bad).size(), 1u);
  auto env = ::toolgym::envs::MakeEnv(std::make_shared<FakeSource>("web", ShopTask));
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE((*env)->Reset(3).ok());
  EXPECT_EQ((*env)->Tools().size(), 6u);
}

}  // namespace
}  // namespace toolgym::envs
