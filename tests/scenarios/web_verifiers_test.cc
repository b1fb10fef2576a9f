// The web verifiers (scenarios/verifiers_web.cc): WebShop's reward with hand-computed scores for
// full, partial and no credit, and the purchases that must not pass; site_state and event checks
// with their near misses; spec errors naming the field; and the verifiers on the state of real
// sessions of generated sites (web::Browser::Snapshot), as the web env hands it to them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/generators.h"
#include "scenarios/rng.h"
#include "scenarios/verifiers.h"
#include "web/site.h"

namespace toolgym::scenarios {
namespace {

using envs::ToolRecord;
using envs::Verifier;
using envs::VerifyContext;
using envs::VerifyResult;
using nlohmann::json;
using ::testing::DoubleNear;
using ::testing::HasSubstr;

std::shared_ptr<const Verifier> MustBuild(const json& spec) {
  auto v = VerifierRegistry::Default().Build(spec);
  EXPECT_TRUE(v.ok()) << spec.dump() << ": " << v.status().ToString();
  return v.ok() ? *v : nullptr;
}

std::string BuildError(const json& spec) {
  auto v = VerifierRegistry::Default().Build(spec);
  return v.ok() ? "OK" : v.status().message();
}

VerifyResult Check(const json& spec, const json* env_state) {
  auto v = MustBuild(spec);
  if (!v) return {};
  static const json kParams = json::object();
  static const std::optional<std::string> kNoAnswer;
  static const std::vector<ToolRecord> kHistory;
  VerifyContext ctx{kParams, kNoAnswer, kHistory};
  ctx.env_state = env_state;
  return v->Verify(ctx);
}

// ---------------------------------------------------------------------------------------------
// webshop

json Goal() {
  return json::parse(R"({"type": "polo shirt", "department": "clothing",
                         "attributes": ["cotton", "slim fit"],
                         "options": {"size": "M", "color": "navy"}, "price_max": 30})");
}

json Perfect() {
  return json::parse(R"({"product": "p1", "title": "Alder Cotton Polo Shirt",
                         "category": "polo shirt", "department": "clothing",
                         "attributes": ["slim fit", "cotton", "stretch"],
                         "options": {"size": "M", "color": "navy", "style": ""},
                         "price": 24.5})");
}

json StateWithPurchases(const std::vector<json>& values, const std::string& name = "purchase") {
  json events = json::array();
  for (const json& v : values)
    events.push_back({{"event", name}, {"value", v}, {"page", "product"}});
  return {{"page", "product"},      {"item", "p1"},     {"state", json::object()},
          {"data", json::object()}, {"events", events}, {"history", json::array({"home"})}};
}

double ShopScore(const json& item, json goal = Goal()) {
  json state = StateWithPurchases({item});
  VerifyResult r = Check({{"type", "webshop"}, {"goal", goal}}, &state);
  EXPECT_EQ(r.passed, r.score >= 1.0) << r.detail;
  return r.score;
}

TEST(WebShopVerifierTest, ThePerfectPurchaseScoresOne) {
  json state = StateWithPurchases({Perfect()});
  VerifyResult r = Check({{"type", "webshop"}, {"goal", Goal()}}, &state);
  EXPECT_TRUE(r.passed);
  EXPECT_DOUBLE_EQ(r.score, 1.0);
  EXPECT_THAT(r.detail, HasSubstr("attributes 2/2; options 2/2; price 24.5 <= 30"));
}

