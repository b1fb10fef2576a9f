// Browser: rendering, every element kind and effect, conditions, lists (search, where, sort,
// limit, offset), item pages, history, scrolling, stable ids, copies, errors, determinism, HTML.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "web/site.h"

namespace toolgym::web {
namespace {

using nlohmann::json;

std::shared_ptr<const Site> Load(const json& doc) {
  std::vector<SiteError> errors;
  auto site = Site::FromJson(doc, "test.json", &errors);
  std::string all;
  for (const auto& e : errors) all += e.ToString() + "\n";
  EXPECT_NE(site, nullptr) << all;
  return site;
}

std::shared_ptr<const Site> Shop() {
  std::vector<SiteError> errors;
  auto site = Site::FromFile(
      std::string(TOOLGYM_SOURCE_DIR) + "/docs/examples/sites/acme_shop.json", &errors);
  EXPECT_NE(site, nullptr);
  return site;
}

// A one-page site with `elements` and `state`.
std::shared_ptr<const Site> Page(json elements, json state = json::object(),
                                 json data = json::object()) {
  return Load({{"title", "S"},
               {"start", "home"},
               {"state", std::move(state)},
               {"data", std::move(data)},
               {"pages", {{"home", {{"title", "Home"}, {"elements", std::move(elements)}}}}}});
}

#define ASSERT_OK(r) ASSERT_TRUE((r).ok) << (r).error

TEST(BrowserTest, RendersTheStartPageAsNumberedText) {
  Browser b(Shop());
  EXPECT_EQ(b.page(), "home");
  EXPECT_EQ(b.Render(),
            "Acme Outfitters | Home\n"
            "heading \"Welcome to Acme Outfitters\"\n"
            "[1] input \"Search\" value=\"\" placeholder=\"shirts, sweaters...\"\n"
            "[2] button \"Search\"\n"
            "[3] link \"Cart (0)\"\n");
}

TEST(BrowserTest, SearchRanksByMatchedWordsAndKeepsDataOrderOnTies) {
  Browser b(Shop());
  ASSERT_OK(b.Type(1, "Red, COTTON!"));
  ASSERT_OK(b.Click(2));
  EXPECT_EQ(b.page(), "results");
  // p1 matches red + cotton; p3 only red; p2 nothing.
  EXPECT_EQ(b.Render(),
            "Acme Outfitters | Results for Red, COTTON!\n"
            "[1] link \"Home\"\n"
            "heading \"Results for: Red, COTTON!\"\n"
            "[2] link \"Red cotton shirt\"\n"
            "    text \"$19.50 · shirt · cotton, slim fit\"\n"
            "[3] link \"Red linen shirt\"\n"
            "    text \"$32.25 · shirt · linen, relaxed fit\"\n");
  ASSERT_OK(b.Click(1));
  ASSERT_OK(b.Type(1, "shirt"));  // a tie: data order
  ASSERT_OK(b.Click(2));
  auto els = b.Elements();
  ASSERT_EQ(els.size(), 3u);
  EXPECT_EQ(els[1].label, "Red cotton shirt");
  EXPECT_EQ(els[2].label, "Red linen shirt");
  ASSERT_OK(b.Click(1));
  ASSERT_OK(b.Type(1, "   "));  // no words: no rows
  ASSERT_OK(b.Click(2));
  EXPECT_NE(b.Render().find("text \"No results.\""), std::string::npos);
}

TEST(BrowserTest, ItemPagesChecksAndTheCart) {
  Browser b(Shop());
  ASSERT_OK(b.Type(1, "wool"));
  ASSERT_OK(b.Click(2));
  ASSERT_OK(b.Click(2));
  EXPECT_EQ(b.page(), "product");
  EXPECT_EQ(b.item(), std::optional<std::string>("p2"));
  EXPECT_EQ(b.Render(),
            "Acme Outfitters | Navy wool sweater\n"
            "heading \"Navy wool sweater\"\n"
            "text \"Price: $54.00\"\n"
            "[1] select \"Size\" value=\"\" options=[M, L, XL]\n"
            "[2] button \"Add to cart\"\n"
            "[3] link \"Back to results\"\n");
  // The check fails: its message shows where the page has {"errors": true}; nothing else ran.
  ASSERT_OK(b.Click(2));
  EXPECT_EQ(b.page(), "product");
  EXPECT_NE(b.Render().find("[1] select \"Size\" value=\"\" options=[M, L, XL]\n"
                            "error \"Choose a size first\"\n[2] button"),
            std::string::npos)
      << b.Render();
  EXPECT_EQ(b.state()["cart"], json::array());
  // An option not offered is an error naming the options; case is forgiven.
  auto r = b.Select(1, "S");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "[1] \"Size\" has no option \"S\"; options: M, L, XL");
  ASSERT_OK(b.Select(1, "xl"));
  EXPECT_EQ(b.state()["size"], "XL");
  ASSERT_OK(b.Click(2));
  EXPECT_EQ(b.page(), "cart");
  EXPECT_EQ(b.state()["cart"],
            json::parse(R"([{"id": "p2", "title": "Navy wool sweater", "size": "XL",
                            "price": 54}])"));
  EXPECT_EQ(b.Render(),
            "Acme Outfitters | Cart\n"
            "heading \"Your cart\"\n"
            "text \"Navy wool sweater (size XL) $54.00\"\n"
            "    [1] button \"Remove\"\n"
            "[2] input \"Email for the receipt\" value=\"\" placeholder=\"you@example.com\"\n"
            "[3] checkbox \"Send me the newsletter\" unchecked\n"
            "[4] button \"Buy now\"\n"
            "[5] link \"Continue shopping\"\n");
}

