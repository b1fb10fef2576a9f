// Web site generators: whole sites in the toolgym.site/1 format (web/site.h, docs/sites.md) for
// the web env, each with the goal a verifier checks and the pieces an instruction shows.
//
//   web_shop   a shop in the style of WebShop (search, results with a price filter, product
//              pages with options, cart, checkout); the goal is a product type with attributes,
//              options and a price cap; three levels of distractors
//   web_form   a checkout in several pages (sign-in, address, delivery, review) whose checks
//              reject a bad email, missing fields and postcodes in the wrong format
//   web_wiki   a wiki of people, organizations and cities linked to each other; a fact two links
//              away from a named article
//   web_admin  an admin panel (settings saved from drafts, users that can be disabled); the goal
//              is a state
//
// Every site is built from the task's Rng only, so a (scenario, version, seed) gives the same
// site everywhere. The generated goal is checked against the generated data before it is
// returned (the target product is the only one that meets the goal, the fact is on exactly one
// article...), so a generator bug surfaces as an error at load time rather than as an
// unsolvable task.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "common/check.h"
#include "scenarios/generator_util.h"
#include "scenarios/generators.h"

namespace toolgym::scenarios {
namespace {

using json = nlohmann::json;
using namespace genutil;  // NOLINT: the helpers are this file's vocabulary

// ---------------------------------------------------------------------------------------------
// Site building blocks. Objects are built key by key: nlohmann's initializer lists would turn
// {"text", x} pairs into arrays or objects depending on their contents.

json Obj(std::initializer_list<std::pair<const char*, json>> fields) {
  json o = json::object();
  for (const auto& [k, v] : fields) o[k] = v;
  return o;
}

json Heading(const std::string& text) { return Obj({{"heading", text}}); }
json Text(const std::string& text) { return Obj({{"text", text}}); }
json Link(const std::string& label, const std::string& to) {
  return Obj({{"link", label}, {"to", to}});
}
json ItemLink(const std::string& label, const std::string& to, const std::string& item) {
  return Obj({{"link", label}, {"to", to}, {"item", item}});
}
json Button(const std::string& label, json effects, const std::string& to = "") {
  json b = Obj({{"button", label}, {"do", std::move(effects)}});
  if (!to.empty()) b["to"] = to;
  return b;
}
json Input(const std::string& var, const std::string& label, const std::string& kind = "text") {
  return Obj({{"input", var}, {"label", label}, {"kind", kind}});
}
json Select(const std::string& var, const std::string& label, json options) {
  return Obj({{"select", var}, {"label", label}, {"options", std::move(options)}});
}
json Checkbox(const std::string& var, const std::string& label) {
  return Obj({{"checkbox", var}, {"label", label}});
}
json Errors() { return Obj({{"errors", true}}); }
json If(json element, json cond) {
  element["if"] = std::move(cond);
  return element;
}
json Named(json element, const std::string& name) {
  element["name"] = name;
  return element;
}

json Eq(json a, json b) { return Obj({{"eq", json::array({std::move(a), std::move(b)})}}); }
json Ne(json a, json b) { return Obj({{"ne", json::array({std::move(a), std::move(b)})}}); }
json Le(json a, json b) { return Obj({{"le", json::array({std::move(a), std::move(b)})}}); }
json Empty(json a) { return Obj({{"empty", std::move(a)}}); }
json Not(json c) { return Obj({{"not", std::move(c)}}); }
json Or(json cs) { return Obj({{"or", std::move(cs)}}); }
json And(json cs) { return Obj({{"and", std::move(cs)}}); }
json Matches(json a, const std::string& re) {
  return Obj({{"matches", json::array({std::move(a), re})}});
}

json Check(json cond, const std::string& error) {
  return Obj({{"check", std::move(cond)}, {"error", error}});
}
json Set(const std::string& var, json value) { return Obj({{"set", var}, {"value", value}}); }
json Reset(const std::string& var) { return Obj({{"reset", var}}); }
json Emit(const std::string& name, json value) {
  return Obj({{"emit", name}, {"value", std::move(value)}});
}
json End(const std::string& reason) { return Obj({{"end", reason}}); }

json Page(const std::string& title, json elements) {
  return Obj({{"title", title}, {"elements", std::move(elements)}});
}

std::string Capitalize(std::string s) {
  bool start = true;
  for (char& c : s) {
    if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    start = c == ' ' || c == '-';
  }
  return s;
}

std::string JoinStrings(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += sep;
    out += v[i];
  }
  return out;
}

// "a", "a and b", "a, b and c".
std::string EnglishList(const std::vector<std::string>& v) {
  if (v.size() <= 1) return v.empty() ? "" : v[0];
  std::vector<std::string> head(v.begin(), v.end() - 1);
  return JoinStrings(head, ", ") + " and " + v.back();
}

// Digits with thousands separators: 1234567 -> "1,234,567".
std::string Grouped(std::int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// k distinct items of `pool`, in random order.
std::vector<std::string> Pick(Rng& rng, const std::vector<std::string>& pool, std::size_t k) {
  std::vector<std::string> out;
  for (std::size_t i : rng.Sample(pool.size(), std::min(k, pool.size()))) out.push_back(pool[i]);
  return out;
}

// k distinct items of `pool` in pool order (options are listed in their natural order).
std::vector<std::string> PickOrdered(Rng& rng, const std::vector<std::string>& pool,
                                     std::size_t k) {
  std::vector<std::size_t> idx = rng.Sample(pool.size(), std::min(k, pool.size()));
  std::sort(idx.begin(), idx.end());
  std::vector<std::string> out;
  for (std::size_t i : idx) out.push_back(pool[i]);
  return out;
}

StatusOr<std::string> GetChoice(const json& args, std::string_view key, std::string def,
                                const std::vector<std::string>& allowed) {
  TG_ASSIGN_OR_RETURN(std::string v, GetString(args, key, def));
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    return InvalidArgumentError("'{}' must be one of {}, got \"{}\"", key,
                                JoinStrings(allowed, ", "), v);
  }
  return v;
}

const std::vector<std::string>& Names() { return *BuiltinList("names"); }
const std::vector<std::string>& Surnames() { return *BuiltinList("surnames"); }

// ---------------------------------------------------------------------------------------------
// web_shop

struct OptionDim {
  std::string name;
  std::vector<std::string> values;
};

struct Department {
  std::string name;
  std::vector<std::string> types;       // distinct head words, no punctuation
  std::vector<std::string> attributes;  // none contains another or a type's word
  std::vector<OptionDim> dims;          // the goal uses the first 1, 2 or 3
};

const std::vector<Department>& Departments() {
  static const std::vector<Department> kDepts = {
      {"clothing",
       {"polo shirt", "hoodie", "rain jacket", "sweater", "jeans", "cargo shorts", "dress",
        "fleece vest"},
       {"cotton", "organic", "slim fit", "relaxed fit", "machine washable", "long sleeve",
        "short sleeve", "wrinkle free", "water resistant", "quick dry", "stretch", "recycled",
        "lightweight", "breathable"},
       {{"size", {"XS", "S", "M", "L", "XL", "XXL"}},
        {"color", {"black", "white", "navy", "grey", "red", "green", "beige", "olive", "burgundy"}},
        {"style", {"classic", "modern", "vintage", "sport"}}}},
      {"footwear",
       {"running shoes", "hiking boots", "sandals", "sneakers", "slippers", "loafers", "clogs"},
       {"waterproof", "lightweight", "non slip", "memory foam", "breathable", "leather", "vegan",
        "wide toe box", "arch support", "cushioned", "recycled", "padded collar"},
       {{"size", {"6", "7", "8", "9", "10", "11", "12"}},
        {"color", {"black", "white", "brown", "grey", "navy", "tan", "red"}},
        {"width", {"narrow", "regular", "wide", "extra wide"}}}},
      {"kitchen",
       {"coffee maker", "blender", "frying pan", "knife set", "kettle", "toaster", "cutting board",
        "food container"},
       {"stainless steel", "nonstick", "dishwasher safe", "bpa free", "cordless", "programmable",
        "compact", "induction compatible", "heat resistant", "easy clean", "glass", "bamboo"},
       {{"color", {"black", "white", "silver", "red", "blue", "green", "cream"}},
        {"size", {"small", "medium", "large"}},
        {"finish", {"matte", "glossy", "brushed", "enamel"}}}},
      {"electronics",
       {"wireless earbuds", "phone case", "power bank", "charging cable", "bluetooth speaker",
        "smart watch", "laptop stand", "webcam"},
       {"fast charging", "noise cancelling", "waterproof", "usb c", "long battery life",
        "shockproof", "magnetic", "foldable", "portable", "adjustable", "compact",
        "high definition"},
       {{"color", {"black", "white", "silver", "blue", "rose gold", "green"}},
        {"model", {"standard", "plus", "pro", "mini"}},
        {"pack", {"1 pack", "2 pack", "3 pack"}}}},
      {"home",
       {"throw pillow", "bath towel", "sheet set", "blackout curtain", "area rug", "desk lamp",
        "storage basket", "duvet cover"},
       {"machine washable", "hypoallergenic", "organic cotton", "soft", "non slip", "dimmable",
        "energy efficient", "quick dry", "wrinkle free", "handmade", "recycled", "fade resistant"},
       {{"size", {"twin", "full", "queen", "king"}},
        {"color", {"white", "grey", "blue", "beige", "sage", "charcoal"}},
        {"pack", {"1 pack", "2 pack", "4 pack"}}}},
  };
  return kDepts;
}

// Every option name any department uses, in the order product pages show them.
const std::vector<std::string>& AllOptionNames() {
  static const std::vector<std::string> kNames = {"size",   "color", "style", "width",
                                                  "finish", "model", "pack"};
  return kNames;
}

const std::vector<std::string>& Brands() {
  static const std::vector<std::string> kBrands = {
      "Alder",  "Birchwood", "Cobalt",  "Dune",   "Ember", "Fjord",     "Granite", "Harbor",
      "Indigo", "Juniper",   "Kestrel", "Lumen",  "Maple", "Northwind", "Orchid",  "Pinecrest",
      "Quarry", "Redwood",   "Summit",  "Tundra", "Umber", "Vista",     "Willow",  "Yarrow",
      "Zephyr", "Aspen",     "Brook",   "Cedar",  "Drift", "Everest"};
  return kBrands;
}

struct Product {
  std::string id;
  std::string title;
  std::string type;
  std::size_t dept = 0;
  std::vector<std::string> attributes;
  std::int64_t cents = 0;
  std::map<std::string, std::vector<std::string>> options;  // every AllOptionNames() key
  std::string role;  // "target", "missing_attribute", "over_price", "other_type", "filler"
};

struct ShopLevel {
  IntRange products;
  int goal_attributes_min, goal_attributes_max;
  int goal_options;
  int missing_attribute;  // same type, one goal attribute missing, within the cap
  int over_price;         // same type and attributes, over the cap
  int other_type;         // same department and attributes, another type, within the cap
};

ShopLevel LevelSettings(const std::string& level) {
  if (level == "easy") return {{6, 8}, 1, 1, 1, 0, 0, 0};
  if (level == "medium") return {{16, 22}, 2, 2, 2, 2, 2, 1};
  return {{40, 56}, 2, 3, 3, 4, 3, 2};  // hard
}

bool HasAll(const std::vector<std::string>& have, const std::vector<std::string>& want) {
  for (const auto& w : want) {
    if (std::find(have.begin(), have.end(), w) == have.end()) return false;
  }
  return true;
}

// Draws `n` attributes of `pool` that include every one of `must` and none of `never`.
std::vector<std::string> DrawAttributes(Rng& rng, const std::vector<std::string>& pool,
                                        const std::vector<std::string>& must,
                                        const std::vector<std::string>& never, std::size_t n) {
  std::vector<std::string> out = must;
  std::vector<std::string> rest;
  for (const auto& a : pool) {
    if (std::find(must.begin(), must.end(), a) == must.end() &&
        std::find(never.begin(), never.end(), a) == never.end()) {
      rest.push_back(a);
    }
  }
  rng.Shuffle(rest);
  for (std::size_t i = 0; out.size() < n && i < rest.size(); ++i) out.push_back(rest[i]);
  rng.Shuffle(out);
  return out;
}

std::int64_t RandomCents(Rng& rng, std::int64_t lo_dollars, std::int64_t hi_dollars) {
  static const std::vector<std::int64_t> kEndings = {0, 49, 95, 99, 50, 25};
  std::int64_t dollars = rng.UniformInt(lo_dollars, std::max(lo_dollars, hi_dollars));
  return dollars * 100 + rng.Choice(kEndings);
}

json ProductJson(const Product& p, const std::vector<Department>& depts) {
  json options = json::object();
  for (const auto& name : AllOptionNames()) {
    auto it = p.options.find(name);
    options[name] = it == p.options.end() ? json::array() : json(it->second);
  }
  json j = json::object();
  j["id"] = p.id;
  j["title"] = p.title;
  j["category"] = p.type;
  j["department"] = depts[p.dept].name;
  j["attributes"] = p.attributes;
  j["price"] = ScaledToDouble(p.cents, 2);
  j["price_text"] = FormatScaled(p.cents, 2);
  j["options"] = std::move(options);
  j["description"] =
      fmt::format("{} {} from {}: {}.", Capitalize(p.attributes.empty() ? "" : p.attributes[0]),
                  p.type, p.title.substr(0, p.title.find(' ')), JoinStrings(p.attributes, ", "));
  return j;
}

// The product page's purchase record: what "Buy now" emits and "Add to cart" appends.
json PurchaseValue() {
  json options = json::object();
  for (const auto& name : AllOptionNames()) options[name] = "{state." + name + "}";
  json v = json::object();
  v["product"] = "{item.id}";
  v["title"] = "{item.title}";
  v["category"] = "{item.category}";
  v["attributes"] = "{item.attributes}";
  v["price"] = "{item.price}";
  v["price_text"] = "{item.price_text}";
  v["department"] = "{item.department}";
  v["options"] = std::move(options);
  return v;
}

json ShopSite(const std::string& shop_name, const json& products, const json& featured,
              int viewport) {
  json state = json::object();
  state["query"] = "";
  state["max_price"] = "";
  state["cart"] = json::array();
  for (const auto& name : AllOptionNames()) state[name] = "";

  json search = Obj(
      {{"query", "{state.query}"}, {"fields", json::array({"title", "category", "attributes"})}});
  json price_filter =
      Or(json::array({Empty("{state.max_price}"), Le("{p.price}", "{state.max_price}")}));
  json row = json::array({ItemLink("{p.title}", "product", "{p.id}"),
                          Text("{p.category} | ${p.price_text} | {p.attributes}")});

  json home = json::array();
  home.push_back(Input("query", "Search"));
  home.push_back(Button("Search", json::array(), "results"));
  home.push_back(Link("Cart", "cart"));
  home.push_back(Heading("Welcome to " + shop_name));
  home.push_back(
      Text("Search for a product by its type and features, e.g. \"waterproof sandals\"."));
  json feat = Obj({{"list", featured},
                   {"as", "p"},
                   {"elements", json::array({ItemLink("{p.title}", "product", "{p.id}")})}});
  home.push_back(Obj({{"section", "Featured"}, {"elements", json::array({feat})}}));

  json results = json::array();
  results.push_back(Link("Home", "home"));
  results.push_back(Link("Cart", "cart"));
  results.push_back(Input("query", "Search"));
  results.push_back(Button("Search", json::array(), "results"));
  results.push_back(Input("max_price", "Max price", "number"));
  results.push_back(Heading("Results for: {state.query}"));
  results.push_back(Named(Obj({{"list", "{data.products}"},
                               {"as", "p"},
                               {"search", search},
                               {"where", price_filter},
                               {"limit", 50},
                               {"empty", "No products match your search."},
                               {"elements", row}}),
                          "results"));

  json product = json::array();
  product.push_back(Link("Back to results", "results"));
  product.push_back(Link("Cart", "cart"));
  product.push_back(Heading("{item.title}"));
  product.push_back(Text("Price: ${item.price_text}"));
  product.push_back(Text("Type: {item.category}"));
  product.push_back(Text("Features: {item.attributes}"));
  product.push_back(Text("{item.description}"));
  json checks = json::array();
  json on_open = json::array();
  for (const auto& name : AllOptionNames()) {
    const std::string opts = "{item.options." + name + "}";
    product.push_back(If(Select(name, name, opts), Not(Empty(opts))));
    checks.push_back(Check(Or(json::array({Empty(opts), Not(Empty("{state." + name + "}"))})),
                           "Please choose a " + name + "."));
    on_open.push_back(Reset(name));
  }
  product.push_back(Errors());
  json add = checks;
  add.push_back(Obj({{"append", "cart"}, {"value", PurchaseValue()}}));
  product.push_back(Named(Button("Add to cart", add, "cart"), "add_to_cart"));
  json buy = checks;
  buy.push_back(Emit("purchase", PurchaseValue()));
  buy.push_back(End("purchase"));
  product.push_back(Named(Button("Buy now", buy), "buy_now"));

  json cart = json::array();
  cart.push_back(Link("Home", "home"));
  cart.push_back(Link("Continue shopping", "results"));
  cart.push_back(Heading("Your cart"));
  cart.push_back(
      Obj({{"list", "{state.cart}"},
           {"as", "c"},
           {"empty", "Your cart is empty."},
           {"elements", json::array({Text("{c.title} | ${c.price_text}"),
                                     Button("Remove", json::array({Obj({{"remove", "cart"},
                                                                        {"value", "{c}"}})}))})}}));
  cart.push_back(Errors());
  cart.push_back(Button("Checkout",
                        json::array({Check(Not(Empty("{state.cart}")), "Your cart is empty.")}),
                        "checkout"));

  json checkout = json::array();
  checkout.push_back(Link("Back to cart", "cart"));
  checkout.push_back(Heading("Checkout"));
  checkout.push_back(Obj({{"list", "{state.cart}"},
                          {"as", "c"},
                          {"elements", json::array({Text("{c.title} | ${c.price_text}")})}}));
  checkout.push_back(Errors());
  checkout.push_back(Named(
      Button("Place order",
             json::array({Check(Not(Empty("{state.cart}")), "Your cart is empty."),
                          Emit("purchase", Obj({{"items", "{state.cart}"}})), End("purchase")})),
      "place_order"));

  json pages = json::object();
  pages["home"] = Page(shop_name, home);
  pages["results"] = Page("Results", results);
  json product_page = Page("{item.title}", product);
  product_page["item_of"] = "products";
  product_page["on_open"] = on_open;
  pages["product"] = std::move(product_page);
  pages["cart"] = Page("Cart", cart);
  pages["checkout"] = Page("Checkout", checkout);

  json site = json::object();
  site["format"] = "toolgym.site/1";
  site["title"] = shop_name;
  site["start"] = "home";
  site["viewport_lines"] = viewport;
  site["state"] = std::move(state);
  site["data"] = Obj({{"products", products}});
  site["pages"] = std::move(pages);
  return site;
}

StatusOr<json> GenWebShop(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::string level,
                      GetChoice(args, "level", "medium", {"easy", "medium", "hard"}));
  const ShopLevel lv = LevelSettings(level);
  TG_ASSIGN_OR_RETURN(IntRange count, GetIntRange(args, "products", lv.products, 4, 200));
  TG_ASSIGN_OR_RETURN(std::int64_t viewport, GetInt(args, "viewport", 30));
  TG_RETURN_IF_ERROR(CheckRange("viewport", viewport, 10, 200));
  const auto& depts = Departments();