TEST(WebShopVerifierTest, EachMissedTermCostsOneFifth) {
  // Denominator: 2 attributes + 2 options + 1 price = 5.
  json wrong_color = Perfect();
  wrong_color["options"]["color"] = "red";
  EXPECT_DOUBLE_EQ(ShopScore(wrong_color), 0.8);
  json over = Perfect();
  over["price"] = 31;
  EXPECT_DOUBLE_EQ(ShopScore(over), 0.8);
  json at_cap = Perfect();
  at_cap["price"] = 30;
  EXPECT_DOUBLE_EQ(ShopScore(at_cap), 1.0);
  json missing_attr = Perfect();
  missing_attr["attributes"] = {"cotton", "relaxed fit"};
  EXPECT_DOUBLE_EQ(ShopScore(missing_attr), 0.8);
  json two_wrong = Perfect();
  two_wrong["options"] = {{"size", "L"}, {"color", "red"}};
  two_wrong["price"] = "45.00";  // numeric strings are prices too
  EXPECT_DOUBLE_EQ(ShopScore(two_wrong), 0.4);
  json bare = Perfect();  // no options chosen, no price: only the attributes count
  bare.erase("options");
  bare.erase("price");
  EXPECT_DOUBLE_EQ(ShopScore(bare), 0.4);
}

TEST(WebShopVerifierTest, AnAttributeInTheTitleCountsAsWebShopDoes) {
  json in_title = Perfect();
  in_title["attributes"] = {"cotton"};
  in_title["title"] = "Alder Slim Fit Polo Shirt";
  EXPECT_DOUBLE_EQ(ShopScore(in_title), 1.0);
  // A whole phrase only: "slim fitted" is not "slim fit".
  in_title["title"] = "Alder Slim Fitted Polo Shirt";
  EXPECT_DOUBLE_EQ(ShopScore(in_title), 0.8);
}

TEST(WebShopVerifierTest, TypeCreditIsOneHalfOrNothingForAnotherType) {
  json related = Perfect();  // shares "shirt" with the goal's type
  related["category"] = "dress shirt";
  related["title"] = "Alder Cotton Dress Shirt";
  EXPECT_DOUBLE_EQ(ShopScore(related), 0.5);
  json same_department = Perfect();  // no shared word, same department
  same_department["category"] = "hoodie";
  same_department["title"] = "Alder Cotton Hoodie";
  EXPECT_DOUBLE_EQ(ShopScore(same_department), 0.5);
  json unrelated = Perfect();
  unrelated["category"] = "blender";
  unrelated["department"] = "kitchen";
  unrelated["title"] = "Alder Blender";
  EXPECT_DOUBLE_EQ(ShopScore(unrelated), 0.0);
  // Partial credit multiplies: 0.5 * (2 attributes + 1 option + 0 price) / 5.
  json everything_off = related;
  everything_off["options"]["color"] = "red";
  everything_off["price"] = 99;
  EXPECT_DOUBLE_EQ(ShopScore(everything_off), 0.3);
  // Without a department in the goal, a type sharing no word gets nothing.
  json goal = Goal();
  goal.erase("department");
  EXPECT_DOUBLE_EQ(ShopScore(same_department, goal), 0.0);
}

TEST(WebShopVerifierTest, NamesAndOptionsCompareWithoutCaseOrSpacing) {
  json loose = Perfect();
  loose["category"] = " Polo  Shirt ";
  loose["options"] = {{"size", " m "}, {"color", "Navy"}};
  EXPECT_DOUBLE_EQ(ShopScore(loose), 1.0);
  // An option the purchase does not name matches any chosen value (WebShop ignores names).
  json unnamed = Perfect();
  unnamed["options"] = {{"variant", "navy"}, {"fit", "M"}};
  EXPECT_DOUBLE_EQ(ShopScore(unnamed), 1.0);
}

TEST(WebShopVerifierTest, WithoutAPriceCapTheDenominatorDropsItsTerm) {
  json goal = Goal();
  goal.erase("price_max");
  json wrong_color = Perfect();
  wrong_color["options"]["color"] = "red";
  wrong_color["price"] = 1000;
  EXPECT_DOUBLE_EQ(ShopScore(wrong_color, goal), 0.75);
}