// A list written inline (or computed by a template) is evaluated while laying out the page; a
// click later binds the row it was drawn in. The rows must outlive the layout pass: this once
// read freed memory, so every featured-product link of the generated shops led to item "".
TEST(BrowserTest, ClicksInAnInlineListBindTheirRows) {
  auto site = Load(json::parse(R"({
    "title": "S", "start": "home", "state": {"picked": ""},
    "data": {"things": [{"id": "t1", "name": "One"}, {"id": "t2", "name": "Two"}]},
    "pages": {
      "home": {"title": "Home", "elements": [
        {"list": [{"id": "t2", "name": "Two"}, {"id": "t1", "name": "One"}], "as": "r",
         "elements": [{"link": "{r.name}", "to": "thing", "item": "{r.id}"}]},
        {"list": [{"k": "{state.picked}x"}, {"k": "y"}], "as": "c",
         "elements": [{"button": "pick {c.k}", "do": [{"set": "picked", "value": "{c.k}"}]}]}
      ]},
      "thing": {"title": "Thing", "item_of": "things",
                "elements": [{"heading": "{item.name}"}]}
    }})"));
  ASSERT_NE(site, nullptr);
  Browser b(site);
  EXPECT_EQ(b.Render(),
            "S | Home\n"
            "[1] link \"Two\"\n"
            "[2] link \"One\"\n"
            "[3] button \"pick x\"\n"
            "[4] button \"pick y\"\n");
  ASSERT_OK(b.Click(1));
  EXPECT_EQ(b.page(), "thing");
  EXPECT_EQ(b.item(), std::optional<std::string>("t2"));
  EXPECT_EQ(b.Render(), "S | Thing\nheading \"Two\"\n");
  ASSERT_OK(b.Back());
  ASSERT_OK(b.Click(2));
  EXPECT_EQ(b.item(), std::optional<std::string>("t1"));
  ASSERT_OK(b.Back());
  // A row computed from the state: the button sees the row as it was drawn.
  ASSERT_OK(b.Click(3));
  EXPECT_EQ(b.state()["picked"], "x");
  ASSERT_OK(b.Click(3));
  EXPECT_EQ(b.state()["picked"], "xx");
  ASSERT_OK(b.Click(4));
  EXPECT_EQ(b.state()["picked"], "y");
}