  // The target: a type, its goal attributes and options, a price under the cap.
  const std::size_t dept = rng.Index(depts.size());
  const Department& d = depts[dept];
  const std::string type = rng.Choice(d.types);
  const auto n_goal_attrs =
      static_cast<std::size_t>(rng.UniformInt(lv.goal_attributes_min, lv.goal_attributes_max));
  const std::vector<std::string> goal_attrs = Pick(rng, d.attributes, n_goal_attrs);
  const std::int64_t target_cents = RandomCents(rng, 12, 95);
  // The cap: the next multiple of 10 dollars at least one dollar above the price.
  std::int64_t cap = (target_cents / 100 / 10 + 1) * 10;
  if (cap * 100 - target_cents < 100) cap += 10;

  std::vector<Product> products;
  std::set<std::string> titles;
  auto make = [&](std::size_t pd, const std::string& ptype, std::vector<std::string> attrs,
                  std::int64_t cents, const std::string& role) {
    Product p;
    p.dept = pd;
    p.type = ptype;
    p.attributes = std::move(attrs);
    p.cents = cents;
    p.role = role;
    // A title from a brand, one of the product's own attributes and its type, unique in the shop.
    for (int attempt = 0; attempt < 200; ++attempt) {
      std::string feature = p.attributes.empty() ? "" : rng.Choice(p.attributes);
      std::string title =
          Capitalize(rng.Choice(Brands()) + (feature.empty() ? "" : " " + feature) + " " + ptype);
      if (titles.insert(title).second) {
        p.title = title;
        break;
      }
    }
    if (p.title.empty()) {
      p.title = Capitalize(fmt::format("{} {} {}", rng.Choice(Brands()), ptype, products.size()));
      titles.insert(p.title);
    }
    // As many option dimensions as the goal names, so that every option a product page asks
    // for is one the instruction gave.
    for (int k = 0; k < lv.goal_options; ++k) {
      const OptionDim& dim = depts[pd].dims[static_cast<std::size_t>(k)];
      p.options[dim.name] = PickOrdered(
          rng, dim.values, static_cast<std::size_t>(rng.UniformInt(2, dim.values.size())));
    }
    products.push_back(std::move(p));
    return products.size() - 1;
  };