TEST(WebShopVerifierTest, TheLastPurchaseCountsAndCartsShareTheirCredit) {
  json wrong = Perfect();
  wrong["options"]["size"] = "S";
  {
    json state = StateWithPurchases({Perfect(), wrong});
    EXPECT_DOUBLE_EQ(Check({{"type", "webshop"}, {"goal", Goal()}}, &state).score, 0.8);
    json reversed = StateWithPurchases({wrong, Perfect()});
    EXPECT_TRUE(Check({{"type", "webshop"}, {"goal", Goal()}}, &reversed).passed);
  }
  {
    // Buying everything is no way to the goal: the best item divided by the items bought.
    json blender = Perfect();
    blender["category"] = "blender";
    blender["department"] = "kitchen";
    blender["title"] = "Blender";
    json cart = StateWithPurchases({json{{"items", json::array({Perfect(), blender})}}});
    VerifyResult r = Check({{"type", "webshop"}, {"goal", Goal()}}, &cart);
    EXPECT_DOUBLE_EQ(r.score, 0.5);
    EXPECT_FALSE(r.passed);
    EXPECT_THAT(r.detail, HasSubstr("best of 2 items"));
    json one = StateWithPurchases({json{{"items", json::array({Perfect()})}}});
    EXPECT_TRUE(Check({{"type", "webshop"}, {"goal", Goal()}}, &one).passed);
    json empty = StateWithPurchases({json{{"items", json::array()}}});
    EXPECT_EQ(Check({{"type", "webshop"}, {"goal", Goal()}}, &empty).score, 0.0);
  }
}

TEST(WebShopVerifierTest, NothingBoughtOrNoStateFails) {
  json other = StateWithPurchases({Perfect()}, "purchase_attempt");
  VerifyResult r = Check({{"type", "webshop"}, {"goal", Goal()}}, &other);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.score, 0.0);
  EXPECT_THAT(r.detail, HasSubstr("nothing was bought"));
  // The event name is configurable.
  EXPECT_TRUE(
      Check({{"type", "webshop"}, {"goal", Goal()}, {"event", "purchase_attempt"}}, &other).passed);
  VerifyResult none = Check({{"type", "webshop"}, {"goal", Goal()}}, nullptr);
  EXPECT_FALSE(none.passed);
  EXPECT_THAT(none.detail, HasSubstr("env_state is null"));
  // Malformed purchases score nothing rather than throwing.
  json junk = StateWithPurchases({json("a string"), json::array({1, 2})});
  EXPECT_EQ(Check({{"type", "webshop"}, {"goal", Goal()}}, &junk).score, 0.0);
  json odd = Perfect();
  odd["attributes"] = "cotton, slim fit";  // not a list
  odd["options"] = json::array();
  EXPECT_DOUBLE_EQ(ShopScore(odd), 0.4);  // "cotton" from the title, and the price
}

TEST(WebShopVerifierTest, SpecErrorsNameTheField) {
  EXPECT_THAT(BuildError({{"type", "webshop"}}), HasSubstr("missing field 'goal'"));
  EXPECT_THAT(BuildError({{"type", "webshop"}, {"goal", "shirt"}}),
              HasSubstr("'goal' must be an object"));
  EXPECT_THAT(BuildError({{"type", "webshop"}, {"goal", {{"attributes", json::array()}}}}),
              HasSubstr("'goal.type' (or 'goal.category') must be a non-empty string, got none"));
  EXPECT_THAT(BuildError({{"type", "webshop"}, {"goal", {{"type", "x"}, {"attributes", "a"}}}}),
              HasSubstr("'goal.attributes' must be a list of strings"));
  EXPECT_THAT(BuildError({{"type", "webshop"},
                          {"goal", {{"type", "x"}, {"options", {{"size", json::array({1})}}}}}}),
              HasSubstr("'goal.options.size' must be a string or number"));
  EXPECT_THAT(BuildError({{"type", "webshop"}, {"goal", {{"type", "x"}, {"price_max", -1}}}}),
              HasSubstr("'goal.price_max' must be a number >= 0, got -1"));
  EXPECT_THAT(BuildError({{"type", "webshop"}, {"goal", {{"type", "x"}, {"colour", "red"}}}}),
              HasSubstr("unknown field \"colour\""));
  EXPECT_EQ(BuildError({{"type", "webshop"}, {"goal", {{"category", "x"}, {"price_max", "12"}}}}),
            "OK");
}

// ---------------------------------------------------------------------------------------------
// site_state

