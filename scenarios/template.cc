#include "scenarios/template.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

namespace toolgym::scenarios {
namespace {

using json = nlohmann::json;

constexpr std::string_view kFilterNames =
    "upper, lower, trim, len, json, str, join, first, last, sorted, keys, values, sum, min, max, "
    "shell_quote, lines, basename, dirname, default, int, round, indent, match, map, natsorted";

std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// The string form of a value: strings as they are, everything else as compact JSON.
std::string ToText(const json& v) { return v.is_string() ? v.get<std::string>() : Dump(v); }

std::string Kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::binary:
      return "binary data";
    case json::value_t::discarded:
      return "nothing";
    default:
      return "a number";
  }
}

// "'abc'" for short values, the first 40 characters otherwise.
std::string Quoted(const json& v) {
  std::string s = Dump(v);
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

std::string Available(const json& obj) {
  if (!obj.is_object() || obj.empty()) return "none";
  std::string out;
  int n = 0;
  for (auto it = obj.begin(); it != obj.end(); ++it, ++n) {
    if (n == 20) {
      out += fmt::format(", ... ({} more)", obj.size() - 20);
      break;
    }
    if (n > 0) out += ", ";
    out += it.key();
  }
  return out;
}

struct FilterCall {
  std::string name;
  std::vector<json> args;
};

struct Expr {
  std::vector<std::string> path;
  std::vector<FilterCall> filters;
};

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Parses the text between "{{" and "}}". `shown` is the whole placeholder for messages.
class ExprParser {
 public:
  ExprParser(std::string_view text, std::string_view shown) : s_(text), shown_(shown) {}

  StatusOr<Expr> Parse() {
    Expr e;
    SkipSpace();
    while (true) {
      std::string_view seg = Ident();
      if (seg.empty()) {
        return Error(e.path.empty() ? "expected a name" : "expected a name or index after '.'");
      }
      e.path.emplace_back(seg);
      if (pos_ < s_.size() && s_[pos_] == '.') {
        ++pos_;
        continue;
      }
      break;
    }
    SkipSpace();
    while (pos_ < s_.size() && s_[pos_] == '|') {
      ++pos_;
      SkipSpace();
      FilterCall f;
      f.name = std::string(Ident());
      if (f.name.empty()) return Error("expected a filter name after '|'");
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == '(') {
        ++pos_;
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ')') {
          ++pos_;
        } else {
          while (true) {
            SkipSpace();
            auto lit = Literal();
            if (!lit.ok()) return lit.status();
            f.args.push_back(std::move(*lit));
            SkipSpace();
            if (pos_ < s_.size() && s_[pos_] == ',') {
              ++pos_;
              continue;
            }
            if (pos_ < s_.size() && s_[pos_] == ')') {
              ++pos_;
              break;
            }
            return Error("expected ',' or ')' in the arguments of filter '" + f.name + "'");
          }
        }
        SkipSpace();
      }
      e.filters.push_back(std::move(f));
    }
    if (pos_ != s_.size()) return Error("expected '|' or '}}'");
    return e;
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && IsSpace(s_[pos_])) ++pos_;
  }
  std::string_view Ident() {
    std::size_t start = pos_;
    while (pos_ < s_.size() && IsIdentChar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  Status Error(std::string_view what) const {
    std::string found = pos_ < s_.size() ? fmt::format("'{}'", s_.substr(pos_, 10)) : "the end";
    return InvalidArgumentError("bad placeholder '{}': {}, found {}", shown_, what, found);
  }
  // A filter argument: "str", 'str', a number, true, false or null.
  StatusOr<json> Literal() {
    if (pos_ >= s_.size()) return Error("expected an argument");
    char c = s_[pos_];
    if (c == '"' || c == '\'') {
      std::string out;
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != c) {
        char ch = s_[pos_++];
        if (ch == '\\' && pos_ < s_.size()) {
          char esc = s_[pos_++];
          switch (esc) {
            case 'n':
              out += '\n';
              break;
            case 't':
              out += '\t';
              break;
            case 'r':
              out += '\r';
              break;
            default:
              out += esc;
          }
        } else {
          out += ch;
        }
      }
      if (pos_ >= s_.size()) return Error("unterminated string argument");
      ++pos_;
      return json(std::move(out));
    }
    std::size_t start = pos_;
    while (pos_ < s_.size() &&
           (IsIdentChar(s_[pos_]) || s_[pos_] == '-' || s_[pos_] == '+' || s_[pos_] == '.')) {
      ++pos_;
    }
    std::string_view word = s_.substr(start, pos_ - start);
    if (word == "true") return json(true);
    if (word == "false") return json(false);
    if (word == "null") return json(nullptr);
    if (!word.empty()) {
      json parsed = json::parse(word, nullptr, false);
      if (!parsed.is_discarded() && parsed.is_number()) return parsed;
    }
    pos_ = start;
    return Error("expected a string, number, true, false or null as argument");
  }

  std::string_view s_;
  std::string_view shown_;
  std::size_t pos_ = 0;
};

