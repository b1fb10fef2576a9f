// The web site generators (scenarios/generators_web.cc): every generated site passes the site
// engine's validation; the same seed gives the same site (golden hashes); the goal singles out
// exactly one product / article / user; the shop's distractors differ from the goal the way each
// level says; the sites behave as the experts assume when browsed (a search with the price filter
// puts the target first, a filled-in form emits the expected order, the wiki's linked article
// holds the answer); and the seed ranges give well over 1,000 distinct instances.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "scenarios/generators.h"
#include "scenarios/rng.h"
#include "web/site.h"

namespace toolgym::scenarios {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

json Gen(const json& spec, std::uint64_t seed) {
  Rng rng(seed);
  auto r = GeneratorRegistry::Default().Generate(spec, rng);
  EXPECT_TRUE(r.ok()) << spec.dump() << " seed " << seed << ": " << r.status().ToString();
  return r.ok() ? *r : json();
}

std::string GenError(const json& spec) {
  Rng rng(1);
  auto r = GeneratorRegistry::Default().Generate(spec, rng);
  EXPECT_FALSE(r.ok()) << spec.dump();
  return r.ok() ? "" : r.status().message();
}

std::shared_ptr<const web::Site> Compile(const json& site, const std::string& what) {
  std::vector<web::SiteError> errors;
  auto s = web::Site::FromJson(site, what, &errors);
  for (const auto& e : errors) ADD_FAILURE() << e.ToString();
  return s;
}

json Shop(const std::string& level, std::uint64_t seed) {
  return Gen({{"gen", "web_shop"}, {"level", level}}, seed);
}

bool HasAll(const json& have, const json& want) {
  for (const json& w : want)
    if (std::find(have.begin(), have.end(), w) == have.end()) return false;
  return true;
}

// The products a WebShop goal is fully met by: type, every attribute, price, every option on
// offer.
std::vector<std::string> Meeting(const json& shop) {
  const json& g = shop["goal"];
  std::vector<std::string> ids;
  for (const json& p : shop["site"]["data"]["products"]) {
    bool ok = p["category"] == g["type"] && HasAll(p["attributes"], g["attributes"]) &&
              p["price"].get<double>() <= g["price_max"].get<double>();
    for (const auto& [name, value] : g["options"].items()) {
      const json& offered = p["options"][name];
      ok = ok && std::find(offered.begin(), offered.end(), value) != offered.end();
    }
    if (ok) ids.push_back(p["id"].get<std::string>());
  }
  return ids;
}

// The id of the first interactive element whose kind and label match, or 0.
int IdOf(const web::Browser& b, const std::string& kind, const std::string& label) {
  for (const web::ElementRef& e : b.Elements())
    if (e.kind == kind && e.label == label) return e.id;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// All generators

const std::vector<json>& Specs() {
  static const std::vector<json> kSpecs = {
      {{"gen", "web_shop"}, {"level", "easy"}},
      {{"gen", "web_shop"}, {"level", "medium"}},
      {{"gen", "web_shop"}, {"level", "hard"}},
      {{"gen", "web_form"}},
      {{"gen", "web_wiki"}},
      {{"gen", "web_admin"}},
  };
  return kSpecs;
}

TEST(WebGeneratorsTest, AreRegistered) {
  for (const char* name : {"web_shop", "web_form", "web_wiki", "web_admin"}) {
    const GeneratorInfo* info = GeneratorRegistry::Default().Find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_FALSE(info->summary.empty());
  }
}

TEST(WebGeneratorsTest, EveryGeneratedSiteValidates) {
  for (const json& spec : Specs()) {
    for (std::uint64_t seed = 0; seed < 150; ++seed) {
      json v = Gen(spec, seed);
      ASSERT_TRUE(v.contains("site")) << spec.dump();
      auto site = Compile(v["site"], spec.dump() + " seed " + std::to_string(seed));
      ASSERT_NE(site, nullptr) << spec.dump() << " seed " << seed;
      // The start page renders and numbers its elements from 1.
      web::Browser b(site);
      EXPECT_THAT(b.Render(), HasSubstr("[1] ")) << spec.dump();
    }
  }
}

TEST(WebGeneratorsTest, SameSeedSameSiteAndGoldenHashes) {
  // Pinned so that an accidental change to any draw shows; a deliberate change updates these
  // values and bumps the version of the web suites.
  const std::map<std::string, std::uint64_t> golden = {
      {"web_shop/easy", 0x21344a990c48b252ull}, {"web_shop/medium", 0x186f48f00bb568aull},
      {"web_shop/hard", 0x963e975c2b8cfd47ull}, {"web_form/", 0xdecb7b9d3776bc9full},
      {"web_wiki/", 0x8f7ce9cff0db3c5bull},     {"web_admin/", 0xecc115fef746166aull},
  };
  for (const json& spec : Specs()) {
    const std::string key =
        spec["gen"].get<std::string>() + "/" + spec.value("level", std::string());
    const std::string a = Gen(spec, 42).dump();
    EXPECT_EQ(a, Gen(spec, 42).dump()) << key;
    EXPECT_NE(a, Gen(spec, 43).dump()) << key;
    EXPECT_EQ(Fnv1a64(a), golden.at(key)) << key << std::hex << " 0x" << Fnv1a64(a);
  }
}

TEST(WebGeneratorsTest, ArgumentErrorsNameTheArgument) {
  EXPECT_THAT(GenError({{"gen", "web_shop"}, {"level", "expert"}}),
              HasSubstr("'level' must be one of easy, medium, hard, got \"expert\""));
  EXPECT_THAT(GenError({{"gen", "web_shop"}, {"products", 2}}),
              HasSubstr("'products' must be in [4, 200], got 2"));
  EXPECT_THAT(GenError({{"gen", "web_shop"}, {"viewport", 3}}),
              HasSubstr("'viewport' must be in [10, 200], got 3"));
  EXPECT_THAT(GenError({{"gen", "web_wiki"}, {"people", {{"min", 5}, {"max", 4}}}}),
              HasSubstr("'people.max' must be >= 'people.min'"));
  EXPECT_THAT(GenError({{"gen", "web_admin"}, {"users", 1}}),
              HasSubstr("'users' must be in [3, 40], got 1"));
  EXPECT_THAT(GenError({{"gen", "web_form"}, {"shuffle", "maybe"}}),
              HasSubstr("'shuffle' must be true or false"));
}

TEST(WebGeneratorsTest, SeedRangesGiveOverAThousandDistinctInstances) {
  // What an instance shows the agent: the goal (and so the instruction) and the site.
  for (const json& spec : Specs()) {
    std::set<std::uint64_t> goals, sites;
    for (std::uint64_t seed = 0; seed < 1200; ++seed) {
      json v = Gen(spec, seed * 10);  // spread over the train and test ranges
      sites.insert(Fnv1a64(v["site"].dump()));
      json g = v;
      g.erase("site");
      goals.insert(Fnv1a64(g.dump()));
    }
    EXPECT_EQ(sites.size(), 1200u) << spec.dump();
    EXPECT_GE(goals.size(), 1150u) << spec.dump();
  }
}

// ---------------------------------------------------------------------------------------------
// web_shop

TEST(WebShopTest, TheGoalProductExistsAndIsUnique) {
  for (const char* level : {"easy", "medium", "hard"}) {
    for (std::uint64_t seed = 0; seed < 300; ++seed) {
      json v = Shop(level, seed);
      EXPECT_EQ(Meeting(v), std::vector<std::string>{v["target"].get<std::string>()})
          << level << " seed " << seed;
      // Nothing else of the type with every attribute is within the cap, whatever its options:
      // the results page alone can single it out.
      int close = 0;
      for (const json& p : v["site"]["data"]["products"])
        close += p["category"] == v["goal"]["type"] &&
                 HasAll(p["attributes"], v["goal"]["attributes"]) &&
                 p["price"].get<double>() <= v["goal"]["price_max"].get<double>();
      EXPECT_EQ(close, 1) << level << " seed " << seed;
    }
  }
}

TEST(WebShopTest, DistractorsDifferAsEachLevelSays) {
  struct Want {
    int min_products, max_products, attrs_min, attrs_max, options, missing, over, other;
  };
  const std::map<std::string, Want> want = {{"easy", {6, 8, 1, 1, 1, 0, 0, 0}},
                                            {"medium", {16, 22, 2, 2, 2, 2, 2, 1}},
                                            {"hard", {40, 56, 2, 3, 3, 4, 3, 2}}};
  for (const auto& [level, w] : want) {
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
      json v = Shop(level, seed);
      const json& g = v["goal"];
      const json& products = v["site"]["data"]["products"];
      const double cap = g["price_max"].get<double>();
      ASSERT_GE(static_cast<int>(products.size()), w.min_products) << level;
      ASSERT_LE(static_cast<int>(products.size()), w.max_products) << level;
      ASSERT_GE(static_cast<int>(g["attributes"].size()), w.attrs_min) << level;
      ASSERT_LE(static_cast<int>(g["attributes"].size()), w.attrs_max) << level;
      ASSERT_EQ(static_cast<int>(g["options"].size()), w.options) << level;
      std::map<std::string, int> roles;
      for (const json& p : products) {
        const std::string role = v["roles"][p["id"].get<std::string>()];
        ++roles[role];
        const bool same_type = p["category"] == g["type"];
        int missing = 0;
        for (const json& a : g["attributes"])
          missing +=
              std::find(p["attributes"].begin(), p["attributes"].end(), a) == p["attributes"].end();
        const double price = p["price"].get<double>();
        // Every product offers exactly the goal's number of options.
        int dims = 0;
        for (const auto& [name, values] : p["options"].items()) dims += !values.empty();
        EXPECT_EQ(dims, w.options) << level << " seed " << seed << " " << p["id"];
        bool offers_goal_options = true;
        for (const auto& [name, value] : g["options"].items()) {
          const json& offered = p["options"][name];
          offers_goal_options = offers_goal_options &&
                                std::find(offered.begin(), offered.end(), value) != offered.end();
        }
        if (role == "missing_attribute" || role == "over_price") {
          EXPECT_TRUE(offers_goal_options) << "close distractors offer the goal's options";
        }
        if (role == "missing_attribute") {
          EXPECT_TRUE(same_type);
          EXPECT_EQ(missing, 1) << p.dump();
          EXPECT_LE(price, cap);
        } else if (role == "over_price") {
          EXPECT_TRUE(same_type);
          EXPECT_EQ(missing, 0);
          EXPECT_GT(price, cap);
        } else if (role == "other_type") {
          EXPECT_FALSE(same_type);
          EXPECT_EQ(p["department"], g["department"]);
          EXPECT_EQ(missing, 0);
          EXPECT_LE(price, cap);
        } else if (role == "filler") {
          EXPECT_FALSE(same_type) << "fillers never have the goal's type";
        } else {
          EXPECT_EQ(role, "target");
          EXPECT_TRUE(same_type);
          EXPECT_EQ(missing, 0);
          EXPECT_LE(price, cap);
        }
      }
      EXPECT_EQ(roles["target"], 1);
      EXPECT_EQ(roles["missing_attribute"], w.missing) << level;
      EXPECT_EQ(roles["over_price"], w.over) << level;
      EXPECT_EQ(roles["other_type"], w.other) << level;
      if (level == "easy") {
        int of_type = 0;
        for (const json& p : products) of_type += p["category"] == g["type"];
        EXPECT_EQ(of_type, 1) << "the easy target is the only product of its type";
      }
    }
  }
}

// Browses the generated shop the way the expert does and returns the browser at the end.
web::Browser SearchWithPriceFilter(const json& v) {
  web::Browser b(Compile(v["site"], "shop"));
  EXPECT_TRUE(b.Type(IdOf(b, "input", "Search"), v["query"].get<std::string>()).ok);
  EXPECT_TRUE(b.Click(IdOf(b, "button", "Search")).ok);
  EXPECT_EQ(b.page(), "results");
  EXPECT_TRUE(b.Type(IdOf(b, "input", "Max price"), v["goal"]["price_max"].dump()).ok);
  return b;
}

TEST(WebShopTest, ASearchWithThePriceFilterListsTheTargetFirstInView) {
  for (const char* level : {"easy", "medium", "hard"}) {
    for (std::uint64_t seed = 0; seed < 60; ++seed) {
      json v = Shop(level, seed);
      web::Browser b = SearchWithPriceFilter(v);
      std::vector<web::ElementRef> links;
      for (const auto& e : b.Elements())
        if (e.kind == "link" && e.label != "Home" && e.label != "Cart") links.push_back(e);
      ASSERT_FALSE(links.empty()) << level << " seed " << seed;
      EXPECT_EQ(links[0].label, v["target_title"]) << level << " seed " << seed;
      // Shown in the first screen, not only reachable by id.
      EXPECT_THAT(b.Render(), HasSubstr("link \"" + v["target_title"].get<std::string>() + "\""));
    }
  }
}

TEST(WebShopTest, BuyingTheTargetEmitsThePurchaseAndEnds) {
  json v = Shop("medium", 5);
  web::Browser b = SearchWithPriceFilter(v);
  ASSERT_TRUE(b.Click(IdOf(b, "link", v["target_title"])).ok);
  EXPECT_EQ(b.page(), "product");
  EXPECT_EQ(b.item(), v["target"].get<std::string>());
  // Buying before choosing the options is refused with one error per option.
  web::ActionResult early = b.Click(IdOf(b, "button", "Buy now"));
  EXPECT_FALSE(early.ended);
  EXPECT_THAT(b.Render(), HasSubstr("error \"Please choose a "));
  for (const json& o : v["opts"]) {
    ASSERT_TRUE(b.Select(IdOf(b, "select", o["name"]), o["value"]).ok) << o.dump();
  }
  web::ActionResult r = b.Click(IdOf(b, "button", "Buy now"));
  EXPECT_TRUE(r.ended);
  ASSERT_EQ(b.events().size(), 1u);
  const json& e = b.events()[0];
  EXPECT_EQ(e["event"], "purchase");
  EXPECT_EQ(e["value"]["product"], v["target"]);
  EXPECT_EQ(e["value"]["category"], v["goal"]["type"]);
  for (const auto& [name, value] : v["goal"]["options"].items())
    EXPECT_EQ(e["value"]["options"][name], value) << name;
  EXPECT_LE(e["value"]["price"].get<double>(), v["goal"]["price_max"].get<double>());
}

// ---------------------------------------------------------------------------------------------
// web_form

// Signs in and fills the address with the generated values; `postcode` overrides it.
void FillForm(web::Browser& b, const json& v, const std::string& postcode) {
  ASSERT_TRUE(b.Type(IdOf(b, "input", "Email"), v["email"]).ok);
  ASSERT_TRUE(b.Type(IdOf(b, "input", "Password"), v["password"]).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "button", "Sign in")).ok);
  ASSERT_EQ(b.page(), "address") << b.Render();
  ASSERT_TRUE(b.Type(IdOf(b, "input", "Full name"), v["name"]).ok);
  ASSERT_TRUE(b.Type(IdOf(b, "input", "Street and number"), v["street"]).ok);
  ASSERT_TRUE(b.Type(IdOf(b, "input", "City"), v["city"]).ok);
  ASSERT_TRUE(b.Type(IdOf(b, "input", "Phone"), v["phone"]).ok);
  ASSERT_TRUE(b.Select(IdOf(b, "select", "Country"), v["country"]).ok);
  ASSERT_TRUE(b.Type(IdOf(b, "input", "Postcode"), postcode).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "button", "Continue")).ok);
}