TEST(BrowserTest, OnOpenRunsOnNavigationButNotOnBack) {
  Browser b(Shop());
  ASSERT_OK(b.Type(1, "linen"));
  ASSERT_OK(b.Click(2));
  ASSERT_OK(b.Click(2));
  ASSERT_OK(b.Select(1, "M"));
  ASSERT_OK(b.Click(3));  // back to results (a link: navigation)
  ASSERT_OK(b.Back());    // back to the product: on_open does not run, size stays
  EXPECT_EQ(b.page(), "product");
  EXPECT_EQ(b.state()["size"], "M");
  ASSERT_OK(b.Click(3));
  ASSERT_OK(b.Click(2));  // navigating to it again resets the size
  EXPECT_EQ(b.state()["size"], "");
}

TEST(BrowserTest, PurchaseEmitsAnEventEndsAndRefusesFurtherActions) {
  Browser b(Shop());
  ASSERT_OK(b.Type(1, "cotton"));
  ASSERT_OK(b.Click(2));
  ASSERT_OK(b.Click(2));
  ASSERT_OK(b.Select(1, "S"));
  ASSERT_OK(b.Click(2));
  ASSERT_OK(b.Type(2, "not an email"));
  auto r = b.Click(4);
  ASSERT_OK(r);
  EXPECT_FALSE(r.ended);
  EXPECT_NE(b.Render().find("error \"Enter a valid email address\""), std::string::npos);
  EXPECT_EQ(b.events(), json::array());
  ASSERT_OK(b.Click(3));  // newsletter
  EXPECT_EQ(b.state()["newsletter"], true);
  ASSERT_OK(b.Type(2, "ada@example.com"));
  r = b.Click(4);
  ASSERT_OK(r);
  EXPECT_TRUE(r.ended);
  EXPECT_EQ(r.end_reason, "purchased");
  EXPECT_EQ(b.page(), "done");
  EXPECT_EQ(b.Snapshot(), json::parse(R"({
    "page": "done", "item": null,
    "state": {"query": "cotton", "size": "S", "email": "ada@example.com", "newsletter": true,
              "cart": [{"id": "p1", "title": "Red cotton shirt", "size": "S", "price": 19.5}]},
    "data": {},
    "events": [{"event": "purchase", "page": "cart",
                "value": {"email": "ada@example.com",
                          "items": [{"id": "p1", "title": "Red cotton shirt", "size": "S",
                                     "price": 19.5}]}}],
    "history": ["home", "results", "product", "cart", "done"]})"));
  auto after = b.Click(1);
  EXPECT_FALSE(after.ok);
  EXPECT_EQ(after.error, "the session has ended (purchased); no more actions are possible");
  EXPECT_FALSE(b.Back().ok);
}

TEST(BrowserTest, RemoveFromAListRowUsesThatRow) {
  auto site =
      Page({{{"list", "{state.cart}"},
             {"as", "c"},
             {"elements",
              {{{"text", "{c.n}"}},
               {{"button", "Remove {c.n}"}, {"do", {{{"remove", "cart"}, {"value", "{c}"}}}}}}},
             {"empty", "empty"}},
            {{"text", "{state.cart:count} left"}}},
           {{"cart", json::parse(R"([{"n": 1}, {"n": 2}, {"n": 1}, {"n": 3}])")}});
  Browser b(site);
  ASSERT_EQ(b.Elements().size(), 4u);
  ASSERT_OK(b.Click(3));  // "Remove 1" of the third row removes every equal item
  EXPECT_EQ(b.state()["cart"], json::parse(R"([{"n": 2}, {"n": 3}])"));
  EXPECT_EQ(b.Render(),
            "S | Home\n"
            "text \"2\"\n"
            "    [1] button \"Remove 2\"\n"
            "text \"3\"\n"
            "    [2] button \"Remove 3\"\n"
            "text \"2 left\"\n");
  ASSERT_OK(b.Click(2));
  ASSERT_OK(b.Click(1));
  EXPECT_EQ(b.Render(), "S | Home\ntext \"empty\"\ntext \"0 left\"\n");
}