// The value a path names, or the message explaining why there is none.
struct Lookup {
  const json* value = nullptr;
  std::string missing;
};

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Lookup Resolve(const std::vector<std::string>& path, const json& context, std::string_view shown) {
  Lookup out;
  const json* cur = &context;
  std::string walked;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const std::string& seg = path[i];
    if (cur->is_object()) {
      auto it = cur->find(seg);
      if (it == cur->end()) {
        out.missing = i == 0 ? fmt::format("unknown name '{}' in '{}' (available: {})", seg, shown,
                                           Available(*cur))
                             : fmt::format("'{}' has no key '{}' in '{}' (available: {})", walked,
                                           seg, shown, Available(*cur));
        return out;
      }
      cur = &*it;
    } else if (cur->is_array() && i > 0) {
      if (!AllDigits(seg)) {
        out.missing =
            fmt::format("'{}' is a list; '{}' is not an index in '{}'", walked, seg, shown);
        return out;
      }
      std::size_t idx = 0;
      auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
      if (ec != std::errc() || idx >= cur->size()) {
        out.missing = fmt::format("index {} out of range for '{}' ({} items) in '{}'", seg, walked,
                                  cur->size(), shown);
        return out;
      }
      cur = &(*cur)[idx];
    } else {
      out.missing = i == 0 ? fmt::format(
                                 "unknown name '{}' in '{}' (the context is {}, not an "
                                 "object)",
                                 seg, shown, Kind(*cur))
                           : fmt::format("'{}' is {}, it has no key '{}' in '{}'", walked,
                                         Kind(*cur), seg, shown);
      return out;
    }
    if (!walked.empty()) walked += '.';
    walked += seg;
  }
  out.value = cur;
  return out;
}

Status NeedError(std::string_view filter, std::string_view what, const json& got) {
  return InvalidArgumentError("filter '{}' needs {}, got {}", filter, what,
                              got.is_string() || got.is_number() || got.is_boolean()
                                  ? fmt::format("{} ({})", Kind(got), Quoted(got))
                                  : Kind(got));
}

StatusOr<std::int64_t> IntArg(const FilterCall& f, std::size_t i, std::int64_t def, std::int64_t lo,
                              std::int64_t hi) {
  if (i >= f.args.size()) return def;
  const json& a = f.args[i];
  if (!a.is_number_integer() || a.get<std::int64_t>() < lo || a.get<std::int64_t>() > hi) {
    return InvalidArgumentError("filter '{}' needs an integer argument in [{}, {}], got {}", f.name,
                                lo, hi, Quoted(a));
  }
  return a.get<std::int64_t>();
}

StatusOr<std::string> StringArg(const FilterCall& f, std::size_t i, std::string def) {
  if (i >= f.args.size()) return def;
  if (!f.args[i].is_string()) {
    return InvalidArgumentError("filter '{}' needs a string argument, got {}", f.name,
                                Quoted(f.args[i]));
  }
  return f.args[i].get<std::string>();
}