TEST(WebFormTest, TheInstructedValuesSubmitTheExpectedOrder) {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    json v = Gen({{"gen", "web_form"}}, seed);
    web::Browser b(Compile(v["site"], "form"));
    FillForm(b, v, v["postcode"]);
    ASSERT_EQ(b.page(), "delivery") << "seed " << seed << "\n" << b.Render();
    ASSERT_TRUE(b.Select(IdOf(b, "select", "Delivery option"), v["delivery"]).ok);
    ASSERT_TRUE(b.Click(IdOf(b, "button", "Continue")).ok);
    ASSERT_EQ(b.page(), "review");
    // The terms must be accepted: the order is refused until the box is ticked.
    EXPECT_FALSE(b.Click(IdOf(b, "button", "Place order")).ended);
    EXPECT_THAT(b.Render(), HasSubstr("error \"Please accept the terms and conditions.\""));
    ASSERT_TRUE(b.Click(IdOf(b, "checkbox", "I accept the terms and conditions")).ok);
    web::ActionResult r = b.Click(IdOf(b, "button", "Place order"));
    EXPECT_TRUE(r.ended);
    ASSERT_EQ(b.events().size(), 1u);
    EXPECT_EQ(b.events()[0]["event"], "order_submitted");
    EXPECT_EQ(b.events()[0]["value"], v["expected"]) << "seed " << seed;
  }
}

