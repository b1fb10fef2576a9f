// Site::FromJson: validation of a site document ("toolgym.site/1", docs/sites.md) and its
// compilation into the structures of site_internal.h. Every problem is collected (not just the
// first) with the file and the JSON pointer where it is.
#include "web/site.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "web/site_internal.h"

namespace toolgym::web {

using internal::Cond;
using internal::Effect;
using internal::Element;
using internal::Path;
using internal::Root;
using internal::Template;
using internal::Value;
using nlohmann::json;

std::string SiteError::ToString() const {
  return fmt::format("{}: {}: {}", file.empty() ? "<site>" : file, path.empty() ? "/" : path,
                     message);
}

namespace internal {

void AppendValueText(const json& v, std::string* out) {
  switch (v.type()) {
    case json::value_t::string:
      *out += v.get_ref<const std::string&>();
      return;
    case json::value_t::number_integer:
      *out += fmt::format("{}", v.get<std::int64_t>());
      return;
    case json::value_t::number_unsigned:
      *out += fmt::format("{}", v.get<std::uint64_t>());
      return;
    case json::value_t::number_float: {
      const double d = v.get<double>();
      *out += fmt::format("{}", d);
      return;
    }
    case json::value_t::boolean:
      *out += v.get<bool>() ? "true" : "false";
      return;
    case json::value_t::null:
    case json::value_t::discarded:
      return;
    case json::value_t::array: {
      bool first = true;
      for (const json& e : v) {
        if (!first) *out += ", ";
        first = false;
        AppendValueText(e, out);
      }
      return;
    }
    default:
      *out += v.dump();
  }
}

std::string ValueText(const json& v) {
  std::string s;
  AppendValueText(v, &s);
  return s;
}

void AppendWords(const json& v, std::vector<std::string>* out) {
  if (v.is_array()) {
    for (const json& e : v) AppendWords(e, out);
    return;
  }
  if (v.is_object() || v.is_null()) return;
  const std::string text = v.is_string() ? v.get_ref<const std::string&>() : ValueText(v);
  std::string word;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || std::isalnum(u)) {
      word += static_cast<char>(std::tolower(u));
    } else if (!word.empty()) {
      out->push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out->push_back(std::move(word));
}

std::vector<std::string> Words(const json& v) {
  std::vector<std::string> w;
  AppendWords(v, &w);
  std::sort(w.begin(), w.end());
  w.erase(std::unique(w.begin(), w.end()), w.end());
  return w;
}

}  // namespace internal

namespace {

const char* const kElementKinds[] = {"heading", "text",     "link", "button",  "input",
                                     "select",  "checkbox", "list", "section", "errors"};
const char* const kEffectKinds[] = {"check",  "set",      "add",  "append", "remove", "reset",
                                    "toggle", "set_data", "emit", "end",    "goto"};
const char* const kConditionOps[] = {"eq",       "ne",      "lt",    "le",  "gt", "ge",
                                     "contains", "matches", "empty", "and", "or", "not"};

std::string EscapePointerToken(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string Ptr(const std::string& base, const std::string& key) {
  return base + "/" + EscapePointerToken(key);
}
std::string Ptr(const std::string& base, std::size_t index) {
  return base + "/" + std::to_string(index);
}

std::string Shorten(const std::string& s, std::size_t n = 60) {
  if (s.size() <= n) return s;
  std::size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "...";
}

// "the string \"abc\"", "the number 42", "an object".
std::string Found(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return fmt::format("the string \"{}\"", Shorten(v.get_ref<const std::string&>()));
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "the number " + v.dump();
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::null:
      return "null";
    case json::value_t::array:
      return fmt::format("an array of {}", v.size());
    case json::value_t::object:
      return "an object";
    default:
      return "an invalid value";
  }
}

template <typename Range>
std::string JoinNames(const Range& names, std::size_t max = 30) {
  std::string out;
  std::size_t n = 0;
  for (const auto& name : names) {
    if (n == max) {
      out += ", ...";
      break;
    }
    if (n++) out += ", ";
    out += name;
  }
  return out.empty() ? "(none)" : out;
}

bool IsIdentifier(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsPageId(const std::string& s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsSegment(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// What is in scope where a value is compiled.
struct Scope {
  const internal::Page* page = nullptr;
  std::vector<std::string> rows;  // `as` names of the enclosing lists, outermost first
  bool input = false;             // inside on_type / on_select
  int depth = 0;
};

class Compiler {
 public:
  Compiler(std::string file, std::vector<SiteError>* errors, internal::CompiledSite* site)
      : file_(std::move(file)), errors_(errors), site_(site) {}

  void Compile(const json& doc);

 private:
  void Error(const std::string& path, std::string message) {
    errors_->push_back({file_, path, std::move(message)});
  }

  // Checks that `obj`'s keys are all in `allowed`; `what` names the object in the message.
  void CheckKeys(const json& obj, const std::string& ptr,
                 std::initializer_list<const char*> allowed, const std::string& what);
  // The one kind key of an element or effect, or "" (error reported).
  template <std::size_t N>
  std::string KindKey(const json& obj, const std::string& ptr, const char* const (&kinds)[N],
                      const std::string& what);
  const std::string* String(const json& obj, const char* key, const std::string& ptr,
                            bool required);
  bool StateVar(const json& obj, const char* key, const std::string& ptr, std::string* out);
  int PageRef(const json& v, const std::string& ptr);

  Template CompileTemplate(const std::string& s, const std::string& ptr, const Scope& scope,
                           bool* ok);
  bool CompilePath(const std::string& text, const std::string& ptr, const Scope& scope, Path* out);
  Value CompileValue(const json& v, const std::string& ptr, const Scope& scope, int depth = 0);
  // A list: a JSON array or a single path ("{data.products}").
  Value CompileListValue(const json& v, const std::string& ptr, const Scope& scope);
  Cond CompileCond(const json& v, const std::string& ptr, const Scope& scope, int depth = 0);
  std::vector<Effect> CompileEffects(const json& v, const std::string& ptr, const Scope& scope);
  Effect CompileEffect(const json& v, const std::string& ptr, const Scope& scope);
  void CompileNavigation(const json& obj, const std::string& ptr, const Scope& scope,
                         const char* page_key, int* page, std::optional<Value>* item);
  std::vector<Element> CompileElements(const json& v, const std::string& ptr, Scope& scope);
  Element CompileElement(const json& v, const std::string& ptr, Scope& scope);
  void CompileList(const json& v, const std::string& ptr, Scope& scope, Element* e);
  int SearchIndexFor(const Value& source, const std::vector<std::string>& fields);

  std::string file_;
  std::vector<SiteError>* errors_;
  internal::CompiledSite* site_;
};

void Compiler::CheckKeys(const json& obj, const std::string& ptr,
                         std::initializer_list<const char*> allowed, const std::string& what) {
  for (const auto& [k, v] : obj.items()) {
    bool known = false;
    for (const char* a : allowed) known = known || k == a;
    if (!known) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      std::sort(names.begin(), names.end());
      Error(Ptr(ptr, k), fmt::format("unknown key \"{}\" in {}; expected one of: {}", Shorten(k),
                                     what, JoinNames(names)));
    }
  }
}

template <std::size_t N>
std::string Compiler::KindKey(const json& obj, const std::string& ptr,
                              const char* const (&kinds)[N], const std::string& what) {
  std::vector<std::string> found;
  for (const char* k : kinds)
    if (obj.contains(k)) found.push_back(k);
  if (found.size() == 1) return found[0];
  std::vector<std::string> all(std::begin(kinds), std::end(kinds));
  if (found.empty()) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : obj.items()) keys.push_back(k);
    Error(ptr, fmt::format("{} needs exactly one kind key ({}); found none (keys: {})", what,
                           JoinNames(all), JoinNames(keys)));
  } else {
    Error(ptr, fmt::format("{} needs exactly one kind key; found {}: {}", what, found.size(),
                           JoinNames(found)));
  }
  return "";
}

const std::string* Compiler::String(const json& obj, const char* key, const std::string& ptr,
                                    bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) Error(ptr, fmt::format("missing \"{}\" (a string)", key));
    return nullptr;
  }
  if (!it->is_string()) {
    Error(Ptr(ptr, key), "expected a string, found " + Found(*it));
    return nullptr;
  }
  return &it->get_ref<const std::string&>();
}