std::string AsciiMap(std::string s, bool upper) {
  for (char& c : s) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string Trim(std::string_view s) {
  constexpr std::string_view kWs = " \t\n\r\f\v";
  std::size_t b = s.find_first_not_of(kWs);
  if (b == std::string_view::npos) return "";
  std::size_t e = s.find_last_not_of(kWs);
  return std::string(s.substr(b, e - b + 1));
}

// Numbers all, or strings all: what sorted/min/max can order.
Status NeedComparable(std::string_view filter, const json& list) {
  bool numbers = true, strings = true;
  for (const json& v : list) {
    numbers = numbers && v.is_number();
    strings = strings && v.is_string();
  }
  if (!numbers && !strings) {
    return InvalidArgumentError(
        "filter '{}' needs a list of numbers or of strings, got mixed items", filter);
  }
  return OkStatus();
}

bool JsonLess(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) return a.get<double>() < b.get<double>();
    if (a.is_number_unsigned() && b.is_number_unsigned()) {
      return a.get<std::uint64_t>() < b.get<std::uint64_t>();
    }
    return a.get<std::int64_t>() < b.get<std::int64_t>();
  }
  return a < b;
}

// Rounds to `decimals` places through the shortest correctly rounded decimal form (ties to
// even on the exact binary value, like Python's round).
json RoundNumber(const json& v, int decimals) {
  if (v.is_number_integer()) return v;
  double x = v.get<double>();
  if (!std::isfinite(x)) return v;
  std::string s = fmt::format("{:.{}f}", x, decimals);
  if (decimals == 0) {
    double r = std::strtod(s.c_str(), nullptr);
    if (std::fabs(r) < 9.2e18) return json(static_cast<std::int64_t>(r));
    return json(r);
  }
  return json(std::strtod(s.c_str(), nullptr));
}

StatusOr<json> ToInt(const json& v) {
  if (v.is_number_integer()) return v;
  if (v.is_boolean()) return json(v.get<bool>() ? 1 : 0);
  double d = 0;
  if (v.is_number_float()) {
    d = v.get<double>();
  } else if (v.is_string()) {
    std::string t = Trim(v.get<std::string>());
    std::int64_t i = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
    if (!t.empty() && ec == std::errc() && p == t.data() + t.size()) return json(i);
    if (!t.empty() && t[0] == '+') {
      auto [p2, ec2] = std::from_chars(t.data() + 1, t.data() + t.size(), i);
      if (t.size() > 1 && ec2 == std::errc() && p2 == t.data() + t.size()) return json(i);
    }
    char* end = nullptr;
    d = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || std::isnan(d)) {
      return NeedError("int", "a number or a numeric string", v);
    }
  } else {
    return NeedError("int", "a number or a numeric string", v);
  }
  if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) {
    return NeedError("int", "a number within the 64-bit integer range", v);
  }
  return json(static_cast<std::int64_t>(std::trunc(d)));
}

// Jinja's falsy values: what default(x, true) replaces besides null.
bool Falsy(const json& v) {
  if (v.is_null()) return true;
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number()) return v.get<double>() == 0;
  if (v.is_string()) return v.get_ref<const std::string&>().empty();
  if (v.is_array() || v.is_object()) return v.empty();
  return false;
}

// default(x) and default(x, true) applied to a value that exists (Evaluate handles a missing
// one).
StatusOr<json> ApplyDefault(const FilterCall& f, const json& v) {
  if (f.args.size() > 2) {
    return InvalidArgumentError("filter 'default' takes at most 2 arguments, got {}",
                                f.args.size());
  }
  if (f.args.size() == 2 && !f.args[1].is_boolean()) {
    return InvalidArgumentError(
        "filter 'default' needs true or false as its second argument (replace falsy values "
        "too), got {}",
        Quoted(f.args[1]));
  }
  const bool falsy = f.args.size() == 2 && f.args[1].get<bool>();
  if (v.is_null() || (falsy && Falsy(v))) return f.args.empty() ? json("") : f.args[0];
  return v;
}