TEST(WebFormTest, ValidationRejectsBadInputWithMessages) {
  json v = Gen({{"gen", "web_form"}}, 3);
  {
    web::Browser b(Compile(v["site"], "form"));
    ASSERT_TRUE(b.Type(IdOf(b, "input", "Email"), "not-an-email").ok);
    ASSERT_TRUE(b.Click(IdOf(b, "button", "Sign in")).ok);
    EXPECT_EQ(b.page(), "signin");
    EXPECT_THAT(b.Render(), HasSubstr("error \"Enter a valid email address.\""));
    EXPECT_THAT(b.Render(), HasSubstr("error \"Wrong email or password.\""));
  }
  {
    web::Browser b(Compile(v["site"], "form"));
    ASSERT_TRUE(b.Type(IdOf(b, "input", "Email"), v["email"]).ok);
    ASSERT_TRUE(b.Type(IdOf(b, "input", "Password"), "wrong").ok);
    ASSERT_TRUE(b.Click(IdOf(b, "button", "Sign in")).ok);
    EXPECT_EQ(b.page(), "signin");
    EXPECT_THAT(b.Render(), HasSubstr("error \"Wrong email or password.\""));
  }
  {
    // A postcode in another format (and a missing field after a fix) keeps the agent on the
    // address page with the country's format in the message.
    web::Browser b(Compile(v["site"], "form"));
    FillForm(b, v, "12-34");
    EXPECT_EQ(b.page(), "address");
    EXPECT_THAT(b.Render(), HasSubstr("error \"A postcode in " + v["country"].get<std::string>() +
                                      " is " + v["postcode_hint"].get<std::string>() + ".\""));
    ASSERT_TRUE(b.Type(IdOf(b, "input", "City"), "").ok);
    ASSERT_TRUE(b.Type(IdOf(b, "input", "Postcode"), v["postcode"]).ok);
    ASSERT_TRUE(b.Click(IdOf(b, "button", "Continue")).ok);
    EXPECT_EQ(b.page(), "address");
    EXPECT_THAT(b.Render(), HasSubstr("error \"City is required.\""));
    ASSERT_TRUE(b.Type(IdOf(b, "input", "City"), v["city"]).ok);
    ASSERT_TRUE(b.Click(IdOf(b, "button", "Continue")).ok);
    EXPECT_EQ(b.page(), "delivery");
  }
}