bool Compiler::StateVar(const json& obj, const char* key, const std::string& ptr,
                        std::string* out) {
  const std::string* name = String(obj, key, ptr, true);
  if (name == nullptr) return false;
  if (!site_->initial_state.contains(*name)) {
    std::vector<std::string> vars;
    for (const auto& [k, v] : site_->initial_state.items()) vars.push_back(k);
    Error(Ptr(ptr, key), fmt::format("unknown state variable \"{}\"; declared in /state: {}",
                                     Shorten(*name), JoinNames(vars)));
    return false;
  }
  *out = *name;
  return true;
}

int Compiler::PageRef(const json& v, const std::string& ptr) {
  if (!v.is_string()) {
    Error(ptr, "expected a page id (a string), found " + Found(v));
    return -1;
  }
  const std::string& id = v.get_ref<const std::string&>();
  auto it = site_->page_index.find(id);
  if (it == site_->page_index.end()) {
    std::vector<std::string> names;
    for (const auto& [k, i] : site_->page_index) names.push_back(k);
    Error(ptr, fmt::format("unknown page \"{}\"; pages: {}", Shorten(id), JoinNames(names)));
    return -1;
  }
  return it->second;
}

bool Compiler::CompilePath(const std::string& text, const std::string& ptr, const Scope& scope,
                           Path* out) {
  out->text = text;
  std::string body = text;
  const auto colon = text.find(':');
  if (colon != std::string::npos) {
    body = text.substr(0, colon);
    const std::string spec = text.substr(colon + 1);
    if (spec == "count") {
      out->format = Path::Format::kCount;
    } else if (spec.size() == 3 && spec[0] == '.' &&
               std::isdigit(static_cast<unsigned char>(spec[1])) && spec[2] == 'f') {
      out->format = Path::Format::kFixed;
      out->precision = spec[1] - '0';
    } else {
      Error(ptr, fmt::format("unknown format \":{}\" in \"{{{}}}\"; expected \":.Nf\" (N a digit) "
                             "or \":count\"",
                             Shorten(spec), Shorten(text)));
      return false;
    }
  }
  std::vector<std::string> segs;
  std::size_t start = 0;
  while (true) {
    const auto dot = body.find('.', start);
    segs.push_back(body.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const std::string& s : segs) {
    if (!IsSegment(s)) {
      Error(ptr, fmt::format("bad path \"{{{}}}\": each step must be a name or an index "
                             "(letters, digits, _ and -)",
                             Shorten(text)));
      return false;
    }
  }
  std::size_t first_step = 1;
  const std::string& root = segs[0];
  // A list row shadows nothing: `as` names may not be state, item, data or input.
  auto row = std::find(scope.rows.rbegin(), scope.rows.rend(), root);
  if (row != scope.rows.rend()) {
    out->root = Root::kRow;
    out->name = root;
    out->slot = static_cast<int>(scope.rows.rend() - row) - 1;
  } else if (root == "state") {
    if (segs.size() < 2) {
      Error(ptr, fmt::format("bad path \"{{{}}}\": expected state.<variable>", Shorten(text)));
      return false;
    }
    if (!site_->initial_state.contains(segs[1])) {
      std::vector<std::string> vars;
      for (const auto& [k, v] : site_->initial_state.items()) vars.push_back(k);
      Error(ptr, fmt::format("unknown state variable \"{}\" in \"{{{}}}\"; declared in /state: {}",
                             segs[1], Shorten(text), JoinNames(vars)));
      return false;
    }
    out->root = Root::kState;
    out->name = segs[1];
    first_step = 2;
  } else if (root == "data") {
    if (segs.size() < 2) {
      Error(ptr, fmt::format("bad path \"{{{}}}\": expected data.<collection>", Shorten(text)));
      return false;
    }
    if (!site_->collection_index.count(segs[1])) {
      std::vector<std::string> names;
      for (const auto& [k, i] : site_->collection_index) names.push_back(k);
      Error(ptr, fmt::format("unknown collection \"{}\" in \"{{{}}}\"; collections in /data: {}",
                             segs[1], Shorten(text), JoinNames(names)));
      return false;
    }
    out->root = Root::kData;
    out->name = segs[1];
    first_step = 2;
  } else if (root == "item") {
    if (scope.page == nullptr || (scope.page->item_of < 0 && !scope.page->item_of_invalid)) {
      Error(ptr, fmt::format("\"{{{}}}\" uses item on page \"{}\", which has no \"item_of\"",
                             Shorten(text), scope.page ? scope.page->id : std::string("?")));
      return false;
    }
    out->root = Root::kItem;
  } else if (root == "input") {
    if (!scope.input) {
      Error(ptr, fmt::format("\"{{{}}}\" uses input outside on_type / on_select effects",
                             Shorten(text)));
      return false;
    }
    out->root = Root::kInput;
  } else {
    std::string rows = scope.rows.empty() ? "none here" : JoinNames(scope.rows);
    Error(ptr, fmt::format("unknown name \"{}\" in \"{{{}}}\"; expected state.<variable>, "
                           "item.<field>, data.<collection>, input, or a list row ({})",
                           Shorten(root), Shorten(text), rows));
    return false;
  }
  for (std::size_t i = first_step; i < segs.size(); ++i) {
    Path::Step step;
    step.key = segs[i];
    if (std::all_of(segs[i].begin(), segs[i].end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) &&
        segs[i].size() < 9)
      step.index = std::stoi(segs[i]);
    out->steps.push_back(std::move(step));
  }
  return true;
}

Template Compiler::CompileTemplate(const std::string& s, const std::string& ptr, const Scope& scope,
                                   bool* ok) {
  Template t;
  t.literals.emplace_back();
  *ok = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '{') {
      if (i + 1 < s.size() && s[i + 1] == '{') {
        t.literals.back() += '{';
        ++i;
        continue;
      }
      const auto close = s.find('}', i + 1);
      if (close == std::string::npos) {
        Error(ptr, fmt::format("unclosed \"{{\" at byte {} of \"{}\"; write \"{{{{\" for a "
                               "literal brace",
                               i, Shorten(s)));
        *ok = false;
        return t;
      }
      Path p;
      if (!CompilePath(s.substr(i + 1, close - i - 1), ptr, scope, &p)) {
        *ok = false;
      } else {
        t.paths.push_back(std::move(p));
        t.literals.emplace_back();
      }
      i = close;
    } else if (c == '}') {
      if (i + 1 < s.size() && s[i + 1] == '}') {
        t.literals.back() += '}';
        ++i;
        continue;
      }
      Error(ptr, fmt::format("unmatched \"}}\" at byte {} of \"{}\"; write \"}}}}\" for a "
                             "literal brace",
                             i, Shorten(s)));
      *ok = false;
    } else {
      t.literals.back() += c;
    }
  }
  return t;
}