// Natural order: runs of ASCII digits compare as numbers ("item9" < "item10"), everything else
// byte by byte; equal numbers with more leading zeros sort later, so the order is total.
bool NaturalLess(std::string_view a, std::string_view b) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0, j = 0;
  int zeros = 0;  // tie-break: the side with fewer leading zeros first
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      std::size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      const int c = a.substr(is, ie - is).compare(b.substr(js, je - js));
      if (c != 0) return c < 0;
      if (zeros == 0 && (is - i) != (js - j)) zeros = (is - i) < (js - j) ? -1 : 1;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
    ++i;
    ++j;
  }
  if (i < a.size() || j < b.size()) return j < b.size();
  return zeros < 0;
}

// match(pattern, rewrite?): RE2 search. On a string: null without a match; else `rewrite` with
// \0..\9 replaced by the groups, or group 1 when the pattern has a group (empty when it did not
// take part), or the whole match. On a list: each item's result, items without a match dropped.
StatusOr<json> MatchFilter(const FilterCall& f, const json& v) {
  TG_ASSIGN_OR_RETURN(std::string pattern, StringArg(f, 0, ""));
  if (f.args.empty()) return InvalidArgumentError("filter 'match' needs a regular expression");
  std::optional<std::string> rewrite;
  if (f.args.size() > 1) {
    TG_ASSIGN_OR_RETURN(std::string r, StringArg(f, 1, ""));
    rewrite = std::move(r);
  }
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(pattern, options);
  if (!re.ok()) {
    return InvalidArgumentError("filter 'match': invalid regular expression /{}/: {}", pattern,
                                re.error());
  }
  if (rewrite) {
    std::string why;
    if (!re.CheckRewriteString(*rewrite, &why)) {
      return InvalidArgumentError("filter 'match': bad rewrite '{}': {}", *rewrite, why);
    }
  }
  const int groups = re.NumberOfCapturingGroups();
  auto one = [&](const std::string& s) -> json {
    std::vector<re2::StringPiece> m(static_cast<std::size_t>(groups) + 1);
    if (!re.Match(s, 0, s.size(), RE2::UNANCHORED, m.data(), static_cast<int>(m.size()))) {
      return json(nullptr);
    }
    if (rewrite) {
      std::string out;
      re.Rewrite(&out, *rewrite, m.data(), static_cast<int>(m.size()));
      return json(std::move(out));
    }
    const re2::StringPiece& g = groups >= 1 ? m[1] : m[0];
    return json(std::string(g.data() == nullptr ? "" : std::string(g.data(), g.size())));
  };
  if (v.is_string()) return one(v.get_ref<const std::string&>());
  if (!v.is_array()) return NeedError("match", "a string or a list of strings", v);
  json out = json::array();
  for (const json& item : v) {
    if (!item.is_string()) return NeedError("match", "a list of strings", item);
    json r = one(item.get_ref<const std::string&>());
    if (!r.is_null()) out.push_back(std::move(r));
  }
  return out;
}