  // The target has the goal attributes and up to two more.
  const std::size_t target =
      make(dept, type,
           DrawAttributes(rng, d.attributes, goal_attrs, {},
                          goal_attrs.size() + static_cast<std::size_t>(rng.UniformInt(0, 2))),
           target_cents, "target");
  json goal_options = json::object();
  json opts = json::array();
  for (int i = 0; i < lv.goal_options; ++i) {
    const std::string& name = d.dims[static_cast<std::size_t>(i)].name;
    const std::string value = rng.Choice(products[target].options[name]);
    goal_options[name] = value;
    opts.push_back(Obj({{"name", name}, {"value", value}}));
  }

  // Close distractors (medium, hard). Those of the goal's type offer the goal's options too, so
  // that only the attributes or the price tell them apart.
  auto offer_goal_options = [&](std::size_t i) {
    for (const auto& [name, value] : goal_options.items()) {
      std::vector<std::string>& offered = products[i].options[name];
      if (std::find(offered.begin(), offered.end(), value) != offered.end()) continue;
      offered.push_back(value.get<std::string>());
      const std::vector<std::string>& pool =
          d.dims[static_cast<std::size_t>(
                     std::find_if(d.dims.begin(), d.dims.end(),
                                  [&](const OptionDim& dim) { return dim.name == name; }) -
                     d.dims.begin())]
              .values;
      std::sort(offered.begin(), offered.end(), [&](const std::string& a, const std::string& b) {
        return std::find(pool.begin(), pool.end(), a) < std::find(pool.begin(), pool.end(), b);
      });
    }
  };
  for (int i = 0; i < lv.missing_attribute; ++i) {
    // Misses one goal attribute (cycling through them) but is otherwise right.
    const std::string& missing = goal_attrs[static_cast<std::size_t>(i) % goal_attrs.size()];
    std::vector<std::string> keep;
    for (const auto& a : goal_attrs)
      if (a != missing) keep.push_back(a);
    make(dept, type,
         DrawAttributes(rng, d.attributes, keep, {missing},
                        goal_attrs.size() + static_cast<std::size_t>(rng.UniformInt(0, 1))),
         RandomCents(rng, cap * 4 / 10, cap - 1), "missing_attribute");
    offer_goal_options(products.size() - 1);
  }
  for (int i = 0; i < lv.over_price; ++i) {
    make(dept, type,
         DrawAttributes(rng, d.attributes, goal_attrs, {},
                        goal_attrs.size() + static_cast<std::size_t>(rng.UniformInt(0, 1))),
         RandomCents(rng, cap + 1, cap * 16 / 10), "over_price");
    offer_goal_options(products.size() - 1);
  }
  for (int i = 0; i < lv.other_type; ++i) {
    std::vector<std::string> others;
    for (const auto& t : d.types)
      if (t != type) others.push_back(t);
    make(dept, rng.Choice(others),
         DrawAttributes(rng, d.attributes, goal_attrs, {},
                        goal_attrs.size() + static_cast<std::size_t>(rng.UniformInt(0, 1))),
         RandomCents(rng, cap * 4 / 10, cap - 1), "other_type");
  }
  // Filler: any department, never the goal's type.
  const auto total = static_cast<std::size_t>(rng.UniformInt(count.min, count.max));
  while (products.size() < total) {
    const std::size_t fd = rng.Index(depts.size());
    std::vector<std::string> types;
    for (const auto& t : depts[fd].types)
      if (t != type) types.push_back(t);
    make(fd, rng.Choice(types),
         DrawAttributes(rng, depts[fd].attributes, {}, {},
                        static_cast<std::size_t>(rng.UniformInt(2, 4))),
         RandomCents(rng, 8, 140), "filler");
  }