Value Compiler::CompileValue(const json& v, const std::string& ptr, const Scope& scope, int depth) {
  Value out;
  if (depth > internal::kMaxNesting) {
    Error(ptr, fmt::format("value nested deeper than {} levels", internal::kMaxNesting));
    return out;
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.find_first_of("{}") == std::string::npos) {
      out.constant = v;
      return out;
    }
    bool ok = true;
    Template t = CompileTemplate(s, ptr, scope, &ok);
    if (!ok) return out;
    if (t.paths.empty()) {
      out.constant = t.literals[0];
      return out;
    }
    out.kind = Value::Kind::kTemplate;
    out.tmpl = std::move(t);
    return out;
  }
  if (v.is_array()) {
    out.kind = Value::Kind::kArray;
    for (std::size_t i = 0; i < v.size(); ++i)
      out.items.push_back(CompileValue(v[i], Ptr(ptr, i), scope, depth + 1));
    return out;
  }
  if (v.is_object()) {
    out.kind = Value::Kind::kObject;
    for (const auto& [k, e] : v.items())
      out.fields.emplace_back(k, CompileValue(e, Ptr(ptr, k), scope, depth + 1));
    return out;
  }
  out.constant = v;
  return out;
}

Value Compiler::CompileListValue(const json& v, const std::string& ptr, const Scope& scope) {
  if (v.is_array()) return CompileValue(v, ptr, scope);
  if (v.is_string()) {
    Value out = CompileValue(v, ptr, scope);
    if (out.kind == Value::Kind::kTemplate && out.tmpl.raw()) return out;
    if (out.kind == Value::Kind::kTemplate || out.kind == Value::Kind::kConst) {
      if (errors_->empty() || errors_->back().path != ptr)
        Error(ptr, fmt::format("expected a list or a single path like \"{{data.products}}\", "
                               "found the string \"{}\"",
                               Shorten(v.get_ref<const std::string&>())));
    }
    return Value{};
  }
  Error(ptr, "expected a list or a single path like \"{data.products}\", found " + Found(v));
  return Value{};
}

