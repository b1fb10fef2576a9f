// The worked example of docs/scenarios.md ("Write a custom site"): docs/examples/sites/
// acme_shop.json and the scenario acme_shop_task.json that uses it load, the expert solves every
// sampled instance, a random agent rarely does, and a broken site file is reported with its own
// file name and JSON path when the scenario loads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/policy.h"
#include "agent/rollout.h"
#include "envs/registry.h"
#include "scenarios/scenario.h"

namespace toolgym::web {
namespace {

using nlohmann::json;

const std::string kDir = std::string(TOOLGYM_SOURCE_DIR) + "/docs/examples/sites";

std::shared_ptr<const scenarios::Scenario> LoadExample(const std::string& path) {
  std::vector<scenarios::LoadError> errors;
  auto s = scenarios::Scenario::FromFile(path, &errors);
  std::string all;
  for (const auto& e : errors) all += e.ToString() + "\n";
  EXPECT_NE(s, nullptr) << all;
  return s;
}

TEST(ExampleSiteTest, ExpertSolvesEveryInstanceOfTheSample) {
  auto s = LoadExample(kDir + "/acme_shop_task.json");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->env_kind(), "web");
  auto env = envs::MakeEnv(s);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  agent::ExpertPolicy expert;
  int solved = 0;
  for (const auto& range : {s->train_seeds(), s->test_seeds()}) {
    for (std::uint64_t i = 0; i < 12; ++i) {
      const std::uint64_t seed = range.begin + i * 7;
      auto t = agent::RunEpisode(**env, expert, seed);
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_TRUE(t->error.empty()) << "seed " << seed << ": " << t->error;
      EXPECT_TRUE(t->success) << "seed " << seed << ":\n" << json(t->Conversation()).dump(1);
      ASSERT_FALSE(t->steps.empty());
      EXPECT_EQ(t->steps.back().info["end_reason"], "site_end");
      for (const auto& st : t->steps) EXPECT_TRUE(st.info["format_ok"].get<bool>());
      solved += t->success;
    }
  }
  EXPECT_EQ(solved, 24);
}

TEST(ExampleSiteTest, RandomPolicyRarelySolves) {
  auto s = LoadExample(kDir + "/acme_shop_task.json");
  ASSERT_NE(s, nullptr);
  auto env = envs::MakeEnv(s);
  ASSERT_TRUE(env.ok());
  agent::RandomPolicy random(3);
  int solved = 0;
  for (std::uint64_t i = 0; i < 20; ++i) {
    auto t = agent::RunEpisode(**env, random, s->test_seeds().begin + i);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    solved += t->success;
  }
  EXPECT_LE(solved, 2);
}

TEST(ExampleSiteTest, ABrokenSiteFileIsReportedWithItsFileAndPath) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "example_site";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kDir + "/acme_shop_task.json", dir / "acme_shop_task.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::ifstream in(kDir + "/acme_shop.json");
  json site = json::parse(in);
  site["pages"]["cart"]["elements"][5]["to"] = "don";
  std::ofstream(dir / "acme_shop.json") << site.dump(1);
  std::vector<scenarios::LoadError> errors;
  EXPECT_EQ(scenarios::Scenario::FromFile((dir / "acme_shop_task.json").string(), &errors),
            nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, (dir / "acme_shop.json").string());
  EXPECT_EQ(errors[0].path, "/pages/cart/elements/5/to");
  EXPECT_NE(errors[0].message.find("unknown page \"don\"; pages: cart, done, home, product, "
                                   "results"),
            std::string::npos)
      << errors[0].message;
}

}  // namespace
}  // namespace toolgym::web
