// Site::FromJson validation: one test per class of error, each asserting the file, the JSON
// pointer and the message; plus the shipped example site and FromFile's own errors.
#include "web/site.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace toolgym::web {
namespace {

using nlohmann::json;

// A valid site that each test breaks in one place.
json Base() {
  return json::parse(R"({
    "title": "T",
    "start": "home",
    "state": {"q": "", "n": 0, "on": false, "list": []},
    "data": {"items": [{"id": "a", "name": "A"}, {"id": "b", "name": "B"}]},
    "pages": {
      "home": {"title": "Home", "elements": [{"text": "hi"}]},
      "item": {"title": "{item.name}", "item_of": "items", "elements": [{"text": "{item.name}"}]}
    }
  })");
}

// Base() with /pages/home/elements replaced by `elements`.
json WithElements(json elements) {
  json s = Base();
  s["pages"]["home"]["elements"] = std::move(elements);
  return s;
}

std::vector<SiteError> Errors(const json& doc) {
  std::vector<SiteError> errors;
  auto site = Site::FromJson(doc, "t.json", &errors);
  EXPECT_EQ(site, nullptr);
  return errors;
}

std::string Dump(const std::vector<SiteError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "  " + e.ToString() + "\n";
  return out;
}

// Exactly one error, at `path`, whose message contains `text`.
void ExpectOnly(const json& doc, const std::string& path, const std::string& text) {
  auto errors = Errors(doc);
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_EQ(errors[0].file, "t.json");
  EXPECT_EQ(errors[0].path, path) << Dump(errors);
  EXPECT_NE(errors[0].message.find(text), std::string::npos) << "expected \"" << text << "\" in:\n"
                                                             << Dump(errors);
}

TEST(SiteTest, BaseIsValid) {
  std::vector<SiteError> errors;
  auto site = Site::FromJson(Base(), "t.json", &errors);
  ASSERT_NE(site, nullptr) << Dump(errors);
  EXPECT_EQ(site->title(), "T");
  EXPECT_EQ(site->document(), Base());
}

TEST(SiteTest, ErrorToStringNamesFileAndPointer) {
  SiteError e{"shop.json", "/pages/cart/elements/3/to", "unknown page \"chekout\""};
  EXPECT_EQ(e.ToString(), "shop.json: /pages/cart/elements/3/to: unknown page \"chekout\"");
  EXPECT_EQ((SiteError{"", "", "x"}).ToString(), "<site>: /: x");
}

TEST(SiteTest, NotAnObject) { ExpectOnly(json::array(), "", "expected a site (a JSON object)"); }

TEST(SiteTest, UnknownTopLevelKey) {
  json s = Base();
  s["titel"] = "x";
  ExpectOnly(s, "/titel", "unknown key \"titel\" in a site; expected one of: data, description");
}

TEST(SiteTest, WrongFormat) {
  json s = Base();
  s["format"] = "toolgym.site/2";
  ExpectOnly(s, "/format", "expected \"toolgym.site/1\", found the string \"toolgym.site/2\"");
}

TEST(SiteTest, MissingTitleAndWrongType) {
  json s = Base();
  s.erase("title");
  ExpectOnly(s, "", "missing \"title\" (a string)");
  s["title"] = 5;
  ExpectOnly(s, "/title", "expected a string, found the number 5");
}

TEST(SiteTest, BadViewportLines) {
  json s = Base();
  s["viewport_lines"] = 3;
  ExpectOnly(s, "/viewport_lines", "expected an integer from 5 to 1000, found the number 3");
  s["viewport_lines"] = "30";
  ExpectOnly(s, "/viewport_lines", "found the string \"30\"");
}

TEST(SiteTest, StateMustBeAnObjectOfNames) {
  json s = Base();
  s["state"] = json::array();
  ExpectOnly(s, "/state", "expected an object of state variables");
  s = Base();
  s["state"]["bad name"] = 1;
  ExpectOnly(s, "/state/bad name", "is not a variable name");
}