json State() {
  return json::parse(R"({"page": "settings", "item": null,
      "state": {"theme": "dark", "count": 3, "flag": true, "a/b": 1, "list": ["x", "y"]},
      "data": {"users": [{"id": "u1", "disabled": true}]}, "events": [], "history": ["home"]})");
}

bool StatePasses(const json& spec) {
  json s = State();
  json full = spec;
  full["type"] = "site_state";
  VerifyResult r = Check(full, &s);
  EXPECT_EQ(r.score, r.passed ? 1.0 : 0.0);
  return r.passed;
}

TEST(SiteStateVerifierTest, EqualsComparesJsonValues) {
  EXPECT_TRUE(StatePasses({{"path", "/state/theme"}, {"equals", "dark"}}));
  EXPECT_FALSE(StatePasses({{"path", "/state/theme"}, {"equals", "Dark"}}));
  EXPECT_TRUE(StatePasses(
      {{"path", "/state/theme"}, {"equals", "Dark"}, {"normalize", json::array({"case"})}}));
  EXPECT_TRUE(StatePasses({{"path", "/state/count"}, {"equals", 3.0}}));  // 3 == 3.0
  EXPECT_FALSE(StatePasses({{"path", "/state/count"}, {"equals", "3"}}));
  EXPECT_TRUE(StatePasses({{"path", "/state/flag"}, {"equals", true}}));
  EXPECT_FALSE(StatePasses({{"path", "/state/flag"}, {"equals", "true"}}));
  EXPECT_TRUE(StatePasses({{"path", "/state/list"}, {"equals", {"x", "y"}}}));
  EXPECT_FALSE(StatePasses({{"path", "/state/list"}, {"equals", {"y", "x"}}}));
  EXPECT_TRUE(StatePasses({{"path", "/data/users/0/disabled"}, {"equals", true}}));
  EXPECT_TRUE(StatePasses({{"path", "/state/a~1b"}, {"equals", 1}}));
  EXPECT_TRUE(StatePasses({{"path", "/item"}, {"equals", nullptr}}));
}

TEST(SiteStateVerifierTest, MissingPathsFailWithoutThrowing) {
  for (const char* path :
       {"/data/users/1/disabled", "/data/users/x", "/data/users/01", "/data/users/-1",
        "/state/theme/0", "/nope", "/data/users/99999999999999999999"}) {
    json s = State();
    VerifyResult r = Check({{"type", "site_state"}, {"path", path}, {"equals", true}}, &s);
    EXPECT_FALSE(r.passed) << path;
    EXPECT_THAT(r.detail, HasSubstr("nothing at")) << path;
  }
}

TEST(SiteStateVerifierTest, InMatchesAndExists) {
  EXPECT_TRUE(StatePasses({{"path", "/state/theme"}, {"in", {"light", "dark"}}}));
  EXPECT_FALSE(StatePasses({{"path", "/state/theme"}, {"in", json::array({"light"})}}));
  EXPECT_TRUE(StatePasses({{"path", "/state/theme"}, {"matches", "d[a-z]+"}}));
  EXPECT_FALSE(StatePasses({{"path", "/state/theme"}, {"matches", "ar"}}));  // the whole value
  EXPECT_TRUE(StatePasses({{"path", "/state/count"}, {"matches", "[0-9]"}}));
  EXPECT_FALSE(StatePasses({{"path", "/state/list"}, {"matches", ".*"}}));
  EXPECT_TRUE(StatePasses({{"path", "/data/users"}}));  // exists by default
  EXPECT_FALSE(StatePasses({{"path", "/data/groups"}, {"exists", true}}));
  EXPECT_TRUE(StatePasses({{"path", "/data/groups"}, {"exists", false}}));
  EXPECT_FALSE(StatePasses({{"path", "/item"}}));  // null is not there
  EXPECT_TRUE(StatePasses({{"path", ""}}));        // the whole state
  VerifyResult none = Check({{"type", "site_state"}, {"path", "/page"}}, nullptr);
  EXPECT_FALSE(none.passed);
}