TEST(BrowserTest, InputKindsAndTypingErrors) {
  auto site = Page({{{"input", "name"}, {"label", "Name"}},
                    {{"input", "pw"}, {"label", "Password"}, {"kind", "password"}},
                    {{"input", "qty"}, {"label", "Quantity"}, {"kind", "number"}},
                    {{"button", "Go"}},
                    {{"text", "qty+1={state.total}"}}},
                   {{"name", ""}, {"pw", ""}, {"qty", 1}, {"total", 0}});
  Browser b(site);
  ASSERT_OK(b.Type(1, "Ann \"the\" \n<b>"));
  ASSERT_OK(b.Type(2, "hunter2"));
  auto r = b.Type(3, "two");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "[3] \"Quantity\" takes a number; got \"two\"");
  ASSERT_OK(b.Type(3, " 12 "));
  EXPECT_EQ(b.state()["qty"], 12);
  EXPECT_TRUE(b.state()["qty"].is_number_integer());
  ASSERT_OK(b.Type(3, "2.5"));
  EXPECT_EQ(b.state()["qty"], 2.5);
  EXPECT_EQ(b.Render(),
            "S | Home\n"
            "[1] input \"Name\" value=\"Ann \\\"the\\\" \\n<b>\"\n"
            "[2] input \"Password\" type=password value=\"••••\"\n"
            "[3] input \"Quantity\" type=number value=\"2.5\"\n"
            "[4] button \"Go\"\n"
            "text \"qty+1=0\"\n");
  r = b.Type(4, "x");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error,
            "[4] is a button; type() works on inputs (inputs on this page: [1], [2], [3])");
  r = b.Click(1);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "[1] is an input: use type(1, text) to fill it in");
  r = b.Select(1, "x");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "[1] is an input; select() works on selects (selects on this page: none)");
  r = b.Type(1, std::string(1001, 'a'));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "the text has 1001 bytes; an input takes at most 1000");
  EXPECT_EQ(b.state()["name"], "Ann \"the\" \n<b>");
  ASSERT_OK(b.Type(1, std::string(1000, 'a')));
}

TEST(BrowserTest, UnknownIdsAreErrorsThatNameTheRange) {
  Browser b(Shop());
  for (int id : {0, -3, 4, 1000000}) {
    auto r = b.Click(id);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error,
              "no element [" + std::to_string(id) + "] on this page; ids go from [1] to [3]");
  }
  auto empty = Page({{{"text", "nothing to click"}}});
  Browser e(empty);
  EXPECT_EQ(e.Click(1).error, "no element [1]: this page has no interactive elements");
  EXPECT_EQ(e.Back().error, "there is no previous page: this is the first page of the session");
  EXPECT_EQ(e.Scroll("left").error, "scroll direction must be \"up\" or \"down\"; got \"left\"");
}

TEST(BrowserTest, EffectsSetAddResetToggleGotoAndIf) {
  auto site = Load(json::parse(R"({
    "title": "S", "start": "home",
    "state": {"n": 1, "flag": false, "word": "a", "log": []},
    "pages": {
      "home": {"title": "Home", "elements": [
        {"button": "Add 2", "do": [{"add": "n", "value": 2}, {"append": "log", "value": "add"}]},
        {"button": "Toggle", "do": [{"toggle": "flag"}]},
        {"button": "Set", "do": [{"set": "word", "value": "n is {state.n}"},
                                 {"set": "n", "value": 10, "if": {"eq": ["{state.flag}", true]}}]},
        {"button": "Reset", "do": [{"reset": "n"}, {"reset": "word"}]},
        {"button": "Jump", "do": [{"goto": "other"}], "to": "home"},
        {"text": "n={state.n} flag={state.flag} word={state.word} log={state.log}"}
      ]},
      "other": {"title": "Other", "elements": [{"text": "here"}]}
    }})"));
  Browser b(site);
  ASSERT_OK(b.Click(1));
  ASSERT_OK(b.Click(3));
  EXPECT_EQ(b.state()["n"], 3);  // flag false: the second set did not run
  EXPECT_EQ(b.state()["word"], "n is 3");
  ASSERT_OK(b.Click(2));
  ASSERT_OK(b.Click(3));
  EXPECT_EQ(b.state()["n"], 10);
  EXPECT_NE(b.Render().find("text \"n=10 flag=true word=n is 3 log=add\""), std::string::npos)
      << b.Render();
  ASSERT_OK(b.Click(4));
  EXPECT_EQ(b.state()["n"], 1);
  EXPECT_EQ(b.state()["word"], "a");
  ASSERT_OK(b.Click(5));  // goto overrides `to`
  EXPECT_EQ(b.page(), "other");
}