TEST(WebFormTest, PostcodesMatchTheirCountrysFormatAndFieldOrderVaries) {
  std::set<std::string> countries, orders;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    json v = Gen({{"gen", "web_form"}}, seed);
    countries.insert(v["country"].get<std::string>());
    std::string order;
    for (const json& e : v["site"]["pages"]["address"]["elements"])
      if (e.contains("input")) order += e["input"].get<std::string>() + ",";
    orders.insert(order);
  }
  EXPECT_EQ(countries.size(), 7u);
  EXPECT_GE(orders.size(), 10u);
  json fixed = Gen({{"gen", "web_form"}, {"shuffle", false}}, 1);
  std::string order;
  for (const json& e : fixed["site"]["pages"]["address"]["elements"])
    if (e.contains("input")) order += e["input"].get<std::string>() + ",";
  EXPECT_EQ(order, "full_name,street,city,phone,postcode,");
}

// ---------------------------------------------------------------------------------------------
// web_wiki

const json* Article(const json& v, const std::string& title) {
  for (const json& a : v["site"]["data"]["articles"])
    if (a["title"] == title) return &a;
  return nullptr;
}

TEST(WebWikiTest, TheAnswerIsOnTheArticleTheRelationLinksTo) {
  std::set<std::string> relations, facts;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    json v = Gen({{"gen", "web_wiki"}}, seed);
    const json& q = v["q"];
    relations.insert(q["relation"].get<std::string>());
    facts.insert(q["fact"].get<std::string>());
    const json* start = Article(v, q["start"]);
    ASSERT_NE(start, nullptr);
    EXPECT_EQ((*start)["category"], q["category"]);
    int links = 0;
    for (const json& l : (*start)["links"]) {
      if (l["label"] != q["relation"]) continue;
      ++links;
      EXPECT_EQ(l["title"], q["hop"]);
      EXPECT_EQ(l["target"], q["hop_id"]);
    }
    EXPECT_EQ(links, 1);
    const json* hop = Article(v, q["hop"]);
    ASSERT_NE(hop, nullptr);
    int found = 0;
    for (const json& f : (*hop)["facts"]) {
      if (f["label"] == q["fact"]) {
        ++found;
        EXPECT_EQ(f["value"], q["answer"]);
      }
    }
    EXPECT_EQ(found, 1);
    // A near-twin title exists: another article whose title starts with the start's title.
    int twins = 0;
    for (const json& a : v["site"]["data"]["articles"])
      twins += a["title"] != q["start"] && a["title"].get<std::string>().rfind(
                                               q["start"].get<std::string>().substr(0, 4), 0) == 0;
    EXPECT_GE(twins, 1) << q.dump();
  }
  EXPECT_EQ(relations.size(), 6u);
  EXPECT_GE(facts.size(), 7u);
}