StatusOr<json> ApplyFilter(const FilterCall& f, const json& v) {
  const std::string& n = f.name;
  struct Arity {
    std::string_view name;
    std::size_t max;
  };
  static constexpr Arity kArity[] = {
      {"upper", 0},    {"lower", 0},       {"trim", 0},    {"len", 0},      {"json", 0},
      {"str", 0},      {"join", 1},        {"first", 0},   {"last", 0},     {"sorted", 0},
      {"keys", 0},     {"values", 0},      {"sum", 0},     {"min", 0},      {"max", 0},
      {"int", 0},      {"shell_quote", 0}, {"lines", 0},   {"basename", 0}, {"dirname", 0},
      {"round", 1},    {"indent", 1},      {"default", 2}, {"match", 2},    {"map", 9},
      {"natsorted", 0}};
  const Arity* arity = nullptr;
  for (const Arity& a : kArity) {
    if (a.name == n) arity = &a;
  }
  if (arity == nullptr) {
    return InvalidArgumentError("unknown filter '{}' (filters: {})", n, kFilterNames);
  }
  if (f.args.size() > arity->max) {
    return InvalidArgumentError("filter '{}' takes {} argument{}, got {}", n,
                                arity->max == 0 ? "no" : fmt::format("at most {}", arity->max),
                                arity->max == 1 ? "" : "s", f.args.size());
  }

  if (n == "upper" || n == "lower" || n == "trim" || n == "lines" || n == "basename" ||
      n == "dirname" || n == "indent") {
    if (!v.is_string()) return NeedError(n, "a string", v);
    const std::string& s = v.get_ref<const std::string&>();
    if (n == "upper" || n == "lower") return json(AsciiMap(s, n == "upper"));
    if (n == "trim") return json(Trim(s));
    if (n == "lines") {
      json out = json::array();
      std::size_t start = 0;
      while (start < s.size()) {
        std::size_t nl = s.find('\n', start);
        if (nl == std::string::npos) nl = s.size();
        out.push_back(s.substr(start, nl - start));
        start = nl + 1;
      }
      return out;
    }
    std::size_t slash = s.rfind('/');
    if (n == "basename") return json(slash == std::string::npos ? s : s.substr(slash + 1));
    if (n == "dirname") {
      if (slash == std::string::npos) return json("");
      std::string head = s.substr(0, slash + 1);
      if (head.find_first_not_of('/') != std::string::npos) {
        while (!head.empty() && head.back() == '/') head.pop_back();
      }
      return json(head);
    }
    TG_ASSIGN_OR_RETURN(std::int64_t width, IntArg(f, 0, 4, 0, 64));
    std::string pad(static_cast<std::size_t>(width), ' ');
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      out += s[i];
      if (s[i] == '\n' && i + 1 < s.size() && s[i + 1] != '\n') out += pad;
    }
    return json(std::move(out));
  }
  if (n == "len") {
    if (v.is_string()) return json(v.get_ref<const std::string&>().size());
    if (v.is_array() || v.is_object()) return json(v.size());
    return NeedError(n, "a string, list or object", v);
  }
  if (n == "json") return json(Dump(v));
  if (n == "str") return json(ToText(v));
  if (n == "shell_quote") {
    std::string s = ToText(v);
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += '\'';
    return json(std::move(out));
  }
  if (n == "join") {
    if (!v.is_array()) return NeedError(n, "a list", v);
    TG_ASSIGN_OR_RETURN(std::string sep, StringArg(f, 0, ""));
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out += sep;
      out += ToText(v[i]);
    }
    return json(std::move(out));
  }
  if (n == "first" || n == "last") {
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (s.empty()) return InvalidArgumentError("filter '{}' got an empty string", n);
      return json(std::string(1, n == "first" ? s.front() : s.back()));
    }
    if (!v.is_array()) return NeedError(n, "a list", v);
    if (v.empty()) return InvalidArgumentError("filter '{}' got an empty list", n);
    return n == "first" ? v.front() : v.back();
  }
  if (n == "sorted" || n == "min" || n == "max") {
    if (!v.is_array()) return NeedError(n, "a list", v);
    TG_RETURN_IF_ERROR(NeedComparable(n, v));
    if (n == "sorted") {
      std::vector<json> items(v.begin(), v.end());
      std::stable_sort(items.begin(), items.end(), JsonLess);
      return json(std::move(items));
    }
    if (v.empty()) return InvalidArgumentError("filter '{}' got an empty list", n);
    auto it = n == "min" ? std::min_element(v.begin(), v.end(), JsonLess)
                         : std::max_element(v.begin(), v.end(), JsonLess);
    return *it;
  }
  if (n == "keys" || n == "values") {
    if (!v.is_object()) return NeedError(n, "an object", v);
    json out = json::array();
    for (auto it = v.begin(); it != v.end(); ++it) {
      out.push_back(n == "keys" ? json(it.key()) : it.value());
    }
    return out;
  }
  if (n == "sum") {
    if (!v.is_array()) return NeedError(n, "a list", v);
    bool all_int = true;
    for (const json& x : v) {
      if (!x.is_number()) {
        return InvalidArgumentError("filter 'sum' needs a list of numbers, got an item that is {}",
                                    Kind(x));
      }
      all_int = all_int && x.is_number_integer();
    }
    if (all_int) {
      std::int64_t total = 0;
      bool overflow = false;
      for (const json& x : v)
        overflow = overflow || __builtin_add_overflow(total, x.get<std::int64_t>(), &total);
      if (!overflow) return json(total);
    }
    double total = 0;
    for (const json& x : v) total += x.get<double>();
    return json(total);
  }
  if (n == "int") return ToInt(v);
  if (n == "round") {
    if (!v.is_number()) return NeedError(n, "a number", v);
    TG_ASSIGN_OR_RETURN(std::int64_t decimals, IntArg(f, 0, 0, 0, 15));
    return RoundNumber(v, static_cast<int>(decimals));
  }
  if (n == "match") return MatchFilter(f, v);
  if (n == "natsorted") {
    if (!v.is_array()) return NeedError(n, "a list", v);
    TG_RETURN_IF_ERROR(NeedComparable(n, v));
    std::vector<json> items(v.begin(), v.end());
    std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
      if (a.is_string() && b.is_string()) {
        return NaturalLess(a.get_ref<const std::string&>(), b.get_ref<const std::string&>());
      }
      return JsonLess(a, b);
    });
    return json(std::move(items));
  }
  if (n == "map") {
    if (!v.is_array()) return NeedError(n, "a list", v);
    TG_ASSIGN_OR_RETURN(std::string inner, StringArg(f, 0, ""));
    if (inner.empty()) return InvalidArgumentError("filter 'map' needs a filter name");
    FilterCall call{inner, std::vector<json>(f.args.begin() + 1, f.args.end())};
    json out = json::array();
    for (const json& item : v) {
      if (inner == "default") {
        TG_ASSIGN_OR_RETURN(json d, ApplyDefault(call, item));
        out.push_back(std::move(d));
        continue;
      }
      auto mapped = ApplyFilter(call, item);
      if (!mapped.ok()) return mapped.status().WithContext("filter 'map'");
      out.push_back(std::move(*mapped));
    }
    return out;
  }
  return InternalError("filter '{}' is listed but not implemented", n);
}