Cond Compiler::CompileCond(const json& v, const std::string& ptr, const Scope& scope, int depth) {
  Cond c;
  if (v.is_boolean()) {
    c.op = v.get<bool>() ? Cond::Op::kTrue : Cond::Op::kFalse;
    return c;
  }
  if (depth > internal::kMaxNesting) {
    Error(ptr, fmt::format("condition nested deeper than {} levels", internal::kMaxNesting));
    return c;
  }
  if (!v.is_object() || v.size() != 1) {
    Error(ptr,
          fmt::format("expected a condition: true, false or an object with one operator "
                      "({}), found {}",
                      JoinNames(kConditionOps),
                      v.is_object() ? fmt::format("an object with {} keys", v.size()) : Found(v)));
    return c;
  }
  const std::string op = v.begin().key();
  const json& arg = v.begin().value();
  const std::string aptr = Ptr(ptr, op);
  static const std::map<std::string, Cond::Op> kOps = {{"eq", Cond::Op::kEq},
                                                       {"ne", Cond::Op::kNe},
                                                       {"lt", Cond::Op::kLt},
                                                       {"le", Cond::Op::kLe},
                                                       {"gt", Cond::Op::kGt},
                                                       {"ge", Cond::Op::kGe},
                                                       {"contains", Cond::Op::kContains},
                                                       {"matches", Cond::Op::kMatches},
                                                       {"empty", Cond::Op::kEmpty},
                                                       {"and", Cond::Op::kAnd},
                                                       {"or", Cond::Op::kOr},
                                                       {"not", Cond::Op::kNot}};
  auto it = kOps.find(op);
  if (it == kOps.end()) {
    Error(aptr, fmt::format("unknown condition operator \"{}\"; expected one of: {}", Shorten(op),
                            JoinNames(kConditionOps)));
    return c;
  }
  c.op = it->second;
  switch (c.op) {
    case Cond::Op::kAnd:
    case Cond::Op::kOr:
      if (!arg.is_array() || arg.empty()) {
        Error(aptr,
              fmt::format("\"{}\" takes a non-empty list of conditions, found {}", op, Found(arg)));
        return c;
      }
      for (std::size_t i = 0; i < arg.size(); ++i)
        c.subs.push_back(CompileCond(arg[i], Ptr(aptr, i), scope, depth + 1));
      return c;
    case Cond::Op::kNot:
      c.subs.push_back(CompileCond(arg, aptr, scope, depth + 1));
      return c;
    case Cond::Op::kEmpty:
      c.args.push_back(CompileValue(arg, aptr, scope));
      return c;
    case Cond::Op::kMatches: {
      if (!arg.is_array() || arg.size() != 2) {
        Error(aptr, "\"matches\" takes [value, \"RE2 pattern\"], found " + Found(arg));
        return c;
      }
      c.args.push_back(CompileValue(arg[0], Ptr(aptr, 0), scope));
      if (!arg[1].is_string()) {
        Error(Ptr(aptr, 1), "expected an RE2 pattern (a string), found " + Found(arg[1]));
        return c;
      }
      RE2::Options opts;
      opts.set_log_errors(false);
      opts.set_max_mem(1 << 20);
      auto re = std::make_shared<RE2>(arg[1].get<std::string>(), opts);
      if (!re->ok()) {
        Error(Ptr(aptr, 1),
              fmt::format("bad regex \"{}\": {}", Shorten(arg[1].get<std::string>()), re->error()));
        return c;
      }
      c.re = std::move(re);
      return c;
    }
    default:
      if (!arg.is_array() || arg.size() != 2) {
        Error(aptr, fmt::format("\"{}\" takes two operands [a, b], found {}", op, Found(arg)));
        return c;
      }
      c.args.push_back(CompileValue(arg[0], Ptr(aptr, 0), scope));
      c.args.push_back(CompileValue(arg[1], Ptr(aptr, 1), scope));
      return c;
  }
}

void Compiler::CompileNavigation(const json& obj, const std::string& ptr, const Scope& scope,
                                 const char* page_key, int* page, std::optional<Value>* item) {
  if (obj.contains(page_key)) *page = PageRef(obj[page_key], Ptr(ptr, page_key));
  if (obj.contains("item")) {
    if (!obj["item"].is_string()) {
      Error(Ptr(ptr, "item"),
            "expected an item id (a string like \"{p.id}\"), found " + Found(obj["item"]));
    } else {
      *item = CompileValue(obj["item"], Ptr(ptr, "item"), scope);
    }
    if (!obj.contains(page_key)) {
      Error(Ptr(ptr, "item"), fmt::format("\"item\" without \"{}\": name the item page", page_key));
    } else if (*page >= 0 && site_->pages[*page].item_of < 0) {
      Error(Ptr(ptr, "item"), fmt::format("page \"{}\" has no \"item_of\", so it takes no item",
                                          site_->pages[*page].id));
    }
  } else if (*page >= 0 && site_->pages[*page].item_of >= 0) {
    Error(ptr, fmt::format("page \"{}\" shows one item of \"{}\": add \"item\" (e.g. \"{{p.id}}\")",
                           site_->pages[*page].id,
                           site_->collections[site_->pages[*page].item_of].name));
  }
}