  // Ids and order: shuffled, so neither the id nor the position gives the target away.
  std::vector<std::size_t> ids = rng.Sample(900, products.size());
  for (std::size_t i = 0; i < products.size(); ++i) {
    products[i].id = fmt::format("p{}", 100 + ids[i]);
  }
  const std::string target_id = products[target].id;
  rng.Shuffle(products);

  // The goal must single out the target: it is the only product of the type with every goal
  // attribute within the cap (options aside, so the results page alone identifies it).
  int matching = 0;
  for (const auto& p : products) {
    if (p.type == type && HasAll(p.attributes, goal_attrs) && p.cents <= cap * 100) ++matching;
  }
  if (matching != 1) {
    return InternalError("web_shop: {} products meet the goal (type {}, attributes {}), expected 1",
                         matching, type, JoinStrings(goal_attrs, ", "));
  }

  json products_json = json::array();
  json roles = json::object();
  for (const auto& p : products) {
    products_json.push_back(ProductJson(p, depts));
    roles[p.id] = p.role;
  }
  json featured = json::array();
  for (std::size_t i : rng.Sample(products.size(), std::min<std::size_t>(3, products.size()))) {
    featured.push_back(products_json[i]);
  }

  static const std::vector<std::string> kShopWords = {"Outfitters", "Market", "Emporium", "Supply",
                                                      "Goods",      "Store",  "Bazaar",   "Depot"};
  const std::string shop_name = rng.Choice(Brands()) + " " + rng.Choice(kShopWords);

  json goal = json::object();
  goal["type"] = type;
  goal["department"] = d.name;
  goal["attributes"] = goal_attrs;
  goal["options"] = goal_options;
  goal["price_max"] = cap;

  json out = json::object();
  out["site"] = ShopSite(shop_name, products_json, featured, static_cast<int>(viewport));
  out["goal"] = std::move(goal);
  out["opts"] = std::move(opts);
  out["attributes_text"] = EnglishList(goal_attrs);
  out["query"] = JoinStrings(goal_attrs, " ") + " " + type;
  out["target"] = target_id;
  for (const auto& p : products)
    if (p.id == target_id) out["target_title"] = p.title;
  out["roles"] = std::move(roles);
  out["shop"] = shop_name;
  out["level"] = level;
  return out;
}

// ---------------------------------------------------------------------------------------------
// web_form

struct Country {
  std::string name;
  std::string postcode_re;  // RE2, whole value
  std::string hint;         // shown in the error
};

const std::vector<Country>& Countries() {
  static const std::vector<Country> kCountries = {
      {"Germany", "^[0-9]{5}$", "5 digits, e.g. 10115"},
      {"France", "^[0-9]{5}$", "5 digits, e.g. 75001"},
      {"Netherlands", "^[0-9]{4} [A-Z]{2}$",
       "4 digits, a space and 2 capital letters, e.g. 1012 AB"},
      {"United Kingdom", "^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$",
       "outward and inward code, e.g. SW1A 1AA"},
      {"Canada", "^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$",
       "letter-digit-letter digit-letter-digit, "
       "e.g. K1A 0B1"},
      {"United States", "^[0-9]{5}$", "5 digits, e.g. 02139"},
      {"Sweden", "^[0-9]{3} [0-9]{2}$", "3 digits, a space and 2 digits, e.g. 114 55"},
  };
  return kCountries;
}

std::string RandomPostcode(Rng& rng, const std::string& country) {
  auto digit = [&] { return static_cast<char>('0' + rng.UniformInt(0, 9)); };
  auto letter = [&] {
    static const std::string kLetters = "ABCDEFGHJKLMNPRSTUVWXYZ";
    return kLetters[rng.Index(kLetters.size())];
  };
  std::string s;
  if (country == "Netherlands") {
    s = {static_cast<char>('1' + rng.UniformInt(0, 8)),
         digit(),
         digit(),
         digit(),
         ' ',
         letter(),
         letter()};
  } else if (country == "United Kingdom") {
    s = {letter(), letter(), digit(), ' ', digit(), letter(), letter()};
  } else if (country == "Canada") {
    s = {letter(), digit(), letter(), ' ', digit(), letter(), digit()};
  } else if (country == "Sweden") {
    s = {static_cast<char>('1' + rng.UniformInt(0, 8)), digit(), digit(), ' ', digit(), digit()};
  } else {
    s = {digit(), digit(), digit(), digit(), digit()};
  }
  return s;
}

