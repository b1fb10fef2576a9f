#include "envs/json_schema.h"

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>

namespace toolgym::envs {
namespace {

using json = nlohmann::json;

// Agent-controlled text (keys, string values) quoted in a message is cut to this many bytes.
constexpr std::size_t kMaxQuotedBytes = 64;
// A schema nested deeper than this is rejected by CheckSchema (tool schemas are flat).
constexpr int kMaxSchemaDepth = 32;
// At most this many enum values are listed in a message.
constexpr std::size_t kMaxListedEnumValues = 20;

constexpr std::string_view kTypeNames[] = {"string", "integer", "number", "boolean",
                                           "array",  "object",  "null"};

const std::set<std::string_view>& SupportedKeywords() {
  static const std::set<std::string_view> kKeywords = {
      "type",        "properties", "required", "additionalProperties",
      "enum",        "minimum",    "maximum",  "minLength",
      "maxLength",   "items",      "minItems", "maxItems",
      "description", "default",    "title"};
  return kKeywords;
}

// Dumps never throw: invalid UTF-8 (only possible in values built in C++) becomes U+FFFD.
std::string Dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// `s` cut to at most `max` bytes on a UTF-8 character boundary, with "..." when cut.
std::string Clip(std::string_view s, std::size_t max = kMaxQuotedBytes) {
  if (s.size() <= max) return std::string(s);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return std::string(s.substr(0, end)) + "...";
}

// A key or other text shown between quotes: clipped, and valid UTF-8 whatever the input.
std::string Shown(std::string_view s) {
  std::string dumped = Dump(json(Clip(s)));
  return dumped.substr(1, dumped.size() - 2);  // without the JSON quotes, escapes kept
}

// Characters (code points) of a valid UTF-8 string, as JSON Schema's length keywords count.
std::size_t CodePoints(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string Plural(std::uint64_t n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

bool IsNonNegativeInteger(const json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
}

// The value of a count keyword (minLength...), if present and well formed.
std::optional<std::uint64_t> Count(const json& schema, const char* key) {
  auto it = schema.find(key);
  if (it == schema.end() || !IsNonNegativeInteger(*it)) return std::nullopt;
  return it->get<std::uint64_t>();
}

bool IsInteger(const json& v) {
  if (v.is_number_integer()) return true;  // signed and unsigned
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool MatchesType(const json& v, std::string_view type) {
  if (type == "string") return v.is_string();
  if (type == "integer") return IsInteger(v);
  if (type == "number") return v.is_number();  // never a boolean in nlohmann::json
  if (type == "boolean") return v.is_boolean();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  if (type == "null") return v.is_null();
  return false;
}

std::string WithArticle(std::string_view type) {
  if (type == "null") return "null";
  bool vowel = !type.empty() && std::string_view("aeiou").find(type[0]) != std::string_view::npos;
  return fmt::format("{} {}", vowel ? "an" : "a", type);
}

// "a string", "a string or null"; `plain` gives "string or null" (for "(string)" after a name).
std::string TypeText(const json& type, bool plain) {
  auto one = [&](const json& t) -> std::string {
    if (!t.is_string()) return "?";
    return plain ? t.get<std::string>() : WithArticle(t.get_ref<const std::string&>());
  };
  if (!type.is_array()) return one(type);
  std::string out;
  for (std::size_t i = 0; i < type.size(); ++i) {
    if (i > 0) out += (i + 1 == type.size()) ? " or " : ", ";
    out += one(type[i]);
  }
  return out;
}

// What a value is, for "got ...": the string "5", the number 5.5, the boolean true, null...
std::string Describe(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return "the string " + Dump(json(Clip(v.get_ref<const std::string&>())));
    case json::value_t::boolean:
      return fmt::format("the boolean {}", v.get<bool>());
    case json::value_t::null:
      return "null";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "the number " + Dump(v);
    case json::value_t::array:
      return fmt::format("an array of {}", Plural(v.size(), "item"));
    case json::value_t::object:
      return "an object";
    default:
      return "an unsupported value";
  }
}

// Where a value sits: tokens from the root, giving both the JSON pointer and the agent-facing
// name ("opts.depth", "files[2]").
struct PathToken {
  std::string key;
  bool is_index = false;
};

std::string Pointer(const std::vector<PathToken>& path) {
  std::string out;
  for (const PathToken& t : path) {
    out += '/';
    for (char c : t.key) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
  }
  return out;
}

std::string DisplayName(const std::vector<PathToken>& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i].is_index) {
      out += fmt::format("[{}]", path[i].key);
    } else {
      if (i > 0) out += '.';
      out += Shown(path[i].key);
    }
  }
  return out;
}

// "argument 'timeout'" or, for the root value, "arguments".
std::string Subject(const std::vector<PathToken>& path) {
  return path.empty() ? "arguments" : fmt::format("argument '{}'", DisplayName(path));
}

class Validator {
 public:
  explicit Validator(std::vector<SchemaError>& errors) : errors_(errors) {}