TEST(BrowserTest, SetDataChangesOneItemAndSnapshotShowsOnlyChangedCollections) {
  auto site = Load(json::parse(R"({
    "title": "Admin", "start": "users",
    "data": {"users": [{"id": "u1", "name": "Ann", "disabled": false},
                       {"id": "u2", "name": "Bob", "disabled": false}],
             "roles": [{"id": "r1"}]},
    "pages": {"users": {"title": "Users", "elements": [
      {"list": "{data.users}", "as": "u", "elements": [
        {"text": "{u.name}: {u.disabled}"},
        {"button": "Disable {u.name}", "if": {"not": {"eq": ["{u.disabled}", true]}},
         "do": [{"set_data": "users", "id": "{u.id}", "field": "disabled", "value": true}]}]},
      {"list": "{data.users}", "as": "u", "where": {"eq": ["{u.disabled}", true]},
       "elements": [{"text": "disabled: {u.name}"}]}]}}})"));
  Browser b(site);
  EXPECT_EQ(b.Snapshot()["data"], json::object());
  ASSERT_OK(b.Click(2));  // Disable Bob
  EXPECT_EQ(b.Render(),
            "Admin | Users\n"
            "text \"Ann: false\"\n"
            "    [1] button \"Disable Ann\"\n"
            "text \"Bob: true\"\n"
            "text \"disabled: Bob\"\n");
  EXPECT_EQ(b.Snapshot()["data"], json::parse(R"({"users": [
      {"id": "u1", "name": "Ann", "disabled": false},
      {"id": "u2", "name": "Bob", "disabled": true}]})"));
  // The site itself is untouched: a new session starts from the original data.
  Browser fresh(site);
  EXPECT_EQ(fresh.Elements().size(), 2u);
}

TEST(BrowserTest, ConditionOperators) {
  // Each text shows only when its condition holds; the rendering lists the ones that hold.
  json conds = json::parse(R"([
    ["eq num", {"eq": ["{state.n}", 3.0]}],
    ["eq str no", {"eq": ["{state.s}", "HELLO world"]}],
    ["ne", {"ne": ["{state.s}", "x"]}],
    ["lt", {"lt": ["{state.n}", 4]}],
    ["le", {"le": ["{state.n}", 3]}],
    ["gt no", {"gt": ["{state.n}", 3]}],
    ["ge numeric string", {"ge": ["{state.ns}", 10]}],
    ["lt non-number no", {"lt": ["{state.s}", 10]}],
    ["contains list ci", {"contains": ["{state.tags}", "COTTON"]}],
    ["contains list no", {"contains": ["{state.tags}", "silk"]}],
    ["contains substring ci", {"contains": ["{state.s}", "WORLD"]}],
    ["matches", {"matches": ["{state.s}", "^hel+o\\s"]}],
    ["matches no", {"matches": ["{state.s}", "^world"]}],
    ["empty", {"empty": "{state.e}"}],
    ["empty list", {"empty": "{state.el}"}],
    ["empty missing field", {"empty": "{state.obj.nope}"}],
    ["empty no", {"empty": "{state.s}"}],
    ["and", {"and": [true, {"eq": ["{state.obj.k}", "v"]}]}],
    ["or no", {"or": [false, {"eq": [1, 2]}]}],
    ["not", {"not": false}],
    ["index", {"eq": ["{state.tags.1}", "slim"]}],
    ["true", true],
    ["false no", false]
  ])");
  json elements = json::array();
  std::string expected = "S | Home\n";
  for (const json& c : conds) {
    elements.push_back({{"text", c[0]}, {"if", c[1]}});
    const std::string label = c[0];
    if (label.size() < 3 || label.substr(label.size() - 3) != " no")
      expected += "text \"" + label + "\"\n";
  }
  auto site = Page(elements, json::parse(R"({"n": 3, "s": "hello world", "ns": "12",
      "tags": ["cotton", "slim"], "e": "", "el": [], "obj": {"k": "v"}})"));
  Browser b(site);
  EXPECT_EQ(b.Render(), expected);
}