TEST(SiteTest, CollectionsMustBeArrays) {
  json s = Base();
  s["data"]["items"] = json::object();
  // The item page's item_of now names no collection: that is reported too.
  auto errors = Errors(s);
  ASSERT_EQ(errors.size(), 2u) << Dump(errors);
  EXPECT_EQ(errors[0].path, "/data/items");
  EXPECT_NE(errors[0].message.find("expected an array of items, found an object"),
            std::string::npos);
  EXPECT_EQ(errors[1].path, "/pages/item/item_of");
}

TEST(SiteTest, DuplicateIdsInACollection) {
  json s = Base();
  s["data"]["items"][1]["id"] = "a";
  ExpectOnly(s, "/data/items/1/id",
             "duplicate id \"a\" in collection \"items\" (first at /data/items/0)");
}

TEST(SiteTest, NonStringId) {
  json s = Base();
  s["data"]["items"][0]["id"] = 7;
  // Also: the item page needs string ids... the row has an "id", so only the type is wrong.
  ExpectOnly(s, "/data/items/0/id", "expected an item id (a string), found the number 7");
}

TEST(SiteTest, ItemOfUnknownCollection) {
  json s = Base();
  s["pages"]["item"]["item_of"] = "itms";
  auto errors = Errors(s);
  ASSERT_GE(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "/pages/item/item_of");
  EXPECT_NE(errors[0].message.find("expected a collection of /data (items), found the string "
                                   "\"itms\""),
            std::string::npos)
      << Dump(errors);
}

TEST(SiteTest, ItemPagesNeedIdsInTheirCollection) {
  json s = Base();
  s["data"]["items"].push_back({{"name", "no id"}});
  ExpectOnly(s, "/data/items/2", "need a string \"id\"; found an object without \"id\"");
}

TEST(SiteTest, BadPageId) {
  json s = Base();
  s["pages"]["Checkout"] = {{"elements", json::array()}};
  ExpectOnly(s, "/pages/Checkout", "is not a page id ([a-z][a-z0-9_]*)");
}

TEST(SiteTest, UnknownStartPage) {
  json s = Base();
  s["start"] = "hme";
  ExpectOnly(s, "/start", "unknown page \"hme\"; pages: home, item");
}

TEST(SiteTest, StartOnAnItemPage) {
  json s = Base();
  s["start"] = "item";
  ExpectOnly(s, "/start", "shows an item (item_of)");
}

TEST(SiteTest, PagesMissingOrEmpty) {
  json s = Base();
  s.erase("pages");
  auto errors = Errors(s);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "");
  EXPECT_NE(errors[0].message.find("missing \"pages\""), std::string::npos);
  s["pages"] = json::object();
  errors = Errors(s);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "/pages");
}

TEST(SiteTest, PageUnknownKeyAndMissingElements) {
  json s = Base();
  s["pages"]["home"]["titel"] = "x";
  ExpectOnly(s, "/pages/home/titel", "unknown key \"titel\" in a page");
  s = Base();
  s["pages"]["home"].erase("elements");
  ExpectOnly(s, "/pages/home", "missing \"elements\"");
}

TEST(SiteTest, ElementNotAnObject) {
  ExpectOnly(WithElements({"hello"}), "/pages/home/elements/0",
             "expected an element (an object), found the string \"hello\"");
}

TEST(SiteTest, ElementWithoutKindKey) {
  ExpectOnly(WithElements({{{"label", "x"}}}), "/pages/home/elements/0",
             "needs exactly one kind key (heading, text, link, button, input, select, checkbox, "
             "list, section, errors); found none (keys: label)");
}

TEST(SiteTest, ElementWithTwoKindKeys) {
  ExpectOnly(WithElements({{{"link", "x"}, {"button", "y"}}}), "/pages/home/elements/0",
             "found 2: link, button");
}

