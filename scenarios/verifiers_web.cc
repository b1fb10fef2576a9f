// Verifiers that read the web env's state (VerifyContext::env_state, web::Browser::Snapshot():
// {"page", "item", "state", "data", "events", "history"}):
//
//   webshop     WebShop's reward (Yao et al. 2022, "WebShop: Towards Scalable Real-World Web
//               Interaction with Grounded Language Agents", and its get_reward) on the last
//               purchase event, so partial credit is possible
//   site_state  a value of the state, by JSON pointer, equals / is in / matches / exists
//   event       an event of a given name with given fields was emitted
//
// All three are pure functions of env_state, cheap enough to be subgoals and end_on_goal goals.
// What they read was shaped by the agent (typed text ends up in state and events), so they
// bound their work by the engine's own limits and match patterns with RE2.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "scenarios/verifiers.h"
#include "scenarios/verifiers_internal.h"

namespace toolgym::scenarios {
namespace {

using envs::Verifier;
using envs::VerifyContext;
using envs::VerifyResult;
using internal::Describe;
using internal::Quote;
using nlohmann::json;

VerifyResult Result(bool passed, std::string detail) {
  VerifyResult r;
  r.passed = passed;
  r.score = passed ? 1.0 : 0.0;
  r.detail = std::move(detail);
  return r;
}

VerifyResult NoState() {
  return Result(false, "no web state to check (env_state is null: not a web env?)");
}

// Lowercase, runs of whitespace as one space, trimmed: how names and options are compared.
std::string Canonical(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Lowercase alphanumeric words (everything else separates them).
std::set<std::string> WordSet(std::string_view s) {
  std::set<std::string> out;
  std::string cur;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!cur.empty()) {
      out.insert(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.insert(std::move(cur));
  return out;
}

// Strings as they are, numbers and booleans as JSON, anything else "".
std::string ScalarString(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return "";
}

std::optional<double> NumberOf(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = internal::Trim(v.get<std::string>());
    if (s.empty() || s.size() > 40) return std::nullopt;
    std::size_t used = 0;
    double d = 0;
    try {
      d = std::stod(s, &used);
    } catch (...) {
      return std::nullopt;
    }
    if (used != s.size() || !std::isfinite(d)) return std::nullopt;
    return d;
  }
  return std::nullopt;
}

// The value at a JSON pointer, or null when there is none. Written out rather than using
// json::json_pointer, which throws on malformed tokens ("/users/x" into an array).
const json* AtPointer(const json& root, const std::vector<std::string>& tokens) {
  const json* cur = &root;
  for (const std::string& t : tokens) {
    if (cur->is_object()) {
      auto it = cur->find(t);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array()) {
      if (t.empty() || t.size() > 9 || (t.size() > 1 && t[0] == '0') ||
          !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return nullptr;
      }
      const std::size_t i = std::stoul(t);
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      return nullptr;
    }
  }
  return cur;
}

// Splits "/a/b~1c" into {"a", "b/c"}; an error naming `field` for anything but a JSON pointer.
StatusOr<std::vector<std::string>> ParsePointer(const std::string& p, const std::string& field) {
  std::vector<std::string> tokens;
  if (p.empty()) return tokens;
  if (p[0] != '/') {
    return InvalidArgumentError("'{}' must be a JSON pointer such as \"/state/theme\", got {}",
                                field, Quote(p));
  }
  std::string cur;
  for (std::size_t i = 1; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      tokens.push_back(std::move(cur));
      cur.clear();
    } else if (p[i] == '~') {
      if (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1')) {
        return InvalidArgumentError("'{}' {}: '~' must be followed by 0 or 1 in a JSON pointer",
                                    field, Quote(p));
      }
      cur += p[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      cur += p[i];
    }
  }
  return tokens;
}

// Equality for checks: strings after `normalize`, numbers by value (1 == 1.0), the rest as JSON.
bool Same(const json& got, const json& want, const std::vector<std::string>& normalize) {
  if (got.is_string() && want.is_string()) {
    return NormalizeText(got.get<std::string>(), normalize) ==
           NormalizeText(want.get<std::string>(), normalize);
  }
  return got == want;
}

// The events of env_state named `name`, in order.
std::vector<const json*> EventsNamed(const json& state, const std::string& name) {
  std::vector<const json*> out;
  auto it = state.find("events");
  if (it == state.end() || !it->is_array()) return out;
  for (const json& e : *it) {
    if (e.is_object() && e.contains("event") && e["event"] == name) out.push_back(&e);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// webshop

struct ShopGoal {
  std::string type;
  std::string department;  // "" when the goal names none
  std::vector<std::string> attributes;
  std::vector<std::pair<std::string, std::string>> options;
  std::optional<double> price_max;
};

// WebShop's reward for one purchased item (see WebShopVerifier for the formula and for where we
// depart from WebShop's code).
struct ItemScore {
  double r = 0;
  double r_type = 0;
  std::size_t attributes = 0, options = 0;
  bool price = false;
  std::string detail;
};

ItemScore ScoreItem(const json& item, const ShopGoal& goal) {
  ItemScore s;
  if (!item.is_object()) {
    s.detail = "the purchased item is not an object: " + Describe(item);
    return s;
  }
  auto str = [&](const char* key) {
    auto it = item.find(key);
    return it == item.end() ? std::string() : ScalarString(*it);
  };
  const std::string category = str("category").empty() ? str("type") : str("category");
  const std::string title = str("title");

  // Type: exact 1; related 0.5; unrelated 0.
  std::string type_why;
  if (Canonical(category) == Canonical(goal.type)) {
    s.r_type = 1;
    type_why = fmt::format("type {}", Quote(category));
  } else {
    std::set<std::string> want = WordSet(goal.type), have = WordSet(category + " " + title);
    std::size_t shared = 0;
    for (const auto& w : want) shared += have.count(w);
    const bool same_department =
        !goal.department.empty() && Canonical(str("department")) == Canonical(goal.department);
    s.r_type = (shared > 0 || same_department) ? 0.5 : 0.0;
    type_why =
        fmt::format("type {} is not {} ({})", Quote(category), Quote(goal.type),
                    s.r_type > 0 ? (shared > 0 ? "shares a word: 0.5" : "same department: 0.5")
                                 : "unrelated: 0");
  }

  // Attributes: in the product's attribute list, or a whole phrase of its title.
  std::set<std::string> attrs;
  if (auto it = item.find("attributes"); it != item.end() && it->is_array()) {
    for (const json& a : *it) attrs.insert(Canonical(ScalarString(a)));
  }
  const std::string padded_title = " " + [&] {
    std::string t;
    for (char c : Canonical(title)) t += std::isalnum(static_cast<unsigned char>(c)) ? c : ' ';
    return Canonical(t);
  }() + " ";
  std::vector<std::string> missed_attrs;
  for (const std::string& g : goal.attributes) {
    const std::string cg = Canonical(g);
    if (attrs.count(cg) || padded_title.find(" " + cg + " ") != std::string::npos) {
      ++s.attributes;
    } else {
      missed_attrs.push_back(g);
    }
  }

  // Options by name; an option the purchase does not name matches any chosen value, as
  // WebShop compares option values without names.
  const json* chosen = nullptr;
  if (auto it = item.find("options"); it != item.end() && it->is_object()) chosen = &*it;
  std::vector<std::string> missed_opts;
  for (const auto& [name, value] : goal.options) {
    bool hit = false;
    std::string got;
    if (chosen != nullptr) {
      if (auto it = chosen->find(name); it != chosen->end()) {
        got = ScalarString(*it);
        hit = Canonical(got) == Canonical(value);
      } else {
        for (const auto& [k, v] : chosen->items())
          hit = hit || Canonical(ScalarString(v)) == Canonical(value);
      }
    }
    if (hit) {
      ++s.options;
    } else {
      missed_opts.push_back(fmt::format("{}: wanted {}, got {}", name, Quote(value), Quote(got)));
    }
  }

  // Price.
  std::string price_why;
  if (goal.price_max) {
    std::optional<double> price;
    if (auto it = item.find("price"); it != item.end()) price = NumberOf(*it);
    s.price = price && *price <= *goal.price_max + 1e-9;
    price_why =
        price ? fmt::format("price {:g} {} {:g}", *price, s.price ? "<=" : ">", *goal.price_max)
              : "no price";
  }

  const double denom =
      static_cast<double>(goal.attributes.size() + goal.options.size() + (goal.price_max ? 1 : 0));
  const double hits = static_cast<double>(s.attributes + s.options + (s.price ? 1 : 0));
  s.r = s.r_type * (denom > 0 ? hits / denom : 1.0);
  s.detail = fmt::format(
      "{}; attributes {}/{}{}; options {}/{}{}{}{}", type_why, s.attributes, goal.attributes.size(),
      missed_attrs.empty() ? "" : fmt::format(" (missing {})", fmt::join(missed_attrs, ", ")),
      s.options, goal.options.size(),
      missed_opts.empty() ? "" : fmt::format(" ({})", fmt::join(missed_opts, "; ")),
      price_why.empty() ? "" : "; ", price_why);
  return s;
}

// r = r_type * (|goal attributes matched| + |goal options matched| + [price <= price_max])
//              / (|attributes| + |options| + 1), on the last event named `event_`.
class WebShopVerifier : public Verifier {
 public:
  WebShopVerifier(ShopGoal goal, std::string event)
      : goal_(std::move(goal)), event_(std::move(event)) {}
  VerifyResult Verify(VerifyContext& ctx) const override {
    if (ctx.env_state == nullptr) return NoState();
    std::vector<const json*> events = EventsNamed(*ctx.env_state, event_);
    if (events.empty())
      return Result(false, fmt::format("no '{}' event: nothing was bought", event_));
    const json& value = (*events.back()).contains("value") ? (*events.back())["value"] : json();
    // A cart checkout emits {"items": [...]}: the best item counts, divided by how many were
    // bought, so buying everything is no way to the goal.
    std::vector<const json*> items;
    if (value.is_object() && value.contains("items") && value["items"].is_array()) {
      for (const json& i : value["items"]) items.push_back(&i);
    } else if (value.is_array()) {
      for (const json& i : value) items.push_back(&i);
    } else {
      items.push_back(&value);
    }
    if (items.empty())
      return Result(false, fmt::format("the last '{}' event bought nothing", event_));
    ItemScore best;
    best.r = -1;
    for (const json* i : items) {
      ItemScore s = ScoreItem(*i, goal_);
      if (s.r > best.r) best = std::move(s);
    }
    VerifyResult r;
    r.score = best.r / static_cast<double>(items.size());
    r.passed = r.score >= 1.0 - 1e-9;
    r.detail = fmt::format("r = {:.4g}: {}{}", r.score, best.detail,
                           items.size() > 1 ? fmt::format(" (best of {} items, divided by {})",
                                                          items.size(), items.size())
                                            : "");
    return r;
  }

 private:
  ShopGoal goal_;
  std::string event_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildWebShop(const json& spec) {
  std::string event = "purchase";
  if (spec.contains("event")) {
    TG_ASSIGN_OR_RETURN(event, internal::GetString(spec, "event"));
  }
  if (!spec.contains("goal")) return InvalidArgumentError("missing field 'goal'");
  const json& g = spec["goal"];
  if (!g.is_object()) {
    return InvalidArgumentError(
        "'goal' must be an object {{\"type\", \"attributes\", \"options\", \"price_max\"}}, got {}",
        Describe(g));
  }
  static const std::vector<std::string> kGoalFields = {"type",       "category", "department",
                                                       "attributes", "options",  "price_max"};
  for (const auto& [k, v] : g.items()) {
    if (std::find(kGoalFields.begin(), kGoalFields.end(), k) == kGoalFields.end()) {
      return InvalidArgumentError("'goal' has an unknown field {}; accepted fields: {}", Quote(k),
                                  fmt::join(kGoalFields, ", "));
    }
  }
  ShopGoal goal;
  const char* type_key = g.contains("type") ? "type" : "category";
  if (!g.contains(type_key) || !g[type_key].is_string() || g[type_key].get<std::string>().empty()) {
    return InvalidArgumentError(
        "'goal.type' (or 'goal.category') must be a non-empty string, got {}",
        g.contains(type_key) ? Describe(g[type_key]) : "none");
  }
  goal.type = g[type_key].get<std::string>();
  if (g.contains("department")) {
    if (!g["department"].is_string()) {
      return InvalidArgumentError("'goal.department' must be a string, got {}",
                                  Describe(g["department"]));
    }
    goal.department = g["department"].get<std::string>();
  }
  if (g.contains("attributes")) {
    if (!g["attributes"].is_array()) {
      return InvalidArgumentError("'goal.attributes' must be a list of strings, got {}",
                                  Describe(g["attributes"]));
    }
    for (const json& a : g["attributes"]) {
      if (!a.is_string() || a.get<std::string>().empty()) {
        return InvalidArgumentError(
            "'goal.attributes' must be a list of non-empty strings; {} is not", Describe(a));
      }
      goal.attributes.push_back(a.get<std::string>());
    }
  }
  if (g.contains("options")) {
    if (!g["options"].is_object()) {
      return InvalidArgumentError(
          "'goal.options' must be an object of option name -> value, got {}",
          Describe(g["options"]));
    }
    for (const auto& [k, v] : g["options"].items()) {
      if (!(v.is_string() || v.is_number())) {
        return InvalidArgumentError("'goal.options.{}' must be a string or number, got {}", k,
                                    Describe(v));
      }
      goal.options.emplace_back(k, ScalarString(v));
    }
  }
  if (g.contains("price_max")) {
    std::optional<double> p = NumberOf(g["price_max"]);
    if (!p || *p < 0) {
      return InvalidArgumentError("'goal.price_max' must be a number >= 0, got {}",
                                  Describe(g["price_max"]));
    }
    goal.price_max = *p;
  }
  return std::shared_ptr<const Verifier>(
      std::make_shared<WebShopVerifier>(std::move(goal), std::move(event)));
}

// ---------------------------------------------------------------------------------------------
// site_state

class SiteStateVerifier : public Verifier {
 public:
  enum class Mode { kEquals, kIn, kMatches, kExists };
  SiteStateVerifier(std::string path, std::vector<std::string> tokens, Mode mode, json expected,
                    std::shared_ptr<const RE2> re, bool exists, std::vector<std::string> normalize)
      : path_(std::move(path)),
        tokens_(std::move(tokens)),
        mode_(mode),
        expected_(std::move(expected)),
        re_(std::move(re)),
        exists_(exists),
        normalize_(std::move(normalize)) {}

  VerifyResult Verify(VerifyContext& ctx) const override {
    if (ctx.env_state == nullptr) return NoState();
    const json* v = AtPointer(*ctx.env_state, tokens_);
    if (mode_ == Mode::kExists) {
      const bool there = v != nullptr && !v->is_null();
      return Result(there == exists_,
                    fmt::format("{} {}", path_, there ? "exists" : "does not exist"));
    }
    if (v == nullptr) return Result(false, fmt::format("nothing at {}", path_));
    switch (mode_) {
      case Mode::kEquals: {
        const bool ok = Same(*v, expected_, normalize_);
        return Result(ok, ok ? fmt::format("{} is {}", path_, Describe(*v))
                             : fmt::format("{}: expected {}, found {}", path_, Describe(expected_),
                                           Describe(*v)));
      }
      case Mode::kIn: {
        for (const json& e : expected_) {
          if (Same(*v, e, normalize_))
            return Result(true, fmt::format("{} is {}", path_, Describe(*v)));
        }
        return Result(false, fmt::format("{}: expected one of {}, found {}", path_,
                                         Describe(expected_), Describe(*v)));
      }
      case Mode::kMatches: {
        if (!(v->is_string() || v->is_number() || v->is_boolean())) {
          return Result(false, fmt::format("{}: expected text matching /{}/, found {}", path_,
                                           re_->pattern(), Describe(*v)));
        }
        const std::string text = NormalizeText(ScalarString(*v), normalize_);
        const bool ok = RE2::FullMatch(text, *re_);
        return Result(ok, fmt::format("{} {} {} /{}/", path_, Quote(text),
                                      ok ? "matches" : "does not match", re_->pattern()));
      }
      case Mode::kExists:
        break;
    }
    return Result(false, "unreachable");
  }

 private:
  std::string path_;
  std::vector<std::string> tokens_;
  Mode mode_;
  json expected_;
  std::shared_ptr<const RE2> re_;
  bool exists_;
  std::vector<std::string> normalize_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildSiteState(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string path, internal::GetString(spec, "path", /*allow_empty=*/true));
  TG_ASSIGN_OR_RETURN(std::vector<std::string> tokens, ParsePointer(path, "path"));
  int given = 0;
  for (const char* k : {"equals", "in", "matches", "exists"}) given += spec.contains(k) ? 1 : 0;
  if (given > 1) {
    return InvalidArgumentError("give one of 'equals', 'in', 'matches' and 'exists', not {}",
                                given);
  }
  std::vector<std::string> normalize;
  if (spec.contains("normalize")) {
    TG_ASSIGN_OR_RETURN(normalize, ParseNormalizeOptions(spec["normalize"]));
  }
  using Mode = SiteStateVerifier::Mode;
  Mode mode = Mode::kExists;
  json expected;
  std::shared_ptr<const RE2> re;
  bool exists = true;
  if (spec.contains("equals")) {
    mode = Mode::kEquals;
    expected = spec["equals"];
  } else if (spec.contains("in")) {
    mode = Mode::kIn;
    expected = spec["in"];
    if (!expected.is_array() || expected.empty()) {
      return InvalidArgumentError("'in' must be a non-empty list of values, got {}",
                                  Describe(expected));
    }
  } else if (spec.contains("matches")) {
    mode = Mode::kMatches;
    TG_ASSIGN_OR_RETURN(std::string pattern, internal::GetString(spec, "matches"));
    RE2::Options options;
    options.set_log_errors(false);
    auto compiled = std::make_shared<const RE2>(pattern, options);
    if (!compiled->ok()) {
      return InvalidArgumentError("'matches' {} does not compile: {}", Quote(pattern),
                                  compiled->error());
    }
    re = std::move(compiled);
  } else if (spec.contains("exists")) {
    TG_ASSIGN_OR_RETURN(exists, internal::GetBool(spec, "exists", true));
  }
  return std::shared_ptr<const Verifier>(std::make_shared<SiteStateVerifier>(
      std::move(path), std::move(tokens), mode, std::move(expected), std::move(re), exists,
      std::move(normalize)));
}

// ---------------------------------------------------------------------------------------------
// event

class EventVerifier : public Verifier {
 public:
  struct Condition {
    std::string key;  // as written: "email" or "/address/city"
    std::vector<std::string> tokens;
    json expected;
  };
  EventVerifier(std::string name, std::vector<Condition> where, std::vector<std::string> normalize,
                bool partial)
      : name_(std::move(name)),
        where_(std::move(where)),
        normalize_(std::move(normalize)),
        partial_(partial) {}

  VerifyResult Verify(VerifyContext& ctx) const override {
    if (ctx.env_state == nullptr) return NoState();
    std::vector<const json*> events = EventsNamed(*ctx.env_state, name_);
    if (events.empty()) return Result(false, fmt::format("no '{}' event", name_));
    std::size_t best = 0, best_index = 0;
    std::string best_miss;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const json& value = events[i]->contains("value") ? (*events[i])["value"] : json();
      std::size_t hits = 0;
      std::string miss;
      for (const Condition& c : where_) {
        const json* got = AtPointer(value, c.tokens);
        if (got != nullptr && Same(*got, c.expected, normalize_)) {
          ++hits;
        } else if (miss.empty()) {
          miss = fmt::format("{}: expected {}, found {}", c.key, Describe(c.expected),
                             got == nullptr ? "nothing" : Describe(*got));
        }
      }
      if (hits == where_.size()) {
        return Result(true, fmt::format("'{}' event {} of {} matches all {} field(s)", name_, i + 1,
                                        events.size(), where_.size()));
      }
      if (i == 0 || hits > best) {
        best = hits;
        best_index = i;
        best_miss = std::move(miss);
      }
    }
    VerifyResult r = Result(
        false, fmt::format("{} '{}' event(s); the closest (#{}) matches {}/{} "
                           "field(s), first miss {}",
                           events.size(), name_, best_index + 1, best, where_.size(), best_miss));
    if (partial_ && !where_.empty()) {
      r.score = static_cast<double>(best) / static_cast<double>(where_.size());
    }
    return r;
  }

 private:
  std::string name_;
  std::vector<Condition> where_;
  std::vector<std::string> normalize_;
  bool partial_;
};

StatusOr<std::shared_ptr<const Verifier>> BuildEvent(const json& spec) {
  TG_ASSIGN_OR_RETURN(std::string name, internal::GetString(spec, "name"));
  TG_ASSIGN_OR_RETURN(bool partial, internal::GetBool(spec, "partial", false));
  std::vector<std::string> normalize;
  if (spec.contains("normalize")) {
    TG_ASSIGN_OR_RETURN(normalize, ParseNormalizeOptions(spec["normalize"]));
  }
  std::vector<EventVerifier::Condition> where;
  if (spec.contains("where")) {
    const json& w = spec["where"];
    if (!w.is_object()) {
      return InvalidArgumentError("'where' must be an object of field -> value, got {}",
                                  Describe(w));
    }
    for (const auto& [k, v] : w.items()) {
      EventVerifier::Condition c;
      c.key = k;
      c.expected = v;
      if (!k.empty() && k[0] == '/') {
        TG_ASSIGN_OR_RETURN(c.tokens, ParsePointer(k, "where"));
      } else {
        c.tokens = {k};
      }
      where.push_back(std::move(c));
    }
  }
  return std::shared_ptr<const Verifier>(std::make_shared<EventVerifier>(
      std::move(name), std::move(where), std::move(normalize), partial));
}

}  // namespace

void RegisterWebVerifiers(VerifierRegistry& r) {
  auto add = [&r](VerifierInfo info) { TG_CHECK(r.Register(std::move(info)).ok()); };
  add({"webshop",
       "WebShop's reward on the last purchase: type, attribute, option and price matches",
       {"goal", "event"},
       {"goal"},
       BuildWebShop});
  add({"site_state",
       "the web state at a JSON pointer equals / is in / matches / exists",
       {"path", "equals", "in", "matches", "exists", "normalize"},
       {"path"},
       BuildSiteState});
  add({"event",
       "an event named `name` whose value has the fields in `where` was emitted",
       {"name", "where", "normalize", "partial"},
       {"name"},
       BuildEvent});
}

}  // namespace toolgym::scenarios