TEST(SiteStateVerifierTest, SpecErrorsNameTheField) {
  EXPECT_THAT(
      BuildError({{"type", "site_state"}, {"path", "state/theme"}}),
      HasSubstr("'path' must be a JSON pointer such as \"/state/theme\", got \"state/theme\""));
  EXPECT_THAT(BuildError({{"type", "site_state"}, {"path", "/state/~2"}}),
              HasSubstr("'~' must be followed by 0 or 1"));
  EXPECT_THAT(
      BuildError({{"type", "site_state"}, {"path", "/a"}, {"equals", 1}, {"in", json::array({1})}}),
      HasSubstr("give one of 'equals', 'in', 'matches' and 'exists', not 2"));
  EXPECT_THAT(BuildError({{"type", "site_state"}, {"path", "/a"}, {"in", 1}}),
              HasSubstr("'in' must be a non-empty list of values, got 1"));
  EXPECT_THAT(BuildError({{"type", "site_state"}, {"path", "/a"}, {"matches", "(unclosed"}}),
              HasSubstr("'matches' \"(unclosed\" does not compile"));
  EXPECT_THAT(BuildError({{"type", "site_state"}, {"path", "/a"}, {"exists", "yes"}}),
              HasSubstr("'exists' must be true or false"));
  EXPECT_THAT(BuildError({{"type", "site_state"}, {"path", "/a"}, {"normalize", "upper"}}),
              HasSubstr("option \"upper\" is unknown"));
}

// ---------------------------------------------------------------------------------------------
// event

json Events() {
  return json::parse(R"({"page": "done", "item": null, "state": {}, "data": {}, "history": [],
      "events": [
        {"event": "order_submitted", "page": "review",
         "value": {"email": "a@b.c", "city": "Oslo", "count": 2, "address": {"zip": "0150"}}},
        {"event": "order_submitted", "page": "review",
         "value": {"email": "a@b.c", "city": "Bergen", "count": 2, "address": {"zip": "5003"}}},
        {"event": "password_reset", "page": "user", "value": "u1"}]})");
}

VerifyResult EventCheck(json spec) {
  json s = Events();
  spec["type"] = "event";
  return Check(spec, &s);
}

TEST(EventVerifierTest, SomeEventHasEveryField) {
  EXPECT_TRUE(EventCheck({{"name", "order_submitted"}, {"where", {{"city", "Bergen"}}}}).passed);
  EXPECT_TRUE(EventCheck({{"name", "order_submitted"},
                          {"where", {{"email", "a@b.c"}, {"/address/zip", "0150"}}}})
                  .passed);
  EXPECT_TRUE(EventCheck({{"name", "order_submitted"}, {"where", {{"count", 2.0}}}}).passed);
  EXPECT_TRUE(EventCheck({{"name", "password_reset"}}).passed);
  // Fields of different events do not combine.
  VerifyResult mixed = EventCheck(
      {{"name", "order_submitted"}, {"where", {{"city", "Oslo"}, {"/address/zip", "5003"}}}});
  EXPECT_FALSE(mixed.passed);
  EXPECT_EQ(mixed.score, 0.0);
  EXPECT_THAT(mixed.detail, HasSubstr("matches 1/2 field(s)"));
}

TEST(EventVerifierTest, NearMissesFail) {
  EXPECT_FALSE(EventCheck({{"name", "order_submitted"}, {"where", {{"city", "oslo"}}}}).passed);
  EXPECT_TRUE(EventCheck({{"name", "order_submitted"},
                          {"where", {{"city", "oslo "}}},
                          {"normalize", {"case", "trim"}}})
                  .passed);
  EXPECT_FALSE(
      EventCheck({{"name", "order_submitted"}, {"where", {{"city", json::array({"Oslo"})}}}})
          .passed);
  EXPECT_FALSE(EventCheck({{"name", "order_submitted"}, {"where", {{"count", "2"}}}}).passed);
  EXPECT_FALSE(EventCheck({{"name", "order"}}).passed);
  EXPECT_FALSE(EventCheck({{"name", "password_reset"}, {"where", {{"id", "u1"}}}}).passed);
  VerifyResult none = Check({{"type", "event"}, {"name", "x"}}, nullptr);
  EXPECT_FALSE(none.passed);
}