TEST(BrowserTest, ListWhereSortLimitOffsetAndFormats) {
  json data = {{"items", json::parse(R"([
    {"id": "a", "name": "Apple", "price": 3.5, "kind": "fruit"},
    {"id": "b", "name": "Bread", "price": 2, "kind": "bakery"},
    {"id": "c", "name": "Cherry", "price": 7.25, "kind": "fruit"},
    {"id": "d", "name": "Date", "kind": "fruit"},
    {"id": "e", "name": "Eclair", "price": 4, "kind": "bakery"}])")}};
  auto site = Page({{{"list", "{data.items}"},
                     {"as", "i"},
                     {"where", {{"eq", {"{i.kind}", "fruit"}}}},
                     {"sort", "-price"},
                     {"elements", {{{"text", "{i.name} {i.price:.2f}"}}}}},
                    {{"section", "cheapest two after the first"},
                     {"elements",
                      {{{"list", "{data.items}"},
                        {"as", "i"},
                        {"sort", "price"},
                        {"offset", "{state.off}"},
                        {"limit", 2},
                        {"elements", {{{"text", "{i.name}"}}}}}}}}},
                   {{"off", 1}}, data);
  Browser b(site);
  // Missing sort fields go last in both directions.
  EXPECT_EQ(b.Render(),
            "S | Home\n"
            "text \"Cherry 7.25\"\n"
            "text \"Apple 3.50\"\n"
            "text \"Date \"\n"
            "section \"cheapest two after the first\"\n"
            "  text \"Apple\"\n"
            "  text \"Eclair\"\n");
}

TEST(BrowserTest, ScrollMovesTheViewportButNotTheIds) {
  json elements = json::array();
  for (int i = 1; i <= 25; ++i)
    elements.push_back(
        {{"button", "B" + std::to_string(i)}, {"do", {{{"set", "last"}, {"value", i}}}}});
  auto site = Load({{"title", "S"},
                    {"start", "home"},
                    {"viewport_lines", 10},
                    {"state", {{"last", 0}}},
                    {"pages", {{"home", {{"elements", elements}}}}}});
  Browser b(site);
  std::string first = b.Render();
  EXPECT_EQ(first.substr(0, 9), "S | home\n");
  EXPECT_NE(first.find("[10] button \"B10\"\n(lines 1-10 of 25; scroll down for more)\n"),
            std::string::npos)
      << first;
  EXPECT_EQ(b.Scroll("up").error, "already at the top of the page (lines 1-10 of 25)");
  ASSERT_OK(b.Scroll("down"));  // by 10 - 2 lines
  std::string second = b.Render();
  EXPECT_NE(second.find("S | home\n[9] button \"B9\"\n"), std::string::npos) << second;
  EXPECT_NE(second.find("(lines 9-18 of 25; scroll up or down for more)"), std::string::npos);
  ASSERT_OK(b.Scroll("down"));  // clamped at the bottom
  EXPECT_NE(b.Render().find("(lines 16-25 of 25; scroll up for more)"), std::string::npos);
  EXPECT_EQ(b.Scroll("down").error, "already at the bottom of the page (lines 16-25 of 25)");
  // Ids are global: [2] is off screen and still clickable.
  ASSERT_OK(b.Click(2));
  EXPECT_EQ(b.state()["last"], 2);
  ASSERT_OK(b.Scroll("up"));
  ASSERT_OK(b.Scroll("up"));
  EXPECT_EQ(b.Render(), first);
}

TEST(BrowserTest, BackKeepsTheStateAndNavigationResetsTheScroll) {
  auto site = Load(json::parse(R"({
    "title": "S", "start": "a", "state": {"visits": 0},
    "pages": {
      "a": {"title": "A", "elements": [{"link": "to B", "to": "b",
                                        "do": [{"add": "visits", "value": 1}]}]},
      "b": {"title": "B", "elements": [{"link": "to A", "to": "a"}]}}})"));
  Browser b(site);
  ASSERT_OK(b.Click(1));
  ASSERT_OK(b.Click(1));
  ASSERT_OK(b.Click(1));
  EXPECT_EQ(b.page(), "b");
  ASSERT_OK(b.Back());
  EXPECT_EQ(b.page(), "a");
  ASSERT_OK(b.Back());
  EXPECT_EQ(b.page(), "b");
  ASSERT_OK(b.Back());
  EXPECT_EQ(b.page(), "a");
  EXPECT_FALSE(b.Back().ok);
  EXPECT_EQ(b.state()["visits"], 2);  // not rolled back
  EXPECT_EQ(b.Snapshot()["history"], json::parse(R"(["a", "b", "a", "b", "a", "b", "a"])"));
}

TEST(BrowserTest, OnOpenRedirectReplacesTheHistoryEntry) {
  auto site = Load(json::parse(R"({
    "title": "S", "start": "home", "state": {"signed_in": false, "email": ""},
    "pages": {
      "home": {"title": "Home", "elements": [{"link": "Account", "to": "account"}]},
      "account": {"title": "Account",
                  "on_open": [{"goto": "signin", "if": {"eq": ["{state.signed_in}", false]}}],
                  "elements": [{"text": "Hello {state.email}"}]},
      "signin": {"title": "Sign in", "elements": [
        {"input": "email", "label": "Email"},
        {"button": "Sign in", "to": "account",
         "do": [{"check": {"matches": ["{state.email}", "@"]}, "error": "Email needs an @"},
                {"check": {"not": {"empty": "{state.email}"}}, "error": "Email is required"},
                {"set": "signed_in", "value": true}]}]}}})"));
  Browser b(site);
  ASSERT_OK(b.Click(1));
  EXPECT_EQ(b.page(), "signin");
  ASSERT_OK(b.Click(2));  // both checks fail; the messages show at the top
  EXPECT_EQ(b.Render(),
            "S | Sign in\n"
            "error \"Email needs an @\"\n"
            "error \"Email is required\"\n"
            "[1] input \"Email\" value=\"\"\n"
            "[2] button \"Sign in\"\n");
  ASSERT_OK(b.Type(1, "a@b.c"));
  ASSERT_OK(b.Click(2));
  EXPECT_EQ(b.page(), "account");
  EXPECT_EQ(b.Render(), "S | Account\ntext \"Hello a@b.c\"\n");
  ASSERT_OK(b.Back());  // to sign-in (pushed by the click), then home: the redirect replaced
  EXPECT_EQ(b.page(), "signin");
  ASSERT_OK(b.Back());
  EXPECT_EQ(b.page(), "home");
}

TEST(BrowserTest, RedirectLoopsAreASiteErrorNotAHang) {
  auto site = Load(json::parse(R"({
    "title": "S", "start": "home",
    "pages": {
      "home": {"title": "Home", "elements": [{"link": "Loop", "to": "a"}]},
      "a": {"on_open": [{"goto": "b"}], "elements": []},
      "b": {"on_open": [{"goto": "a"}], "elements": []}}})"));
  Browser b(site);
  auto r = b.Click(1);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("more than 8 redirects"), std::string::npos) << r.error;
}