TEST(WebWikiTest, BrowsingByCategoryReachesTheAnswer) {
  json v = Gen({{"gen", "web_wiki"}}, 11);
  const json& q = v["q"];
  web::Browser b(Compile(v["site"], "wiki"));
  ASSERT_TRUE(b.Click(IdOf(b, "link", "Browse by category")).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "link", q["category"])).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "link", q["start"])).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "link",
                           q["relation"].get<std::string>() + ": " + q["hop"].get<std::string>()))
                  .ok);
  EXPECT_EQ(b.item(), q["hop_id"].get<std::string>());
  EXPECT_THAT(b.Render(), HasSubstr("text \"" + q["fact"].get<std::string>() + ": " +
                                    q["answer"].get<std::string>() + "\""));
}

// ---------------------------------------------------------------------------------------------
// web_admin

TEST(WebAdminTest, TheGoalChangesExactlyWhatTheInstructionSays) {
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    json v = Gen({{"gen", "web_admin"}}, seed);
    const json& state = v["site"]["state"];
    EXPECT_NE(state[v["setting"]["var"].get<std::string>()], v["setting"]["value"]);
    EXPECT_NE(state[v["flag"]["var"].get<std::string>()], v["flag"]["value"]);
    const json& before = v["site"]["data"]["users"];
    const json& after = v["users_after"];
    ASSERT_EQ(before.size(), after.size());
    int changed = 0, same_first = 0;
    const std::string first = v["user"]["name"].get<std::string>().substr(
        0, v["user"]["name"].get<std::string>().find(' '));
    for (std::size_t i = 0; i < before.size(); ++i) {
      same_first += before[i]["name"].get<std::string>().rfind(first + " ", 0) == 0;
      if (before[i] == after[i]) continue;
      ++changed;
      EXPECT_EQ(before[i]["name"], v["user"]["name"]);
      EXPECT_EQ(before[i]["disabled"], false);
      EXPECT_EQ(after[i]["disabled"], true);
      EXPECT_EQ(v["user"]["pointer"], "/data/users/" + std::to_string(i) + "/disabled");
    }
    EXPECT_EQ(changed, 1);
    EXPECT_GE(same_first, 3) << "the target shares a first name with two other users";
  }
}