Effect Compiler::CompileEffect(const json& v, const std::string& ptr, const Scope& scope) {
  Effect e;
  e.pointer = ptr;
  if (!v.is_object()) {
    Error(ptr, "expected an effect (an object), found " + Found(v));
    return e;
  }
  const std::string kind = KindKey(v, ptr, kEffectKinds, "an effect");
  if (kind.empty()) return e;
  if (v.contains("if") && kind != "check") e.when = CompileCond(v["if"], Ptr(ptr, "if"), scope);
  const auto need_value = [&] {
    if (!v.contains("value")) {
      Error(ptr, fmt::format("\"{}\" needs \"value\"", kind));
      return;
    }
    e.value = CompileValue(v["value"], Ptr(ptr, "value"), scope);
  };
  const auto initial = [&]() -> const json& { return site_->initial_state[e.var]; };
  if (kind == "check") {
    CheckKeys(v, ptr, {"check", "error"}, "a check effect");
    e.kind = Effect::Kind::kCheck;
    e.check = CompileCond(v["check"], Ptr(ptr, "check"), scope);
    if (const std::string* m = String(v, "error", ptr, true))
      e.message = CompileValue(*m, Ptr(ptr, "error"), scope);
  } else if (kind == "set" || kind == "add" || kind == "append" || kind == "remove") {
    CheckKeys(v, ptr, {kind.c_str(), "value", "if"}, "a " + kind + " effect");
    e.kind = kind == "set"      ? Effect::Kind::kSet
             : kind == "add"    ? Effect::Kind::kAdd
             : kind == "append" ? Effect::Kind::kAppend
                                : Effect::Kind::kRemove;
    if (StateVar(v, kind.c_str(), ptr, &e.var)) {
      if ((kind == "append" || kind == "remove") && !initial().is_array())
        Error(Ptr(ptr, kind), fmt::format("\"{}\" needs a list variable; state.{} starts as {}",
                                          kind, e.var, Found(initial())));
      if (kind == "add" && !initial().is_number())
        Error(Ptr(ptr, kind), fmt::format("\"add\" needs a number variable; state.{} starts as {}",
                                          e.var, Found(initial())));
    }
    need_value();
  } else if (kind == "reset" || kind == "toggle") {
    CheckKeys(v, ptr, {kind.c_str(), "if"}, "a " + kind + " effect");
    e.kind = kind == "reset" ? Effect::Kind::kReset : Effect::Kind::kToggle;
    if (StateVar(v, kind.c_str(), ptr, &e.var) && kind == "toggle" && !initial().is_boolean())
      Error(Ptr(ptr, kind),
            fmt::format("\"toggle\" needs a boolean variable; state.{} starts as {}", e.var,
                        Found(initial())));
  } else if (kind == "set_data") {
    CheckKeys(v, ptr, {"set_data", "id", "field", "value", "if"}, "a set_data effect");
    e.kind = Effect::Kind::kSetData;
    if (const std::string* c = String(v, "set_data", ptr, true)) {
      auto it = site_->collection_index.find(*c);
      if (it == site_->collection_index.end()) {
        std::vector<std::string> names;
        for (const auto& [k, i] : site_->collection_index) names.push_back(k);
        Error(Ptr(ptr, "set_data"),
              fmt::format("unknown collection \"{}\"; collections in /data: {}", Shorten(*c),
                          JoinNames(names)));
      } else {
        e.collection = it->second;
      }
    }
    if (!v.contains("id"))
      Error(ptr, "\"set_data\" needs \"id\" (the item's id, e.g. \"{u.id}\")");
    else
      e.id = CompileValue(v["id"], Ptr(ptr, "id"), scope);
    if (const std::string* f = String(v, "field", ptr, true)) {
      if (*f == "id")
        Error(Ptr(ptr, "field"), "\"set_data\" cannot change an item's \"id\"");
      else
        e.field = *f;
    }
    need_value();
  } else if (kind == "emit") {
    CheckKeys(v, ptr, {"emit", "value", "if"}, "an emit effect");
    e.kind = Effect::Kind::kEmit;
    if (const std::string* n = String(v, "emit", ptr, true)) {
      if (n->empty()) Error(Ptr(ptr, "emit"), "the event name is empty");
      e.name = *n;
    }
    if (v.contains("value")) e.value = CompileValue(v["value"], Ptr(ptr, "value"), scope);
  } else if (kind == "end") {
    CheckKeys(v, ptr, {"end", "if"}, "an end effect");
    e.kind = Effect::Kind::kEnd;
    if (const std::string* n = String(v, "end", ptr, true)) e.name = *n;
  } else if (kind == "goto") {
    CheckKeys(v, ptr, {"goto", "item", "if"}, "a goto effect");
    e.kind = Effect::Kind::kGoto;
    CompileNavigation(v, ptr, scope, "goto", &e.page, &e.item);
  }
  return e;
}

std::vector<Effect> Compiler::CompileEffects(const json& v, const std::string& ptr,
                                             const Scope& scope) {
  std::vector<Effect> out;
  if (!v.is_array()) {
    Error(ptr, "expected a list of effects, found " + Found(v));
    return out;
  }
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(CompileEffect(v[i], Ptr(ptr, i), scope));
  return out;
}

int Compiler::SearchIndexFor(const Value& source, const std::vector<std::string>& fields) {
  if (source.kind != Value::Kind::kTemplate || !source.tmpl.raw()) return -1;
  const Path& p = source.tmpl.paths[0];
  if (p.root != Root::kData || !p.steps.empty()) return -1;
  const int coll = site_->collection_index.at(p.name);
  for (std::size_t i = 0; i < site_->search_indexes.size(); ++i) {
    const auto& s = site_->search_indexes[i];
    if (s.collection == coll && s.fields == fields) return static_cast<int>(i);
  }
  internal::SearchIndex index;
  index.collection = coll;
  index.fields = fields;
  for (const json& row : site_->data[p.name]) {
    std::vector<std::string> words;
    if (row.is_object()) {
      for (const std::string& f : fields) {
        auto it = row.find(f);
        if (it != row.end()) internal::AppendWords(*it, &words);
      }
    }
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    index.words.push_back(std::move(words));
  }
  site_->search_indexes.push_back(std::move(index));
  return static_cast<int>(site_->search_indexes.size()) - 1;
}