TEST(SiteTest, ElementUnknownKey) {
  ExpectOnly(WithElements({{{"link", "Cart"}, {"too", "home"}}}), "/pages/home/elements/0/too",
             "unknown key \"too\" in a link; expected one of: do, if, item, link, name, to");
}

TEST(SiteTest, ElementWrongTypes) {
  ExpectOnly(WithElements({{{"heading", 5}}}), "/pages/home/elements/0/heading",
             "expected a string, found the number 5");
  ExpectOnly(WithElements({{{"link", "x"}, {"do", {{"set", "q"}}}}}), "/pages/home/elements/0/do",
             "expected a list of effects, found an object");
  ExpectOnly(WithElements({{{"section", "S"}, {"elements", "x"}}}),
             "/pages/home/elements/0/elements", "expected a list of elements");
  ExpectOnly(WithElements({{{"link", "x"}, {"name", 3}}}), "/pages/home/elements/0/name",
             "expected a string, found the number 3");
}

TEST(SiteTest, UnknownPageInTo) {
  ExpectOnly(WithElements({{{"link", "Checkout"}, {"to", "chekout"}}}), "/pages/home/elements/0/to",
             "unknown page \"chekout\"; pages: home, item");
}

TEST(SiteTest, ItemPageLinkNeedsItemAndOthersTakeNone) {
  ExpectOnly(WithElements({{{"link", "A"}, {"to", "item"}}}), "/pages/home/elements/0",
             "page \"item\" shows one item of \"items\": add \"item\"");
  ExpectOnly(WithElements({{{"link", "A"}, {"to", "home"}, {"item", "a"}}}),
             "/pages/home/elements/0/item", "page \"home\" has no \"item_of\"");
  ExpectOnly(WithElements({{{"link", "A"}, {"item", "a"}}}), "/pages/home/elements/0/item",
             "\"item\" without \"to\"");
}

TEST(SiteTest, UnknownStateVariable) {
  ExpectOnly(WithElements({{{"input", "qq"}}}), "/pages/home/elements/0/input",
             "unknown state variable \"qq\"; declared in /state: list, n, on, q");
  ExpectOnly(WithElements({{{"text", "{state.zz}"}}}), "/pages/home/elements/0/text",
             "unknown state variable \"zz\" in \"{state.zz}\"");
  ExpectOnly(WithElements({{{"button", "x"}, {"do", {{{"set", "zz"}, {"value", 1}}}}}}),
             "/pages/home/elements/0/do/0/set", "unknown state variable \"zz\"");
}

TEST(SiteTest, UnknownCollection) {
  ExpectOnly(WithElements({{{"list", "{data.nope}"}, {"as", "r"}, {"elements", json::array()}}}),
             "/pages/home/elements/0/list",
             "unknown collection \"nope\" in \"{data.nope}\"; collections in /data: items");
  ExpectOnly(WithElements(
                 {{{"button", "x"},
                   {"do", {{{"set_data", "users"}, {"id", "a"}, {"field", "f"}, {"value", 1}}}}}}),
             "/pages/home/elements/0/do/0/set_data", "unknown collection \"users\"");
}

TEST(SiteTest, ItemOnAPageWithoutItemOf) {
  ExpectOnly(WithElements({{{"text", "{item.name}"}}}), "/pages/home/elements/0/text",
             "\"{item.name}\" uses item on page \"home\", which has no \"item_of\"");
}

TEST(SiteTest, InputOutsideOnTypeAndUnknownNames) {
  ExpectOnly(WithElements({{{"text", "{input}"}}}), "/pages/home/elements/0/text",
             "uses input outside on_type / on_select effects");
  ExpectOnly(WithElements({{{"text", "{foo.bar}"}}}), "/pages/home/elements/0/text",
             "unknown name \"foo\" in \"{foo.bar}\"; expected state.<variable>, item.<field>, "
             "data.<collection>, input, or a list row (none here)");
  // Inside on_type, input is fine.
  std::vector<SiteError> errors;
  EXPECT_NE(Site::FromJson(
                WithElements(
                    {{{"input", "q"}, {"on_type", {{{"set", "n"}, {"value", "{input:count}"}}}}}}),
                "t.json", &errors),
            nullptr)
      << Dump(errors);
}