TEST(BrowserTest, CopiesAreIndependent) {
  Browser a(Shop());
  ASSERT_OK(a.Type(1, "shirt"));
  ASSERT_OK(a.Click(2));
  const std::string before = a.Render();
  const json snap = a.Snapshot();
  Browser fork = a;
  ASSERT_OK(fork.Click(2));
  ASSERT_OK(fork.Select(1, "M"));
  ASSERT_OK(fork.Click(2));
  EXPECT_EQ(fork.page(), "cart");
  EXPECT_EQ(a.Render(), before);
  EXPECT_EQ(a.Snapshot(), snap);
  ASSERT_OK(a.Click(3));  // the original goes elsewhere
  EXPECT_EQ(a.item(), std::optional<std::string>("p3"));
  EXPECT_EQ(fork.state()["cart"][0]["id"], "p1");
  Browser assigned(Shop());
  assigned = fork;
  EXPECT_EQ(assigned.Snapshot(), fork.Snapshot());
  EXPECT_EQ(assigned.Render(), fork.Render());
}

TEST(BrowserTest, DeterministicAndByteIdenticalRendering) {
  const auto play = [](Browser& b) {
    std::string all;
    (void)b.Type(1, "red");
    (void)b.Click(2);
    all += b.Render();
    (void)b.Click(3);
    (void)b.Select(1, "s");
    (void)b.Click(2);
    all += b.Render() + b.Snapshot().dump();
    return all;
  };
  auto site = Shop();
  Browser x(site), y(site);
  EXPECT_EQ(play(x), play(y));
  EXPECT_EQ(x.Render(), x.Render());
  EXPECT_EQ(x.RenderHtml(), y.RenderHtml());
}