StatusOr<json> GenWebForm(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(bool shuffle, GetBool(args, "shuffle", true));
  static const std::vector<std::string> kStreets = {
      "Mill Lane",   "Harbour Road", "Station Street", "Linden Avenue",
      "Church Walk", "Elm Row",      "Canal Street",   "Market Square",
      "Orchard Way", "High Street",  "Bridge Road",    "Park Lane"};
  static const std::vector<std::string> kCities = {
      "Ashford",  "Brookhaven", "Eastwick", "Fairmont", "Glenmoor",  "Kingsbridge",
      "Lakeview", "Northfield", "Oakdale",  "Riverton", "Stonebury", "Westvale"};
  static const std::vector<std::string> kDomains = {"example.com", "mail.test", "post.example",
                                                    "inbox.test"};
  static const std::vector<std::string> kShops = {"Parcel", "Cobalt", "Juniper", "Harbor",
                                                  "Lumen",  "Summit", "Willow",  "Fjord"};
  static const std::vector<std::string> kDelivery = {"Standard", "Express", "Next day",
                                                     "Pickup point"};

  const std::string first = rng.Choice(Names());
  const std::string last = rng.Choice(Surnames());
  json v = json::object();
  v["name"] = first + " " + last;
  std::string user = first + "." + last;
  for (char& c : user) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  v["email"] = fmt::format("{}{}@{}", user, rng.UniformInt(1, 99), rng.Choice(kDomains));
  v["password"] = fmt::format("{}-{}-{}", rng.Choice(*BuiltinList("adjectives")),
                              rng.Choice(*BuiltinList("nouns")), rng.UniformInt(10, 99));
  v["street"] = fmt::format("{} {}", rng.UniformInt(1, 240), rng.Choice(kStreets));
  v["city"] = rng.Choice(kCities);
  const Country& country = rng.Choice(Countries());
  v["country"] = country.name;
  v["postcode"] = RandomPostcode(rng, country.name);
  v["phone"] = fmt::format("+{} {} {}", rng.UniformInt(1, 49), rng.UniformInt(100, 999),
                           rng.UniformInt(100000, 999999));
  v["delivery"] = rng.Choice(kDelivery);
  const std::string shop = rng.Choice(kShops) + " Checkout";

  // Sign-in: the email's shape, then the account's credentials.
  json signin = json::array();
  signin.push_back(Input("email", "Email"));
  signin.push_back(Input("password", "Password", "password"));
  signin.push_back(Errors());
  signin.push_back(
      Named(Button("Sign in",
                   json::array({Check(Matches("{state.email}", "^[^@ ]+@[^@ ]+\\.[A-Za-z]{2,}$"),
                                      "Enter a valid email address."),
                                Check(And(json::array({Eq("{state.email}", v["email"]),
                                                       Eq("{state.password}", v["password"])})),
                                      "Wrong email or password."),
                                Set("signed_in", true)}),
                   "address"),
            "sign_in"));
  signin.push_back(Heading("Sign in to " + shop));
  signin.push_back(Text("Step 1 of 4. Use the email and password of your account."));

  // Address: fields in a per-seed order, so ids must be read from the page.
  struct Field {
    json element;
    json check;
  };
  std::vector<Field> fields = {
      {Input("full_name", "Full name"),
       Check(Not(Empty("{state.full_name}")), "Full name is required.")},
      {Input("street", "Street and number"),
       Check(Not(Empty("{state.street}")), "Street and number are required.")},
      {Input("city", "City"), Check(Not(Empty("{state.city}")), "City is required.")},
      {Input("phone", "Phone"),
       Check(Matches("{state.phone}", "^\\+?[0-9][0-9 ]{6,18}$"),
             "Enter a phone number of digits and spaces, e.g. +31 20 5550123.")},
  };
  json country_names = json::array();
  for (const auto& c : Countries()) country_names.push_back(c.name);
  if (shuffle) rng.Shuffle(fields);
  json address = json::array();
  address.push_back(Heading("Shipping address"));
  address.push_back(Text("Step 2 of 4."));
  json address_checks = json::array();
  for (auto& f : fields) {
    address.push_back(f.element);
    address_checks.push_back(f.check);
  }
  address.push_back(Select("country", "Country", country_names));
  address.push_back(Input("postcode", "Postcode"));
  address_checks.push_back(Check(Not(Empty("{state.country}")), "Choose a country."));
  for (const auto& c : Countries()) {
    address_checks.push_back(Check(Or(json::array({Ne("{state.country}", c.name),
                                                   Matches("{state.postcode}", c.postcode_re)})),
                                   fmt::format("A postcode in {} is {}.", c.name, c.hint)));
  }
  address.push_back(Errors());
  address.push_back(Named(Button("Continue", address_checks, "delivery"), "address_continue"));
  address.push_back(Link("Back to sign-in", "signin"));

  json delivery = json::array();
  delivery.push_back(Heading("Delivery"));
  delivery.push_back(
      Text("Step 3 of 4. Standard 3-5 days, Express 1-2 days, Next day before "
           "noon, Pickup point from the day after tomorrow."));
  delivery.push_back(Select("delivery", "Delivery option", kDelivery));
  delivery.push_back(Errors());
  delivery.push_back(Button(
      "Continue", json::array({Check(Not(Empty("{state.delivery}")), "Choose a delivery option.")}),
      "review"));
  delivery.push_back(Link("Edit address", "address"));

  json submitted = json::object();
  for (const char* k :
       {"email", "full_name", "street", "city", "postcode", "country", "phone", "delivery"}) {
    submitted[k] = fmt::format("{{state.{}}}", k);
  }
  json review = json::array();
  review.push_back(Heading("Review your order"));
  review.push_back(Text("Step 4 of 4."));
  review.push_back(Text("Account: {state.email}"));
  review.push_back(
      Text("Ship to: {state.full_name}, {state.street}, {state.postcode} "
           "{state.city}, {state.country}"));
  review.push_back(Text("Phone: {state.phone}"));
  review.push_back(Text("Delivery: {state.delivery}"));
  review.push_back(Link("Edit address", "address"));
  review.push_back(Link("Edit delivery", "delivery"));
  review.push_back(Checkbox("terms", "I accept the terms and conditions"));
  review.push_back(Errors());
  review.push_back(Named(
      Button(
          "Place order",
          json::array({Check(Eq("{state.terms}", true), "Please accept the terms and conditions."),
                       Check(Eq("{state.signed_in}", true), "Please sign in first."),
                       Emit("order_submitted", submitted), End("submitted")}),
          "done"),
      "place_order"));

  json pages = json::object();
  pages["signin"] = Page("Sign in", signin);
  json address_page = Page("Shipping address", address);
  address_page["on_open"] = json::array();  // reached only through sign-in or back links
  pages["address"] = std::move(address_page);
  pages["delivery"] = Page("Delivery", delivery);
  pages["review"] = Page("Review", review);
  pages["done"] = Page("Thank you", json::array({Heading("Thank you, {state.full_name}!"),
                                                 Text("Your order is on its way.")}));

  json state = json::object();
  for (const char* k : {"email", "password", "full_name", "street", "city", "postcode", "country",
                        "phone", "delivery"}) {
    state[k] = "";
  }
  state["terms"] = false;
  state["signed_in"] = false;

  json site = json::object();
  site["format"] = "toolgym.site/1";
  site["title"] = shop;
  site["start"] = "signin";
  site["viewport_lines"] = 40;
  site["state"] = std::move(state);
  site["data"] = json::object();
  site["pages"] = std::move(pages);

  json expected = json::object();
  expected["email"] = v["email"];
  expected["full_name"] = v["name"];
  expected["street"] = v["street"];
  expected["city"] = v["city"];
  expected["postcode"] = v["postcode"];
  expected["country"] = v["country"];
  expected["phone"] = v["phone"];
  expected["delivery"] = v["delivery"];

  json out = v;
  out["site"] = std::move(site);
  out["shop"] = shop;
  out["expected"] = std::move(expected);
  out["postcode_hint"] = country.hint;
  return out;
}

// ---------------------------------------------------------------------------------------------
// web_wiki

struct Article {
  std::string id;
  std::string title;
  std::string kind;                                        // "person", "organization", "city"
  std::vector<std::pair<std::string, std::string>> facts;  // label, value as shown
  std::vector<std::pair<std::string, std::size_t>> links;  // relation label, article index
  std::string summary;
};

const std::map<std::string, std::string>& CategoryOf() {
  static const std::map<std::string, std::string> kCategories = {
      {"person", "People"}, {"organization", "Organizations"}, {"city", "Cities"}};
  return kCategories;
}