TEST(SiteTest, BadInterpolation) {
  ExpectOnly(WithElements({{{"text", "a {state.q"}}}), "/pages/home/elements/0/text",
             "unclosed \"{\" at byte 2 of \"a {state.q\"");
  ExpectOnly(WithElements({{{"text", "a } b"}}}), "/pages/home/elements/0/text",
             "unmatched \"}\" at byte 2");
  ExpectOnly(WithElements({{{"text", "{state.n:money}"}}}), "/pages/home/elements/0/text",
             "unknown format \":money\"");
  ExpectOnly(WithElements({{{"text", "{state..n}"}}}), "/pages/home/elements/0/text",
             "bad path \"{state..n}\"");
  // Escaped braces are literal and valid.
  std::vector<SiteError> errors;
  EXPECT_NE(Site::FromJson(WithElements({{{"text", "{{literal}}"}}}), "t.json", &errors), nullptr);
}

TEST(SiteTest, BadConditions) {
  ExpectOnly(WithElements({{{"text", "x"}, {"if", {{"equals", {1, 1}}}}}}),
             "/pages/home/elements/0/if/equals",
             "unknown condition operator \"equals\"; expected one of: eq, ne, lt");
  ExpectOnly(WithElements({{{"text", "x"}, {"if", {{"eq", {1}}}}}}), "/pages/home/elements/0/if/eq",
             "\"eq\" takes two operands [a, b], found an array "
             "of 1");
  ExpectOnly(WithElements({{{"text", "x"}, {"if", {{"and", json::array()}}}}}),
             "/pages/home/elements/0/if/and", "takes a non-empty list of conditions");
  ExpectOnly(WithElements({{{"text", "x"}, {"if", "yes"}}}), "/pages/home/elements/0/if",
             "expected a condition: true, false or an object with one operator");
  ExpectOnly(WithElements({{{"text", "x"}, {"if", {{"eq", {1, 1}}, {"ne", {1, 2}}}}}}),
             "/pages/home/elements/0/if", "found an object with 2 keys");
  ExpectOnly(WithElements({{{"text", "x"}, {"if", {{"not", {{"or", {true, {{"lt", {1}}}}}}}}}}}),
             "/pages/home/elements/0/if/not/or/1/lt", "\"lt\" takes two operands");
}

TEST(SiteTest, BadRegex) {
  ExpectOnly(WithElements({{{"text", "x"}, {"if", {{"matches", {"{state.q}", "(a"}}}}}}),
             "/pages/home/elements/0/if/matches/1", "bad regex \"(a\": missing )");
  ExpectOnly(WithElements({{{"text", "x"}, {"if", {{"matches", {"{state.q}", 5}}}}}}),
             "/pages/home/elements/0/if/matches/1", "expected an RE2 pattern (a string)");
}