  void Validate(const json& schema, const json& value) {
    if (!schema.is_object()) return;  // CheckSchema rejects these; nothing to check against
    if (auto it = schema.find("type"); it != schema.end() && !TypeMatches(*it, value)) {
      Add(SchemaError::Kind::kType, fmt::format("{} must be {}, got {}", Subject(path_),
                                                TypeText(*it, false), Describe(value)));
      return;  // the other keywords would only repeat the type error
    }
    if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
      bool found = false;
      for (const json& allowed : *it) found = found || allowed == value;
      if (!found) {
        std::string list;
        for (std::size_t i = 0; i < it->size() && i < kMaxListedEnumValues; ++i) {
          if (i > 0) list += ", ";
          list += Dump((*it)[i]);
        }
        if (it->size() > kMaxListedEnumValues) list += ", ...";
        Add(SchemaError::Kind::kEnum,
            fmt::format("{} must be one of {}, got {}", Subject(path_), list, Describe(value)));
        return;
      }
    }
    if (value.is_number()) CheckNumber(schema, value);
    if (value.is_string()) CheckString(schema, value.get_ref<const std::string&>());
    if (value.is_array()) CheckArray(schema, value);
    if (value.is_object()) CheckObject(schema, value);
  }

 private:
  static bool TypeMatches(const json& type, const json& value) {
    if (type.is_string()) return MatchesType(value, type.get_ref<const std::string&>());
    if (!type.is_array()) return true;  // malformed; CheckSchema reports it
    for (const json& t : type) {
      if (t.is_string() && MatchesType(value, t.get_ref<const std::string&>())) return true;
    }
    return false;
  }

  void CheckNumber(const json& schema, const json& value) {
    double v = value.get<double>();
    if (auto it = schema.find("minimum");
        it != schema.end() && it->is_number() && v < it->get<double>()) {
      Add(SchemaError::Kind::kRange,
          fmt::format("{} must be at least {}, got {}", Subject(path_), Dump(*it), Dump(value)));
    }
    if (auto it = schema.find("maximum");
        it != schema.end() && it->is_number() && v > it->get<double>()) {
      Add(SchemaError::Kind::kRange,
          fmt::format("{} must be at most {}, got {}", Subject(path_), Dump(*it), Dump(value)));
    }
  }

  void CheckString(const json& schema, const std::string& s) {
    std::uint64_t n = CodePoints(s);
    if (auto min = Count(schema, "minLength"); min && n < *min) {
      Add(SchemaError::Kind::kRange,
          fmt::format("{} must be at least {} long, got {}", Subject(path_),
                      Plural(*min, "character"), Plural(n, "character")));
    }
    if (auto max = Count(schema, "maxLength"); max && n > *max) {
      Add(SchemaError::Kind::kRange,
          fmt::format("{} must be at most {} long, got {}", Subject(path_),
                      Plural(*max, "character"), Plural(n, "character")));
    }
  }