TEST(WebAdminTest, SettingsApplyOnlyWhenSaved) {
  json v = Gen({{"gen", "web_admin"}}, 4);
  const std::string var = v["setting"]["var"];
  web::Browser b(Compile(v["site"], "admin"));
  const json before = b.state()[var];
  ASSERT_TRUE(b.Click(IdOf(b, "link", "Settings")).ok);
  ASSERT_TRUE(b.Select(IdOf(b, "select", v["setting"]["label"]), v["setting"]["value"]).ok);
  EXPECT_EQ(b.state()[var], before) << "a draft until saved";
  // Leaving and coming back discards the draft.
  ASSERT_TRUE(b.Click(IdOf(b, "link", "Users")).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "link", "Settings")).ok);
  ASSERT_TRUE(b.Select(IdOf(b, "select", v["setting"]["label"]), v["setting"]["value"]).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "button", "Save changes")).ok);
  EXPECT_EQ(b.state()[var], v["setting"]["value"]);
  EXPECT_THAT(b.Render(), HasSubstr("text \"Settings saved.\""));
  // Disabling the user changes the users collection to exactly users_after.
  ASSERT_TRUE(b.Click(IdOf(b, "link", "Users")).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "link", v["user"]["name"])).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "button", "Disable account")).ok);
  EXPECT_EQ(b.Snapshot()["data"]["users"], v["users_after"]);
  EXPECT_EQ(IdOf(b, "button", "Disable account"), 0);
  EXPECT_NE(IdOf(b, "button", "Enable account"), 0);
}

}  // namespace
}  // namespace toolgym::scenarios