TEST(BrowserTest, HtmlHasTheSameIdsEscapedText) {
  auto site = Page({{{"heading", "<script>alert(1)</script>"}},
                    {{"link", "A & B"}, {"to", "home"}},
                    {{"select", "size"}, {"label", "Size"}, {"options", {"S", "M"}}},
                    {{"input", "q"}, {"label", "Q"}}},
                   {{"size", "M"}, {"q", "x\"y"}});
  Browser b(site);
  const std::string html = b.RenderHtml("last action failed");
  EXPECT_NE(html.find("<title>S | Home</title>"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("data-tg-id=\"1\">A &amp; B</button>"), std::string::npos) << html;
  EXPECT_NE(html.find("<option selected>M</option>"), std::string::npos);
  EXPECT_NE(html.find("value=\"x&quot;y\" placeholder=\"\" data-tg-id=\"3\""), std::string::npos);
  EXPECT_NE(html.find("id=\"tg-notice\">last action failed</p>"), std::string::npos);
  EXPECT_NE(html.find("<pre id=\"tg-agent-view\">S | Home\n"), std::string::npos);
}

TEST(BrowserTest, ElementsDescribeTheControls) {
  Browser b(Shop());
  auto els = b.Elements();
  ASSERT_EQ(els.size(), 3u);
  EXPECT_EQ(els[0].id, 1);
  EXPECT_EQ(els[0].kind, "input");
  EXPECT_EQ(els[1].kind, "button");
  EXPECT_EQ(els[1].name, "search");
  EXPECT_EQ(els[2].kind, "link");
  EXPECT_EQ(els[2].label, "Cart (0)");
}

TEST(BrowserTest, HostileTextStaysBounded) {
  auto site = Page({{{"input", "q"}, {"label", "Q"}},
                    {{"text", "match"}, {"if", {{"matches", {"{state.q}", "(a+)+$"}}}}},
                    {{"list", "{data.rows}"},
                     {"as", "r"},
                     {"search", {{"query", "{state.q}"}, {"fields", {"t"}}}},
                     {"elements", {{{"text", "{r.t}"}}}}}},
                   {{"q", ""}}, {{"rows", {{{"t", "a b"}}}}});
  Browser b(site);
  // RE2 runs in linear time: a classic catastrophic-backtracking input is instant.
  ASSERT_OK(b.Type(1, std::string(999, 'a') + "!"));
  EXPECT_EQ(b.Render().find("text \"match\""), std::string::npos);
  ASSERT_OK(b.Type(1, std::string(1000, 'a')));
  EXPECT_NE(b.Render().find("text \"match\""), std::string::npos);
  // Many query words, control characters: one line per element, bounded.
  std::string q;
  for (int i = 0; i < 300; ++i) q += "b\x01 ";
  ASSERT_OK(b.Type(1, q.substr(0, 1000)));
  const std::string page = b.Render();
  EXPECT_NE(page.find("\\u0001"), std::string::npos);
  EXPECT_NE(page.find("text \"a b\""), std::string::npos);
  EXPECT_LT(page.size(), 2300u);
}

TEST(BrowserTest, StateListsAreBounded) {
  auto site = Page({{{"button", "More"}, {"do", {{{"append", "l"}, {"value", 1}}}}}},
                   {{"l", json::array()}});
  Browser b(site);
  for (int i = 0; i < 1000; ++i) ASSERT_OK(b.Click(1));
  auto r = b.Click(1);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "site error at /pages/home/elements/0/do/0: state.l is full (1000 items)");
  EXPECT_EQ(b.state()["l"].size(), 1000u);
}

}  // namespace
}  // namespace toolgym::web