void Compiler::CompileList(const json& v, const std::string& ptr, Scope& scope, Element* e) {
  CheckKeys(v, ptr,
            {"list", "as", "where", "search", "sort", "limit", "offset", "elements", "empty", "if",
             "name"},
            "a list");
  e->source = CompileListValue(v["list"], Ptr(ptr, "list"), scope);
  std::string as;
  if (const std::string* a = String(v, "as", ptr, true)) {
    as = *a;  // kept even when wrong, so that the rows' own paths are not reported too
    if (!IsIdentifier(*a)) {
      Error(Ptr(ptr, "as"),
            fmt::format("\"{}\" is not a name (letters, digits and _)", Shorten(*a)));
    } else if (*a == "state" || *a == "item" || *a == "data" || *a == "input") {
      Error(Ptr(ptr, "as"), fmt::format("\"{}\" is reserved; name the row something else", *a));
    } else if (std::find(scope.rows.begin(), scope.rows.end(), *a) != scope.rows.end()) {
      Error(Ptr(ptr, "as"), fmt::format("\"{}\" is already the row of an enclosing list", *a));
    }
  }
  if (as.empty()) as = "\x01invalid";  // keeps going so that the rows' errors are reported too
  scope.rows.push_back(as);
  e->slot = static_cast<int>(scope.rows.size()) - 1;
  if (v.contains("where")) e->where = CompileCond(v["where"], Ptr(ptr, "where"), scope);
  if (v.contains("search")) {
    const json& s = v["search"];
    const std::string sptr = Ptr(ptr, "search");
    scope.rows.pop_back();  // the query is about the page, not a row
    if (!s.is_object()) {
      Error(sptr, "expected {\"query\": ..., \"fields\": [...]}, found " + Found(s));
    } else {
      CheckKeys(s, sptr, {"query", "fields"}, "a list search");
      if (!s.contains("query"))
        Error(sptr, "missing \"query\" (e.g. \"{state.query}\")");
      else
        e->search_query = CompileValue(s["query"], Ptr(sptr, "query"), scope);
      if (!s.contains("fields") || !s["fields"].is_array() || s["fields"].empty()) {
        Error(s.contains("fields") ? Ptr(sptr, "fields") : sptr,
              "\"fields\" must be a non-empty list of field names");
      } else {
        for (std::size_t i = 0; i < s["fields"].size(); ++i) {
          const json& f = s["fields"][i];
          if (!f.is_string() || f.get_ref<const std::string&>().empty())
            Error(Ptr(Ptr(sptr, "fields"), i), "expected a field name, found " + Found(f));
          else
            e->search_fields.push_back(f.get<std::string>());
        }
      }
      e->search_index = SearchIndexFor(e->source, e->search_fields);
    }
    scope.rows.push_back(as);
  }
  if (v.contains("sort")) {
    const json& s = v["sort"];
    if (!s.is_string() || s.get_ref<const std::string&>().empty() ||
        s.get_ref<const std::string&>() == "-") {
      Error(Ptr(ptr, "sort"),
            "expected a field name, or -field for descending order, found " + Found(s));
    } else {
      std::string f = s.get<std::string>();
      if (f[0] == '-') {
        e->sort_desc = true;
        f.erase(0, 1);
      }
      e->sort_field = f;
    }
  }
  if (v.contains("limit")) {
    const json& l = v["limit"];
    if (!l.is_number_integer() || l.get<std::int64_t>() < 1 ||
        l.get<std::int64_t>() > internal::kMaxListLimit)
      Error(Ptr(ptr, "limit"), fmt::format("expected an integer from 1 to {}, found {}",
                                           internal::kMaxListLimit, Found(l)));
    else
      e->limit = l.get<int>();
  }
  if (v.contains("offset")) {
    scope.rows.pop_back();
    e->offset = CompileValue(v["offset"], Ptr(ptr, "offset"), scope);
    scope.rows.push_back(as);
  }
  if (v.contains("elements"))
    e->children = CompileElements(v["elements"], Ptr(ptr, "elements"), scope);
  else
    Error(ptr, "a list needs \"elements\" (what each row shows)");
  scope.rows.pop_back();
  if (v.contains("empty")) {
    if (!v["empty"].is_string())
      Error(Ptr(ptr, "empty"), "expected a string, found " + Found(v["empty"]));
    else
      e->empty = CompileValue(v["empty"], Ptr(ptr, "empty"), scope);
  }
}