  void CheckArray(const json& schema, const json& value) {
    std::uint64_t n = value.size();
    if (auto min = Count(schema, "minItems"); min && n < *min) {
      Add(SchemaError::Kind::kRange,
          fmt::format("{} must have at least {}, got {}", Subject(path_), Plural(*min, "item"), n));
    }
    if (auto max = Count(schema, "maxItems"); max && n > *max) {
      Add(SchemaError::Kind::kRange,
          fmt::format("{} must have at most {}, got {}", Subject(path_), Plural(*max, "item"), n));
    }
    auto items = schema.find("items");
    if (items == schema.end()) return;
    for (std::size_t i = 0; i < n; ++i) {
      path_.push_back({std::to_string(i), true});
      Validate(*items, value[i]);
      path_.pop_back();
    }
  }

  void CheckObject(const json& schema, const json& value) {
    static const json kEmpty = json::object();
    auto props_it = schema.find("properties");
    const json& props = (props_it != schema.end() && props_it->is_object()) ? *props_it : kEmpty;
    if (auto req = schema.find("required"); req != schema.end() && req->is_array()) {
      for (const json& name : *req) {
        if (!name.is_string() || value.contains(name.get_ref<const std::string&>())) continue;
        const std::string& key = name.get_ref<const std::string&>();
        path_.push_back({key, false});
        std::string type;
        if (auto p = props.find(key); p != props.end() && p->is_object()) {
          if (auto t = p->find("type"); t != p->end()) type = " (" + TypeText(*t, true) + ")";
        }
        Add(SchemaError::Kind::kMissing,
            fmt::format("missing required argument '{}'{}", DisplayName(path_), type));
        path_.pop_back();
      }
    }
    auto additional = schema.find("additionalProperties");
    bool closed =
        additional != schema.end() && additional->is_boolean() && !additional->get<bool>();
    for (auto it = value.begin(); it != value.end(); ++it) {
      path_.push_back({it.key(), false});
      if (auto p = props.find(it.key()); p != props.end()) {
        Validate(*p, it.value());
      } else if (closed) {
        std::string expected;
        for (auto p2 = props.begin(); p2 != props.end(); ++p2) {
          expected += (expected.empty() ? "" : ", ") + Shown(p2.key());
        }
        std::string hint = !expected.empty()   ? "expected one of: " + expected
                           : path_.size() == 1 ? std::string("this tool takes no arguments")
                                               : std::string("no keys are accepted there");
        Add(SchemaError::Kind::kExtra,
            fmt::format("unexpected argument '{}'; {}", DisplayName(path_), hint));
      }
      path_.pop_back();
    }
  }

  void Add(SchemaError::Kind kind, std::string message) {
    errors_.push_back({kind, Pointer(path_), std::move(message)});
  }

  std::vector<SchemaError>& errors_;
  std::vector<PathToken> path_;
};

// "schema" for the root, "schema at /properties/timeout" below it.
std::string At(const std::string& where) {
  return where.empty() ? std::string("schema") : "schema at " + where;
}