StatusOr<json> Evaluate(std::string_view inner, std::string_view shown, const json& context) {
  ExprParser parser(inner, shown);
  TG_ASSIGN_OR_RETURN(Expr expr, parser.Parse());
  Lookup found = Resolve(expr.path, context, shown);
  std::optional<json> value;
  if (found.value != nullptr) value = *found.value;
  for (const FilterCall& f : expr.filters) {
    if (f.name == "default") {
      auto d = ApplyDefault(f, value ? *value : json(nullptr));
      if (!d.ok()) {
        return Status(d.status().code(), fmt::format("{} in '{}'", d.status().message(), shown));
      }
      value = std::move(*d);
      continue;
    }
    if (!value) return InvalidArgumentError("{}", found.missing);
    auto next = ApplyFilter(f, *value);
    if (!next.ok()) {
      return Status(next.status().code(),
                    fmt::format("{} in '{}'", next.status().message(), shown));
    }
    value = std::move(*next);
  }
  if (!value) return InvalidArgumentError("{}", found.missing);
  return std::move(*value);
}

// Finds the "}}" closing a placeholder whose text starts at `from`, skipping quoted arguments.
std::size_t FindClose(std::string_view text, std::size_t from) {
  char quote = 0;
  for (std::size_t i = from; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      return i;
    }
  }
  return std::string_view::npos;
}

}  // namespace