TEST(SiteTest, BadEffects) {
  const auto with_do = [](json effect) {
    return WithElements({{{"button", "x"}, {"do", {std::move(effect)}}}});
  };
  ExpectOnly(with_do({{"sett", "q"}}), "/pages/home/elements/0/do/0",
             "an effect needs exactly one kind key (check, set, add, append, remove, reset, "
             "toggle, set_data, emit, end, goto); found none (keys: sett)");
  ExpectOnly(with_do({{"set", "q"}}), "/pages/home/elements/0/do/0", "\"set\" needs \"value\"");
  ExpectOnly(with_do({{"append", "q"}, {"value", 1}}), "/pages/home/elements/0/do/0/append",
             "\"append\" needs a list variable; state.q starts as the string \"\"");
  ExpectOnly(with_do({{"toggle", "n"}}), "/pages/home/elements/0/do/0/toggle",
             "\"toggle\" needs a boolean variable");
  ExpectOnly(with_do({{"add", "on"}, {"value", 1}}), "/pages/home/elements/0/do/0/add",
             "\"add\" needs a number variable");
  ExpectOnly(with_do({{"check", true}}), "/pages/home/elements/0/do/0", "missing \"error\"");
  ExpectOnly(with_do({{"set_data", "items"}, {"id", "a"}, {"field", "id"}, {"value", "z"}}),
             "/pages/home/elements/0/do/0/field", "cannot change an item's \"id\"");
  ExpectOnly(with_do({{"goto", "nowhere"}}), "/pages/home/elements/0/do/0/goto",
             "unknown page \"nowhere\"");
  ExpectOnly(with_do({{"emit", ""}}), "/pages/home/elements/0/do/0/emit",
             "the event name is empty");
  ExpectOnly(with_do({{"end", "x"}, {"value", 1}}), "/pages/home/elements/0/do/0/value",
             "unknown key \"value\" in an end effect");
  json s = Base();
  s["pages"]["home"]["on_open"] = {{{"goto", "item"}}};
  ExpectOnly(s, "/pages/home/on_open/0", "page \"item\" shows one item of \"items\"");
}

TEST(SiteTest, BadControls) {
  ExpectOnly(WithElements({{{"checkbox", "q"}}}), "/pages/home/elements/0/checkbox",
             "a checkbox needs a boolean variable; state.q starts as the string \"\"");
  ExpectOnly(WithElements({{{"input", "list"}}}), "/pages/home/elements/0/input",
             "an input needs a string or number variable");
  ExpectOnly(WithElements({{{"input", "q"}, {"kind", "email"}}}), "/pages/home/elements/0/kind",
             "unknown input kind \"email\"; expected text, password or number");
  ExpectOnly(WithElements({{{"select", "q"}}}), "/pages/home/elements/0",
             "a select needs \"options\"");
  ExpectOnly(WithElements({{{"select", "q"}, {"options", "S, M"}}}),
             "/pages/home/elements/0/options",
             "expected a list or a single path like \"{data.products}\", found the string");
  ExpectOnly(WithElements({{{"errors", false}}}), "/pages/home/elements/0/errors",
             "expected true, found false");
}

TEST(SiteTest, BadLists) {
  const auto list = [](json extra) {
    json l = {{"list", "{data.items}"}, {"as", "r"}, {"elements", {{{"text", "{r.name}"}}}}};
    for (auto& [k, v] : extra.items()) l[k] = v;
    return WithElements({l});
  };
  const json plain = {{{"text", "x"}}};
  ExpectOnly(list({{"as", "state"}, {"elements", plain}}), "/pages/home/elements/0/as",
             "\"state\" is reserved");
  ExpectOnly(list({{"as", "1x"}, {"elements", plain}}), "/pages/home/elements/0/as",
             "is not a name");
  ExpectOnly(list({{"limit", 0}}), "/pages/home/elements/0/limit",
             "expected an integer from 1 to 1000, found the number 0");
  ExpectOnly(list({{"sort", 3}}), "/pages/home/elements/0/sort", "expected a field name");
  ExpectOnly(list({{"search", {{"query", "{state.q}"}, {"fields", json::array()}}}}),
             "/pages/home/elements/0/search/fields", "must be a non-empty list of field names");
  ExpectOnly(list({{"search", {{"query", "{r.name}"}, {"fields", {"name"}}}}}),
             "/pages/home/elements/0/search/query", "unknown name \"r\"");
  ExpectOnly(list({{"list", "items"}}), "/pages/home/elements/0/list",
             "expected a list or a single path like \"{data.products}\", found the string "
             "\"items\"");
  ExpectOnly(list({{"empty", 3}}), "/pages/home/elements/0/empty", "expected a string");
  json s = list({});
  s["pages"]["home"]["elements"][0].erase("as");
  auto errors = Errors(s);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "/pages/home/elements/0");
  EXPECT_NE(errors[0].message.find("missing \"as\""), std::string::npos);
  // A row name already used by an enclosing list.
  ExpectOnly(
      WithElements(
          {{{"list", "{data.items}"},
            {"as", "r"},
            {"elements", {{{"list", "{data.items}"}, {"as", "r"}, {"elements", json::array()}}}}}}),
      "/pages/home/elements/0/elements/0/as", "is already the row of an enclosing list");
  // The row is in scope inside the list, not after it.
  ExpectOnly(WithElements({{{"list", "{data.items}"}, {"as", "r"}, {"elements", json::array()}},
                           {{"text", "{r.name}"}}}),
             "/pages/home/elements/1/text", "unknown name \"r\"");
}