Element Compiler::CompileElement(const json& v, const std::string& ptr, Scope& scope) {
  Element e;
  e.pointer = ptr;
  if (!v.is_object()) {
    Error(ptr, "expected an element (an object), found " + Found(v));
    return e;
  }
  const std::string kind = KindKey(v, ptr, kElementKinds, "an element");
  if (kind.empty()) return e;
  if (const std::string* n = String(v, "name", ptr, false)) e.name = *n;
  if (v.contains("if")) e.when = CompileCond(v["if"], Ptr(ptr, "if"), scope);
  const auto label = [&](const char* key, bool required) {
    if (const std::string* s = String(v, key, ptr, required))
      e.text = CompileValue(*s, Ptr(ptr, key), scope);
  };
  if (kind == "heading" || kind == "text") {
    CheckKeys(v, ptr, {kind.c_str(), "if", "name"}, "a " + kind);
    e.kind = kind == "heading" ? Element::Kind::kHeading : Element::Kind::kText;
    label(kind.c_str(), true);
  } else if (kind == "link" || kind == "button") {
    CheckKeys(v, ptr, {kind.c_str(), "to", "item", "do", "if", "name"}, "a " + kind);
    e.kind = kind == "link" ? Element::Kind::kLink : Element::Kind::kButton;
    label(kind.c_str(), true);
    CompileNavigation(v, ptr, scope, "to", &e.to, &e.item);
    if (v.contains("do")) e.effects = CompileEffects(v["do"], Ptr(ptr, "do"), scope);
  } else if (kind == "input") {
    CheckKeys(v, ptr, {"input", "label", "kind", "placeholder", "on_type", "if", "name"},
              "an input");
    e.kind = Element::Kind::kInput;
    if (StateVar(v, "input", ptr, &e.var)) {
      const json& init = site_->initial_state[e.var];
      if (!init.is_string() && !init.is_number() && !init.is_null())
        Error(Ptr(ptr, "input"), fmt::format("an input needs a string or number variable; "
                                             "state.{} starts as {}",
                                             e.var, Found(init)));
    }
    label("label", false);
    if (const std::string* k = String(v, "kind", ptr, false)) {
      if (*k == "text")
        e.input_kind = internal::InputKind::kText;
      else if (*k == "password")
        e.input_kind = internal::InputKind::kPassword;
      else if (*k == "number")
        e.input_kind = internal::InputKind::kNumber;
      else
        Error(Ptr(ptr, "kind"), fmt::format("unknown input kind \"{}\"; expected text, password "
                                            "or number",
                                            Shorten(*k)));
    }
    if (const std::string* p = String(v, "placeholder", ptr, false))
      e.placeholder = CompileValue(*p, Ptr(ptr, "placeholder"), scope);
    if (v.contains("on_type")) {
      Scope inner = scope;
      inner.input = true;
      e.effects = CompileEffects(v["on_type"], Ptr(ptr, "on_type"), inner);
    }
  } else if (kind == "select") {
    CheckKeys(v, ptr, {"select", "label", "options", "on_select", "if", "name"}, "a select");
    e.kind = Element::Kind::kSelect;
    StateVar(v, "select", ptr, &e.var);
    label("label", false);
    if (!v.contains("options"))
      Error(ptr, "a select needs \"options\" (a list, or a path like \"{item.options.size}\")");
    else
      e.options = CompileListValue(v["options"], Ptr(ptr, "options"), scope);
    if (v.contains("on_select")) {
      Scope inner = scope;
      inner.input = true;
      e.effects = CompileEffects(v["on_select"], Ptr(ptr, "on_select"), inner);
    }
  } else if (kind == "checkbox") {
    CheckKeys(v, ptr, {"checkbox", "label", "do", "if", "name"}, "a checkbox");
    e.kind = Element::Kind::kCheckbox;
    if (StateVar(v, "checkbox", ptr, &e.var) && !site_->initial_state[e.var].is_boolean())
      Error(Ptr(ptr, "checkbox"), fmt::format("a checkbox needs a boolean variable; state.{} "
                                              "starts as {}",
                                              e.var, Found(site_->initial_state[e.var])));
    label("label", false);
    if (v.contains("do")) e.effects = CompileEffects(v["do"], Ptr(ptr, "do"), scope);
  } else if (kind == "list") {
    e.kind = Element::Kind::kList;
    if (scope.depth >= internal::kMaxNesting) {
      Error(ptr, fmt::format("elements nested deeper than {} levels", internal::kMaxNesting));
      return e;
    }
    ++scope.depth;
    CompileList(v, ptr, scope, &e);
    --scope.depth;
  } else if (kind == "section") {
    CheckKeys(v, ptr, {"section", "elements", "if", "name"}, "a section");
    e.kind = Element::Kind::kSection;
    label("section", true);
    if (scope.depth >= internal::kMaxNesting) {
      Error(ptr, fmt::format("elements nested deeper than {} levels", internal::kMaxNesting));
      return e;
    }
    ++scope.depth;
    if (v.contains("elements"))
      e.children = CompileElements(v["elements"], Ptr(ptr, "elements"), scope);
    else
      Error(ptr, "a section needs \"elements\"");
    --scope.depth;
  } else if (kind == "errors") {
    CheckKeys(v, ptr, {"errors", "if", "name"}, "an errors element");
    e.kind = Element::Kind::kErrors;
    if (v["errors"] != true)
      Error(Ptr(ptr, "errors"), "expected true, found " + Found(v["errors"]));
  }
  return e;
}

std::vector<Element> Compiler::CompileElements(const json& v, const std::string& ptr,
                                               Scope& scope) {
  std::vector<Element> out;
  if (!v.is_array()) {
    Error(ptr, "expected a list of elements, found " + Found(v));
    return out;
  }
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(CompileElement(v[i], Ptr(ptr, i), scope));
  return out;
}