Status CheckSchemaAt(const json& schema, const std::string& where, int depth) {
  if (depth > kMaxSchemaDepth) {
    return InvalidArgumentError("{} is nested deeper than {} levels", At(where), kMaxSchemaDepth);
  }
  if (!schema.is_object()) {
    return InvalidArgumentError("{} must be a JSON object, got {}", At(where), Describe(schema));
  }
  auto bad = [&](std::string_view keyword, std::string_view what) {
    return InvalidArgumentError("{}: '{}' {}", At(where), keyword, what);
  };
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    if (!SupportedKeywords().contains(it.key())) {
      return InvalidArgumentError(
          "{}: unsupported keyword '{}'; supported: type, properties, required, "
          "additionalProperties, enum, minimum, maximum, minLength, maxLength, items, minItems, "
          "maxItems, description, default, title",
          At(where), Shown(it.key()));
    }
  }
  if (auto it = schema.find("type"); it != schema.end()) {
    auto known = [](const json& t) {
      if (!t.is_string()) return false;
      for (std::string_view name : kTypeNames) {
        if (t.get_ref<const std::string&>() == name) return true;
      }
      return false;
    };
    if (it->is_array()) {
      if (it->empty()) return bad("type", "must not be an empty list");
      std::set<std::string> seen;
      for (const json& t : *it) {
        if (!known(t)) return bad("type", fmt::format("has an unknown type {}", Dump(t)));
        if (!seen.insert(t.get<std::string>()).second) {
          return bad("type", fmt::format("lists {} twice", Dump(t)));
        }
      }
    } else if (!known(*it)) {
      return bad("type", fmt::format("must be one of string, integer, number, boolean, array, "
                                     "object, null (or a list of them), got {}",
                                     Dump(*it)));
    }
  }
  const json* props = nullptr;
  if (auto it = schema.find("properties"); it != schema.end()) {
    if (!it->is_object()) return bad("properties", "must be an object of schemas");
    props = &*it;
    for (auto p = it->begin(); p != it->end(); ++p) {
      TG_RETURN_IF_ERROR(
          CheckSchemaAt(p.value(), where + "/properties/" + Shown(p.key()), depth + 1));
    }
  }
  if (auto it = schema.find("required"); it != schema.end()) {
    if (!it->is_array()) return bad("required", "must be an array of property names");
    std::set<std::string> seen;
    for (const json& name : *it) {
      if (!name.is_string()) {
        return bad("required", fmt::format("must list strings, got {}", Describe(name)));
      }
      if (!seen.insert(name.get<std::string>()).second) {
        return bad("required", fmt::format("lists {} twice", Dump(name)));
      }
      if (props == nullptr || !props->contains(name.get_ref<const std::string&>())) {
        return bad("required",
                   fmt::format("names {}, which 'properties' does not declare", Dump(name)));
      }
    }
  }
  if (auto it = schema.find("additionalProperties"); it != schema.end() && !it->is_boolean()) {
    return bad("additionalProperties", "must be true or false (schemas are not supported)");
  }
  if (auto it = schema.find("enum"); it != schema.end()) {
    if (!it->is_array() || it->empty()) return bad("enum", "must be a non-empty array");
  }
  for (const char* key : {"minimum", "maximum"}) {
    if (auto it = schema.find(key); it != schema.end() && !it->is_number()) {
      return bad(key, fmt::format("must be a number, got {}", Describe(*it)));
    }
  }
  for (const char* key : {"minLength", "maxLength", "minItems", "maxItems"}) {
    if (auto it = schema.find(key); it != schema.end() && !IsNonNegativeInteger(*it)) {
      return bad(key, fmt::format("must be a non-negative integer, got {}", Describe(*it)));
    }
  }
  for (auto [lo, hi] : {std::pair{"minimum", "maximum"}, std::pair{"minLength", "maxLength"},
                        std::pair{"minItems", "maxItems"}}) {
    auto a = schema.find(lo);
    auto b = schema.find(hi);
    if (a != schema.end() && b != schema.end() && a->get<double>() > b->get<double>()) {
      return InvalidArgumentError("{}: '{}' ({}) is greater than '{}' ({})", At(where), lo,
                                  Dump(*a), hi, Dump(*b));
    }
  }
  if (auto it = schema.find("items"); it != schema.end()) {
    TG_RETURN_IF_ERROR(CheckSchemaAt(*it, where + "/items", depth + 1));
  }
  for (const char* key : {"description", "title"}) {
    if (auto it = schema.find(key); it != schema.end() && !it->is_string()) {
      return bad(key, fmt::format("must be a string, got {}", Describe(*it)));
    }
  }
  if (auto it = schema.find("default"); it != schema.end()) {
    std::vector<SchemaError> errors = ValidateJson(schema, *it);
    if (!errors.empty()) {
      return bad("default", "does not match its own schema: " + errors.front().message);
    }
  }
  return OkStatus();
}

}  // namespace

std::vector<SchemaError> ValidateJson(const nlohmann::json& schema, const nlohmann::json& value) {
  std::vector<SchemaError> errors;
  Validator(errors).Validate(schema, value);
  return errors;
}

Status CheckSchema(const nlohmann::json& schema) { return CheckSchemaAt(schema, "", 0); }

}  // namespace toolgym::envs