TEST(SiteTest, NestingIsBounded) {
  json el = {{"text", "deep"}};
  for (int i = 0; i < 40; ++i) el = {{"section", "s"}, {"elements", {el}}};
  auto errors = Errors(WithElements({el}));
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_NE(errors[0].message.find("nested deeper than 32 levels"), std::string::npos);
  json c = true;
  for (int i = 0; i < 40; ++i) c = {{"not", c}};
  errors = Errors(WithElements({{{"text", "x"}, {"if", c}}}));
  ASSERT_EQ(errors.size(), 1u) << Dump(errors);
  EXPECT_NE(errors[0].message.find("condition nested deeper than 32"), std::string::npos);
}

TEST(SiteTest, EveryErrorIsCollected) {
  json s = Base();
  s["start"] = "nope";
  s["viewport_lines"] = 1;
  s["pages"]["home"]["elements"] = {{{"link", "x"}, {"to", "gone"}}, {{"text", "{state.zz}"}}};
  auto errors = Errors(s);
  ASSERT_EQ(errors.size(), 4u) << Dump(errors);
  std::vector<std::string> paths;
  for (const auto& e : errors) paths.push_back(e.path);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/viewport_lines", "/start", "/pages/home/elements/0/to",
                                      "/pages/home/elements/1/text"}));
}

TEST(SiteTest, PointerTokensAreEscaped) {
  json s = Base();
  s["pages"]["home"]["a/b"] = 1;
  ExpectOnly(s, "/pages/home/a~1b", "unknown key \"a/b\"");
}

TEST(SiteTest, FromFileReportsTheFile) {
  const std::string dir = ::testing::TempDir();
  const std::string bad = dir + "/bad_site.json";
  { std::ofstream(bad) << "{\"title\": \"T\", \"start\": \"home\", \"pages\": {\"home\": "; }
  std::vector<SiteError> errors;
  EXPECT_EQ(Site::FromFile(bad, &errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, bad);
  EXPECT_NE(errors[0].message.find("not valid JSON"), std::string::npos);
  EXPECT_NE(errors[0].message.find("line 1, column 51"), std::string::npos) << errors[0].message;

  errors.clear();
  EXPECT_EQ(Site::FromFile(dir + "/missing_site.json", &errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "cannot open the site file");

  const std::string wrong = dir + "/wrong_site.json";
  {
    json s = Base();
    s["pages"]["home"]["elements"] = {{{"link", "x"}, {"to", "chekout"}}};
    std::ofstream(wrong) << s.dump();
  }
  errors.clear();
  EXPECT_EQ(Site::FromFile(wrong, &errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString(),
            wrong + ": /pages/home/elements/0/to: unknown page \"chekout\"; pages: home, item");
}

TEST(SiteTest, ShippedExampleSiteIsValid) {
  std::vector<SiteError> errors;
  auto site = Site::FromFile(
      std::string(TOOLGYM_SOURCE_DIR) + "/docs/examples/sites/acme_shop.json", &errors);
  ASSERT_NE(site, nullptr) << Dump(errors);
  EXPECT_EQ(site->title(), "Acme Outfitters");
}

}  // namespace
}  // namespace toolgym::web