void Compiler::Compile(const json& doc) {
  if (!doc.is_object()) {
    Error("", "expected a site (a JSON object), found " + Found(doc));
    return;
  }
  CheckKeys(doc, "",
            {"format", "title", "description", "start", "viewport_lines", "state", "data", "pages"},
            "a site");
  if (doc.contains("format") && doc["format"] != "toolgym.site/1")
    Error("/format", "expected \"toolgym.site/1\", found " + Found(doc["format"]));
  if (const std::string* t = String(doc, "title", "", true)) site_->title_ = *t;
  if (doc.contains("description") && !doc["description"].is_string())
    Error("/description", "expected a string, found " + Found(doc["description"]));
  if (doc.contains("viewport_lines")) {
    const json& vl = doc["viewport_lines"];
    if (!vl.is_number_integer() || vl.get<std::int64_t>() < 5 || vl.get<std::int64_t>() > 1000)
      Error("/viewport_lines", "expected an integer from 5 to 1000, found " + Found(vl));
    else
      site_->viewport_lines = vl.get<int>();
  }
  // State variables.
  if (doc.contains("state")) {
    const json& s = doc["state"];
    if (!s.is_object()) {
      Error("/state", "expected an object of state variables, found " + Found(s));
    } else {
      for (const auto& [k, v] : s.items()) {
        if (!IsIdentifier(k))
          Error(Ptr("/state", k), fmt::format("\"{}\" is not a variable name (letters, digits and "
                                              "_, not starting with a digit)",
                                              Shorten(k)));
        else
          site_->initial_state[k] = v;
      }
    }
  }
  // Collections.
  if (doc.contains("data")) {
    const json& d = doc["data"];
    if (!d.is_object()) {
      Error("/data", "expected an object of collections (arrays), found " + Found(d));
    } else {
      for (const auto& [name, rows] : d.items()) {
        const std::string cptr = Ptr("/data", name);
        if (!IsIdentifier(name)) {
          Error(cptr, fmt::format("\"{}\" is not a collection name (letters, digits and _)",
                                  Shorten(name)));
          continue;
        }
        if (!rows.is_array()) {
          Error(cptr, "expected an array of items, found " + Found(rows));
          continue;
        }
        internal::Collection c;
        c.name = name;
        std::map<std::string, std::size_t> first;
        for (std::size_t i = 0; i < rows.size(); ++i) {
          if (!rows[i].is_object() || !rows[i].contains("id")) continue;
          const json& id = rows[i]["id"];
          if (!id.is_string()) {
            Error(Ptr(Ptr(cptr, i), "id"), "expected an item id (a string), found " + Found(id));
            continue;
          }
          auto [it, fresh] = c.by_id.emplace(id.get<std::string>(), i);
          if (!fresh)
            Error(Ptr(Ptr(cptr, i), "id"),
                  fmt::format("duplicate id \"{}\" in collection \"{}\" (first at {})",
                              Shorten(id.get<std::string>()), name, Ptr(cptr, it->second)));
        }
        site_->collection_index[name] = static_cast<int>(site_->collections.size());
        site_->collections.push_back(std::move(c));
        site_->data[name] = rows;
      }
    }
  }
  // Pages: ids first, so that references resolve whatever the order.
  const json* pages = nullptr;
  if (!doc.contains("pages")) {
    Error("", "missing \"pages\" (an object of page id -> page)");
  } else if (!doc["pages"].is_object() || doc["pages"].empty()) {
    Error("/pages", "expected a non-empty object of page id -> page, found " + Found(doc["pages"]));
  } else {
    pages = &doc["pages"];
    for (const auto& [id, page] : pages->items()) {
      const std::string pptr = Ptr("/pages", id);
      if (!IsPageId(id))
        Error(pptr, fmt::format("\"{}\" is not a page id ([a-z][a-z0-9_]*)", Shorten(id)));
      internal::Page p;
      p.id = id;
      if (page.is_object() && page.contains("item_of")) {
        const json& io = page["item_of"];
        if (!io.is_string() || !site_->collection_index.count(io.get<std::string>())) {
          std::vector<std::string> names;
          for (const auto& [k, i] : site_->collection_index) names.push_back(k);
          Error(Ptr(pptr, "item_of"), fmt::format("expected a collection of /data ({}), found {}",
                                                  JoinNames(names), Found(io)));
          p.item_of_invalid = true;
        } else {
          p.item_of = site_->collection_index[io.get<std::string>()];
          const json& rows = site_->data[io.get<std::string>()];
          for (std::size_t i = 0; i < rows.size(); ++i)
            if (!rows[i].is_object() || !rows[i].contains("id"))
              Error(Ptr(Ptr("/data", io.get<std::string>()), i),
                    fmt::format("items of \"{}\" are shown by page \"{}\" and need a string "
                                "\"id\"; found {}",
                                io.get<std::string>(), id,
                                rows[i].is_object() ? "an object without \"id\"" : Found(rows[i])));
        }
      }
      site_->page_index[id] = static_cast<int>(site_->pages.size());
      site_->pages.push_back(std::move(p));
    }
  }
  if (const std::string* s = String(doc, "start", "", true)) {
    const int start = PageRef(*s, "/start");
    if (start >= 0) {
      site_->start = start;
      if (site_->pages[start].item_of >= 0)
        Error("/start", fmt::format("the start page \"{}\" shows an item (item_of), which a "
                                    "session cannot start on",
                                    *s));
    }
  }
  if (pages == nullptr) return;
  for (auto& p : site_->pages) {
    const json& page = (*pages)[p.id];
    const std::string pptr = Ptr("/pages", p.id);
    if (!page.is_object()) {
      Error(pptr, "expected a page (an object), found " + Found(page));
      continue;
    }
    CheckKeys(page, pptr, {"title", "elements", "item_of", "on_open"}, "a page");
    Scope scope;
    scope.page = &p;
    if (const std::string* t = String(page, "title", pptr, false))
      p.title = CompileValue(*t, Ptr(pptr, "title"), scope);
    else
      p.title.constant = p.id;
    if (page.contains("on_open"))
      p.on_open = CompileEffects(page["on_open"], Ptr(pptr, "on_open"), scope);
    if (!page.contains("elements"))
      Error(pptr, "missing \"elements\" (a list)");
    else
      p.elements = CompileElements(page["elements"], Ptr(pptr, "elements"), scope);
  }
}

}  // namespace

std::shared_ptr<const Site> Site::FromJson(const json& doc, const std::string& file,
                                           std::vector<SiteError>* errors) {
  std::vector<SiteError> local;
  std::vector<SiteError>* errs = errors ? errors : &local;
  const std::size_t before = errs->size();
  auto site = std::make_shared<internal::CompiledSite>();
  Compiler(file, errs, site.get()).Compile(doc);
  if (errs->size() != before) return nullptr;
  site->doc_ = doc;
  return site;
}

std::shared_ptr<const Site> Site::FromFile(const std::string& path,
                                           std::vector<SiteError>* errors) {
  std::vector<SiteError> local;
  std::vector<SiteError>* errs = errors ? errors : &local;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errs->push_back({path, "", "cannot open the site file"});
    return nullptr;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  json doc = json::parse(buf.str(), nullptr, false);
  if (doc.is_discarded()) {
    // nlohmann's non-throwing parse says nothing about where; a second, throwing parse inside
    // this function gives the byte position for the message and never escapes.
    std::string where;
    try {
      [[maybe_unused]] const json again = json::parse(buf.str());
    } catch (const json::parse_error& e) {
      where = e.what();
    }
    errs->push_back({path, "", "not valid JSON: " + where});
    return nullptr;
  }
  return FromJson(doc, path, errs);
}

}  // namespace toolgym::web