StatusOr<json> GenWebWiki(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(IntRange people, GetIntRange(args, "people", IntRange{6, 9}, 3, 12));
  TG_ASSIGN_OR_RETURN(IntRange orgs, GetIntRange(args, "organizations", IntRange{5, 8}, 3, 12));
  TG_ASSIGN_OR_RETURN(IntRange cities, GetIntRange(args, "cities", IntRange{5, 8}, 3, 12));
  static const std::vector<std::string> kOccupations = {
      "engineer", "architect", "chemist",  "painter",  "economist", "novelist",
      "surgeon",  "pilot",     "botanist", "composer", "geologist", "photographer"};
  static const std::vector<std::string> kIndustries = {
      "shipping", "software", "textiles", "mining",   "publishing", "aviation",
      "farming",  "banking",  "medicine", "robotics", "brewing",    "furniture"};
  static const std::vector<std::string> kOrgSuffixes = {
      "Labs", "Systems", "Works", "Group", "Company", "Studios", "Partners", "Foundry", "Trading"};
  static const std::vector<std::string> kCityHeads = {
      "North", "East", "West",  "Lake", "Port", "Glen",  "Stone", "Ash",  "Oak",    "Elm",
      "River", "Fair", "Green", "Red",  "Mill", "Brook", "Wolf",  "High", "Silver", "Marsh"};
  static const std::vector<std::string> kCityTails = {"haven", "field", "ford", "bridge", "wick",
                                                      "ton",   "moor",  "vale", "bury",   "stead"};
  static const std::vector<std::string> kRegions = {"Highlands", "Lowlands", "Coast", "Midlands",
                                                    "Valley",    "Plains",   "Lakes", "Uplands"};

  std::vector<Article> arts;
  std::set<std::string> used;
  auto unique = [&](auto draw) {
    for (int i = 0; i < 100; ++i) {
      std::string t = draw();
      if (used.insert(t).second) return t;
    }
    std::string t = draw() + " " + std::to_string(used.size());
    used.insert(t);
    return t;
  };
  const auto n_people = static_cast<std::size_t>(rng.UniformInt(people.min, people.max));
  const auto n_orgs = static_cast<std::size_t>(rng.UniformInt(orgs.min, orgs.max));
  const auto n_cities = static_cast<std::size_t>(rng.UniformInt(cities.min, cities.max));
  std::vector<std::size_t> person_ix, org_ix, city_ix;
  for (std::size_t i = 0; i < n_people; ++i) {
    Article a;
    a.kind = "person";
    a.title = unique([&] { return rng.Choice(Names()) + " " + rng.Choice(Surnames()); });
    person_ix.push_back(arts.size());
    arts.push_back(std::move(a));
  }
  const auto& adjectives = *BuiltinList("adjectives");
  const auto& nouns = *BuiltinList("nouns");
  for (std::size_t i = 0; i < n_orgs; ++i) {
    Article a;
    a.kind = "organization";
    a.title = unique([&] {
      return Capitalize(rng.Choice(adjectives)) + " " + Capitalize(rng.Choice(nouns)) + " " +
             rng.Choice(kOrgSuffixes);
    });
    org_ix.push_back(arts.size());
    arts.push_back(std::move(a));
  }
  for (std::size_t i = 0; i < n_cities; ++i) {
    Article a;
    a.kind = "city";
    a.title = unique([&] { return rng.Choice(kCityHeads) + rng.Choice(kCityTails); });
    city_ix.push_back(arts.size());
    arts.push_back(std::move(a));
  }

  // Facts, with distinct values per kind where a question may ask for them.
  std::set<std::string> seen_values;
  auto distinct_int = [&](std::int64_t lo, std::int64_t hi, bool grouped) {
    for (;;) {
      std::int64_t n = rng.UniformInt(lo, hi);
      std::string s = grouped ? Grouped(n) : std::to_string(n);
      if (seen_values.insert(s).second) return s;
    }
  };
  for (std::size_t i : person_ix) {
    arts[i].facts = {{"Birth year", distinct_int(1920, 1999, false)},
                     {"Occupation", rng.Choice(kOccupations)}};
    arts[i].links = {{"Employer", rng.Choice(org_ix)}, {"Birthplace", rng.Choice(city_ix)}};
  }
  for (std::size_t i : org_ix) {
    arts[i].facts = {{"Founding year", distinct_int(1850, 2015, false)},
                     {"Industry", rng.Choice(kIndustries)},
                     {"Employees", distinct_int(40, 90000, true)}};
    arts[i].links = {{"Founder", rng.Choice(person_ix)}, {"Headquarters", rng.Choice(city_ix)}};
  }
  for (std::size_t i : city_ix) {
    std::size_t twin = rng.Choice(city_ix);
    if (twin == i)
      twin = city_ix[(std::find(city_ix.begin(), city_ix.end(), i) - city_ix.begin() + 1) %
                     city_ix.size()];
    arts[i].facts = {{"Population", distinct_int(4000, 2500000, true)},
                     {"Elevation in metres", distinct_int(2, 2400, false)},
                     {"Region", rng.Choice(kRegions)}};
    arts[i].links = {{"Mayor", rng.Choice(person_ix)}, {"Twin city", twin}};
  }

  // Similar names: give one article of each kind a near-twin so that reading the exact title
  // matters ("Anna Berg" and "Anna Bergman" both exist).
  auto fact = [&](const Article& a, const std::string& label) {
    for (const auto& [l, v] : a.facts)
      if (l == label) return v;
    return std::string();
  };

  // The question: start article -> relation link -> fact on the linked article.
  struct Relation {
    std::string start_kind, label;
    std::vector<std::string> facts;  // fact labels on the linked article worth asking
  };
  static const std::vector<Relation> kRelations = {
      {"person", "Employer", {"Founding year", "Industry", "Employees"}},
      {"person", "Birthplace", {"Population", "Elevation in metres", "Region"}},
      {"organization", "Founder", {"Birth year", "Occupation"}},
      {"organization", "Headquarters", {"Population", "Elevation in metres", "Region"}},
      {"city", "Mayor", {"Birth year", "Occupation"}},
      {"city", "Twin city", {"Population", "Elevation in metres"}},
  };
  const Relation& rel = rng.Choice(kRelations);
  const std::vector<std::size_t>& starts = rel.start_kind == "person"         ? person_ix
                                           : rel.start_kind == "organization" ? org_ix
                                                                              : city_ix;
  const std::size_t start = rng.Choice(starts);
  const std::string fact_label = rng.Choice(rel.facts);
  std::size_t hop = 0;
  for (const auto& [l, t] : arts[start].links)
    if (l == rel.label) hop = t;
  const std::string answer = fact(arts[hop], fact_label);

  // A near-twin of the start article, linking elsewhere (its answer differs where it can).
  {
    Article twin;
    twin.kind = arts[start].kind;
    if (twin.kind == "person") {
      twin.title = unique([&] {
        return arts[start].title + rng.Choice(std::vector<std::string>{"son", "er", "sen", "s"});
      });
      twin.facts = {{"Birth year", distinct_int(1920, 1999, false)},
                    {"Occupation", rng.Choice(kOccupations)}};
      twin.links = {{"Employer", rng.Choice(org_ix)}, {"Birthplace", rng.Choice(city_ix)}};
    } else if (twin.kind == "organization") {
      const std::string base = arts[start].title.substr(0, arts[start].title.rfind(' '));
      twin.title = unique([&] { return base + " " + rng.Choice(kOrgSuffixes); });
      twin.facts = {{"Founding year", distinct_int(1850, 2015, false)},
                    {"Industry", rng.Choice(kIndustries)},
                    {"Employees", distinct_int(40, 90000, true)}};
      twin.links = {{"Founder", rng.Choice(person_ix)}, {"Headquarters", rng.Choice(city_ix)}};
    } else {
      twin.title = unique([&] {
        return arts[start].title +
               rng.Choice(std::vector<std::string>{" Heights", " Junction", " Falls"});
      });
      twin.facts = {{"Population", distinct_int(4000, 2500000, true)},
                    {"Elevation in metres", distinct_int(2, 2400, false)},
                    {"Region", rng.Choice(kRegions)}};
      twin.links = {{"Mayor", rng.Choice(person_ix)}, {"Twin city", start}};
    }
    arts.push_back(std::move(twin));
  }

  // Ids, summaries, and the data the site shows.
  std::vector<std::size_t> ids = rng.Sample(900, arts.size());
  for (std::size_t i = 0; i < arts.size(); ++i) arts[i].id = fmt::format("a{}", 100 + ids[i]);
  // Summaries in prose that name the linked articles (the links themselves are separate
  // elements) and some of the facts, worded differently from the fact list.
  for (Article& a : arts) {
    auto link = [&](const std::string& label) {
      for (const auto& [l, t] : a.links)
        if (l == label) return arts[t].title;
      return std::string();
    };
    if (a.kind == "person") {
      a.summary = fmt::format(
          "{} is {} {} from {}, and works for {}.", a.title,
          std::string("aeiou").find(fact(a, "Occupation")[0]) == std::string::npos ? "a" : "an",
          fact(a, "Occupation"), link("Birthplace"), link("Employer"));
    } else if (a.kind == "organization") {
      a.summary = fmt::format("{} is a {} business started by {}, based in {}.", a.title,
                              fact(a, "Industry"), link("Founder"), link("Headquarters"));
    } else {
      a.summary = fmt::format("{} is a city of the {} region, led by mayor {} and twinned with {}.",
                              a.title, fact(a, "Region"), link("Mayor"), link("Twin city"));
    }
  }
  json data = json::array();
  std::vector<std::size_t> order(arts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  rng.Shuffle(order);
  for (std::size_t i : order) {
    const Article& a = arts[i];
    json facts = json::array(), links = json::array();
    for (const auto& [l, v] : a.facts) facts.push_back(Obj({{"label", l}, {"value", v}}));
    for (const auto& [l, t] : a.links) {
      links.push_back(Obj({{"label", l}, {"target", arts[t].id}, {"title", arts[t].title}}));
    }
    data.push_back(Obj({{"id", a.id},
                        {"title", a.title},
                        {"kind", a.kind},
                        {"category", CategoryOf().at(a.kind)},
                        {"summary", a.summary},
                        {"facts", facts},
                        {"links", links}}));
  }

  // The fact must be readable on exactly one article: the hop target, under its label.
  if (answer.empty())
    return InternalError("web_wiki: no fact '{}' on the linked article", fact_label);

  static const std::vector<std::string> kWikiNames = {"Atlas",  "Compendium", "Almanac",
                                                      "Ledger", "Gazette",    "Chronicle"};
  const std::string wiki_title = rng.Choice(Brands()) + " " + rng.Choice(kWikiNames);

  json article_row = json::array({ItemLink("{a.title}", "article", "{a.id}")});
  auto category_page = [&](const std::string& category) {
    json els = json::array();
    els.push_back(Link("Home", "home"));
    els.push_back(Heading("Category: " + category));
    els.push_back(Obj({{"list", "{data.articles}"},
                       {"as", "a"},
                       {"where", Eq("{a.category}", category)},
                       {"sort", "title"},
                       {"elements", article_row}}));
    return Page(category, els);
  };
  json home = json::array();
  home.push_back(Link("Browse by category", "categories"));
  home.push_back(Input("query", "Search"));
  home.push_back(Button("Search", json::array(), "search"));
  home.push_back(Heading(wiki_title));
  home.push_back(Text(
      fmt::format("A wiki of {} articles about people, organizations and cities.", arts.size())));
  json categories = json::array();
  categories.push_back(Link("Home", "home"));
  categories.push_back(Heading("Categories"));
  categories.push_back(Link("People", "people"));
  categories.push_back(Link("Organizations", "organizations"));
  categories.push_back(Link("Cities", "cities"));
  json search = json::array();
  search.push_back(Link("Home", "home"));
  search.push_back(Input("query", "Search"));
  search.push_back(Button("Search", json::array(), "search"));
  search.push_back(Heading("Search results for: {state.query}"));
  search.push_back(
      Obj({{"list", "{data.articles}"},
           {"as", "a"},
           {"search", Obj({{"query", "{state.query}"}, {"fields", json::array({"title"})}})},
           {"empty", "No articles match."},
           {"elements", article_row}}));
  json article = json::array();
  article.push_back(Link("Home", "home"));
  article.push_back(If(Link("People", "people"), Eq("{item.kind}", "person")));
  article.push_back(If(Link("Organizations", "organizations"), Eq("{item.kind}", "organization")));
  article.push_back(If(Link("Cities", "cities"), Eq("{item.kind}", "city")));
  article.push_back(Heading("{item.title}"));
  article.push_back(Text("{item.summary}"));
  article.push_back(
      Obj({{"section", "Facts"},
           {"elements",
            json::array({Obj({{"list", "{item.facts}"},
                              {"as", "f"},
                              {"elements", json::array({Text("{f.label}: {f.value}")})}})})}}));
  article.push_back(
      Obj({{"section", "Links"},
           {"elements",
            json::array({Obj({{"list", "{item.links}"},
                              {"as", "l"},
                              {"elements", json::array({ItemLink("{l.label}: {l.title}", "article",
                                                                 "{l.target}")})}})})}}));

  json pages = json::object();
  pages["home"] = Page(wiki_title, home);
  pages["categories"] = Page("Categories", categories);
  pages["people"] = category_page("People");
  pages["organizations"] = category_page("Organizations");
  pages["cities"] = category_page("Cities");
  pages["search"] = Page("Search", search);
  json article_page = Page("{item.title}", article);
  article_page["item_of"] = "articles";
  pages["article"] = std::move(article_page);

  json site = json::object();
  site["format"] = "toolgym.site/1";
  site["title"] = wiki_title;
  site["start"] = "home";
  site["viewport_lines"] = 40;
  site["state"] = Obj({{"query", ""}});
  site["data"] = Obj({{"articles", data}});
  site["pages"] = std::move(pages);

  json q = json::object();
  q["start"] = arts[start].title;
  q["category"] = CategoryOf().at(arts[start].kind);
  q["relation"] = rel.label;
  q["fact"] = fact_label;
  q["answer"] = answer;
  q["hop"] = arts[hop].title;
  q["hop_id"] = arts[hop].id;
  q["start_id"] = arts[start].id;

  json out = json::object();
  out["site"] = std::move(site);
  out["title"] = wiki_title;
  out["q"] = std::move(q);
  return out;
}

// ---------------------------------------------------------------------------------------------
// web_admin

struct SelectSetting {
  std::string var, label;
  std::vector<std::string> values;
};
struct FlagSetting {
  std::string var, label;
};

const std::vector<SelectSetting>& SelectSettings() {
  static const std::vector<SelectSetting> kSettings = {
      {"language", "Language", {"English", "German", "French", "Spanish", "Italian", "Dutch"}},
      {"timezone",
       "Time zone",
       {"UTC", "Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo",
        "Australia/Sydney"}},
      {"theme", "Theme", {"light", "dark", "system", "high contrast"}},
      {"date_format", "Date format", {"YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY"}},
      {"session_timeout", "Session timeout", {"15 minutes", "30 minutes", "1 hour", "8 hours"}},
  };
  return kSettings;
}

const std::vector<FlagSetting>& FlagSettings() {
  static const std::vector<FlagSetting> kFlags = {
      {"email_notifications", "Email notifications"},
      {"sms_notifications", "SMS notifications"},
      {"weekly_digest", "Weekly digest"},
      {"security_alerts", "Security alerts"},
      {"two_factor", "Require two-factor sign-in"},
  };
  return kFlags;
}

StatusOr<json> GenWebAdmin(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(IntRange n_users, GetIntRange(args, "users", IntRange{8, 14}, 3, 40));
  static const std::vector<std::string> kRoles = {"viewer", "editor", "admin", "billing"};
  static const std::vector<std::string> kOrgs = {"Acme",  "Globex",   "Initech", "Umbrella",
                                                 "Hooli", "Vandelay", "Wonka",   "Stark"};

  // Settings: current values, and the goal's change of one select and one flag.
  json state = json::object();
  for (const auto& s : SelectSettings()) {
    const std::string v = rng.Choice(s.values);
    state[s.var] = v;
    state["draft_" + s.var] = v;
  }
  for (const auto& f : FlagSettings()) {
    const bool v = rng.Bernoulli(0.5);
    state[f.var] = v;
    state["draft_" + f.var] = v;
  }
  state["saved"] = false;
  const SelectSetting& sel = rng.Choice(SelectSettings());
  std::vector<std::string> other_values;
  for (const auto& v : sel.values)
    if (v != state[sel.var].get<std::string>()) other_values.push_back(v);
  const std::string sel_value = rng.Choice(other_values);
  const FlagSetting& flag = rng.Choice(FlagSettings());
  const bool flag_value = !state[flag.var].get<bool>();

  // Users: the first three share a first name and the target is one of them, so the full name
  // has to be read; a few others are disabled already.
  const auto count = static_cast<std::size_t>(rng.UniformInt(n_users.min, n_users.max));
  const std::string domain =
      fmt::format("{}.example", std::string(1, static_cast<char>('a' + rng.UniformInt(0, 25))) +
                                    rng.Choice(*BuiltinList("nouns")));
  std::vector<json> users;
  std::set<std::string> names;
  const std::string shared_first = rng.Choice(Names());
  while (users.size() < count) {
    const std::string first = users.size() < 3 ? shared_first : rng.Choice(Names());
    const std::string name = first + " " + rng.Choice(Surnames());
    if (!names.insert(name).second) continue;
    std::string local = name;
    for (char& c : local) {
      c = c == ' ' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    json u = json::object();
    u["name"] = name;
    u["email"] = local + "@" + domain;
    u["role"] = rng.Choice(kRoles);
    u["disabled"] = rng.Bernoulli(0.2);
    users.push_back(std::move(u));
  }
  json& target_user = users[rng.Index(3)];
  target_user["disabled"] = false;
  const std::string target_name = target_user["name"].get<std::string>();
  rng.Shuffle(users);
  std::vector<std::size_t> ids = rng.Sample(900, users.size());
  std::size_t target_index = 0;
  for (std::size_t i = 0; i < users.size(); ++i) {
    users[i]["id"] = fmt::format("u{}", 100 + ids[i]);
    if (users[i]["name"] == target_name) target_index = i;
  }
  json users_after = json(users);
  users_after[target_index]["disabled"] = true;

  // Pages.
  json dashboard = json::array();
  dashboard.push_back(Link("Settings", "settings"));
  dashboard.push_back(Link("Users", "users"));
  dashboard.push_back(Link("Billing", "billing"));
  const std::string org = rng.Choice(kOrgs) + " Admin";
  dashboard.push_back(Heading(org));
  dashboard.push_back(
      Text(fmt::format("{} users. Workspace settings and accounts.", users.size())));

  json settings = json::array();
  settings.push_back(Link("Dashboard", "dashboard"));
  settings.push_back(Link("Users", "users"));
  settings.push_back(Heading("Settings"));
  settings.push_back(Text("Changes apply when you press Save changes."));
  json prefs = json::array();
  for (const auto& s : SelectSettings())
    prefs.push_back(Select("draft_" + s.var, s.label, s.values));
  settings.push_back(Obj({{"section", "Preferences"}, {"elements", prefs}}));
  json notif = json::array();
  for (const auto& f : FlagSettings()) notif.push_back(Checkbox("draft_" + f.var, f.label));
  settings.push_back(Obj({{"section", "Notifications and security"}, {"elements", notif}}));
  json save = json::array();
  for (const auto& s : SelectSettings()) save.push_back(Set(s.var, "{state.draft_" + s.var + "}"));
  for (const auto& f : FlagSettings()) save.push_back(Set(f.var, "{state.draft_" + f.var + "}"));
  save.push_back(Set("saved", true));
  settings.push_back(Named(Button("Save changes", save), "save"));
  settings.push_back(If(Text("Settings saved."), Eq("{state.saved}", true)));
  json settings_open = json::array();
  for (const auto& s : SelectSettings())
    settings_open.push_back(Set("draft_" + s.var, "{state." + s.var + "}"));
  for (const auto& f : FlagSettings())
    settings_open.push_back(Set("draft_" + f.var, "{state." + f.var + "}"));
  settings_open.push_back(Set("saved", false));

  json users_page = json::array();
  users_page.push_back(Link("Dashboard", "dashboard"));
  users_page.push_back(Link("Settings", "settings"));
  users_page.push_back(Heading("Users"));
  users_page.push_back(Obj(
      {{"list", "{data.users}"},
       {"as", "u"},
       {"sort", "name"},
       {"elements",
        json::array({ItemLink("{u.name}", "user", "{u.id}"),
                     If(Text("{u.email} | {u.role} | active"), Eq("{u.disabled}", false)),
                     If(Text("{u.email} | {u.role} | disabled"), Eq("{u.disabled}", true))})}}));

  json user = json::array();
  user.push_back(Link("Back to users", "users"));
  user.push_back(Heading("{item.name}"));
  user.push_back(Text("Email: {item.email}"));
  user.push_back(Text("Role: {item.role}"));
  user.push_back(If(Text("Status: active"), Eq("{item.disabled}", false)));
  user.push_back(If(Text("Status: disabled"), Eq("{item.disabled}", true)));
  user.push_back(Named(If(Button("Disable account", json::array({Obj({{"set_data", "users"},
                                                                      {"id", "{item.id}"},
                                                                      {"field", "disabled"},
                                                                      {"value", true}})})),
                          Eq("{item.disabled}", false)),
                       "disable"));
  user.push_back(Named(If(Button("Enable account", json::array({Obj({{"set_data", "users"},
                                                                     {"id", "{item.id}"},
                                                                     {"field", "disabled"},
                                                                     {"value", false}})})),
                          Eq("{item.disabled}", true)),
                       "enable"));
  user.push_back(Button("Send password reset", json::array({Emit("password_reset", "{item.id}")})));

  json billing = json::array();
  billing.push_back(Link("Dashboard", "dashboard"));
  billing.push_back(Heading("Billing"));
  billing.push_back(
      Text(fmt::format("Plan: {} seats, renews on the 1st of the month.", users.size() + 5)));

  json pages = json::object();
  pages["dashboard"] = Page(org, dashboard);
  json settings_page = Page("Settings", settings);
  settings_page["on_open"] = std::move(settings_open);
  pages["settings"] = std::move(settings_page);
  pages["users"] = Page("Users", users_page);
  json user_page = Page("{item.name}", user);
  user_page["item_of"] = "users";
  pages["user"] = std::move(user_page);
  pages["billing"] = Page("Billing", billing);

  json site = json::object();
  site["format"] = "toolgym.site/1";
  site["title"] = org;
  site["start"] = "dashboard";
  site["viewport_lines"] = 40;
  site["state"] = std::move(state);
  site["data"] = Obj({{"users", json(users)}});
  site["pages"] = std::move(pages);

  json out = json::object();
  out["site"] = std::move(site);
  out["org"] = org;
  out["setting"] = Obj({{"var", sel.var}, {"label", sel.label}, {"value", sel_value}});
  out["flag"] = Obj({{"var", flag.var},
                     {"label", flag.label},
                     {"value", flag_value},
                     {"verb", flag_value ? "on" : "off"}});
  out["user"] = Obj({{"name", target_name},
                     {"index", target_index},
                     {"id", users[target_index]["id"]},
                     {"pointer", fmt::format("/data/users/{}/disabled", target_index)}});
  out["users_after"] = std::move(users_after);
  return out;
}

}  // namespace

void RegisterWebGenerators(GeneratorRegistry& r) {
  auto add = [&r](GeneratorInfo info) {
    Status s = r.Register(std::move(info));
    TG_CHECK(s.ok());
  };
  add({"web_shop",
       "a WebShop-style shop site and a goal (type, attributes, options, price cap) that exactly "
       "one product meets; `level` easy, medium or hard sets the distractors",
       {"level", "products", "viewport"},
       {},
       GenWebShop});
  add({"web_form",
       "a multi-page checkout (sign-in, address, delivery, review) with validation, and the "
       "values the instruction asks for",
       {"shuffle"},
       {},
       GenWebForm});
  add({"web_wiki",
       "a wiki of linked people, organizations and cities and a question two links away from a "
       "named article",
       {"people", "organizations", "cities"},
       {},
       GenWebWiki});
  add({"web_admin",
       "an admin panel (settings saved from drafts, users to disable) and a goal state",
       {"users"},
       {},
       GenWebAdmin});
}

}  // namespace toolgym::scenarios