StatusOr<json> RenderTemplate(std::string_view text, const json& context) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    if (text.substr(open, 4) == "{{{{") {
      out += "{{";
      pos = open + 4;
      continue;
    }
    std::size_t close = FindClose(text, open + 2);
    if (close == std::string_view::npos) {
      std::string_view rest = text.substr(open, 40);
      return InvalidArgumentError("unterminated placeholder '{}{}' (no closing '}}}}')", rest,
                                  text.size() - open > 40 ? "..." : "");
    }
    std::string_view shown = text.substr(open, close + 2 - open);
    TG_ASSIGN_OR_RETURN(json value,
                        Evaluate(text.substr(open + 2, close - open - 2), shown, context));
    if (open == 0 && close + 2 == text.size()) return value;
    out += ToText(value);
    pos = close + 2;
  }
  return json(std::move(out));
}

StatusOr<std::string> RenderString(std::string_view text, const json& context) {
  TG_ASSIGN_OR_RETURN(json value, RenderTemplate(text, context));
  return ToText(value);
}

bool HasPlaceholder(std::string_view text) {
  std::size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    if (text.substr(pos, 4) != "{{{{") return true;
    pos += 4;
  }
  return false;
}

StatusOr<json> RenderJson(const json& value, const json& context) {
  // Copies and renders with an explicit stack: scenario JSON may nest deeper than the call
  // stack allows (nlohmann's copy constructor recurses). Each node records only its parent and
  // its key or index; the JSON pointer is spelled out only for an error, so deep input stays
  // linear.
  struct Trail {
    std::size_t parent;      // index into `trails`; the root is its own parent
    const std::string* key;  // object member name, or null for an array index
    std::size_t index;
  };
  std::vector<Trail> trails = {{0, nullptr, 0}};
  auto pointer = [&trails](std::size_t t) {
    std::vector<std::string> parts;
    for (; t != 0; t = trails[t].parent) {
      std::string part;
      if (trails[t].key == nullptr) {
        part = std::to_string(trails[t].index);
      } else {
        for (char c : *trails[t].key) {
          if (c == '~') {
            part += "~0";
          } else if (c == '/') {
            part += "~1";
          } else {
            part += c;
          }
        }
      }
      parts.push_back(std::move(part));
    }
    if (parts.empty()) return std::string("(root)");
    std::string out;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) out += "/" + *it;
    return out;
  };

  json result;
  struct Item {
    const json* src;
    json* dst;
    std::size_t trail;
  };
  std::vector<Item> stack = {{&value, &result, 0}};
  while (!stack.empty()) {
    Item item = stack.back();
    stack.pop_back();
    const json& src = *item.src;
    if (src.is_object()) {
      *item.dst = json::object();
      for (auto it = src.begin(); it != src.end(); ++it) {
        json& slot = (*item.dst)[it.key()];  // std::map nodes: the address stays valid
        trails.push_back({item.trail, &it.key(), 0});
        stack.push_back({&it.value(), &slot, trails.size() - 1});
      }
    } else if (src.is_array()) {
      *item.dst = json::array();
      item.dst->get_ref<json::array_t&>().resize(src.size());  // never resized again
      for (std::size_t i = src.size(); i > 0; --i) {
        trails.push_back({item.trail, nullptr, i - 1});
        stack.push_back({&src[i - 1], &(*item.dst)[i - 1], trails.size() - 1});
      }
    } else if (src.is_string() &&
               src.get_ref<const std::string&>().find("{{") != std::string::npos) {
      // Placeholders, or "{{{{" escapes that still need unescaping.
      auto rendered = RenderTemplate(src.get_ref<const std::string&>(), context);
      if (!rendered.ok()) {
        return rendered.status().WithContext(fmt::format("at {}", pointer(item.trail)));
      }
      *item.dst = std::move(*rendered);
    } else {
      *item.dst = src;
    }
  }
  return result;
}

}  // namespace toolgym::scenarios