TEST(EventVerifierTest, PartialScoresTheClosestEvent) {
  VerifyResult r = EventCheck({{"name", "order_submitted"},
                               {"where", {{"email", "a@b.c"}, {"city", "Trondheim"}, {"count", 2}}},
                               {"partial", true}});
  EXPECT_FALSE(r.passed);
  EXPECT_THAT(r.score, DoubleNear(2.0 / 3.0, 1e-12));
  EXPECT_THAT(r.detail, HasSubstr("city: expected \"Trondheim\", found \"Oslo\""));
  EXPECT_EQ(EventCheck({{"name", "order"}, {"where", {{"a", 1}}}, {"partial", true}}).score, 0.0);
}

TEST(EventVerifierTest, SpecErrorsNameTheField) {
  EXPECT_THAT(BuildError({{"type", "event"}}), HasSubstr("missing field 'name'"));
  EXPECT_THAT(BuildError({{"type", "event"}, {"name", "x"}, {"where", {1, 2}}}),
              HasSubstr("'where' must be an object of field -> value"));
  EXPECT_THAT(BuildError({{"type", "event"}, {"name", "x"}, {"where", {{"/a~x", 1}}}}),
              HasSubstr("'~' must be followed by 0 or 1"));
  EXPECT_THAT(BuildError({{"type", "event"}, {"name", "x"}, {"partial", 1}}),
              HasSubstr("'partial' must be true or false"));
}

// ---------------------------------------------------------------------------------------------
// On real sessions of generated sites

json Generate(const json& spec, std::uint64_t seed) {
  Rng rng(seed);
  auto r = GeneratorRegistry::Default().Generate(spec, rng);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : json();
}

std::shared_ptr<const web::Site> Compile(const json& site) {
  std::vector<web::SiteError> errors;
  auto s = web::Site::FromJson(site, "generated", &errors);
  for (const auto& e : errors) ADD_FAILURE() << e.ToString();
  return s;
}

int IdOf(const web::Browser& b, const std::string& kind, const std::string& label) {
  for (const web::ElementRef& e : b.Elements())
    if (e.kind == kind && e.label == label) return e.id;
  return 0;
}

// Opens product `p` from the results and buys it with the goal's options where it offers them
// (its first option otherwise); returns WebShop's reward computed by hand for that purchase.
double BuyAndExpect(web::Browser& b, const json& shop, const json& p) {
  const json& g = shop["goal"];
  EXPECT_TRUE(b.Type(IdOf(b, "input", "Search"), p["title"].get<std::string>()).ok);
  EXPECT_TRUE(b.Click(IdOf(b, "button", "Search")).ok);
  EXPECT_TRUE(b.Click(IdOf(b, "link", p["title"])).ok);
  EXPECT_EQ(b.item(), p["id"].get<std::string>());
  int options_hit = 0;
  for (const auto& [name, values] : p["options"].items()) {
    if (values.empty()) continue;
    json pick = values[0];
    if (g["options"].contains(name) &&
        std::find(values.begin(), values.end(), g["options"][name]) != values.end()) {
      pick = g["options"][name];
      ++options_hit;
    }
    EXPECT_TRUE(b.Select(IdOf(b, "select", name), pick).ok);
  }
  EXPECT_TRUE(b.Click(IdOf(b, "button", "Buy now")).ended);
  int attrs_hit = 0;
  for (const json& a : g["attributes"])
    attrs_hit +=
        std::find(p["attributes"].begin(), p["attributes"].end(), a) != p["attributes"].end();
  const bool price_ok = p["price"].get<double>() <= g["price_max"].get<double>();
  const double r_type = p["category"] == g["type"] ? 1.0 : 0.5;  // same department
  return r_type * (attrs_hit + options_hit + (price_ok ? 1 : 0)) /
         static_cast<double>(g["attributes"].size() + g["options"].size() + 1);
}

TEST(WebVerifiersOnSessionsTest, EachShopDistractorEarnsItsPartialCredit) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    json shop = Generate({{"gen", "web_shop"}, {"level", "hard"}}, seed);
    auto site = Compile(shop["site"]);
    ASSERT_NE(site, nullptr);
    std::map<std::string, int> seen;
    for (const json& p : shop["site"]["data"]["products"]) {
      const std::string role = shop["roles"][p["id"].get<std::string>()];
      if (role == "filler" || seen[role]++ > 0) continue;
      web::Browser b(site);
      const double expected = BuyAndExpect(b, shop, p);
      json state = b.Snapshot();
      VerifyResult r = Check({{"type", "webshop"}, {"goal", shop["goal"]}}, &state);
      EXPECT_NEAR(r.score, expected, 1e-12) << role << ": " << r.detail;
      EXPECT_EQ(r.passed, role == "target") << role << ": " << r.detail;
      if (role == "missing_attribute" || role == "over_price") {
        // One term missed out of |attributes| + |options| + 1.
        const double n = shop["goal"]["attributes"].size() + shop["goal"]["options"].size() + 1.0;
        EXPECT_NEAR(r.score, (n - 1) / n, 1e-12) << role;
      }
      if (role == "other_type") {
        EXPECT_LE(r.score, 0.5) << r.detail;
      }
    }
    EXPECT_EQ(seen.size(), 4u);  // target and the three kinds of distractor
  }
}

TEST(WebVerifiersOnSessionsTest, AdminGoalHoldsOnlyOnceEverythingIsDone) {
  json adm = Generate({{"gen", "web_admin"}}, 9);
  const json goal = {
      {"type", "all"},
      {"of",
       {{{"type", "site_state"},
         {"path", "/state/" + adm["setting"]["var"].get<std::string>()},
         {"equals", adm["setting"]["value"]}},
        {{"type", "site_state"},
         {"path", "/state/" + adm["flag"]["var"].get<std::string>()},
         {"equals", adm["flag"]["value"]}},
        {{"type", "site_state"}, {"path", "/data/users"}, {"equals", adm["users_after"]}}}}};
  web::Browser b(Compile(adm["site"]));
  auto holds = [&] {
    json s = b.Snapshot();
    return Check(goal, &s).passed;
  };
  ASSERT_TRUE(b.Click(IdOf(b, "link", "Settings")).ok);
  ASSERT_TRUE(b.Select(IdOf(b, "select", adm["setting"]["label"]), adm["setting"]["value"]).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "checkbox", adm["flag"]["label"])).ok);
  EXPECT_FALSE(holds()) << "not saved yet";
  ASSERT_TRUE(b.Click(IdOf(b, "button", "Save changes")).ok);
  EXPECT_FALSE(holds()) << "the user is still active";
  ASSERT_TRUE(b.Click(IdOf(b, "link", "Users")).ok);
  // Disabling someone else as well is not the goal state.
  web::Browser wrong = b;
  for (const json& u : adm["site"]["data"]["users"]) {
    if (u["name"] == adm["user"]["name"] || u["disabled"].get<bool>()) continue;
    ASSERT_TRUE(wrong.Click(IdOf(wrong, "link", u["name"])).ok);
    ASSERT_TRUE(wrong.Click(IdOf(wrong, "button", "Disable account")).ok);
    ASSERT_TRUE(wrong.Click(IdOf(wrong, "link", "Back to users")).ok);
    break;
  }
  ASSERT_TRUE(b.Click(IdOf(b, "link", adm["user"]["name"])).ok);
  ASSERT_TRUE(b.Click(IdOf(b, "button", "Disable account")).ok);
  EXPECT_TRUE(holds());
  ASSERT_TRUE(wrong.Click(IdOf(wrong, "link", adm["user"]["name"])).ok);
  ASSERT_TRUE(wrong.Click(IdOf(wrong, "button", "Disable account")).ok);
  json s = wrong.Snapshot();
  EXPECT_FALSE(Check(goal, &s).passed);
}

}  // namespace
}  // namespace toolgym::scenarios
